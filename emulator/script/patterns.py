"""Regular expressions that fixture rules match request text with, run by RE2 in linear time.

Python's `re` backtracks: a rule's `(a+)+$` took 3.2 s on a 26-character message, doubling with
each character, and the message is the client's. RE2 never backtracks, so matching costs time in
proportion to the text, whatever the pattern. It has no backreferences, lookahead or lookbehind,
atomic groups or possessive quantifiers: a pattern using one is refused when the fixture is
loaded (and by `jamba-emulator check`, and the admin API's 400), with the construct named.
Otherwise the syntax is Python's (`(?i)`, `\\d`, `(?P<name>...)`), as RE2 reads it: `\\d` and
`\\w` are ASCII-only, and `\\Z` is written `\\z`.

RE2's time per byte is small, but it grows with the pattern's compiled program when the DFA's
cache thrashes (`(?s)x.{1000}y`, 7,006 instructions, took about 4 µs a byte on text of x's and
a's): matching spends a per-request budget of bytes x program size (conversation.py), and each
pattern's DFA memory is capped at MEMORY bytes (a pattern too large for it is refused).
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the parser `re` itself uses: names the constructs RE2 lacks
from typing import Any

import re2

from ..errors import PatternError
from .conversation import REGEX_WINDOW, MatchBudget, utf8

MEMORY = 64 * 1024
"""RE2's memory per pattern (program and DFA cache): what a pattern in force can hold at most."""
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 writes parse errors to stderr unless told not to
_OPTIONS.max_mem = MEMORY
_CONSTRUCTS = {
    "GROUPREF": "a backreference (\\1, (?P=name))",
    "GROUPREF_EXISTS": "a conditional group ((?(1)...))",
    "ASSERT": "a lookahead or lookbehind ((?=...), (?<=...))",
    "ASSERT_NOT": "a negative lookahead or lookbehind ((?!...), (?<!...))",
    "ATOMIC_GROUP": "an atomic group ((?>...))",
    "POSSESSIVE_REPEAT": "a possessive quantifier (*+, ++, ?+)",
}


class Pattern:
    """A compiled pattern: `search(text)` says whether it occurs in `text`; `found(data, budget)`
    the same for UTF-8 bytes, within a matching budget."""

    __slots__ = ("_compiled", "pattern", "program")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            self._compiled = re2.compile(pattern.encode("utf-8", "surrogatepass"), _OPTIONS)
        except re2.error as error:
            raise PatternError(_refusal(pattern, error)) from None
        self.program: int = self._compiled._regexp.ProgramSize()

    def search(self, text: str) -> bool:
        """Whether the pattern occurs anywhere in `text` (unbounded: for tests and tools)."""
        return self._compiled.search(utf8(text)) is not None

    def found(self, data: bytes, budget: MatchBudget) -> bool | None:
        """Whether the pattern occurs in `data` (UTF-8), searching at most REGEX_WINDOW bytes at
        each end of it (anchors and word boundaries still see the whole text around a window);
        None if the budget cannot pay for the search."""
        size = len(data)
        windows = (
            [(0, size)] if size <= 2 * REGEX_WINDOW else [(0, REGEX_WINDOW), (size - REGEX_WINDOW, size)]
        )
        for start, end in windows:
            if not budget.search(end - start, self.program):
                return None
            if self._compiled.search(data, start, end) is not None:
                return True
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


def _refusal(pattern: str, error: re2.error) -> str:
    """Why RE2 refused `pattern`, naming the construct it lacks if it uses one (Python's own
    parser, run only for a refused pattern, says which)."""
    try:
        construct = _unsupported(sre_parse.parse(pattern))
    except re.error as python_error:
        return f"not a regular expression: {python_error}"
    except RecursionError:
        return "nested too deeply to be a pattern RE2 runs (write it flatter)"
    if construct is not None:
        shown = _shown(pattern)
        return (
            f"/{shown}/ uses {construct}, which the linear-time matcher (RE2) does not run; write it without"
        )
    reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
    if "too large" in reason:
        reason += f" (its program must fit RE2's {MEMORY // 1024} KiB per pattern: use smaller counts)"
    return f"/{_shown(pattern)}/ is not a pattern RE2 runs: {reason}"


def _shown(pattern: str, limit: int = 200) -> str:
    return pattern if len(pattern) <= limit else pattern[: limit - 3] + "..."


def _unsupported(parsed: Any) -> str | None:
    """The first construct of a parsed pattern that RE2 lacks, in words."""
    pending = [parsed]
    while pending:
        node = pending.pop()
        for op, argument in node:
            name = str(op)
            if name in _CONSTRUCTS:
                return _CONSTRUCTS[name]
            pending.extend(_subpatterns(argument))
    return None


def _subpatterns(argument: Any) -> list[Any]:
    found = []
    for part in argument if isinstance(argument, (tuple, list)) else (argument,):
        if isinstance(part, sre_parse.SubPattern):
            found.append(part)
        elif isinstance(part, (tuple, list)):
            found.extend(_subpatterns(part))
    return found
