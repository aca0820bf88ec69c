"""The connections under the app: what aiohttp's own request handler does not bound.

- A request its HTTP parser rejects (a request line or header over 8 KiB, a malformed request)
  gets the contract's JSON `{"detail": ...}`, and one log line without the request's bytes (which
  can hold an API key); so does a request whose target is no path the router can match
  (`CONNECT host:443`, `OPTIONS *`): a JSON 404, not aiohttp's text (and no journal entry).
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

from ..errors import HttpStatusError
from .streaming import encode_json
from .surfaces import DEFAULT

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
    head_since: float | None = None
    """When the first byte of the request head being read arrived (None: none is being read)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.waiting_since = self._loop.time()
        manager = self._manager
        if isinstance(manager, GuardedServer):
            manager.watch()
            if len(manager.connections) > self.limits.max_connections:
                live = [connection for connection in manager.connections if connection.transport is not None]
                if len(live) > self.limits.max_connections:
                    _close_longest_waiting(live)

    def data_received(self, data: bytes) -> None:
        # The hot path: a time noted, no timer made (GuardedServer's one timer sweeps them all).
        heads = self._request_count
        if self.waiting_since is not None and self.head_since is None:
            self.head_since = self._loop.time()
        super().data_received(data)
        if self._request_count != heads:  # a whole head has arrived
            self.head_since = self.waiting_since = None

    async def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[web.StreamResponse]],
    ) -> tuple[web.StreamResponse, bool]:
        if not request.path.startswith("/"):  # CONNECT's authority, OPTIONS' "*": no route can match
            request_handler = _no_such_path
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            if not self._messages:
                self.waiting_since = self._loop.time()

    def head_too_slow(self) -> None:
        """Answer 408 and close: the request head took longer than the limit."""
        self.head_since = self.waiting_since = None
        if self.transport is None:
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
        response = DEFAULT.error_response(HttpStatusError(status))
        response.force_close()
        return response


async def _no_such_path(request: BaseRequest) -> web.StreamResponse:
    return DEFAULT.error_response(HttpStatusError(404))


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
    """aiohttp's server, making GuardedHandlers and sweeping their head deadlines: one timer for
    every connection, every SWEEPS_PER_TIMEOUT-th of the request timeout (at most a second), so a
    slow head is closed within a little more than the limit."""

    limits = Limits()
    _sweeper: asyncio.TimerHandle | None = None

    def __call__(self) -> RequestHandler:
        handler = GuardedHandler(self, loop=self._loop, **self._kwargs)
        handler.limits = self.limits
        return handler

    def watch(self) -> None:
        """Sweep the connections' deadlines while there are connections."""
        if self._sweeper is None:
            self._sweeper = self._loop.call_later(self._interval, self._sweep)

    @property
    def _interval(self) -> float:
        return min(1.0, self.limits.request_timeout / SWEEPS_PER_TIMEOUT)

    def _sweep(self) -> None:
        self._sweeper = None
        connections = self.connections
        if not connections:
            return
        late = self._loop.time() - self.limits.request_timeout
        for connection in connections:
            since = connection.head_since if isinstance(connection, GuardedHandler) else None
            if since is not None and since <= late:
                connection.head_too_slow()  # type: ignore[attr-defined]
        self.watch()

    async def shutdown(self, timeout: float | None = None) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        await super().shutdown(timeout)


SWEEPS_PER_TIMEOUT = 4
