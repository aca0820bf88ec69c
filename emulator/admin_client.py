"""A client of a running emulator's admin API (`/_emulator`), for the attached pytest plugin and
`jamba-emulator report`: one call, one JSON answer, every cost bounded.

- Each call has one deadline, DEADLINE seconds for the whole exchange (connecting, sending, the
  head and the body): a server that answers a byte at a time is cut off at it.
- An answer is read up to MAX_ANSWER bytes; a longer one is refused, not read to its end.
- Redirects are never followed, so the admin token never goes to another origin.
- An answer that is not the admin API's JSON says that the URL is not an emulator.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import urllib.parse
from typing import Any

DEADLINE = 30.0
"""Seconds one admin call may take in all."""
MAX_ANSWER = 256 << 20
"""Bytes of one admin answer read at most (a full journal of the largest entries is less)."""
_CHUNK = 1 << 16


class AdminRefused(RuntimeError):
    """The admin API answered with an error status; `status` and `detail` say which and why."""

    def __init__(self, url: str, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"the emulator at {url} answered {status} to {method} {path}: {detail}")
        self.status, self.detail = status, detail


class AdminClient:
    def __init__(self, url: str, headers: dict[str, str], deadline: float = DEADLINE) -> None:
        self.url = url.rstrip("/")
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RuntimeError(f"{url!r} is not an emulator's URL (http://HOST:PORT)")
        self._parts = parts
        self.headers = headers
        self.deadline = deadline

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer to `method /_emulator{path}`; AdminRefused for an error status,
        RuntimeError when no emulator answers (in time, in size, as JSON)."""
        data = None if body is None else json.dumps(body).encode()
        connection = self._connection()
        cut = threading.Event()
        sockets: list[socket.socket] = []
        timer = threading.Timer(self.deadline, _cut_off, (sockets, cut))
        timer.daemon = True
        timer.start()
        response = None
        try:
            connection.connect()
            if connection.sock is not None:  # kept: the response holds it once the connection lets go
                sockets.append(connection.sock)
            connection.request(method, f"{self._parts.path}/_emulator{path}", body=data, headers=self.headers)
            response = connection.getresponse()
            status, payload = response.status, _read(response)
            if cut.is_set():  # what was read before the deadline cut the connection is not the answer
                raise OSError("cut off")
        except (OSError, http.client.HTTPException) as error:
            if cut.is_set():
                raise RuntimeError(
                    f"the emulator at {self.url} did not answer {method} {path} within {self.deadline:g} s"
                ) from None
            raise RuntimeError(
                f"no emulator answers at {self.url} ({error}): start one with `jamba-emulator`, "
                "or leave --jamba-emulator-url unset to let the plugin start its own"
            ) from None
        finally:
            timer.cancel()
            if response is not None:
                response.close()
            connection.close()
        return self._answer(method, path, status, payload)

    def _connection(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        return kind(self._parts.hostname or "", self._parts.port, timeout=self.deadline)

    def _answer(self, method: str, path: str, status: int, payload: bytes) -> Any:
        if 300 <= status < 400:
            raise RuntimeError(
                f"{self.url} answered {status} (a redirect) to {method} {path}: an emulator never "
                "redirects its admin API, and the admin token is not sent on; check the URL"
            )
        if status >= 400:
            raise AdminRefused(self.url, method, path, status, _detail(payload))
        try:
            return json.loads(payload)
        except ValueError:
            raise RuntimeError(
                f"{self.url} is not an emulator: its answer to {method} {path} is not the admin API's JSON"
            ) from None


def _read(response: http.client.HTTPResponse) -> bytes:
    length = response.getheader("Content-Length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > MAX_ANSWER:
        raise RuntimeError(f"an admin answer of {int(length):,} bytes (at most {MAX_ANSWER:,} are read)")
    chunks, size = [], 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > MAX_ANSWER:
            raise RuntimeError(f"an admin answer longer than {MAX_ANSWER:,} bytes (no more is read)")
        chunks.append(chunk)
    return b"".join(chunks)


def _cut_off(sockets: list[socket.socket], cut: threading.Event) -> None:
    """The deadline passed: the socket is shut, and the call's read ends at once."""
    cut.set()
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail"))
    except (ValueError, AttributeError):
        return body.decode("utf-8", "replace")[:500]
