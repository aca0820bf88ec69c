"""Answers grounded in the conversation, as an app's own tests check them, through the ai21 SDK
and with no scripted rule: the tool call carries what the user wrote (an id, a place and a date,
a number, an enum value), parallel calls when the conversation answers two tools, a final answer
that gives the tools' results back, quotes from documents, JSON shaped by a schema in the prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from ai21 import AI21Client
from ai21.models.chat import ChatMessage, ToolMessage, UserMessage
from jamba_emulator.answer.wordpool import load
from jamba_emulator.server import BackgroundServer

pytestmark = pytest.mark.clients
MODEL = "jamba-mini"


def function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


LOOKUP_ORDER = function(
    "lookup_order", "When an order arrives", {"order_id": {"type": "string"}}, ["order_id"]
)
PLACE_AND_DATE = {"city": {"type": "string"}, "date": {"type": "string", "format": "date"}}
WEATHER = function(
    "get_weather", "The weather forecast for a city on a date", PLACE_AND_DATE, ["city", "date"]
)
SUNSET = function(
    "get_sunset_time", "When the sun sets in a city on a date", PLACE_AND_DATE, ["city", "date"]
)


@pytest.fixture
def client(emulator: BackgroundServer) -> Iterator[AI21Client]:
    with httpx.Client() as http:
        yield AI21Client(api_key="any-key", api_host=emulator.api_host, http_client=http)


def ask(client: AI21Client, messages: list[Any], **fields: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=messages, **fields).choices[0]


def answered(
    client: AI21Client, messages: list[Any], tools: list[dict[str, Any]], results: dict[str, str]
) -> tuple[list[Any], str]:
    """The calls the model makes, then its answer once each call's result (by tool name) is sent."""
    asked = ask(client, messages, tools=tools)
    assert asked.finish_reason == "tool_calls"
    calls = asked.message.tool_calls
    follow_up = [
        *messages,
        asked.message,
        *(ToolMessage(content=results[call.function.name], tool_call_id=call.id) for call in calls),
    ]
    final = ask(client, follow_up, tools=tools)
    assert final.finish_reason == "stop" and not final.message.tool_calls
    return calls, final.message.content


def test_an_id_the_user_wrote_is_the_argument_and_the_answer_restates_the_result(client: AI21Client) -> None:
    calls, final = answered(
        client,
        [UserMessage(content="When will my order order_12345 arrive?")],
        [LOOKUP_ORDER],
        {"lookup_order": "2026-12-05"},
    )
    [call] = calls
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "lookup_order",
        {"order_id": "order_12345"},
    )
    assert "2026-12-05" in final


def test_a_place_and_a_date_go_into_the_call_and_the_answer_names_the_temperature(client: AI21Client) -> None:
    calls, final = answered(
        client,
        [UserMessage(content="What will the weather be in Paris on 2026-12-24?")],
        [WEATHER],
        {"get_weather": "32 celsius"},
    )
    [call] = calls
    assert json.loads(call.function.arguments) == {"city": "Paris", "date": "2026-12-24"}
    assert "Paris" in final and "32" in final and "celsius" in final


def test_a_conversation_that_answers_two_tools_gets_both_calls_at_once(client: AI21Client) -> None:
    messages = [
        ChatMessage(
            role="system",
            content="You answer questions about the weather and sunsets. The user lives in Lisbon.",
        ),
        UserMessage(content="What about 2026-12-24?"),
    ]
    calls, final = answered(
        client,
        messages,
        [WEATHER, SUNSET],
        {"get_weather": "18 celsius and clear", "get_sunset_time": "17:18"},
    )
    assert [call.function.name for call in calls] == ["get_weather", "get_sunset_time"]
    for call in calls:
        assert json.loads(call.function.arguments) == {"city": "Lisbon", "date": "2026-12-24"}
    assert "18 celsius" in final and "17:18" in final


def test_a_number_or_an_enum_value_the_user_wrote_is_taken(client: AI21Client) -> None:
    magic = function(
        "magic_function", "Applies a magic function to an input.", {"input": {"type": "integer"}}, ["input"]
    )
    [call] = ask(
        client, [UserMessage(content="What is the value of magic_function(3)?")], tools=[magic]
    ).message.tool_calls
    assert json.loads(call.function.arguments) == {"input": 3}
    units = function(
        "get_temperature",
        "The temperature in a city",
        {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        ["city", "unit"],
    )
    [call] = ask(
        client, [UserMessage(content="How warm is it in Boston, in fahrenheit?")], tools=[units]
    ).message.tool_calls
    assert json.loads(call.function.arguments) == {"city": "Boston", "unit": "fahrenheit"}


def test_an_answer_with_documents_quotes_them(client: AI21Client) -> None:
    documents = [
        {"content": "The museum opens at 9 am. Tickets cost 12 euros.", "metadata": {"source": "museum.txt"}}
    ]
    choice = ask(client, [UserMessage(content="When does the museum open?")], documents=documents)
    assert choice.message.content.startswith('According to the documents, "The museum opens at 9 am."')


@pytest.mark.parametrize(
    "written",
    [
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "age": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "age", "tags"],
            }
        ),
        str(
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "age": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "age", "tags"],
            }
        ),
    ],
    ids=["json", "python-dict"],
)
def test_json_mode_follows_a_schema_in_the_prompt(client: AI21Client, written: str) -> None:
    prompt = f'Describe a "student" as JSON following this schema: {written}'
    choice = ask(client, [UserMessage(content=prompt)], response_format={"type": "json_object"})
    answer = json.loads(choice.message.content)
    schema = json.loads(written) if written.startswith('{"') else eval(written)
    jsonschema.validate(answer, schema)
    assert set(answer) <= {"name", "age", "tags"} and "student" not in answer, (
        "keys from the schema, not quoted words"
    )


BOOK_TABLE = function(
    "book_table",
    "Book a table at a restaurant",
    {"date": {"type": "string", "description": "The day"}, "guests": {"type": "integer"}},
    ["date", "guests"],
)


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("December 5, 2024", "2024-12-05"),
        ("5th of March 2025", "2025-03-05"),
        ("Sept. 30 2026", "2026-09-30"),
    ],
)
def test_a_date_the_user_wrote_out_is_the_calls_iso_date(client: AI21Client, written: str, iso: str) -> None:
    """langchain-ai21's tool test asks for a call on "December 5, 2024": the `date` argument (no
    `format` in its schema, a date by its name) is that day in ISO form, the guests a number."""
    asked = ask(client, [UserMessage(content=f"Book a table for 4 guests on {written}")], tools=[BOOK_TABLE])
    [call] = asked.message.tool_calls
    assert json.loads(call.function.arguments) == {"date": iso, "guests": 4}


def test_a_date_argument_the_conversation_does_not_give_is_still_an_iso_date(client: AI21Client) -> None:
    asked = ask(
        client,
        [UserMessage(content="Book me a table please")],
        tools=[BOOK_TABLE],
        tool_choice={"type": "function", "function": {"name": "book_table"}},
    )
    [call] = asked.message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", arguments["date"]) and isinstance(arguments["guests"], int)


COUNTRY_SCHEMA = {
    "type": "object",
    "properties": {
        "country": {"type": "string"},
        "capital": {"type": "string"},
        "population": {"type": "integer"},
        "area_km2": {"type": "number"},
        "independence_day": {"type": "string", "format": "date"},
        "landlocked": {"type": "boolean"},
    },
    "required": ["country", "capital", "population", "area_km2", "independence_day", "landlocked"],
}


def test_json_mode_with_a_typed_schema_gives_each_field_its_type_and_the_conversations_values(
    client: AI21Client,
) -> None:
    prompt = (
        f"Describe Portugal, independent since June 24, 1128, as JSON following this schema: "
        f"{json.dumps(COUNTRY_SCHEMA)}"
    )
    choice = ask(client, [UserMessage(content=prompt)], response_format={"type": "json_object"})
    answer = json.loads(choice.message.content)
    jsonschema.validate(answer, COUNTRY_SCHEMA, format_checker=jsonschema.FormatChecker())
    assert answer["country"] == "Portugal" and answer["independence_day"] == "1128-06-24"


def test_json_mode_keys_are_typed_by_their_names(client: AI21Client) -> None:
    """`"country": 99` came from "country" holding "count": the words of a key decide, and a
    country is a country (from Faker's list, the one the user names first)."""
    countries = load().country_set
    for topic in (
        "a shop",
        "a museum",
        "a bakery",
        "a library",
        "a market",
        "a theatre",
        "a garden",
        "a port",
    ):
        prompt = (
            f'Reply in JSON about {topic} with "country", "word_count", "price", "start_date" and "is_open"'
        )
        answer = json.loads(
            ask(
                client, [UserMessage(content=prompt)], response_format={"type": "json_object"}
            ).message.content
        )
        assert answer["country"] in countries
        assert isinstance(answer["word_count"], int) and not isinstance(answer["word_count"], bool)
        assert isinstance(answer["price"], float | int) and not isinstance(answer["price"], bool)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", answer["start_date"])
        assert isinstance(answer["is_open"], bool)
    named = 'Reply in JSON with "country" and "date" about my trip to Japan on 3 May 2027'
    answer = json.loads(
        ask(client, [UserMessage(content=named)], response_format={"type": "json_object"}).message.content
    )
    assert answer == {"country": "Japan", "date": "2027-05-03"}
