"""Finding 4: input that gave a 500: an integer literal of more than 4,300 digits anywhere in the
body, a lone surrogate in `model` or in any key. Now they are read as any other value: the huge
integer as too large, the surrogate as text."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jamba_emulator.server import BackgroundServer

from tests.adversarial import bodies
from tests.adversarial.conftest import Serve
from tests.support import AUTH

API = "/studio/v1/chat/completions"
BASE = b'{"model":"jamba-mini","messages":[{"role":"user","content":"hi"}]'
HUGE = b"7" * 5000


@pytest.mark.parametrize(
    ("raw", "status", "loc"),
    [
        (bodies.huge_integer(), 422, ["body", "max_tokens"]),
        (BASE + b',"max_tokens":-' + HUGE + b"}", 422, ["body", "max_tokens"]),
        (BASE + b',"temperature":' + HUGE + b".5}", 422, ["body", "temperature"]),
        (BASE + b',"unknown":' + HUGE + b"}", 200, None),
        (
            BASE + b',"documents":[{"content":"d","metadata":{"a":' + HUGE + b"}}]}",
            422,
            ["body", "documents", 0, "metadata", "a"],
        ),
        (
            BASE
            + b',"tools":[{"type":"function","function":{"name":"f","parameters":{"maximum":'
            + HUGE
            + b"}}}]}",
            422,
            ["body", "tools", 0, "function", "parameters"],
        ),
        (bodies.surrogate_model(), 422, None),
        (bodies.surrogate_key(), 200, None),
        (b'{"model":"jamba-mini","messages":[{"role":"user","content":"\\ud800 hi \\udfff"}]}', 200, None),
        (
            b'{"model":"jamba-mini","messages":[{"role":"\\ud800","content":"hi"}]}',
            422,
            ["body", "messages", 0, "role"],
        ),
        (b'{"model":"jamba-mini","stop":["\\ud800"],"messages":[{"role":"user","content":"hi"}]}', 200, None),
        (
            b'{"model":"jamba-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"\\ud800","parameters":{"const":"\\udc00"}}}]}',
            422,
            ["body", "tools", 0, "function", "parameters"],
        ),
    ],
    ids=[
        "int-max-tokens",
        "negative-int",
        "float-with-huge-integer-part",
        "int-unknown-field",
        "int-metadata",
        "int-in-tool-schema",
        "surrogate-model",
        "surrogate-keys",
        "surrogate-content",
        "surrogate-role",
        "surrogate-stop",
        "surrogate-tool",
    ],
)
def test_huge_numbers_and_lone_surrogates_are_read_as_values(
    serve: Serve, raw: bytes, status: int, loc: list[Any] | None
) -> None:
    server = serve()
    answer = httpx.post(server.url + API, content=raw, headers=AUTH)
    assert answer.status_code == status, answer.text
    if loc is not None:
        assert loc in [item["loc"] for item in answer.json()["detail"]]
    assert (
        httpx.post(
            server.url + API,
            json={"model": "jamba-mini", "messages": [{"role": "user", "content": "hi"}]},
            headers=AUTH,
        ).status_code
        == 200
    )


def test_an_unsupported_model_with_a_surrogate_gets_the_string_detail(serve: Serve) -> None:
    server = serve()
    answer = httpx.post(server.url + API, content=bodies.surrogate_model(), headers=AUTH)
    assert isinstance(answer.json()["detail"], str)


SURROGATE_TEXT = st.text(st.characters(categories=["Cs", "Ll", "Nd"]), max_size=8)
NUMBERS = st.sampled_from(
    ["1e400", "-1e400", "7" * 4301, "-" + "9" * 5000, "1" * 300 + ".5", "12345678901234567890"]
)


@st.composite
def hostile_values(draw: st.DrawFn) -> str:
    """JSON text with surrogate escapes and huge numbers in every position, keys included."""
    leaf = st.one_of(NUMBERS, SURROGATE_TEXT.map(json.dumps), st.just("null"))

    def container(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        keys = st.one_of(
            SURROGATE_TEXT, st.sampled_from(["model", "messages", "role", "content", "stop", "tools", "n"])
        )
        objects = st.lists(st.tuples(keys, children), max_size=4).map(
            lambda pairs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"
        )
        return st.one_of(
            st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]"), objects
        )

    return draw(st.recursive(leaf, container, max_leaves=12))


@pytest.fixture(scope="module")
def module_server() -> Any:
    with BackgroundServer() as server:
        yield server


@settings(max_examples=100)
@given(hostile_values(), st.sampled_from(["jamba-mini", "jamba-instruct-preview", "\\ud800"]))
def test_no_hostile_body_gets_a_5xx(module_server: BackgroundServer, value: str, model: str) -> None:
    for raw in (
        value,
        f'{{"model":"{model}","messages":[{{"role":"user","content":"hi","x":{value}}}],"y":{value}}}',
    ):
        answer = httpx.post(module_server.url + API, content=raw.encode(), headers=AUTH)
        assert answer.status_code < 500, (raw, answer.text)
