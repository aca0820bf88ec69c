"""Issue 23, findings 2, 4, 5 and 11: the scripting side bounded like the chat route.

2. Rules had no limit (100,000 rules: +78 MB, 0.3 s a request) and matching cost rules x messages
   (2,000 `turn` rules against 30,001 messages: 9.9 s): now the script holds bounded rules, and
   what rules read from the conversation is computed once per request.
4. 100 rules with `(?i)refund.{0,200}order` against a 512 KiB message froze the loop 85.7 s: now
   a regex sees a window at each end of a text and spends the request's budget.
5. 50,000 `{{system}}` against 4,001 messages froze the loop 10.2 s: each value is read once.
11. A running test's scope could be evicted and its `expect` check then passed: now reading a
   forgotten scope's rules fails, naming why.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from jamba_emulator.chat.request import ChatRequest, Message
from jamba_emulator.errors import FixtureError, ScopeForgotten
from jamba_emulator.script import conversation, rules, templates
from jamba_emulator.script.conversation import REGEX_WINDOW, Conversation
from jamba_emulator.script.fixtures import MAX_RULE_SIZE, rules_from
from jamba_emulator.script.rules import MAX_RULES, MAX_SCOPE_RULES, Script, ScriptFull
from jamba_emulator.testing import AttachedEmulator

from tests.adversarial.conftest import Serve
from tests.support import AUTH

API = "/studio/v1/chat/completions"


def loaded(*entries: dict[str, Any]) -> list[rules.Rule]:
    return rules_from({"rules": list(entries)}, "test.json")


def request(*messages: Message, stop: tuple[str, ...] = ()) -> ChatRequest:
    return ChatRequest("jamba-instruct-preview", messages, 4096, 1.0, 1.0, stop, 1, False, 10)


class CountedMessages(tuple):  # type: ignore[type-arg]
    """Messages that count how often a rule walks them."""

    walks = 0

    def __iter__(self) -> Any:
        CountedMessages.walks += 1
        return super().__iter__()

    def __reversed__(self) -> Any:
        CountedMessages.walks += 1
        return super().__reversed__()


def test_what_rules_read_from_the_conversation_is_computed_once_per_request() -> None:
    """2,000 `turn` rules (and last_user, tool_result, tools conditions) against 30,001
    messages: the messages are walked a handful of times, not once per rule."""
    messages = [Message("user", "hi"), *[Message("assistant", "ok"), Message("user", "go on")] * 15_000]
    entries = [{"match": {"turn": 15_001 + index}, "reply": {"content": "x"}} for index in range(2_000)]
    entries.append({"match": {"last_user": {"equals": "nope"}, "tools": ["t"]}, "reply": {"content": "y"}})
    script = Script(loaded(*entries))
    CountedMessages.walks = 0
    assert script.answer(request(*CountedMessages(messages)), {}) is None
    assert CountedMessages.walks <= 3


def test_the_script_refuses_rules_past_its_bounds_and_says_which() -> None:
    script = Script(loaded(*[{"reply": {"content": "x"}}] * 10))
    with pytest.raises(ScriptFull, match=f"holds at most {MAX_RULES:,}"):
        script.add(loaded(*[{"reply": {"content": "x"}}] * (MAX_RULES - 9)))
    assert script.held[0] == 10  # nothing of a refused addition is kept
    with pytest.raises(ScriptFull, match=f"one scope holds at most {MAX_SCOPE_RULES:,}"):
        script.add(loaded(*[{"reply": {"content": "x"}}] * (MAX_SCOPE_RULES + 1)), "test-a")
    script.add(loaded(*[{"reply": {"content": "x"}}] * MAX_SCOPE_RULES), "test-a")
    script.reset("test-a")
    assert script.held[0] == 10  # a scope's rules leave the count with it


def test_a_rule_past_its_size_and_regexes_past_the_weight_are_refused() -> None:
    with pytest.raises(
        FixtureError, match=f"rule 1: .* bytes as JSON; a rule takes at most {MAX_RULE_SIZE // 1024} KiB"
    ):
        loaded({"reply": {"content": "x" * MAX_RULE_SIZE}})

    def regexes(count: int) -> list[dict[str, Any]]:
        return [
            {"match": {"last_user": {"regex": f"r{index}"}}, "reply": {"content": "x"}}
            for index in range(count)
        ]

    with pytest.raises(FixtureError, match=r"1,100 regexes; .* so at most 1,024 regexes"):
        loaded(*regexes(1_100))  # refused before any is compiled
    script = Script(loaded(*regexes(600)))
    with pytest.raises(ScriptFull, match=r"the emulator holds at most 64 MiB of rules .* 64 KiB per regex"):
        script.add(loaded(*regexes(600)))


def test_the_admin_api_says_the_limit_it_refused_a_post_for(serve: Serve) -> None:
    server = serve()
    too_many = {"rules": [{"reply": {"content": "x"}}] * (MAX_RULES + 1)}
    answer = httpx.post(server.url + "/_emulator/rules", json=too_many, timeout=30)
    assert answer.status_code == 400
    assert f"a fixture document holds at most {MAX_RULES:,}" in answer.json()["detail"]
    for _ in range(MAX_SCOPE_RULES // 500):
        added = httpx.post(
            server.url + "/_emulator/rules",
            json={"rules": [{"reply": {"content": "x"}}] * 500},
            headers={"X-Emulator-Test-Id": "t1"},
        )
        assert added.status_code == 201
    refused = httpx.post(
        server.url + "/_emulator/rules",
        json={"rules": [{"reply": {"content": "x"}}]},
        headers={"X-Emulator-Test-Id": "t1"},
    )
    assert refused.status_code == 400 and f"holds at most {MAX_SCOPE_RULES:,}" in refused.json()["detail"]


def test_a_regex_sees_a_window_at_each_end_of_a_long_text() -> None:
    (rule,) = loaded({"match": {"last_user": {"regex": "needle"}}, "reply": {"content": "x"}})
    script = Script([rule])
    filler = "hay " * (REGEX_WINDOW // 2)
    for text, seen in [
        ("needle " + filler, True),
        (filler + " needle", True),
        (filler + " needle " + filler, False),  # in the middle of a long text: not looked at
        ("needle", True),
    ]:
        assert (script.answer(request(Message("user", text)), {}) is not None) is seen
    (anchored,) = loaded({"match": {"last_user": {"regex": "^hay"}}, "reply": {"content": "x"}})
    # The tail window starts mid-text: `^` there is not the text's start.
    assert Script([anchored]).answer(request(Message("user", "x" + filler)), {}) is None


def test_regex_rules_against_a_long_message_spend_a_bounded_budget() -> None:
    """The finding's 100 rules `(?i)refund.{0,200}order` against a 512 KiB message: 85.7 s."""
    entries = [
        {
            "name": f"r{i}",
            "match": {"last_user": {"regex": "(?i)refund.{0,200}order"}},
            "reply": {"content": "x"},
        }
        for i in range(100)
    ]
    script = Script(loaded(*entries))
    text = "refund my money please " * (512 * 1024 // 23)
    chat = Conversation(request(Message("user", text)), {})
    started = time.process_time()
    assert script.answer(chat) is None
    closest = script.closest(chat, limit=100)
    spent = time.process_time() - started
    assert chat.budget.regex >= 0 and spent < 5
    reasons = {reason for _, why in closest for reason in why}
    assert any(conversation.NOT_CHECKED in reason for reason in reasons)


def test_walking_many_messages_for_many_rules_stops_at_the_budget() -> None:
    entries = [
        {"match": {"any_message": {"regex": f"z{i}", "role": "user"}}, "reply": {"content": "x"}}
        for i in range(200)
    ]
    script = Script(loaded(*entries))
    chat = Conversation(request(*[Message("user", "a")] * 100_000), {})
    started = time.process_time()
    assert script.answer(chat) is None
    assert time.process_time() - started < 5
    assert chat.budget.characters == 0 or chat.budget.regex == 0


def test_any_message_equals_and_contains_cost_one_look_up_and_one_scan() -> None:
    (equal,) = loaded(
        {"match": {"any_message": {"equals": "hit", "role": "user"}}, "reply": {"content": "x"}}
    )
    (within,) = loaded({"match": {"any_message": {"contains": "it"}}, "reply": {"content": "x"}})
    chat = Conversation(request(*[Message("user", "a")] * 50_000, Message("user", "hit")), {})
    assert Script([equal, within]).answer(chat) is not None
    assert conversation.MATCH_CHARACTERS - chat.budget.characters < 200_000


def test_a_template_reads_each_value_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    original = dict(templates.FIELDS)
    for name, read in original.items():
        monkeypatch.setitem(
            templates.FIELDS, name, lambda chat, name=name, read=read: reads.append(name) or read(chat)
        )
    (rule,) = loaded({"reply": {"content": "{{system}}{{turn}}" * 3_000}})
    messages = [
        Message("system", "s"),
        *[Message("user", "u"), Message("assistant", "a")] * 2_000,
        Message("user", "?"),
    ]
    rendered = rule.replies[0].content_for(request(*messages))
    assert rendered is not None and rendered.startswith("s2000s2000")
    assert sorted(reads) == ["system", "turn"]


def test_a_stop_list_in_a_template_is_written_no_further_than_its_cap() -> None:
    (rule,) = loaded({"reply": {"content": "{{request.stop}}"}})
    stops = tuple(f"stop-{index}" for index in range(1_000_000))
    rendered = rule.replies[0].content_for(request(Message("user", "hi"), stop=stops))
    assert rendered is not None and len(rendered) <= templates.MAX_VALUE


def test_a_forgotten_scope_fails_its_reader_and_a_reset_starts_it_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Script, "MAX_SCOPES", 3)
    script = Script()
    script.add(loaded({"reply": {"content": "x"}, "expect": 1}), "test-a")
    for other in ("b", "c", "d"):
        script.add(loaded({"reply": {"content": "x"}}), other)
    with pytest.raises(ScopeForgotten, match="test scope 'test-a' was forgotten"):
        script.described("test-a")
    script.answer(request(Message("user", "hi")), {}, scope="test-a")  # the test goes on: still failing
    with pytest.raises(ScopeForgotten):
        script.described("test-a")
    script.reset("test-a")  # the next test with this id
    assert script.described("test-a") == []


def test_the_attached_plugin_fails_a_test_whose_scope_was_forgotten(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Script, "MAX_SCOPES", 2)
    server = serve()
    mine = AttachedEmulator(server.url, "tests/test_a.py::test_one")
    mine.reset()
    mine.reply("scripted", expect=1)
    for other in ("x", "y"):
        AttachedEmulator(server.url, other).reply("other")
    httpx.post(
        server.url + API,
        json={"model": "jamba-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={**AUTH, **mine.headers},
    )
    with pytest.raises(RuntimeError, match=r"410.*was forgotten"):
        _ = mine.rules
