"""A least-recently-used cache bounded by the size of what it holds, not by its number of entries.

The generator keeps answers and completions, pure functions of the request, so that a repeated
request skips the writing. A bound on entries alone is no bound on memory: a completion of 16
choices holds a thousand times the tokens of a one-word answer. So each entry is weighed when it
is put (its key and value in characters, plus a fixed cost per token or object, an estimate of
its bytes) and the oldest entries go until the total is under the limit again.

Not thread-safe: each server's caches are used from its event loop only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedCache(Generic[K, V]):
    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"SizedCache: limit must be 0 or more, got {limit}")
        self.limit = limit
        """The most weight held at once (an estimate in bytes)."""
        self.weight = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, weight: int) -> None:
        """Keep `value` under `key` (unless it alone weighs more than the limit)."""
        if weight > self.limit:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.weight -= old[1]
        self._entries[key] = (value, weight)
        self.weight += weight
        while self.weight > self.limit:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.weight -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self.weight = 0


class LockedCache(SizedCache[K, V]):
    """A SizedCache several threads may use (e.g. a process-wide cache shared by in-process servers)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            return super().get(key)

    def put(self, key: K, value: V, weight: int) -> None:
        with self._lock:
            super().put(key, value, weight)

    def clear(self) -> None:
        with self._lock:
            super().clear()
