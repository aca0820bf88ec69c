"""The request journal: every request the emulator received and what it answered, newest last,
bounded in size (the oldest entries go first, and are counted).

Pure and thread-safe: the server's event loop records, while a test on another thread (the
pytest fixture, the admin API) reads or clears. Bodies are kept as bytes, up to BODY_LIMIT, and
headers as received, up to HEADERS_LIMIT (then a marker header counts what was not kept); both
are decoded (and the headers' secrets redacted) only when read, so recording costs little on the
hot path. An entry holds at most ENTRY_SIZE bytes, so a journal holds at most --journal-size x
ENTRY_SIZE.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .credentials import REDACTED, redact

__all__ = [
    "BODY_LIMIT",
    "ENTRY_SIZE",
    "HEADERS_LIMIT",
    "MAX_ENTRIES",
    "NO_LABELS",
    "REDACTED",
    "Entry",
    "Journal",
    "Labels",
    "Received",
    "redact",
]

BODY_LIMIT = 64 * 1024
HEADERS_LIMIT = 16 * 1024
"""Bytes of request headers (names and values) an entry keeps."""
HEADERS_CUT = "X-Emulator-Headers-Cut"
"""The marker header that counts the headers an entry did not keep."""
SHORT_LIMIT = 256
"""Characters an entry keeps of a short field a client or a fixture sets (Retry-After, the scope)."""
MAX_ENTRIES = 100_000
"""The most entries a journal may be told to keep (--journal-size)."""
ENTRY_SIZE = BODY_LIMIT + HEADERS_LIMIT + 8 * 1024 + 2 * 1024
"""The most one entry holds, in bytes: its body, headers, path (aiohttp's request line is at most
8 KiB) and short fields."""


class Received(NamedTuple):
    """What a request said, read once when it arrives (http/app.py): the first part of its entry."""

    method: str
    path: str
    received_headers: tuple[tuple[str | bytes, str | bytes], ...]
    """As received (raw bytes from the server); an entry's `headers` hides the secrets."""
    received_at: float
    surface: str | None
    """The API surface whose route it came to ("studio", "bedrock", "converse", "vertex",
    "azure"); None for a path no surface serves."""
    scope: str | None
    """The test scope the request named (X-Emulator-Test-Id; scope.py); None: the global scope."""


class Labels(NamedTuple):
    """How the request was answered, as the reply decision labels it (decision.py)."""

    rule: str | None = None
    """The scripted rule that answered."""
    fault: str | None = None
    """The fault the answer met (a fault kind, or the status a --fault-rate draw answered)."""
    unmatched: bool = False
    """No rule answered it, and --unmatched error answered 404."""


NO_LABELS = Labels()


class Entry(NamedTuple):  # a named tuple: made in C, on every request
    """One request in the journal: what it said (Received's fields), its body, the answer's status,
    the labels (Labels' fields), its timing. The one type of an entry: the in-process API lists
    these, and the admin API's JSON reads back into them (`from_json`: the attached plugin, the
    resilience report)."""

    sequence: int
    method: str
    path: str
    received_headers: tuple[tuple[str | bytes, str | bytes], ...]
    received_at: float
    surface: str | None
    scope: str | None
    raw_body: bytes
    """Up to BODY_LIMIT bytes of it."""
    body_size: int
    body_truncated: bool
    status: int | None
    """The status answered; None when the connection was dropped before any answer."""
    rule: str | None
    fault: str | None
    unmatched: bool
    duration_ms: float
    retry_after: str | None
    """The answer's Retry-After header, if it had one (a 429's, a 503's)."""
    digest: str | None = None
    """The body's `body_key` when it is known without the body (read from the brief view)."""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """The request's headers, the API key and other secrets redacted."""
        return redact((_text(name), _text(value)) for name, value in self.received_headers)

    @property
    def body_key(self) -> str:
        """A digest of the body as parsed JSON (key order and spacing aside): the same for two
        requests a server would read alike, for comparing them without keeping the bodies."""
        return self.digest or body_key(self.body, truncated=self.body_truncated)

    @property
    def body(self) -> Any:
        """The body as JSON if it is JSON, else as text (invalid UTF-8 replaced); None if empty."""
        if not self.raw_body:
            return None
        text = self.raw_body.decode("utf-8", "replace")
        if self.body_truncated:
            return text  # not JSON any more
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text

    def to_json(self) -> dict[str, Any]:
        """As the admin API lists it: headers by name (redacted), the body parsed."""
        shown = self._asdict()
        del shown["received_headers"], shown["raw_body"], shown["digest"]
        shown["headers"] = _first_of_each(self.headers)
        shown["body"] = self.body
        shown["duration_ms"] = round(self.duration_ms, 3)
        return shown

    def brief(self) -> dict[str, Any]:
        """`to_json` without the headers and the body, the body's `body_key` instead: what the
        resilience report reads, a few hundred bytes an entry."""
        summary = self.to_json()
        del summary["headers"], summary["body"]
        summary["body_key"] = self.body_key
        return summary

    @classmethod
    def from_json(cls, shown: Mapping[str, Any]) -> Entry:
        """An entry as `to_json` or `brief` showed it (a field it lacks reads as empty)."""
        fields: dict[str, Any] = {name: shown.get(name) for name in cls._fields}
        body, truncated = shown.get("body"), bool(shown.get("body_truncated"))
        if body is None:
            raw = b""
        elif truncated:
            raw = str(body).encode("utf-8", "surrogatepass")
        else:
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        headers = shown.get("headers")
        digest = shown.get("body_key")
        fields.update(
            received_headers=tuple(headers.items()) if isinstance(headers, Mapping) else (),
            raw_body=raw,
            body_size=shown.get("body_size") or len(raw),
            body_truncated=truncated,
            unmatched=bool(shown.get("unmatched")),
            duration_ms=float(shown.get("duration_ms") or 0.0),
            received_at=float(shown.get("received_at") or 0.0),
            digest=digest if isinstance(digest, str) else body_key(body, truncated=truncated),
        )
        return cls(**fields)



def body_key(body: Any, *, truncated: bool = False) -> str:
    """`Entry.body_key` of a parsed body."""
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(body)
    if truncated:
        text = "truncated:" + text
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _first_of_each(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers by name, a repeated one by its first value (the one the server reads)."""
    kept: dict[str, str] = {}
    for name, value in headers:
        kept.setdefault(name, value)
    return kept


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")


def _kept_headers(
    headers: Iterable[tuple[str | bytes, str | bytes]],
) -> tuple[tuple[str | bytes, str | bytes], ...]:
    """The headers an entry keeps: all of them up to HEADERS_LIMIT bytes, then a marker."""
    headers = tuple(headers)
    size = 0
    for index, (name, value) in enumerate(headers):
        size += len(name) + len(value)
        if size > HEADERS_LIMIT:
            rest = headers[index:]
            cut = sum(len(name) + len(value) for name, value in rest)
            marker = f"{len(rest)} more headers ({cut} bytes) not kept: an entry keeps {HEADERS_LIMIT} bytes"
            return (*headers[:index], (HEADERS_CUT, marker))
    return headers


class Journal:
    """At most `limit` entries (0 keeps none); `dropped` counts those pushed out or not kept."""

    def __init__(self, limit: int = 1000) -> None:
        if not 0 <= limit <= MAX_ENTRIES:
            raise ValueError(
                f"must be between 0 (keep nothing) and {MAX_ENTRIES:,} entries (each up to "
                f"{ENTRY_SIZE // 1024} KiB), got {limit}"
            )
        self.limit = limit
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._sequence = 0
        self.dropped = 0

    def record(
        self,
        received: Received,
        body: bytes,
        status: int | None,
        labels: Labels,
        duration_ms: float,
        *,
        retry_after: str | None = None,
    ) -> None:
        """One more entry (Entry's fields: Received's, the body's, the status, Labels', timing)."""
        with self._lock:
            self._sequence += 1
            if len(self._entries) == self.limit:
                self.dropped += 1
            if self.limit:
                method, path, headers, received_at, surface, scope = received
                self._entries.append(
                    Entry(
                        self._sequence,
                        method,
                        path,
                        _kept_headers(headers),  # redacted when read: cheap to record
                        received_at,
                        surface,
                        scope,
                        bytes(body[:BODY_LIMIT]),
                        len(body),
                        len(body) > BODY_LIMIT,
                        status,
                        *labels,
                        duration_ms,
                        retry_after[:SHORT_LIMIT] if retry_after else retry_after,
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
