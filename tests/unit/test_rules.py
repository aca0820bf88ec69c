"""Scripted replies on their own: reading fixture documents (errors name file, rule and field),
matching, and how often a rule fires."""

from __future__ import annotations

from typing import Any

import pytest
from jamba_emulator.chat.request import ChatRequest, Message, Tool
from jamba_emulator.errors import FixtureError
from jamba_emulator.script.conversation import Conversation
from jamba_emulator.script.fixtures import rules_from
from jamba_emulator.script.rules import Script

REQUEST = ChatRequest(
    "jamba-instruct-preview",
    (Message("system", "You are a support bot"), Message("user", "Where is my order 1234?")),
    4096, 1.0, 1.0, (), 1, False, 40,
)  # fmt: skip


def script(*rules: dict[str, Any]) -> Script:
    return Script(rules_from({"rules": list(rules)}, "test.json"))


def reply_to(s: Script, request: ChatRequest = REQUEST, headers: dict[str, str] | None = None) -> Any:
    found = s.answer(request, headers or {})
    return None if found is None else (found[1].content or found[1].error)


BAD_FIXTURES = [
    (
        {"rules": [{"reply": {"content": "x"}, "times": 0}]},
        "test.json: rule 1: times: 0 is less than the minimum of 1",
    ),
    (
        {"rules": [{"reply": {"content": "x"}}, {"name": "bad", "reply": {"error": {"status": 200}}}]},
        "test.json: rule 2 ('bad'): reply.error.status: 200 is less than the minimum of 400",
    ),
    (
        {"rules": [{"match": {"modle": "m"}, "reply": {"content": "x"}}]},
        "rule 1: match: Additional properties",
    ),
    ({"rules": [{"match": {}}]}, "rule 1: "),
    (
        {"rules": [{"reply": {"content": "x", "timing": {"token_ms": -5}}}]},
        "test.json: rule 1: reply.timing.token_ms: -5 is less than the minimum of 0",
    ),
    ({"rulez": []}, "test.json: 'rules' is a required property"),
    (
        {"rules": [{"match": {"last_user": {"regex": "("}}, "reply": {"content": "x"}}]},
        "test.json: rule 1: regex",
    ),
    (
        {"rules": [{"reply": {"content": "x", "error": {"status": 500}}}]},
        "test.json: rule 1: reply: a reply has a content or an error, not both",
    ),
    (
        {"rules": [{"reply": {"error": {"status": 500}, "fault": {"kind": "stall"}}}]},
        "test.json: rule 1: reply: a fault breaks a 200 answer; an error reply cannot have one",
    ),
    ({"rules": [{"reply": {"finish_reason": "length"}}]}, "rule 1: reply: finish_reason needs a content"),
    (
        {"rules": [{"reply": {"fault": {"kind": "drop_mid_stream", "stall_ms": 5}}}]},
        "test.json: rule 1: reply.fault: stall_ms goes with kind stall only",
    ),
    (
        {"rules": [{"reply": {"content": "x", "tool_calls": [{"name": "f"}]}}]},
        "test.json: rule 1: reply: a reply has a content or tool_calls, not both",
    ),
    (
        {"rules": [{"reply": {"error": {"status": 500}, "tool_calls": [{"name": "f"}]}}]},
        "test.json: rule 1: reply: a reply has tool_calls or an error, not both",
    ),
    ({"rules": [{"reply": {"tool_calls": []}}]}, "rule 1: reply.tool_calls: [] should be non-empty"),
    (
        {"rules": [{"reply": {"tool_calls": [{"arguments": {}}]}}]},
        "test.json: rule 1: reply.tool_calls.0: 'name' is a required property",
    ),
    (
        {"rules": [{"reply": {"tool_calls": [{"name": "f", "arguments": 3}]}}]},
        "test.json: rule 1: reply.tool_calls.0.arguments: 3 is not of type 'object', 'string'",
    ),
    (
        {"rules": [{"reply": {"fault": {"kind": "explode"}}}]},
        "test.json: rule 1: reply.fault.kind: 'explode' is not one of",
    ),
]


@pytest.mark.parametrize(("document", "message"), BAD_FIXTURES)
def test_a_bad_fixture_names_the_file_the_rule_and_the_field(document: Any, message: str) -> None:
    with pytest.raises(FixtureError) as caught:
        rules_from(document, "test.json")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("match", "fits"),
    [
        ({}, True),
        ({"model": "jamba-instruct-preview"}, True),
        ({"model": "jamba-large"}, False),
        ({"last_user": {"equals": "Where is my order 1234?"}}, True),
        ({"last_user": {"equals": "Where is my order"}}, False),
        ({"last_user": {"contains": "order"}}, True),
        ({"last_user": {"regex": r"order \d+"}}, True),
        ({"last_user": {"regex": r"^order"}}, False),
        ({"any_message": {"role": "system", "contains": "support"}}, True),
        ({"any_message": {"role": "user", "contains": "support"}}, False),
        ({"any_message": {"contains": "support"}}, True),
        ({"params": {"stream": False, "temperature": 1.0}}, True),
        ({"params": {"max_tokens": 4096}}, True),
        ({"params": {"stream": True}}, False),
        ({"params": {"stop": []}}, True),
        ({"headers": {"X-Test-Case": "refund"}}, True),
        ({"headers": {"X-Test-Case": "other"}}, False),
    ],
)
def test_each_condition_of_a_match(match: dict[str, Any], fits: bool) -> None:
    s = script({"match": match, "reply": {"content": "scripted"}})
    assert (reply_to(s, headers={"x-test-case": "refund"}) == "scripted") is fits


def test_rules_are_tried_in_order_and_the_first_fitting_one_answers() -> None:
    s = script(
        {"match": {"last_user": {"contains": "refund"}}, "reply": {"content": "first"}},
        {"match": {"last_user": {"contains": "order"}}, "reply": {"content": "second"}},
        {"reply": {"content": "third"}},
    )
    assert reply_to(s) == "second"


def test_times_limits_a_rule_and_then_the_next_one_answers() -> None:
    s = script({"reply": {"content": "once"}, "times": 1}, {"reply": {"content": "always"}})
    assert [reply_to(s) for _ in range(3)] == ["once", "always", "always"]


def test_a_sequence_gives_one_reply_per_call_and_is_then_used_up() -> None:
    s = script({"replies": [{"error": {"status": 500}}, {"error": {"status": 503}}, {"content": "ok"}]})
    answers = [reply_to(s) for _ in range(4)]
    assert [getattr(a, "status", a) for a in answers] == [500, 503, "ok", None]


def test_a_last_user_match_needs_a_user_message() -> None:
    only_assistant = REQUEST._replace(messages=(Message("assistant", "hi"),))
    s = script({"match": {"last_user": {"contains": "h"}}, "reply": {"content": "x"}})
    assert reply_to(s, only_assistant) is None


def test_clear_removes_every_rule() -> None:
    s = script({"reply": {"content": "x"}})
    assert s.clear() == 1
    assert reply_to(s) is None


def test_timing_paces_a_reply() -> None:
    s = script({"reply": {"content": "x", "timing": {"delay_ms": 5, "first_token_ms": 200, "token_ms": 30}}})
    found = s.answer(REQUEST, {})
    assert found is not None
    pacing = found[1].pacing
    assert pacing.delay_ms == 5
    assert [pacing.before_event(position) for position in range(4)] == [0.0, 0.2, 0.03, 0.03]


@pytest.mark.parametrize("stop", ["\n", ["\n"]])
def test_a_stop_param_matches_whether_written_as_a_string_or_a_list(stop: Any) -> None:
    with_stop = REQUEST._replace(stop=("\n",))
    s = script({"match": {"params": {"stop": stop}}, "reply": {"content": "scripted"}})
    assert reply_to(s, with_stop) == "scripted"
    assert reply_to(s) is None


MISMATCHES = [
    ({"model": "jamba-large"}, ["model is 'jamba-instruct-preview', the rule wants 'jamba-large'"]),
    (
        {"last_user": {"equals": "Hi", "contains": "refund", "regex": "^Where"}},
        ["the last user message is 'Where is my order 1234?', not 'Hi'",
         "the last user message does not contain 'refund'"],
    ),
    ({"any_message": {"role": "system", "regex": "^bot"}}, ["no system message is matching /^bot/"]),
    ({"params": {"stream": True, "n": 1}}, ["stream is False, the rule wants True"]),
    (
        {"headers": {"X-Test-Case": "other", "X-Tenant": "acme"}},
        ["header x-test-case is 'refund', the rule wants 'other'",
         "header x-tenant not sent, the rule wants 'acme'"],
    ),
    ({"model": "jamba-instruct-preview", "last_user": {"contains": "order"}}, []),
]  # fmt: skip


@pytest.mark.parametrize(("match", "reasons"), MISMATCHES)
def test_a_rule_says_why_it_does_not_fit(match: dict[str, Any], reasons: list[str]) -> None:
    (rule,) = script({"match": match, "reply": {"content": "x"}}).rules()
    assert rule.explain(REQUEST, {"x-test-case": "refund"}) == reasons
    assert rule.match.fits(Conversation(REQUEST, {"x-test-case": "refund"})) is (not reasons)


# An agent loop's second request: the user asked, the assistant called a tool, the tool answered.
AGENT = REQUEST._replace(
    messages=(
        Message("user", "Where is order 1234?"),
        Message("assistant", 'lookup_order({"id": "1234"})'),
        Message("tool", '{"status": "shipped"}', "call-1"),
    ),
    tools=(Tool("lookup_order", "Find an order", "{}"), Tool("refund", "Refund an order", "{}")),
)


@pytest.mark.parametrize(
    ("match", "first_turn", "after_the_result"),
    [
        ({"turn": 0}, True, False),
        ({"turn": 1}, False, True),
        ({"last_role": "user"}, True, False),
        ({"last_role": "tool"}, False, True),
        ({"tool_result": {"contains": "shipped"}}, False, True),
        ({"tool_result": {"equals": '{"status": "shipped"}'}}, False, True),
        ({"tool_result": {"regex": r'"status": "(shipped|lost)"'}}, False, True),
        ({"tool_result": {"contains": "lost"}}, False, False),
        ({"tool_result": {"contains": "order"}}, False, False),  # the user's message says it: not a result
        ({"tool_result": {"equals": "Where is order 1234?"}}, False, False),
        ({"tool_result": {"tool_call_id": "call-1"}}, False, True),
        ({"tool_result": {"tool_call_id": "call-2"}}, False, False),
        ({"tool_result": {"tool_call_id": "call-1", "contains": "lost"}}, False, False),
        ({"tools": ["lookup_order"]}, True, True),
        ({"tools": ["lookup_order", "refund"]}, True, True),
        ({"tools": ["cancel"]}, False, False),
    ],
)
def test_each_condition_on_the_conversation(
    match: dict[str, Any], first_turn: bool, after_the_result: bool
) -> None:
    s = script({"match": match, "reply": {"content": "scripted"}})
    first = AGENT._replace(messages=AGENT.messages[:1])
    assert (reply_to(s, first) == "scripted") is first_turn
    assert (reply_to(s, AGENT) == "scripted") is after_the_result


def test_an_agent_loop_scripted_by_turn_does_not_call_the_tool_again() -> None:
    s = script(
        {
            "match": {"turn": 0, "tools": ["lookup_order"]},
            "reply": {"tool_calls": [{"name": "lookup_order"}]},
        },
        {
            "match": {"last_role": "tool", "tool_result": {"contains": "shipped"}},
            "reply": {"content": "Shipped."},
        },
    )
    first = s.answer(AGENT._replace(messages=AGENT.messages[:1]), {})
    assert first is not None and first[1].tool_calls
    second = s.answer(AGENT, {})
    assert second is not None and second[1].content == "Shipped."
    follow_up = AGENT._replace(
        messages=(*AGENT.messages, Message("assistant", "Shipped."), Message("user", "Thanks"))
    )
    assert s.answer(follow_up, {}) is None  # turn 2, the user spoke last: neither rule fits


CONVERSATION_MISMATCHES = [
    ({"turn": 0}, ["it is turn 1 (1 assistant message before), the rule wants turn 0"]),
    ({"turn": 3}, ["it is turn 1 (1 assistant message before), the rule wants turn 3"]),
    ({"last_role": "user"}, ["the last message is the tool's, the rule wants the user's"]),
    ({"tool_result": {"contains": "lost"}}, ["no tool result is containing 'lost'"]),
    (
        {"tool_result": {"tool_call_id": "call-9", "regex": "^x"}},
        ["no tool result is matching /^x/, answering call 'call-9'"],
    ),
    (
        {"tools": ["cancel", "refund"]},
        ["the request does not offer the tool 'cancel' (it offers 'lookup_order', 'refund')"],
    ),
]


@pytest.mark.parametrize(("match", "reasons"), CONVERSATION_MISMATCHES)
def test_a_rule_says_why_the_conversation_does_not_fit(match: dict[str, Any], reasons: list[str]) -> None:
    (rule,) = script({"match": match, "reply": {"content": "x"}}).rules()
    assert rule.explain(AGENT, {}) == reasons


def test_a_tool_result_condition_needs_a_tool_message() -> None:
    (rule,) = script({"match": {"tool_result": {"contains": "x"}}, "reply": {"content": "x"}}).rules()
    assert rule.explain(REQUEST, {}) == ["there is no tool result"]


@pytest.mark.parametrize(
    "match",
    [{"turn": -1}, {"turn": "1"}, {"last_role": "bot"}, {"tool_result": {}},
     {"tool_result": {"role": "tool"}}, {"tools": []}, {"tools": ["a", "a"]}, {"tools": "lookup_order"},
     {"tool_result": {"regex": "(a)\\1"}}],
)  # fmt: skip
def test_a_bad_conversation_condition_is_refused_when_loaded(match: dict[str, Any]) -> None:
    with pytest.raises(FixtureError, match="rule 1"):
        script({"match": match, "reply": {"content": "x"}})


def test_the_closest_rules_come_first_and_used_up_rules_say_so() -> None:
    s = script(
        {"name": "far", "match": {"model": "m", "last_user": {"contains": "zzz"}}, "reply": {"content": "x"}},
        {"name": "near", "match": {"model": "m"}, "reply": {"content": "x"}},
        {"name": "once", "reply": {"content": "x"}, "times": 1},
    )
    assert s.answer(REQUEST, {}) is not None  # "once" answers, and is used up
    closest = [(rule.name, reasons) for rule, reasons in s.closest(REQUEST, {}, limit=2)]
    assert closest == [
        ("near", ["model is 'jamba-instruct-preview', the rule wants 'm'"]),
        ("once", ["used up (answered 1 time)"]),
    ]


def test_reload_replaces_the_loaded_rules_and_keeps_the_added_ones() -> None:
    s = script({"name": "old", "reply": {"content": "old"}, "times": 1})
    s.add(rules_from({"rules": [{"name": "added", "reply": {"content": "added"}}]}, "admin API"))
    assert reply_to(s) == "old"
    s.reload(rules_from({"rules": [{"name": "new", "reply": {"content": "new"}}]}, "test.json"))
    assert [rule.name for rule in s.rules()] == ["new", "added"]
    assert reply_to(s) == "new"
    s.reset()
    assert [rule.name for rule in s.rules()] == ["new"], "reset goes back to the files' rules"


def test_a_reply_without_content_or_error_is_the_generated_answer_with_its_fault() -> None:
    (rule,) = script({"reply": {"fault": {"kind": "drop_mid_stream", "after_events": 2}}}).rules()
    (reply,) = rule.replies
    assert (reply.content, reply.error) == (None, None)
    assert reply.fault is not None and (reply.fault.kind, reply.fault.after_events) == ("drop_mid_stream", 2)


def test_a_scripted_tool_call_keeps_its_arguments_as_json_text() -> None:
    s = script(
        {
            "reply": {
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"city": "Zürich"}},
                    {"name": "get_time", "arguments": "{not json"},
                    {"name": "get_news"},
                ]
            }
        }
    )
    found = s.answer(REQUEST, {})
    assert found is not None
    assert [(call.name, call.arguments) for call in found[1].tool_calls] == [
        ("get_weather", '{"city": "Zürich"}'),
        ("get_time", "{not json"),
        ("get_news", None),
    ]


def test_a_scope_counts_its_own_calls_of_a_global_rule() -> None:
    s = script({"replies": [{"content": "one"}, {"content": "two"}]})
    assert [reply_to_in(s, "a"), reply_to_in(s, "b"), reply_to_in(s, "a"), reply_to_in(s, None)] == [
        "one", "one", "two", "one",
    ]  # fmt: skip
    assert reply_to_in(s, "a") is None  # used up in scope a only
    assert reply_to_in(s, "b") == "two"


def test_scopes_past_the_limit_forget_the_least_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    s = script({"times": 1, "reply": {"content": "once"}})
    monkeypatch.setattr(s, "MAX_SCOPES", 3)
    for scope in ("a", "b", "c"):
        assert reply_to_in(s, scope) == "once"
    assert reply_to_in(s, "a") is None  # a is used again: b is now the least recently used
    assert reply_to_in(s, "d") == "once"  # a fourth scope: b is forgotten
    assert len(s._scopes) == 3
    assert reply_to_in(s, "b") == "once"  # forgotten: its count starts again


def test_a_rule_added_in_a_scope_is_only_that_scopes() -> None:
    s = script()
    s.add(rules_from({"rules": [{"reply": {"content": "mine"}}]}, "t"), scope="a")
    assert reply_to_in(s, "a") == "mine"
    assert reply_to_in(s, "b") is None and reply_to_in(s, None) is None
    assert [rule["scope"] for rule in s.described("a")] == ["a"]
    assert s.described("b") == [] and s.described() == []


def reply_to_in(s: Script, scope: str | None) -> Any:
    found = s.answer(REQUEST, {}, "studio", scope)
    return None if found is None else found[1].content
