"""Every conformance case (tests/conformance/cases/*.json) is checked twice: against the request
schema alone, and against the running server, so that schema and server cannot drift apart.
And every constraint the schema states, and every policy rule of the README, has a case."""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jamba_emulator.chat.budget import MAX_ERRORS, Budget
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.schema import Contract
from jamba_emulator.errors import ValidationFailed
from jsonschema import Draft7Validator

from tests.conformance.loader import CASE_FILES, CASE_SCHEMA, Case, load_cases
from tests.strategies import TYPE_ERRORS

CASES = load_cases()
SCHEMA_CASES = [case for case in CASES if case.json_body]


@functools.cache
def contract(strict: bool) -> Contract:
    return Contract(load_catalog_document(), strict=strict)


def test_case_files_follow_their_schema() -> None:
    Draft7Validator.check_schema(CASE_SCHEMA)
    for path in CASE_FILES:
        problems = [
            f"{path.name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in Draft7Validator(CASE_SCHEMA).iter_errors(json.loads(path.read_text()))
        ]
        assert not problems, problems


def test_each_rule_is_named_once() -> None:
    rules = [case.rule for case in CASES]
    assert len(rules) == len(set(rules)), [rule for rule in rules if rules.count(rule) > 1]


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=[case.rule for case in SCHEMA_CASES])
def test_case_against_the_schema_alone(case: Case) -> None:
    checker = contract(bool(case.config.get("strict")))
    decided_by_schema = case.phase == "schema"
    assert Draft7Validator(checker.request_schema).is_valid(case.body) is not decided_by_schema
    if not decided_by_schema:
        checker.validate_request(case.body)
        return
    with pytest.raises(ValidationFailed) as caught:
        checker.validate_request(case.body, Budget(errors_listed=case.config.get("max_errors", MAX_ERRORS)))
    reported = [(item.loc, item.type) for item in caught.value.items]
    assert (case.loc, case.type) in reported


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
async def test_case_against_the_server(make_client: Any, case: Case) -> None:
    client = await make_client(**case.config)
    payload = case.payload()
    data = io.BytesIO(payload) if payload is not None else None
    response = await client.request(case.method, case.path, data=data, headers=case.headers)
    assert response.status == case.status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    if case.status == 200:
        assert body["choices"], body
        return
    assert set(body) == {"detail"}
    if case.detail is not None:
        assert body["detail"] == case.detail
    if case.loc is not None:
        items = body["detail"]
        assert isinstance(items, list), items
        assert all(set(item) == {"loc", "msg", "type"} and item["msg"] for item in items)
        assert [list(case.loc), case.type] in [[item["loc"], item["type"]] for item in items], items


# --- Coverage: a case for every constraint of the schema and every policy rule ---------------

_BOUNDS = {
    "minimum": "value_error.number.not_ge",
    "maximum": "value_error.number.not_le",
    "exclusiveMinimum": "value_error.number.not_gt",
    "minLength": "value_error.any_str.min_length",
    "maxLength": "value_error.any_str.max_length",
}
Loc = tuple[str | int, ...]


def schema_rules(node: dict[str, Any], loc: Loc, definitions: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    """(loc pattern, error type) for every constraint in a schema node; `*` stands for an index."""
    if "$ref" in node:
        node = definitions[node["$ref"].rsplit("/", 1)[-1]]
    custom = node.get("x-errors", {})
    yield from ((loc, spec["type"]) for spec in custom.values())
    for name in node.get("required", []):
        yield (*loc, name), "value_error.missing"
    if "type" in node:
        kinds = [node["type"]] if isinstance(node["type"], str) else node["type"]
        kinds = [kind for kind in kinds if kind != "null"]
        if kinds:  # a bare "null" is a model's unsupported feature: its x-errors type counts
            yield loc, TYPE_ERRORS[kinds[0]]
    if "enum" in node and "type" in node:
        yield loc, "type_error.enum"
    yield from ((loc, kind) for keyword, kind in _BOUNDS.items() if keyword in node and keyword not in custom)
    if node.get("additionalProperties") is False:
        yield (*loc, "*"), "value_error.extra"
    for name, child in node.get("properties", {}).items():
        yield from schema_rules(child, (*loc, name), definitions)
    if isinstance(node.get("items"), dict):
        yield from schema_rules(node["items"], (*loc, "*"), definitions)
    for clause in node.get("allOf", []):
        yield from schema_rules(clause.get("then", clause), loc, definitions)
    if "then" in node:
        yield from schema_rules(node["then"], loc, definitions)


def pattern(loc: Loc) -> Loc:
    return tuple("*" if isinstance(part, int) else part for part in loc)


def covered() -> set[tuple[Loc, str]]:
    """(loc pattern, type) of the schema-phase cases; an unknown field's name counts as `*`."""
    pairs = {(pattern(c.loc), c.type) for c in CASES if c.phase == "schema" and c.loc and c.type}
    return pairs | {((*loc[:-1], "*"), kind) for loc, kind in pairs if kind == "value_error.extra"}


def test_every_constraint_of_the_request_schema_has_a_case() -> None:
    schema = contract(True).request_schema
    stated = set(schema_rules(schema, ("body",), schema["definitions"]))
    missing = sorted(stated - covered(), key=str)
    assert not missing, f"no conformance case for: {missing}"


def test_every_model_cap_has_a_case() -> None:
    capped = {
        case.body.get("model")
        for case in SCHEMA_CASES
        if case.loc == ("body", "max_tokens") and case.type == "value_error.number.not_le"
    }
    assert {model.name for model in contract(False).catalog} <= capped


POLICY_RULES = {
    "body not JSON": lambda case: case.type == "value_error.jsondecode",
    "body not an object": lambda case: case.loc == ("body",) and case.type == "type_error.dict",
    "unsupported model": lambda case: case.phase == "admission" and isinstance(case.detail, str),
    "context window": lambda case: case.type == "value_error.context_window",
    "role order (strict)": lambda case: case.type == "value_error.role_order",
    "unknown field (strict)": lambda case: case.type == "value_error.extra",
    "unknown field ignored": lambda case: case.status == 200 and case.rule.startswith("unknown fields"),
    "401": lambda case: case.status == 401,
    "404": lambda case: case.status == 404,
    "405": lambda case: case.status == 405,
    "413": lambda case: case.status == 413,
    "null means not given": lambda case: case.status == 200 and "null" in case.rule,
    "too many errors (a cap and a count)": lambda case: case.type == "value_error.too_many_errors",
    "a tool schema's reference outside itself": lambda case: case.type == "value_error.schema_ref",
    "integers past 4,300 digits": lambda case: case.rule.startswith("huge numbers"),
    "lone surrogates": lambda case: case.rule.startswith("lone surrogates"),
}


@pytest.mark.parametrize("rule", POLICY_RULES)
def test_every_policy_rule_of_the_contract_has_a_case(rule: str) -> None:
    assert any(POLICY_RULES[rule](case) for case in CASES), f"no conformance case for {rule!r}"
