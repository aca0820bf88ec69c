"""Writing a plan's answer onto the connection (script/decision.py): every wait is here, the
plan's delay before any answer, an error's included; a stream of events (paced when a rule asks);
and the transport faults of script/faults.py carried out as their `Effect` says: the connection
closed before or in the middle of an answer, a part sent broken, a stall.

Whoever calls passes `record(status)`, which puts the request in the journal: delivery calls it
just before the client can see the answer end (its last part, or the connection closing), so a
test that reads the journal as soon as its client is done finds the request there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from aiohttp import web

from ..errors import EmulatorError, HttpStatusError, Stopped
from ..script.decision import Plan
from ..script.faults import Fault
from ..script.replies import NO_PACING, Pacing
from .streaming import send
from .surfaces import Surface

STOPPING = web.AppKey("stopping", asyncio.Event)  # set when the server shuts down: stalls end
_STALL_POLL = 0.05  # seconds between checks that a stalled client is still there

Record = Callable[[int | None], None]
"""Puts the request in the journal with this status (None: no answer was sent)."""

log = logging.getLogger("jamba_emulator")


async def refuse(plan: Plan, error: EmulatorError, surface: Surface) -> web.Response:
    """The plan's error as the surface's answer, after the plan's delay."""
    await delayed(plan)
    return surface.error_response(error)


async def answer(
    request: web.Request, body: bytes, headers: Mapping[str, str], plan: Plan, record: Record
) -> web.StreamResponse:
    """A JSON answer, after the plan's delay, broken by the plan's fault if it has one."""
    await delayed(plan)
    if plan.fault is not None:
        return await faulty_json(request, body, headers, plan.fault, record)
    return web.Response(body=body, content_type="application/json", headers=headers or None)


async def delayed(plan: Plan) -> None:
    if plan.pacing.delay_ms:
        await asyncio.sleep(plan.pacing.delay_ms / 1000)


async def stream(
    request: web.Request,
    events: list[bytes],
    headers: Mapping[str, str],
    plan: Plan,
    *,
    record: Record,
    surface: Surface,
    gap: float = 0.0,
) -> web.StreamResponse:
    """`events` as a streamed answer, after the plan's delay, with its pacing and fault (the
    surface says how an event is sent broken); `gap`: seconds at least between two events, the
    surface's pace (Surface.event_gap)."""
    await delayed(plan)
    response = web.StreamResponse(headers=headers)
    pause = pauses(plan.pacing, gap)
    parts = list(events)
    fault = plan.fault
    at = 0 if fault is None else fault.cut(len(parts))
    if fault is not None and fault.effect.breaks:
        parts[at] = surface.broken_event(parts[at])
    try:
        if await deliver(
            request, response, parts, at, fault, record=record, pause=pause, joined=surface.joins_events
        ):
            await response.write_eof()
    except ConnectionError as error:  # the client hung up mid-stream
        log.info("client went away mid-stream: %s", error)
    except Stopped:  # the server is stopping: the stream ends here, with the surface's error event
        record(response.status)
        last = surface.interrupted(HttpStatusError(503))
        if last is not None:
            with contextlib.suppress(ConnectionError):
                await response.write(last)
        drop(request)
    return response


def pauses(pacing: Pacing, gap: float) -> Callable[[int], float] | None:
    """Seconds to wait before a stream's event at each position: the rule's pacing, and at least
    `gap` between two events; None: no wait at all."""
    if not gap:
        return None if pacing is NO_PACING else pacing.before_event
    return lambda position: max(pacing.before_event(position), gap) if position else 0.0


async def faulty_json(
    request: web.Request, body: bytes, headers: Mapping[str, str], fault: Fault, record: Record
) -> web.StreamResponse:
    """A JSON answer broken half-way through its body: dropped, stalled, or cut short (broken)."""
    half = len(body) // 2
    if fault.effect.breaks:
        return web.Response(body=body[:half], content_type="application/json", headers=headers)
    response = web.StreamResponse(headers=headers)
    response.content_type = "application/json"
    response.content_length = len(body)
    try:
        if await deliver(request, response, [body[:half], body[half:]], 1, fault, record=record):
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
    record: Record,
    pause: Callable[[int], float] | None = None,
    joined: bool = True,
) -> bool:
    """Send `parts`, with `fault` (if any) striking before part `at`; `record` is called just
    before the client can see the answer end. False: the connection is gone."""
    effect = fault.effect if fault is not None else None
    if effect is not None and effect.at_start:
        record(None)
        drop(request)
        return False
    await response.prepare(request)  # the client may be gone before the headers go out
    sent = 0
    if fault is not None and effect is not None:
        await send(response, parts[:at], pause, stopping=request.config_dict[STOPPING], joined=joined)
        sent = at
        if effect.closes:
            record(response.status)
            drop(request)
            return False
        if effect.pauses and not await stall(request, fault.stall_ms):
            return False
    last = len(parts) - 1
    stopping = request.config_dict[STOPPING] if pause is not None else None
    await send(response, parts[sent:last], pause, start=sent, stopping=stopping, joined=joined)
    record(response.status)
    await send(response, parts[last:], pause, start=last, stopping=stopping, joined=joined)
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
