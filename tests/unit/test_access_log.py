"""The emulator's access log writes the line aiohttp's own AccessLogger, through the command's
logging format, wrote: the same text, character for character, but without `logging` on the
request's path; whole lines, flushed on a timer, when full, and at shutdown."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_log import AccessLogger
from jamba_emulator.http import accesslog
from jamba_emulator.logs import FORMAT

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def aiohttps_line(request: web.BaseRequest, response: web.StreamResponse, seconds: float) -> str:
    records: list[logging.LogRecord] = []
    logger = logging.getLogger("aiohttp.access")

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)  # (setLevel, not .level =: it empties isEnabledFor's cache)
    try:
        AccessLogger(logger, accesslog.ACCESS_LOG_FORMAT).log(request, response, seconds)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return logging.Formatter(FORMAT).format(records[0]) + "\n"


@pytest.mark.parametrize(
    "case",
    [
        ("POST", "/studio/v1/chat/completions", 200, b"x" * 512, 0.000812),
        ("GET", "/studio/v1/models?x=%C3%A9&y=1", 404, b"", 12.5),
        ("POST", "/model/ai21.jamba-1-5-mini-v1:0/invoke", 400, b"{}", 0.0),
    ],
)
def test_the_line_is_aiohttps_line(
    monkeypatch: pytest.MonkeyPatch, case: tuple[str, str, int, bytes, float]
) -> None:
    method, path, status, body, seconds = case
    request = make_mocked_request(method, path)
    response = web.Response(status=status, body=body)
    response._body_length = len(body)
    written: list[str] = []
    monkeypatch.setattr(accesslog.BUFFERED, "add", written.append)
    accesslog.AccessLog(logging.getLogger("aiohttp.access"), accesslog.ACCESS_LOG_FORMAT).log(
        request, response, seconds
    )
    expected = aiohttps_line(request, response, seconds)
    (line,) = written
    assert STAMP.match(line) and STAMP.match(expected)
    assert STAMP.sub("", line) == STAMP.sub("", expected)


def test_the_timestamp_is_loggings() -> None:
    now = 1796130264.0571
    record = logging.LogRecord("x", logging.INFO, "", 0, "m", None, None)
    record.created, record.msecs = now, (now - int(now)) * 1000
    assert accesslog.BUFFERED.stamp(now) == logging.Formatter("%(asctime)s").format(record)


def test_lines_are_written_whole_in_writes_of_pipe_buf_or_less(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    monkeypatch.setattr(accesslog, "_write", writes.append)
    lines = [f"line {index} " + "x" * (index * 37 % 900) + "\n" for index in range(200)]
    buffer = accesslog._Buffer()
    for line in lines:
        buffer.add(line)
    buffer.flush()
    assert b"".join(writes).decode() == "".join(lines)
    assert all(len(chunk) <= accesslog.PIPE_BUF and chunk.endswith(b"\n") for chunk in writes)
    assert buffer.lines == [] and buffer.size == 0


def test_a_full_buffer_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []
    monkeypatch.setattr(accesslog, "_write", writes.append)
    buffer = accesslog._Buffer()
    buffer.add("y" * (accesslog.BUFFER - 10) + "\n")
    assert not writes
    buffer.add("z" * 20 + "\n")
    assert sum(map(len, writes)) == (accesslog.BUFFER - 9) + 21


def test_the_write_goes_to_stderr_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "stderr"
    with target.open("w") as stream:
        monkeypatch.setattr("sys.stderr", stream)
        accesslog._write(b"one\n" + b"t" * 10_000 + b"\n")
    assert target.read_bytes() == b"one\n" + b"t" * 10_000 + b"\n"
    assert os.path.getsize(target) == 10_005
