"""The AI21 Studio API, the first surface: `POST /studio/v1/chat/completions` with a Bearer key,
JSON answers, server-sent events, `{"detail": ...}` errors; `GET /studio/v1/models`, the
OpenAPI document, and a 404 that says so for the APIs retired with Jamba's.

The request body is the canonical chat body itself (schemas/chat-request.schema.json); the
answer and its chunks follow schemas/chat-response.schema.json and chat-chunk.schema.json.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Collection, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web

from ...chat.cache import LockedCache
from ...chat.completion import Choice, Completion, FinishReason, call_id
from ...contract.dialects import NO_PARAMS, Dialect, RouteParams
from ...contract.dialects import STUDIO as STUDIO_DIALECT
from ...contract.openapi import bundle, load_document, published_schemas
from ...errors import EmulatorError, Retired, Unauthorized
from ...script.credentials import accepted as is_accepted
from ..streaming import encode_json
from . import Handler, Route, json_error

if TYPE_CHECKING:
    from ...config import Config
    from ...core import Core

PREFIX = "/studio/v1"
"""Where the SDKs put the API (the ai21 SDK's AI21_API_HOST ends with it)."""
CHAT_PATH = f"{PREFIX}/chat/completions"
MODELS_PATH = f"{PREFIX}/models"
OPENAPI_PATH = "/openapi.json"
RETIRED_APIS = (
    "library/files",
    "library/batches",
    "conversational-rag",
    "maestro/runs",
    "assistants",
    "batches",
)
"""The SDKs' APIs under PREFIX retired with the Jamba API: a 404 that says so (errors.Retired)."""
DONE = b"data: [DONE]\n\n"
"""Only `data: ` lines: the official SDKs raise on `event:`, `id:`, `retry:` or comment lines."""


class Studio:
    name = "studio"
    dialect: Dialect = STUDIO_DIALECT
    joins_events = True
    stream_headers: Mapping[str, str] = MappingProxyType(
        {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )

    def event_gap(self, config: Config) -> float:
        return 0.0

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        models = encode_json({"data": [model.info() for model in core.contract.catalog]})
        openapi = encode_json(bundle(load_document(), published_schemas(core.contract)))
        routes: list[Route] = [
            ("POST", CHAT_PATH, chat),
            ("GET", MODELS_PATH, _json(models)),  # no key needed, as the live service
            ("GET", OPENAPI_PATH, _json(openapi)),
        ]
        routes += [("*", f"{PREFIX}/{api}{{rest:(/.*)?}}", _retired) for api in RETIRED_APIS]
        return routes

    def api_key(self, request: web.Request, accepted: Collection[str]) -> str:
        """`Authorization: Bearer <key>`: any non-empty key unless keys are configured."""
        scheme, _, key = request.headers.get(hdrs.AUTHORIZATION, "").strip().partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key or (accepted and not is_accepted(key, accepted)):
            raise Unauthorized
        return key

    def claims(self, request: web.Request) -> bool:
        return True

    def completion_id(self, request: web.Request, drawn: str, wire: Any) -> str:
        return drawn

    def route_params(self, request: web.Request) -> RouteParams:
        return NO_PARAMS  # the body says everything

    def interrupted(self, error: EmulatorError) -> bytes | None:
        return None  # an SSE stream has no error event: the connection closes

    def response_body(self, completion: Completion, completion_id: str, wire: Any = None) -> bytes:
        return encode_json(response_body(completion, completion_id))

    def stream_events(self, completion: Completion, completion_id: str, wire: Any = None) -> list[bytes]:
        """The events, from the completion's template (its events written once, with a stand-in
        id) with this answer's id put in: about a third of the cost of writing them (bench/)."""
        template = _TEMPLATES.get(completion)
        if template is None:
            template = tuple(frames(chunk_bodies(completion, _STAND_IN)))
            _TEMPLATES.put(completion, template, sum(map(len, template)))
        real = completion_id.encode()
        events = [event.replace(_STAND_IN_BYTES, real) for event in template]
        if any(choice.tool_calls for choice in completion.choices):  # their ids hold part of it
            part, real_part = (
                call_id(identity, 0, 0)[5:-4].encode() for identity in (_STAND_IN, completion_id)
            )
            events = [event.replace(part, real_part) for event in events]
        return events

    def broken_event(self, event: bytes) -> bytes:
        """A `data:` event whose JSON is cut in half."""
        payload = event.removeprefix(b"data: ").rstrip(b"\n")
        return b"data: " + payload[: max(1, len(payload) // 2)] + b"\n\n"

    def error_response(self, error: EmulatorError) -> web.Response:
        return json_error(error, encode_json(error_body(error)))


STUDIO = Studio()
_STAND_IN = "chatcmpl-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(29))
"""A completion id no answer can hold (drawn per process), which templates are written with."""
_STAND_IN_BYTES = _STAND_IN.encode()
_TEMPLATES: LockedCache[Completion, tuple[bytes, ...]] = LockedCache(16 * 1024 * 1024)
"""Stream templates by completion, at most 16 MiB of them (completions repeat: the generator
caches them by request)."""


def error_body(error: EmulatorError) -> dict[str, Any]:
    """FastAPI's shape, as the real service answered: `{"detail": str | [{loc, msg, type}]}`."""
    return {"detail": error.detail()}


def frames(chunks: list[dict[str, Any]]) -> Iterator[bytes]:
    """Every event of a stream, [DONE] last."""
    for chunk in chunks:
        yield b"data: " + encode_json(chunk) + b"\n\n"
    yield DONE


def _json(body: bytes) -> Handler:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    return answer


async def _retired(request: web.Request) -> web.StreamResponse:
    raise Retired(request.path, f"POST {CHAT_PATH} and GET {MODELS_PATH}")


def response_body(completion: Completion, completion_id: str) -> dict[str, Any]:
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
            for choice in completion.choices
        ],
        "usage": completion.usage(),
    }


def chunk_bodies(completion: Completion, completion_id: str) -> list[dict[str, Any]]:
    """The streamed chunks (schemas/chat-chunk.schema.json): role, one per token, finish + usage."""
    bodies: list[dict[str, Any]] = []
    for choice in completion.choices:
        if choice.tool_calls:  # as OpenAI streams them: id and name first, then the arguments
            calls = [
                {"index": position, **wire, "function": {**wire["function"], "arguments": ""}}
                for position, wire in enumerate(_wire_calls(choice, completion_id))
            ]
            bodies.append(
                _chunk(completion_id, choice.index, {"role": "assistant", "tool_calls": calls}, None)
            )
            for position, call in enumerate(choice.tool_calls):
                for piece in pieces(call.arguments):
                    delta = {"tool_calls": [{"index": position, "function": {"arguments": piece}}]}
                    bodies.append(_chunk(completion_id, choice.index, delta, None))
            bodies.append(_chunk(completion_id, choice.index, {}, choice.finish_reason))
            continue
        bodies.append(_chunk(completion_id, choice.index, {"role": "assistant"}, None))
        bodies.extend(
            _chunk(completion_id, choice.index, {"content": token}, None) for token in choice.tokens
        )
        bodies.append(_chunk(completion_id, choice.index, {"content": ""}, choice.finish_reason))
    bodies[-1]["usage"] = completion.usage()
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


def pieces(text: str, size: int = 16) -> list[str]:
    """A tool call's arguments as streamed, a few characters an event."""
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def _chunk(
    completion_id: str, index: int, delta: dict[str, Any], finish_reason: FinishReason | None
) -> dict[str, Any]:
    return {
        "id": completion_id,
        # Not in the real service's chunks: the OpenAI client's stream() helper keeps only
        # chunks that say so (issue 26), and the ai21 SDK ignores it.
        "object": "chat.completion.chunk",
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
