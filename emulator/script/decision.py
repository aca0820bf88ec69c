"""Which answer an admitted request gets: the one decision between admission and generation.

In order: the first fitting scripted rule that is not used up (a test's callable reply called
here, its exception carried as the plan's error); else, with `--unmatched error`, a 404 naming the
closest rules; else a draw of `--fault-rate`'s seeded plan (an error status, sent with its
Retry-After, or a transport fault); else the generated answer. The plan is complete: what to
write, the error to answer instead, the pacing and the transport fault, and the journal's labels.
Nothing after it decides anything. Pure: the request's headers come as a mapping looked up by
lower-case name (aiohttp's headers are one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..chat.completion import GENERATED, Asked
from ..chat.request import ChatRequest
from ..errors import EmulatorError, ScriptedError, Unmatched
from .conversation import DEFAULT_SURFACE, Conversation
from .faults import RETRY_AFTER, Fault, FaultPlan
from .journal import NO_LABELS, Labels
from .replies import NO_PACING, Pacing, Reply
from .rules import Script


@dataclass(frozen=True, slots=True)
class Plan:
    """How one request is answered, decided before anything is generated or sent."""

    asked: Asked = GENERATED
    """What the answer says: a content, tool calls, or the generated answer."""
    error: EmulatorError | None = None
    """Answer with this error instead (after the pacing's delay)."""
    pacing: Pacing = NO_PACING
    fault: Fault | None = None
    """The transport fault the answer meets (delivery carries it out)."""
    labels: Labels = NO_LABELS
    """What the journal says of the answer."""


GENERATE = Plan()


def decide(
    request: ChatRequest,
    headers: Mapping[str, str],
    script: Script,
    faults: FaultPlan,
    unmatched: str,
    *,
    surface: str = DEFAULT_SURFACE,
    scope: str | None = None,
) -> Plan:
    """The plan for `request`, which came through `surface` in the test `scope` (None: the
    global one; `unmatched`: "generate" or "error", as --unmatched)."""
    if script:  # the common case, no rules, skips matching
        conversation = Conversation(request, headers, surface)  # one budget for matching and explaining
        scripted = script.answer(conversation, scope=scope)
        if scripted is not None:
            rule, reply = scripted
            return _scripted(rule.name, reply, request)
        if unmatched == "error":
            closest = script.closest(conversation, scope=scope)
            return Plan(
                error=Unmatched([(rule.name, reasons) for rule, reasons in closest]),
                labels=Labels(unmatched=True),
            )
    elif unmatched == "error":
        return Plan(error=Unmatched([]), labels=Labels(unmatched=True))
    if faults and (drawn := faults.draw()) is not None:
        return _drawn(drawn)
    return GENERATE


def _scripted(name: str, reply: Reply, request: ChatRequest) -> Plan:
    if reply.call is not None:  # test code makes this request's reply (testing.py)
        try:
            reply = reply.call(request)
        except EmulatorError as failed:  # the callable's failure, as the testing API words it
            return Plan(error=failed, labels=Labels(rule=name))
    if reply.error is not None:
        scripted = ScriptedError(reply.error.status, reply.error.detail, dict(reply.error.headers))
        return Plan(error=scripted, pacing=reply.pacing, labels=Labels(rule=name))
    asked = Asked(reply.content_for(request), reply.finish_reason, reply.tool_calls)
    kind = reply.fault.kind if reply.fault is not None else None
    return Plan(asked, pacing=reply.pacing, fault=reply.fault, labels=Labels(rule=name, fault=kind))


def _drawn(drawn: int | Fault) -> Plan:
    if isinstance(drawn, Fault):
        return Plan(fault=drawn, labels=Labels(fault=drawn.kind))
    retry_after = RETRY_AFTER.get(drawn)
    error = ScriptedError(drawn, None, {"Retry-After": retry_after} if retry_after else {})
    return Plan(error=error, labels=Labels(fault=str(drawn)))
