"""The command's logging: one line per event a person can read, even under attack.

`Repeats` holds back a message once it has been logged BURST times in WINDOW seconds (the same
logger, level and message, numbers and addresses aside: "request accepted, but ... would fail",
asyncio's "socket.accept() out of system resource" and the failed retries it schedules when file
descriptors run out), and the first such message logged after the window says how many were held
back. The access log is left alone:
each of its lines is a request. `configure` sets the command's logging up with it.
"""

from __future__ import annotations

import logging
import re

BURST, WINDOW = 5, 10.0
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_UNFILTERED = ("aiohttp.access",)
_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\d+")
_KEY_LENGTH = 200


class Repeats(logging.Filter):
    def __init__(self, burst: int = BURST, window: float = WINDOW) -> None:
        super().__init__()
        self.burst, self.window = burst, window
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in _UNFILTERED or record.levelno < logging.INFO:
            return True
        key = (record.name, record.levelno, _NUMBERS.sub("#", str(record.msg)[:_KEY_LENGTH]))
        seen = self._seen.get(key)
        if seen is None or record.created - seen[0] > self.window:
            held = int(seen[2]) if seen is not None else 0
            self._seen[key] = [record.created, 1, 0]
            if len(self._seen) > 1024:  # one entry per message template: bounded, but be sure
                self._seen.pop(next(iter(self._seen)))
            if held:
                note = f"{held} more like this in the previous {self.window:g} s not logged"
                record.msg = f"{record.msg} [{note}]"
            return True
        if seen[1] < self.burst:
            seen[1] += 1
            return True
        seen[2] += 1
        return False


def configure(level: str) -> None:
    """The command's logging: `level` and above to stderr, repeats held back."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(Repeats())
