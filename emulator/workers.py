"""`--workers N`: N processes serving one port (SO_REUSEPORT: the kernel spreads the connections),
supervised by the parent.

Each worker has its own core (its own journal, rules and id sequence), so the admin API of a
multi-worker server sees one worker's share. A worker that dies is logged, with how it died, and
started again; one that keeps dying (RESTARTS within RESTART_WINDOW seconds) stops the server
with exit status 1, naming it. Ctrl+C or SIGTERM stops them all. A worker never outlives its
parent: on Linux the kernel sends it SIGTERM when the parent dies (PR_SET_PDEATHSIG), and every
worker also checks each PARENT_CHECK seconds that its parent is still the one that started it.
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import logging
import multiprocessing
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .config import Config
from .core import Core

RESTARTS, RESTART_WINDOW = 5, 60.0
PARENT_CHECK = 1.0
_PR_SET_PDEATHSIG = 1

log = logging.getLogger("jamba_emulator")

Serve = Callable[..., Any]
"""server._serve: the coroutine function one process serves with."""


def serve_workers(config: Config, on_ready: Callable[[str], None], serve: Serve) -> int:
    """Serve from `config.workers` processes until SIGINT or SIGTERM; the exit status."""
    Core.build(config)  # a bad setting or fixture file stops the start here, with its message
    context = multiprocessing.get_context("fork")  # the workers inherit the imports: no re-import
    with socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET) as holder:
        # SO_REUSEADDR too, as aiohttp sets it on each worker's socket: without it the port cannot
        # be bound while connections of an earlier run sit in TIME_WAIT (about 60 s).
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind((config.host, config.port))  # fixes the port (0: a free one) for every worker
        shared = dataclasses.replace(config, port=holder.getsockname()[1])
        ready = context.Queue()
        starts = [0] * config.workers

        def start(index: int) -> Any:
            arguments = (serve, shared, ready, os.getpid())
            numbers = {"index": index, "restarts": starts[index]}
            starts[index] += 1
            process = context.Process(
                target=_worker, args=arguments, kwargs=numbers, name=f"jamba-emulator-{index}"
            )
            process.start()
            return process

        workers = [start(index) for index in range(config.workers)]
        urls = [_wait_ready(ready, workers) for _ in workers]
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    on_ready(urls[0])
    status = _supervise(workers, start, stop)
    for process in workers:
        if process.is_alive():
            process.terminate()  # SIGTERM: each worker shuts down cleanly
    for process in workers:
        process.join(timeout=config.shutdown_timeout + 5)
    return status


def _supervise(workers: list[Any], start: Callable[[int], Any], stop: threading.Event) -> int:
    deaths: deque[float] = deque(maxlen=RESTARTS)
    while not stop.wait(0.2):
        for index, process in enumerate(workers):
            if process.is_alive() or stop.is_set():
                continue
            how = _how(process.exitcode)
            now = time.monotonic()
            deaths.append(now)
            if len(deaths) == RESTARTS and now - deaths[0] < RESTART_WINDOW:
                log.error(
                    "worker %d (pid %s) %s; %d workers died within %g s, so the server stops",
                    index, process.pid, how, RESTARTS, RESTART_WINDOW,
                )  # fmt: skip
                return 1
            log.error("worker %d (pid %s) %s; starting it again", index, process.pid, how)
            workers[index] = start(index)
    return 0


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


def _worker(serve: Serve, config: Config, ready: Any, parent: int, *, index: int, restarts: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers (SIGTERM)
    _die_with_parent(parent)
    asyncio.run(serve(config, ready.put, worker=index, restarts=restarts, reuse_port=True, parent=parent))


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(0)


async def watch_parent(parent: int, stopping: asyncio.Event) -> None:
    """Set `stopping` once the process's parent is no longer `parent` (it died)."""
    while not stopping.is_set():
        if os.getppid() != parent:
            log.error("the parent process (pid %d) is gone; this worker stops", parent)
            stopping.set()
            return
        await asyncio.sleep(PARENT_CHECK)


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
                message = f"worker {dead[0].name} {_how(dead[0].exitcode)} at start-up"
                raise RuntimeError(message) from None
