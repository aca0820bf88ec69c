"""The chat completion's values inside the emulator and their wire shapes.

The values are named tuples: immutable like frozen dataclasses, and made and hashed in C, which
matters on the hot path (a frozen dataclass of nine fields took 1.3 µs to make; bench/, issue 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypedDict

Role = Literal["user", "assistant", "system"]
FinishReason = Literal["stop", "length", "tool_calls"]


class UsageBody(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Message(NamedTuple):
    role: str
    content: str
    """The text that counts: an assistant's tool calls are written in as `name(arguments)`."""


class Tool(NamedTuple):
    """A function the model may call (`tools`)."""

    name: str
    description: str
    parameters: str
    """Its parameters' JSON Schema, as canonical JSON (hashable; "{}" when none was given)."""


class ToolResult(NamedTuple):
    """A tool message answering a call of the latest assistant turn, with the call it answers."""

    name: str
    arguments: str
    """The call's arguments, as the assistant message sent them (JSON text)."""
    content: str


class ChatRequest(NamedTuple):
    """A request that passed validation, with every default filled in.

    `messages` holds only the messages that count (a system message with empty content is
    ignored, as the real service does).
    """

    model: str
    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float
    top_p: float
    stop: tuple[str, ...]
    n: int
    stream: bool
    prompt_tokens: int
    tools: tuple[Tool, ...] = ()
    documents: tuple[str, ...] = ()
    """The documents' text as counted (content, then metadata)."""
    json_mode: bool = False
    """response_format {"type": "json_object"}: the content is a JSON object."""
    results: tuple[ToolResult, ...] = ()
    """The tool messages that end the conversation, each with the call it answers."""


class ToolCall(NamedTuple):
    """A call the answer makes (its id is given when the answer is sent: see call_id)."""

    name: str
    arguments: str
    """JSON text that validates against the tool's parameters schema."""


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

    @property
    def content(self) -> str:
        return "".join(self.tokens)


class Completion(NamedTuple):
    choices: tuple[Choice, ...]
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return sum(len(choice.tokens) for choice in self.choices)

    def usage(self) -> UsageBody:
        completion = self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }

    def response_body(self, completion_id: str) -> dict[str, Any]:
        """The non-streaming 200 body (schemas/chat-response.schema.json)."""
        return {
            "id": completion_id,
            "choices": [
                {
                    "index": choice.index,
                    "message": _message(choice, completion_id),
                    "logprobs": None,  # never filled: the SDK and the server disagree on its shape
                    "finish_reason": choice.finish_reason,
                }
                for choice in self.choices
            ],
            "usage": self.usage(),
        }

    def chunk_bodies(self, completion_id: str) -> list[dict[str, Any]]:
        """The streamed chunks (schemas/chat-chunk.schema.json): role, one per token, finish + usage."""
        bodies: list[dict[str, Any]] = []
        for choice in self.choices:
            if choice.tool_calls:  # as OpenAI streams them: id and name first, then the arguments
                calls = [
                    {"index": position, **wire, "function": {**wire["function"], "arguments": ""}}
                    for position, wire in enumerate(_wire_calls(choice, completion_id))
                ]
                bodies.append(
                    _chunk(completion_id, choice.index, {"role": "assistant", "tool_calls": calls}, None)
                )
                for position, call in enumerate(choice.tool_calls):
                    for piece in _pieces(call.arguments):
                        delta = {"tool_calls": [{"index": position, "function": {"arguments": piece}}]}
                        bodies.append(_chunk(completion_id, choice.index, delta, None))
                bodies.append(_chunk(completion_id, choice.index, {}, choice.finish_reason))
                continue
            bodies.append(_chunk(completion_id, choice.index, {"role": "assistant"}, None))
            bodies.extend(
                _chunk(completion_id, choice.index, {"content": token}, None) for token in choice.tokens
            )
            bodies.append(_chunk(completion_id, choice.index, {"content": ""}, choice.finish_reason))
        bodies[-1]["usage"] = self.usage()
        return bodies


def _message(choice: Choice, completion_id: str) -> dict[str, Any]:
    if choice.tool_calls:
        return {"role": "assistant", "content": None, "tool_calls": _wire_calls(choice, completion_id)}
    return {"role": "assistant", "content": choice.content}


def _wire_calls(choice: Choice, completion_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": call_id(completion_id, choice.index, position),
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for position, call in enumerate(choice.tool_calls)
    ]


def _pieces(text: str, size: int = 16) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def _chunk(
    completion_id: str, index: int, delta: dict[str, Any], finish_reason: FinishReason | None
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
