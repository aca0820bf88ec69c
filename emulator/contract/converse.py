"""Bedrock Converse's request as the chat body: its own schema (schemas/converse-request.schema.json,
compiled at start-up by `Contract`), then `system` blocks a system message, text blocks the
message's content, `toolUse` blocks an assistant's tool calls, `toolResult` blocks tool messages,
`inferenceConfig` max_tokens / temperature / top_p / stop, `toolConfig` the tools.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import ErrorItem, ValidationFailed
from .decoding import Decoded, decode
from .dialects import RouteParams, platform_model

if TYPE_CHECKING:
    from .schema import Contract

SCHEMA = "converse-request.schema.json"
SHOWN = 5
CHECKED = 100
"""The Converse schema's violations listed (the message names them) and looked for, at most."""


@dataclass(frozen=True, slots=True)
class ConverseBody:
    name: str = "converse"
    platform: str = "bedrock"
    schema: str = SCHEMA

    def chat_body(self, raw: bytes, params: RouteParams, contract: Contract) -> Decoded:
        model = platform_model(contract.catalog, self.platform, params.model or "")
        decoded = decode(raw)
        contract.check(self.schema, decoded, listed=SHOWN, found_at_most=CHECKED)
        return Decoded(chat_request(decoded.body, model, bool(params.stream)), decoded.readable)


CONVERSE = ConverseBody()


def chat_request(body: Mapping[str, Any], model: str, stream: bool) -> dict[str, Any]:
    """The chat request a (schema-valid) Converse request asks for."""
    messages: list[dict[str, Any]] = []
    system = "\n".join(block["text"] for block in body.get("system", ()) if "text" in block)
    if system:
        messages.append({"role": "system", "content": system})
    for position, message in enumerate(body["messages"]):
        messages += _messages(message, position)
    chat: dict[str, Any] = {
        **body.get("additionalModelRequestFields", {}),
        "model": model,
        "messages": messages,
    }
    config = body.get("inferenceConfig", {})
    for converse_name, name in (
        ("maxTokens", "max_tokens"),
        ("temperature", "temperature"),
        ("topP", "top_p"),
    ):
        if converse_name in config:
            chat[name] = config[converse_name]
    if "stopSequences" in config:
        chat["stop"] = config["stopSequences"]
    if "toolConfig" in body:
        chat["tools"] = [_tool(tool["toolSpec"]) for tool in body["toolConfig"]["tools"]]
    chat["stream"] = stream
    return chat


def _messages(message: Mapping[str, Any], position: int) -> list[dict[str, Any]]:
    blocks = message["content"]
    where = ("body", "messages", position, "content")
    text = "".join(block["text"] for block in blocks if "text" in block)
    if message["role"] == "assistant":
        uses = [(index, block["toolUse"]) for index, block in enumerate(blocks) if "toolUse" in block]
        if not uses:
            return [{"role": "assistant", "content": text}]
        calls = [
            {
                "id": use["toolUseId"],
                "type": "function",
                "function": {
                    "name": use["name"],
                    "arguments": _json(use["input"], (*where, index, "toolUse", "input")),
                },
            }
            for index, use in uses
        ]
        return [{"role": "assistant", "content": text or None, "tool_calls": calls}]
    results = [
        {
            "role": "tool",
            "tool_call_id": block["toolResult"]["toolUseId"],
            "content": _result_text(block["toolResult"], (*where, index, "toolResult", "content")),
        }
        for index, block in enumerate(blocks)
        if "toolResult" in block
    ]
    if text or not results:
        results.append({"role": "user", "content": text})
    return results


def _result_text(result: Mapping[str, Any], where: tuple[Any, ...]) -> str:
    return "\n".join(
        part["text"] if "text" in part else _json(part["json"], (*where, index, "json"))
        for index, part in enumerate(result["content"])
    )


NESTING = 255
"""Levels a toolUse input or a toolResult json may nest (as arguments, they are written as JSON)."""


def _json(value: Any, where: tuple[Any, ...]) -> str:
    """`value` as JSON text, or a ValidationException naming `where` if it nests past NESTING."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, RecursionError):
        pass
    try:
        if _depth(value) <= NESTING:
            return json.dumps(value, separators=(",", ":"))  # a lone surrogate: Python's json writes it
    except RecursionError:
        pass
    raise ValidationFailed(
        [ErrorItem(where, f"nested more than {NESTING} levels deep", "value_error.nesting")]
    )


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            pending.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            pending.extend((child, depth + 1) for child in node)
    return deepest


def _tool(spec: Mapping[str, Any]) -> dict[str, Any]:
    function = {"name": spec["name"], "parameters": spec["inputSchema"]["json"]}
    if "description" in spec:
        function["description"] = spec["description"]
    return {"type": "function", "function": function}


