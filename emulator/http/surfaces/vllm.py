"""vLLM's OpenAI-compatible server as self-hosted Jamba runs behind it (`vllm serve
ai21labs/AI21-Jamba-...`), at the root of the port: `POST /v1/chat/completions`, `GET
/v1/models`, `POST /tokenize` and `/detokenize`, `GET /health`, `/ping`, `/version`, and what
vLLM answers on `/v1/embeddings` for a generative model. What it serves and which release it
answers as come from vLLM's own flags (`--vllm-model`, `--served-model-name`, `--vllm-version`,
`--max-model-len`, `--enable-auto-tool-choice`, `--tool-call-parser`; contract/vllm.Served).

The release line decides the wire: 0.8 writes errors flat (`{"object": "error", "message", "type",
"param", "code"}`) and a response's message with `reasoning_content`; 0.11 wraps errors in
`{"error": {...}}` and dumps OpenAI's newer fields (refusal, annotations, audio, function_call,
service_tier, system_fingerprint, token_ids...). Non-streamed answers carry every field, nulls
included (`model_dump()`); stream chunks only the fields vLLM sets. Tool calls come as the
`jamba` parser returns them: ids `chatcmpl-tool-<32 hex>`, arguments re-serialised by Python's
json (", " and ": "; non-ASCII escaped before 0.11), streamed as a name chunk then argument pieces.

Azure's serverless endpoint shares `POST /v1/chat/completions`: a request that sends an `api-key`
header (AI21AzureClient sends one) is Azure's (azure.py), any other is vLLM's.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import zlib
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import TypeAdapter, ValidationError

from ...chat.completion import Choice, Completion
from ...chat.request import Message
from ...contract.dialects import RouteParams
from ...contract.pymodel import adapter_from_schema
from ...contract.vllm import (
    EMPTY,
    JSON_MEDIA,
    VLLM_CHAT,
    VLLM_TEXT,
    Served,
    VllmError,
    Wire,
    bad_request,
    fastapi_body,
    validation_error,
)
from ...errors import EmulatorError, RateLimited, Unauthorized, reason_phrase
from ...resources import SCHEMA_DIR, load_json
from ..body import read_body
from ..streaming import encode_json
from ..vllm_metrics import VllmMetrics
from . import Handler, Route

if TYPE_CHECKING:
    from ...config import Config
    from ...core import Core

CHAT_PATH = "/v1/chat/completions"
DONE = b"data: [DONE]\n\n"
TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}
"""The `type` of an error vLLM itself never answers (a scripted 429 or 503, the emulated rate
limit): the OpenAI client's class names, as vLLM's later releases type theirs."""
VLLM_DIALECT = VLLM_CHAT
GUIDED = ("named", "required")
"""Tool choices vLLM answers with guided JSON instead of its tool parser."""


class Vllm:
    name = "vllm"
    dialect = VLLM_DIALECT
    joins_events = True
    stream_headers: Mapping[str, str] = MappingProxyType({"Content-Type": "text/event-stream; charset=utf-8"})

    def event_gap(self, config: Config) -> float:
        return 0.0

    def __init__(self, served: Served) -> None:
        self.served = served
        """The server this surface answers as (one per app: contract/vllm.Served)."""
        for dialect in (VLLM_CHAT, VLLM_TEXT):  # the request models built at start-up, not by a request
            dialect.model(served.line)
        VLLM_CHAT.messages_adapter(served.line)
        first = served.names[served.first_name]
        self.metrics = VllmMetrics(served.line, served.first_name, served.window(first))

    def routes(self, core: Core, chat: Handler) -> list[Route]:
        served = self.served
        vocabulary = Vocabulary(served.names[served.first_name].vocab_size)
        limit, timeout = core.config.max_body_size, core.config.request_timeout

        async def models(request: web.Request) -> web.StreamResponse:
            self.api_key(request, core.config.api_keys)
            return _json(model_list(served))

        async def version(request: web.Request) -> web.StreamResponse:
            return _json({"version": served.version})

        async def tokenize(request: web.Request) -> web.StreamResponse:
            body = await _json_body(request, served, limit, timeout)
            _validated(TOKENIZE, body, served.line)
            return _json(tokenized(body, served, core, vocabulary))

        async def detokenize(request: web.Request) -> web.StreamResponse:
            body = await _json_body(request, served, limit, timeout)
            read = _validated(DETOKENIZE, body, served.line)
            served.checkpoint(read.model)  # vLLM's 404 for a model it does not serve
            return _json(detokenized(read.tokens, vocabulary))

        async def embeddings(request: web.Request) -> web.StreamResponse:
            self.api_key(request, core.config.api_keys)
            await _json_body(request, served, limit, timeout)
            raise bad_request("The model does not support Embeddings API")

        from ..completions import chat_handler  # noqa: PLC0415  (it imports the surfaces)

        async def metrics(request: web.Request) -> web.StreamResponse:
            body = self.metrics.exposition()
            return web.Response(body=body, headers={hdrs.CONTENT_TYPE: CONTENT_TYPE_LATEST})

        return [
            ("POST", CHAT_PATH, self._metered(chat)),
            ("POST", "/v1/completions", self._metered(chat_handler(self, VLLM_TEXT))),
            ("GET", "/metrics", metrics),
            ("GET", "/v1/models", models),
            ("GET", "/health", _empty),
            ("GET", "/ping", _empty),
            ("POST", "/ping", _empty),
            ("GET", "/version", version),
            ("POST", "/tokenize", tokenize),
            ("POST", "/detokenize", detokenize),
            ("POST", "/v1/embeddings", embeddings),
        ]

    def claims(self, request: web.Request) -> bool:
        return True

    def _metered(self, handler: Handler) -> Handler:
        """The handler, its requests counted in flight, and each answer it gives (the completion
        its surface method wrote, through `_ANSWERED`) counted in /metrics when it ends."""
        metrics = self.metrics

        async def metered(request: web.Request) -> web.StreamResponse:
            started = time.perf_counter()
            slot: list[tuple[Completion, int]] = []
            token = _ANSWERED.set(slot)
            metrics.running.inc()
            try:
                return await handler(request)
            finally:
                metrics.running.dec()
                _ANSWERED.reset(token)
                for completion, max_tokens in slot:
                    metrics.served(completion, max_tokens, time.perf_counter() - started)

        return metered

    def api_key(self, request: web.Request, accepted: Collection[str]) -> str:
        """vLLM's check: with --api-key, `Authorization` must be exactly `Bearer KEY` on /v1 paths
        (401 `{"error": "Unauthorized"}`); without, anything passes."""
        given = request.headers.get(hdrs.AUTHORIZATION, "")
        if accepted and not any(given == f"Bearer {key}" for key in accepted):
            raise VllmError(401, "Unauthorized", "Unauthorized", shape="unauthorized")
        return given.removeprefix("Bearer ").strip()

    def route_params(self, request: web.Request) -> RouteParams:
        content_type = request.headers.get(hdrs.CONTENT_TYPE, "")
        media = content_type.split(";", 1)[0].strip().lower()
        return RouteParams(media=media) if media != JSON_MEDIA else _JSON

    def completion_id(self, request: web.Request, drawn: str, wire: Any) -> str:
        """chatcmpl-<X-Request-Id, else the body's request_id, else 32 hex digits> (vLLM's uuid4
        hex; here drawn from the emulator's id source, so --seed makes them repeat)."""
        prefix = "cmpl-" if wire is not None and wire.text else "chatcmpl-"
        given = request.headers.get("X-Request-Id") or (wire.request_id if wire is not None else None)
        if given:
            return f"{prefix}{given}"
        return prefix + hashlib.blake2b(drawn.encode(), digest_size=16).hexdigest()

    def response_body(self, completion: Completion, completion_id: str, wire: Any = None) -> bytes:
        _answered(completion, wire)
        if wire.text:
            return encode_json(text_body(completion, completion_id, wire))
        return encode_json(response_body(completion, completion_id, wire))

    def stream_events(self, completion: Completion, completion_id: str, wire: Any = None) -> list[bytes]:
        _answered(completion, wire)
        if wire.text:
            return [
                b"data: " + encode_json(chunk) + b"\n\n"
                for chunk in text_chunks(completion, completion_id, wire)
            ] + [DONE]
        return [
            b"data: " + encode_json(chunk) + b"\n\n" for chunk in chunks(completion, completion_id, wire)
        ] + [DONE]

    def broken_event(self, event: bytes) -> bytes:
        payload = event.removeprefix(b"data: ").rstrip(b"\n")
        return b"data: " + payload[: max(1, len(payload) // 2)] + b"\n\n"

    def error_response(self, error: EmulatorError) -> web.Response:
        line = self._line()
        if isinstance(error, VllmError) and error.shape != "error":
            if error.shape == "text":
                return web.Response(status=error.status, text=error.message, content_type="text/plain")
            body = {"detail": error.message} if error.shape == "detail" else {"error": error.message}
            return _json(body, error.status)
        if isinstance(error, Unauthorized):
            return _json({"error": "Unauthorized"}, 401)
        response = _json(error_body(error, line), error.status)
        response.headers.update(error.headers())
        if error.close_connection:
            response.force_close()
        return response

    def interrupted(self, error: EmulatorError) -> bytes | None:
        """vLLM's in-band error (json.dumps: spaces after ':' and ','), then [DONE]."""
        line = self._line()
        inner = {"object": "error", **_inner(error, line)} if line == "0.8" else _inner(error, line)
        return b"data: " + json.dumps({"error": inner}).encode() + b"\n\n" + DONE

    def _line(self) -> str:
        return self.served.line


_JSON = RouteParams()
_TOKENIZE_SCHEMA = load_json(SCHEMA_DIR / "vllm-tokenize-request.schema.json")
TOKENIZE = adapter_from_schema(_TOKENIZE_SCHEMA)
DETOKENIZE = adapter_from_schema(_TOKENIZE_SCHEMA, "DetokenizeRequest")


def _validated(adapter: TypeAdapter[Any], body: Any, line: str) -> Any:
    """A body through vLLM's pydantic model, its errors as FastAPI lists them (at most 1,000)."""
    if body is None:
        missing = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        raise validation_error(line, missing)
    try:
        return adapter.validate_python(body)
    except ValidationError as error:
        items = [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)[:1000]]
        raise validation_error(line, items, 1000, more=error.error_count() > 1000) from None


_ANSWERED: ContextVar[list[tuple[Completion, int]] | None] = ContextVar("vllm_answered", default=None)
"""Where the request being answered puts its completion for /metrics (set by `_metered`)."""


def _answered(completion: Completion, wire: Wire) -> None:
    slot = _ANSWERED.get()
    if slot is not None:
        slot.append((completion, wire.max_tokens))


def error_body(error: EmulatorError, line: str) -> dict[str, Any]:
    inner = _inner(error, line)
    if line == "0.8":
        return {"object": "error", **inner}
    return {"error": inner}


def _inner(error: EmulatorError, line: str) -> dict[str, Any]:
    if isinstance(error, VllmError):
        message, type_, param = error.message, error.type, error.param
    else:
        detail = error.detail()
        message = detail if isinstance(detail, str) else json.dumps(detail)
        type_ = TYPES.get(error.status) or reason_phrase(error.status)
        param = None
        if isinstance(error, RateLimited):
            type_ = "RateLimitError"
    return {"message": message, "type": type_, "param": param, "code": error.status}


def model_list(served: Served) -> dict[str, Any]:
    """GET /v1/models: one card per served name (serving_models.show_available_models)."""
    now = int(time.time())
    return {
        "object": "list",
        "data": [
            {
                "id": name,
                "object": "model",
                "created": now,
                "owned_by": "vllm",
                "root": checkpoint.id,
                "parent": None,
                "max_model_len": served.window(checkpoint),
                "permission": [
                    {
                        "id": f"modelperm-{secrets.token_hex(16)}",
                        "object": "model_permission",
                        "created": now,
                        "allow_create_engine": False,
                        "allow_sampling": True,
                        "allow_logprobs": True,
                        "allow_search_indices": False,
                        "allow_view": True,
                        "allow_fine_tuning": False,
                        "organization": "*",
                        "group": None,
                        "is_blocking": False,
                    }
                ],
            }
            for name, checkpoint in served.names.items()
        ],
    }


def response_body(completion: Completion, completion_id: str, wire: Wire) -> dict[str, Any]:
    """The non-streamed answer, every field vLLM's model_dump() writes, in its order."""
    line = wire.line
    choices = []
    guided = wire.tool_mode in GUIDED  # named or required: the call is guided JSON, not parsed
    for choice in completion.choices:
        calls = _calls(choice, completion_id, line, raw=wire.tool_mode == "named")
        content: str | None = ("" if guided else None) if calls else choice.content
        reasoning, content = _reasoning(wire.reasoning, "".join(choice.reasoning), content)
        if line == "0.8":
            message: dict[str, Any] = {
                "role": "assistant",
                "reasoning_content": reasoning,
                "content": content,
                "tool_calls": calls,
            }
        else:
            message = {
                "role": "assistant",
                "content": content,
                "refusal": None,
                "annotations": None,
                "audio": None,
                "function_call": None,
                "tool_calls": calls,
                "reasoning_content": reasoning,
            }
        body: dict[str, Any] = {
            "index": choice.index,
            "message": message,
            "logprobs": None,
            "finish_reason": "tool_calls" if calls and not guided else _engine_reason(choice),
            "stop_reason": choice.stop_sequence,
        }
        if line != "0.8":
            body["token_ids"] = None
        choices.append(body)
    usage = completion.usage()
    answer: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": wire.model,
        "choices": choices,
    }
    if line != "0.8":
        answer |= {"service_tier": None, "system_fingerprint": None}
    answer["usage"] = {
        "prompt_tokens": usage["prompt_tokens"],
        "total_tokens": usage["total_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "prompt_tokens_details": None,
    }
    answer["prompt_logprobs"] = None
    if line != "0.8":
        answer |= {"prompt_token_ids": None, "kv_transfer_params": None}
    return answer


def text_body(completion: Completion, completion_id: str, wire: Wire) -> dict[str, Any]:
    """POST /v1/completions' answer (CompletionResponse, every field)."""
    usage = completion.usage()
    return {
        "id": completion_id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": wire.model,
        "choices": [
            {
                "index": choice.index,
                "text": (wire.echo or "") + choice.content,
                "logprobs": None,
                "finish_reason": choice.finish_reason,
                "stop_reason": choice.stop_sequence,
                "prompt_logprobs": None,
            }
            for choice in completion.choices
        ],
        "usage": {
            "prompt_tokens": usage["prompt_tokens"],
            "total_tokens": usage["total_tokens"],
            "completion_tokens": usage["completion_tokens"],
            "prompt_tokens_details": None,
        },
    }


def text_chunks(completion: Completion, completion_id: str, wire: Wire) -> list[dict[str, Any]]:
    """POST /v1/completions' stream: the echoed prompt first if asked, a chunk per token, the
    finish (its text empty), then usage when stream_options asks."""
    head = {
        "id": completion_id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": wire.model,
    }
    out: list[dict[str, Any]] = []
    running = _running_usage(completion.prompt_tokens) if wire.continuous_usage else _as_is
    generated = 0
    for choice in completion.choices:
        echoed = [(wire.echo, 0)] if wire.echo else []
        for text, counted in [*echoed, *((token, 1) for token in choice.tokens)]:
            generated += counted
            body = {
                "index": choice.index,
                "text": text,
                "logprobs": None,
                "finish_reason": None,
                "stop_reason": None,
            }
            out.append(running({**head, "choices": [body]}, generated))
        final = {
            "index": choice.index,
            "text": "",
            "logprobs": None,
            "finish_reason": choice.finish_reason,
            "stop_reason": choice.stop_sequence,
        }
        out.append(running({**head, "choices": [final]}, generated))
    if wire.include_usage:
        out.append(_usage_chunk(head, completion))
    return out


def chunks(completion: Completion, completion_id: str, wire: Wire) -> list[dict[str, Any]]:
    """The stream's chunks (exclude_unset: only what vLLM sets), per choice: the role, the
    content token by token (or the jamba parser's tool-call pattern), the finish; then usage
    when stream_options asks for it."""
    line = wire.line
    created = int(time.time())
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": wire.model}
    out: list[dict[str, Any]] = []
    generated = 0
    running = _running_usage(completion.prompt_tokens) if wire.continuous_usage else _as_is
    for choice in completion.choices:
        role = {
            "index": choice.index,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
        first = {**head, "choices": [role]}
        if line != "0.8" and not out:
            first["prompt_token_ids"] = None
        out.append(running(first, generated))
        written = len(choice.tokens) + len(choice.reasoning)
        calls = _calls(choice, completion_id, line, raw=wire.tool_mode == "named")
        deltas: list[dict[str, Any]] = []
        tail: dict[str, Any] = {"content": ""}
        if calls and wire.tool_mode == "named":  # guided: the name on every chunk, no id
            name = calls[0]["function"]["name"]
            deltas = [
                {"tool_calls": [{"index": 0, "function": {"name": name, "arguments": piece}}]}
                for piece in _argument_pieces(calls[0]["function"]["arguments"])
            ]
        elif calls:
            for position, call in enumerate(calls):
                deltas.append(
                    {
                        "tool_calls": [
                            {
                                "id": call["id"],
                                "type": "function",
                                "index": position,
                                "function": {"name": call["function"]["name"]},
                            }
                        ]
                    }
                )
                arguments = call["function"]["arguments"]
                pieces = _argument_pieces(arguments)
                deltas += [
                    {"tool_calls": [{"index": position, "function": {"arguments": piece}}]}
                    for piece in pieces[:-1]
                ]
                last = {"tool_calls": [{"index": position, "function": {"arguments": pieces[-1]}}]}
                if position < len(calls) - 1:
                    deltas.append(last)
                else:
                    tail = last
        else:
            deltas = _text_deltas(wire.reasoning, choice)
        for position, delta in enumerate(deltas, 1):
            body = {"index": choice.index, "delta": delta, "logprobs": None, "finish_reason": None}
            if line != "0.8":
                body["token_ids"] = None
            out.append(running({**head, "choices": [body]}, generated + min(position, written)))
        streamed_reason = "tool_calls" if wire.tool_mode not in GUIDED or line != "0.8" else "stop"
        final = {
            "index": choice.index,
            "delta": tail,
            "logprobs": None,
            "finish_reason": streamed_reason if calls else choice.finish_reason,
            "stop_reason": choice.stop_sequence,
        }
        if line != "0.8":
            final["token_ids"] = None
        generated += written
        out.append(running({**head, "choices": [final]}, generated))
    if wire.include_usage:
        out.append(_usage_chunk(head, completion))
    return out


def _usage_chunk(head: dict[str, Any], completion: Completion) -> dict[str, Any]:
    """The stream's last chunk when stream_options asks for usage: no choices, vLLM's field order."""
    usage = completion.usage()
    counts = {name: usage[name] for name in ("prompt_tokens", "total_tokens", "completion_tokens")}
    return {**head, "choices": [], "usage": counts}


def _running_usage(prompt_tokens: int) -> Callable[[dict[str, Any], int], dict[str, Any]]:
    """`continuous_usage_stats`: every chunk carries the usage so far (the role chunk none
    generated yet)."""

    def with_usage(chunk: dict[str, Any], generated: int) -> dict[str, Any]:
        chunk["usage"] = {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + generated,
            "completion_tokens": generated,
        }
        return chunk

    return with_usage


def _as_is(chunk: dict[str, Any], generated: int) -> dict[str, Any]:
    return chunk


def _reasoning(mode: str, reasoning: str, content: str | None) -> tuple[str | None, str | None]:
    """(reasoning_content, content) as the reasoning mode writes them (contract/vllm.Wire)."""
    if mode == "parsed":
        return reasoning, content or None
    if mode == "dropped":
        return None, content or None
    if mode == "inline":
        return None, f"<think>{reasoning}</think>{content or ''}"
    if mode == "all":
        return content, None
    if mode == "dropped-all":
        return None, None
    return None, content


def _text_deltas(mode: str, choice: Choice) -> list[dict[str, Any]]:
    """A choice's text chunks: the reasoning's (in reasoning_content, or inline between <think>
    tags), then the content's."""
    thinking, answer = list(choice.reasoning), list(choice.tokens)
    if mode == "all":
        thinking, answer = answer, []
    if mode in ("dropped", "dropped-all"):
        thinking = []
        answer = [] if mode == "dropped-all" else answer
    if mode == "inline" and thinking:
        thinking[0] = "<think>" + thinking[0]
        thinking[-1] += "</think>"
        return [{"content": token} for token in [*thinking, *answer]]
    return [{"reasoning_content": token} for token in thinking] + [{"content": token} for token in answer]


def _engine_reason(choice: Choice) -> str:
    """The engine's own reason for a guided call's end: "stop", unless max_tokens cut it."""
    return "length" if choice.finish_reason == "length" else "stop"


def _calls(choice: Choice, completion_id: str, line: str, *, raw: bool = False) -> list[dict[str, Any]]:
    """The tool calls as vLLM writes them: `chatcmpl-tool-<32 hex>`, arguments through json.dumps
    (the jamba parser's, and "required"'s), or as generated (`raw`: a named tool's guided JSON)."""
    calls = []
    for position, call in enumerate(choice.tool_calls):
        digest = hashlib.blake2b(
            f"{completion_id}:{choice.index}:{position}".encode(), digest_size=16
        ).hexdigest()
        try:
            arguments = (
                call.arguments if raw else json.dumps(json.loads(call.arguments), ensure_ascii=line == "0.8")
            )
        except ValueError:
            arguments = call.arguments
        calls.append(
            {
                "id": f"chatcmpl-tool-{digest}",
                "type": "function",
                "function": {"name": call.name, "arguments": arguments},
            }
        )
    return calls


def _argument_pieces(arguments: str) -> list[str]:
    """How the parser streams arguments: the prefix up to the first value, then pieces, the
    closing characters last (diffs of json.dumps of the partial arguments)."""
    if len(arguments) <= 2:
        return [arguments]
    cut = arguments.find(": ") + 2 if ": " in arguments else 1
    pieces = [arguments[:cut]]
    body, end = arguments[cut:-2], arguments[-2:]
    pieces += [body[start : start + 8] for start in range(0, len(body), 8)]
    pieces.append(end)
    return pieces


class Vocabulary:
    """The stand-in tokenizer's ids, per server: each distinct token the emulator's tokenizer
    cuts gets the next free id above the special ones, so /detokenize gives back what /tokenize
    was given; once the vocabulary is full (vocab_size ids), further tokens share ids by a
    checksum and read back as the first token given that id."""

    FIRST = 1000
    """Ids below are special tokens (1 is <|startoftext|>, 518 <|eom|> in Jamba's vocabulary)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: dict[str, int] = {}
        self._pieces: dict[int, str] = {}

    def id_of(self, piece: str) -> int:
        known = self._ids.get(piece)
        if known is not None:
            return known
        if len(self._ids) >= self._size - self.FIRST:  # full: nothing more is kept (bounded)
            return self.FIRST + zlib.crc32(piece.encode("utf-8", "surrogatepass")) % (self._size - self.FIRST)
        made = self._ids[piece] = self.FIRST + len(self._ids)
        self._pieces[made] = piece
        return made

    def piece_of(self, token: int) -> str:
        return self._pieces.get(token, _SPECIAL.get(token, ""))


_SPECIAL = {1: "<|startoftext|>", 2: "<|endoftext|>", 518: "<|eom|>"}


def tokenized(body: Any, served: Served, core: Core, vocabulary: Vocabulary) -> dict[str, Any]:
    """POST /tokenize: the prompt's (or the messages') tokens as the emulator's tokenizer cuts
    them (the messages counted as `usage.prompt_tokens` counts them, the template's tokens
    first), as ids of this server's vocabulary."""
    checkpoint = served.checkpoint(body.get("model"))  # a string or None: the body was validated
    window = served.window(checkpoint)
    if isinstance(body, dict) and isinstance(body.get("prompt"), str):
        if core.tokenizer.count_upto(body["prompt"], window) > window:  # bounded: counting stops past it
            raise bad_request(
                f"the emulator tokenizes at most the model's {window} tokens a request (vLLM tokenizes "
                "any length); send a shorter prompt"
            )
        special = [1] if body.get("add_special_tokens", True) is not False else []
        tokens = special + [vocabulary.id_of(piece) for piece in core.tokenizer.tokenize(body["prompt"])]
    elif isinstance(body, dict) and isinstance(body.get("messages"), list):
        messages = tuple(
            Message(str(m.get("role", "")), m["content"] if isinstance(m.get("content"), str) else "")
            for m in body["messages"]
            if isinstance(m, dict) and (m.get("content") or m.get("role") != "system")
        )
        count = core.admission.count_prompt(messages, [], window)
        pieces = [vocabulary.id_of(piece) for m in messages for piece in core.tokenizer.tokenize(m.content)]
        framing = max(0, count - len(pieces))
        tokens = ([1] + [518] * (framing - 1) if framing else []) + pieces
        tokens = tokens[:count]
    else:  # not reached: the body is one of the two (validated)
        raise bad_request("Either `prompt` or `messages` must be given")
    return {"count": len(tokens), "max_model_len": window, "tokens": tokens}


def detokenized(tokens: list[int], vocabulary: Vocabulary) -> dict[str, Any]:
    """POST /detokenize: the tokens' text (special tokens skipped, as vLLM's default)."""
    return {"prompt": "".join(vocabulary.piece_of(token) for token in tokens if token not in _SPECIAL)}


async def _json_body(request: web.Request, served: Served, limit: int, timeout: float) -> Any:
    """A small route's JSON body (None when none was sent), refused as FastAPI and vLLM's media
    check refuse it."""
    raw = await read_body(request, limit, timeout)
    media = request.headers.get(hdrs.CONTENT_TYPE, "").split(";", 1)[0].strip().lower()
    body = fastapi_body(raw, media, served.line)
    return None if body is EMPTY else body


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=encode_json(body), content_type="application/json")


async def _empty(request: web.Request) -> web.StreamResponse:
    return web.Response(status=200)
