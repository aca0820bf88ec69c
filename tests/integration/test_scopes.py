"""Test scopes (X-Emulator-Test-Id): tests sharing one running emulator each see their own rules,
`times` counters, sequences and journal, through a real HTTP client; requests without the header
are the global scope, as before."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jamba_emulator.config import Config
from jamba_emulator.http.surfaces.studio import CHAT_PATH
from jamba_emulator.script.scope import MAX_LENGTH, SCOPE_HEADER
from jamba_emulator.server import BackgroundServer

AUTH = {"Authorization": "Bearer any-key"}
FIXTURE = {"rules": [{"name": "once per test", "times": 1, "reply": {"content": "global, once"}}]}


def ask(http: httpx.Client, text: str, test_id: str | None = None) -> httpx.Response:
    headers = {**AUTH, **({SCOPE_HEADER: test_id} if test_id else {})}
    body = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": text}]}
    return http.post(CHAT_PATH, json=body, headers=headers)


def content(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["choices"][0]["message"]["content"])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackgroundServer]:
    fixture = tmp_path / "rules.json"
    fixture.write_text(__import__("json").dumps(FIXTURE))
    with BackgroundServer(Config(port=0, fixtures=(str(fixture),))) as running:
        yield running


@pytest.fixture
def http(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def add(http: httpx.Client, test_id: str | None, *rules: dict[str, Any]) -> None:
    headers = {SCOPE_HEADER: test_id} if test_id else {}
    response = http.post("/_emulator/rules", json={"rules": list(rules)}, headers=headers)
    assert response.status_code == 201, response.text


def test_two_concurrent_test_ids_keep_their_own_sequences_and_journals(http: httpx.Client) -> None:
    for test_id in ("test-a", "test-b"):
        add(
            http,
            test_id,
            {"name": "steps", "replies": [{"content": f"{test_id} 1"}, {"content": f"{test_id} 2"}]},
        )
    answers: dict[str, list[str]] = {"test-a": [], "test-b": []}
    start = threading.Barrier(2)

    def run(test_id: str) -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=10) as own:
            start.wait()
            answers[test_id] = [content(ask(own, f"step {n}", test_id)) for n in range(4)]

    threads = [threading.Thread(target=run, args=(test_id,)) for test_id in answers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for test_id, got in answers.items():
        # The fixture's global rule answers each scope once; then the scope's sequence, in order;
        # then (used up) the generated answer.
        assert got[:3] == ["global, once", f"{test_id} 1", f"{test_id} 2"]
        assert not got[3].startswith(("global", "test-"))
        journal = http.get("/_emulator/journal", headers={SCOPE_HEADER: test_id}).json()["entries"]
        assert [entry["scope"] for entry in journal] == [test_id] * 4
        assert [entry["rule"] for entry in journal] == ["once per test", "steps", "steps", None]


def test_the_global_scope_is_as_before_and_sees_no_scoped_rule(http: httpx.Client) -> None:
    add(http, "test-a", {"name": "mine", "reply": {"content": "scoped"}})
    assert content(ask(http, "hi")) == "global, once"  # the global scope's own count of the fixture rule
    assert content(ask(http, "hi")) != "scoped"
    assert content(ask(http, "hi", "test-a")) == "global, once"
    assert content(ask(http, "hi", "test-a")) == "scoped"
    assert content(ask(http, "hi", "test-b")) == "global, once"
    assert content(ask(http, "hi", "test-b")) != "scoped"
    everything = http.get("/_emulator/journal").json()["entries"]
    assert [entry["scope"] for entry in everything] == [None, None, "test-a", "test-a", "test-b", "test-b"]
    only_a = http.get("/_emulator/journal", params={"scope": "test-a"}).json()["entries"]
    assert len(only_a) == 2
    listed = http.get("/_emulator/rules", headers={SCOPE_HEADER: "test-a"}).json()["rules"]
    assert [(rule["name"], rule["calls"], rule["scope"]) for rule in listed] == [
        ("once per test", 1, None), ("mine", 1, "test-a"),
    ]  # fmt: skip
    assert [rule["name"] for rule in http.get("/_emulator/rules").json()["rules"]] == ["once per test"]


def test_resetting_a_scope_leaves_the_others(http: httpx.Client) -> None:
    for test_id in ("test-a", "test-b"):
        add(http, test_id, {"name": "mine", "times": 1, "reply": {"content": test_id}})
        content(ask(http, "hi", test_id))
    reset = http.post("/_emulator/reset", headers={SCOPE_HEADER: "test-a"})
    assert reset.json() == {"journal_cleared": 1}
    assert http.get("/_emulator/journal", headers={SCOPE_HEADER: "test-a"}).json()["entries"] == []
    assert len(http.get("/_emulator/journal", headers={SCOPE_HEADER: "test-b"}).json()["entries"]) == 1
    assert content(ask(http, "hi", "test-a")) == "global, once"  # counts back to zero, its rule gone
    assert content(ask(http, "hi", "test-b")) == "test-b"
    removed = http.delete("/_emulator/rules", headers={SCOPE_HEADER: "test-b"})
    assert removed.json() == {"removed": 1}
    assert [rule["name"] for rule in http.get("/_emulator/rules").json()["rules"]] == ["once per test"]


@pytest.mark.parametrize("test_id", ["x" * (MAX_LENGTH + 1)])
def test_a_test_id_that_cannot_be_a_scope_gets_a_400_saying_so(http: httpx.Client, test_id: str) -> None:
    answer = ask(http, "hi", test_id)
    assert answer.status_code == 400
    assert SCOPE_HEADER in answer.json()["detail"]
    admin = http.get("/_emulator/journal", headers={SCOPE_HEADER: test_id})
    assert admin.status_code == 400
    assert content(ask(http, "still serving")) == "global, once"
    assert [entry["scope"] for entry in http.get("/_emulator/journal").json()["entries"]] == [None, None]
