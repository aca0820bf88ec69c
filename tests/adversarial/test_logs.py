"""Finding 8: logs a person could not read under attack. 52,000 consecutive user messages logged
51,999 warning lines; running out of file descriptors logged 61,724 tracebacks in 25 s; a
malformed request logged its raw bytes at ERROR, API key included. Now one line per request,
repeats held back with a count, and no request bytes in any line."""

from __future__ import annotations

import io
import json
import logging
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jamba_emulator.logs import BURST, Repeats

from tests.adversarial import bodies
from tests.adversarial.conftest import Serve, connect, read_all, start_cli

SECRET_KEY = "sk-live-0123456789abcdef"


async def test_a_request_with_thousands_of_warnings_logs_one_line(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jamba_emulator")
    answer = await client.post(
        "/studio/v1/chat/completions",
        data=io.BytesIO(bodies.consecutive_user_messages(52_000)),
        headers={"Authorization": "Bearer k"},
    )
    assert answer.status == 200
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage().endswith("(and 51996 more)"), "3 shown of 51,999"
    assert len(answer.headers["X-Emulator-Warnings"]) < 4096


def test_repeated_messages_are_held_back_and_counted() -> None:
    repeats = Repeats(burst=5, window=10.0)
    records = [
        logging.LogRecord(
            "asyncio", logging.ERROR, "x", 1, "socket.accept() out of system resource", (), None
        )
        for _ in range(1000)
    ]
    for index, record in enumerate(records):
        record.created = 1000.0 + index * 0.001
    passed = [record for record in records if repeats.filter(record)]
    assert len(passed) == 5
    later = logging.LogRecord(
        "asyncio", logging.ERROR, "x", 1, "socket.accept() out of system resource", (), None
    )
    later.created = 1020.0
    assert repeats.filter(later)
    assert later.getMessage().endswith("[995 more like this in the previous 10 s not logged]")
    access = logging.LogRecord("aiohttp.access", logging.INFO, "x", 1, "same line", (), None)
    assert all(repeats.filter(access) for _ in range(100)), "the access log is left alone"


def test_a_malformed_request_is_logged_without_its_bytes(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = serve()
    with connect(server) as sock:
        sock.sendall(
            b"POST /studio/v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer "
            + SECRET_KEY.encode()
            + b"\x01\r\n\r\n"
        )
        answer = read_all(sock)
    assert answer.split(b" ", 2)[1] == b"400"
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"detail": "Bad Request"}
    logged = "\n".join(
        record.getMessage() + str(record.exc_info or "") + str(record.exc_text or "")
        for record in caplog.records
    )
    assert "rejected a malformed request (400" in logged
    assert SECRET_KEY not in logged


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file descriptor limits as Linux sets them")
def test_running_out_of_file_descriptors_logs_a_few_lines(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    with log.open("w") as stderr:
        process, url = start_cli(stderr=stderr, preexec_fn=few_descriptors)
    try:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        held = []
        for _ in range(120):
            try:
                held.append(socket.create_connection((host, int(port)), timeout=1))
            except OSError:
                break
        time.sleep(3)  # asyncio retries accept() every second while descriptors lack
        for sock in held:
            sock.close()
    finally:
        process.terminate()
        process.wait(timeout=15)
    lines = log.read_text().splitlines()
    accept_failures = [line for line in lines if "out of system resource" in line]
    assert accept_failures, "the flood happened"
    assert len(accept_failures) <= BURST
    assert len(lines) < 200, "no traceback per failed accept"
