"""The Python API's callable replies: test code given each matching request returns its content,
a fixture reply (an error, a fault) or None; an exception it raises answers 500 and is kept for
the test (the plugin raises it again: tests/plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from jamba_emulator.chat.request import ChatRequest
from jamba_emulator.config import Config
from jamba_emulator.http.surfaces.studio import CHAT_PATH
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import AttachedEmulator, JambaEmulator

AUTH = {"Authorization": "Bearer any-key"}


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(Config(port=0)) as running:
        yield running


@pytest.fixture
def double(server: BackgroundServer) -> Iterator[JambaEmulator]:
    assert server.core is not None
    emulator = JambaEmulator(server.url, server.core)
    yield emulator
    emulator.reset()


def ask(server: BackgroundServer, text: str, **fields: object) -> httpx.Response:
    body = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": text}], **fields}
    return httpx.post(server.url + CHAT_PATH, json=body, headers=AUTH, timeout=10)


def test_a_callable_answers_from_the_request_and_its_content_is_cut_like_any(
    server: BackgroundServer, double: JambaEmulator
) -> None:
    seen: list[ChatRequest] = []

    def shout(request: ChatRequest) -> str:
        seen.append(request)
        return request.messages[-1].content.upper()

    double.reply(shout, match={"last_user": {"contains": "hey"}})
    assert ask(server, "hey you").json()["choices"][0]["message"]["content"] == "HEY YOU"
    cut = ask(server, "hey you there", max_tokens=1).json()
    assert cut["choices"][0]["finish_reason"] == "length" and cut["usage"]["completion_tokens"] == 1
    assert [request.model for request in seen] == ["jamba-instruct-preview"] * 2
    assert ask(server, "other").status_code == 200 and len(seen) == 2  # the match still applies


def test_a_callable_returns_an_error_a_fault_or_the_generated_answer(
    server: BackgroundServer, double: JambaEmulator
) -> None:
    answers = iter([{"error": {"status": 429, "headers": {"Retry-After": "3"}}}, None])
    double.reply(lambda request: next(answers))
    limited = ask(server, "hi")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    generated = ask(server, "hi")
    assert generated.status_code == 200 and generated.json()["choices"][0]["message"]["content"]
    assert [entry.rule for entry in double.requests] == ["rule 1", "rule 1"]


def test_an_exception_in_a_callable_answers_500_and_is_kept_for_the_test(
    server: BackgroundServer, double: JambaEmulator
) -> None:
    def broken(request: ChatRequest) -> str:
        raise KeyError("order_id")

    double.reply(broken)
    answer = ask(server, "hi")
    assert answer.status_code == 500
    assert "KeyError" in answer.json()["detail"]
    assert [type(error) for error in double.raised] == [KeyError]
    double.core.script.clear()
    double.reply(lambda request: 42)  # not something a reply can be
    assert ask(server, "again").status_code == 500
    assert isinstance(double.raised[-1], TypeError) and "not int" in str(double.raised[-1])
    double.core.script.clear()
    assert ask(server, "the server still answers").status_code == 200


def test_an_attached_emulator_refuses_a_callable(server: BackgroundServer) -> None:
    with pytest.raises(TypeError, match="in-process"):
        AttachedEmulator(server.url, "test-x").reply(lambda request: "x")
