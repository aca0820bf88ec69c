"""The request journal on its own: bounded with a count of what was dropped, secrets redacted,
bodies decoded when read, filters, clearing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jamba_emulator.script.journal import BODY_LIMIT, REDACTED, Journal, Labels, Received


def record(journal: Journal, **fields: Any) -> None:
    entry: dict[str, Any] = {
        "method": "POST",
        "path": "/studio/v1/chat/completions",
        "headers": [("Content-Type", "application/json")],
        "body": b'{"model": "m"}',
        "status": 200,
        "rule": None,
        "received_at": 1.0,
        "duration_ms": 2.0,
    }
    given = {**entry, **fields}
    headers = tuple(given["headers"])
    received = Received(given["method"], given["path"], headers, given["received_at"], None, None)
    labels = Labels(given["rule"])
    journal.record(received, given["body"], given["status"], labels, given["duration_ms"])


def test_the_oldest_entries_go_first_and_are_counted() -> None:
    journal = Journal(limit=3)
    for status in (200, 401, 422, 413, 404):
        record(journal, status=status)
    assert [entry.status for entry in journal.entries()] == [422, 413, 404]
    assert [entry.sequence for entry in journal.entries()] == [3, 4, 5]
    assert journal.summary() == {"kept": 3, "dropped": 2, "limit": 3}


def test_a_journal_of_size_zero_keeps_nothing_but_counts() -> None:
    journal = Journal(limit=0)
    record(journal)
    assert journal.entries() == []
    assert journal.dropped == 1


def test_api_keys_and_admin_tokens_are_redacted_but_the_scheme_shows() -> None:
    journal = Journal()
    headers = [
        ("Authorization", "Bearer sk-secret-123"),
        ("X-Emulator-Admin-Token", "tok"),
        ("User-Agent", "ai21/4.3"),
    ]
    record(journal, headers=headers)
    shown = journal.entries()[0].to_json()["headers"]
    assert shown == {
        "Authorization": f"Bearer {REDACTED}",
        "X-Emulator-Admin-Token": REDACTED,
        "User-Agent": "ai21/4.3",
    }
    assert "sk-secret-123" not in json.dumps(journal.entries()[0].to_json())


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b'{"model": "m", "messages": []}', {"model": "m", "messages": []}),
        (b"not json \xff", "not json \ufffd"),
        (b"", None),
    ],
)
def test_bodies_are_json_when_they_are_json_and_text_otherwise(raw: bytes, shown: Any) -> None:
    journal = Journal()
    record(journal, body=raw)
    assert journal.entries()[0].body == shown


def test_large_bodies_are_kept_truncated_and_say_so() -> None:
    journal = Journal()
    raw = json.dumps({"content": "x" * (2 * BODY_LIMIT)}).encode()
    record(journal, body=raw)
    shown = journal.entries()[0].to_json()
    assert shown["body_size"] == len(raw)
    assert shown["body_truncated"] is True
    assert len(shown["body"]) == BODY_LIMIT


def test_entries_filter_by_status_and_path_and_keep_the_last() -> None:
    journal = Journal()
    record(journal, status=200)
    record(journal, status=422)
    record(journal, status=422, path="/elsewhere")
    record(journal, status=422)
    assert [e.sequence for e in journal.entries(status=422)] == [2, 3, 4]
    assert [e.sequence for e in journal.entries(status=422, path="/studio/v1/chat/completions")] == [2, 4]
    assert [e.sequence for e in journal.entries(last=2)] == [3, 4]


def test_clear_forgets_entries_and_the_dropped_count() -> None:
    journal = Journal(limit=1)
    record(journal)
    record(journal)
    assert journal.clear() == 1
    assert journal.summary() == {"kept": 0, "dropped": 0, "limit": 1}
    record(journal)
    assert journal.entries()[0].sequence == 3, "sequence numbers keep counting across clears"
