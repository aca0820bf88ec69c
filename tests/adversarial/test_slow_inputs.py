"""Finding 10: patterns and sizes slow although allowed. A fixture rule's `(a+)+$` took 3.2 s on a
26-character message (doubling per character); an 8 MiB prompt was tokenized in full (628 ms)
before its context-window 422; the journal listing of 1,000 large entries blocked the loop
500 ms. Now rules run in linear time (RE2), counting stops at the window, and the listing is
written off the loop."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from jamba_emulator.chat.budget import Budget
from jamba_emulator.chat.tokenizer import ApproximateTokenizer
from jamba_emulator.config import Config
from jamba_emulator.core import Core
from jamba_emulator.errors import FixtureError, ValidationFailed
from jamba_emulator.resources import FIXTURE_DIR
from jamba_emulator.script.fixtures import rules_from

from tests.adversarial import bodies
from tests.adversarial.conftest import COMMAND, Serve, start_cli
from tests.support import AUTH

API = "/studio/v1/chat/completions"


def test_a_nested_quantifier_rule_runs_in_linear_time(serve: Serve, tmp_path: Path) -> None:
    """28 a's: the backtracking matcher took 13 s (doubling per character); this takes ms."""
    server = serve(fixtures=(str(bodies.write_fixture(tmp_path, [bodies.REGEX_RULE])),))
    started = time.monotonic()
    answer = httpx.post(server.url + API, content=bodies.regex_victim(28), headers=AUTH, timeout=60)
    assert time.monotonic() - started < 2
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] != "x"
    matched = httpx.post(
        server.url + API,
        json={"model": "jamba-mini", "messages": [{"role": "user", "content": "a" * 28}]},
        headers=AUTH,
    )
    assert matched.json()["choices"][0]["message"]["content"] == "x"


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(\w+) \1", "a backreference"),
        (r"order(?= now)", "a lookahead"),
        (r"(?<!not )ok", "a negative lookahead or lookbehind"),
        (r"(?>a+)b", "an atomic group"),
        (r"a++", "a possessive quantifier"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_with_its_construct_named(
    pattern: str, construct: str, serve: Serve
) -> None:
    document = {
        "rules": [{"name": "r", "match": {"last_user": {"regex": pattern}}, "reply": {"content": "x"}}]
    }
    with pytest.raises(FixtureError, match=f"rule 1 \\('r'\\): regex: /.*/ uses {construct}"):
        rules_from(document, "rules.json")
    server = serve()
    answer = httpx.post(server.url + "/_emulator/rules", json=document)
    assert answer.status_code == 400 and construct in answer.json()["detail"]


def test_check_names_the_construct(tmp_path: Path) -> None:
    fixture = tmp_path / "bad.json"
    fixture.write_text(
        json.dumps(
            {
                "rules": [
                    {"name": "echo", "match": {"any_message": {"regex": r"(a)\1"}}, "reply": {"content": "x"}}
                ]
            }
        )
    )
    command = [COMMAND, "check", str(fixture)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "rule 1 ('echo'): regex: /(a)\\1/ uses a backreference" in result.stderr


def test_the_shipped_scenarios_load() -> None:
    for path in sorted((FIXTURE_DIR / "scenarios").glob("*.json")):
        assert rules_from(json.loads(path.read_text()), str(path))


def test_counting_an_8_mib_prompt_stops_at_the_window() -> None:
    core = Core.build(Config())
    budget = Budget()
    with pytest.raises(ValidationFailed) as failure:
        core.admission.admit(json.loads(bodies.huge_prompt()), budget)
    (item,) = failure.value.items
    assert item.type == "value_error.context_window" and item.msg.startswith("the prompt has at least")
    window = core.contract.catalog.get("jamba-instruct-preview").context_window  # type: ignore[union-attr]
    # A piece of 64 Ki characters is counted at a time: at most one piece past the window.
    assert window < budget.tokens <= window + ApproximateTokenizer.PIECE


def test_counting_in_pieces_counts_what_counting_at_once_counts() -> None:
    tokenizer = ApproximateTokenizer()
    for text in [
        "word " * 40_000,
        "a  b   c\n" * 30_000,
        "x" * 200_000,
        "don't " * 30_000 + "Ünïcödé " * 10_000,
        " " * 100_000 + "y",
    ]:
        assert tokenizer.count_upto(text, 10**9) == len(tokenizer.tokenize(text))


def test_the_journal_listing_leaves_the_loop_free() -> None:
    """A server process of its own: the test's threads share no interpreter lock with it."""
    process, url = start_cli("--log-level", "warning")
    try:
        body = bodies.large_journal_entry()
        with httpx.Client(base_url=url, headers=AUTH) as client:
            for _ in range(1000):
                client.post(API, content=body)
        listed: list[bytes] = []
        thread = threading.Thread(
            target=lambda: listed.append(httpx.get(url + "/_emulator/journal", timeout=60).content)
        )
        thread.start()
        waits = []
        with httpx.Client(base_url=url) as client:
            while thread.is_alive():
                asked = time.monotonic()
                client.get("/_emulator/health", timeout=60)
                waits.append(time.monotonic() - asked)
        thread.join()
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert len(json.loads(listed[0])["entries"]) == 1000
    # Before: a health check waited as long as the listing (500 ms); 100 ms is a fifth of that.
    assert max(waits) < 0.1, max(waits)
