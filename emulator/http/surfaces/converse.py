"""AWS Bedrock's Converse, the model-agnostic API, for the Jamba models: `POST
/model/{modelId}/converse` and `/converse-stream`, as boto3's `converse` / `converse_stream`
(and LangChain's ChatBedrockConverse, litellm's `bedrock/converse/...`) call them.

The request (schemas/converse-request.schema.json) becomes the chat request: `system` blocks a
system message, text blocks the message's content, `toolUse` blocks an assistant's tool calls,
`toolResult` blocks tool messages, `inferenceConfig` max_tokens / temperature / top_p / stop,
`toolConfig` the tools. The answer is `output.message` with text or `toolUse` blocks,
`stopReason` (end_turn, max_tokens, stop_sequence, tool_use), `usage` and `metrics`; the stream
is the event stream of messageStart, contentBlockStart / Delta / Stop, messageStop, metadata.
Signatures and errors are InvokeModel's (bedrock.py).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import orjson
from aiohttp import web

from ...chat.completion import Choice, Completion, call_id
from ...contract.admission import Decoded, decode
from ...contract.catalog import Catalog
from ...contract.readable import readable as validator_readable
from ...contract.violations import Searcher
from ...errors import EmulatorError, ErrorItem, ValidationFailed
from ...resources import SCHEMA_DIR, load_json
from .. import eventstream
from ..streaming import encode_json
from . import Handler, Route, platform_model
from .bedrock import MODEL_PATH, PLATFORM, Bedrock, invocation_metrics
from .studio import pieces

if TYPE_CHECKING:
    from ...core import Core

SCHEMA = "converse-request.schema.json"
_SHOWN = 5
_CHECKED = 100
"""The Converse schema's violations listed (the message names them) and looked for, at most."""
_FIELDS = {
    "max_tokens": "inferenceConfig.maxTokens",
    "temperature": "inferenceConfig.temperature",
    "top_p": "inferenceConfig.topP",
    "stop": "inferenceConfig.stopSequences",
    "tools": "toolConfig.tools",
}
"""The chat request's fields by the Converse names a ValidationException's message uses."""


class Converse(Bedrock):
    name = "converse"

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        return [("POST", f"{MODEL_PATH}/converse", chat), ("POST", f"{MODEL_PATH}/converse-stream", chat)]

    def chat_body(self, request: web.Request, raw: bytes, catalog: Catalog) -> Decoded:
        model = platform_model(catalog, PLATFORM, request.match_info["model_id"])
        decoded = decode(raw)
        body = validator_readable(decoded.body) if not decoded.readable else decoded.body
        validator, searcher = _checker()
        if not validator.is_valid(body):  # found in bounded time, as the chat request's are
            found = searcher.search(body, listed=_SHOWN, found_at_most=_CHECKED)
            raise ValidationFailed(found.answered())
        return Decoded(chat_request(decoded.body, model, request.path.endswith("-stream")), decoded.readable)

    def response_body(self, completion: Completion, completion_id: str) -> bytes:
        choice = completion.choices[0]
        return encode_json(
            {
                "output": {"message": {"role": "assistant", "content": _blocks(choice, completion_id)}},
                "stopReason": stop_reason(choice),
                "usage": usage(completion),
                "metrics": {"latencyMs": invocation_metrics(completion)["invocationLatency"]},
            }
        )

    def stream_events(self, completion: Completion, completion_id: str) -> list[bytes]:
        choice = completion.choices[0]
        events = [_event("messageStart", {"role": "assistant"})]
        if choice.tool_calls:
            for position, call in enumerate(choice.tool_calls):
                start = {"toolUse": {"toolUseId": tool_use_id(completion_id, position), "name": call.name}}
                events.append(_event("contentBlockStart", {"contentBlockIndex": position, "start": start}))
                events.extend(
                    _event(
                        "contentBlockDelta",
                        {"contentBlockIndex": position, "delta": {"toolUse": {"input": piece}}},
                    )
                    for piece in pieces(call.arguments)
                )
                events.append(_event("contentBlockStop", {"contentBlockIndex": position}))
        else:
            events.extend(
                _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": token}})
                for token in choice.tokens
            )
            events.append(_event("contentBlockStop", {"contentBlockIndex": 0}))
        events.append(_event("messageStop", {"stopReason": stop_reason(choice)}))
        metrics = {"latencyMs": invocation_metrics(completion)["invocationLatency"]}
        events.append(_event("metadata", {"usage": usage(completion), "metrics": metrics}))
        return events

    def error_response(self, error: EmulatorError) -> web.Response:
        if isinstance(error, ValidationFailed):
            error = ValidationFailed([_renamed(item) for item in error.items])
        return super().error_response(error)


CONVERSE = Converse()


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
            return encode_json(value).decode()  # a lone surrogate: Python's json writes it
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


def stop_reason(choice: Choice) -> str:
    if choice.tool_calls:
        return "tool_use"
    if choice.finish_reason == "length":
        return "max_tokens"
    return "stop_sequence" if choice.stop_sequence else "end_turn"


def usage(completion: Completion) -> dict[str, int]:
    counted = completion.usage()
    return {
        "inputTokens": counted["prompt_tokens"],
        "outputTokens": counted["completion_tokens"],
        "totalTokens": counted["total_tokens"],
    }


def tool_use_id(completion_id: str, position: int) -> str:
    """Bedrock's `tooluse_` id for a call, derived from the chat id of the call (chat.call_id)."""
    return "tooluse_" + call_id(completion_id, 0, position).removeprefix("call_")


def _blocks(choice: Choice, completion_id: str) -> list[dict[str, Any]]:
    if choice.tool_calls:
        return [
            {
                "toolUse": {
                    "toolUseId": tool_use_id(completion_id, position),
                    "name": call.name,
                    "input": _parsed(call.arguments),
                }
            }
            for position, call in enumerate(choice.tool_calls)
        ]
    return [{"text": choice.content}]


def _parsed(arguments: str) -> Any:
    return json.loads(arguments)  # JSON the generator (or a fixture) wrote


@functools.cache
def _checker() -> tuple[Any, Searcher]:
    """The Converse schema compiled by jsonschema-rs (on first use), and its bounded searcher."""
    schema = load_json(SCHEMA_DIR / SCHEMA)
    validator = jsonschema_rs.Draft7Validator(schema)
    return validator, Searcher(validator, schema)


def _renamed(item: ErrorItem) -> ErrorItem:
    """The item's location in the Converse request's words: no leading `body`, and the chat
    request's fields by their Converse names (max_tokens: inferenceConfig.maxTokens)."""
    if item.loc[:1] != ("body",) or len(item.loc) < 2:
        return item
    first, *rest = item.loc[1:]
    renamed = _FIELDS.get(first, first) if isinstance(first, str) else first
    return ErrorItem((renamed, *rest), item.msg, item.type)


def _event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    return eventstream.event(event_type, encode_json(payload))
