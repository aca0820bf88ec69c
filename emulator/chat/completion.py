"""The canonical chat completion: what the answer wing makes and each surface writes in its
wire shape (http/surfaces/). Named tuples where they can be (made and hashed in C: see request.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, TypedDict

FinishReason = str
"""One of schemas/chat-response.schema.json's `FinishReason` enum (the schema is the list; the
response tests validate every answer against it)."""


class UsageBody(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ToolCall(NamedTuple):
    """A call the answer makes (its id is given when the answer is sent: see call_id)."""

    name: str
    arguments: str
    """JSON text that validates against the tool's parameters schema."""


class Asked(NamedTuple):
    """What the answer is to say, as decided before it is written (script/decision.py): a scripted
    content, scripted tool calls (arguments as JSON text, or None: written for the tool's schema),
    or neither: the generated answer."""

    content: str | None = None
    finish_reason: FinishReason | None = None
    """Replaces `stop` for a scripted content that neither max_tokens nor a stop sequence cut."""
    tool_calls: tuple[tuple[str, str | None], ...] = ()


GENERATED = Asked()


def call_id(completion_id: str, index: int, position: int) -> str:
    """A tool call's id: new with every answer, as the completion id it is taken from."""
    return f"call_{completion_id.removeprefix('chatcmpl-')[:20]}{index:02d}{position:02d}"


@dataclass(frozen=True, slots=True)
class Choice:  # not a named tuple: its field `index` would hide tuple.index
    index: int
    tokens: tuple[str, ...]
    finish_reason: FinishReason
    tool_calls: tuple[ToolCall, ...] = ()
    """When the answer calls tools: the calls (content is then null, and `tokens` counts them)."""
    stop_sequence: str | None = None
    """The stop sequence of the request that ended it, if one did (finish_reason is then "stop")."""
    reasoning: tuple[str, ...] = ()
    """A reasoning model's thinking, written before the answer: its tokens (counted with it)."""

    @property
    def content(self) -> str:
        return "".join(self.tokens)


class Completion(NamedTuple):
    choices: tuple[Choice, ...]
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return sum(len(choice.tokens) + len(choice.reasoning) for choice in self.choices)

    def usage(self) -> UsageBody:
        completion = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }
