"""The connections under the app: what aiohttp's own request handler does not bound.

- A request its HTTP parser rejects (a request line or header over 8 KiB, a malformed request)
  gets the contract's JSON `{"detail": ...}`, and one log line without the request's bytes (which
  can hold an API key).
- A request head must arrive within `request_timeout` seconds of its first byte; a slow one gets
  a 408 and the connection closes (aiohttp would wait for ever).
- At most `max_connections` are open: past the cap, the connection that has waited longest for a
  request head (an idle keep-alive one, or a slow one) is closed, so that slow sockets cannot shut
  out real clients. A new connection is itself closed when every other one is busy answering.

Idle keep-alive connections close after `keepalive_timeout` (aiohttp's own timer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .errors import HttpStatusError, render
from .streaming import encode_json

log = logging.getLogger("jamba_emulator")


@dataclass(frozen=True, slots=True)
class Limits:
    request_timeout: float = 15.0
    max_connections: int = 1000


class GuardedHandler(RequestHandler):
    """aiohttp's request handler with a deadline for each request head and a place in the cap."""

    limits = Limits()
    waiting_since: float | None = None
    """When the connection began waiting for a request head (None: a request is being answered)."""
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.waiting_since = self._loop.time()
        manager = self._manager
        if manager is not None and len(manager.connections) > self.limits.max_connections:
            live = [connection for connection in manager.connections if connection.transport is not None]
            if len(live) > self.limits.max_connections:
                _close_longest_waiting(live)

    def data_received(self, data: bytes) -> None:
        heads = self._request_count
        if self.waiting_since is not None and self._head_deadline is None:
            self._head_deadline = self._loop.call_later(self.limits.request_timeout, self._head_too_slow)
        super().data_received(data)
        if self._request_count != heads:  # a whole head has arrived
            self._cancel_deadline()
            self.waiting_since = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    async def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[web.StreamResponse]],
    ) -> tuple[web.StreamResponse, bool]:
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            if not self._messages:
                self.waiting_since = self._loop.time()

    def _cancel_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.waiting_since is None or self.transport is None:
            return
        log.debug("closed a connection whose request head took over %g s", self.limits.request_timeout)
        detail = f"Request Timeout: the request head did not arrive within {self.limits.request_timeout:g} s"
        self.transport.write(_raw_response(408, "Request Timeout", {"detail": detail}))
        self.force_close()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own handle_error logs the exception, whose text quotes the request's bytes.
        log.info("rejected a malformed request (%s %s)", status, type(exc).__name__ if exc else "")
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response")
        _, body = render(HttpStatusError(status))
        response = web.Response(status=status, body=encode_json(body), content_type="application/json")
        response.force_close()
        return response


def _close_longest_waiting(connections: list[RequestHandler]) -> None:
    waiting = [c for c in connections if isinstance(c, GuardedHandler) and c.waiting_since is not None]
    if waiting:
        oldest = min(waiting, key=lambda connection: connection.waiting_since or 0.0)
        log.debug("at the connection cap: closed the connection waiting longest for a request head")
        oldest.waiting_since = None
        oldest.force_close()


def _raw_response(status: int, reason: str, body: object) -> bytes:
    payload = encode_json(body)
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + payload


class GuardedServer(web.Server):
    limits = Limits()

    def __call__(self) -> RequestHandler:
        handler = GuardedHandler(self, loop=self._loop, **self._kwargs)
        handler.limits = self.limits
        return handler
