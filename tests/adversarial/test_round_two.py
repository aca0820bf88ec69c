"""Issue 23, the rest of the campaign: findings 6, 9, 10, 12, 13, 14, 17, 19, 20, 21 and 23-27,
each reproduced as it was found and held to its bounded outcome."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from jamba_emulator.admin_client import MAX_ANSWER
from jamba_emulator.answer.ids import id_source
from jamba_emulator.chat.tokenizer import ApproximateTokenizer
from jamba_emulator.config import Config
from jamba_emulator.contract.memo import MEMO_WEIGHT
from jamba_emulator.core import Core
from jamba_emulator.errors import ConfigError, ValidationFailed
from jamba_emulator.script.journal import (
    BODY_LIMIT,
    ENTRY_SIZE,
    HEADERS_CUT,
    HEADERS_LIMIT,
    Journal,
    Labels,
    Received,
)
from jamba_emulator.testing import AttachedEmulator

from tests.adversarial.conftest import COMMAND, Serve, connect, read_all, start_cli
from tests.support import AUTH

API = "/studio/v1/chat/completions"
CHAT = {"model": "jamba-mini", "messages": [{"role": "user", "content": "hi"}]}
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "a" * 64,
    "X-Amz-Date": "20261201T120000Z",
    "Content-Type": "application/json",
}
CONVERSE = "/model/ai21.jamba-1-5-mini-v1:0/converse"
TWO_TENANTS = b"X-Tenant: first\r\nX-Tenant: second\r\n"


def raw_post(server: Any, body: Any = CHAT, headers: bytes = b"") -> bytes:
    """A chat request written byte by byte (headers no client library would send), and all of
    the answer."""
    raw = json.dumps(body).encode()
    head = b"POST " + API.encode() + b" HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer k\r\n" + headers
    length = b"Content-Length: %d\r\n\r\n" % len(raw)
    with connect(server) as sock:
        sock.sendall(head + b"Content-Type: application/json\r\nConnection: close\r\n" + length + raw)
        return read_all(sock)


# 6. The journal kept whole request headers: about 1 MiB an entry, 1 GB in the default journal.
def test_a_journal_entry_keeps_a_bounded_size_of_headers_and_says_what_it_cut(serve: Serve) -> None:
    server = serve()
    big = {f"X-Filler-{index}": "v" * 8000 for index in range(100)}  # 800 KB of headers
    assert httpx.post(server.url + API, json=CHAT, headers={**AUTH, **big}).status_code == 200
    (entry,) = server.core.journal.entries()  # type: ignore[union-attr]
    kept = sum(len(name) + len(value) for name, value in entry.received_headers[:-1])
    assert kept <= HEADERS_LIMIT
    name, marker = entry.headers[-1]
    assert name == HEADERS_CUT and "more headers" in marker and "not kept" in marker


def test_a_full_journal_of_the_largest_entries_stays_within_its_stated_size() -> None:
    journal = Journal(50)
    headers = tuple((f"x-h{index}".encode(), b"v" * 8000) for index in range(128))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for index in range(120):
        received = Received("POST", "/" + "p" * 8000, headers, float(index), "studio", "s" * 256)
        journal.record(received, b"b" * (1 << 20), 200, Labels("r" * 256), 1.0, retry_after="9" * 10_000)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown <= 50 * ENTRY_SIZE * 1.5, grown  # Python's own overhead aside
    assert all(len(e.raw_body) == BODY_LIMIT and len(e.retry_after or "") <= 256 for e in journal.entries())


# 25. For a repeated header, the journal showed the last value while the server used the first.
def test_the_journal_shows_the_header_value_the_server_used(serve: Serve) -> None:
    server = serve()
    assert raw_post(server, headers=TWO_TENANTS).startswith(b"HTTP/1.1 200")
    listed = httpx.get(server.url + "/_emulator/journal").json()["entries"][-1]
    assert listed["headers"]["X-Tenant"] == "first"


def test_a_rule_reads_the_first_of_a_repeated_header(serve: Serve) -> None:
    server = serve()
    rule = {"match": {"headers": {"X-Tenant": "first"}}, "reply": {"content": "the first"}}
    assert httpx.post(server.url + "/_emulator/rules", json={"rules": [rule]}).status_code == 201
    assert b"the first" in raw_post(server, headers=TWO_TENANTS)


# 6 (the report): `jamba-emulator report` peaked at 612 MB on a journal of 285 MB.
def test_the_report_reads_the_journal_without_its_bodies_and_headers(serve: Serve) -> None:
    server = serve()
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 60_000}]}
    for _ in range(3):
        httpx.post(server.url + API, json=big, headers=AUTH)
    brief = httpx.get(server.url + "/_emulator/journal?view=brief")
    assert brief.status_code == 200 and len(brief.content) < 3 * 1024
    entries = brief.json()["entries"]
    assert all("body" not in entry and "headers" not in entry for entry in entries)
    assert len({entry["body_key"] for entry in entries}) == 1
    report = AttachedEmulator(server.url, None).report()
    assert report.verdicts["duplicate_request"].met


# 12. The admission memo did not count the path: 20,000 Bedrock requests with 7 KB model ids, +95 MB.
def test_the_admission_memo_counts_the_path_in_its_bound(serve: Serve) -> None:
    server = serve()
    core = server.core
    assert core is not None
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]})
    with httpx.Client(base_url=server.url) as client:
        for index in range(1_000):  # 7 MB of paths: past the memo's 4 MiB only if they are counted
            model = f"ai21.jamba-{index}-" + "m" * 7000
            client.post(f"/model/{model}/invoke", content=body, headers=SIGNED)
    memo = core.admission.memo
    held = sum(len(key.params.model or "") for key in memo._kept._entries)  # type: ignore[attr-defined]
    assert memo.weight <= MEMO_WEIGHT
    assert held <= MEMO_WEIGHT


# 10. Unknown field names were echoed uncut into X-Emulator-Ignored-Fields.
def test_a_long_unknown_field_name_is_cut_in_the_header(serve: Serve) -> None:
    server = serve()
    body = {**CHAT, "x" * 100_000: 1}
    head = raw_post(server, body).split(b"\r\n\r\n", 1)[0]
    (line,) = [line for line in head.split(b"\r\n") if line.startswith(b"X-Emulator-Ignored-Fields")]
    assert len(line) < 200 and line.endswith(b"...")
    request = urllib.request.Request(
        server.url + API, json.dumps(body).encode(), {**AUTH, "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


# 9. Converse answered 500 for a toolUse input or toolResult json nested about 990 deep.
@pytest.mark.parametrize("where", ["toolUse", "toolResult"])
def test_a_deeply_nested_converse_tool_value_is_a_validation_exception(serve: Serve, where: str) -> None:
    server = serve()
    deep = '{"a":' * 990 + "1" + "}" * 990
    if where == "toolUse":
        content = f'[{{"toolUse": {{"toolUseId": "t1", "name": "f", "input": {deep}}}}}]'
        asked = '{"role": "user", "content": [{"text": "hi"}]}'
        messages = f'[{asked}, {{"role": "assistant", "content": {content}}}]'
    else:
        content = f'[{{"toolResult": {{"toolUseId": "t1", "content": [{{"json": {deep}}}]}}}}]'
        messages = f'[{{"role": "user", "content": {content}}}]'
    answer = httpx.post(server.url + CONVERSE, content=f'{{"messages": {messages}}}', headers=SIGNED)
    assert answer.status_code == 400 and answer.headers["x-amzn-ErrorType"] == "ValidationException"
    assert "nested more than 255 levels deep" in answer.json()["message"]


# 20. 400,000 stopSequences got "body does not match the request schema".
def test_too_many_converse_stop_sequences_are_named(serve: Serve) -> None:
    server = serve()
    body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "inferenceConfig": {"stopSequences": [f"s{index}" for index in range(400_000)]}}  # fmt: skip
    answer = httpx.post(server.url + CONVERSE, content=json.dumps(body), headers=SIGNED, timeout=30)
    assert answer.status_code == 400
    assert (
        "inferenceConfig.stopSequences: ensure this value has at most 2500 items" in answer.json()["message"]
    )


# 21. A run of spaces counted as one token: 2 MiB of spaces was 20 prompt tokens.
def test_a_run_of_spaces_counts_in_proportion_to_its_length() -> None:
    tokenizer = ApproximateTokenizer()
    assert tokenizer.count(" " * (2 << 20)) == (2 << 20) // 16
    core = Core.build(Config())
    body = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": " " * (5 << 20)}]}
    with pytest.raises(ValidationFailed, match=r"context window|prompt has at least"):
        core.admission.admit(body)


# 26. The SigV4 date accepted non-ASCII digits.
def test_a_sigv4_date_of_other_digits_is_refused(serve: Serve) -> None:
    server = serve()
    arabic = "٢٠٢٦١٢٠١"  # 20261201 in Arabic-Indic digits
    headers = {**SIGNED, "Authorization": SIGNED["Authorization"].replace("20261201", arabic).encode()}
    answer = httpx.post(server.url + CONVERSE.replace("converse", "invoke"), json=CHAT, headers=headers)
    assert answer.status_code == 403


# 27. A test id that is not UTF-8 could not be selected with ?scope=.
def test_a_test_id_that_is_not_utf8_is_refused(serve: Serve) -> None:
    server = serve()
    answer = raw_post(server, headers=b"X-Emulator-Test-Id: caf\xe9\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b"must be UTF-8" in answer
    assert server.core is not None and server.core.journal.entries()[-1].scope is None


# 23. --journal-size 99999999999999999999 crashed with an OverflowError traceback.
def test_a_journal_size_past_its_bound_is_a_clear_error() -> None:
    result = subprocess.run(
        [COMMAND, "--journal-size", "9" * 20], capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--journal-size: must be between 0 (keep nothing) and 100,000 entries" in result.stderr
    with pytest.raises(ConfigError):
        Core.build(Config.from_environ({"JAMBA_EMULATOR_JOURNAL_SIZE": "9" * 20}))


# 24. With --workers and --seed, a restarted worker replayed its ids.
def test_a_restarted_worker_draws_new_ids() -> None:
    first = [id_source(7, 1).next_id() for _ in range(5)]
    again = [id_source(7, 1, restarts=1).next_id() for _ in range(5)]
    assert first == [id_source(7, 1).next_id() for _ in range(5)]  # reproducible
    assert not set(first) & set(again)


# 14. --workers could not start for about 60 s after an earlier run on the port.
def test_workers_start_at_once_on_a_port_just_used(tmp_path: Path) -> None:
    process, url = start_cli()  # one process, as most runs are
    port = url.rsplit(":", 1)[1]
    try:
        for _ in range(20):  # connections closed by the server sit in TIME_WAIT on its side
            httpx.post(url + API, json=CHAT, headers={**AUTH, "Connection": "close"})
    finally:
        process.terminate()
        process.wait(timeout=15)
    again = subprocess.Popen([COMMAND, "--workers", "2", "--port", port], stdout=subprocess.PIPE, text=True)
    try:
        assert again.stdout is not None
        assert "listening on" in again.stdout.readline()
    finally:
        again.terminate()
        again.wait(timeout=15)
        if again.stdout is not None:
            again.stdout.close()


# 13, 17, 19. The attached client: redirects, servers that are not emulators, slow and huge answers.
@contextmanager
def fake_server(handle: Any) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None: ...

        do_GET = do_POST = handle

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads, server.block_on_close = True, False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_attached_client_never_follows_a_redirect_with_its_token() -> None:
    seen: list[str | None] = []

    def elsewhere(handler: Any) -> None:
        seen.append(handler.headers.get("X-Emulator-Admin-Token"))
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(b'{"entries": []}')

    with fake_server(elsewhere) as other:

        def redirect(handler: Any) -> None:
            handler.send_response(307)
            handler.send_header("Location", other + handler.path)
            handler.end_headers()

        with fake_server(redirect) as url, pytest.raises(RuntimeError, match="a redirect"):
            _ = AttachedEmulator(url, "t", admin_token="secret-token").requests
    assert seen == []


def test_report_against_a_server_that_is_not_an_emulator_exits_2() -> None:
    def html(handler: Any) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(b"<html>hello</html>")

    with fake_server(html) as url:
        result = subprocess.run(
            [COMMAND, "report", "--url", url], capture_output=True, text=True, check=False, timeout=60
        )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not an emulator" in result.stderr


def test_the_attached_client_has_an_overall_deadline() -> None:
    def trickle(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            for _ in range(200):  # 10 s at most
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    with fake_server(trickle) as url:
        attached = AttachedEmulator(url, "t")
        attached.TIMEOUT = 1.0  # type: ignore[misc]
        started = time.monotonic()
        with pytest.raises(RuntimeError, match=r"did not answer .* within 1 s"):
            _ = attached.requests
        assert time.monotonic() - started < 5


def test_the_attached_client_refuses_an_answer_past_its_size() -> None:
    def endless(handler: Any) -> None:
        handler.send_response(200)
        handler.end_headers()
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(MAX_ANSWER // len(chunk) + 8):
                handler.wfile.write(chunk)
        except OSError:
            pass

    with fake_server(endless) as url, pytest.raises(RuntimeError, match="longer than"):
        _ = AttachedEmulator(url, "t").requests


def test_the_attached_client_names_an_address_where_nothing_listens() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(RuntimeError, match="no emulator answers"):
        _ = AttachedEmulator(f"http://127.0.0.1:{port}", "t").requests
