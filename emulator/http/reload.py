"""Reloading the fixture files when they change: a task polls their size and modification time
(every RELOAD_INTERVAL seconds; a handful of stat calls) and swaps the loaded rules in.

The polling and the reading run on a worker thread, never on the event loop (a fixture document
is up to 4 MiB, checked in linear time; a FIFO or a device is refused, not read). A reload that
fails for any reason (a bad file, a pattern nested too deeply, memory, rules past the script's
bounds) leaves the previous rules in force, the log says why, and watching goes on. Rules added
through the admin API stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from ..config import RELOAD_INTERVAL
from ..core import Core, load_fixtures
from ..errors import FixtureError
from ..script.fixtures import fixture_files

log = logging.getLogger("jamba_emulator")
Snapshot = dict[Path, tuple[int, int]]


def snapshot(paths: tuple[str, ...]) -> Snapshot | str:
    """Each fixture file's (modification time, size); or why the files cannot be listed."""
    try:
        files = fixture_files(paths)
        return {path: (stat.st_mtime_ns, stat.st_size) for path in files for stat in [path.stat()]}
    except (FixtureError, OSError) as error:
        return str(error)


def reload_if_changed(core: Core, seen: Snapshot | str) -> Snapshot | str:
    """Reload the rules if the files changed since `seen`; returns what was seen now."""
    now = snapshot(core.config.fixtures)
    if now == seen:
        return seen
    try:
        rules = load_fixtures(core.config)
        core.script.reload(rules)
    except FixtureError as error:
        log.warning("fixture files changed but were not reloaded (the previous rules stay): %s", error)
        return now
    except Exception as error:  # RecursionError, MemoryError...: the watch goes on
        log.error(
            "fixture files changed but could not be reloaded (the previous rules stay): %s: %s",
            type(error).__name__,
            str(error)[:500],
        )
        return now
    log.info("fixture files changed: reloaded %d rule%s", len(rules), "" if len(rules) == 1 else "s")
    return now


def watcher(
    core: Core, interval: float = RELOAD_INTERVAL
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context that watches `core`'s fixture files while the app runs."""
    first = snapshot(core.config.fixtures)  # as near as can be to when Core.build read them

    async def watch(app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            seen = first
            while True:
                await asyncio.sleep(interval)
                try:
                    seen = await asyncio.to_thread(reload_if_changed, core, seen)
                except Exception:  # never expected; the watch goes on all the same
                    log.exception("checking the fixture files for changes failed; still watching")

        task = asyncio.get_running_loop().create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return watch
