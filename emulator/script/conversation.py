"""What scripted rules read from one request, each fact computed once, and the work that matching
the request against every rule may spend.

Matching used to cost rules x messages: each rule counted the turn, found the last user message
and scanned the tool results again, and each regex ran over the whole of a text however long.
Now a `Conversation` holds the request's facts (the turn, the last role, the last user message,
the tool results by call id, the tools offered, each role's texts as a set and joined), made on
first use and shared by every rule, and a `MatchBudget` that the steps whose cost grows with the
request spend from:

- `characters`: text a `contains` scans and messages a condition walks (each message counts as
  at least VISIT characters), MATCH_CHARACTERS in all;
- `regex`: RE2's work, bytes searched x (the pattern's program size + REGEX_OVERHEAD), REGEX_WORK
  in all (its time per byte grows with the program when its DFA cache thrashes: patterns.py).
  A regex sees at most REGEX_WINDOW bytes (as UTF-8) at each end of a longer text.

A condition the budget cannot pay for is not checked, and the rule does not fit: --unmatched
error's explanation says so. The budget counts work, never time, so the same request against the
same rules always gets the same answer. The explanation of an unmatched request spends what is
left of the same budget, so it never doubles the work. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from ..chat.request import ChatRequest, Message

MATCH_CHARACTERS = 1 << 25
"""Characters one request's matching may scan (`contains`) or walk (messages), over every rule."""
VISIT = 128
"""Characters a message counts for at least when a condition looks at it."""
REGEX_WORK = 1 << 27
"""RE2 work one request's matching may spend: bytes searched x (program size + REGEX_OVERHEAD)."""
REGEX_OVERHEAD = 64
REGEX_WINDOW = 8 * 1024
"""Bytes (UTF-8) a regex sees at each end of a longer text: the first and the last."""
SEPARATOR = "\x00"
"""Between a role's texts joined for `contains` (a text that holds it is searched on its own)."""
NOT_CHECKED = "not checked: the request's matching budget was spent (see Bounded by construction)"


class Unchecked(str):
    """A reason a rule does not fit that is really "this condition was not checked"."""

    __slots__ = ()

    @classmethod
    def of(cls, question: str) -> Unchecked:
        return cls(f"{question}? {NOT_CHECKED}")


_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class MatchBudget:
    characters: int = MATCH_CHARACTERS
    regex: int = REGEX_WORK

    def scan(self, characters: int) -> bool:
        """Whether `characters` may be scanned (if so, they are spent)."""
        cost = max(characters, VISIT)
        if cost > self.characters:
            self.characters = 0
            return False
        self.characters -= cost
        return True

    def search(self, size: int, program: int) -> bool:
        """Whether RE2 may search `size` bytes with a program of `program` instructions."""
        cost = (size + REGEX_OVERHEAD) * (program + REGEX_OVERHEAD)
        if cost > self.regex:
            self.regex = 0
            return False
        self.regex -= cost
        return True


DEFAULT_SURFACE = "studio"
"""The surface a request is taken to come through when none is said (unit tests, the Python API):
the AI21 Studio API's (http/surfaces/studio.py; a test holds the two names together)."""


@dataclass(eq=False)
class Conversation:
    """One request as the rules see it; each fact made when a rule first asks for it."""

    request: ChatRequest
    headers: Mapping[str, str]
    surface: str = DEFAULT_SURFACE
    budget: MatchBudget = field(default_factory=MatchBudget)
    _texts: dict[str | None, frozenset[str]] = field(default_factory=dict, init=False, repr=False)
    _joined: dict[str | None, str] = field(default_factory=dict, init=False, repr=False)
    _encoded: dict[int, tuple[str, bytes]] = field(default_factory=dict, init=False, repr=False)

    @property
    def messages(self) -> tuple[Message, ...]:
        return self.request.messages

    @cached_property
    def last_user(self) -> str | None:
        return next((m.content for m in reversed(self.request.messages) if m.role == "user"), None)

    @cached_property
    def turn(self) -> int:
        """Assistant messages so far."""
        return sum(1 for message in self.request.messages if message.role == "assistant")

    @property
    def last_role(self) -> str:
        return self.request.messages[-1].role

    @cached_property
    def tool_results(self) -> tuple[Message, ...]:
        return tuple(message for message in self.request.messages if message.role == "tool")

    @cached_property
    def results_by_call(self) -> dict[str | None, tuple[Message, ...]]:
        found: dict[str | None, list[Message]] = {}
        for message in self.tool_results:
            found.setdefault(message.tool_call_id, []).append(message)
        return {call: tuple(messages) for call, messages in found.items()}

    @cached_property
    def offered(self) -> tuple[str, ...]:
        """The names of the tools the request offers, in its order."""
        return tuple(tool.name for tool in self.request.tools)

    @cached_property
    def offered_set(self) -> frozenset[str]:
        return frozenset(self.offered)

    def with_role(self, role: str | None) -> tuple[Message, ...]:
        """The messages of `role` (None: all of them)."""
        if role is None:
            return self.request.messages
        return self._by_role.get(role, ())

    def texts(self, role: str | None) -> frozenset[str]:
        """The contents of `role`'s messages, as a set (an `equals` is one look-up)."""
        texts = self._texts.get(role)
        if texts is None:
            texts = self._texts[role] = frozenset(message.content for message in self.with_role(role))
        return texts

    def joined(self, role: str | None) -> str:
        """The contents of `role`'s messages joined by SEPARATOR (a `contains` is one scan)."""
        joined = self._joined.get(role)
        if joined is None:
            joined = self._joined[role] = SEPARATOR.join(m.content for m in self.with_role(role))
        return joined

    def encoded(self, text: str) -> bytes:
        """`text` as UTF-8 for RE2 (a lone surrogate as U+FFFD), encoded once per request."""
        key = id(text)
        kept = self._encoded.get(key)
        if kept is None or kept[0] is not text:
            kept = self._encoded[key] = (text, utf8(text))
        return kept[1]

    @cached_property
    def _by_role(self) -> dict[str, tuple[Message, ...]]:
        found: dict[str, list[Message]] = {}
        for message in self.request.messages:
            found.setdefault(message.role, []).append(message)
        return {role: tuple(messages) for role, messages in found.items()}


def utf8(text: str) -> bytes:
    """`text` as UTF-8, a lone surrogate (which UTF-8 cannot hold) as U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which UTF-8 (and so RE2) cannot hold
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")
