"""Reading a request's body, on every route alike: within a deadline (else 408) and a size limit
(else 413), the connection closed after either rather than read to its end.

`Expect: 100-continue` is answered "100 Continue" only by a route that reads bodies and only for
a body within its limit (`continue_within`); a route that never reads one (unknown paths, wrong
methods) never invites the upload. A body nobody read (an answer decided from the head: 401,
404...) is read for the journal only after the answer has gone out (`unread_body`), so that
answer is never held back by a slow or absent body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import _default_expect_handler

from ..errors import BodyTooLarge, RequestTimeout

ExpectHandler = Callable[[web.Request], Awaitable[None]]
INVITED = web.RequestKey("invited", bool)
"""Set when the route answered `Expect: 100-continue` with "100 Continue"."""


async def read_body(request: web.Request, limit: int, timeout: float, too_large: str | None = None) -> bytes:
    """The body, read within `timeout` seconds (else 408) and `limit` bytes (else 413, saying
    `too_large` if given); either way the connection is closed after the answer."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit, too_large)
    try:
        if request.content.is_eof():  # the whole body came with the head: no wait, no timer
            return await _read(request, limit, too_large)
        async with asyncio.timeout(timeout):
            return await _read(request, limit, too_large)
    except TimeoutError:
        raise RequestTimeout(timeout) from None


async def _read(request: web.Request, limit: int, too_large: str | None) -> bytes:
    if limit >= request.client_max_size:
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise BodyTooLarge(request.client_max_size, too_large) from None
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit, too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def continue_within(limit: Callable[[web.Request], int]) -> ExpectHandler:
    """An expect handler: "100 Continue" only for a body within `limit(request)` bytes; a larger
    one gets its 413 (from the handler) before any of it is sent, and the connection closes."""

    async def expect(request: web.Request) -> None:
        if request.content_length is not None and request.content_length > limit(request):
            return
        request[INVITED] = True
        await _default_expect_handler(request)

    return expect


async def never_continue(request: web.Request) -> None:
    """The expect handler of a route that reads no body: the upload is never invited."""


async def unread_body(request: web.Request, response: web.StreamResponse, timeout: float) -> bytes:
    """The body the handler did not read (e.g. a 401's), for the journal, read after `response`
    has been sent: at once if it has all arrived, else within `timeout` (then the connection
    closes). A body that was never invited (Expect: 100-continue declined) is not waited for."""
    if request.content.is_eof():
        return await _quietly(request.read())
    if _waits_for_invitation(request):
        response.force_close()
        return b""
    await _sent(request, response)
    try:
        async with asyncio.timeout(timeout):
            return await _quietly(request.read())
    except TimeoutError:
        response.force_close()
        return b""


def _waits_for_invitation(request: web.Request) -> bool:
    expect = request.headers.get(hdrs.EXPECT, "")
    return expect.lower() == "100-continue" and not request.get(INVITED, False)


async def _sent(request: web.Request, response: web.StreamResponse) -> None:
    """Send `response` now (aiohttp's own prepare and write_eof then do nothing)."""
    if response.prepared:
        return
    await response.prepare(request)
    await response.write_eof()


async def _quietly(read: Awaitable[bytes]) -> bytes:
    try:
        return await read
    except (web.HTTPException, ConnectionError):
        return b""
