"""Before and after: this checkout's emulator against the same emulator at another commit, both
started as users start them (access log on, to a file), measured in interleaved rounds.

    .venv/bin/python bench/versions.py BASE                 # e.g. a commit before a refactor
    .venv/bin/python bench/versions.py BASE --rounds 5 --duration 3 --connections 64

The other commit is exported (`git archive`) into a temporary folder and run from there with this
interpreter, so both share the dependencies installed here; its package is imported under the name
its own pyproject.toml gives it (`emulator` before 0.2.0, `jamba_emulator` since). Each round
measures every case on both servers, in turn first and second, so that the machine's drift cancels
out; it prints, per case, the median ratio (after / before) of requests/s and of p99, with the
spread. A ratio near 1.00 within the spread is "unchanged within the noise".
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from run import CASES, NUMBERED_CASES, ROOT, Server, drive, ensure_wrk, free_port


def exported(commit: str, into: Path) -> Path:
    """`commit`'s tree in `into`, with the package importable under its own name."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    if "jamba_emulator" in (into / "pyproject.toml").read_text():
        (into / "jamba_emulator").symlink_to("emulator", target_is_directory=True)
    return into


def server(tree: Path | None, name: str) -> Server:
    """The emulator of `tree` (None: this checkout, as installed), access log on."""
    module = "jamba_emulator" if tree is None or (tree / "jamba_emulator").exists() else "emulator"
    port = free_port()
    command = [sys.executable, "-m", module, "--port", str(port)]
    env = {"PYTHONPATH": str(tree)} if tree is not None else None
    # In the tree's own folder: `-m` puts the working folder first on the path.
    return Server(name, command, port, "/_emulator/health", log=True, env=env, cwd=tree)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", help="the commit to compare against (e.g. HEAD~4)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default: 5)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement (default: 3)")
    parser.add_argument("--connections", type=int, default=64, help="(default: 64)")
    parser.add_argument(
        "--cases", default=";".join(CASES), help="semicolon-separated, of bench/run.py's CASES (default: all)"
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    cases = [case.strip() for case in args.cases.split(";")]
    with tempfile.TemporaryDirectory(prefix="jamba-base-") as folder:
        before = server(exported(args.base, Path(folder)), "before")
        after = server(None, "after")
        before.start()
        after.start()
        ratios: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}
        try:
            for round_number in range(args.rounds):
                print(f"round {round_number + 1} of {args.rounds} ...", file=sys.stderr)
                order = [before, after] if round_number % 2 == 0 else [after, before]
                for case in cases:
                    results = {
                        each.name: drive(
                            wrk, each.url, CASES[case], args.connections, args.duration,
                            numbered=case in NUMBERED_CASES,
                        )
                        for each in order
                    }  # fmt: skip
                    new, old = results["after"], results["before"]
                    ratios[case].append((new.rps / old.rps, new.p99_ms / old.p99_ms))
        finally:
            before.stop()
            after.stop()
    print(f"after / before ({args.base}), {args.connections} connections, {args.rounds} interleaved rounds "
          f"of {args.duration:g} s, both with the access log on")  # fmt: skip
    print(f"{'case':<28} {'req/s ratio':>12} {'spread':>13} {'p99 ratio':>10} {'spread':>13}")
    for case, pairs in ratios.items():
        rps, p99 = [pair[0] for pair in pairs], [pair[1] for pair in pairs]
        print(
            f"{case:<28} {statistics.median(rps):>12.2f} {min(rps):>6.2f}-{max(rps):<6.2f} "
            f"{statistics.median(p99):>10.2f} {min(p99):>6.2f}-{max(p99):<6.2f}"
        )


if __name__ == "__main__":
    main()
