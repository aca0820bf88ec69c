"""The resilience report's rules on hand-made journals: what a retry is, and each verdict's edge."""

from __future__ import annotations

from typing import Any

from jamba_emulator.script.journal import Entry
from jamba_emulator.script.resilience import VERDICTS, report

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def entry(sequence: int, at: float, status: int | None = 200, **fields: Any) -> Entry:
    values: dict[str, Any] = {
        "sequence": sequence, "method": "POST", "path": "/studio/v1/chat/completions", "headers": {},
        "body": BODY, "body_size": 10, "status": status, "rule": None, "fault": None, "received_at": at,
        "duration_ms": 10.0, "surface": "studio", "scope": None,
    }  # fmt: skip
    return Entry.from_json({**values, **fields})  # as the admin API lists it


def outcomes(*entries: Entry, **options: Any) -> dict[str, str]:
    return {name: verdict.outcome for name, verdict in report(list(entries), **options).verdicts.items()}


def test_a_quiet_journal_meets_no_verdict() -> None:
    assert outcomes(entry(1, 0.0)) == dict.fromkeys(VERDICTS, "not met")


def test_a_retry_is_the_same_request_after_a_failure_within_the_window() -> None:
    reordered = {"messages": BODY["messages"], "model": "m"}  # the same JSON, keys in another order
    assert outcomes(entry(1, 0.0, 422), entry(2, 1.0, body=reordered))["unretryable_retried"] == "FAILED"
    assert outcomes(entry(1, 0.0, 422), entry(2, 61.0))["unretryable_retried"] == "passed"  # past 60 s
    assert outcomes(entry(1, 0.0, 422), entry(2, 5.0), window=2)["unretryable_retried"] == "passed"
    other_body = {**BODY, "temperature": 0.5}
    assert outcomes(entry(1, 0.0, 422), entry(2, 1.0, body=other_body))["unretryable_retried"] == "passed"
    assert outcomes(entry(1, 0.0, 422), entry(2, 1.0, scope="other"))["unretryable_retried"] == "passed"
    # After a success the same request again is a new request, not a retry.
    asked_again = outcomes(entry(1, 0.0, 200), entry(2, 1.0, 200), entry(3, 2.0, 200))
    assert asked_again["no_backoff"] == "not met"


def test_retry_after_is_counted_from_the_answer() -> None:
    # Answered at 0.01 s with Retry-After: 2; a retry at 2.0 s is 1.99 s later: within tolerance.
    assert outcomes(entry(1, 0.0, 429, retry_after="2"), entry(2, 2.0))["retry_after_ignored"] == "passed"
    early = report([entry(1, 0.0, 429, retry_after="2"), entry(2, 1.0)]).verdicts["retry_after_ignored"]
    assert early.outcome == "FAILED"
    assert early.evidence == ["request #2 came 0.99 s after #1's 429 with Retry-After: 2"]


def test_back_off_means_growing_waits() -> None:
    equal = [entry(1, 0.0, 503), entry(2, 1.01, 503), entry(3, 2.02, 503), entry(4, 3.03)]
    assert outcomes(*equal)["no_backoff"] == "FAILED"
    growing = [entry(1, 0.0, 503), entry(2, 0.51, 503), entry(3, 1.52, 503), entry(4, 3.53)]
    assert outcomes(*growing)["no_backoff"] == "passed"
    assert outcomes(entry(1, 0.0, 503), entry(2, 1.0))["no_backoff"] == "not met"  # one retry: no shape


def test_an_answer_cut_short_must_be_retried() -> None:
    dropped = entry(1, 0.0, 200, fault="drop_mid_stream")
    assert outcomes(dropped)["broken_stream_abandoned"] == "FAILED"
    assert outcomes(dropped, entry(2, 0.5))["broken_stream_abandoned"] == "passed"
    assert outcomes(entry(1, 0.0, None))["broken_stream_abandoned"] == "FAILED"  # no answer at all
    assert outcomes(entry(1, 0.0, 200, fault="stall"))["broken_stream_abandoned"] == "not met"


def test_a_duplicate_is_within_a_millisecond() -> None:
    assert outcomes(entry(1, 0.0), entry(2, 0.0009))["duplicate_request"] == "FAILED"
    assert outcomes(entry(1, 0.0), entry(2, 0.0011))["duplicate_request"] == "passed"


def test_the_text_names_each_verdict_and_its_requests() -> None:
    text = report([entry(1, 0.0, 422), entry(2, 0.5)]).text()
    assert text.splitlines()[0] == "resilience report: 2 requests, 1 failed or faulted"
    assert "  FAILED   unretryable_retried: retried a status that must not be retried" in text
    assert "request #2 retried #1, answered 422" in text
    assert "not met  retry_after_ignored" in text
