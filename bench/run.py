"""The benchmark suite: the emulator against a bare aiohttp reference, measured in the same run.

    .venv/bin/python bench/run.py                 # the full table (about 6 minutes)
    .venv/bin/python bench/run.py --duration 2 --rounds 1   # quicker, noisier
    .venv/bin/python bench/run.py --workers 2     # the emulator with --workers 2

Each server runs pinned to core 0 and the load generator (`wrk`, installed from Debian's packages
if missing) to core 1, on loopback. The emulator runs twice: as `jamba-emulator` starts by
default (access log on, to a file, as a CI job's captured stderr), and quiet (`--log-level
warning`, the valid cases only); the references never log. Both servers run for the whole
table, and each round measures the reference and then every case at each number of connections:
these shared machines drift by 10-20% within minutes, so a ratio is taken between measurements
made moments apart, and the table prints the median of the rounds. For each case and number of
connections it prints requests/s and p50/p99 latency, and the ratio to the reference; then peak
RSS, the --workers scaling, 1,000 paced streams, and start-up times (launch to first 200, median
of 5) for the CLI, the reference and the pytest fixture.

Cases: a valid non-streaming request (the seed's example); the same with a different prompt in
every request (no cache helps: each answer is written and tokenized afresh); an invalid one (422
with a full `detail`); a request offering two tools, answered with a tool call; and a streaming
request of 200 tokens. The reference answers every case the same fixed 400-byte JSON: it is the
cost of aiohttp itself; the stream case's ratio is to the streaming reference, bare aiohttp
writing as many server-sent events of the same mean size as the emulator's stream, in one write.
Last, the access log's cost: the default start against the quiet one in alternating rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVER_CORE, LOAD_CORE = "0", "1"
API_PATH = "/studio/v1/chat/completions"
SEED_EXAMPLE = json.loads(json.loads((ROOT / "fixtures" / "seed-example.json").read_text())["request_body"])


def long_answer_prompt(tokens: int = 200) -> str:
    """A prompt whose generated answer (default seed) runs past `tokens`, so a stream with that
    max_tokens sends exactly `tokens` content chunks."""
    from jamba_emulator.config import Config  # noqa: PLC0415
    from jamba_emulator.core import Core  # noqa: PLC0415

    core = Core.build(Config())
    for attempt in range(1000):
        prompt = f"Tell me a long story, take {attempt}"
        request = core.admission.admit({**SEED_EXAMPLE, "messages": [{"role": "user", "content": prompt}]})
        if len(core.tokenizer.tokenize(core.generator.answer(request.request))) > tokens:
            return prompt
    raise SystemExit(f"no prompt among 1000 has an answer of {tokens} tokens")


WEATHER = {
    "type": "object",
    "required": ["city"],
    "properties": {
        "city": {"type": "string"},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
}
EMAIL = {"type": "object", "properties": {"to": {"type": "string", "format": "email"}}}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "The weather in a city", "parameters": WEATHER},
    },
    {
        "type": "function",
        "function": {"name": "send_email", "description": "Send an email", "parameters": EMAIL},
    },
]
CASES: dict[str, dict[str, object]] = {
    "valid": SEED_EXAMPLE,  # the seed's example, byte for byte in meaning
    "valid, new prompts": SEED_EXAMPLE,  # the prompt numbered afresh in every request (LUA_NUMBERED)
    "invalid (422)": {**SEED_EXAMPLE, "temperature": 5, "top_p": 0, "max_tokens": -1},
    # The same 422 with its prompt numbered afresh: no kept admission helps (a search every time).
    "invalid (422), new bodies": {**SEED_EXAMPLE, "temperature": 5, "top_p": 0, "max_tokens": -1},
    # The later API's path: two tools offered, the answer calls one with arguments from its schema.
    "tool call (jamba-mini)": {
        "model": "jamba-mini",
        "messages": [{"role": "user", "content": "What is the weather in Paris this weekend?"}],
        "tools": TOOLS,
    },
    "stream, 200 tokens": {
        **SEED_EXAMPLE,
        "messages": [{"role": "user", "content": long_answer_prompt()}],
        "stream": True,
    },
}
LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
"""
# The same, with the first user message's content prefixed by a request number: no two alike.
LUA_NUMBERED = (
    LUA
    + """
local number = 0
local head, tail = string.match(wrk.body, '^(.-"content": ")(.*)$')
request = function()
    number = number + 1
    return wrk.format(nil, nil, nil, head .. "Request " .. number .. ". " .. tail)
end
"""
)
NUMBERED_CASES = {"valid, new prompts", "invalid (422), new bodies"}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing Debian's package (apt-get install wrk) ...", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still missing; install it (apt-get install wrk) and run again")
    return found


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> float:
    """Seconds until `url` answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.005)
    raise SystemExit(f"{url} did not answer within {timeout} s")


class Server:
    def __init__(
        self,
        name: str,
        command: list[str],
        port: int,
        health: str,
        cores: str = SERVER_CORE,
        *,
        log: bool = False,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name, self.command, self.port, self.health, self.cores = name, command, port, health, cores
        self.env = {**os.environ, **env} if env else None
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile() if log else None  # noqa: SIM115  (closed in stop)
        """Where the server's stderr goes when it logs (its access log): a file, as a CI job's."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        launched = time.perf_counter()
        self.process = subprocess.Popen(
            ["taskset", "-c", self.cores, *self.command],
            stdout=subprocess.DEVNULL,
            stderr=self.log or subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
        )
        wait_ready(self.url + self.health, self.process)
        return time.perf_counter() - launched

    def peak_rss_mb(self) -> float:
        """The largest resident set of the server and its children (workers), in MB."""
        assert self.process is not None
        total = 0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            total += int(match.group(1)) if match else 0
        return total / 1024

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def logged_lines(self) -> int:
        if self.log is None:
            return 0
        self.log.seek(0)
        return sum(1 for _ in self.log)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def emulator(port: int, workers: int = 1, *extra: str, quiet: bool = True) -> Server:
    """The emulator; `quiet` with --log-level warning, else as `jamba-emulator` starts (access log on)."""
    command = [
        sys.executable,
        "-m",
        "jamba_emulator",
        "--port",
        str(port),
        *(["--log-level", "warning"] if quiet else []),
        *extra,
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
    # Several workers get every core (the load generator's too): that is what they are for.
    cores = SERVER_CORE if workers == 1 else f"0-{(os.cpu_count() or 1) - 1}"
    return Server("emulator", command, port, "/_emulator/health", cores, log=not quiet)


PACED = {
    "rules": [
        {"match": {"params": {"stream": True}}, "reply": {"timing": {"first_token_ms": 50, "token_ms": 20}}}
    ]
}


def paced_streams(wrk: str, clients: int, duration: float) -> None:
    """`clients` streams at once, each paced at 20 ms a token (50 tokens: about 1 s a stream)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, clients * 4)), hard))
    with tempfile.TemporaryDirectory() as folder:
        fixture = Path(folder, "paced.json")
        fixture.write_text(json.dumps(PACED))
        server = emulator(free_port(), 1, "--fixtures", str(fixture), "--journal-size", "100")
        server.start()
        try:
            body = {**SEED_EXAMPLE, "stream": True, "max_tokens": 50}
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write(LUA.format(body=json.dumps(json.dumps(body))))
            out = subprocess.run(
                ["taskset", "-c", LOAD_CORE, wrk, "-t1", f"-c{clients}", f"-d{duration:g}s",
                 "--timeout", "10s", "--latency", "-s", script.name, server.url + API_PATH],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            os.unlink(script.name)
            rss = server.peak_rss_mb()
        finally:
            server.stop()
    result, errors = parse_wrk(out), re.search(r"Socket errors: (.*)", out)
    print(
        f"\n{clients} concurrent paced streams (50 tokens, 20 ms each) for {duration:g} s: "
        f"{result.requests} streams completed, p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
        f"non-2xx {result.non_2xx}, socket errors: {errors.group(1) if errors else 'none'}; "
        f"peak RSS {rss:.0f} MB"
    )


def reference(port: int, stream: tuple[int, int] | None = None) -> Server:
    """Bare aiohttp; with `stream` (events, bytes each), a streaming request gets that many events."""
    shape = [str(stream[0]), str(stream[1])] if stream else []
    return Server(
        "reference", [sys.executable, str(HERE / "reference_server.py"), str(port), *shape], port, "/health"
    )


def stream_shape(body: dict[str, object]) -> tuple[int, int]:
    """How many events the emulator's stream of `body` has, and their mean size in bytes."""
    from jamba_emulator.config import Config  # noqa: PLC0415
    from jamba_emulator.core import Core  # noqa: PLC0415
    from jamba_emulator.http.surfaces.studio import STUDIO  # noqa: PLC0415

    core = Core.build(Config())
    completion = core.generator.complete(core.admission.admit(dict(body)).request)
    events = STUDIO.stream_events(completion, core.ids.next_id())
    return len(events), round(sum(map(len, events)) / len(events))


def drive(
    wrk: str,
    url: str,
    body: dict[str, object],
    connections: int,
    duration: float,
    *,
    numbered: bool = False,
    path: str = API_PATH,
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write((LUA_NUMBERED if numbered else LUA).format(body=json.dumps(json.dumps(body))))
    try:
        out = subprocess.run(
            ["taskset", "-c", LOAD_CORE, wrk, "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency",
             "-s", script.name, url + path],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    return parse_wrk(out)


def parse_wrk(out: str) -> Result:
    return Result(
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_millis(_find(r"50%\s+([\d.]+\w+)", out)),
        p99_ms=_millis(_find(r"99%\s+([\d.]+\w+)", out)),
        non_2xx=int(_find(r"Non-2xx or 3xx responses:\s+(\d+)", out, "0")),
        requests=int(_find(r"(\d+) requests in", out)),
    )


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match:
        return match.group(1)
    if default is not None:
        return default
    raise SystemExit(f"wrk's output has no {pattern!r}:\n{text}")


def _millis(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def start_times(server_for_port: Callable[[int], Server], runs: int) -> list[float]:
    """Launch to first 200, `runs` times."""
    times = []
    for _ in range(runs):
        server = server_for_port(free_port())
        times.append(server.start())
        server.stop()
    return times


QUIET_CASES = ("valid", "valid, new prompts")
STREAM_CASE = "stream, 200 tokens"


def table(wrk: str, levels: list[int], rounds: int, duration: float) -> dict[int, float]:
    """Print the table; returns the reference's median requests/s at each number of connections."""
    ref = reference(free_port(), stream_shape(CASES[STREAM_CASE]))
    emu, quiet = emulator(free_port(), quiet=False), emulator(free_port())
    for server in (ref, emu, quiet):
        server.start()
    runs: dict[tuple[str, int], list[Result]] = {}
    try:
        for round_number in range(rounds):
            print(f"round {round_number + 1} of {rounds} ...", file=sys.stderr)
            for c in levels:
                runs.setdefault(("reference", c), []).append(drive(wrk, ref.url, CASES["valid"], c, duration))
                stream_ref = drive(wrk, ref.url, CASES[STREAM_CASE], c, duration)
                runs.setdefault(("reference, stream", c), []).append(stream_ref)
                for case, body in CASES.items():
                    result = drive(wrk, emu.url, body, c, duration, numbered=case in NUMBERED_CASES)
                    runs.setdefault((case, c), []).append(result)
                for case in QUIET_CASES:
                    result = drive(wrk, quiet.url, CASES[case], c, duration, numbered=case in NUMBERED_CASES)
                    runs.setdefault((f"{case}, quiet", c), []).append(result)
        ref_rss, emu_rss = ref.peak_rss_mb(), emu.peak_rss_mb()
        logged = emu.logged_lines()
    finally:
        for server in (ref, emu, quiet):
            server.stop()

    print(f"medians of {rounds} rounds of {duration:g} s; ratios to the reference measured alongside")
    print(f"(the default start's access log wrote {logged} lines; quiet: --log-level warning)")
    print(f"{'case':<26} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'p99 ratio':>9}")
    rows = ["reference", "reference, stream", *CASES, *(f"{case}, quiet" for case in QUIET_CASES)]
    for case in rows:
        base_case = "reference, stream" if case in (STREAM_CASE, "reference, stream") else "reference"
        for c in levels:
            results, bases = runs[(case, c)], runs[(base_case, c)]
            rps = statistics.median(r.rps for r in results)
            p50 = statistics.median(r.p50_ms for r in results)
            p99 = statistics.median(r.p99_ms for r in results)
            ratios = [r.rps / base.rps for r, base in zip(results, bases, strict=True)]
            p99_ratios = [r.p99_ms / base.p99_ms for r, base in zip(results, bases, strict=True)]
            expected = sum(r.requests for r in results) if case.startswith("invalid") else 0
            unexpected = sum(r.non_2xx for r in results)
            flag = "" if unexpected == expected else f"  ({unexpected} unexpected statuses!)"
            print(
                f"{case:<26} {c:>5} {rps:>9.0f} {p50:>8.2f} {p99:>8.2f} "
                f"{statistics.median(ratios):>6.2f} {statistics.median(p99_ratios):>9.2f}{flag}"
            )
    print(f"\npeak RSS: emulator {emu_rss:.0f} MB, reference {ref_rss:.0f} MB")
    baseline = {c: statistics.median(r.rps for r in runs[("reference", c)]) for c in levels}
    return baseline


def access_log_cost(wrk: str, rounds: int, duration: float, connections: int = 64) -> None:
    """The default start (access log on) against the quiet one, alternating, `rounds` times."""
    emu, quiet = emulator(free_port(), quiet=False), emulator(free_port())
    emu.start()
    quiet.start()
    ratios = []
    try:
        for round_number in range(rounds):  # in turn first and second, so that drift cancels out
            order = [emu, quiet] if round_number % 2 == 0 else [quiet, emu]
            rps = {
                server.port: drive(wrk, server.url, CASES["valid"], connections, duration).rps
                for server in order
            }
            ratios.append(rps[emu.port] / rps[quiet.port])
    finally:
        emu.stop()
        quiet.stop()
    print(
        f"\naccess log: the default start at {statistics.median(ratios):.2f}x the quiet one's requests/s "
        f"({connections} connections, median of {rounds} alternating rounds; "
        f"spread {min(ratios):.2f}-{max(ratios):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement (default: 3)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the table; medians are printed (default: 3)"
    )
    parser.add_argument("--connections", default="1,10,64", help="comma-separated (default: 1,10,64)")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts for the scaling row, valid requests (default: 1,2)"
    )
    parser.add_argument("--streams", type=int, default=1000, help="concurrent paced streams (default: 1000)")
    parser.add_argument(
        "--starts", type=int, default=5, help="start-ups to time for the medians (default: 5)"
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="instead: install llmock (PyPI) and @dwmkerr/mock-llm (npm) and measure them beside the "
        "emulator (needs npm and the registries; bench/peers.py)",
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    levels = [int(c) for c in args.connections.split(",")]
    if args.peers:
        from peers import peers_table  # noqa: PLC0415  (bench/ is on the path: this script's folder)

        peers_table(wrk, max(args.rounds, 5), args.duration)
        return

    baseline = table(wrk, levels, args.rounds, args.duration)

    for count in (int(n) for n in args.workers.split(",")):
        scaled = emulator(free_port(), count)
        scaled.start()
        try:
            r = drive(wrk, scaled.url, CASES["valid"], levels[-1], args.duration)
        finally:
            scaled.stop()
        print(
            f"--workers {count}: valid, {levels[-1]} connections: {r.rps:.0f} req/s "
            f"({r.rps / baseline[levels[-1]]:.2f}x the one-process reference's median), p99 {r.p99_ms:.2f} ms"
        )

    access_log_cost(wrk, max(args.rounds, 5), args.duration)

    paced_streams(wrk, args.streams, max(args.duration, 5))

    emu_starts = start_times(lambda port: emulator(port, 1), args.starts)
    ref_starts = start_times(reference, args.starts)
    emu_start, ref_start = statistics.median(emu_starts), statistics.median(ref_starts)
    print(
        f"start-up to first 200 (median of {args.starts}): emulator CLI {emu_start:.3f} s, "
        f"reference {ref_start:.3f} s, ratio {emu_start / ref_start:.2f}"
    )
    sys.path.insert(0, str(HERE))
    from fixture_start import first_server_setup  # noqa: PLC0415

    fixture = first_server_setup(args.starts)
    print(f"pytest fixture, first server of a session: {statistics.median(fixture):.3f} s (median)")


if __name__ == "__main__":
    main()
