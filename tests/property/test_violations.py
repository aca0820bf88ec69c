"""The bounded search for violations (emulator/contract/violations.py) finds exactly what one pass of the
validator over the whole body finds. The views are made small here (60 bytes each), so that
bodies Hypothesis can write are cut into many views, nested ones included."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.contract import violations
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.schema import Contract
from jamba_emulator.errors import ErrorItem

from tests.strategies import CONTRACT, LATER_MODELS

STRICT = Contract(load_catalog_document(), strict=True)

CALL = {"id": "c1", "function": {"name": "f", "arguments": "{}"}}
fine_messages = st.sampled_from(
    [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "system", "content": ""},
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
    ]
)
broken_messages = st.sampled_from(
    [
        {"role": "user", "content": ""},
        {"role": "user"},
        {"content": "no role"},
        {"role": "narrator", "content": "x"},
        {"role": 3, "content": "x"},
        {"role": "user", "content": 7},
        {"role": "user", "content": "x", "extra": 1, "more": [1, 2]},
        "not a message",
        {"role": "tool", "content": "x"},
        {"role": "assistant", "tool_calls": []},
    ]
)
tool_calls = st.lists(
    st.sampled_from(
        [
            {"id": "c", "function": {"name": "f", "arguments": "{}"}},
            {"id": "", "function": {"name": "f", "arguments": "{}"}},
            {"function": {"name": "f"}},
            {},
            7,
        ]
    ),
    min_size=1,
    max_size=12,
)


@st.composite
def messages(draw: st.DrawFn) -> Any:
    entry = draw(
        st.one_of(
            fine_messages,
            broken_messages,
            st.builds(lambda calls: {"role": "assistant", "tool_calls": calls}, tool_calls),
        )
    )
    return entry


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": draw(st.sampled_from(["jamba-instruct-preview", *LATER_MODELS[:1]])),
        "messages": draw(st.lists(messages(), min_size=0, max_size=30)),
    }
    if draw(st.booleans()):
        body["stop"] = draw(st.lists(st.sampled_from(["x", 1, None, "y" * 3]), max_size=20))
    if draw(st.booleans()):
        body["documents"] = [
            {
                "content": "d",
                "metadata": draw(
                    st.dictionaries(
                        st.sampled_from("abcdefghij"), st.sampled_from(["s", 1, None]), max_size=10
                    )
                ),
            }
        ]
    if draw(st.booleans()):
        body.update(
            draw(
                st.dictionaries(
                    st.sampled_from(["n", "max_tokens", "temperature", "x", "y", "z"]),
                    st.sampled_from([0, -1, 2.5, "t", None, 17]),
                    max_size=4,
                )
            )
        )
    return body


def whole(contract: Contract, body: Any) -> set[ErrorItem]:
    """One pass over the whole body (the search is only asked about invalid bodies, and says
    that much of a valid one)."""
    return set(contract._searcher._items_of(violations._View(body))) or {violations.UNMATCHED}


def searched(contract: Contract, body: Any) -> set[ErrorItem]:
    return set(contract._searcher.search(body, listed=100_000, found_at_most=100_000).items)


@pytest.fixture(autouse=True)
def small_views(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(violations, "VIEW_WEIGHT", 60)
    monkeypatch.setattr(violations, "KEEP", 2)
    monkeypatch.setattr(violations, "_SPLIT_FIRST", 4)


@given(bodies())
def test_the_views_find_what_one_pass_finds(body: dict[str, Any]) -> None:
    assert searched(CONTRACT, body) == whole(CONTRACT, body)


@given(bodies())
def test_the_views_find_what_one_pass_finds_in_strict_mode(body: dict[str, Any]) -> None:
    assert searched(STRICT, body) == whole(STRICT, body)


@given(
    st.lists(
        st.sampled_from(
            [{"role": "system", "content": "s"}, {"role": "tool", "content": "t", "tool_call_id": "x"}]
        ),
        min_size=3,
        max_size=30,
    ),
    st.integers(0, 40),
)
def test_a_user_message_past_the_first_entries_still_counts(others: list[dict[str, Any]], at: int) -> None:
    body = {"model": "jamba-mini", "messages": [*others[:at], {"role": "user", "content": ""}, *others[at:]]}
    assert searched(CONTRACT, body) == whole(CONTRACT, body)


@given(st.integers(250, 300), st.lists(st.sampled_from(["x", 1]), max_size=5))
def test_a_list_over_its_max_items_is_said_to_be_however_it_is_cut(count: int, tail: list[Any]) -> None:
    body = {
        "model": "jamba-mini",
        "messages": [{"role": "user", "content": "hi"}],
        "stop": ["s"] * count + tail,
    }
    assert searched(CONTRACT, body) == whole(CONTRACT, body)
