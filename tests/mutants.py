"""Proof that the test suite can fail: inject one deliberate bug at a time into a copy of the
project, run the whole suite against the copy, and report which tests caught it.

    .venv/bin/python -m tests.mutants            # every mutant, then a table
    .venv/bin/python -m tests.mutants --first    # each run stops at its first failing test (faster)
    .venv/bin/python -m tests.mutants --list     # what each mutant breaks
    .venv/bin/python -m tests.mutants --check    # each still applies (seconds; .ci/run does it)
    .venv/bin/python -m tests.mutants --sample 3 # 3 mutants drawn by the commit, each to its first
                                                 # failing test (.ci/run does it: each must be caught)
    .venv/bin/python -m tests.mutants stop-kept  # only the named ones

Exit status 0 only when the unmutated copy passes and every mutant is caught. Each mutant is a
literal edit (`old` must occur exactly once), so a refactor that moves the code makes the
script say which mutant needs updating instead of silently testing nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
META_TEST = "tests/unit/test_mutants.py::test_every_mutant_still_applies"
COPIED = ("pyproject.toml", "README.md", "emulator", "schemas", "fixtures", "tests")


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    path: str
    old: str
    new: str


MUTANTS = [
    Mutant(
        "stop-kept",
        "the stop sequence is kept in the output",
        "emulator/answer/generator.py",
        "at, position = min(found)\n    return at, stops[position]",
        "at, position = min(found)\n    return at + len(stops[position]), stops[position]",
    ),
    Mutant(
        "length-one-early",
        "a `length` answer stops one token before max_tokens",
        "emulator/answer/generator.py",
        'tokens, reason, stop = tokens[: request.max_tokens], "length", None',
        'tokens, reason, stop = tokens[: max(request.max_tokens - 1, 0)], "length", None',
    ),
    Mutant(
        "length-at-exact-fit",
        "`length` is reported when the answer fits max_tokens exactly",
        "emulator/answer/generator.py",
        "len(tokens) > request.max_tokens",
        "len(tokens) >= request.max_tokens",
    ),
    Mutant(
        "total-off-by-one",
        "total_tokens is one more than prompt + completion",
        "emulator/chat/completion.py",
        '"total_tokens": self.prompt_tokens + completion,',
        '"total_tokens": self.prompt_tokens + completion + 1,',
    ),
    Mutant(
        "missing-model-500",
        "the schema forgets that model is required, so a body without it crashes (500)",
        "schemas/chat-request.schema.json",
        '  "required": [\n    "model",\n    "messages"\n  ],',
        '  "required": [\n    "messages"\n  ],',
    ),
    Mutant(
        "no-done",
        "a stream ends without `data: [DONE]`",
        "emulator/http/surfaces/studio.py",
        "    yield DONE\n",
        "",
    ),
    Mutant(
        "empty-user-accepted",
        "an empty user/assistant message is accepted",
        "schemas/chat-request.schema.json",
        '"type": "string",\n                "minLength": 1',
        '"type": "string",\n                "minLength": 0',
    ),
    Mutant(
        "stream-n-accepted",
        "n > 1 with stream: true is accepted",
        "schemas/chat-request.schema.json",
        '"stream": {\n            "const": true\n          }',
        '"stream": {\n            "const": "never"\n          }',
    ),
    Mutant(
        "cap-off-by-one",
        "the preview model's max_tokens cap is 65536 instead of 65535",
        "schemas/catalog.json",
        '"maximum": 65535',
        '"maximum": 65536',
    ),
    Mutant(
        "usage-on-first-chunk",
        "a stream carries usage on its first chunk instead of its last",
        "emulator/http/surfaces/studio.py",
        'bodies[-1]["usage"] = completion.usage()',
        'bodies[0]["usage"] = completion.usage()',
    ),
    Mutant(
        "loc-without-body",
        '422 items lose the leading "body" in loc',
        "emulator/contract/violations.py",
        '                ("body", *instance_path),',
        "                tuple(instance_path),",
    ),
    Mutant(
        "reset-keeps-journal",
        "a reset (admin API, pytest fixture) leaves the journal as it was",
        "emulator/core.py",
        "        return self.journal.clear()\n",
        "        return 0\n",
    ),
    Mutant(
        "faults-unseeded",
        "the global fault sequence is not restarted by a reset",
        "emulator/script/faults.py",
        "            self._rng = random.Random(self._seed)\n",
        "            pass\n",
    ),
    Mutant(
        "rate-limit-off-by-one",
        "the rate limit lets one request more through each window",
        "emulator/script/ratelimit.py",
        "if len(recent) >= count:",
        "if len(recent) > count:",
    ),
    Mutant(
        "drop-mid-stream-sends-all",
        "a drop_mid_stream fault closes the connection only after the whole answer",
        "emulator/http/delivery.py",
        "        if effect.closes:\n            record(response.status)\n",
        "        if effect.closes:\n            await send(response, parts[at:])\n"
        "            record(response.status)\n",
    ),
    Mutant(
        "system-counted-when-empty",
        "an empty system message is counted in the prompt instead of ignored",
        "emulator/contract/admission.py",
        'if m.get("content") or m["role"] != "system"',
        "if True",
    ),
    Mutant(
        "remote-ref-followed",
        "a tool schema's $ref outside the schema is no longer refused (handed to the compiler)",
        "emulator/chat/toolschema.py",
        "    if where is not None:\n        raise RefusedReference(where)\n",
        "",
    ),
    Mutant(
        "quadratic-error-collection",
        "each violation found is looked up in a list of those found before (quadratic time)",
        "emulator/contract/violations.py",
        "            for item in self._items_of(view):\n                seen[item] = None\n",
        "            for item in self._items_of(view):\n                if item not in list(seen):\n"
        "                    seen[item] = None\n",
    ),
    Mutant(
        "errors-uncapped",
        "a 422 lists every violation found, past --max-errors",
        "emulator/contract/violations.py",
        "return Found(items[:listed], max(0, len(items) - listed), complete)",
        "return Found(items, 0, complete)",
    ),
    Mutant(
        "argument-budget-ignored",
        "each attempt at a tool's arguments gets the whole per-attempt limit, whatever the request spent",
        "emulator/answer/structured.py",
        "min(SIZE_LIMIT, budget.values_left)",
        "SIZE_LIMIT",
    ),
    Mutant(
        "regex-backtracks",
        "fixture regexes run by Python's backtracking re instead of RE2",
        "emulator/script/fixtures.py",
        "        regex=Pattern(regex) if regex is not None else None,",
        "        regex=__import__('re').compile(regex) if regex is not None else None,",
    ),
    Mutant(
        "bedrock-events-joined",
        "a Bedrock stream goes out in one write, which the ai21 SDK's decoder reads as one event",
        "emulator/http/surfaces/bedrock.py",
        "    joins_events = False\n",
        "    joins_events = True\n",
    ),
    Mutant(
        "authorization-only-redacted",
        "the journal hides Authorization but not the other credential headers",
        "emulator/script/credentials.py",
        '        "proxy-authorization",\n',
        "",
    ),
    Mutant(
        "turn-counts-every-message",
        "a rule's `turn` counts every message before, not the assistant's",
        "emulator/script/conversation.py",
        'return sum(1 for message in self.request.messages if message.role == "assistant")',
        "return len(self.request.messages) - 1",
    ),
    Mutant(
        "scopes-share-counts",
        "a scope counts its calls of a global rule on the rule itself: scopes use up each other's replies",
        "emulator/script/rules.py",
        "    if state is None or rule.scope is not None:\n        return rule.calls\n",
        "    return rule.calls\n",
    ),
    Mutant(
        "retry-after-unread",
        "the resilience report never finds a retry sooner than Retry-After",
        "emulator/script/resilience.py",
        "if waited < asked - TOLERANCE:",
        "if waited < -TOLERANCE:",
    ),
    Mutant(
        "admission-memo-ignores-path",
        "the kept admission is keyed by the body alone: a Bedrock body is answered for another model id",
        "emulator/contract/admission.py",
        "key = Key(dialect.name, params, raw)",
        "key = Key(dialect.name, RouteParams(), raw)",
    ),
    # Issue 23: the scripting side's bounds.
    Mutant(
        "turn-counted-per-rule",
        "every rule that asks for the turn counts the conversation again (rules x messages)",
        "emulator/script/conversation.py",
        "    @cached_property\n    def turn(self) -> int:",
        "    @property\n    def turn(self) -> int:",
    ),
    Mutant(
        "regex-reads-the-whole-text",
        "a regex searches the whole of a long text, not a window at each end",
        "emulator/script/patterns.py",
        "[(0, size)] if size <= 2 * REGEX_WINDOW else [(0, REGEX_WINDOW), (size - REGEX_WINDOW, size)]",
        "[(0, size)]",
    ),
    Mutant(
        "regex-budget-never-runs-out",
        "RE2's work is counted but never refused: the request's regex budget has no end",
        "emulator/script/conversation.py",
        "        if cost > self.regex:",
        "        if False:",
    ),
    Mutant(
        "template-reads-each-placeholder",
        "a template reads its value from the request once per placeholder (placeholders x messages)",
        "emulator/script/templates.py",
        "value = values.get(name)",
        "value = None",
    ),
    Mutant(
        "forgotten-scope-reads-empty",
        "a forgotten test scope's rules read as none: its test's expect checks pass on missing evidence",
        "emulator/script/rules.py",
        "if scope is not None and scope in self._forgotten:",
        "if False:",
    ),
    Mutant(
        "journal-keeps-every-header",
        "a journal entry keeps all of a request's headers (up to a MiB an entry)",
        "emulator/script/journal.py",
        "        if size > HEADERS_LIMIT:",
        "        if False:",
    ),
    Mutant(
        "head-answer-waits-for-the-body",
        "an answer decided from the head (a 401) waits for the body before it goes out",
        "emulator/http/body.py",
        "    await _sent(request, response)\n",
        "",
    ),
    Mutant(
        "vllm-validators-in-definition-order",
        "vLLM's before-validators run in the order they are defined, not pydantic's (the last first)",
        "emulator/contract/vllm.py",
        "            for validator in _TEXT_BEFORE if self.text else _BEFORE:",
        "            for validator in reversed(_TEXT_BEFORE if self.text else _BEFORE):",
    ),
    Mutant(
        "vllm-011-errors-flat",
        "0.11's errors are written flat, as 0.8's",
        "emulator/http/surfaces/vllm.py",
        '    if line == "0.8":\n        return {"object": "error", **inner}',
        '    if True:\n        return {"object": "error", **inner}',
    ),
    Mutant(
        "vllm-stop-reason-lost",
        "stop_reason is null in a non-streamed chat answer even when a stop string ended it",
        "emulator/http/surfaces/vllm.py",
        '            "finish_reason": "tool_calls" if calls and not guided else _engine_reason(choice),\n'
        '            "stop_reason": choice.stop_sequence,',
        '            "finish_reason": "tool_calls" if calls and not guided else _engine_reason(choice),\n'
        '            "stop_reason": None,',
    ),
]


@dataclass
class Outcome:
    mutant: Mutant
    failed: list[str]
    seconds: float
    exit_code: int


def make_copy(workdir: Path) -> Path:
    copy = workdir / "project"
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        else:
            copy.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    # The folder imports as jamba_emulator (pyproject.toml's package-dir): on PYTHONPATH, a link.
    (copy / "jamba_emulator").symlink_to("emulator", target_is_directory=True)
    return copy


def apply(copy: Path, mutant: Mutant) -> None:
    target = copy / mutant.path
    text = target.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1 or not mutant.old:
        raise SystemExit(
            f"mutant {mutant.name!r}: expected the text {mutant.old!r} exactly once in {mutant.path}, "
            f"found it {text.count(mutant.old) if mutant.old else 0} times; update tests/mutants.py"
        )
    target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")


def stale_mutants() -> list[str]:
    """Each mutant whose text is not in its file exactly once: it would test nothing."""
    stale = []
    for mutant in MUTANTS:
        found = (ROOT / mutant.path).read_text(encoding="utf-8").count(mutant.old) if mutant.old else 0
        if found != 1:
            stale.append(f"mutant {mutant.name!r}: its text is in {mutant.path} {found} times, not once")
    return stale


def run_suite(copy: Path, first: bool = False, workers: int = 0) -> tuple[int, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(copy), "HYPOTHESIS_PROFILE": "ci"}
    probe = subprocess.run(
        [sys.executable, "-c", "import jamba_emulator; print(jamba_emulator.__file__)"],
        cwd=copy, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    if not probe.stdout.startswith(str(copy)):
        raise SystemExit(f"the copy's package is not the one imported: {probe.stdout.strip()}")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", "--tb=no"]
    # In a mutated copy the mutant's own text is gone, so the check that every mutant applies
    # fails there by construction: it must not count as catching the mutant.
    command += ["--deselect", META_TEST]
    if first:
        command.append("-x")
    if workers:
        command += ["-n", str(workers)]
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, check=False)
    failed = re.findall(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", result.stdout, flags=re.MULTILINE)
    return result.returncode, failed


def check(mutant: Mutant | None, first: bool = False, workers: int = 0) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="jamba-mutant-") as workdir:
        copy = make_copy(Path(workdir))
        if mutant is not None:
            apply(copy, mutant)
        started = time.monotonic()
        code, failed = run_suite(copy, first, workers)
    baseline = Mutant("(none)", "the unmutated project", "", "", "")
    return Outcome(mutant or baseline, failed, time.monotonic() - started, code)


def report(outcomes: list[Outcome]) -> str:
    lines = ["| mutant | bug injected | caught | failing tests | examples |", "|---|---|---|---|---|"]
    for outcome in outcomes:
        shown = ", ".join(f"`{name.split('::', 1)[-1]}`" for name in outcome.failed[:3])
        caught = "yes" if outcome.exit_code != 0 else "**NO**"
        lines.append(
            f"| {outcome.mutant.name} | {outcome.mutant.bug} | {caught} | {len(outcome.failed)} | {shown} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument(
        "--check", action="store_true", help="check that every mutant still applies once; run no suite"
    )
    parser.add_argument(
        "--first",
        action="store_true",
        help="stop each mutant's run at its first failing test (the table then counts one)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="N mutants drawn by the checkout's commit (so each commit tries others), each run to its "
        "first failing test on 2 workers, no baseline run (the suite has just passed): CI's check that "
        "the proofs still catch",
    )
    args = parser.parse_args(argv)
    if args.sample:
        return sample(args.sample)
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name:28} {mutant.bug} ({mutant.path})")
        return 0
    if args.check:
        stale = stale_mutants()
        for line in stale:
            print(line)
        print(f"{len(MUTANTS) - len(stale)} of {len(MUTANTS)} mutants apply")
        return 1 if stale else 0
    unknown = set(args.names) - {mutant.name for mutant in MUTANTS}
    if unknown:
        parser.error(f"unknown mutant(s): {', '.join(sorted(unknown))}; see --list")
    chosen = [mutant for mutant in MUTANTS if not args.names or mutant.name in args.names]
    baseline = check(None)
    print(f"baseline (no mutant): exit {baseline.exit_code}, {baseline.seconds:.0f} s", flush=True)
    if baseline.exit_code != 0:
        print("the unmutated copy fails, so no mutant result would mean anything:", baseline.failed)
        return 1
    outcomes = []
    for mutant in chosen:
        outcome = check(mutant, args.first)
        outcomes.append(outcome)
        verdict = f"caught by {len(outcome.failed)} tests" if outcome.exit_code else "NOT CAUGHT"
        print(f"{mutant.name}: {verdict} ({outcome.seconds:.0f} s)", flush=True)
    print()
    print(report(outcomes))
    return 0 if all(outcome.exit_code != 0 for outcome in outcomes) else 1


def sample(count: int) -> int:
    """`count` mutants drawn by the commit's hash, each to its first failing test: 0 if every one
    is caught."""
    stale = stale_mutants()
    if stale:
        print("\n".join(stale))
        return 1
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    chosen = random.Random(head.stdout.strip() or "no commit").sample(MUTANTS, min(count, len(MUTANTS)))
    missed = []
    for mutant in chosen:
        outcome = check(mutant, first=True, workers=2)
        caught = outcome.exit_code not in (0, 5)  # 5: no test ran, which catches nothing
        first_failure = f"caught by {outcome.failed[0]}" if outcome.failed else "caught"
        verdict = first_failure if caught else "NOT CAUGHT"
        print(f"{mutant.name}: {verdict} ({outcome.seconds:.0f} s)", flush=True)
        if not caught:
            missed.append(mutant.name)
    if missed:
        print(f"not caught: {', '.join(missed)}: the suite no longer proves what these mutants break")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
