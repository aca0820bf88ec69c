"""The ai21 SDK's later-API paths, unmodified, against the emulator: a tool-calling round trip
(the model asks for a tool, the client runs it and sends the result, the model answers), tool
calls streamed, JSON mode, and the preview model refusing what the seed does not have."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import jsonschema
import pytest
from ai21 import AI21Client
from ai21.errors import UnprocessableEntity
from ai21.models.chat import ToolMessage, UserMessage
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator

pytestmark = pytest.mark.clients

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "The weather in a city", "parameters": WEATHER},
    },
    {
        "type": "function",
        "function": {"name": "send_email", "description": "Send an email", "parameters": {"type": "object"}},
    },
]


@pytest.fixture
def client(emulator: BackgroundServer) -> Iterator[AI21Client]:
    with httpx.Client() as http:
        yield AI21Client(api_key="any-key", api_host=emulator.api_host, http_client=http)


def test_a_tool_calling_round_trip(client: AI21Client) -> None:
    messages = [UserMessage(content="What is the weather in Paris?")]
    first = client.chat.completions.create(model="jamba-large", messages=messages, tools=TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER)  # generated from the tool's own schema
    assert arguments["city"] == "Paris"  # taken from what the user said
    assert first.usage.completion_tokens > 0

    result = json.dumps({"city": arguments["city"], "sky": "sunny"})
    messages += [choice.message, ToolMessage(content=result, tool_call_id=call.id)]
    final = client.chat.completions.create(model="jamba-large", messages=messages, tools=TOOLS)
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content
    assert not final.choices[0].message.tool_calls


def test_a_result_for_a_call_never_made_is_a_422(client: AI21Client) -> None:
    messages = [UserMessage(content="What is the weather in Paris?")]
    first = client.chat.completions.create(model="jamba-mini", messages=messages, tools=TOOLS)
    messages += [first.choices[0].message, ToolMessage(content="sunny", tool_call_id="call_unknown")]
    with pytest.raises(UnprocessableEntity, match="call_unknown"):
        client.chat.completions.create(model="jamba-mini", messages=messages, tools=TOOLS)


def test_a_streamed_tool_call_joins_into_the_plain_one(client: AI21Client) -> None:
    messages = [UserMessage(content="What is the weather in Paris?")]
    plain = client.chat.completions.create(model="jamba-large", messages=messages, tools=TOOLS)
    chunks = list(
        client.chat.completions.create(model="jamba-large", messages=messages, tools=TOOLS, stream=True)
    )
    first = chunks[0].choices[0].delta.tool_calls[0]  # id and name first, arguments after
    assert first["function"] == {"name": "get_weather", "arguments": ""} and first["id"].startswith("call_")
    arguments = "".join(
        call["function"].get("arguments", "")
        for chunk in chunks[1:]
        for call in getattr(chunk.choices[0].delta, "tool_calls", None) or []  # the SDK keeps it as an extra
    )
    assert arguments == plain.choices[0].message.tool_calls[0].function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].usage is not None


def test_json_mode_answers_a_json_object_with_the_keys_asked_for(client: AI21Client) -> None:
    messages = [UserMessage(content='Describe a person as JSON with keys "name", "age" and "hobbies".')]
    answer = client.chat.completions.create(
        model="jamba-mini", messages=messages, response_format={"type": "json_object"}
    )
    content = json.loads(answer.choices[0].message.content)
    assert list(content) == ["name", "age", "hobbies"]
    assert isinstance(content["age"], int) and isinstance(content["hobbies"], list)


def test_the_preview_model_refuses_tools_documents_and_json_mode(client: AI21Client) -> None:
    messages = [UserMessage(content="What is the weather in Paris?")]
    for extra in (
        {"tools": TOOLS},
        {"documents": [{"content": "x"}]},
        {"response_format": {"type": "json_object"}},
    ):
        with pytest.raises(UnprocessableEntity, match="jamba-instruct-preview does not support"):
            client.chat.completions.create(model="jamba-instruct-preview", messages=messages, **extra)


def test_documents_count_in_the_prompt(client: AI21Client) -> None:
    messages = [UserMessage(content="Summarise the documents.")]
    bare = client.chat.completions.create(model="jamba-mini", messages=messages)
    documents = [
        {
            "content": "Paris is sunny today, with a light breeze from the west.",
            "metadata": {"source": "forecast"},
        }
    ]
    grounded = client.chat.completions.create(model="jamba-mini", messages=messages, documents=documents)
    assert grounded.usage.prompt_tokens > bare.usage.prompt_tokens


def test_the_plugin_can_force_a_tool_call(jamba_emulator: JambaEmulator) -> None:
    """The ai21 SDK against the pytest plugin's emulator, told to call `send_email` with given
    arguments where it would have answered with text."""
    jamba_emulator.tool_call(
        "send_email", {"to": "ops@example.com"}, match={"last_user": {"contains": "hello"}}
    )
    messages = [UserMessage(content="Say hello")]
    with httpx.Client() as http:
        client = AI21Client(http_client=http)  # the fixture set AI21_API_HOST and AI21_API_KEY
        first = client.chat.completions.create(model="jamba-mini", messages=messages, tools=TOOLS)
    [call] = first.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "send_email",
        {"to": "ops@example.com"},
    )
    assert first.choices[0].finish_reason == "tool_calls"
    assert jamba_emulator.requests[-1].rule == jamba_emulator.rules[0]["name"]


def test_an_agent_loop_scripted_by_turn_and_tool_result_runs_twice(
    client: AI21Client, scripted: JambaEmulator
) -> None:
    lookup = {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order by its id",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        },
    }
    scripted.tool_call("lookup_order", match={"turn": 0, "last_role": "user", "tools": ["lookup_order"]})
    scripted.reply(
        "Your order has shipped.", match={"last_role": "tool", "tool_result": {"contains": "shipped"}}
    )
    scripted.reply(
        "Your order is lost, sorry.", match={"last_role": "tool", "tool_result": {"contains": "lost"}}
    )

    def run_loop(order: str, status: str) -> tuple[list[str], str]:
        messages: list[object] = [UserMessage(content=f"Where is order {order}?")]
        called = []
        for _ in range(4):  # an agent loop: call tools until the model answers in text
            answer = client.chat.completions.create(model="jamba-large", messages=messages, tools=[lookup])
            message = answer.choices[0].message
            if not message.tool_calls:
                return called, message.content or ""
            messages.append(message)
            for call in message.tool_calls:
                called.append(call.function.name)
                result = json.dumps({"id": order, "status": status})
                messages.append(ToolMessage(content=result, tool_call_id=call.id))
        raise AssertionError(f"the loop did not end: {called}")

    assert run_loop("1234", "shipped") == (["lookup_order"], "Your order has shipped.")
    assert run_loop("5678", "lost") == (["lookup_order"], "Your order is lost, sorry.")
    assert [entry.rule for entry in scripted.requests[-4:]] == [
        "rule 1", "rule 2", "rule 1", "rule 3",
    ]  # fmt: skip
