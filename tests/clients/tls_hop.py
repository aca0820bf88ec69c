"""A TLS terminator on loopback, as a load balancer or ingress in front of the emulator is: it
takes TLS from the client and forwards the bytes unchanged, both ways, to a plain HTTP server,
re-chunking them as such a hop does (one TLS record per read from the server, 16 KB at most).
Its certificate is made per run (trustme); nothing leaves the machine."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import trustme

_READ = 65536


class TlsHop:
    """`https://127.0.0.1:PORT` in front of `upstream` (a `http://host:port` URL); `client_context`
    trusts its certificate."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        authority = trustme.CA()
        self.client_context = ssl.create_default_context()
        authority.configure_trust(self.client_context)
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1").configure_cert(self._server_context)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-hop", daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.url = ""

    def __enter__(self) -> TlsHop:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"https://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._forward, "127.0.0.1", 0, ssl=self._server_context)

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for connection in self._connections:
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _forward(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            upstream_in, upstream_out = await asyncio.open_connection(*self._upstream)
            try:
                await asyncio.gather(_pipe(client_in, upstream_out), _pipe(upstream_in, client_out))
            finally:
                upstream_out.close()
        finally:
            client_out.close()
            self._connections.discard(task)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await source.read(_READ):
            sink.write(data)
            await sink.drain()
    with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
        if sink.can_write_eof():
            sink.write_eof()


@contextlib.contextmanager
def tls_hop(upstream: str) -> Iterator[TlsHop]:
    with TlsHop(upstream) as hop:
        yield hop
