"""The OpenAI Python client, unmodified, pointed at the emulator by base_url."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import openai
import pytest
from jamba_emulator.server import BackgroundServer
from openai import OpenAI

MODEL = "jamba-instruct-preview"
MESSAGES = [{"role": "user", "content": "Tell me something I don't know"}]

pytestmark = pytest.mark.clients


@pytest.fixture
def client(emulator: BackgroundServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=emulator.api_host, api_key="any-key", max_retries=0) as client:
        yield client


def test_plain_completion(client: OpenAI) -> None:
    response = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=5)  # type: ignore[arg-type]
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None and response.usage.completion_tokens == 5
    assert response.choices[0].message.role == "assistant"


def test_streaming(client: OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    chunks = list(stream)
    assert all(chunk.choices for chunk in chunks)
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == plain.choices[0].message.content
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == plain.usage.total_tokens  # type: ignore[union-attr]


def test_validation_error_is_an_unprocessable_entity(client: OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=3)  # type: ignore[arg-type]
    assert caught.value.status_code == 422


WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "The weather in a city", "parameters": WEATHER},
    }
]
ASKED = [{"role": "user", "content": "What is the weather in Rome?"}]


def test_a_tool_calling_round_trip(client: OpenAI) -> None:
    first = client.chat.completions.create(model="jamba-large", messages=ASKED, tools=TOOLS)  # type: ignore[arg-type]
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls or []
    arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
    jsonschema.validate(arguments, WEATHER)
    assert arguments["city"] == "Rome"
    result = {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 25 degrees"}
    messages = [*ASKED, first.choices[0].message.model_dump(exclude_none=True), result]
    final = client.chat.completions.create(model="jamba-large", messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    assert final.choices[0].finish_reason == "stop" and final.choices[0].message.content


def test_a_streamed_tool_call_joins_into_the_plain_one(client: OpenAI) -> None:
    plain = client.chat.completions.create(model="jamba-large", messages=ASKED, tools=TOOLS)  # type: ignore[arg-type]
    chunks = list(
        client.chat.completions.create(model="jamba-large", messages=ASKED, tools=TOOLS, stream=True)
    )  # type: ignore[arg-type]
    pieces = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    assert pieces[0].id and pieces[0].function and pieces[0].function.name == "get_weather"
    arguments = "".join(piece.function.arguments or "" for piece in pieces if piece.function)
    [called] = plain.choices[0].message.tool_calls or []
    assert arguments == called.function.arguments  # type: ignore[union-attr]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_the_sdks_stream_helper_sees_every_delta(client: OpenAI) -> None:
    """`chat.completions.stream()` keeps only chunks whose `object` is "chat.completion.chunk":
    the emulator's chunks say so (the real service's did not; issue 26), so the helper joins the
    same text `create(stream=True)` does."""
    plain = client.chat.completions.create(model="jamba-large", messages=ASKED)  # type: ignore[arg-type]
    with client.chat.completions.stream(model="jamba-large", messages=ASKED) as stream:  # type: ignore[arg-type]
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == plain.choices[0].message.content == final.choices[0].message.content
