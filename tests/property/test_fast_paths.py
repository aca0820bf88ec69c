"""The hot path parses with orjson and validates with jsonschema-rs; Python's json and
`jsonschema` are the references. For any body (valid, broken in one rule or several, arbitrary
JSON, arbitrary bytes) each fast path must give exactly what its reference gives: the same
value, or the same error items in the same order. Pure: no server."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.decoding import decode_body, decode_body_reference
from jamba_emulator.contract.schema import Contract
from jamba_emulator.errors import ErrorItem, ValidationFailed
from jamba_emulator.http.streaming import encode_json

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


@given(st.lists(st.sampled_from(list(MUTATIONS)), min_size=2, max_size=2), st.data())
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


def parsed(decode: Any, raw: bytes) -> Any:
    try:
        return ("value", decode(raw))
    except ValidationFailed as failure:
        return ("error", failure.detail())


def same_json(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself and 1 (int) told apart from 1.0 (float)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_json(a[k], b[k]) for k in a)
    return bool(a == b)


NUMBERS = st.sampled_from(
    [b"1e400", b"-1e400", b"12345678901234567890123", b"-9223372036854775809", b"9223372036854775807",
     b"18446744073709551616", b"1.7976931348623157e309", b"0.1", b"-0", b"-0.0", b"1E5", b"5e-324"]
)  # fmt: skip


@given(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=512)
    | NUMBERS.map(lambda n: b'{"max_tokens": ' + n + b"}")
    | st.builds(lambda ns: b"[" + b",".join(ns) + b"]", st.lists(NUMBERS, max_size=5))
)
def test_parsing_reads_the_same_as_pythons_json(raw: bytes) -> None:
    fast, reference = parsed(decode_body, raw), parsed(decode_body_reference, raw)
    assert fast[0] == reference[0], (raw, fast, reference)
    if fast[0] == "value":
        assert same_json(fast[1], reference[1]), (raw, fast, reference)
    else:
        assert fast == reference


@given(json_values)
def test_encoding_round_trips(value: Any) -> None:
    encoded = encode_json(value)
    encoded.decode("utf-8")  # always valid UTF-8, lone surrogates escaped
    assert same_json(json.loads(encoded), value)
