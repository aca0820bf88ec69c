"""The reply decision on its own, without a server or a request object: which of a rule, the
--unmatched error, a --fault-rate draw or the generated answer answers, and the journal's labels.
The plan is complete: a callable reply is called here, a template filled in."""

from __future__ import annotations

from typing import Any

from jamba_emulator.chat.completion import GENERATED, Asked
from jamba_emulator.chat.request import ChatRequest, Message
from jamba_emulator.errors import ScriptedError, Unmatched
from jamba_emulator.script.decision import GENERATE, decide
from jamba_emulator.script.faults import Fault, FaultPlan
from jamba_emulator.script.fixtures import rules_from
from jamba_emulator.script.journal import Labels
from jamba_emulator.script.replies import Reply
from jamba_emulator.script.rules import Script

REQUEST = ChatRequest(
    "jamba-instruct-preview", (Message("user", "Where is my order 1234?"),), 4096, 1.0, 1.0, (), 1, False, 10
)
NO_FAULTS = FaultPlan(0.0, (), 1)


def script(*rules: dict[str, Any]) -> Script:
    return Script(rules_from({"rules": list(rules)}, "test.json"))


def test_no_rules_and_no_faults_generate() -> None:
    assert decide(REQUEST, {}, Script(), NO_FAULTS, "generate") is GENERATE


def test_the_first_fitting_rule_answers_and_is_named() -> None:
    rules = script(
        {"name": "other", "match": {"last_user": {"contains": "refund"}}, "reply": {"content": "no"}},
        {"name": "order", "match": {"last_user": {"contains": "order"}}, "reply": {"content": "Shipped."}},
    )
    plan = decide(REQUEST, {}, rules, NO_FAULTS, "error")
    assert (plan.asked.content, plan.labels, plan.error, plan.fault) == (
        "Shipped.",
        Labels("order"),
        None,
        None,
    )


def test_a_rule_read_headers_by_lower_case_name() -> None:
    rules = script({"name": "h", "match": {"headers": {"X-Tenant": "a"}}, "reply": {"content": "yes"}})
    assert decide(REQUEST, {"x-tenant": "a"}, rules, NO_FAULTS, "error").labels.rule == "h"
    assert isinstance(decide(REQUEST, {"x-tenant": "b"}, rules, NO_FAULTS, "error").error, Unmatched)


def test_a_scripted_error_becomes_the_error_with_its_status_detail_and_headers() -> None:
    rules = script(
        {
            "name": "busy",
            "reply": {"error": {"status": 429, "headers": {"Retry-After": "7"}}, "timing": {"delay_ms": 5}},
        }
    )
    plan = decide(REQUEST, {}, rules, NO_FAULTS, "generate")
    assert isinstance(plan.error, ScriptedError)
    assert (plan.error.status, plan.error.headers(), plan.labels.rule) == (429, {"Retry-After": "7"}, "busy")
    assert plan.pacing.delay_ms == 5  # the delay still comes first (delivery waits it)


def test_a_scripted_fault_is_labelled_with_its_kind() -> None:
    rules = script({"name": "cut", "reply": {"content": "x", "fault": {"kind": "drop_mid_stream"}}})
    plan = decide(REQUEST, {}, rules, NO_FAULTS, "generate")
    assert plan.fault == Fault("drop_mid_stream") and plan.labels.fault == "drop_mid_stream"


def test_unmatched_error_names_the_closest_rules_and_why() -> None:
    rules = script(
        {"name": "refunds", "match": {"last_user": {"contains": "refund"}}, "reply": {"content": "x"}}
    )
    plan = decide(REQUEST, {}, rules, NO_FAULTS, "error")
    assert isinstance(plan.error, Unmatched) and plan.labels == Labels(unmatched=True)
    assert "refunds: the last user message does not contain 'refund'" in str(plan.error)
    assert "There are no rules" in str(decide(REQUEST, {}, Script(), NO_FAULTS, "error").error)


def test_unmatched_generate_falls_through_to_the_generated_answer() -> None:
    rules = script({"match": {"model": "jamba-large"}, "reply": {"content": "x"}})
    assert decide(REQUEST, {}, rules, NO_FAULTS, "generate") is GENERATE


def test_a_drawn_status_is_an_error_with_retry_after_and_labelled_by_status() -> None:
    plan = decide(REQUEST, {}, Script(), FaultPlan(1.0, (503,), 1), "generate")
    assert isinstance(plan.error, ScriptedError)
    assert (plan.error.status, plan.error.headers(), plan.labels) == (
        503,
        {"Retry-After": "1"},
        Labels(fault="503"),
    )
    assert decide(REQUEST, {}, Script(), FaultPlan(1.0, (500,), 1), "generate").error.headers() == {}  # type: ignore[union-attr]


def test_a_drawn_transport_fault_rides_on_the_generated_answer() -> None:
    plan = decide(REQUEST, {}, Script(), FaultPlan(1.0, (Fault("stall", stall_ms=1),), 1), "generate")
    assert plan.error is None and plan.asked == GENERATED
    assert plan.fault == Fault("stall", stall_ms=1) and plan.labels.fault == "stall"


def test_a_rule_answers_before_the_fault_plan_is_drawn() -> None:
    faults, fresh, advanced = (FaultPlan(0.5, (500, 503), 7) for _ in range(3))
    plan = decide(REQUEST, {}, script({"name": "r", "reply": {"content": "ok"}}), faults, "generate")
    assert plan.error is None and plan.labels.rule == "r"
    advanced.draw()
    expected = [fresh.draw() for _ in range(30)]
    assert expected != [advanced.draw() for _ in range(30)]  # one draw taken shows in the sequence
    assert [faults.draw() for _ in range(30)] == expected  # and the scripted request took none


def test_a_callable_reply_is_called_by_the_decision_and_its_answer_planned() -> None:
    (rule,) = rules_from({"rules": [{"name": "made", "reply": {}}]}, "test.json")
    rule.replies = (Reply(call=lambda request: Reply(content=request.messages[-1].content[:5])),)
    plan = decide(REQUEST, {}, Script([rule]), NO_FAULTS, "generate")
    assert (plan.asked, plan.labels, plan.error) == (Asked("Where"), Labels("made"), None)


def test_a_callable_that_fails_is_the_plans_error_not_an_exception() -> None:
    def broken(request: ChatRequest) -> Reply:
        raise ScriptedError(500, "the test's reply callable raised ValueError: no")

    (rule,) = rules_from({"rules": [{"name": "broken", "reply": {}}]}, "test.json")
    rule.replies = (Reply(call=broken),)
    plan = decide(REQUEST, {}, Script([rule]), NO_FAULTS, "generate")
    assert isinstance(plan.error, ScriptedError) and plan.error.status == 500
    assert plan.labels == Labels("broken")


def test_a_template_is_filled_in_by_the_decision() -> None:
    plan = decide(
        REQUEST, {}, script({"reply": {"content": "You said: {{last_user}}"}}), NO_FAULTS, "generate"
    )
    assert plan.asked.content == "You said: Where is my order 1234?"
