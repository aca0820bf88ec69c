"""Scripted rules (a `Match` and the replies it answers with, replies.py) and the rules in force
(`Script`). fixtures.py reads them from files; match.py says whether a request fits.

Rules are tried in order; the first that fits and is not used up answers. Pure: the caller
passes the admitted request and the request headers (looked up by lower-case name);
thread-safe, since a test may add or clear rules from another thread while the server answers.

The script is bounded: at most MAX_RULES rules in force (global and every scope's together),
MAX_SCOPE_RULES in one scope, MAX_WEIGHT bytes of them in all (each rule weighs its fixture JSON
plus patterns.MEMORY for each regex), and MAX_SCOPES scopes. Adding past a bound is refused
(ScriptFull, a FixtureError, naming it); a reload past it keeps the previous rules.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..chat.request import ChatRequest
from ..errors import FixtureError, ScopeForgotten
from .conversation import DEFAULT_SURFACE, Conversation
from .match import Match
from .patterns import MEMORY
from .replies import Reply

MAX_RULES = 10_000
"""Rules in force at most: those loaded, those added globally and every scope's, together."""
MAX_SCOPE_RULES = 1_000
"""Rules one test scope may add."""
MAX_WEIGHT = 64 << 20
"""What the rules in force may weigh in all, in bytes (Rule.weight)."""
MAX_FORGOTTEN = 100_000
"""Names of forgotten scopes remembered, so that their tests fail rather than pass (Script)."""


class ScriptFull(FixtureError):
    """Rules that would take the script past one of its bounds; the message names it."""


@dataclass(slots=True, eq=False)  # compared and hashed by identity: a scope counts its calls by rule
class Rule:
    name: str
    match: Match
    replies: tuple[Reply, ...]
    sequence: bool = False
    times: int | None = None
    expect: int | None = None
    """How many times the rule must answer (checked by the pytest plugin when a test ends)."""
    calls: int = 0
    """Calls answered in the rule's own scope (a global rule's: those of requests without a scope)."""
    source: str = ""
    """The fixture file it came from, or "admin API"."""
    scope: str | None = None
    """The test scope it was added in (scope.py); None: every scope sees it, each counting its own calls."""
    weight: int = 0
    """Bytes it counts for in the script's MAX_WEIGHT: its fixture JSON, plus each regex's memory."""

    def to_json(self, calls: int | None = None) -> dict[str, Any]:
        calls = self.calls if calls is None else calls
        return {
            "name": self.name,
            "source": self.source,
            "calls": calls,
            "times": self.times,
            "expect": self.expect,
            "sequence": self.sequence,
            "replies": len(self.replies),
            "used_up": self.used_up(calls),
            "scope": self.scope,
        }

    def used_up(self, calls: int | None = None) -> bool:
        calls = self.calls if calls is None else calls
        return (self.times is not None and calls >= self.times) or (
            self.sequence and calls >= len(self.replies)
        )

    def explain(
        self,
        request: ChatRequest | Conversation,
        headers: Mapping[str, str] | None = None,
        surface: str = DEFAULT_SURFACE,
        calls: int | None = None,
    ) -> list[str]:
        """Why this rule did not answer the request (empty: it would)."""
        conversation = _conversation(request, headers, surface)
        reasons = list(self.match.mismatches(conversation))
        calls = self.calls if calls is None else calls
        if self.used_up(calls):
            reasons.append(f"used up (answered {calls} time{'s' if calls != 1 else ''})")
        return reasons

    def reply_at(self, calls: int) -> Reply:
        """The reply for the call after `calls` answered ones."""
        return self.replies[calls] if self.sequence else self.replies[0]


@dataclass(slots=True)
class _Scope:
    """One test scope's own rules, and its counts of the global rules' calls."""

    rules: list[Rule] = field(default_factory=list)
    calls: dict[Rule, int] = field(default_factory=dict)


class Script:
    """The rules in force, in order: those loaded at start, then those added at run time, then (for
    a request in a test scope) those added in its scope.

    A scope (scope.py) sees the global rules and its own; it counts its own calls of each global
    rule, so `times` and sequences run out per scope. At most MAX_SCOPES scopes are kept: past
    that, the one used least recently is forgotten (its rules and counts), and its name is kept
    (up to MAX_FORGOTTEN names) until the scope is reset: reading its rules then raises
    ScopeForgotten, so its test fails with the reason instead of passing on missing evidence."""

    MAX_SCOPES = 1000

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._loaded = list(rules)
        _check_bounds(len(self._loaded), sum(rule.weight for rule in self._loaded), "")
        self._rules = list(self._loaded)
        self._scopes: OrderedDict[str, _Scope] = OrderedDict()
        self._forgotten: OrderedDict[str, None] = OrderedDict()
        self._count = len(self._rules)
        self._weight = sum(rule.weight for rule in self._rules)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        """Whether any rule is in force (read without the lock: a list's length is atomic)."""
        return bool(self._rules) or bool(self._scopes)

    def answer(
        self,
        request: ChatRequest | Conversation,
        headers: Mapping[str, str] | None = None,
        surface: str = DEFAULT_SURFACE,
        scope: str | None = None,
    ) -> tuple[Rule, Reply] | None:
        """The first fitting rule that is not used up (in `scope`), and its reply for this call."""
        conversation = _conversation(request, headers, surface)
        with self._lock:
            state = self._state(scope) if scope is not None else None
            for rule in self._visible(state):
                calls = _calls(rule, state)
                if not rule.used_up(calls) and rule.match.fits(conversation):
                    if state is None or rule.scope is not None:
                        rule.calls += 1
                    else:
                        state.calls[rule] = calls + 1
                    return rule, rule.reply_at(calls)
        return None

    def closest(
        self,
        request: ChatRequest | Conversation,
        headers: Mapping[str, str] | None = None,
        limit: int = 3,
        surface: str = DEFAULT_SURFACE,
        scope: str | None = None,
    ) -> list[tuple[Rule, list[str]]]:
        """The rules that came nearest to answering (fewest reasons not to), with their reasons.
        Given the Conversation `answer` was given, it spends what is left of the same budget."""
        conversation = _conversation(request, headers, surface)
        with self._lock:
            state = self._scopes.get(scope) if scope is not None else None
            explained = [
                (rule, rule.explain(conversation, calls=_calls(rule, state))) for rule in self._visible(state)
            ]
        return sorted(explained, key=lambda pair: len(pair[1]))[:limit]

    def add(self, rules: Iterable[Rule], scope: str | None = None) -> None:
        """Append `rules` (to `scope`'s); ScriptFull, adding none, past a bound."""
        rules = list(rules)
        weight = sum(rule.weight for rule in rules)
        with self._lock:
            _check_bounds(self._count + len(rules), self._weight + weight, " now")
            if scope is None:
                self._rules.extend(rules)
            else:
                state = self._scopes.get(scope)
                held = len(state.rules) if state is not None else 0
                if held + len(rules) > MAX_SCOPE_RULES:
                    raise ScriptFull(
                        f"test scope {_shown(scope)} would hold {held + len(rules):,} rules; one scope "
                        f"holds at most {MAX_SCOPE_RULES:,} (reset the scope, or add fewer)"
                    )
                state = self._state(scope)
                for rule in rules:
                    rule.scope = scope
                state.rules.extend(rules)
            self._count += len(rules)
            self._weight += weight

    def clear(self, scope: str | None = None) -> int:
        """Remove every rule of `scope`; without one, every rule, loaded ones and every scope's
        included. Returns how many there were."""
        with self._lock:
            if scope is not None:
                state = self._scopes.get(scope)
                if state is None:
                    return 0
                count = len(state.rules)
                self._forget(state.rules)
                state.rules.clear()
                return count
            count = self._count
            self._rules.clear()
            self._scopes.clear()
            self._count = self._weight = 0
            return count

    def remove(self, name: str, scope: str | None = None) -> int:
        """Remove the rules with this name (of `scope`, or the global ones); returns how many."""
        with self._lock:
            state = self._scopes.get(scope) if scope is not None else None
            if scope is not None and state is None:
                return 0
            rules = state.rules if state is not None else self._rules
            kept = [rule for rule in rules if rule.name != name]
            self._forget(rule for rule in rules if rule.name == name)
            removed = len(rules) - len(kept)
            rules[:] = kept
            return removed

    def reset(self, scope: str | None = None) -> None:
        """`scope` forgotten (its rules and counts, and any record of its eviction: its test
        starts afresh); without one, back to the rules loaded at start, none of them used yet,
        and no scopes."""
        with self._lock:
            if scope is not None:
                state = self._scopes.pop(scope, None)
                if state is not None:
                    self._forget(state.rules)
                self._forgotten.pop(scope, None)
                return
            for rule in self._loaded:
                rule.calls = 0
            self._rules = list(self._loaded)
            self._scopes.clear()
            self._forgotten.clear()
            self._count = len(self._rules)
            self._weight = sum(rule.weight for rule in self._rules)

    def reload(self, rules: Iterable[Rule]) -> None:
        """New rules from the fixture files replace the loaded ones; rules added at run time stay.
        ScriptFull, changing nothing, if they would take the script past a bound."""
        rules = list(rules)
        with self._lock:
            loaded = {id(rule) for rule in self._loaded}
            added = [rule for rule in self._rules if id(rule) not in loaded]
            count = self._count - len(self._loaded) + len(rules)
            weight = self._weight - sum(r.weight for r in self._loaded) + sum(r.weight for r in rules)
            _check_bounds(count, weight, " with the reloaded files")
            self._loaded = rules
            self._rules = [*rules, *added]
            self._count, self._weight = count, weight

    def rules(self) -> list[Rule]:
        """The global rules (every scope sees them)."""
        with self._lock:
            return list(self._rules)

    def described(self, scope: str | None = None) -> list[dict[str, Any]]:
        """The rules a request in `scope` sees, each with its calls in that scope (`Rule.to_json`);
        ScopeForgotten if the scope was forgotten since it was last reset."""
        with self._lock:
            if scope is not None and scope in self._forgotten:
                raise ScopeForgotten(scope, self.MAX_SCOPES)
            state = self._scopes.get(scope) if scope is not None else None
            return [rule.to_json(_calls(rule, state)) for rule in self._visible(state)]

    @property
    def held(self) -> tuple[int, int]:
        """The rules in force and what they weigh (MAX_RULES, MAX_WEIGHT)."""
        return self._count, self._weight

    def _visible(self, state: _Scope | None) -> list[Rule]:
        return self._rules if state is None else [*self._rules, *state.rules]

    def _forget(self, rules: Iterable[Rule]) -> None:
        """Rules leaving the script (the lock is held): no longer counted against its bounds."""
        for rule in rules:
            self._count -= 1
            self._weight -= rule.weight

    def _state(self, scope: str) -> _Scope:
        """The scope's state, made if new, and marked as just used (the lock is held)."""
        state = self._scopes.get(scope)
        if state is None:
            state = self._scopes[scope] = _Scope()
            if len(self._scopes) > self.MAX_SCOPES:
                evicted, old = self._scopes.popitem(last=False)
                self._forget(old.rules)
                self._forgotten[evicted] = None
                if len(self._forgotten) > MAX_FORGOTTEN:
                    self._forgotten.popitem(last=False)
        else:
            self._scopes.move_to_end(scope)
        return state


def _check_bounds(count: int, weight: int, when: str) -> None:
    if count > MAX_RULES:
        raise ScriptFull(
            f"the emulator would{when} hold {count:,} rules; it holds at most {MAX_RULES:,} (clear or "
            "reset rules no longer needed: DELETE /_emulator/rules, POST /_emulator/reset)"
        )
    if weight > MAX_WEIGHT:
        raise ScriptFull(
            f"the rules would{when} weigh {weight / (1 << 20):.1f} MiB; the emulator holds at most "
            f"{MAX_WEIGHT >> 20} MiB of rules (each weighs its JSON, plus {MEMORY // 1024} KiB per regex)"
        )


def _conversation(
    request: ChatRequest | Conversation, headers: Mapping[str, str] | None, surface: str
) -> Conversation:
    """The request as rules see it (a Conversation given is used as it is, budget and all)."""
    if isinstance(request, Conversation):
        return request
    return Conversation(request, headers or {}, surface)


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _calls(rule: Rule, state: _Scope | None) -> int:
    """The rule's calls as `state`'s scope counts them (None: the global scope)."""
    if state is None or rule.scope is not None:
        return rule.calls
    return state.calls.get(rule, 0)
