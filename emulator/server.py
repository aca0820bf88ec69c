"""Running the app: the CLI's foreground server, and an in-process server on a background thread.

The background server is aiohttp's fake-server pattern (from its examples) grown up: an
`AppRunner` and a `TCPSite` on port 0, with the real URL handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import threading
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from .config import Config
from .core import Core
from .http.accesslog import ACCESS_LOG_FORMAT, AccessLog
from .http.accesslog import flush as flush_access_log
from .http.app import create_app
from .http.connections import GuardedServer, Limits
from .http.surfaces.studio import PREFIX
from .workers import serve_workers, watch_parent


class _Runner(web.AppRunner):
    """aiohttp's runner with the connection guards of connections.py."""

    def __init__(self, app: web.Application, config: Config) -> None:
        super().__init__(
            app,
            access_log_class=AccessLog,
            access_log_format=ACCESS_LOG_FORMAT,  # what AccessLog writes, as aiohttp spells it
            handle_signals=False,
            keepalive_timeout=config.keepalive_timeout,
            shutdown_timeout=config.shutdown_timeout,
            # A body left unread (a 413, a 408) is not read to its end: the connection closes.
            lingering_time=0,
        )
        self._limits = Limits(request_timeout=config.request_timeout, max_connections=config.max_connections)

    async def cleanup(self) -> None:
        try:
            await super().cleanup()
        finally:
            flush_access_log()

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp has no hook for the handler class; every other part of its set-up is kept.
        server.__class__ = GuardedServer
        server.limits = self._limits  # type: ignore[attr-defined]
        return server


async def start_site(
    app: web.Application, config: Config, *, reuse_port: bool = False
) -> tuple[web.AppRunner, str]:
    """Start serving `app` on config's host and port; returns the runner (to clean up) and the
    URL actually bound."""
    host, port = config.host, config.port
    runner = _Runner(app, config)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return runner, f"http://{shown}:{bound_port}"


def serve(config: Config, on_ready: Callable[[str], None]) -> int:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down cleanly (paced and stalled
    streams end at once, other answers get `shutdown_timeout`); with `config.workers` > 1, from
    that many supervised processes sharing the port (workers.py). Returns the exit status."""
    if config.workers > 1:
        return serve_workers(config, on_ready, _serve)
    asyncio.run(_serve(config, on_ready))
    return 0


async def _serve(
    config: Config,
    on_ready: Callable[[str], None],
    *,
    worker: int = 0,
    restarts: int = 0,
    reuse_port: bool = False,
    parent: int | None = None,
) -> None:
    core = Core.build(config, worker=worker, restarts=restarts)
    runner, url = await start_site(create_app(config, core=core), config, reuse_port=reuse_port)
    settle_garbage_collector()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    watcher = asyncio.create_task(watch_parent(parent, stopping)) if parent is not None else None
    try:
        on_ready(url)
        await stopping.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await runner.cleanup()


def settle_garbage_collector() -> None:
    """For a process that is only the server (the CLI, not a test suite's): what start-up built
    (schemas, word pool, validators) is frozen out of the collector's reach, so that collections
    walk only what requests allocate. Measured with wrk at 64 connections: p99 44 ms -> 20 ms.
    (Raising the collection thresholds made the pauses rarer but longer, and p99 worse.)"""
    gc.collect()
    gc.freeze()


class BackgroundServer:
    """An emulator on its own thread and event loop, for synchronous clients and test suites.

    with BackgroundServer() as server:
        client = AI21Client(api_host=server.api_host, api_key="test")
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config if config is not None else Config(port=0)
        self.url = ""
        self.core: Core | None = None
        """The running server's core (its journal, its scripts), once started."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_host(self) -> str:
        """The base URL SDKs need (`AI21_API_HOST`, OpenAI's `base_url`)."""
        return self.url + PREFIX

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("BackgroundServer.start: already started")
        core = self.core = Core.build(self.config)  # bad config or fixtures raise here, in the caller
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            try:
                self._runner, self.url = self._loop.run_until_complete(
                    start_site(create_app(self.config, core=core), self.config)
                )
            except BaseException as error:  # handed to the starting thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="jamba-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self.url

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        with contextlib.suppress(RuntimeError):
            loop.close()
        self._thread = self._loop = self._runner = None

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
