"""AWS Bedrock's Converse, the model-agnostic API, for the Jamba models: `POST
/model/{modelId}/converse` and `/converse-stream`, as boto3's `converse` / `converse_stream`
(and LangChain's ChatBedrockConverse, litellm's `bedrock/converse/...`) call them.

The request becomes the chat request by its dialect (contract/converse.py). The answer is
`output.message` with text or `toolUse` blocks, `stopReason` (end_turn, max_tokens,
stop_sequence, tool_use), `usage` and `metrics`; the stream is the event stream of messageStart,
contentBlockStart / Delta / Stop, messageStop, metadata.
Signatures and errors are InvokeModel's (bedrock.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...chat.completion import Choice, Completion, call_id
from ...contract.converse import CONVERSE as CONVERSE_DIALECT
from ...errors import EmulatorError, ErrorItem, ValidationFailed
from .. import eventstream
from ..streaming import encode_json
from . import Handler, Route
from .bedrock import MODEL_PATH, Bedrock, invocation_metrics
from .studio import pieces

if TYPE_CHECKING:
    from ...core import Core

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
    dialect = CONVERSE_DIALECT

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        return [("POST", f"{MODEL_PATH}/converse", chat), ("POST", f"{MODEL_PATH}/converse-stream", chat)]

    def response_body(self, completion: Completion, completion_id: str, wire: Any = None) -> bytes:
        choice = completion.choices[0]
        return encode_json(
            {
                "output": {"message": {"role": "assistant", "content": _blocks(choice, completion_id)}},
                "stopReason": stop_reason(choice),
                "usage": usage(completion),
                "metrics": {"latencyMs": invocation_metrics(completion)["invocationLatency"]},
            }
        )

    def stream_events(self, completion: Completion, completion_id: str, wire: Any = None) -> list[bytes]:
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
