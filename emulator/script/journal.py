"""The request journal: every request the emulator received and what it answered, newest last,
bounded in size (the oldest entries go first, and are counted).

Pure and thread-safe: the server's event loop records, while a test on another thread (the
pytest fixture, the admin API) reads or clears. Bodies are kept as bytes, up to BODY_LIMIT, and
headers as received; both are decoded (and the headers' secrets redacted) only when read, so
recording costs little on the hot path.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .credentials import REDACTED, redact

__all__ = ["BODY_LIMIT", "REDACTED", "Entry", "Journal", "redact"]

BODY_LIMIT = 64 * 1024


class Entry(NamedTuple):  # a named tuple: made in C, on every request
    sequence: int
    method: str
    path: str
    received_headers: tuple[tuple[str | bytes, str | bytes], ...]
    """As received (raw bytes from the server); read `headers`, which hides the secrets."""
    raw_body: bytes
    body_size: int
    status: int | None
    """The status answered; None when the connection was dropped before any answer."""
    rule: str | None
    fault: str | None
    """The fault the answer met (a fault kind, or the status a --fault-rate draw answered)."""
    received_at: float
    duration_ms: float
    surface: str | None = None
    """The API surface that answered ("studio", "bedrock", "converse", "vertex", "azure"); None
    for a path no surface serves."""
    scope: str | None = None
    """The test scope the request named (X-Emulator-Test-Id; scope.py); None: the global scope."""
    unmatched: bool = False
    """No rule answered it, and --unmatched error answered 404."""
    retry_after: str | None = None
    """The answer's Retry-After header, if it had one (a 429's, a 503's)."""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The request's headers, the API key and other secrets redacted."""
        return redact((_text(name), _text(value)) for name, value in self.received_headers)

    @property
    def body(self) -> Any:
        """The body as JSON if it is JSON, else as text (invalid UTF-8 replaced); None if empty."""
        if not self.raw_body:
            return None
        text = self.raw_body.decode("utf-8", "replace")
        if self.body_size > len(self.raw_body):
            return text  # truncated: not JSON any more
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body": self.body,
            "body_size": self.body_size,
            "body_truncated": self.body_size > len(self.raw_body),
            "status": self.status,
            "rule": self.rule,
            "fault": self.fault,
            "received_at": self.received_at,
            "duration_ms": round(self.duration_ms, 3),
            "surface": self.surface,
            "scope": self.scope,
            "unmatched": self.unmatched,
            "retry_after": self.retry_after,
        }


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")


class Journal:
    """At most `limit` entries (0 keeps none); `dropped` counts those pushed out or not kept."""

    def __init__(self, limit: int = 1000) -> None:
        if limit < 0:
            raise ValueError(f"Journal: limit must be 0 or more, got {limit}")
        self.limit = limit
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._sequence = 0
        self.dropped = 0

    def record(
        self,
        *,
        method: str,
        path: str,
        headers: Iterable[tuple[str | bytes, str | bytes]],
        body: bytes,
        status: int | None,
        rule: str | None,
        received_at: float,
        fault: str | None = None,
        duration_ms: float,
        surface: str | None = None,
        scope: str | None = None,
        unmatched: bool = False,
        retry_after: str | None = None,
    ) -> None:
        with self._lock:
            self._sequence += 1
            if len(self._entries) == self.limit:
                self.dropped += 1
            if self.limit:
                self._entries.append(
                    Entry(
                        sequence=self._sequence,
                        method=method,
                        path=path,
                        received_headers=tuple(headers),  # redacted when read: cheap to record
                        raw_body=bytes(body[:BODY_LIMIT]),
                        body_size=len(body),
                        status=status,
                        rule=rule,
                        fault=fault,
                        received_at=received_at,
                        duration_ms=duration_ms,
                        surface=surface,
                        scope=scope,
                        unmatched=unmatched,
                        retry_after=retry_after,
                    )
                )

    def entries(
        self,
        *,
        status: int | None = None,
        path: str | None = None,
        last: int | None = None,
        surface: str | None = None,
        scope: str | None = None,
    ) -> list[Entry]:
        """Entries oldest first, optionally only one status, path, surface or test scope,
        optionally only the last N."""
        with self._lock:
            chosen = [
                entry
                for entry in self._entries
                if (status is None or entry.status == status)
                and (path is None or entry.path == path)
                and (surface is None or entry.surface == surface)
                and (scope is None or entry.scope == scope)
            ]
        return chosen[-last:] if last else chosen

    def clear(self, scope: str | None = None) -> int:
        """Forget every entry and the dropped count (or only the entries of test `scope`);
        returns how many entries went."""
        with self._lock:
            if scope is not None:
                kept = [entry for entry in self._entries if entry.scope != scope]
                count = len(self._entries) - len(kept)
                self._entries = deque(kept, maxlen=self.limit)
                return count
            count = len(self._entries)
            self._entries.clear()
            self.dropped = 0
            return count

    def summary(self) -> Mapping[str, int]:
        with self._lock:
            return {"kept": len(self._entries), "dropped": self.dropped, "limit": self.limit}
