"""One request while it is answered: what the journal will record of it, and the one call that
records it.

`app.journaled` makes one per request and records it when the handler is done, unless delivery
already did (through the `record` callback it is given, just before the answer's end goes out).
The chat handler fills in the body it read and the plan's labels (the rule, the fault).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from ..script.journal import Journal


@dataclass(slots=True)
class Exchange:
    method: str
    path: str
    headers: tuple[tuple[bytes, bytes], ...]
    """As received (`request.raw_headers`). The request itself is not kept: the request holds
    its exchange, and a cycle between them would leave every request to the garbage collector."""
    journal: Journal
    received_at: float
    started: float
    raw_body: bytes | None = None
    rule: str | None = None
    """The scripted rule that answered, if one did."""
    fault: str | None = None
    """The fault the answer met (a fault kind, or the status a --fault-rate draw answered)."""
    surface: str | None = None
    """The surface whose route answered (None: a path no surface serves)."""
    scope: str | None = None
    """The test scope the request named (script/scope.py)."""
    unmatched: bool = False
    """No rule answered it, and --unmatched error said so with a 404."""
    recorded: bool = False

    def record(self, status: int | None, body: bytes | None = None, retry_after: str | None = None) -> None:
        """Put the request in the journal with this status (None: no answer); only the first call
        counts, so delivery can record before the client sees the answer end."""
        if self.recorded:
            return
        self.recorded = True
        self.journal.record(
            method=self.method,
            path=self.path,
            headers=self.headers,
            body=body if body is not None else self.raw_body or b"",
            status=status,
            rule=self.rule,
            fault=self.fault,
            received_at=self.received_at,
            duration_ms=(time.perf_counter() - self.started) * 1000,
            surface=self.surface,
            scope=self.scope,
            unmatched=self.unmatched,
            retry_after=retry_after,
        )


EXCHANGE = web.RequestKey("exchange", Exchange)
