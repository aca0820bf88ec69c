"""`bench/run.py --peers`: the alternatives a user would pick, installed and started as each one's
README starts it, measured in the same run as the emulator and the reference.

    .venv/bin/python bench/run.py --peers        # the peers' table only (a few minutes)

Never run by `.ci/run` or pytest: it needs npm and the package registries. The peers are installed
once into `.venv-peers/` and `.node-peers/` at the repository's root (ignored by git):

- llmock 0.2.2 (PyPI), `llmock serve --port PORT`, its AI21 route `/ai21/v1/chat/completions`;
- @dwmkerr/mock-llm 0.1.29 (npm), `mock-llm` with `PORT`, `/v1/chat/completions` (a static echo).

Each answers the seed's request, fixed and with a new prompt every request, at 64 connections,
alternating with the reference in every round; the table prints the median ratios.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from run import CASES, NUMBERED_CASES, ROOT, Server, drive, emulator, free_port, reference

PEERS_VENV = ROOT / ".venv-peers"
PEERS_NODE = ROOT / ".node-peers"
LLMOCK = "llmock==0.2.2"
MOCK_LLM = "@dwmkerr/mock-llm@0.1.29"


@dataclass(frozen=True)
class Peer:
    name: str
    server: Server
    path: str


def install() -> None:
    if not (PEERS_VENV / "bin" / "llmock").exists():
        print(f"installing {LLMOCK} into {PEERS_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "-q", LLMOCK], check=True)
    if not (PEERS_NODE / "node_modules" / ".bin" / "mock-llm").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("--peers needs npm (apt-get install npm) for @dwmkerr/mock-llm")
        print(f"installing {MOCK_LLM} into {PEERS_NODE} ...", file=sys.stderr)
        PEERS_NODE.mkdir(exist_ok=True)
        subprocess.run([npm, "install", "--silent", "--prefix", str(PEERS_NODE), MOCK_LLM], check=True)


def peers() -> list[Peer]:
    llmock_port, mock_llm_port = free_port(), free_port()
    llmock = Server(
        "llmock",
        [str(PEERS_VENV / "bin" / "llmock"), "serve", "--port", str(llmock_port)],
        llmock_port,
        "/_llmock/requests",
    )
    mock_llm = Server(
        "mock-llm",
        [str(PEERS_NODE / "node_modules" / ".bin" / "mock-llm")],
        mock_llm_port,
        "/health",
        env={"PORT": str(mock_llm_port)},
    )
    return [Peer("llmock 0.2.2 (its AI21 route)", llmock, "/ai21/v1/chat/completions"),
            Peer("@dwmkerr/mock-llm 0.1.29 (static echo)", mock_llm, "/v1/chat/completions")]  # fmt: skip


def peers_table(wrk: str, rounds: int, duration: float, connections: int = 64) -> None:
    install()
    ref = reference(free_port())
    systems = [
        Peer("jamba-emulator, default start (access log on)", emulator(free_port(), quiet=False), ""),
        Peer("jamba-emulator, --log-level warning", emulator(free_port()), ""),
        *peers(),
    ]
    cases = ["valid", "valid, new prompts"]
    runs: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
    started = [ref]
    try:
        ref.start()
        for system in systems:
            system.server.start()
            started.append(system.server)
        for round_number in range(rounds):
            print(f"peers: round {round_number + 1} of {rounds} ...", file=sys.stderr)
            for case in cases:
                for system in systems:
                    base = drive(wrk, ref.url, CASES["valid"], connections, duration)
                    kwargs = {"path": system.path} if system.path else {}
                    result = drive(
                        wrk, system.server.url, CASES[case], connections, duration,
                        numbered=case in NUMBERED_CASES, **kwargs,
                    )  # fmt: skip
                    runs.setdefault((system.name, case), []).append(
                        (result.rps, base.rps, result.p99_ms, base.p99_ms)
                    )
    finally:
        for server in started:
            server.stop()
    print(
        f"\npeers at {connections} connections, medians of {rounds} rounds of {duration:g} s, "
        "each measurement"
    )
    print("next to its own reference measurement (bare aiohttp answering a fixed 400-byte JSON):")
    print(f"{'system':<48} {'fixed, x ref':>12} {'new prompt, x ref':>18} {'p99 x ref':>10} {'req/s':>8}")
    for system in systems:
        fixed, numbered = runs[(system.name, "valid")], runs[(system.name, "valid, new prompts")]
        print(
            f"{system.name:<48} {statistics.median(r / b for r, b, _, _ in fixed):>12.2f} "
            f"{statistics.median(r / b for r, b, _, _ in numbered):>18.2f} "
            f"{statistics.median(p / q for _, _, p, q in fixed):>10.1f} "
            f"{statistics.median(r for r, _, _, _ in fixed):>8.0f}"
        )
    print(f"reference: {statistics.median(b for _, b, _, _ in runs[(systems[0].name, 'valid')]):.0f} req/s")


if __name__ == "__main__":
    os.execv(
        sys.executable, [sys.executable, str(Path(__file__).with_name("run.py")), "--peers", *sys.argv[1:]]
    )
