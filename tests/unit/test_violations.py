"""What the bounded search of violations.py relies on in the request schema, checked on the schema
itself, so that a rule added there which the views could not judge fails here, loudly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from jamba_emulator.contract import violations
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.schema import Contract
from jamba_emulator.errors import ValidationFailed

CONTAINER_KEYWORDS = {
    "items", "additionalItems", "contains", "minItems", "maxItems", "uniqueItems", "properties",
    "patternProperties", "additionalProperties", "required", "minProperties", "maxProperties",
    "dependencies", "propertyNames",
}  # fmt: skip
SCHEMAS = {
    "default": Contract(load_catalog_document()).request_schema,
    "strict": Contract(load_catalog_document(), strict=True).request_schema,
}


def keywords(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(where, keyword, value) for every container keyword of the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CONTAINER_KEYWORDS:
                yield path, key, value
            if key not in ("enum", "const", "x-errors", "default", "required"):
                yield from keywords(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from keywords(value, (*path, str(index)))


@pytest.mark.parametrize("mode", SCHEMAS)
def test_the_schema_uses_only_container_keywords_the_views_judge_rightly(mode: str) -> None:
    used = {keyword for _, keyword, _ in keywords(SCHEMAS[mode])}
    assert used <= violations.SUPPORTED_CONTAINER_KEYWORDS, used - violations.SUPPORTED_CONTAINER_KEYWORDS


@pytest.mark.parametrize("mode", SCHEMAS)
def test_list_wide_rules_are_where_the_cuts_check_them(mode: str) -> None:
    for where, keyword, value in keywords(SCHEMAS[mode]):
        if keyword == "contains":
            assert len(where) == 2 and where[0] == "properties", (where, keyword)
        if keyword == "maxItems":  # on a property reached through properties alone
            assert where[::2] == ("properties",) * (len(where) // 2) and len(where) % 2 == 0, where
        if keyword == "minItems":
            assert value <= violations.KEEP, (where, value)


def test_a_huge_invalid_body_is_answered_with_the_cap_and_a_count() -> None:
    contract = Contract(load_catalog_document())
    body = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": ""}] * 50_000}
    with pytest.raises(ValidationFailed) as failure:
        contract.validate_request(body)
    items = failure.value.items
    assert len(items) == 1001
    assert [item.loc for item in items[:3]] == [("body", "messages", i, "content") for i in range(3)]
    assert items[-1].type == violations.TOO_MANY
    more = re.fullmatch(
        r"at least (\d+) more errors not listed \(at most 1000 are; the search stopped\)", items[-1].msg
    )
    assert more and int(more.group(1)) >= 9000, items[-1]
