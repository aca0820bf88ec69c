"""Thin aiohttp handlers for the API: parse, call the core, respond."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from aiohttp import hdrs, web

from .admission import Admitted, decode_body
from .auth import authorize
from .chat import ChatRequest
from .core import Core
from .errors import BodyTooLarge, RateLimited, ScriptedError, Unmatched
from .faults import RETRY_AFTER, Fault, malformed
from .ratelimit import describe as describe_limits
from .scripts import GENERATED, NO_PACING, ErrorReply, Reply
from .streaming import HEADERS as STREAM_HEADERS
from .streaming import encode_json, frames, send

CORE = web.AppKey("core", Core)
OPENAPI = web.AppKey("openapi", bytes)
RAW_BODY = web.RequestKey("raw_body", bytes)  # kept for the journal
MATCHED_RULE = web.RequestKey("matched_rule", str)  # the scripted rule that answered, for the journal
FAULT = web.RequestKey("fault", str)  # the fault the answer met, for the journal
STOPPING = web.AppKey("stopping", asyncio.Event)  # set when the server shuts down: stalls end
_STALL_POLL = 0.05  # seconds between checks that a stalled client is still there
IGNORED_FIELDS_HEADER = "X-Emulator-Ignored-Fields"
WARNINGS_HEADER = "X-Emulator-Warnings"
_HEADER_LIST_LIMIT = 20

log = logging.getLogger("jamba_emulator")


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    core = request.config_dict[CORE]
    key = authorize(request.headers.get(hdrs.AUTHORIZATION), core.config.api_keys)
    if core.limiter and (retry_after := core.limiter.admit(key)) is not None:
        raise RateLimited(retry_after, describe_limits(core.limiter.limits))
    admitted = core.admission.admit(decode_body(await read_body(request, core.config.max_body_size)))
    headers = notice_headers(admitted)
    chat = admitted.request
    reply = choose_reply(request, core, chat)
    if reply.pacing.delay_ms:
        await asyncio.sleep(reply.pacing.delay_ms / 1000)
    if reply.error is not None:
        raise ScriptedError(reply.error.status, reply.error.detail, dict(reply.error.headers))
    if reply.content is None:
        completion = core.generator.complete(chat)
    else:
        completion = core.generator.scripted(chat, reply.content, reply.finish_reason)
    completion_id = core.ids.next_id()
    if chat.stream:
        return await stream(request, frames(completion.chunk_bodies(completion_id)), headers, reply)
    body = encode_json(completion.response_body(completion_id))
    if reply.fault is not None:
        return await faulty_json(request, body, headers, reply.fault)
    return web.Response(body=body, content_type="application/json", headers=headers)


def choose_reply(request: web.Request, core: Core, chat: ChatRequest) -> Reply:
    """The reply of the first fitting fixture rule; else, with --unmatched error, a 404 naming the
    closest rules; else a fault from --fault-rate's seeded draw, or the generated answer."""
    if core.script:  # the common case, no fixtures, skips matching (and the header copy)
        headers = {name.lower(): value for name, value in request.headers.items()}
        scripted = core.script.answer(chat, headers)
        if scripted is not None:
            rule, reply = scripted
            request[MATCHED_RULE] = rule.name
            if reply.fault is not None:
                request[FAULT] = reply.fault.kind
            return reply
        if core.config.unmatched == "error":
            raise Unmatched([(rule.name, reasons) for rule, reasons in core.script.closest(chat, headers)])
    elif core.config.unmatched == "error":
        raise Unmatched([])
    if core.faults and (drawn := core.faults.draw()) is not None:
        if isinstance(drawn, int):
            request[FAULT] = str(drawn)
            retry_after = RETRY_AFTER.get(drawn)
            return Reply(error=ErrorReply(drawn, None, {"Retry-After": retry_after} if retry_after else {}))
        request[FAULT] = drawn.kind
        return Reply(fault=drawn)
    return GENERATED


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLarge(limit) from None
    request[RAW_BODY] = raw
    return raw


def notice_headers(admitted: Admitted) -> dict[str, str]:
    """Name what the emulator let pass (unknown fields, role-order warnings), in headers and the log."""
    headers: dict[str, str] = {}
    if admitted.ignored_fields:
        log.info("ignored unknown fields: %s", ", ".join(admitted.ignored_fields))
        headers[IGNORED_FIELDS_HEADER] = _header_list(admitted.ignored_fields)
    for warning in admitted.warnings:
        log.warning("request accepted, but in --strict mode it would fail: %s", warning)
    if admitted.warnings:
        headers[WARNINGS_HEADER] = _header_list(admitted.warnings, separator="; ")
    return headers


def _header_list(values: tuple[str, ...], separator: str = ",") -> str:
    # Field names come from the client: escape anything that may not appear in a header.
    shown = [ascii(value)[1:-1] for value in values[:_HEADER_LIST_LIMIT]]
    if len(values) > _HEADER_LIST_LIMIT:
        shown.append(f"... ({len(values) - _HEADER_LIST_LIMIT} more)")
    return separator.join(shown)


async def stream(
    request: web.Request, events: Iterable[bytes], headers: dict[str, str], reply: Reply = GENERATED
) -> web.StreamResponse:
    response = web.StreamResponse(headers={**STREAM_HEADERS, **headers})
    pause = None if reply.pacing is NO_PACING else reply.pacing.before_event
    fault = reply.fault
    try:
        if fault is None:
            await response.prepare(request)  # the client may be gone before the headers go out
            await send(response, events, pause)
        else:
            parts = list(events)
            at = fault.cut(len(parts))
            if fault.kind == "malformed_chunk":
                parts[at] = malformed(parts[at])
            if not await deliver_with_fault(request, response, parts, at, fault, pause=pause):
                return response
        await response.write_eof()
    except ConnectionError as error:  # the client hung up mid-stream
        log.info("client went away mid-stream: %s", error)
    return response


async def faulty_json(
    request: web.Request, body: bytes, headers: dict[str, str], fault: Fault
) -> web.StreamResponse:
    """A JSON answer broken half-way through its body: dropped, stalled, or cut short (malformed)."""
    half = len(body) // 2
    if fault.kind == "malformed_chunk":
        return web.Response(body=body[:half], content_type="application/json", headers=headers)
    response = web.StreamResponse(headers=headers)
    response.content_type = "application/json"
    response.content_length = len(body)
    try:
        if await deliver_with_fault(request, response, [body[:half], body[half:]], 1, fault):
            await response.write_eof()
    except ConnectionError as error:
        log.info("client went away mid-answer: %s", error)
    return response


async def deliver_with_fault(
    request: web.Request,
    response: web.StreamResponse,
    parts: list[bytes],
    at: int,
    fault: Fault,
    *,
    pause: Callable[[int], float] | None = None,
) -> bool:
    """Send `parts` with `fault` striking before part `at`; False when the connection is gone."""
    if fault.kind == "drop_before_response":
        drop(request)
        return False
    await response.prepare(request)
    await send(response, parts[:at], pause)
    if fault.kind == "drop_mid_stream":
        drop(request)
        return False
    if fault.kind == "stall" and not await stall(request, fault.stall_ms):
        return False
    await send(response, parts[at:], pause, start=at)
    return True


def drop(request: web.Request) -> None:
    """Close the connection: the client sees it end without (the rest of) an answer."""
    if request.transport is not None:
        request.transport.close()


async def stall(request: web.Request, stall_ms: int | None) -> bool:
    """Send nothing for `stall_ms` (None: until the client leaves or the server stops).
    True if the answer should carry on, False if the client (or the server) is gone."""
    loop = asyncio.get_running_loop()
    deadline = None if stall_ms is None else loop.time() + stall_ms / 1000
    stopping = request.config_dict[STOPPING]
    while request.transport is not None and not request.transport.is_closing():
        remaining = _STALL_POLL if deadline is None else deadline - loop.time()
        if remaining <= 0:
            return True
        if stopping.is_set():
            return False
        await asyncio.sleep(min(remaining, _STALL_POLL))
    return False


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.config_dict[OPENAPI], content_type="application/json")
