"""The resilience report: how a client behaved under the faults it met, read from the journal.

A **retry** is a request with the same test scope, method, path and body (compared as parsed
JSON, by the journal's `body_key`, so key order and spacing do not matter) as an earlier one
that failed (no answer, a status of 400 or more, or a transport fault), received within WINDOW
seconds of that failure's answer.
A chain is a failure and its retries, in order.

Verdicts (VERDICTS), each "passed", "FAILED" (with the requests that show it) or "not met" (the
journal holds nothing that puts it to the test):

- `unretryable_retried`: a request answered with a status that must not be retried (NOT_RETRYABLE:
  the request itself is wrong, a retry gets the same answer) was retried;
- `retry_after_ignored`: a request answered with `Retry-After: N` was retried sooner than N
  seconds after that answer (less TOLERANCE);
- `no_backoff`: a chain of three or more attempts whose waits did not grow (each within 10% and
  20 ms of the first: equal gaps);
- `broken_stream_abandoned`: an answer cut short (CUT_SHORT faults, or no answer at all) was not
  retried within the window;
- `duplicate_request`: the same request sent twice within DUPLICATE seconds (a millisecond).

Pure: entries are the journal's (script/journal.Entry: in process, or read back from the admin
API's brief view).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from .journal import Entry

WINDOW = 60.0
TOLERANCE = 0.05
DUPLICATE = 0.001
NOT_RETRYABLE = frozenset({400, 401, 403, 404, 405, 413, 422})
CUT_SHORT = frozenset({"drop_mid_stream", "drop_before_response"})
VERDICTS = (
    "unretryable_retried",
    "retry_after_ignored",
    "no_backoff",
    "broken_stream_abandoned",
    "duplicate_request",
)


def verdicts_named(text: str) -> list[str]:
    """The verdicts a --fail-on value names (comma-separated, or "all"; empty: none), or
    ValueError naming the unknown ones."""
    names = (
        list(VERDICTS)
        if text.strip() == "all"
        else [name.strip() for name in text.split(",") if name.strip()]
    )
    unknown = [name for name in names if name not in VERDICTS]
    if unknown:
        raise ValueError(f"no verdict {', '.join(unknown)}; the verdicts are {', '.join(VERDICTS)}, or all")
    return names


DESCRIPTIONS = {
    "unretryable_retried": "retried a status that must not be retried (400, 401, 403, 404, 405, 413, 422)",
    "retry_after_ignored": "retried sooner than the answer's Retry-After",
    "no_backoff": "retried without back-off (three or more attempts, equal gaps)",
    "broken_stream_abandoned": "met an answer cut short and did not retry the same request",
    "duplicate_request": "sent the same request twice within a millisecond",
}


@dataclass
class Verdict:
    name: str
    met: bool = False
    """Whether the journal put it to the test (a failure it applies to was seen)."""
    evidence: list[str] = field(default_factory=list)
    """One line per finding, naming the requests by their journal sequence numbers."""

    @property
    def failed(self) -> bool:
        return bool(self.evidence)

    @property
    def outcome(self) -> str:
        return "FAILED" if self.failed else "passed" if self.met else "not met"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": DESCRIPTIONS[self.name],
            "outcome": self.outcome,
            "evidence": self.evidence,
        }


@dataclass
class Report:
    requests: int
    failures: int
    """Requests that failed (no answer, a status of 400 or more, a fault)."""
    verdicts: dict[str, Verdict]

    def failed(self, checks: Iterable[str]) -> list[Verdict]:
        """The verdicts among `checks` that failed."""
        return [self.verdicts[name] for name in checks if self.verdicts[name].failed]

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "verdicts": [verdict.to_json() for verdict in self.verdicts.values()],
        }

    def text(self) -> str:
        lines = [f"resilience report: {self.requests} requests, {self.failures} failed or faulted"]
        for verdict in self.verdicts.values():
            lines.append(f"  {verdict.outcome:<8} {verdict.name}: {DESCRIPTIONS[verdict.name]}")
            lines += [f"           {line}" for line in verdict.evidence[:EVIDENCE_SHOWN]]
            if len(verdict.evidence) > EVIDENCE_SHOWN:
                lines.append(f"           ... and {len(verdict.evidence) - EVIDENCE_SHOWN} more")
        return "\n".join(lines)


EVIDENCE_SHOWN = 10


def report(entries: Sequence[Entry], window: float = WINDOW, duplicate: float = DUPLICATE) -> Report:
    """The verdicts on `entries` (a journal, oldest first); `duplicate`: how close in seconds two
    identical requests make a duplicate."""
    verdicts = {name: Verdict(name) for name in VERDICTS}
    chat = [entry for entry in entries if entry.surface is not None]
    groups: dict[tuple[Any, ...], list[Entry]] = defaultdict(list)
    for entry in sorted(chat, key=lambda entry: entry.received_at):
        groups[_key(entry)].append(entry)
    for same in groups.values():
        _duplicates(same, verdicts["duplicate_request"], duplicate)
        for chain in _chains(same, window):
            _judge(chain, verdicts, window)
    return Report(len(chat), sum(1 for entry in chat if _failed(entry)), verdicts)


def _key(entry: Entry) -> tuple[Any, ...]:
    return entry.scope, entry.method, entry.path, entry.body_key


def _failed(entry: Entry) -> bool:
    return entry.status is None or entry.status >= 400 or entry.fault is not None


def _answered_at(entry: Entry) -> float:
    return entry.received_at + entry.duration_ms / 1000


def _chains(same: list[Entry], window: float) -> list[list[Entry]]:
    """Each failure with the retries that followed it (the same request, each within the window
    of the previous attempt's answer, while attempts keep failing)."""
    chains: list[list[Entry]] = []
    chain: list[Entry] = []
    for entry in same:
        if chain and _failed(chain[-1]) and entry.received_at - _answered_at(chain[-1]) <= window:
            chain.append(entry)
            continue
        if chain:
            chains.append(chain)
        chain = [entry]
    if chain:
        chains.append(chain)
    return [chain for chain in chains if _failed(chain[0])]


def _judge(chain: list[Entry], verdicts: dict[str, Verdict], window: float) -> None:
    """Each attempt of a chain against the verdicts that look at an attempt and its retry."""
    unretryable, retry_after, abandoned = (
        verdicts["unretryable_retried"],
        verdicts["retry_after_ignored"],
        verdicts["broken_stream_abandoned"],
    )
    for position, attempt in enumerate(chain):
        retry = chain[position + 1] if position + 1 < len(chain) else None
        if attempt.status in NOT_RETRYABLE:
            unretryable.met = True
            if retry is not None:
                retried = f"request #{retry.sequence} retried #{attempt.sequence}"
                unretryable.evidence.append(f"{retried}, answered {attempt.status}")
        asked = _seconds(attempt.retry_after)
        if asked is not None and retry is not None:
            retry_after.met = True
            waited = retry.received_at - _answered_at(attempt)
            if waited < asked - TOLERANCE:
                retry_after.evidence.append(
                    f"request #{retry.sequence} came {waited:.2f} s after #{attempt.sequence}'s "
                    f"{attempt.status} with Retry-After: {attempt.retry_after}"
                )
        if _cut_short(attempt):
            abandoned.met = True
            if retry is None:
                what = attempt.fault or "no answer"
                abandoned.evidence.append(
                    f"request #{attempt.sequence} ({what}) was not retried within {window:g} s"
                )
    if len(chain) >= 3:
        verdicts["no_backoff"].met = True
        gaps = [later.received_at - _answered_at(earlier) for earlier, later in pairwise(chain)]
        first = gaps[0]
        if all(abs(gap - first) <= 0.1 * first + 0.02 for gap in gaps):
            numbers = ", ".join(f"#{entry.sequence}" for entry in chain)
            waits = ", ".join(f"{gap:.2f}" for gap in gaps)
            verdicts["no_backoff"].evidence.append(f"requests {numbers}: waited {waits} s")


def _cut_short(entry: Entry) -> bool:
    """An answer cut short: a CUT_SHORT fault, or no answer at all (and no other fault)."""
    return entry.fault in CUT_SHORT or (entry.status is None and entry.fault is None)


def _duplicates(same: list[Entry], verdict: Verdict, apart: float) -> None:
    for earlier, later in pairwise(same):
        if later.received_at - earlier.received_at < apart:
            verdict.evidence.append(
                f"requests #{earlier.sequence} and #{later.sequence} were received "
                f"{(later.received_at - earlier.received_at) * 1000:.2f} ms apart"
            )
    verdict.met = verdict.met or len(same) > 1


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After of delay-seconds (an HTTP date is not read: the emulator sends seconds)."""
    if retry_after is None:
        return None
    try:
        return float(retry_after)
    except ValueError:
        return None
