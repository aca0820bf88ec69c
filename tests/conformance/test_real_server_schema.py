"""The real server's own schema as a second oracle. Its field lists are written here in our words,
as the real server published it (its own OpenAPI schema). Every field it has must be in our schemas,
or listed below as a deliberate difference, with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.strategies import CONTRACT

REAL_FIELDS = {
    "ChatRequest": {
        "model", "messages", "tools", "n", "max_tokens", "temperature", "top_p", "stop", "stream",
        "documents", "response_format", "mock_response",
    },
    "UserMessage": {"role", "content"},
    "SystemMessage": {"role", "content"},
    "ToolMessage": {"role", "content", "tool_call_id"},
    "AssistantMessage": {"role", "content", "tool_calls", "reasoning_content"},
    "ChatCompletion": {"id", "choices", "usage", "meta"},
    "Choice": {"index", "message", "logprobs", "finish_reason"},
    "ModelsInfoResponse": {"data"},
    "ModelInfo": {
        "id", "name", "updated", "context_length", "quantization", "max_completion_tokens", "pricing",
    },
}  # fmt: skip
DIFFERENCES = {
    ("ChatRequest", "mock_response"): (
        "the real service's own test hook, not a field clients send: unknown here, so ignored "
        "(and refused in strict mode)"
    ),
    ("ChatCompletion", "meta"): "a real duration there would break a --seed run's reproducibility",
}
"""(schema, field) -> why our schemas leave it out."""


def ours(name: str) -> set[str]:
    request, response = (
        CONTRACT.schemas["chat-request.schema.json"],
        CONTRACT.schemas["chat-response.schema.json"],
    )
    models = CONTRACT.schemas["models-response.schema.json"]
    message = request["definitions"]["ChatMessage"]["properties"]
    places: dict[str, Any] = {
        "ChatRequest": request["properties"],
        "UserMessage": message,
        "SystemMessage": message,
        "ToolMessage": message,
        "AssistantMessage": message,
        "ChatCompletion": response["properties"],
        "Choice": response["properties"]["choices"]["items"]["properties"],
        "ModelsInfoResponse": models["properties"],
        "ModelInfo": models["definitions"]["ModelInfo"]["properties"],
    }
    return set(places[name])


@pytest.mark.parametrize("name", REAL_FIELDS)
def test_every_field_of_the_real_schema_is_ours_or_a_stated_difference(name: str) -> None:
    missing = {field for field in REAL_FIELDS[name] - ours(name) if (name, field) not in DIFFERENCES}
    assert not missing, f"{name}: {sorted(missing)} are in the real server's schema but not in ours"


def test_every_stated_difference_is_still_a_difference() -> None:
    for name, field in DIFFERENCES:
        assert field in REAL_FIELDS[name] and field not in ours(name), (name, field)


def test_the_message_roles_are_the_real_ones() -> None:
    roles = CONTRACT.schemas["chat-request.schema.json"]["definitions"]["ChatMessage"]["properties"]["role"][
        "enum"
    ]
    assert {f"{role.capitalize()}Message" for role in roles} == {
        name for name in REAL_FIELDS if name.endswith("Message")
    }
