"""Transport faults (a dropped connection, a malformed chunk, a stall) and the global fault plan.

A `Fault` says what goes wrong with a 200 answer and where: in a stream, after `after_events`
events (default: half of them); in a plain JSON answer, half-way through its body. A scripted
rule asks for one per reply (schemas/fixtures.schema.json, `reply.fault`); `--fault-rate` draws
them, or error statuses, for the requests no rule answers, from a generator seeded by `--seed`,
so a run's sequence of faults repeats.

Pure: what each kind does is the table EFFECTS; the HTTP wing (http/delivery.py) carries it
out on the connection, reading the table, and the surface says how a part is sent broken.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..resources import SCHEMA_DIR, load_json

FAULT_KINDS: tuple[str, ...] = tuple(
    load_json(SCHEMA_DIR / "fixtures.schema.json")["definitions"]["Fault"]["properties"]["kind"]["enum"]
)
"""The kinds a fixture's `reply.fault` may name, as schemas/fixtures.schema.json lists them."""
# Statuses the global plan may answer with, and the Retry-After each is sent with (if any).
RETRY_AFTER = {429: "1", 503: "1"}
DEFAULT_GLOBAL_FAULTS = ("429", "500", "503")


@dataclass(frozen=True, slots=True)
class Effect:
    """What a fault kind does where it strikes (at the cut: see Fault.cut)."""

    at_start: bool = False
    """It strikes before anything is sent, the status line and headers included."""
    breaks: bool = False
    """The part at the cut is sent broken: half of it (a stream's event, or a JSON body)."""
    closes: bool = False
    """The connection closes at the cut: the rest is never sent."""
    pauses: bool = False
    """Nothing is sent for `stall_ms` (None: until the client leaves), then the rest is."""


EFFECTS: dict[str, Effect] = {
    "drop_before_response": Effect(at_start=True, closes=True),
    "drop_mid_stream": Effect(closes=True),
    "malformed_chunk": Effect(breaks=True),
    "stall": Effect(pauses=True),
}
"""Each of FAULT_KINDS (a test holds the two to the same names): a new kind is a line here and a
name in the schema's enum."""


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    """One of FAULT_KINDS."""
    after_events: int | None = None
    """Stream events sent before the fault; default: half of them (at least the role chunk)."""
    stall_ms: int | None = None
    """`stall` only: how long before the answer carries on; None: until the client gives up."""

    def cut(self, count: int) -> int:
        """Where the fault strikes among `count` stream events (or body halves): an index < count."""
        if count <= 1:
            return 0
        at = self.after_events if self.after_events is not None else max(1, count // 2)
        return min(at, count - 1)

    @property
    def effect(self) -> Effect:
        return EFFECTS[self.kind]


def parse_choice(text: str) -> int | Fault:
    """One global fault choice: an HTTP error status ("503") or a fault kind ("drop_mid_stream")."""
    value = text.strip()
    if value.isascii() and value.isdigit() and 400 <= int(value) <= 599:
        return int(value)
    if value in FAULT_KINDS:
        return Fault(value)
    raise ValueError(f"{value!r} is neither an error status (400-599) nor one of {', '.join(FAULT_KINDS)}")


class FaultPlan:
    """Strikes each request no rule answered with probability `rate`, picking uniformly among
    `choices`; seeded, so the same requests in the same order meet the same faults."""

    def __init__(self, rate: float, choices: Sequence[int | Fault], seed: int) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"FaultPlan: rate must be between 0 and 1, got {rate}")
        if rate and not choices:
            raise ValueError("FaultPlan: a rate above 0 needs at least one choice")
        self.rate = rate
        self.choices = tuple(choices)
        self._seed = seed
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return self.rate > 0

    def draw(self) -> int | Fault | None:
        """The fault for the next request, or None."""
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(self.choices)

    def reset(self) -> None:
        """Start the seeded sequence again."""
        with self._lock:
            self._rng = random.Random(self._seed)
