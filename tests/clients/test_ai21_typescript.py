"""The TypeScript SDK (`ai21` 1.1.0 on npm), unmodified, under Node, pointed at the emulator by
AI21_BASE_URL: a plain answer, a stream, a tool-calling round trip and a 422.

Its packages live in `.node-ai21/` beside the checkout (tests/clients/side_env.py makes it on
first use; the SDK imports `form-data` without declaring it, so that is installed too).
tests/clients/ai21_ts_calls.mjs makes the calls and reports what the SDK returned.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jamba_emulator.chat.tokenizer import ApproximateTokenizer
from jamba_emulator.script.journal import Entry
from jamba_emulator.server import BackgroundServer

from tests.clients import side_env

pytestmark = pytest.mark.clients

CALLS = Path(__file__).with_name("ai21_ts_calls.mjs")


@pytest.fixture(scope="module")
def run(emulator: BackgroundServer) -> tuple[dict[str, Any], list[Entry]]:
    node = shutil.which("node")
    assert node, "the TypeScript SDK's test needs Node.js (node on the PATH)"
    home = side_env.node("ai21")
    script = home / CALLS.name  # beside its node_modules, so that `import 'ai21'` finds them
    script.write_text(CALLS.read_text())
    assert emulator.core is not None
    emulator.core.reset()
    environment = {**os.environ, "AI21_BASE_URL": emulator.api_host, "AI21_MAX_RETRIES": "0"}
    done = subprocess.run(
        [node, str(script)], check=False, capture_output=True, text=True, env=environment, timeout=120
    )
    assert done.returncode == 0, f"the TypeScript SDK's calls failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout), emulator.core.journal.entries()


def test_every_call_reached_the_emulator(run: tuple[dict[str, Any], list[Entry]]) -> None:
    _, journal = run
    assert [(entry.path, entry.status) for entry in journal] == [("/studio/v1/chat/completions", 200)] * 4 + [
        ("/studio/v1/chat/completions", 422)
    ]
    assert dict(journal[0].headers)["Authorization"] == "Bearer [redacted]"


def test_a_plain_answer_and_a_stream_join_into_the_same_text(run: tuple[dict[str, Any], list[Entry]]) -> None:
    report, _ = run
    plain, stream = report["plain"], report["stream"]
    assert plain["id"].startswith("chatcmpl-") and plain["finish"] == "length"
    assert plain["usage"]["completion_tokens"] == 20 == ApproximateTokenizer().count(plain["content"])
    assert stream["text"] == plain["content"] and stream["chunks"] == 22
    assert stream["usage"] == plain["usage"]


def test_a_tool_calling_round_trip(run: tuple[dict[str, Any], list[Entry]]) -> None:
    report, journal = run
    tools = report["tools"]
    assert (tools["finish"], tools["name"], tools["arguments"]) == (
        "tool_calls",
        "get_weather",
        {"city": "Lisbon"},
    )
    assert "21 celsius and sunny" in tools["final"]
    assert journal[3].body["messages"][-1] == {
        "role": "tool",
        "content": "21 celsius and sunny",
        "tool_call_id": journal[3].body["messages"][1]["tool_calls"][0]["id"],
    }


def test_a_refused_request_reaches_the_sdk_as_an_error_with_the_422(
    run: tuple[dict[str, Any], list[Entry]],
) -> None:
    report, journal = run
    assert report["refused"] is not None
    assert report["refused"]["message"].startswith("Request failed with status 422.")
    assert "ensure this value is less than or equal to 4096" in report["refused"]["message"]
    assert journal[-1].body["max_tokens"] == 5000
