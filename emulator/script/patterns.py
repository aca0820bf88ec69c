"""Regular expressions that fixture rules match request text with, run by RE2 in linear time.

Python's `re` backtracks: a rule's `(a+)+$` took 3.2 s on a 26-character message, doubling with
each character, and the message is the client's. RE2 never backtracks, so matching costs time in
proportion to the text, whatever the pattern. It has no backreferences, lookahead or lookbehind,
atomic groups or possessive quantifiers: a pattern using one is refused when the fixture is
loaded (and by `jamba-emulator check`, and the admin API's 400), with the construct named.
Otherwise the syntax is Python's (`(?i)`, `\\d`, `(?P<name>...)`), as RE2 reads it: `\\d` and
`\\w` are ASCII-only, and `\\Z` is written `\\z`.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # the parser `re` itself uses: names the constructs RE2 lacks
from typing import Any

import re2

from ..errors import PatternError

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 writes parse errors to stderr unless told not to
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONSTRUCTS = {
    "GROUPREF": "a backreference (\\1, (?P=name))",
    "GROUPREF_EXISTS": "a conditional group ((?(1)...))",
    "ASSERT": "a lookahead or lookbehind ((?=...), (?<=...))",
    "ASSERT_NOT": "a negative lookahead or lookbehind ((?!...), (?<!...))",
    "ATOMIC_GROUP": "an atomic group ((?>...))",
    "POSSESSIVE_REPEAT": "a possessive quantifier (*+, ++, ?+)",
}


class Pattern:
    """A compiled pattern: `search(text)` says whether it occurs in `text`."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            parsed = sre_parse.parse(pattern)
        except re.error as error:
            raise PatternError(f"not a regular expression: {error}") from None
        construct = _unsupported(parsed)
        if construct is not None:
            raise PatternError(
                f"/{pattern}/ uses {construct}, which the linear-time matcher (RE2) does not run; "
                "write it without"
            )
        try:
            self._compiled = re2.compile(pattern, _OPTIONS)
        except re2.error as error:
            reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
            raise PatternError(f"/{pattern}/ is not a pattern RE2 runs: {reason}") from None

    def search(self, text: str) -> bool:
        try:
            return self._compiled.search(text) is not None
        except UnicodeEncodeError:  # a lone surrogate, which UTF-8 (and so RE2) cannot hold
            return self._compiled.search(_SURROGATE.sub("\ufffd", text)) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pattern) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


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
