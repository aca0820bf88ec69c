"""Hypothesis fuzzes the response schemas themselves: every answer and every chunk our schemas
allow must parse in the official ai21 SDK's own models. A schema looser than what real clients
accept would let the emulator send answers a real client chokes on."""

from __future__ import annotations

import copy
from typing import Any

from ai21.models.chat import ChatCompletionChunk, ChatCompletionResponse
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

from tests.strategies import CONTRACT


def inline(node: Any, home: str) -> Any:
    """`node` with every `$ref` replaced by its target (hypothesis-jsonschema does not follow
    references into other files)."""
    if isinstance(node, list):
        return [inline(item, home) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        file, _, pointer = node["$ref"].partition("#")
        target: Any = CONTRACT.schemas[file or home]
        for part in pointer.strip("/").split("/"):
            target = target[part]
        return inline(target, file or home)
    return {key: inline(value, home) for key, value in node.items() if key not in ("$id", "$schema")}


def closed(node: Any) -> Any:
    """Every object schema with `properties` closed to other keys. Generating extra keys made
    hypothesis-jsonschema filter out most objects (which trips the filter_too_much health check
    as soon as the constants Hypothesis gathers from our source change), and the emulator sends
    none: the SDK is asked to parse what the emulator can send."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    shut = {key: closed(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        shut["additionalProperties"] = False
    return shut


def generation_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = closed(inline(copy.deepcopy(CONTRACT.schemas[name]), name))
    return schema


# Generated objects are large (nested choices and usage), so Hypothesis's size check is noisy.
LARGE = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])


@LARGE
@given(from_schema(generation_schema("chat-response.schema.json")))
def test_every_response_the_schema_allows_parses_in_the_ai21_sdk(body: dict[str, Any]) -> None:
    parsed = ChatCompletionResponse.from_dict(body)
    assert parsed.id == body["id"]
    assert [choice.finish_reason for choice in parsed.choices] == [
        choice["finish_reason"] for choice in body["choices"]
    ]
    assert parsed.usage.total_tokens == body["usage"]["total_tokens"]


@LARGE
@given(from_schema(generation_schema("chat-chunk.schema.json")))
def test_every_chunk_the_schema_allows_parses_in_the_ai21_sdk(body: dict[str, Any]) -> None:
    parsed = ChatCompletionChunk.from_dict(body)
    assert parsed.id == body["id"]
    assert len(parsed.choices) == len(body["choices"]) >= 1
