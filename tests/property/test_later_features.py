"""Properties of the later API's features: tool-call arguments always validate against the
tool's own parameters schema (checked here by `jsonschema`, the reference validator), and JSON
mode's content is always a JSON object with the keys asked for."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema
from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.answer.structured import arguments, asked_keys, instance, json_answer
from jamba_emulator.answer.wordpool import load
from jamba_emulator.chat.toolschema import encode_canonical

from tests.strategies import names, scalar_schemas, tool_parameters

POOL = load()
FORMATS = jsonschema.Draft7Validator.FORMAT_CHECKER


@given(tool_parameters, st.integers(0, 2**32), st.text(max_size=80))
def test_generated_arguments_validate_against_the_tool_schema(
    schema: dict[str, Any], seed: int, prompt: str
) -> None:
    text = arguments(encode_canonical(schema), random.Random(seed), POOL, prompt)
    assert text is not None, "a schema without `pattern` is always satisfied"
    jsonschema.validate(json.loads(text), schema, format_checker=FORMATS)


@given(scalar_schemas, st.integers(0, 2**32))
def test_each_supported_keyword_is_met_by_construction(schema: dict[str, Any], seed: int) -> None:
    """One value, unchecked and not retried, already validates (`arguments` retries only for
    keywords the writer does not know, such as `pattern`)."""
    jsonschema.validate(instance(schema, random.Random(seed), POOL), schema, format_checker=FORMATS)


@given(tool_parameters, st.integers(0, 2**32))
def test_generated_arguments_are_deterministic(schema: dict[str, Any], seed: int) -> None:
    parameters = encode_canonical(schema)
    assert arguments(parameters, random.Random(seed), POOL, "hi") == arguments(
        parameters, random.Random(seed), POOL, "hi"
    )


@given(st.lists(names, min_size=1, max_size=6, unique=True), st.integers(0, 2**32))
def test_json_mode_gives_an_object_with_the_quoted_keys(keys: list[str], seed: int) -> None:
    prompt = "Reply as JSON with " + ", ".join(f'"{key}"' for key in keys)
    assert asked_keys(prompt) == tuple(keys)
    content = json.loads(json_answer(asked_keys(prompt), random.Random(seed), POOL, prompt))
    assert isinstance(content, dict) and list(content) == keys
