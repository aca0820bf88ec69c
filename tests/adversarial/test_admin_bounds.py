"""Issue 23, findings 1, 3, 7, 8, 15, 16, 18 and 22: the admin API, fixture files and hot reload,
bounded as the chat route is.

1. An admin request's body had no deadline (one byte of 100: open for ever) and no limit of its
   own (`Expect: 100-continue` for 1 GB: no answer at all).
3. Fixture documents were validated by `jsonschema` on the event loop, every error listed:
   `{"rules": [1]*50000}` froze the loop 5-8 s and answered 7.3 MiB.
7. Hot reload ran on the event loop; a FIFO named *.json blocked it for ever; a symlink to
   /dev/zero read until memory ran out.
8. Hot reload stopped for good after a RecursionError or a MemoryError.
15. A 401 decided before the body was read was held until the body came (or the timeout).
16. Unknown paths and 405s answered `100 Continue` to a 1 GB upload.
18. A regex nested 3,000 deep printed a 3,000-line traceback instead of naming the rule.
22. CONNECT and `OPTIONS *` got aiohttp's plain-text 404, not JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from jamba_emulator.config import Config
from jamba_emulator.core import Core
from jamba_emulator.errors import FixtureError, PatternError
from jamba_emulator.http import admin, reload
from jamba_emulator.script.fixtures import MAX_DOCUMENT, MAX_PROBLEMS, rules_from
from jamba_emulator.script.patterns import Pattern

from tests.adversarial.conftest import COMMAND, Serve, connect, read_all

RULES_HEAD = b"POST /_emulator/rules HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
DEEP_REGEX = "(" * 3000 + "a" + ")" * 3000
DEEP_JSON = '{"description": ' + "[" * 5000 + "]" * 5000 + ', "rules": []}'


def rule_file(folder: Path, *rules: dict[str, Any], name: str = "rules.json") -> Path:
    path = folder / name
    path.write_text(json.dumps({"rules": list(rules)}))
    return path


def test_an_admin_body_that_stops_half_way_gets_a_408(serve: Serve) -> None:
    server = serve(request_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(RULES_HEAD + b"Content-Length: 100\r\n\r\n{")
        started = time.monotonic()
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 3


def test_an_admin_upload_past_its_limit_is_refused_before_it_is_sent(serve: Serve) -> None:
    server = serve()
    with connect(server) as sock:
        sock.sendall(RULES_HEAD + b"Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"100 Continue" not in answer
    assert f"limit of {MAX_DOCUMENT} bytes".encode() in answer


def test_an_admin_body_past_its_limit_without_a_length_is_refused(serve: Serve) -> None:
    server = serve()

    def chunks() -> Any:
        yield b'{"rules": ['
        for _ in range(MAX_DOCUMENT // 56_000 + 2):
            yield b'{"reply": {"content": "x"}},' * 2_000

    answer = httpx.post(
        server.url + "/_emulator/rules", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413


@pytest.mark.parametrize("path", ["/nowhere", "/_emulator/nowhere", "/_emulator/health"])
def test_routes_that_read_no_body_never_invite_an_upload(serve: Serve, path: str) -> None:
    server = serve()
    with connect(server) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n".encode()
        sock.sendall(head + b"Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n")
        started = time.monotonic()
        answer = read_all(sock)
    assert answer.startswith((b"HTTP/1.1 404", b"HTTP/1.1 405")), answer[:200]
    assert b"100 Continue" not in answer
    assert time.monotonic() - started < 3


def test_an_answer_decided_from_the_head_is_not_held_for_the_body(serve: Serve) -> None:
    server = serve(api_keys=("right",), request_timeout=5)
    with connect(server, timeout=10) as sock:
        sock.sendall(
            b"POST /studio/v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer wrong\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        sock.settimeout(2)
        started = time.monotonic()
        first = sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 401"), first[:200]
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("head", [b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
                                  b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n"])  # fmt: skip
def test_a_target_that_is_no_path_gets_a_json_404(serve: Serve, head: bytes) -> None:
    server = serve()
    with connect(server, timeout=2) as sock:
        sock.sendall(head)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 404")
    assert b"Content-Type: application/json" in answer and answer.endswith(b'{"detail":"Not Found"}')


def test_a_document_of_many_bad_rules_is_answered_briefly(serve: Serve) -> None:
    """50,000 bad rules (100 KB): the answer lists MAX_PROBLEMS rules and counts the rest."""
    server = serve()
    started = time.monotonic()
    answer = httpx.post(server.url + "/_emulator/rules", json={"rules": [1] * 9_000}, timeout=30)
    assert time.monotonic() - started < 3
    assert answer.status_code == 400 and len(answer.content) < 20_000
    detail = answer.json()["detail"]
    assert f"rule {MAX_PROBLEMS}: " in detail and f"rule {MAX_PROBLEMS + 1}: " not in detail
    assert f"and {9_000 - MAX_PROBLEMS:,} more rules that are not valid rules" in detail


def test_a_large_document_is_checked_off_the_event_loop(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked_on: list[str] = []
    original = admin.rules_from

    def spy(*args: Any) -> Any:
        checked_on.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(admin, "rules_from", spy)
    server = serve()
    rules = [
        {"match": {"last_user": {"equals": f"q{index}"}}, "reply": {"content": "a"}} for index in range(5_000)
    ]
    answer = httpx.post(server.url + "/_emulator/rules", json={"rules": rules}, timeout=30)
    assert answer.status_code == 201 and len(answer.json()["added"]) == 5_000
    assert checked_on and all(name.startswith("asyncio") for name in checked_on), checked_on


def test_a_fifo_among_the_fixtures_is_refused_at_start_not_waited_on(tmp_path: Path) -> None:
    rule_file(tmp_path, {"reply": {"content": "x"}})
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(FixtureError, match=r"pipe\.json: not a regular file"):
        Core.build(Config(fixtures=(str(tmp_path),)))


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    with pytest.raises(FixtureError, match=r"zero\.json: not a regular file"):
        Core.build(Config(fixtures=(str(tmp_path),)))


def test_a_fixture_file_past_the_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as file:
        file.truncate(MAX_DOCUMENT + 1)
    with pytest.raises(FixtureError, match=r"big.json: 4,194,305 bytes; a fixture file holds at most 4 MiB"):
        Core.build(Config(fixtures=(str(big),)))


def test_reload_runs_off_the_loop_and_survives_what_would_have_stopped_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FIFO, JSON nested 5,000 deep and a MemoryError each leave the old rules in force, and a
    good edit after them is still picked up."""
    path = rule_file(tmp_path, {"reply": {"content": "first"}})
    core = Core.build(Config(fixtures=(str(tmp_path),)))
    seen = reload.snapshot(core.config.fixtures)
    original = reload.load_fixtures

    def load(config: Config) -> Any:
        if (tmp_path / "boom").exists():
            raise MemoryError
        return original(config)

    monkeypatch.setattr(reload, "load_fixtures", load)

    def changed(edit: Any) -> None:
        nonlocal seen
        edit()
        seen = reload.reload_if_changed(core, seen)

    caplog.set_level(logging.INFO, "jamba_emulator")
    changed(lambda: os.mkfifo(tmp_path / "pipe.json"))
    changed((tmp_path / "pipe.json").unlink)
    changed(lambda: path.write_text(DEEP_JSON))
    changed(lambda: (tmp_path / "boom").write_text("") or rule_file(tmp_path, {"reply": {"content": "oom"}}))
    assert [rule.replies[0].content for rule in core.script.rules()] == ["first"]
    assert "not a regular file" in caplog.text and "nested too deeply" in caplog.text
    assert "MemoryError" in caplog.text
    changed(lambda: (tmp_path / "boom").unlink() or rule_file(tmp_path, {"reply": {"content": "second"}}))
    assert [rule.replies[0].content for rule in core.script.rules()] == ["second"]


async def test_the_watcher_reloads_on_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = rule_file(tmp_path, {"reply": {"content": "first"}})
    core = Core.build(Config(fixtures=(str(path),)))
    threads: list[str] = []
    original = reload.reload_if_changed

    def spy(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(reload, "reload_if_changed", spy)
    watch = reload.watcher(core, interval=0.01)(None)  # type: ignore[arg-type]
    await watch.__anext__()
    await asyncio.sleep(0.2)
    with pytest.raises(StopAsyncIteration):
        await watch.__anext__()
    assert threads and threading.main_thread().name not in threads


def test_check_and_the_start_name_a_rule_nested_too_deeply(tmp_path: Path) -> None:
    path = rule_file(
        tmp_path, {"name": "deep", "match": {"last_user": {"regex": DEEP_REGEX}}, "reply": {"content": "x"}}
    )
    result = subprocess.run([COMMAND, "check", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "rule 1 ('deep'): match.last_user.regex: a regex is a string of at most 1,000" in result.stderr
    assert len(result.stderr.splitlines()) <= 3
    started = subprocess.run(
        [COMMAND, "--port", "0", "--fixtures", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert started.returncode == 2 and "Traceback" not in started.stderr
    assert "rule 1 ('deep'): match.last_user.regex: " in started.stderr


def test_a_pattern_python_cannot_parse_for_its_depth_is_named_not_raised() -> None:
    with pytest.raises(PatternError, match=r"nested too deeply|not a pattern RE2 runs"):
        Pattern("(" * 1500 + "a" + ")" * 1500 + "\\1")


def test_one_rule_of_many_errors_lists_at_most_max_errors(serve: Serve) -> None:
    server = serve(max_errors=50)
    rule = {"match": {"tools": [1] * 5_000}, "reply": {"content": "x"}}
    answer = httpx.post(server.url + "/_emulator/rules", json={"rules": [rule]}, timeout=30)
    assert answer.status_code == 400
    lines = answer.json()["detail"].splitlines()
    assert len(lines) == 51 and lines[-1].endswith("more problems not listed")


def test_an_oversized_invalid_rule_is_named_for_its_size_not_checked_field_by_field() -> None:
    rule = {"match": {"tools": [1] * 40_000}, "reply": {"content": "x"}}
    started = time.process_time()
    with pytest.raises(FixtureError, match=r"rule 1: [\d,]+ bytes as JSON; a rule takes at most 64 KiB"):
        rules_from({"rules": [rule]}, "big.json")
    assert time.process_time() - started < 1
