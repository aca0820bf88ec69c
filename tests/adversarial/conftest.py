"""What the adversarial tests share: a real emulator on a background thread (its own sockets, so
slow and broken clients can be played byte by byte), and raw connections to it."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer

Serve = Callable[..., BackgroundServer]
COMMAND = str(Path(sys.executable).parent / "jamba-emulator")


def start_cli(
    *flags: str, stderr: Any = subprocess.DEVNULL, **popen: Any
) -> tuple[subprocess.Popen[str], str]:
    """`jamba-emulator --port 0 FLAGS` in a process of its own (the test's threads share no
    interpreter lock with it), and the URL it announced."""
    process = subprocess.Popen(
        [COMMAND, "--port", "0", *flags], stdout=subprocess.PIPE, stderr=stderr, text=True, **popen
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()
    if "listening on" not in line:
        process.kill()
        raise AssertionError(f"jamba-emulator did not start: {line!r}")
    return process, line.split("listening on", 1)[1].split()[0]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start emulators with these Config fields (port 0); all stopped after the test."""
    started: list[BackgroundServer] = []

    def start(**settings: Any) -> BackgroundServer:
        server = BackgroundServer(Config(port=0, **settings))
        server.start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


def address(server: BackgroundServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def connect(server: BackgroundServer, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(address(server), timeout=timeout)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the socket's timeout)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received
