"""LangChain's `ChatAI21` (langchain-ai21), unmodified, pointed at the emulator by AI21_API_URL:
a plain answer, a stream, a tool call through `bind_tools` and its round trip, and a 422.

langchain-ai21 pins ai21<4, so it runs in `.venv-langchain` beside the main environment
(tests/clients/side_env.py makes it on first use). tests/clients/langchain_calls.py makes the
calls there and reports what LangChain returned; these tests hold that report against what the
emulator journaled and answers.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jamba_emulator.script.journal import Entry
from jamba_emulator.server import BackgroundServer

from tests.clients import side_env
from tests.support import asked_again

pytestmark = pytest.mark.clients

CALLS = Path(__file__).with_name("langchain_calls.py")


@pytest.fixture(scope="module")
def run(emulator: BackgroundServer) -> tuple[dict[str, Any], list[Entry]]:
    """LangChain's report, and the journal of the requests it made."""
    interpreter = side_env.python("langchain")
    emulator.core.reset()
    environment = {
        **os.environ,
        "AI21_API_URL": emulator.api_host,
        "AI21_API_KEY": "any-key",
        "HF_HUB_OFFLINE": "1",  # nothing may fetch a tokenizer at run time
    }
    done = subprocess.run(
        [str(interpreter), str(CALLS)],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert done.returncode == 0, f"LangChain's calls failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout), emulator.core.journal.entries()


def test_every_call_reached_the_emulator(run: tuple[dict[str, Any], list[Entry]]) -> None:
    _, journal = run
    assert [(entry.path, entry.status) for entry in journal] == [("/studio/v1/chat/completions", 200)] * 9 + [
        ("/studio/v1/chat/completions", 422)
    ]
    assert {entry.body["model"] for entry in journal} == {"jamba-mini"}


def test_a_plain_answer_is_the_emulators(
    run: tuple[dict[str, Any], list[Entry]], emulator: BackgroundServer
) -> None:
    report, journal = run
    assert report["plain"]["type"] == "AIMessage"
    sent = journal[0].body
    assert sent["messages"] == [{"role": "user", "content": "Tell me something I don't know"}]
    assert report["plain"]["content"] == asked_again(emulator, sent)["choices"][0]["message"]["content"]


def test_a_stream_joins_into_the_answer_with_its_usage(
    run: tuple[dict[str, Any], list[Entry]], emulator: BackgroundServer
) -> None:
    report, journal = run
    sent = journal[1].body
    assert sent["stream"] is True
    whole = asked_again(emulator, {**sent, "stream": False})
    streamed = report["streamed"]
    assert streamed["chunks"] > 3
    assert streamed["content"] == whole["choices"][0]["message"]["content"]
    usage = whole["usage"]
    assert streamed["usage"] == {
        "input_tokens": usage["prompt_tokens"],
        "output_tokens": usage["completion_tokens"],
        "total_tokens": usage["total_tokens"],
    }


def test_bind_tools_gets_a_call_whose_arguments_fit_the_tool(run: tuple[dict[str, Any], list[Entry]]) -> None:
    report, journal = run
    tools = report["tools"]
    [call] = tools["tool_calls"]
    assert call["name"] == "get_weather" and call["id"].startswith("call_")
    jsonschema.validate(call["args"], tools["schema"])
    assert call["args"]["city"] == "Lisbon"
    assert journal[2].body["tools"][0]["function"]["name"] == "get_weather"


def test_the_tool_result_goes_back_and_the_final_answer_is_text(
    run: tuple[dict[str, Any], list[Entry]],
) -> None:
    report, journal = run
    [call] = report["tools"]["tool_calls"]
    follow_up = journal[3].body["messages"]
    assert [message["role"] for message in follow_up] == ["user", "assistant", "tool"]
    assert follow_up[1]["tool_calls"][0]["id"] == follow_up[2]["tool_call_id"] == call["id"]
    assert follow_up[2]["content"] == "Sunny and 21 degrees celsius in Lisbon."
    assert report["tools"]["final"] and report["tools"]["final_tool_calls"] == []


def test_a_refused_request_reaches_langchain_as_the_sdks_422(run: tuple[dict[str, Any], list[Entry]]) -> None:
    report, journal = run
    assert report["too_many_tokens"]["raised"] == "UnprocessableEntity"
    assert "less than or equal to 4096" in report["too_many_tokens"]["message"]
    assert journal[-1].body["max_tokens"] == 5000


def test_a_multi_turn_conversation_is_answered_turn_after_turn(
    run: tuple[dict[str, Any], list[Entry]],
) -> None:
    report, journal = run
    talk = report["conversation"]
    assert all(talk["contents"]) and len(set(talk["contents"])) == 3
    third = journal[6].body["messages"]
    assert [message["role"] for message in third] == ["user", "assistant", "user", "assistant", "user"]
    # LangChain's habit, which the emulator once refused: every earlier plain reply carries tool_calls [].
    assert [message.get("tool_calls") for message in third if message["role"] == "assistant"] == [[], []]
    assert talk["empty"] == "" and talk["after_empty"]
    empty_turn = journal[8].body["messages"][1]
    assert (
        empty_turn["role"] == "assistant"
        and not empty_turn.get("content")
        and empty_turn.get("tool_calls") == []
    )
