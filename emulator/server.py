"""Running the app: the CLI's foreground server, and an in-process server on a background thread.

The background server is aiohttp's `examples/fake_server.py` pattern grown up: an
`AppRunner` and a `TCPSite` on port 0, with the real URL handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import multiprocessing
import queue
import signal
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .app import create_app
from .config import Config
from .core import Core
from .errors import HttpStatusError, render
from .streaming import encode_json

ACCESS_LOG_FORMAT = '%a "%r" %s %bB %Tfs'


class _JsonErrorHandler(RequestHandler):
    """Answers requests aiohttp's HTTP parser rejects (a request line or header over 8 KiB, a
    malformed request) with the contract's JSON `{"detail": ...}` instead of aiohttp's text."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs; raises if output started
        _, body = render(HttpStatusError(status))
        response = web.Response(status=status, body=encode_json(body), content_type="application/json")
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # aiohttp has no hook for the handler class; every other part of its set-up is kept.
        server.__class__ = _JsonErrorServer
        return server


async def start_site(
    app: web.Application, host: str, port: int, *, reuse_port: bool = False
) -> tuple[web.AppRunner, str]:
    """Start serving `app`; returns the runner (to clean up) and the URL actually bound."""
    runner = _Runner(app, access_log_format=ACCESS_LOG_FORMAT, handle_signals=False)
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


def serve(config: Config, on_ready: Callable[[str], None]) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down cleanly; with
    `config.workers` > 1, from that many processes sharing the port (serve_workers)."""
    if config.workers > 1:
        serve_workers(config, on_ready)
    else:
        asyncio.run(_serve(config, on_ready))


async def _serve(
    config: Config, on_ready: Callable[[str], None], *, worker: int = 0, reuse_port: bool = False
) -> None:
    core = Core.build(config, worker=worker)
    runner, url = await start_site(
        create_app(config, core=core), config.host, config.port, reuse_port=reuse_port
    )
    settle_garbage_collector()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        on_ready(url)
        await stopping.wait()
    finally:
        await runner.cleanup()


def serve_workers(config: Config, on_ready: Callable[[str], None]) -> None:
    """Serve from `config.workers` processes on one port (SO_REUSEPORT: the kernel spreads the
    connections). Each worker has its own core: its own journal, rules and id sequence, so the
    admin API of a multi-worker server sees one worker's share. Ctrl+C or SIGTERM stops them all.
    """
    Core.build(config)  # a bad setting or fixture file stops the start here, with its message
    context = multiprocessing.get_context("fork")  # the workers inherit the imports: no re-import
    with socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind((config.host, config.port))  # fixes the port (0: a free one) for every worker
        shared = dataclasses.replace(config, port=holder.getsockname()[1])
        ready = context.Queue()
        workers = [
            context.Process(target=_worker, args=(shared, index, ready), name=f"jamba-emulator-{index}")
            for index in range(config.workers)
        ]
        for process in workers:
            process.start()
        urls = [_wait_ready(ready, workers) for _ in workers]
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    on_ready(urls[0])
    while not stop.is_set() and all(process.is_alive() for process in workers):
        stop.wait(0.5)
    for process in workers:
        if process.is_alive():
            process.terminate()  # SIGTERM: each worker shuts down cleanly
    for process in workers:
        process.join(timeout=15)


def _worker(config: Config, index: int, ready: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers (SIGTERM)
    asyncio.run(_serve(config, ready.put, worker=index, reuse_port=True))


def _wait_ready(ready: Any, workers: list[Any]) -> str:
    while True:
        try:
            url: str = ready.get(timeout=0.2)
            return url
        except queue.Empty:
            dead = [process for process in workers if not process.is_alive()]
            if dead:
                for process in workers:
                    process.terminate()
                message = f"worker {dead[0].name} exited with {dead[0].exitcode} at start-up"
                raise RuntimeError(message) from None


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
        return f"{self.url}/studio/v1"

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
                    start_site(create_app(self.config, core=core), self.config.host, self.config.port)
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
