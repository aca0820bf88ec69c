"""schemathesis, run as its own CLI against the served /openapi.json of a running emulator:
every documented operation, positive and negative cases, every check it has.

Sized for CI by the hypothesis profile: 100 cases per operation and phase in `ci` (deterministic),
2,000 in `fuzz`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from jamba_emulator.config import Config
from jamba_emulator.contract.admission import tool_call_problems
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.schema import Contract
from jamba_emulator.server import BackgroundServer

from tests.conformance.schemathesis_hooks import map_body

KEY = "schemathesis-key"
ROOT = Path(__file__).resolve().parents[2]
CONTRACT = Contract(load_catalog_document())


def test_schemathesis_finds_nothing_against_the_served_openapi_document(tmp_path: Path) -> None:
    fuzzing = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
    # With keys configured, a wrong key gets 401, which schemathesis's auth checks expect.
    with BackgroundServer(Config(port=0, api_keys=(KEY,), log_level="error")) as server:
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
            "--header", f"Authorization: Bearer {KEY}",
            # Rules it added would answer its later requests with the errors they script
            # (a scripted 500 is no server bug); tests/integration/test_admin.py covers it.
            "--exclude-operation-id", "addRules",
            # The cloud surfaces are held to their real clients (tests/clients/): Bedrock's SigV4 is
            # beyond schemathesis, and rawPredict's body is the chat body less two fields. Root
            # /v1/chat/completions is two APIs told apart by a header (Azure's with api-key, vLLM's
            # without), which one OpenAPI operation cannot state: AI21AzureClient and the openai
            # client are its judges (tests/clients/test_vertex_azure.py, test_vllm.py).
            # vLLM's POST routes: text completions answer 500 where vLLM itself fails (a validator's
            # TypeError), embeddings 400 whatever is sent (a generative model), and pydantic's lax
            # mode takes "5" where a schema says integer (as vLLM does), which no OpenAPI schema
            # states: vllm_cases.json, the openai client and test_vllm.py hold them instead.
            "--exclude-path-regex",
            "^/model/|:(stream)?[rR]awPredict$|^/v1/chat/completions$|^/v1/(completions|embeddings)$"
            "|^/(de)?tokenize$",
            "--max-examples", "2000" if fuzzing else "100",
            # CI: a fixed seed and deterministic generation; fuzzing: a new seed every run.
            *([] if fuzzing else ["--seed", "2104", "--generation-deterministic"]),
        ]  # fmt: skip
        # A tool message must answer an earlier call, which the schema cannot say: the hook
        # keeps generated conversations to that rule (schemathesis_hooks.py).
        hooks = {"SCHEMATHESIS_HOOKS": "tests.conformance.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
        run = subprocess.run(
            command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=1800,
            env={**os.environ, **hooks},
        )  # fmt: skip
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated, report
    assert int(generated.group(1)) >= 50 and generated.group(1) == generated.group(2), report
    seed = re.search(r"Seed: (\d+)", report)
    print(generated.group(0), seed.group(0) if seed else "")


def test_the_hook_makes_every_tool_message_answer_a_call_and_adds_nothing_else() -> None:
    sent = [
        {"role": "user", "content": "Weather?"},
        {"role": "tool", "content": "sunny", "tool_call_id": "never-made"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "made", "type": "function",
                                                              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "rain", "tool_call_id": "made"},
        {"role": "tool", "content": "snow", "tool_call_id": "also-never-made"},
    ]  # fmt: skip
    body = {"model": "jamba-mini", "messages": sent}
    assert tool_call_problems(sent), "the premise: two results answer no call"
    mapped = map_body(None, body)
    CONTRACT.validate_request(mapped)  # still valid against the schema
    assert tool_call_problems(mapped["messages"]) == []
    assert [m for m in mapped["messages"] if m in sent] == sent, "every message kept, in order"
    added = [m for m in mapped["messages"] if m not in sent]
    assert [m["tool_calls"][0]["id"] for m in added] == ["never-made", "also-never-made"]
    assert map_body(None, {"messages": "not a list"}) == {"messages": "not a list"}
