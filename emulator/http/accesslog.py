"""The access log: the line aiohttp's access logger writes through `logging` for every request,
written here without it. Each line is formatted in one f-string (the timestamp's text is kept for
the second it names) and buffered; the buffer goes to stderr when it holds BUFFER bytes, FLUSH
seconds after its first line, and when the server stops (`flush`). Writes are whole lines of at
most PIPE_BUF bytes, so processes sharing stderr (`--workers`) never cut into each other's lines.

The line is the one aiohttp's AccessLogger with ACCESS_LOG_FORMAT, through `logs.FORMAT`, made
(tests/unit/test_access_log.py holds the two to the same text):
`2026-12-01 13:24:00,123 INFO    aiohttp.access: 127.0.0.1 "POST /path HTTP/1.1" 200 512B 0.000812s`.
The access log is on when the `aiohttp.access` logger would log INFO (the CLI's default).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

ACCESS_LOG_FORMAT = '%a "%r" %s %bB %Tfs'
"""The line's request part in aiohttp's access-log notation: address, request line, status, bytes, seconds."""
BUFFER = 64 * 1024
FLUSH = 0.1
PIPE_BUF = 4096  # POSIX's least: a write to a pipe this size or smaller is never interleaved


class _Buffer:
    """The process's buffered access-log lines (one per process: aiohttp makes a logger per connection)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.timer: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def stamp(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._stamp},{int((now - second) * 1000):03d}"

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.size += len(line)
        if self.size >= BUFFER:
            self.flush()
        elif self.timer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: the next flush takes it
                self.timer = asyncio.get_running_loop().call_later(FLUSH, self.flush)

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        lines, self.lines, self.size = self.lines, [], 0
        if not lines:
            return
        for chunk in _chunks(lines):
            _write(chunk)


BUFFERED = _Buffer()
_clock = time.time  # under a name AccessLog.log's `time` argument (aiohttp's signature) does not hide


class AccessLog(AbstractAccessLogger):
    """aiohttp's access logger class for the emulator's server (server._Runner)."""

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        version = request.version
        BUFFERED.add(
            f"{BUFFERED.stamp(_clock())} INFO    aiohttp.access: {request.remote or '-'} "
            f'"{request.method} {request.path_qs} HTTP/{version.major}.{version.minor}" '
            f"{response.status} {response.body_length}B {time:06f}s\n"
        )


def flush() -> None:
    """Write out what is buffered (at shutdown; and whenever a line must be seen at once)."""
    BUFFERED.flush()


def _chunks(lines: list[str]) -> list[bytes]:
    """The lines as writes of whole lines, each PIPE_BUF bytes or fewer (a longer line alone)."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        raw = line.encode("utf-8", "backslashreplace")
        if current and size + len(raw) > PIPE_BUF:
            chunks.append(b"".join(current))
            current, size = [], 0
        current.append(raw)
        size += len(raw)
    if current:
        chunks.append(b"".join(current))
    return chunks


def _write(chunk: bytes) -> None:
    stream: Any = sys.stderr
    try:
        stream.flush()  # whatever logging wrote before comes first
        descriptor = stream.fileno()
        while chunk:  # a write of PIPE_BUF or fewer bytes is whole; a longer line may take several
            chunk = chunk[os.write(descriptor, chunk) :]
    except (OSError, ValueError, AttributeError):  # stderr closed or replaced (e.g. captured)
        with contextlib.suppress(Exception):
            stream.write(chunk.decode("utf-8", "replace"))
