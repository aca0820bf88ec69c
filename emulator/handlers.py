"""Thin aiohttp handlers for the API: parse, call the core, respond."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiohttp import hdrs, web

from .admission import Admitted, decode_body
from .auth import authorize
from .chat import ChatRequest, Completion
from .core import Core
from .errors import BodyTooLarge, ScriptedError
from .scripts import NO_PACING, Pacing
from .streaming import HEADERS as STREAM_HEADERS
from .streaming import encode_json, frames, send

CORE = web.AppKey("core", Core)
OPENAPI = web.AppKey("openapi", bytes)
RAW_BODY = web.RequestKey("raw_body", bytes)  # kept for the journal
MATCHED_RULE = web.RequestKey("matched_rule", str)  # the scripted rule that answered, for the journal
IGNORED_FIELDS_HEADER = "X-Emulator-Ignored-Fields"
WARNINGS_HEADER = "X-Emulator-Warnings"
_HEADER_LIST_LIMIT = 20

log = logging.getLogger("jamba_emulator")


async def create_chat_completion(request: web.Request) -> web.StreamResponse:
    core = request.config_dict[CORE]
    authorize(request.headers.get(hdrs.AUTHORIZATION), core.config.api_keys)
    admitted = core.admission.admit(decode_body(await read_body(request, core.config.max_body_size)))
    headers = notice_headers(admitted)
    completion, pacing = await answer(request, core, admitted.request)
    completion_id = core.ids.next_id()
    if admitted.request.stream:
        return await stream(request, frames(completion.chunk_bodies(completion_id)), headers, pacing)
    body = encode_json(completion.response_body(completion_id))
    return web.Response(body=body, content_type="application/json", headers=headers)


async def answer(request: web.Request, core: Core, chat: ChatRequest) -> tuple[Completion, Pacing]:
    """The scripted reply of the first fitting fixture rule (after its delay), else the generated
    answer; with the pacing a stream of it should keep."""
    if not core.script:  # the common case: no fixtures, nothing to match (skip the header copy)
        return core.generator.complete(chat), NO_PACING
    scripted = core.script.answer(chat, {name.lower(): value for name, value in request.headers.items()})
    if scripted is None:
        return core.generator.complete(chat), NO_PACING
    rule, reply = scripted
    request[MATCHED_RULE] = rule.name
    if reply.pacing.delay_ms:
        await asyncio.sleep(reply.pacing.delay_ms / 1000)
    if reply.error is not None:
        raise ScriptedError(reply.error.status, reply.error.detail, dict(reply.error.headers))
    assert reply.content is not None  # the fixture schema requires content or error
    return core.generator.scripted(chat, reply.content, reply.finish_reason), reply.pacing


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
    request: web.Request, events: Iterable[bytes], headers: dict[str, str], pacing: Pacing = NO_PACING
) -> web.StreamResponse:
    response = web.StreamResponse(headers={**STREAM_HEADERS, **headers})
    try:
        await response.prepare(request)  # the client may be gone before the headers go out
        await send(response, events, None if pacing is NO_PACING else pacing.before_event)
        await response.write_eof()
    except ConnectionError as error:  # the client hung up mid-stream
        log.info("client went away mid-stream: %s", error)
    return response


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=request.config_dict[OPENAPI], content_type="application/json")
