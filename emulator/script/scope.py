"""Test scopes: several tests (other processes, other languages) sharing one running emulator.

A request that sends `X-Emulator-Test-Id: NAME` is in the scope NAME: the journal records it
with its scope, and it sees the rules added in its scope (after the global ones), with its own
`times` counters and sequences, global rules included (so one test's late call cannot use up
another's scripted reply). The admin API reads, adds and resets per scope when its request sends
the header. A request without it is in the global scope, as before scopes existed.

Scopes live in one process: under --workers each worker keeps its own.
"""

from __future__ import annotations

from ..errors import BadTestId

SCOPE_HEADER = "X-Emulator-Test-Id"
MAX_LENGTH = 256
"""The longest test id, in characters (a pytest node id is usually well under this)."""


def scope_of(value: str | None) -> str | None:
    """The scope a header's value names (None: the global scope); BadTestId if it cannot be one:
    empty, too long, or not UTF-8 (its bytes arrive as lone surrogates, and `?scope=` could never
    name it)."""
    if value is None:
        return None
    if not value or len(value) > MAX_LENGTH:
        raise BadTestId(f"{SCOPE_HEADER} must be 1 to {MAX_LENGTH} characters (got {len(value)})")
    if not value.isascii() and not _utf8(value):
        raise BadTestId(f"{SCOPE_HEADER} must be UTF-8 text (it names the test in the journal and ?scope=)")
    return value


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
