"""How long the pytest fixture takes: the first server of a test session (imports included),
a per-test reset, and another server once the imports are loaded.

    .venv/bin/python bench/fixture_start.py [--runs 5]

Each first start runs in a fresh pytest process (the fixture's setup time as pytest reports it
with --durations, so it is what a user's suite pays); the rest are timed in this process.
Medians, since these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER_TEST = """
def test_first(jamba_emulator):
    assert jamba_emulator.api_host
"""


def first_server_setup(runs: int) -> list[float]:
    """Setup time of the first test using jamba_emulator, in fresh pytest processes."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_start.py").write_text(USER_TEST)
        for _ in range(runs):
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0",
                 "--durations-min=0", "-o", "asyncio_default_fixture_loop_scope=function", "test_start.py"],
                cwd=folder, capture_output=True, text=True, check=True,
            )  # fmt: skip
            match = re.search(r"([\d.]+)s setup\s+test_start.py::test_first", result.stdout)
            if not match:
                raise SystemExit(f"no setup time in pytest's output:\n{result.stdout}")
            times.append(float(match.group(1)))
    return times


COLD_START = """
import time
started = time.perf_counter()
import urllib.request
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer
server = BackgroundServer(Config(port=0))
server.start()
with urllib.request.urlopen(server.url + "/_emulator/health") as answer:
    assert answer.status == 200
print(time.perf_counter() - started)
server.stop()
"""


def cold_start(runs: int) -> list[float]:
    """A fresh interpreter importing the server, starting it and getting a 200: what the fixture
    costs when nothing else in the session has loaded aiohttp yet (pytest-aiohttp does)."""
    return [
        float(subprocess.run([sys.executable, "-c", COLD_START], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(runs)
    ]  # fmt: skip


def in_process(runs: int) -> tuple[list[float], list[float]]:
    from jamba_emulator.config import Config  # noqa: PLC0415
    from jamba_emulator.server import BackgroundServer  # noqa: PLC0415

    with BackgroundServer(Config(port=0)) as warm:  # imports loaded, as after a session's first test
        assert warm.core is not None
        resets = []
        for _ in range(1000):
            started = time.perf_counter()
            warm.core.reset()
            resets.append(time.perf_counter() - started)
        starts = []
        for _ in range(runs * 2):
            started = time.perf_counter()
            other = BackgroundServer(Config(port=0, seed=len(starts)))
            other.start()
            starts.append(time.perf_counter() - started)
            other.stop()
    return resets, starts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    first = first_server_setup(args.runs)
    cold = cold_start(args.runs)
    resets, starts = in_process(args.runs)
    print(f"{'pytest fixture':<46} {'median':>10}   runs")
    print(f"{'first server of a session (imports included)':<46} {statistics.median(first) * 1000:>8.0f} ms"
          f"   {', '.join(f'{t * 1000:.0f}' for t in first)}")  # fmt: skip
    print(f"{'cold: import, start, first 200 (no pytest)':<46} {statistics.median(cold) * 1000:>8.0f} ms"
          f"   {', '.join(f'{t * 1000:.0f}' for t in cold)}")  # fmt: skip
    print(f"{'per-test reset':<46} {statistics.median(resets) * 1e6:>8.1f} µs   1000 resets")
    another = statistics.median(starts) * 1000
    print(f"{'another server, imports loaded':<46} {another:>8.1f} ms   {len(starts)} starts")


if __name__ == "__main__":
    main()
