"""One request while it is answered: what the journal will record of it, and the one call that
records it.

`app.journal_requests` makes one per request from what the request said (read once: `Received`) and
records it when the handler is done, unless delivery already did (through the `record` callback
it is given, just before the answer's end goes out). The chat handler adds the body it read and
the plan's labels; nothing else writes to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from ..script.journal import NO_LABELS, Journal, Labels, Received


@dataclass(slots=True)
class Exchange:
    received: Received
    """The request itself is not kept: the request holds its exchange, and a cycle between them
    would leave every request to the garbage collector."""
    journal: Journal
    started: float
    raw_body: bytes | None = None
    labels: Labels = NO_LABELS
    """The plan's (script/decision.py)."""
    recorded: bool = False

    def record(self, status: int | None, body: bytes | None = None, retry_after: str | None = None) -> None:
        """Put the request in the journal with this status (None: no answer); only the first call
        counts, so delivery can record before the client sees the answer end."""
        if self.recorded:
            return
        self.recorded = True
        duration_ms = (time.perf_counter() - self.started) * 1000
        body = body if body is not None else self.raw_body or b""
        self.journal.record(self.received, body, status, self.labels, duration_ms, retry_after=retry_after)


EXCHANGE = web.RequestKey("exchange", Exchange)
