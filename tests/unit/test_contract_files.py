"""The schema files: valid against their metaschema, and the shipped examples validate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from jamba_emulator.chat.toolschema import _compiled_cached, compiled_schema, encode_canonical
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.openapi import bundle, load_document, published_schemas
from jamba_emulator.contract.schema import SCHEMA_FILES, Contract
from jamba_emulator.errors import ErrorItem, SchemaFileError, ValidationFailed
from jamba_emulator.http.surfaces.studio import error_body
from jamba_emulator.resources import SCHEMA_DIR

from tests.support import SEED_EXAMPLE

CONTRACT = Contract(load_catalog_document())


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_passes_its_metaschema(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")


def test_seed_example_request_passes_phase_one() -> None:
    CONTRACT.validate_request(json.loads(SEED_EXAMPLE["request_body"]))


def test_per_model_cap_comes_from_the_catalog() -> None:
    document = load_catalog_document()
    document["models"][0]["max_tokens"]["maximum"] = 100
    strict_cap = Contract(document)
    with pytest.raises(ValidationFailed) as caught:
        strict_cap.validate_request(
            {
                "model": "jamba-instruct-preview",
                "messages": [{"role": "user", "content": "x"}],
                "max_tokens": 101,
            }
        )
    assert caught.value.detail()[0]["msg"] == "ensure this value is less than or equal to 100"


def test_a_broken_catalog_is_reported_with_its_field() -> None:
    document = {
        "models": [
            {
                "name": "m",
                "max_tokens": {"default": 1, "maximum": 2},
                "temperature": {"default": 9},
                "context_window": 1,
                "listing": {
                    "name": "M",
                    "updated": "2026-01-01T00:00:00Z",
                    "quantization": "FP8",
                    "pricing": {"prompt": 0, "completion": 0},
                },
            }
        ]
    }
    with pytest.raises(SchemaFileError, match=r"catalog.json: models/0/temperature/default"):
        Contract(document)


def test_error_bodies_validate_against_the_error_schema() -> None:
    validator = CONTRACT.validator("error.schema.json")
    body = error_body(ValidationFailed([ErrorItem(("body", "n"), "bad", "value_error.n")]))
    assert validator.is_valid(body)
    assert validator.is_valid({"detail": "Not Found"})
    assert not validator.is_valid({"detail": []})


def test_seed_example_response_validates() -> None:
    assert not list(CONTRACT.validator("chat-response.schema.json").iter_errors(SEED_EXAMPLE["response"]))


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_openapi_source_refers_only_to_shipped_schema_files() -> None:
    document = load_document()
    for ref in references(document):
        file, _, _ = ref.partition("#")
        assert not file or (SCHEMA_DIR / file).is_file(), ref


def test_served_openapi_document_resolves_every_reference() -> None:
    served = bundle(load_document(), published_schemas(CONTRACT))
    refs = list(references(served))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), f"the served document must be self-contained: {ref}"
        node: Any = served
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"{ref} does not resolve (at {part!r})"
            node = node[part]


def test_served_openapi_request_schema_names_the_catalog_models() -> None:
    served = bundle(load_document(), published_schemas(CONTRACT))
    model = served["components"]["schemas"]["ChatRequest"]["properties"]["model"]
    assert model["enum"] == [spec.name for spec in CONTRACT.catalog]


def test_a_long_parameters_schema_is_compiled_but_not_kept() -> None:
    short = encode_canonical({"type": "object", "description": "short"})
    long = encode_canonical({"type": "object", "description": "word " * 2000})
    assert compiled_schema(long).is_valid({}) and not compiled_schema(long).is_valid([])
    held = _compiled_cached.cache_info().currsize
    compiled_schema(long)
    assert _compiled_cached.cache_info().currsize == held, "a long schema is not a cache key"
    assert compiled_schema(short) is compiled_schema(short), "a short one is kept"
