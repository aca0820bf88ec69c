"""The hot path validates with jsonschema-rs; `jsonschema` is the reference. For any body (valid,
broken in one rule, or several, or arbitrary JSON) both must accept the same bodies and report
the same error items, in the same order. Pure: no server."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.catalog import load_catalog_document
from emulator.contract import Contract
from emulator.errors import ErrorItem, ValidationFailed
from tests.strategies import (
    CONTRACT,
    MUTATIONS,
    broken_requests,
    json_values,
    request_like,
    valid_requests,
)

STRICT = Contract(load_catalog_document(), strict=True)


def fast_items(contract: Contract, body: Any) -> list[ErrorItem]:
    try:
        contract.validate_request(body)
    except ValidationFailed as failure:
        return list(failure.items)
    return []


def assert_same_verdict(contract: Contract, body: Any) -> None:
    reference = sorted(contract.reference_errors(body), key=contract._field_order)
    assert fast_items(contract, body) == reference, body


@given(valid_requests())
def test_valid_requests_pass_both(body: dict[str, Any]) -> None:
    assert_same_verdict(CONTRACT, body)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@given(data=st.data())
def test_one_broken_rule_reads_the_same(mutation: str, data: st.DataObject) -> None:
    assert_same_verdict(CONTRACT, data.draw(broken_requests(mutation)).body)


@given(st.lists(st.sampled_from(list(MUTATIONS)), min_size=2, max_size=4), st.data())
def test_several_broken_rules_read_the_same(mutations: list[str], data: st.DataObject) -> None:
    body: Any = {}
    for mutation in mutations:  # the fields of several broken requests, merged: several breaks
        broken = data.draw(broken_requests(mutation)).body
        body = {**body, **broken} if isinstance(broken, dict) else broken
    assert_same_verdict(CONTRACT, body)
    assert_same_verdict(STRICT, body)


@given(json_values | request_like)
def test_any_json_reads_the_same(body: Any) -> None:
    assert_same_verdict(CONTRACT, body)
    assert_same_verdict(STRICT, body)


@pytest.mark.parametrize(
    "body",
    [
        {
            "model": "jamba-instruct-preview",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 1e400,
        },
        {
            "model": "jamba-instruct-preview",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 10**40,
        },
        {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "Infinity"}], "n": -1},
    ],
    ids=["infinity", "huge-integer", "the-word-infinity"],
)
def test_numbers_beyond_64_bits(body: dict[str, Any]) -> None:
    assert_same_verdict(CONTRACT, body)
