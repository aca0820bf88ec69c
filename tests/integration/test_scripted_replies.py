"""Scripted replies through the server: content still cut by max_tokens and stop, streamed and
counted; errors in the real service's shape with their headers; the journal names the rule."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jamba_emulator.errors import FixtureError
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH

from tests.support import AUTH, chat, post, sse_payloads

ANSWER = "Your order 1234 ships tomorrow. Anything else I can help with?"


async def test_a_scripted_content_is_answered_and_counted(scripted: Any) -> None:
    client = await scripted({"match": {"last_user": {"contains": "order"}}, "reply": {"content": ANSWER}})
    status, body, _ = await post(client, chat("Where is my order?"))
    assert status == 200
    assert body["choices"][0]["message"]["content"] == ANSWER
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == 14
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 14
    _, other, _ = await post(client, chat("Tell me a joke"))
    assert other["choices"][0]["message"]["content"] != ANSWER, "unmatched requests are generated"


async def test_max_tokens_and_stop_still_cut_a_scripted_content(scripted: Any) -> None:
    client = await scripted({"reply": {"content": ANSWER, "finish_reason": "length"}})
    _, cut, _ = await post(client, chat(max_tokens=4))  # "Your", " order", " 123", "4"
    assert cut["choices"][0]["message"]["content"] == "Your order 1234"
    assert (cut["choices"][0]["finish_reason"], cut["usage"]["completion_tokens"]) == ("length", 4)
    _, stopped, _ = await post(client, chat(stop=" ships"))
    assert stopped["choices"][0]["message"]["content"] == "Your order 1234"
    assert stopped["choices"][0]["finish_reason"] == "stop", "a stop sequence wins over the scripted reason"
    _, whole, _ = await post(client, chat())
    assert whole["choices"][0]["finish_reason"] == "length", "the scripted reason when nothing cut it"


async def test_a_scripted_content_streams(scripted: Any) -> None:
    client = await scripted({"reply": {"content": ANSWER}})
    response = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
    chunks = [json.loads(p) for p in sse_payloads(await response.text())[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == ANSWER
    assert chunks[-1]["usage"]["completion_tokens"] == 14


async def test_a_scripted_error_has_the_real_shape_and_its_headers(scripted: Any) -> None:
    client = await scripted(
        {"reply": {"error": {"status": 429, "detail": "Too many requests", "headers": {"Retry-After": "2"}}}}
    )
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert response.status == 429
    assert response.headers["Retry-After"] == "2"
    assert await response.json() == {"detail": "Too many requests"}


async def test_a_sequence_then_the_generator_and_the_journal_names_the_rule(scripted: Any) -> None:
    client = await scripted(
        {"name": "flaky", "replies": [{"error": {"status": 500}}, {"error": {"status": 503}}]}
    )
    statuses = [(await client.post(API_PATH, json=chat(), headers=AUTH)).status for _ in range(3)]
    assert statuses == [500, 503, 200]
    assert (await (await client.post(API_PATH, json=chat(), headers=AUTH)).json())["choices"]
    entries = (await (await client.get("/_emulator/journal")).json())["entries"]
    assert [(e["status"], e["rule"]) for e in entries] == [
        (500, "flaky"),
        (503, "flaky"),
        (200, None),
        (200, None),
    ]
    first = await client.get("/_emulator/journal?last=1")
    assert (await first.json())["entries"][0]["rule"] is None


async def test_validation_comes_before_scripts(scripted: Any) -> None:
    client = await scripted({"reply": {"content": ANSWER}})
    status, body, _ = await post(client, chat(max_tokens=-1))
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "max_tokens"]


async def test_a_bad_fixture_file_stops_the_start_with_a_clear_error(
    make_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"rules": [{"reply": {"content": "x"}, "times": 0}]}')
    with pytest.raises(FixtureError, match=r"broken.json: rule 1: times: 0 is less than the minimum of 1"):
        await make_client(fixtures=(str(path),))


async def test_a_delay_holds_back_any_reply(scripted: Any) -> None:
    client = await scripted({"reply": {"error": {"status": 503}, "timing": {"delay_ms": 300}}})
    started = time.perf_counter()
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert response.status == 503
    assert time.perf_counter() - started >= 0.3


async def test_a_stream_keeps_its_time_to_first_token_and_per_token_pacing(scripted: Any) -> None:
    timing = {"first_token_ms": 250, "token_ms": 40}
    client = await scripted({"reply": {"content": "One two three four", "timing": timing}})
    started = time.perf_counter()
    response = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
    arrivals: list[tuple[float, dict[str, Any]]] = []
    async for line in response.content:
        if line.startswith(b"data: {"):
            arrivals.append((time.perf_counter() - started, json.loads(line[len(b"data: ") :])))
    # Lower bounds from the request's start only: the server cannot send earlier than its waits.
    first_content = next(at for at, chunk in arrivals if chunk["choices"][0]["delta"].get("content"))
    assert first_content >= 0.25
    later_events = len(arrivals) - 2  # after the role chunk and the first content
    assert arrivals[-1][0] >= 0.25 + 0.04 * later_events
    pieces = [chunk["choices"][0]["delta"].get("content", "") for _, chunk in arrivals]
    assert "".join(pieces) == "One two three four"


async def test_a_status_http_does_not_name_still_gets_a_detail(scripted: Any) -> None:
    client = await scripted({"reply": {"error": {"status": 599}}})
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert (response.status, await response.json()) == (599, {"detail": "Error"})


async def test_fixture_files_reload_when_they_change_and_a_bad_edit_keeps_the_old_rules(
    make_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"reply": {"content": "before"}}]}))
    client = await make_client(fixtures=(str(tmp_path),))

    async def answer() -> str:
        _, body, _ = await post(client, chat())
        content: str = body["choices"][0]["message"]["content"]
        return content

    async def eventually(expected: str) -> None:
        for _ in range(60):  # polled every 0.5 s
            if await answer() == expected:
                return
            await asyncio.sleep(0.1)
        assert await answer() == expected

    assert await answer() == "before"
    path.write_text(json.dumps({"rules": [{"reply": {"content": "after, and longer"}}]}))
    await eventually("after, and longer")
    path.write_text('{"rules": [{"reply": {"content": 5}}]}')
    for _ in range(60):
        if "not reloaded" in caplog.text:
            break
        await asyncio.sleep(0.1)
    assert "rule 1: reply.content: 5 is not of type 'string'" in caplog.text
    assert await answer() == "after, and longer", "a bad edit keeps the rules in force"
    (tmp_path / "more.json").write_text(json.dumps({"rules": [{"reply": {"content": "new file"}}]}))
    path.unlink()
    await eventually("new file")


async def test_reload_can_be_turned_off(make_client: Any, tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"reply": {"content": "before"}}]}))
    client = await make_client(fixtures=(str(path),), reload=False)
    path.write_text(json.dumps({"rules": [{"reply": {"content": "after"}}]}))
    await asyncio.sleep(1.2)
    _, body, _ = await post(client, chat())
    assert body["choices"][0]["message"]["content"] == "before"


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "days"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "description": "The time now"}}


def offering_tools(content: str = "Tell me a joke", **fields: Any) -> dict[str, Any]:
    """A request to a model with tools, whose prompt shares no word with either tool: left to
    itself, the emulator answers it with text."""
    return {**chat(content, **fields), "model": "jamba-mini", "tools": [TIME, WEATHER]}


async def test_a_scripted_tool_call_is_made_even_where_the_emulator_would_answer_text(scripted: Any) -> None:
    client = await scripted(
        {"match": {"last_user": {"contains": "joke"}}, "reply": {"tool_calls": [{"name": "get_weather"}]}}
    )
    _, unscripted, _ = await post(client, offering_tools("Tell me a story"))
    assert unscripted["choices"][0]["finish_reason"] == "stop", "the premise: no call unless scripted"
    status, body, _ = await post(client, offering_tools())
    assert status == 200
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER["function"]["parameters"])
    assert body["usage"]["completion_tokens"] > 0
    assert (
        body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    _, again, _ = await post(client, offering_tools())
    assert again["choices"][0]["message"]["tool_calls"][0]["function"] == call["function"], "deterministic"


async def test_scripted_arguments_are_sent_as_given_even_when_they_break_the_schema(scripted: Any) -> None:
    client = await scripted(
        {
            "reply": {
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"city": "Paris"}},  # `days` missing
                    {"name": "get_time", "arguments": '{"tz": '},  # not even JSON
                ]
            }
        }
    )
    _, body, _ = await post(client, offering_tools(n=2))
    for choice in body["choices"]:
        first, second = choice["message"]["tool_calls"]
        assert first["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
        assert second["function"] == {"name": "get_time", "arguments": '{"tz": '}
        assert first["id"] != second["id"]
    ids = {call["id"] for choice in body["choices"] for call in choice["message"]["tool_calls"]}
    assert len(ids) == 4, "every call of every choice has an id of its own"


async def test_a_scripted_call_of_a_tool_the_request_does_not_offer_gets_empty_arguments(
    scripted: Any,
) -> None:
    client = await scripted({"reply": {"tool_calls": [{"name": "book_flight"}]}})
    _, body, _ = await post(client, offering_tools())
    (call,) = body["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "book_flight", "arguments": "{}"}


async def test_a_scripted_tool_call_streams_like_a_generated_one(scripted: Any) -> None:
    client = await scripted({"reply": {"tool_calls": [{"name": "get_weather"}]}})
    _, plain, _ = await post(client, offering_tools())
    response = await client.post(API_PATH, json=offering_tools(stream=True), headers=AUTH)
    chunks = [json.loads(p) for p in sse_payloads(await response.text())[:-1]]
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    first = deltas[0]["tool_calls"][0]
    assert first["function"] == {"name": "get_weather", "arguments": ""}
    arguments = "".join(
        call["function"]["arguments"] for delta in deltas[1:] for call in delta.get("tool_calls", [])
    )
    assert arguments == plain["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["completion_tokens"] == plain["usage"]["completion_tokens"]


async def test_a_rule_can_match_the_tool_result_and_answer_from_it(scripted: Any) -> None:
    client = await scripted(
        {
            "match": {"any_message": {"role": "tool", "contains": "sunny"}},
            "reply": {"content": "Take sunglasses."},
        }
    )
    _, asked, _ = await post(client, offering_tools("What is the weather in Paris?"))
    (call,) = asked["choices"][0]["message"]["tool_calls"]
    follow_up = offering_tools("What is the weather in Paris?")
    follow_up["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 24 degrees"},
    ]
    _, answer, _ = await post(client, follow_up)
    assert answer["choices"][0]["message"]["content"] == "Take sunglasses."


async def test_a_reply_echoes_the_request_and_is_cut_like_any_scripted_content(scripted: Any) -> None:
    client = await scripted({"reply": {"content": "You said: {{last_user}} (to {{model}})"}})
    _, body, _ = await post(client, chat("hello there"))
    assert body["choices"][0]["message"]["content"] == "You said: hello there (to jamba-instruct-preview)"
    _, cut, _ = await post(client, {**chat("hello there"), "stop": ["there"]})
    assert cut["choices"][0]["message"]["content"] == "You said: hello "
    assert cut["choices"][0]["finish_reason"] == "stop"
    _, short, _ = await post(client, {**chat("hello there"), "max_tokens": 3})
    assert short["choices"][0]["finish_reason"] == "length"
    assert short["usage"]["completion_tokens"] == 3
    assert "You said: hello there".startswith(short["choices"][0]["message"]["content"])


async def test_a_fixture_with_an_unknown_placeholder_stops_the_start(
    make_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"reply": {"content": "{{last_message}}"}}]}))
    with pytest.raises(FixtureError, match="no placeholder"):
        await make_client(fixtures=(str(path),))
