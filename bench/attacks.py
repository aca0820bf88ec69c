"""What an attacker's requests cost the emulator: each attack body of the adversarial suite sent
to a real `jamba-emulator` process, with the server's own CPU time, the wall time, the status, the
growth of its memory, and how long a health check sent meanwhile waited.

    .venv/bin/python bench/attacks.py               # every attack, median of 5 (a few minutes)
    .venv/bin/python bench/attacks.py --rounds 1    # quicker
    .venv/bin/python bench/attacks.py --list        # the attacks, by finding
    .venv/bin/python bench/attacks.py many-empty-messages file-ref

CPU time is read from the server's /proc/PID/schedstat (nanoseconds on a CPU), so it counts what
the server spent, not what the machine's other load took; the target is 0.5 s per attack body.
The bodies are those of tests/adversarial/bodies.py, so the suite and this script send the same.
Findings of the second campaign (issue 23) are numbered 23.N.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.adversarial import bodies  # noqa: E402

API_PATH = "/studio/v1/chat/completions"
TARGET_CPU_S = 0.5


def cpu_ns(pid: int) -> int:
    """Nanoseconds the process has run on a CPU, every thread of it (the admin API and the
    reload work on threads of their own)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Emulator:
    """A `jamba-emulator` process on a free port, its log kept in a file."""

    def __init__(self, *flags: str) -> None:
        self.fixture = flags[flags.index("--fixtures") + 1] if "--fixtures" in flags else ""
        handle, name = tempfile.mkstemp(prefix="jamba-attack-", suffix=".log")
        self.log = Path(name)
        command = [str(Path(sys.executable).parent / "jamba-emulator"), "--port", "0", *flags]
        with os.fdopen(handle, "w") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"jamba-emulator did not start: {line!r}; log in {self.log}")
        self.url = line.split("listening on", 1)[1].split()[0]
        self.host, port = self.url.removeprefix("http://").rsplit(":", 1)
        self.port = int(port)
        self.pid = self.process.pid

    def connection(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def post(
        self, body: bytes, headers: dict[str, str] | None = None, path: str = API_PATH
    ) -> tuple[int, bytes]:
        connection = self.connection()
        try:
            sent = {
                "Authorization": "Bearer attack-key",
                "Content-Type": "application/json",
                **(headers or {}),
            }
            connection.request("POST", path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            return 0, str(error).encode()
        finally:
            connection.close()

    def get(self, path: str, timeout: float = 120) -> tuple[int, bytes]:
        connection = self.connection(timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def log_lines(self) -> int:
        return len(self.log.read_bytes().splitlines())

    def stop(self) -> float:
        """SIGTERM, then seconds until the process is gone (SIGKILL after 30 s)."""
        started = time.perf_counter()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.unlink()
        return time.perf_counter() - started


class HealthProbe:
    """Health checks every 50 ms on a thread while an attack runs; the longest wait."""

    def __init__(self, server: Emulator) -> None:
        self.server, self.longest, self.failed = server, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                self.server.get("/_emulator/health", timeout=60)
            except OSError:
                self.failed += 1
            self.longest = max(self.longest, time.perf_counter() - started)
            self._stop.wait(0.05)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Measured:
    status: str
    cpu_s: float
    wall_s: float
    rss_growth_mb: float = 0.0
    health_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    answer: bytes = b""


def one_request(server: Emulator, body: bytes, path: str = API_PATH, **headers: str) -> Measured:
    before, rss = cpu_ns(server.pid), rss_mb(server.pid)
    started = time.perf_counter()
    with HealthProbe(server) as probe:
        status, answer = server.post(body, headers, path=path)
    wall = time.perf_counter() - started
    measured = Measured(str(status), (cpu_ns(server.pid) - before) / 1e9, wall, rss_mb(server.pid) - rss)
    measured.health_s = probe.longest
    measured.answer = answer
    if status == 422 and answer.startswith(b'{"detail":['):
        measured.notes.append(f"{len(json.loads(answer)['detail'])} items")
    return measured


@dataclass
class Attack:
    name: str
    finding: int
    what: str
    run: Callable[[Emulator], Measured]
    flags: tuple[str, ...] = ()
    rounds: int | None = None
    """Fixed rounds (an attack that measures growth over many requests runs once)."""
    rules: tuple[dict[str, object], ...] = ()
    """Fixture rules the server starts with."""


def _same(build: Callable[[], bytes]) -> Callable[[Emulator], Measured]:
    """The same body every round (one no cache keeps: a 422, or a body too large to keep)."""
    return lambda server: one_request(server, build())


def _vllm(path: str, build: Callable[[], bytes]) -> Callable[[Emulator], Measured]:
    """The same body every round, to a path of the vllm surface (no Authorization needed)."""
    return lambda server: one_request(server, build(), path=path)


def _body_attack(make: Callable[[str], bytes]) -> Callable[[Emulator], Measured]:
    """Each round's body made afresh with a new nonce where it takes one, so that no round is
    answered from a cache the one before filled."""
    rounds = iter(range(1_000_000))
    return lambda server: one_request(server, make(f"round {next(rounds)}"))


def file_ref(server: Emulator) -> Measured:
    with tempfile.TemporaryDirectory() as folder:
        secret = Path(folder) / "secret.json"
        secret.write_text(json.dumps(bodies.secret_document()))
        measured = one_request(server, bodies.file_ref(secret))
        measured.notes.append(
            "the secret in the answer" if bodies.SECRET.encode() in measured.answer else "secret absent"
        )
    return measured


def network_ref(server: Emulator) -> Measured:
    with socket.socket() as listener:  # accepts connections and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.1)
        port = listener.getsockname()[1]
        connected: list[object] = []

        def accept() -> None:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and not connected:
                try:
                    connected.append(listener.accept())
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        measured = one_request(server, bodies.network_ref(port))
        time.sleep(0.2)
        measured.notes.append("the server connected to the listener" if connected else "no connection made")
        connected.append(None)
        thread.join()
    return measured


def distinct_stops(server: Emulator) -> Measured:
    rss = rss_mb(server.pid)
    before, started = cpu_ns(server.pid), time.perf_counter()
    statuses = set()
    for index in range(25):
        status, _ = server.post(bodies.long_stop_list(index))
        statuses.add(status)
    server.post(b"{}", path="/_emulator/reset")
    return Measured(
        ",".join(map(str, sorted(statuses))),
        (cpu_ns(server.pid) - before) / 1e9 / 25,
        (time.perf_counter() - started) / 25,
        rss_mb(server.pid) - rss,
        notes=["25 requests with distinct ~4 MB stop lists, then a reset; CPU and wall per request"],
    )


def rate_limit_keys(server: Emulator) -> Measured:
    rss = rss_mb(server.pid)
    before, started = cpu_ns(server.pid), time.perf_counter()
    connection = server.connection()
    body = bodies.seed_request()
    count = 20_000
    statuses = set()
    for index in range(count):
        connection.request("POST", API_PATH, body=body, headers={"Authorization": f"Bearer key-{index}"})
        response = connection.getresponse()
        response.read()
        statuses.add(response.status)
    connection.close()
    return Measured(
        ",".join(map(str, sorted(statuses))),
        (cpu_ns(server.pid) - before) / 1e9 / count,
        (time.perf_counter() - started) / count,
        rss_mb(server.pid) - rss,
        notes=[f"{count} distinct API keys with --rate-limit 2/s,60/min; CPU and wall per request"],
    )


def warnings_logged(server: Emulator) -> Measured:
    lines = server.log_lines()
    measured = one_request(server, bodies.consecutive_user_messages(52_000))
    time.sleep(0.2)
    measured.notes.append(f"{server.log_lines() - lines} log lines")
    return measured


def journal_listing(server: Emulator) -> Measured:
    body = bodies.large_journal_entry()
    connection = server.connection()
    for _ in range(1000):
        connection.request("POST", API_PATH, body=body, headers={"Authorization": "Bearer k"})
        connection.getresponse().read()
    connection.close()
    before, started = cpu_ns(server.pid), time.perf_counter()
    with HealthProbe(server) as probe:
        status, answer = server.get("/_emulator/journal")
    measured = Measured(str(status), (cpu_ns(server.pid) - before) / 1e9, time.perf_counter() - started)
    measured.health_s = probe.longest
    measured.notes.append(f"{len(answer) // 1024} KiB answered")
    server.post(b"", path="/_emulator/reset")
    return measured


regex_rounds = iter(range(1_000_000))


def regex_rule(server: Emulator) -> Measured:
    return one_request(server, bodies.regex_victim(24, f" round {next(regex_rounds)}"))


def paced_streams_at_shutdown(server: Emulator) -> Measured:
    """Five streams paced at 5 s a token, then SIGTERM: how long until the process is gone."""
    connections = []
    for _ in range(5):
        connection = server.connection()
        connection.request(
            "POST", API_PATH, body=bodies.paced_stream(), headers={"Authorization": "Bearer k"}
        )
        connections.append(connection)
    time.sleep(0.5)
    started = time.perf_counter()
    server.process.terminate()
    try:
        server.process.wait(timeout=60)
        gone = time.perf_counter() - started
    except subprocess.TimeoutExpired:
        server.process.kill()
        gone = float("inf")
    for connection in connections:
        connection.close()
    return Measured("exit", 0.0, gone, notes=[f"exit code {server.process.returncode}"])


def _admin_post(body: Callable[[str], bytes]) -> Callable[[Emulator], Measured]:
    """POST /_emulator/rules with each round's document, then the rules reset."""
    rounds = iter(range(1_000_000))

    def attack(server: Emulator) -> Measured:
        measured = one_request(server, body(f"r{next(rounds)}-"), path="/_emulator/rules")
        measured.notes.append(f"{len(measured.answer) // 1024} KiB answered")
        server.post(b"", path="/_emulator/reset")
        return measured

    return attack


def _signed(path: str, build: Callable[[], bytes]) -> Callable[[Emulator], Measured]:
    return lambda server: one_request(server, build(), path=path, **bodies.SIGNED)


def huge_headers(server: Emulator) -> Measured:
    rss = rss_mb(server.pid)
    before, started = cpu_ns(server.pid), time.perf_counter()
    count = 300
    for _ in range(count):
        server.post(bodies.seed_request(), bodies.HUGE_HEADERS)
    measured = Measured(
        "200", (cpu_ns(server.pid) - before) / 1e9 / count, (time.perf_counter() - started) / count
    )
    measured.rss_growth_mb = rss_mb(server.pid) - rss
    measured.notes.append(f"{count} requests with 800 KB of headers each; CPU and wall per request")
    server.post(b"", path="/_emulator/reset")
    return measured


def long_model_ids(server: Emulator) -> Measured:
    rss = rss_mb(server.pid)
    before, started = cpu_ns(server.pid), time.perf_counter()
    connection = server.connection()
    count = 20_000
    body = b'{"messages":[{"role":"user","content":"hi"}]}'
    for index in range(count):
        path = f"/model/ai21.jamba-{index}-{'m' * 7000}/invoke"
        connection.request(
            "POST", path, body=body, headers={**bodies.SIGNED, "Content-Type": "application/json"}
        )
        connection.getresponse().read()
    connection.close()
    return Measured(
        "422", (cpu_ns(server.pid) - before) / 1e9 / count, (time.perf_counter() - started) / count,
        rss_mb(server.pid) - rss, notes=[f"{count} Bedrock requests, 7 KB model ids; CPU, wall per request"],
    )  # fmt: skip


def reload_large_file(server: Emulator) -> Measured:
    """The fixture file rewritten with 9,000 rules: the server's CPU until the reload is logged,
    and the longest health check meanwhile."""
    path = Path(server.fixture)
    before, started = cpu_ns(server.pid), time.perf_counter()
    reloads = server.log.read_text().count("reloaded 9000 rules")
    with HealthProbe(server) as probe:
        path.write_bytes(bodies.valid_rules(9_000, nonce=str(started)))
        while (
            server.log.read_text().count("reloaded 9000 rules") == reloads
            and time.perf_counter() - started < 60
        ):
            time.sleep(0.05)
    measured = Measured("reloaded", (cpu_ns(server.pid) - before) / 1e9, time.perf_counter() - started)
    measured.health_s = probe.longest
    return measured


ATTACKS = [
    Attack("file-ref", 1, "a tool schema whose $ref names a local file holding a secret", file_ref),
    Attack("network-ref", 1, "a tool schema whose $ref names a local listener that never answers",
           network_ref),
    Attack("many-empty-messages", 2, "16,000 messages with empty content (464 KB)",
           _same(lambda: bodies.empty_messages(16_000))),
    Attack("8mib-empty-messages", 2, "8 MiB of messages with empty content",
           _same(bodies.empty_messages_filling)),
    Attack("unsatisfiable-tools", 3, "8 tools of 32,000 unsatisfiable items each, n: 4",
           _body_attack(lambda nonce: bodies.unsatisfiable_tools(8, 4, nonce))),
    Attack("unsatisfiable-tools-100", 3, "100 such tools, n: 16",
           _body_attack(lambda nonce: bodies.unsatisfiable_tools(100, 16, nonce))),
    Attack("huge-integer", 4, "an integer literal of 5,000 digits", _same(bodies.huge_integer)),
    Attack("surrogate-model", 4, "a lone surrogate as the model", _same(bodies.surrogate_model)),
    Attack("surrogate-key", 4, "a lone surrogate as a key", _same(bodies.surrogate_key)),
    Attack("distinct-stops", 5, "25 requests with distinct ~4 MB stop lists", distinct_stops, rounds=1),
    Attack("rate-limit-keys", 5, "20,000 distinct API keys under --rate-limit", rate_limit_keys,
           flags=("--rate-limit", "2/s,60/min"), rounds=1),
    Attack("paced-streams-at-shutdown", 6, "5 streams at 5 s a token, then SIGTERM",
           paced_streams_at_shutdown, rounds=1, rules=(bodies.PACED_RULE,)),
    Attack("warnings", 8, "52,000 consecutive user messages (one warning each)", warnings_logged, rounds=1),
    Attack("regex-rule", 10, "a fixture rule /(a+)+$/ against 24 a's and a '!'", regex_rule,
           rules=(bodies.REGEX_RULE,)),
    Attack("8mib-prompt", 10, "one 8 MiB user message (tokenized before the context-window 422)",
           _same(bodies.huge_prompt)),
    Attack("journal-listing", 10, "GET /_emulator/journal holding 1,000 entries of 64 KiB",
           journal_listing, rounds=1),
    Attack("many-stops", 5, "a million short stop sequences, n: 16", _same(bodies.many_stops)),
    Attack("many-tools", 3, "8 MiB of small distinct tools", _same(bodies.many_tools)),
    Attack("huge-tool-schema", 3, "one 8 MiB tool parameters schema", _same(bodies.huge_tool_schema)),
    # Issue 23 (numbered by its findings): the scripting side.
    Attack("admin-valid-rules", 203, "POST 10,000 valid rules (0.6 MB), then reset",
           _admin_post(lambda nonce: bodies.valid_rules(nonce=nonce))),
    Attack("admin-bad-rules", 203, "POST {\"rules\": [1]*9000}", _admin_post(lambda _: bodies.bad_rules())),
    Attack("turn-rules", 202, "2,000 turn rules against 30,001 messages",
           _body_attack(lambda nonce: bodies.long_conversation(nonce=nonce)),
           rules=tuple(bodies.turn_rules())),
    Attack("refund-regexes", 204, "100 rules (?i)refund.{0,200}order against a 512 KiB message",
           _body_attack(bodies.refund_message), rules=tuple(bodies.REFUND_RULES)),
    Attack("refund-regexes-explained", 204, "the same under --unmatched error",
           _body_attack(bodies.refund_message), flags=("--unmatched", "error"),
           rules=tuple(bodies.REFUND_RULES)),
    Attack("thrashing-regex", 204, "(?s)x.{300}y against 1 MiB of x's and a's",
           _body_attack(bodies.thrash_message), rules=(bodies.THRASH_RULE,)),
    Attack("template-placeholders", 205, "6,000 {{system}} against 4,001 messages",
           _body_attack(bodies.system_and_turns), rules=(bodies.TEMPLATE_RULE,)),
    Attack("huge-headers", 206, "300 requests with 800 KB of headers (the journal keeps 16 KiB)",
           huge_headers,
           rounds=1),
    Attack("reload-large-file", 207, "the fixture file rewritten with 9,000 rules", reload_large_file,
           rules=({"reply": {"content": "x"}, "match": {"model": "none"}},)),
    Attack("converse-deep", 209, "a toolResult json nested 990 deep",
           _signed("/model/ai21.jamba-1-5-mini-v1:0/converse", bodies.converse_deep)),
    Attack("long-field-name", 210, "an unknown field named by 100,000 characters",
           _same(bodies.long_field_name)),
    Attack("long-model-ids", 212, "20,000 Bedrock requests with 7 KB model ids", long_model_ids, rounds=1),
    Attack("converse-stops", 220, "400,000 Converse stopSequences",
           _signed("/model/ai21.jamba-1-5-mini-v1:0/converse", bodies.converse_stops)),
    Attack("spaces", 221, "2 MiB of spaces as a message", _same(bodies.spaces)),
    Attack("vllm-broken-messages", 251, "vllm: 700,000 messages without a role (one error each)",
           _vllm("/v1/chat/completions", bodies.vllm_broken_messages)),
    Attack("vllm-echoed-body", 252, "vllm: a validator's error echoing a 7 MiB body",
           _vllm("/v1/chat/completions", bodies.vllm_echoed_body)),
    Attack("vllm-many-choices", 253, "vllm: n of a billion",
           _vllm("/v1/chat/completions", bodies.vllm_many_choices)),
    Attack("vllm-stops", 254, "vllm: 700,000 distinct stop strings",
           _vllm("/v1/chat/completions", bodies.vllm_stops)),
    Attack("vllm-tokenize", 255, "vllm: /tokenize of a 7 MB prompt of distinct words",
           _vllm("/tokenize", bodies.vllm_tokenize)),
    # Issue 26: grounding reads dates written in words.
    Attack("written-dates", 261, "JSON mode, n: 16, over 13 messages of 64 KiB of written dates",
           _same(bodies.written_dates)),
]  # fmt: skip


def _finding(number: int) -> str:
    """Findings of the first campaign by their number; the second's (issue 23) as "23.N", the
    vllm surface's (issue 25) as "25.N", issue 26's as "26.N"."""
    if number > 260:
        return f"26.{number - 260}"
    if number > 250:
        return f"25.{number - 250}"
    return f"23.{number - 200}" if number > 200 else str(number)


def flags_for(attack: Attack) -> tuple[str, ...]:
    if attack.rules:
        return (
            *attack.flags,
            "--fixtures",
            str(bodies.write_fixture(Path(tempfile.mkdtemp()), attack.rules)),
        )
    return attack.flags


def measure(attack: Attack, rounds: int) -> list[Measured]:
    results = []
    server = Emulator(*flags_for(attack))
    try:
        for _ in range(attack.rounds or rounds):
            if attack.name == "paced-streams-at-shutdown" and server.process.poll() is not None:
                server = Emulator(*flags_for(attack))
            results.append(attack.run(server))
    finally:
        if server.process.poll() is None:
            server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/attacks.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="attacks to run (default: all)")
    parser.add_argument("--rounds", type=int, default=5, help="measurements per attack (default: 5)")
    parser.add_argument("--list", action="store_true", help="list the attacks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for attack in ATTACKS:
            print(f"{_finding(attack.finding):>5}  {attack.name:26} {attack.what}")
        return 0
    unknown = set(args.names) - {attack.name for attack in ATTACKS}
    if unknown:
        parser.error(f"unknown attack(s): {', '.join(sorted(unknown))}; see --list")
    columns = [
        "finding",
        "attack",
        "status",
        "server CPU s (median)",
        "wall s",
        "RSS growth MB",
        "health wait s",
    ]
    print("| " + " | ".join([*columns, "notes"]) + " |")
    print("|---|---|---|---|---|---|---|---|")
    over = 0
    for attack in ATTACKS:
        if args.names and attack.name not in args.names:
            continue
        results = measure(attack, args.rounds)
        cpu = statistics.median(r.cpu_s for r in results)
        over += cpu > TARGET_CPU_S
        statuses = ",".join(sorted({r.status for r in results}))
        notes = "; ".join(dict.fromkeys(note for r in results for note in r.notes))
        print(
            f"| {_finding(attack.finding)} | {attack.name} | {statuses} | {cpu:.3f} "
            f"| {statistics.median(r.wall_s for r in results):.3f} "
            f"| {max(r.rss_growth_mb for r in results):.0f} "
            f"| {max(r.health_s for r in results):.3f} | {notes} |",
            flush=True,
        )
    print(f"\n{over} attack(s) over the {TARGET_CPU_S} s CPU target")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
