"""Where a request's time goes: py-spy samples the emulator while wrk sends the seed's example
request at 64 connections, and the samples are summed by part of the pipeline.

    .venv/bin/pip install py-spy            # or: pip install -e '.[bench]'
    .venv/bin/python bench/profile.py [--seconds 8] [--raw OUT.txt]
    .venv/bin/python bench/profile.py --summarize RAW.txt   # a py-spy `-f raw` file from elsewhere

A sample whose innermost frame is in aiohttp or asyncio counts as serving HTTP (even when our
handler asked for it, e.g. reading the body); any other goes to the innermost frame that belongs
to a part (so json called by the generator counts as JSON).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import CASES, LUA, LUA_NUMBERED, NUMBERED_CASES, emulator, ensure_wrk, free_port

PARTS = [  # (part, substrings of a frame's file), innermost match wins
    ("JSON parse/encode", ("json/", "orjson", "decode_body", "encode_json")),
    ("schema validation", ("jsonschema", "referencing/", "contract/schema.py", "contract/violations.py")),
    ("token counting", ("tokenizer.py",)),
    ("answer generation", ("emulator/answer/", "random.py")),
    ("journal", ("journal.py", "exchange.py")),
    (
        "other emulator code",  # the request's own path (cli, server, __main__ are only the stack's root)
        ("emulator/http/", "emulator/contract/", "emulator/script/", "emulator/chat/", "emulator/errors.py"),
    ),
]
SERVING = "aiohttp + asyncio (HTTP)"
SERVING_MARKS = ("aiohttp/", "asyncio/", "selectors.py", "multidict", "yarl/", "socket.py")


def part_of(frame: str) -> str | None:
    for part, marks in PARTS:
        if any(mark in frame for mark in marks):
            return part
    return None


def summarize(raw: Path) -> Counter[str]:
    totals: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        if any(mark in frames[-1] for mark in SERVING_MARKS):  # inside aiohttp or asyncio itself
            part = SERVING
        else:
            part = next((p for f in reversed(frames) if (p := part_of(f)) is not None), SERVING)
        totals[part] += int(count)
    return totals


def show(totals: Counter[str]) -> None:
    whole = sum(totals.values())
    for part, count in totals.most_common():
        print(f"{part:<28} {count / whole * 100:5.1f}%")


def record(seconds: float, raw: Path, *, quiet: bool = True, case: str = "valid") -> float:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    wrk = ensure_wrk()
    server = emulator(free_port(), quiet=quiet)
    server.start()
    assert server.process is not None
    try:
        sampler = subprocess.Popen(
            [spy, "record", "-p", str(server.process.pid), "-d", str(int(seconds)), "-r", "250",
             "-f", "raw", "-o", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            lua = LUA_NUMBERED if case in NUMBERED_CASES else LUA
            script.write(lua.format(body=repr(json.dumps(CASES[case]))))
            script.flush()
            out = subprocess.run(
                ["taskset", "-c", "1", wrk, "-t1", "-c64", f"-d{int(seconds)}s", "-s", script.name,
                 server.url + "/studio/v1/chat/completions"],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
        sampler.wait(timeout=seconds + 30)
    finally:
        server.stop()
    return float(out.split("Requests/sec:")[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw samples here")
    parser.add_argument(
        "--default", action="store_true", help="profile the default start (access log on), not the quiet one"
    )
    parser.add_argument(
        "--case", choices=sorted(CASES), default="valid", help="the request sent (bench/run.py's cases)"
    )
    parser.add_argument("--new-prompts", action="store_true", help="the same as --case 'valid, new prompts'")
    parser.add_argument("--summarize", type=Path, metavar="RAW", help="only summarize an existing raw file")
    args = parser.parse_args()
    if args.summarize:
        show(summarize(args.summarize))
        return
    raw = args.raw or Path(tempfile.mkdtemp()) / "samples.txt"
    case = "valid, new prompts" if args.new_prompts else args.case
    rps = record(args.seconds, raw, quiet=not args.default, case=case)
    print(f"{rps:.0f} requests/s while sampled (py-spy slows the server); samples in {raw}")
    show(summarize(raw))


if __name__ == "__main__":
    main()
