"""Which reply answers an admitted request: the one decision between admission and generation.

In order: the first fitting scripted rule that is not used up; else, with `--unmatched error`,
a 404 naming the closest rules; else a draw of `--fault-rate`'s seeded plan (an error status,
sent with its Retry-After, or a transport fault); else the generated answer. Pure: the
request's headers come as a mapping looked up by lower-case name (aiohttp's headers are one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..chat.request import ChatRequest
from ..errors import EmulatorError, ScriptedError, Unmatched
from .conversation import Conversation
from .faults import RETRY_AFTER, Fault, FaultPlan
from .replies import GENERATED, Reply
from .rules import Script


@dataclass(frozen=True, slots=True)
class Plan:
    """How one request is answered, decided before anything is generated or sent."""

    reply: Reply = GENERATED
    """The content or tool calls to send (none: generate them), with pacing and fault."""
    error: EmulatorError | None = None
    """Answer with this error instead (after the reply's pacing delay)."""
    rule: str | None = None
    """The journal's label: the scripted rule that answered."""
    fault: str | None = None
    """The journal's label: the fault kind met, or the status a --fault-rate draw answered."""
    unmatched: bool = False
    """The journal's label: no rule answered, and --unmatched error made that a 404."""


GENERATE = Plan()


def decide(
    request: ChatRequest,
    headers: Mapping[str, str],
    script: Script,
    faults: FaultPlan,
    unmatched: str,
    *,
    surface: str = "studio",
    scope: str | None = None,
) -> Plan:
    """The plan for `request`, which came through `surface` in the test `scope` (None: the
    global one; `unmatched`: "generate" or "error", as --unmatched)."""
    if script:  # the common case, no rules, skips matching
        conversation = Conversation(request, headers, surface)  # one budget for matching and explaining
        scripted = script.answer(conversation, scope=scope)
        if scripted is not None:
            rule, reply = scripted
            return _scripted(rule.name, reply)
        if unmatched == "error":
            closest = script.closest(conversation, scope=scope)
            return Plan(error=Unmatched([(rule.name, reasons) for rule, reasons in closest]), unmatched=True)
    elif unmatched == "error":
        return Plan(error=Unmatched([]), unmatched=True)
    if faults and (drawn := faults.draw()) is not None:
        return _drawn(drawn)
    return GENERATE


def scripted_error(reply: Reply) -> ScriptedError | None:
    """The error a reply answers with (None: it answers 200)."""
    if reply.error is None:
        return None
    return ScriptedError(reply.error.status, reply.error.detail, dict(reply.error.headers))


def _scripted(name: str, reply: Reply) -> Plan:
    if (error := scripted_error(reply)) is not None:
        return Plan(reply=reply, error=error, rule=name)
    return Plan(reply=reply, rule=name, fault=reply.fault.kind if reply.fault is not None else None)


def _drawn(drawn: int | Fault) -> Plan:
    if isinstance(drawn, Fault):
        return Plan(reply=Reply(fault=drawn), fault=drawn.kind)
    retry_after = RETRY_AFTER.get(drawn)
    error = ScriptedError(drawn, None, {"Retry-After": retry_after} if retry_after else {})
    return Plan(error=error, fault=str(drawn))
