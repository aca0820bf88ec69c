"""Self-hosted Jamba's clients, unmodified, against the vllm surface as each release line serves
it: the `openai` client (plain, streamed, the `stream()` helper, tools plain and streamed, JSON
mode, its error classes), LangChain's `ChatOpenAI` (plain, stream, a `bind_tools` round trip) and
litellm's `hosted_vllm/` provider (plain, stream, the context window as its
ContextWindowExceededError). Each answer is held to what the emulator journaled or answers
elsewhere, not only to its shape."""

from __future__ import annotations

import gc
import json
import os
import re
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at run time
import litellm

from tests.support import close_litellm_clients

pytestmark = [
    pytest.mark.clients,
    pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning"),
]

MINI_15 = "ai21labs/AI21-Jamba-1.5-Mini"
JAMBA2 = "ai21labs/AI21-Jamba2-Mini"
SERVERS = {
    # AI21's recommended release for Jamba 1.5 to 1.7, serving one checkpoint, tools on
    "0.8": {"vllm_model": MINI_15, "enable_auto_tool_choice": True, "tool_call_parser": "jamba"},
    # the default release, serving every checkpoint, tools on
    "0.11": {"enable_auto_tool_choice": True, "tool_call_parser": "jamba"},
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris today?"}]


@pytest.fixture(autouse=True)
def third_party_garbage() -> Iterator[None]:
    """litellm caches its HTTP clients for the life of the process and starts threads with event
    loops it never closes (litellm/timeout.py), LangChain's clients are never closed: close what
    can be, and collect the rest here with their ResourceWarnings ignored, so that they are not
    reported in whichever later test the garbage collector happens to run in."""
    yield
    close_litellm_clients(litellm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(scope="module", params=sorted(SERVERS))
def vllm(request: pytest.FixtureRequest) -> Iterator[tuple[str, BackgroundServer]]:
    with BackgroundServer(Config(port=0, log_level="error", **SERVERS[request.param])) as server:
        yield request.param, server


@pytest.fixture
def client(vllm: tuple[str, BackgroundServer]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=vllm[1].url + "/v1", api_key="EMPTY", max_retries=0) as made:
        yield made


def test_a_plain_answer_in_vllm_s_shape(vllm: tuple[str, BackgroundServer], client: openai.OpenAI) -> None:
    line, server = vllm
    answer = client.chat.completions.create(model=MINI_15, messages=ASK, max_tokens=30)
    assert answer.id.startswith("chatcmpl-") and len(answer.id) == len("chatcmpl-") + 32
    assert answer.object == "chat.completion" and answer.model == MINI_15
    choice = answer.choices[0]
    assert choice.message.content and choice.finish_reason in ("stop", "length")
    assert choice.model_extra == {"stop_reason": None} | ({"token_ids": None} if line == "0.11" else {})
    assert answer.usage is not None
    assert answer.usage.completion_tokens <= 30
    entry = server.core.journal.entries()[-1]  # type: ignore[union-attr]
    assert entry.surface == "vllm" and entry.status == 200


def test_a_stream_joins_into_the_plain_answer(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MINI_15, messages=ASK, temperature=0.5)
    stream = client.chat.completions.create(
        model=MINI_15, messages=ASK, temperature=0.5, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == plain.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage


def test_the_stream_helper_sees_every_delta(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MINI_15, messages=ASK, temperature=0.5)
    with client.chat.completions.stream(model=MINI_15, messages=ASK, temperature=0.5) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == plain.choices[0].message.content == final.choices[0].message.content


def test_a_tool_call_as_the_jamba_parser_returns_it_and_its_round_trip(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=MINI_15, messages=ASK, tools=[WEATHER])
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.id.startswith("chatcmpl-tool-") and len(call.id) == len("chatcmpl-tool-") + 32
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert arguments["city"] == "Paris"
    assert call.function.arguments == json.dumps(arguments)  # re-serialised by Python's json
    follow_up = [
        *ASK,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature_c": 18, "sky": "clear"}'},
    ]
    after = client.chat.completions.create(model=MINI_15, messages=follow_up, tools=[WEATHER])
    assert after.choices[0].finish_reason in ("stop", "length")
    assert "18" in (after.choices[0].message.content or "")


def test_a_streamed_tool_call_is_a_name_chunk_then_argument_pieces(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MINI_15, messages=ASK, tools=[WEATHER])
    chunks = list(client.chat.completions.create(model=MINI_15, messages=ASK, tools=[WEATHER], stream=True))
    calls = [call for chunk in chunks for call in (chunk.choices[0].delta.tool_calls or [])]
    assert calls[0].id and calls[0].function and calls[0].function.name == "get_weather"
    assert calls[0].function.arguments is None  # the name chunk carries no arguments
    assert all(call.id is None for call in calls[1:])
    streamed = "".join(call.function.arguments or "" for call in calls[1:] if call.function)
    (expected,) = plain.choices[0].message.tool_calls or []
    assert streamed == expected.function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_json_mode_answers_a_json_object(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=MINI_15,
        messages=[{"role": "user", "content": "Give me a JSON object with a city and its country"}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(answer.choices[0].message.content or ""), dict)


def test_errors_raise_the_openai_client_s_classes(
    vllm: tuple[str, BackgroundServer], client: openai.OpenAI
) -> None:
    line, _ = vllm
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="jamba-mini", messages=ASK)
    assert missing.value.message.endswith("The model `jamba-mini` does not exist.")
    with pytest.raises(openai.BadRequestError) as zero:
        client.chat.completions.create(model=MINI_15, messages=ASK, n=0)
    assert "n must be at least 1, got 0." in zero.value.message
    with pytest.raises(openai.BadRequestError) as options:
        client.chat.completions.create(model=MINI_15, messages=ASK, stream_options={"include_usage": True})
    assert "Stream options can only be defined when `stream=True`." in options.value.message
    body: Any = options.value.body
    assert body["type"] == ("BadRequestError" if line == "0.8" else "Bad Request")
    assert body["code"] == 400


@pytest.mark.parametrize("version", ["0.8.5.post1", "0.11.0"])
def test_a_wrong_key_raises_authentication_error_and_a_right_one_passes(version: str) -> None:
    config = Config(port=0, log_level="error", api_keys=("secret",), vllm_version=version)
    with (
        BackgroundServer(config) as server,
        openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0) as wrong,
        openai.OpenAI(base_url=server.url + "/v1", api_key="secret", max_retries=0) as right,
    ):
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model=MINI_15, messages=ASK)
        assert httpx.get(server.url + "/v1/models").json() == {"error": "Unauthorized"}
        assert right.chat.completions.create(model=MINI_15, messages=ASK).choices
        assert [model.id for model in right.models.list()][:2] == [MINI_15, "ai21labs/AI21-Jamba-Mini-1.5"]
        assert httpx.get(server.url + "/health").status_code == 200  # outside /v1: no key needed


def test_auto_tool_choice_without_the_server_flags_is_vllm_s_400() -> None:
    with (
        BackgroundServer(Config(port=0, log_level="error")) as server,
        openai.OpenAI(base_url=server.url + "/v1", api_key="EMPTY", max_retries=0) as client,
    ):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model=JAMBA2, messages=ASK, tools=[WEATHER])
        assert refused.value.message.endswith(
            '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
        )
        assert client.chat.completions.create(model=JAMBA2, messages=ASK, tools=[WEATHER], tool_choice="none")


def test_langchain_chat_openai_plain_stream_and_a_bind_tools_round_trip(
    vllm: tuple[str, BackgroundServer],
) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage  # noqa: PLC0415
    from langchain_openai import ChatOpenAI  # noqa: PLC0415

    chat = ChatOpenAI(model=MINI_15, base_url=vllm[1].url + "/v1", api_key="EMPTY", temperature=0.5)  # type: ignore[arg-type]
    plain = chat.invoke(ASK[0]["content"])
    streamed = "".join(str(part.content) for part in chat.stream(ASK[0]["content"]))
    assert plain.content and streamed == plain.content
    tooled = chat.bind_tools([WEATHER])
    asked = HumanMessage(ASK[0]["content"])
    called = tooled.invoke([asked])
    (call,) = called.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "Paris"}
    result = ToolMessage('{"temperature_c": 21}', tool_call_id=call["id"])
    after = tooled.invoke([asked, called, result])
    assert "21" in str(after.content)


def test_litellm_hosted_vllm_plain_stream_and_the_context_window(vllm: tuple[str, BackgroundServer]) -> None:
    base = vllm[1].url + "/v1"
    plain = litellm.completion(model=f"hosted_vllm/{MINI_15}", api_base=base, messages=ASK, temperature=0.5)
    text = plain.choices[0].message.content
    chunks = litellm.completion(
        model=f"hosted_vllm/{MINI_15}", api_base=base, messages=ASK, temperature=0.5, stream=True
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == text
    with pytest.raises(litellm.ContextWindowExceededError):
        litellm.completion(model=f"hosted_vllm/{MINI_15}", api_base=base, messages=ASK, max_tokens=262144)


TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The local time in a time zone",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
}


def test_a_named_tool_choice_is_guided_json_called_whatever_was_asked(
    vllm: tuple[str, BackgroundServer], client: openai.OpenAI
) -> None:
    named = {"type": "function", "function": {"name": "get_time"}}
    answer = client.chat.completions.create(
        model=MINI_15, messages=ASK, tools=[WEATHER, TIME], tool_choice=named
    )
    choice = answer.choices[0]
    (call,) = choice.message.tool_calls or []
    assert call.function.name == "get_time" and "zone" in json.loads(call.function.arguments)
    assert choice.message.content == "" and choice.finish_reason == "stop"  # the engine's reason
    chunks = list(
        client.chat.completions.create(
            model=MINI_15, messages=ASK, tools=[WEATHER, TIME], tool_choice=named, stream=True
        )
    )
    pieces = [call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or []]
    assert pieces and all(piece.function and piece.function.name == "get_time" for piece in pieces)
    assert (
        "".join(piece.function.arguments or "" for piece in pieces if piece.function)
        == call.function.arguments
    )


def test_required_calls_the_tool_the_conversation_asks_for(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=MINI_15, messages=ASK, tools=[TIME, WEATHER], tool_choice="required"
    )
    (call,) = answer.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather" and answer.choices[0].finish_reason == "stop"
    assert call.function.arguments == json.dumps(json.loads(call.function.arguments))


def test_tool_choice_none_answers_text_even_when_a_tool_fits(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=MINI_15, messages=ASK, tools=[WEATHER], tool_choice="none")
    assert answer.choices[0].message.tool_calls == [] or answer.choices[0].message.tool_calls is None
    assert answer.choices[0].message.content and answer.choices[0].finish_reason in ("stop", "length")


REASONING_3B = "ai21labs/AI21-Jamba-Reasoning-3B"


@pytest.mark.parametrize("parser", [None, "deepseek_r1"])
def test_reasoning_3b_thinks_in_the_field_its_parser_fills(parser: str | None) -> None:
    config = Config(port=0, log_level="error", vllm_model=REASONING_3B, reasoning_parser=parser)
    with (
        BackgroundServer(config) as server,
        openai.OpenAI(base_url=server.url + "/v1", api_key="EMPTY", max_retries=0) as client,
    ):
        answer = client.chat.completions.create(model=REASONING_3B, messages=ASK, temperature=0.5)
        message = answer.choices[0].message
        streamed = list(
            client.chat.completions.create(model=REASONING_3B, messages=ASK, temperature=0.5, stream=True)
        )
        deltas = [chunk.choices[0].delta for chunk in streamed if chunk.choices]
        reasoning = "".join((delta.model_extra or {}).get("reasoning_content") or "" for delta in deltas)
        content = "".join(delta.content or "" for delta in deltas)
        dropped = client.chat.completions.create(
            model=REASONING_3B, messages=ASK, temperature=0.5, extra_body={"include_reasoning": False}
        )
    assert server.core is not None and server.core.admission.served.version == "0.11.0"  # its release
    thinking = (message.model_extra or {})["reasoning_content"]
    if parser is None:  # the thinking stays in the content, between the template's tags
        assert thinking is None and message.content and message.content.startswith("<think>")
        assert "</think>" in message.content and content == message.content and not reasoning
    else:
        assert thinking and message.content and "<think>" not in message.content
        assert (reasoning, content) == (thinking, message.content)
        assert (dropped.choices[0].message.model_extra or {})["reasoning_content"] is None
        assert dropped.choices[0].message.content == message.content
    assert answer.usage is not None and answer.usage.completion_tokens > len(content.split())  # both counted


def test_a_reasoning_model_needs_its_release() -> None:
    from jamba_emulator.errors import ConfigError  # noqa: PLC0415

    with pytest.raises(ConfigError, match=re.escape("needs vLLM 0.11.0 or newer, not 0.8.5.post1")):
        BackgroundServer(Config(port=0, vllm_model=REASONING_3B, vllm_version="0.8.5.post1")).start()


def test_text_completions_plain_echoed_and_streamed(client: openai.OpenAI) -> None:
    plain = client.completions.create(
        model=MINI_15, prompt="Once upon a time", max_tokens=12, temperature=0.5
    )
    assert plain.id.startswith("cmpl-") and plain.object == "text_completion"
    text = plain.choices[0].text
    assert text and plain.usage is not None and plain.usage.completion_tokens <= 12
    echoed = client.completions.create(
        model=MINI_15, prompt="Once upon a time", max_tokens=12, temperature=0.5, echo=True
    )
    assert echoed.choices[0].text == "Once upon a time" + text
    streamed = client.completions.create(
        model=MINI_15,
        prompt="Once upon a time",
        max_tokens=12,
        temperature=0.5,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(streamed)
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == text
    assert chunks[-1].usage == plain.usage
    with pytest.raises(openai.BadRequestError, match="suffix is not currently supported"):
        client.completions.create(model=MINI_15, prompt="def f(", suffix=")")


def test_metrics_count_what_was_served_with_each_release_s_series(vllm: tuple[str, BackgroundServer]) -> None:
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    line, server = vllm

    def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx.get(server.url + "/metrics").text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    labels = (("engine", "0"), ("model_name", MINI_15)) if line == "0.11" else (("model_name", MINI_15),)
    before = samples()
    with openai.OpenAI(base_url=server.url + "/v1", api_key="EMPTY", max_retries=0) as client:
        answer = client.chat.completions.create(model=MINI_15, messages=ASK, max_tokens=7, n=2)
    after = samples()
    assert answer.usage is not None

    def grew(name: str, extra: tuple[tuple[str, str], ...] = ()) -> float:
        key = (name, tuple(sorted(labels + extra)))
        return after[key] - before.get(key, 0.0)

    assert grew("vllm:prompt_tokens_total") == answer.usage.prompt_tokens
    assert grew("vllm:generation_tokens_total") == answer.usage.completion_tokens
    assert grew("vllm:request_success_total", (("finished_reason", "length"),)) == 2
    assert grew("vllm:e2e_request_latency_seconds_count") == 1
    assert grew("vllm:request_params_n_bucket", (("le", "2.0"),)) == 1
    assert after[("vllm:num_requests_running", labels)] == 0
    cache = "vllm:kv_cache_usage_perc" if line == "0.11" else "vllm:gpu_cache_usage_perc"
    other = "vllm:gpu_cache_usage_perc" if line == "0.11" else "vllm:kv_cache_usage_perc"
    assert (cache, labels) in after and all(name != other for name, _ in after)
    assert (("vllm:inter_token_latency_seconds_count", labels) in after) is (line == "0.11")
    assert any(name.startswith("process_") for name, _ in after)


def test_tokenize_counts_as_usage_does_and_detokenize_reads_it_back(
    vllm: tuple[str, BackgroundServer],
) -> None:
    url = vllm[1].url
    answer = httpx.post(url + "/v1/chat/completions", json={"model": MINI_15, "messages": ASK}).json()
    counted = httpx.post(url + "/tokenize", json={"model": MINI_15, "messages": ASK}).json()
    assert counted["count"] == len(counted["tokens"]) == answer["usage"]["prompt_tokens"]
    assert counted["max_model_len"] == 262144
    prompt = "Tokens in, the same text out: café, naïve, 東京."
    tokens = httpx.post(url + "/tokenize", json={"prompt": prompt}).json()["tokens"]
    assert tokens[0] == 1 and all(0 <= token < 65536 for token in tokens)  # BOS, then the vocabulary's
    assert httpx.post(url + "/detokenize", json={"tokens": tokens}).json() == {"prompt": prompt}
    assert httpx.get(url + "/version").json()["version"] == ("0.8.5.post1" if vllm[0] == "0.8" else "0.11.0")
    assert httpx.get(url + "/health").status_code == httpx.get(url + "/ping").status_code == 200
    refused = httpx.post(url + "/v1/embeddings", json={"model": MINI_15, "input": "hi"})
    assert refused.status_code == 400 and "The model does not support Embeddings API" in refused.text


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--vllm-version", "0.9.0"], "--vllm-version: vLLM '0.9.0' is not one the emulator models"),
        (["--vllm-model", "nope/x"], "--vllm-model: no open-weights checkpoint 'nope/x'"),
        (["--served-model-name", "jamba"], "--served-model-name names the checkpoint --vllm-model serves"),
        (["--enable-auto-tool-choice"], "--enable-auto-tool-choice needs --tool-call-parser"),
        (["--tool-call-parser", "mistral"], "--tool-call-parser must be one of jamba, hermes"),
    ],
)
def test_vllm_flags_that_cannot_be_served_stop_the_start_naming_the_flag(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from jamba_emulator.cli import main  # noqa: PLC0415

    try:
        status = main(["--port", "0", *flags])
    except SystemExit as exit_:  # argparse's own refusal
        status = int(exit_.code or 0)
    assert status == 2
    assert said in capsys.readouterr().err


def test_continuous_usage_stats_puts_the_usage_so_far_on_every_chunk(client: openai.OpenAI) -> None:
    options = {"include_usage": True, "continuous_usage_stats": True}
    chunks = list(
        client.chat.completions.create(
            model=MINI_15, messages=ASK, max_tokens=9, stream=True, stream_options=options
        )
    )
    counts = [chunk.usage.completion_tokens for chunk in chunks if chunk.usage is not None]
    assert len(counts) == len(chunks)  # every chunk, the role's and the final usage chunk included
    assert counts[0] == 0 and counts == sorted(counts) and counts[-1] == counts[-2] <= 9


def test_stop_reason_names_the_stop_string_that_ended_the_answer(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MINI_15, messages=ASK, temperature=0.5)
    words = (plain.choices[0].message.content or "").split()
    stop = " " + words[3]  # a word the answer holds: it ends there
    cut = client.chat.completions.create(
        model=MINI_15, messages=ASK, temperature=0.5, stop=["zzz-never", stop]
    )
    choice = cut.choices[0]
    assert choice.finish_reason == "stop" and (choice.model_extra or {})["stop_reason"] == stop
    assert (plain.choices[0].message.content or "").startswith(choice.message.content or "")
    assert stop not in (choice.message.content or "")
    assert (plain.choices[0].model_extra or {})["stop_reason"] is None  # the end of the turn: null


@pytest.mark.parametrize(("version", "echoed"), [("0.8.5.post1", "jamba"), ("0.11.0", "mini")])
def test_served_names_and_max_model_len_change_what_clients_see(version: str, echoed: str) -> None:
    config = Config(
        port=0,
        log_level="error",
        vllm_version=version,
        vllm_model="ai21labs/AI21-Jamba-Mini-1.7",
        served_model_name=("mini", "jamba"),
        max_model_len=512,
    )
    with (
        BackgroundServer(config) as server,
        openai.OpenAI(base_url=server.url + "/v1", api_key="EMPTY", max_retries=0) as client,
    ):
        cards = client.models.list().data
        assert [(card.id, (card.model_extra or {})["max_model_len"]) for card in cards] == [
            ("mini", 512),
            ("jamba", 512),
        ]
        assert {(card.model_extra or {})["root"] for card in cards} == {"ai21labs/AI21-Jamba-Mini-1.7"}
        answer = client.chat.completions.create(model="jamba", messages=ASK, max_tokens=5)
        assert answer.model == echoed  # 0.8 echoes the name asked for, 0.11 the first served
        assert client.chat.completions.create(messages=ASK, max_tokens=5, model="").model == "mini"
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="ai21labs/AI21-Jamba-Mini-1.7", messages=ASK)
        with pytest.raises(openai.BadRequestError, match="maximum context length is 512 tokens"):
            client.chat.completions.create(model="mini", messages=ASK, max_tokens=500)


def test_documents_are_vllm_s_top_level_field_and_ground_the_answer(client: openai.OpenAI) -> None:
    documents = [{"title": "Returns", "text": "Orders can be returned within 30 days with the receipt."}]
    question = [{"role": "user", "content": "Within how many days can orders be returned?"}]
    answer = client.chat.completions.create(
        model=MINI_15, messages=question, extra_body={"documents": documents}
    )
    assert "30 days" in (answer.choices[0].message.content or "")
    plain = client.chat.completions.create(model=MINI_15, messages=question)
    assert answer.usage is not None and plain.usage is not None
    assert answer.usage.prompt_tokens > plain.usage.prompt_tokens  # the template shows them
