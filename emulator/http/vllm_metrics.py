"""vLLM's `GET /metrics` for the vllm surface: the `vllm:*` series of each release line, with
vLLM's names, help texts, labels and buckets (0.8: the V0 engine's, vllm/engine/metrics.py; 0.11:
V1's, vllm/v1/metrics/loggers.py), in Prometheus's text format by prometheus-client, as vLLM
writes them (a counter named `..._total` is exposed with `_total` and `_created`), beside the
process and Python collectors vLLM's registry has.

They count what this server served: each vllm answer's prompt and generated tokens, its finish
reason, n and max_tokens, its end-to-end time; requests in flight in `num_requests_running`. A
dashboard or an autoscaler test pointed at it sees them move. What an emulator has no engine
for stays at zero (waiting requests, preemptions, the KV cache, the prefix cache). The time to
the first token is the answer's whole time (an unpaced answer goes out in one write; a paced
stream's first token is counted at its end), and the time per output token is spread evenly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from ..chat.completion import Completion

TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
    80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
TPOT_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
)  # fmt: skip
LATENCY_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
    960.0, 1920.0, 7680.0,
)  # fmt: skip
ITERATION_BUCKETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
FINISHED = {"stop": "stop", "length": "length", "tool_calls": "stop", "abort": "abort"}
"""vLLM's finished_reason label: the engine's reason (a parsed tool call ended on a stop)."""


def buckets_1_2_5(maximum: int) -> tuple[int, ...]:
    """vLLM's build_1_2_5_buckets: 1, 2, 5, 10, 20, 50... up to `maximum`."""
    found: list[int] = []
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10**exponent
            if value > maximum:
                return tuple(found)
            found.append(value)
        exponent += 1


class VllmMetrics:
    """One server's series (its own registry: servers in one process count apart)."""

    def __init__(self, line: str, model_name: str, max_model_len: int) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        v1 = line != "0.8"
        names = ["model_name", "engine"] if v1 else ["model_name"]
        values = [model_name, "0"] if v1 else [model_name]
        tokens = buckets_1_2_5(max_model_len)

        def made(kind: Callable[..., Any], name: str, help_text: str, **options: Any) -> Any:
            extra = options.pop("labels", [])
            metric = kind(name, help_text, [*names, *extra], registry=self.registry, **options)
            return metric if extra else metric.labels(*values)

        self._values = values
        running_help = (
            "Number of requests in model execution batches."
            if v1
            else ("Number of requests currently running on GPU.")
        )
        self.running = made(Gauge, "vllm:num_requests_running", running_help)
        made(Gauge, "vllm:num_requests_waiting", "Number of requests waiting to be processed.")
        lora = made(
            Gauge, "vllm:lora_requests_info", "Running stats on lora requests.",
            labels=["running_lora_adapters", "max_lora", "waiting_lora_adapters"],
        )  # fmt: skip
        lora.labels(*values, "", "0", "").set(time.time())
        if v1:
            made(Gauge, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.")
            made(
                Counter,
                "vllm:prefix_cache_queries",
                "Prefix cache queries, in terms of number of queried tokens.",
            )
            made(Counter, "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.")
        else:
            made(Gauge, "vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.")
        made(Counter, "vllm:num_preemptions", "Cumulative number of preemption from the engine.")
        self.prompt_tokens = made(Counter, "vllm:prompt_tokens", "Number of prefill tokens processed.")
        self.generation_tokens = made(
            Counter, "vllm:generation_tokens", "Number of generation tokens processed."
        )
        self.success = made(
            Counter,
            "vllm:request_success",
            "Count of successfully processed requests.",
            labels=["finished_reason"],
        )
        self.prompt_histogram = made(
            Histogram, "vllm:request_prompt_tokens", "Number of prefill tokens processed.", buckets=tokens
        )
        self.generation_histogram = made(
            Histogram,
            "vllm:request_generation_tokens",
            "Number of generation tokens processed.",
            buckets=tokens,
        )
        self.iteration = made(
            Histogram, "vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
            buckets=ITERATION_BUCKETS,
        )  # fmt: skip
        self.max_generation = made(
            Histogram, "vllm:request_max_num_generation_tokens",
            "Histogram of maximum number of requested generation tokens.", buckets=tokens,
        )  # fmt: skip
        self.params_n = made(
            Histogram,
            "vllm:request_params_n",
            "Histogram of the n request parameter.",
            buckets=(1, 2, 5, 10, 20),
        )
        self.params_max_tokens = made(
            Histogram, "vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.",
            buckets=tokens,
        )  # fmt: skip
        self.ttft = made(
            Histogram, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            buckets=TTFT_BUCKETS,
        )  # fmt: skip
        tpot_help = "Histogram of time per output token in seconds."
        self.tpot = made(
            Histogram, "vllm:time_per_output_token_seconds",
            tpot_help + ("DEPRECATED: Use vllm:inter_token_latency_seconds instead." if v1 else ""),
            buckets=TPOT_BUCKETS,
        )  # fmt: skip
        self.per_token: list[Any] = [self.tpot]
        if v1:
            self.per_token.append(
                made(
                    Histogram,
                    "vllm:inter_token_latency_seconds",
                    "Histogram of inter-token latency in seconds.",
                    buckets=TPOT_BUCKETS,
                )
            )
            self.per_token.append(
                made(
                    Histogram,
                    "vllm:request_time_per_output_token_seconds",
                    "Histogram of time_per_output_token_seconds per request.",
                    buckets=TPOT_BUCKETS,
                )
            )
        e2e_help = (
            "Histogram of e2e request latency in seconds."
            if v1
            else "Histogram of end to end request latency in seconds."
        )
        self.e2e = made(Histogram, "vllm:e2e_request_latency_seconds", e2e_help, buckets=LATENCY_BUCKETS)
        self.phases = {
            phase: made(Histogram, f"vllm:request_{phase}_time_seconds", text, buckets=LATENCY_BUCKETS)
            for phase, text in (
                ("queue", "Histogram of time spent in WAITING phase for request."),
                ("inference", "Histogram of time spent in RUNNING phase for request."),
                ("prefill", "Histogram of time spent in PREFILL phase for request."),
                ("decode", "Histogram of time spent in DECODE phase for request."),
            )
        }

    def served(self, completion: Completion, max_tokens: int, seconds: float) -> None:
        """An answer given: its tokens, finish reasons, parameters and time."""
        generated = completion.completion_tokens
        self.prompt_tokens.inc(completion.prompt_tokens)
        self.generation_tokens.inc(generated)
        self.prompt_histogram.observe(completion.prompt_tokens)
        self.generation_histogram.observe(generated)
        self.iteration.observe(completion.prompt_tokens)  # the prefill step
        self.max_generation.observe(max_tokens)
        self.params_n.observe(len(completion.choices))
        self.params_max_tokens.observe(max_tokens)
        for choice in completion.choices:
            self.success.labels(*self._values, FINISHED.get(choice.finish_reason, "stop")).inc()
        self.ttft.observe(seconds)
        for histogram in self.per_token:  # the first token counted at the end: none after it
            histogram.observe(0.0)
        self.e2e.observe(seconds)
        self.phases["queue"].observe(0.0)
        self.phases["prefill"].observe(seconds)
        self.phases["decode"].observe(0.0)
        self.phases["inference"].observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
