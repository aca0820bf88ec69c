"""Writing an answer onto the connection: an SSE stream (paced when a rule asks), and the
transport faults of faults.py carried out: a connection closed before or in the middle of an
answer, a malformed chunk, a stall.

aiohttp's layer, like handlers.py, which decides what to answer and calls these to send it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from aiohttp import web

from ..http.exchange import EXCHANGE
from ..http.streaming import HEADERS as STREAM_HEADERS
from ..http.streaming import Stopped, send
from ..script.faults import Fault, malformed
from ..script.rules import GENERATED, NO_PACING, Reply

STOPPING = web.AppKey("stopping", asyncio.Event)  # set when the server shuts down: stalls end
_STALL_POLL = 0.05  # seconds between checks that a stalled client is still there

log = logging.getLogger("jamba_emulator")


async def stream(
    request: web.Request, events: Iterable[bytes], headers: dict[str, str], reply: Reply = GENERATED
) -> web.StreamResponse:
    response = web.StreamResponse(headers={**STREAM_HEADERS, **headers})
    pause = None if reply.pacing is NO_PACING else reply.pacing.before_event
    parts = list(events)
    fault = reply.fault
    at = 0 if fault is None else fault.cut(len(parts))
    if fault is not None and fault.kind == "malformed_chunk":
        parts[at] = malformed(parts[at])
    try:
        if await deliver(request, response, parts, at, fault, pause=pause):
            await response.write_eof()
    except ConnectionError as error:  # the client hung up mid-stream
        log.info("client went away mid-stream: %s", error)
    except Stopped:  # the server is stopping: the stream ends here, as a dropped connection
        journal_now(request, response.status)
        drop(request)
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
        if await deliver(request, response, [body[:half], body[half:]], 1, fault):
            await response.write_eof()
    except ConnectionError as error:
        log.info("client went away mid-answer: %s", error)
    return response


async def deliver(
    request: web.Request,
    response: web.StreamResponse,
    parts: list[bytes],
    at: int,
    fault: Fault | None,
    *,
    pause: Callable[[int], float] | None = None,
) -> bool:
    """Send `parts`, with `fault` (if any) striking before part `at`. The journal gets the request
    just before the client can see the answer end (its last part, or the connection closing), so
    a test that reads the journal as soon as its client is done finds it. False: connection gone."""
    if fault is not None and fault.kind == "drop_before_response":
        journal_now(request, None)
        drop(request)
        return False
    await response.prepare(request)  # the client may be gone before the headers go out
    sent = 0
    if fault is not None:
        await send(response, parts[:at], pause, stopping=request.config_dict[STOPPING])
        sent = at
        if fault.kind == "drop_mid_stream":
            journal_now(request, response.status)
            drop(request)
            return False
        if fault.kind == "stall" and not await stall(request, fault.stall_ms):
            return False
    last = len(parts) - 1
    stopping = request.config_dict[STOPPING] if pause is not None else None
    await send(response, parts[sent:last], pause, start=sent, stopping=stopping)
    journal_now(request, response.status)
    await send(response, parts[last:], pause, start=last, stopping=stopping)
    return True


def journal_now(request: web.Request, status: int | None) -> None:
    """Record the request in the journal now (app.journaled would, once the handler returns)."""
    request[EXCHANGE].record(status)


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
