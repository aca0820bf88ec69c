"""An emulated rate limit per API key (off by default): sliding windows such as 2 requests per
second and 60 per minute, the limits documented in the Jamba Instruct era.

Pure and thread-safe; the clock is injectable so tests need not sleep. A refused request does not
count against the windows.

Bounded: each key keeps as many times as its largest window counts, and at most MAX_KEYS keys are
kept (with any key accepted, a client can send a new one each time): past that, the key seen
least recently is forgotten, as though its windows had emptied.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

Limit = tuple[int, float]
"""(requests, per seconds)."""


MAX_KEYS = 10_000


class RateLimiter:
    def __init__(
        self, limits: Sequence[Limit], clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS
    ) -> None:
        self.limits = tuple(limits)
        self.max_keys = max_keys
        self._longest = max((seconds for _, seconds in self.limits), default=0.0)
        self._most = max((count for count, _ in self.limits), default=0)
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys the limiter holds windows for."""
        return len(self._seen)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def wait_for(self, key: str) -> int | None:
        """Counts a request of `key` and returns None if the windows had room for it; else the
        whole seconds to wait (and the request is not counted)."""
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                seen = self._seen[key] = deque(maxlen=self._most)
                if len(self._seen) > self.max_keys:
                    self._seen.popitem(last=False)  # the key seen least recently
            else:
                self._seen.move_to_end(key)
            while seen and seen[0] <= now - self._longest:
                seen.popleft()
            wait = 0.0
            for count, seconds in self.limits:
                recent = [at for at in seen if at > now - seconds]
                if len(recent) >= count:
                    wait = max(wait, recent[-count] + seconds - now)
            if wait > 0:
                return max(1, math.ceil(wait))
            seen.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


def describe(limits: Sequence[Limit]) -> str:
    """`2/s, 60/min`: the limits as --rate-limit spells them."""
    units = {1.0: "s", 60.0: "min", 3600.0: "h"}
    return ", ".join(f"{count}/{units.get(seconds, f'{seconds:g}s')}" for count, seconds in limits)
