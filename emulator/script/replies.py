"""What a scripted rule answers with: a content, tool calls, or an error, each with its pacing
(latency) and, for a 200 answer, a transport fault. GENERATED is "none of them": the answer is
generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..chat.completion import FinishReason
from .faults import Fault


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
    finish_reason: FinishReason | None = None
    tool_calls: tuple[ScriptedCall, ...] = ()
    error: ErrorReply | None = None
    pacing: Pacing = NO_PACING
    fault: Fault | None = None


GENERATED = Reply()
