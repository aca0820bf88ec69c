"""What a scripted rule answers with: a content, tool calls, or an error, each with its pacing
(latency) and, for a 200 answer, a transport fault. GENERATED is "none of them": the answer is
generated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..chat.completion import FinishReason
from ..chat.request import ChatRequest
from .faults import Fault
from .templates import Template


@dataclass(frozen=True, slots=True)
class ErrorReply:
    status: int
    detail: Any
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Pacing:
    """Latency faults of a reply, in milliseconds."""

    delay_ms: int = 0
    first_token_ms: int = 0
    token_ms: int = 0

    def before_event(self, position: int) -> float:
        """Seconds to wait before a stream's event at `position` (0 is the role chunk)."""
        if position == 0:
            return 0.0
        return (self.first_token_ms if position == 1 else self.token_ms) / 1000


NO_PACING = Pacing()


class ScriptedCall(NamedTuple):
    """A tool call a reply makes: `arguments` as JSON text, or None to generate them from the
    tool's parameters schema."""

    name: str
    arguments: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A content, tool calls, an error, or none of them (the generated answer), given with its
    pacing and fault."""

    content: str | None = None
    template: Template | None = None
    """The content's placeholders (templates.py), filled from each request; None: sent as written."""
    finish_reason: FinishReason | None = None
    tool_calls: tuple[ScriptedCall, ...] = ()
    error: ErrorReply | None = None
    pacing: Pacing = NO_PACING
    fault: Fault | None = None
    call: Callable[[ChatRequest], Reply] | None = None
    """Test code (the Python API's `reply(callable)`): makes this request's reply. Trusted, and
    outside the fixture schema and the budget."""

    def content_for(self, request: ChatRequest) -> str | None:
        """The content to send in answer to `request`: the template filled in, or as written."""
        return self.template.render(request) if self.template is not None else self.content


GENERATED = Reply()
