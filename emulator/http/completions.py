"""Thin aiohttp handlers for the API: parse, call the core, respond."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import hdrs, web

from ..chat.budget import Budget
from ..chat.completion import ChatRequest
from ..contract.admission import Admitted, decode
from ..core import Core
from ..errors import BodyTooLarge, RateLimited, RequestTimeout, ScriptedError, Unmatched
from ..http.auth import authorize
from ..http.delivery import faulty_json, stream
from ..http.exchange import EXCHANGE
from ..http.streaming import encode_json, frames
from ..script.faults import RETRY_AFTER
from ..script.ratelimit import describe as describe_limits
from ..script.rules import GENERATED, ErrorReply, Reply

CORE = web.AppKey("core", Core)
OPENAPI = web.AppKey("openapi", bytes)
MODELS = web.AppKey("models", bytes)
IGNORED_FIELDS_HEADER = "X-Emulator-Ignored-Fields"
WARNINGS_HEADER = "X-Emulator-Warnings"
_HEADER_LIST_LIMIT = 20

log = logging.getLogger("jamba_emulator")


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE]
    key = authorize(request.headers.get(hdrs.AUTHORIZATION), core.config.api_keys)
    if core.limiter and (retry_after := core.limiter.admit(key)) is not None:
        raise RateLimited(retry_after, describe_limits(core.limiter.limits))
    budget = Budget(errors_listed=core.config.max_errors)
    decoded = decode(await read_body(request, core.config.max_body_size, core.config.request_timeout))
    admitted = core.admission.admit(decoded.body, budget, readable=decoded.readable)
    headers = notice_headers(admitted)
    chat = admitted.request
    reply = choose_reply(request, core, chat)
    if reply.pacing.delay_ms:
        await asyncio.sleep(reply.pacing.delay_ms / 1000)
    if reply.error is not None:
        raise ScriptedError(reply.error.status, reply.error.detail, dict(reply.error.headers))
    if reply.content is not None:
        completion = core.generator.scripted(chat, reply.content, reply.finish_reason)
    elif reply.tool_calls:
        completion = core.generator.called(chat, reply.tool_calls, budget)
    else:
        completion = core.generator.complete(chat, budget)
    completion_id = core.ids.next_id()
    if chat.stream:
        return await stream(request, frames(completion.chunk_bodies(completion_id)), headers, reply)
    body = encode_json(completion.response_body(completion_id))
    if reply.fault is not None:
        return await faulty_json(request, body, headers, reply.fault)
    return web.Response(body=body, content_type="application/json", headers=headers or None)


def choose_reply(request: web.Request, core: Core, chat: ChatRequest) -> Reply:
    """The reply of the first fitting fixture rule; else, with --unmatched error, a 404 naming the
    closest rules; else a fault from --fault-rate's seeded draw, or the generated answer."""
    if core.script:  # the common case, no fixtures, skips matching (and the header copy)
        headers = {name.lower(): value for name, value in request.headers.items()}
        scripted = core.script.answer(chat, headers)
        if scripted is not None:
            rule, reply = scripted
            exchange = request[EXCHANGE]
            exchange.rule = rule.name
            if reply.fault is not None:
                exchange.fault = reply.fault.kind
            return reply
        if core.config.unmatched == "error":
            raise Unmatched([(rule.name, reasons) for rule, reasons in core.script.closest(chat, headers)])
    elif core.config.unmatched == "error":
        raise Unmatched([])
    if core.faults and (drawn := core.faults.draw()) is not None:
        if isinstance(drawn, int):
            request[EXCHANGE].fault = str(drawn)
            retry_after = RETRY_AFTER.get(drawn)
            return Reply(error=ErrorReply(drawn, None, {"Retry-After": retry_after} if retry_after else {}))
        request[EXCHANGE].fault = drawn.kind
        return Reply(fault=drawn)
    return GENERATED


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The body, read within `timeout` seconds (else 408) and `limit` bytes (else 413); either
    way the connection is closed after the answer, not read to its end."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    try:
        if request.content.is_eof():  # the whole body came with the head: no wait, no timer
            raw = await request.read()
        else:
            async with asyncio.timeout(timeout):
                raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLarge(limit) from None
    except TimeoutError:
        raise RequestTimeout(timeout) from None
    request[EXCHANGE].raw_body = raw
    return raw


def notice_headers(admitted: Admitted) -> dict[str, str]:
    """Name what the emulator let pass (unknown fields, role-order warnings), in headers and the log."""
    headers: dict[str, str] = {}
    if admitted.ignored_fields:
        log.info("ignored unknown fields: %s", _header_list(admitted.ignored_fields, ", "))
        headers[IGNORED_FIELDS_HEADER] = _header_list(admitted.ignored_fields)
    if admitted.warnings:  # one line per request, however many there are
        shown = "; ".join(ascii(warning)[1:-1] for warning in admitted.warnings[:3])
        others = len(admitted.warnings) - 3 + admitted.more_warnings
        log.warning(
            "request accepted, but in --strict mode it would fail: %s%s",
            shown,
            f" (and {others} more)" if others > 0 else "",
        )
        headers[WARNINGS_HEADER] = _header_list(admitted.warnings, separator="; ") + (
            f"; ... ({admitted.more_warnings} more)" if admitted.more_warnings else ""
        )
    return headers


def _header_list(values: tuple[str, ...], separator: str = ",") -> str:
    # Field names come from the client: escape anything that may not appear in a header.
    shown = [ascii(value)[1:-1] for value in values[:_HEADER_LIST_LIMIT]]
    if len(values) > _HEADER_LIST_LIMIT:
        shown.append(f"... ({len(values) - _HEADER_LIST_LIMIT} more)")
    return separator.join(shown)


async def list_models(request: web.Request) -> web.Response:
    """GET /studio/v1/models: the models the server accepts; no key needed, as the live service."""
    return web.Response(body=request.config_dict[MODELS], content_type="application/json")


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.config_dict[OPENAPI], content_type="application/json")
