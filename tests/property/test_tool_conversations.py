"""Through the server, any request with the later features (tools with generated parameters
schemas, documents, JSON mode, n) gets an answer that keeps the contract: a call names an offered
tool and its arguments validate against that tool's schema (checked by `jsonschema`, the
reference validator); a stream joins into the plain answer; the tool results sent back get text;
documents only add to the prompt's count."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from hypothesis import assume, event, given

from tests.property.conftest import Api
from tests.strategies import CONTRACT, documents, tool_requests

RESPONSE = CONTRACT.validator("chat-response.schema.json")
FORMATS = jsonschema.Draft7Validator.FORMAT_CHECKER


def answer(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(body)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    assert not list(RESPONSE.iter_errors(payload)), payload
    return payload


def calls_of(payload: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [choice["message"].get("tool_calls") or [] for choice in payload["choices"]]


@given(body=tool_requests())
def test_a_call_names_an_offered_tool_and_its_arguments_fit_that_tool(api: Api, body: dict[str, Any]) -> None:
    payload = answer(api, body)
    schemas = {tool["function"]["name"]: tool["function"]["parameters"] for tool in body["tools"]}
    for choice in payload["choices"]:
        message = choice["message"]
        event(f"finish_reason {choice['finish_reason']}")
        if choice["finish_reason"] == "tool_calls":
            assert message["content"] is None and message["tool_calls"]
            for call in message["tool_calls"]:
                assert call["type"] == "function" and call["id"].startswith("call_")
                jsonschema.validate(
                    json.loads(call["function"]["arguments"]),
                    schemas[call["function"]["name"]],
                    format_checker=FORMATS,
                )
        else:
            assert isinstance(message["content"], str) and not message.get("tool_calls")
            if body.get("response_format") == {"type": "json_object"}:
                assert isinstance(json.loads(message["content"]), dict)
    usage = payload["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] > 0


@given(body=tool_requests())
def test_a_streamed_answer_joins_into_the_plain_one(api: Api, body: dict[str, Any]) -> None:
    body = {**body, "n": 1}  # n > 1 does not stream
    plain = answer(api, body)
    streamed = api.post({**body, "stream": True})
    assert streamed.status_code == 200, streamed.text
    events = [line.removeprefix("data: ") for line in streamed.text.split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    joined: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            into = joined.setdefault(choice["index"], {"content": "", "calls": {}, "finish_reason": None})
            delta = choice["delta"]
            into["content"] += delta.get("content") or ""
            for piece in delta.get("tool_calls") or []:
                call = into["calls"].setdefault(piece["index"], {"name": "", "arguments": ""})
                call["name"] += piece.get("function", {}).get("name") or ""
                call["arguments"] += piece.get("function", {}).get("arguments") or ""
            into["finish_reason"] = choice.get("finish_reason") or into["finish_reason"]
    for choice, calls in zip(plain["choices"], calls_of(plain), strict=True):
        mine = joined[choice["index"]]
        assert mine["finish_reason"] == choice["finish_reason"]
        assert [mine["calls"][i] for i in sorted(mine["calls"])] == [call["function"] for call in calls]
        assert mine["content"] == (choice["message"]["content"] or "")
    assert chunks[-1]["usage"] == plain["usage"]


@given(body=tool_requests(max_tools=1))
def test_the_results_of_the_calls_sent_back_get_a_text_answer(api: Api, body: dict[str, Any]) -> None:
    body = {**body, "n": 1}
    first = answer(api, body)
    [calls] = calls_of(first)
    assume(calls)  # one tool offered: it is called unless its schema defeats the writer
    results = [{"role": "tool", "tool_call_id": call["id"], "content": "done"} for call in calls]
    follow_up = {**body, "messages": [*body["messages"], first["choices"][0]["message"], *results]}
    final = answer(api, follow_up)
    assert final["choices"][0]["finish_reason"] in ("stop", "length")
    assert isinstance(final["choices"][0]["message"]["content"], str)
    assert final["usage"]["prompt_tokens"] > first["usage"]["prompt_tokens"]


@given(body=tool_requests(), given_documents=documents)
def test_documents_only_add_to_the_prompt_count(
    api: Api, body: dict[str, Any], given_documents: list[dict[str, Any]]
) -> None:
    without = answer(api, {key: value for key, value in body.items() if key != "documents"})
    with_documents = answer(api, {**body, "documents": given_documents})
    assert with_documents["usage"]["prompt_tokens"] > without["usage"]["prompt_tokens"]
