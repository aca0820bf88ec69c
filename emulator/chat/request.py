"""The canonical chat request: what every surface's body becomes once admitted, and what the
answer, the script and the journal read. Named tuples: immutable, and made and hashed in C,
which matters on the hot path (a frozen dataclass of nine fields took 1.3 µs to make; bench/).
"""

from __future__ import annotations

from typing import NamedTuple


class Message(NamedTuple):
    role: str
    """One of the request schema's roles (schemas/chat-request.schema.json: the schema is the list)."""
    content: str
    """The text that counts: an assistant's tool calls are written in as `name(arguments)`."""
    tool_call_id: str | None = None
    """A tool message's: the id of the call it answers."""


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
    reasoning: bool = False
    """The model thinks before it answers (Jamba Reasoning 3B): each choice has its reasoning."""
    tool_choice: str | None = None
    """A tool the answer must call (vLLM's named `tool_choice`), "" for whichever fits best
    (`"required"`); None: the answer calls tools when the conversation asks for them."""
