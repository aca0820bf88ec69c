"""Finding 7: `--workers N` supervision. SIGKILL of one worker stopped the whole server with exit
status 0 and no log line; SIGKILL of the parent left the workers serving the port as orphans.
Now a dead worker is logged and started again, and workers die with their parent."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.adversarial.conftest import start_cli

HEALTH = "/_emulator/health"


class Workers:
    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "stderr.log"
        with self.log.open("w") as stderr:
            self.process, self.url = start_cli("--workers", "2", stderr=stderr)

    def children(self) -> list[int]:
        text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in text.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.stop()


def wait_for(condition: object, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_worker_is_logged_and_started_again(workers: Workers) -> None:
    first, _ = workers.children()
    os.kill(first, signal.SIGKILL)
    assert wait_for(lambda: len(workers.children()) == 2 and first not in workers.children())
    assert workers.process.poll() is None, "the server still runs"
    assert wait_for(lambda: "was killed by SIGKILL; starting it again" in workers.log.read_text())
    for _ in range(20):  # both workers answer (the kernel spreads connections between them)
        assert httpx.get(workers.url + HEALTH, timeout=5).status_code == 200


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_their_parent(workers: Workers) -> None:
    children = workers.children()
    os.kill(workers.process.pid, signal.SIGKILL)
    workers.process.wait()
    assert wait_for(lambda: not any(alive(pid) for pid in children), seconds=5), "no orphan serves the port"
    with pytest.raises(httpx.TransportError):
        httpx.get(workers.url + HEALTH, timeout=2)


ACCESS_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO    aiohttp\.access: 127\.0\.0\.1 "
    r'"POST /studio/v1/chat/completions(\?q+)? HTTP/1\.1" 200 \d+B \d+\.\d{6}s'
)


def test_two_workers_sharing_stderr_write_whole_access_log_lines(tmp_path: Path) -> None:
    """Each worker buffers its access log and writes whole lines, at most PIPE_BUF bytes a write:
    with lines of up to 4 KB from both workers at once, none is cut into another."""
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        process, url = start_cli("--workers", "2", stderr=stderr)
    body = {"model": "jamba-mini", "messages": [{"role": "user", "content": "hi"}]}

    def send(client_number: int) -> None:
        with httpx.Client() as client:
            for request_number in range(25):
                query = "q" * ((client_number * 977 + request_number * 131) % 3900)
                path = "/studio/v1/chat/completions" + (f"?{query}" if query else "")
                client.post(url + path, json=body, headers={"Authorization": "Bearer k"})

    try:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(send, range(16)))
    finally:
        process.terminate()
        process.wait(timeout=20)
    lines = [line for line in log.read_text().splitlines() if "aiohttp.access" in line]
    assert len(lines) == 16 * 25
    assert [line for line in lines if not ACCESS_LINE.fullmatch(line)] == []
