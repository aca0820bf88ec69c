"""Finding 6: waits without a bound. Idle connections were kept an hour; a request whose head or
body stopped half-way was held for ever (and 1,100 of them shut every other client out); an
over-limit `Expect: 100-continue` upload was told to go on; paced streams outlived SIGTERM. Each
now has a limit, set small here."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import httpx

from tests.adversarial import bodies
from tests.adversarial.conftest import Serve, connect, read_all, start_cli
from tests.support import AUTH

HEAD = b"POST /studio/v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer k\r\n"
REQUEST = json.dumps({"model": "jamba-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()


def full_request(body: bytes = REQUEST) -> bytes:
    return HEAD + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def test_an_idle_keep_alive_connection_is_closed(serve: Serve) -> None:
    server = serve(keepalive_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(full_request())
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.settimeout(5)
        started = time.monotonic()
        assert read_all(sock) == b"", "nothing more, then the close"
        assert time.monotonic() - started < 3


def test_a_head_that_stops_half_way_gets_a_408_and_the_connection_closes(serve: Serve) -> None:
    server = serve(request_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(HEAD)  # never the blank line that ends the head
        started = time.monotonic()
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
    assert b'"detail":"Request Timeout: the request head did not arrive within 0.5 s"' in answer
    assert time.monotonic() - started < 3


def test_a_body_that_stops_half_way_gets_a_408_and_the_connection_closes(serve: Serve) -> None:
    server = serve(request_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(HEAD + b"Content-Length: 1000\r\n\r\n" + REQUEST[:10])
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"Connection: close" in answer or b"connection: close" in answer.lower()
    assert server.core is not None and server.core.journal.entries()[-1].status == 408


def test_slow_sockets_past_the_cap_do_not_shut_out_a_real_client(serve: Serve) -> None:
    server = serve(max_connections=50, request_timeout=60)
    slow = []
    for _ in range(100):
        sock = connect(server)
        sock.sendall(b"POST /studio/v1/chat/completions HTTP/1.1\r\n")  # and no more
        slow.append(sock)
    try:
        answer = httpx.post(
            server.url + "/studio/v1/chat/completions", content=REQUEST, headers=AUTH, timeout=10
        )
        assert answer.status_code == 200
        open_ones = 0
        for sock in slow:
            sock.settimeout(0.05)
            try:
                open_ones += sock.recv(1) != b""
            except TimeoutError:
                open_ones += 1
            except ConnectionResetError:
                pass
        assert open_ones <= 50, "the longest-waiting ones were closed"
    finally:
        for sock in slow:
            sock.close()


def test_an_over_limit_upload_is_refused_before_it_is_sent(serve: Serve) -> None:
    server = serve(max_body_size=1024)
    with connect(server) as sock:
        sock.sendall(HEAD + b"Content-Length: 100000000\r\nExpect: 100-continue\r\n\r\n")
        started = time.monotonic()
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert b"100 Continue" not in answer
    assert time.monotonic() - started < 2, "closed at once, not after reading (or waiting for) the body"


def test_a_small_upload_is_told_to_continue(serve: Serve) -> None:
    server = serve()
    with connect(server) as sock:
        sock.sendall(
            HEAD
            + b"Content-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
            % len(REQUEST)
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(REQUEST)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_paced_streams_end_when_the_server_stops(tmp_path: Path) -> None:
    """Five streams at 5 s a token kept the server alive 34 s after SIGTERM; now it is gone
    at once (about 0.1 s here; 3 s is well over ten times that)."""
    fixture = bodies.write_fixture(
        tmp_path,
        [
            bodies.PACED_RULE,
            {
                "name": "stalled",
                "match": {"last_user": {"equals": "stall"}},
                "reply": {"content": "x", "fault": {"kind": "stall"}},
            },
        ],
    )
    process, url = start_cli("--fixtures", str(fixture))
    host, port = url.removeprefix("http://").rsplit(":", 1)
    streams = []
    for content in ["pace me"] * 5 + ["stall"] * 2:
        sock = socket.create_connection((host, int(port)))
        body = json.dumps(
            {"model": "jamba-mini", "stream": True, "messages": [{"role": "user", "content": content}]}
        ).encode()
        sock.sendall(full_request(body))
        streams.append(sock)
    time.sleep(0.5)
    started = time.monotonic()
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    finally:
        process.kill()
        for sock in streams:
            sock.close()
    assert time.monotonic() - started < 3
    assert process.returncode == 0
