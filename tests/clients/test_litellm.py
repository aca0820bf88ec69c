"""litellm, unmodified, calling the emulator as `ai21_chat/<model>`: pointed at it by `api_base`
or by AI21_API_BASE. A plain answer, a stream, a tool-calling round trip, JSON mode and a 422,
each held against what the emulator journaled and answers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest

# litellm fetches its model price list from GitHub on import unless told to use its own copy:
# no network at run time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm
from jamba_emulator.server import BackgroundServer

from tests.support import asked_again, close_litellm_clients

pytestmark = [
    pytest.mark.clients,
    # litellm's own TypedDicts, seen by pydantic when litellm first builds a response: not ours.
    pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning"),
]

MODEL = "ai21_chat/jamba-mini"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city", "days"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "The weather in a city", "parameters": WEATHER},
    }
]


@pytest.fixture(scope="module", autouse=True)
def close_litellms_clients() -> Iterator[None]:
    """litellm keeps the HTTP clients it makes in a cache for the life of the process; close them
    when this module is done, so their sockets are not left to the interpreter's exit."""
    yield
    close_litellm_clients(litellm)


@pytest.fixture
def server(emulator: BackgroundServer) -> BackgroundServer:
    emulator.core.reset()
    return emulator


def ask(server: BackgroundServer, content: str, **options: Any) -> Any:
    messages = options.pop("messages", [{"role": "user", "content": content}])
    return litellm.completion(
        model=MODEL, messages=messages, api_base=server.api_host, api_key="any-key", **options
    )


def test_a_plain_answer_is_the_emulators(server: BackgroundServer) -> None:
    response = ask(server, "Tell me something I don't know")
    [entry] = server.core.journal.entries()
    assert (entry.status, entry.body["model"]) == (200, "jamba-mini")
    whole = asked_again(server, entry.body)
    assert response.choices[0].message.content == whole["choices"][0]["message"]["content"]
    assert response.choices[0].finish_reason == whole["choices"][0]["finish_reason"]
    assert response.usage.prompt_tokens == whole["usage"]["prompt_tokens"]
    assert response.usage.completion_tokens == whole["usage"]["completion_tokens"]


def test_ai21_api_base_in_the_environment_is_enough(
    server: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI21_API_BASE", server.api_host)
    monkeypatch.setenv("AI21_API_KEY", "any-key")
    response = litellm.completion(model=MODEL, messages=[{"role": "user", "content": "Hello"}])
    assert response.choices[0].message.content
    assert [entry.status for entry in server.core.journal.entries()] == [200]


def test_a_stream_joins_into_the_answer_with_its_usage(server: BackgroundServer) -> None:
    chunks = list(ask(server, "Tell me a story", stream=True, stream_options={"include_usage": True}))
    [entry] = server.core.journal.entries()
    assert entry.body["stream"] is True
    whole = asked_again(server, {**entry.body, "stream": False})
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert len(chunks) > 3
    assert text == whole["choices"][0]["message"]["content"]
    usage = chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        whole["usage"]["prompt_tokens"],
        whole["usage"]["completion_tokens"],
    )


def weather_round_trip(complete: Callable[[list[dict[str, Any]]], Any]) -> tuple[Any, Any]:
    """Ask for Oslo's weather, check the tool call, answer it with a result, and return the call
    and the final answer (`complete(messages)` sends the conversation with TOOLS)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Oslo?"}]
    first = complete(messages)
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER)
    assert call.function.name == "get_weather" and arguments["city"] == "Oslo"
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Snow, -3 degrees"},
    ]
    final = complete(messages)
    assert final.choices[0].finish_reason == "stop" and final.choices[0].message.content
    return call, final


def test_a_tool_calling_round_trip(server: BackgroundServer) -> None:
    call, _ = weather_round_trip(lambda messages: ask(server, "", messages=messages, tools=TOOLS))
    sent = server.core.journal.entries()[-1].body["messages"]
    assert [message["role"] for message in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == call.id


def test_json_mode_answers_a_json_object(server: BackgroundServer) -> None:
    response = ask(
        server,
        'Describe a city as JSON with the keys "name" and "country"',
        response_format={"type": "json_object"},
    )
    assert set(json.loads(response.choices[0].message.content)) == {"name", "country"}


def test_a_refused_request_is_litellms_error_with_the_422(server: BackgroundServer) -> None:
    with pytest.raises(litellm.BadRequestError) as caught:
        ask(server, "Hello", max_tokens=5000, num_retries=0)
    assert caught.value.status_code == 422
    [item] = caught.value.response.json()["detail"]
    assert (item["loc"], item["type"]) == (["body", "max_tokens"], "value_error.number.not_le")
    assert [entry.status for entry in server.core.journal.entries()] == [422]


@pytest.mark.usefixtures("fake_aws")
def test_a_tool_round_trip_through_bedrock_converse(server: BackgroundServer) -> None:
    """litellm's `bedrock/converse/<model id>` with `aws_bedrock_runtime_endpoint`: the same
    conversation as above, as Converse requests to the emulator's Bedrock surface. (litellm's model
    map does not list tools for Jamba on Bedrock; `allowed_openai_params` is its documented way on.)"""
    options = {
        "aws_bedrock_runtime_endpoint": server.url,
        "aws_region_name": "us-east-1",
        "tools": TOOLS,
        "allowed_openai_params": ["tools"],
    }
    model = "bedrock/converse/ai21.jamba-1-5-mini-v1:0"
    _, final = weather_round_trip(
        lambda messages: litellm.completion(model=model, messages=messages, **options)
    )
    assert "Snow" in final.choices[0].message.content
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens
    entry = server.core.journal.entries()[-1]
    assert entry.path == "/model/ai21.jamba-1-5-mini-v1:0/converse" and entry.status == 200
    sent = entry.body["messages"]
    assert [message["role"] for message in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][0]["toolUse"]["toolUseId"] == sent[2]["content"][0]["toolResult"]["toolUseId"]
