"""Scripted rules: what a request must look like (`Match`) for a rule to answer it with its
replies (replies.py), and the rules in force (`Script`). fixtures.py reads them from files.

Rules are tried in order; the first that fits and is not used up answers. Pure: the caller
passes the admitted request and the request headers (looked up by lower-case name);
thread-safe, since a test may add or clear rules from another thread while the server answers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..chat.request import ChatRequest, Message
from .credentials import is_credential
from .patterns import Pattern
from .replies import Reply


@dataclass(frozen=True, slots=True)
class TextMatch:
    equals: str | None = None
    contains: str | None = None
    regex: Pattern | None = None
    """Run by RE2, in time linear in the text (patterns.py)."""
    role: str | None = None

    def fits(self, text: str) -> bool:
        return next(self.mismatches(text), None) is None

    def mismatches(self, text: str) -> Iterator[str]:
        """Why `text` does not fit, one reason per condition it fails."""
        if self.equals is not None and text != self.equals:
            yield f"is {_shown(text)}, not {_shown(self.equals)}"
        if self.contains is not None and self.contains not in text:
            yield f"does not contain {_shown(self.contains)}"
        if self.regex is not None and not self.regex.search(text):
            yield f"does not match /{self.regex.pattern}/"

    def fits_any(self, messages: Iterable[Message]) -> bool:
        return any((self.role is None or m.role == self.role) and self.fits(m.content) for m in messages)

    def wanted(self) -> str:
        """The conditions in words: `equal to 'hi', matching /h.*/`."""
        parts = [
            f"equal to {_shown(self.equals)}" if self.equals is not None else "",
            f"containing {_shown(self.contains)}" if self.contains is not None else "",
            f"matching /{self.regex.pattern}/" if self.regex is not None else "",
        ]
        return ", ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class ToolResultMatch:
    """Some tool message whose content fits `text` (if given) and answers `tool_call_id` (if given)."""

    text: TextMatch | None = None
    tool_call_id: str | None = None

    def fits(self, message: Message) -> bool:
        return (self.tool_call_id is None or message.tool_call_id == self.tool_call_id) and (
            self.text is None or self.text.fits(message.content)
        )

    def wanted(self) -> str:
        parts = [self.text.wanted() if self.text is not None else ""]
        if self.tool_call_id is not None:
            parts.append(f"answering call {_shown(self.tool_call_id)}")
        return ", ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class Match:
    model: str | None = None
    last_user: TextMatch | None = None
    any_message: TextMatch | None = None
    turn: int | None = None
    """How many assistant messages came before."""
    last_role: str | None = None
    tool_result: ToolResultMatch | None = None
    tools: tuple[str, ...] = ()
    """Names of tools the request must offer."""
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    surface: str | None = None

    def fits(self, request: ChatRequest, headers: Mapping[str, str], surface: str = "studio") -> bool:
        return next(self.mismatches(request, headers, surface), None) is None

    def mismatches(
        self, request: ChatRequest, headers: Mapping[str, str], surface: str = "studio"
    ) -> Iterator[str]:
        """Why the request (which came through `surface`) does not fit, one reason per condition
        it fails (none: it fits)."""
        if self.surface is not None and surface != self.surface:
            yield f"it came through {surface}, the rule wants {self.surface}"
        if self.model is not None and request.model != self.model:
            yield f"model is {_shown(request.model)}, the rule wants {_shown(self.model)}"
        if self.last_user is not None:
            users = [m.content for m in request.messages if m.role == "user"]
            if not users:
                yield "there is no user message"
            else:
                yield from (f"the last user message {why}" for why in self.last_user.mismatches(users[-1]))
        if self.any_message is not None and not self.any_message.fits_any(request.messages):
            role = f"{self.any_message.role} " if self.any_message.role else ""
            yield f"no {role}message is {self.any_message.wanted()}"
        yield from self._conversation_mismatches(request)
        for name, value in self.params.items():
            if (sent := _param(request, name)) != value:
                yield f"{name} is {sent!r}, the rule wants {value!r}"
        for name, value in self.headers.items():
            if (sent_header := headers.get(name)) != value:
                if is_credential(name):  # neither what was sent nor what the rule wants is shown
                    got = "not sent" if sent_header is None else "is another value"
                    yield f"header {name} {got} (a credential: values not shown)"
                    continue
                got = "not sent" if sent_header is None else f"is {_shown(sent_header)}"
                yield f"header {name} {got}, the rule wants {_shown(value)}"

    def _conversation_mismatches(self, request: ChatRequest) -> Iterator[str]:
        """The conditions on the conversation's shape: turn, last role, tool results, tools offered."""
        if self.turn is not None:
            turn = sum(1 for message in request.messages if message.role == "assistant")
            if turn != self.turn:
                yield f"it is turn {turn} ({_assistants(turn)} before), the rule wants turn {self.turn}"
        if self.last_role is not None and (last := request.messages[-1].role) != self.last_role:
            yield f"the last message is the {last}'s, the rule wants the {self.last_role}'s"
        if self.tool_result is not None:
            results = [message for message in request.messages if message.role == "tool"]
            if not results:
                yield "there is no tool result"
            elif not any(self.tool_result.fits(message) for message in results):
                yield f"no tool result is {self.tool_result.wanted()}"
        offered = [tool.name for tool in request.tools]
        for name in self.tools:
            if name not in offered:
                yield f"the request does not offer the tool {_shown(name)} (it offers {_listed(offered)})"


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
        request: ChatRequest,
        headers: Mapping[str, str],
        surface: str = "studio",
        calls: int | None = None,
    ) -> list[str]:
        """Why this rule did not answer the request (empty: it would)."""
        reasons = list(self.match.mismatches(request, headers, surface))
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
    that, the one used least recently is forgotten (its rules and counts)."""

    MAX_SCOPES = 1000

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._loaded = list(rules)
        self._rules = list(self._loaded)
        self._scopes: OrderedDict[str, _Scope] = OrderedDict()
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        """Whether any rule is in force (read without the lock: a list's length is atomic)."""
        return bool(self._rules) or bool(self._scopes)

    def answer(
        self,
        request: ChatRequest,
        headers: Mapping[str, str],
        surface: str = "studio",
        scope: str | None = None,
    ) -> tuple[Rule, Reply] | None:
        """The first fitting rule that is not used up (in `scope`), and its reply for this call."""
        with self._lock:
            state = self._state(scope) if scope is not None else None
            for rule in self._visible(state):
                calls = _calls(rule, state)
                if not rule.used_up(calls) and rule.match.fits(request, headers, surface):
                    if state is None or rule.scope is not None:
                        rule.calls += 1
                    else:
                        state.calls[rule] = calls + 1
                    return rule, rule.reply_at(calls)
        return None

    def closest(
        self,
        request: ChatRequest,
        headers: Mapping[str, str],
        limit: int = 3,
        surface: str = "studio",
        scope: str | None = None,
    ) -> list[tuple[Rule, list[str]]]:
        """The rules that came nearest to answering (fewest reasons not to), with their reasons."""
        with self._lock:
            state = self._scopes.get(scope) if scope is not None else None
            explained = [
                (rule, rule.explain(request, headers, surface, _calls(rule, state)))
                for rule in self._visible(state)
            ]
        return sorted(explained, key=lambda pair: len(pair[1]))[:limit]

    def add(self, rules: Iterable[Rule], scope: str | None = None) -> None:
        with self._lock:
            if scope is None:
                self._rules.extend(rules)
                return
            state = self._state(scope)
            for rule in rules:
                rule.scope = scope
                state.rules.append(rule)

    def clear(self, scope: str | None = None) -> int:
        """Remove every rule of `scope`; without one, every rule, loaded ones and every scope's
        included. Returns how many there were."""
        with self._lock:
            if scope is not None:
                state = self._scopes.get(scope)
                count = len(state.rules) if state else 0
                if state:
                    state.rules.clear()
                return count
            count = len(self._rules) + sum(len(state.rules) for state in self._scopes.values())
            self._rules.clear()
            self._scopes.clear()
            return count

    def remove(self, name: str, scope: str | None = None) -> int:
        """Remove the rules with this name (of `scope`, or the global ones); returns how many."""
        with self._lock:
            state = self._scopes.get(scope) if scope is not None else None
            if scope is not None and state is None:
                return 0
            rules = state.rules if state is not None else self._rules
            kept = [rule for rule in rules if rule.name != name]
            removed = len(rules) - len(kept)
            rules[:] = kept
            return removed

    def reset(self, scope: str | None = None) -> None:
        """`scope` forgotten (its rules and counts); without one, back to the rules loaded at
        start, none of them used yet, and no scopes."""
        with self._lock:
            if scope is not None:
                self._scopes.pop(scope, None)
                return
            for rule in self._loaded:
                rule.calls = 0
            self._rules = list(self._loaded)
            self._scopes.clear()

    def reload(self, rules: Iterable[Rule]) -> None:
        """New rules from the fixture files replace the loaded ones; rules added at run time stay."""
        with self._lock:
            added = [rule for rule in self._rules if not any(rule is old for old in self._loaded)]
            self._loaded = list(rules)
            self._rules = [*self._loaded, *added]

    def rules(self) -> list[Rule]:
        """The global rules (every scope sees them)."""
        with self._lock:
            return list(self._rules)

    def described(self, scope: str | None = None) -> list[dict[str, Any]]:
        """The rules a request in `scope` sees, each with its calls in that scope (`Rule.to_json`)."""
        with self._lock:
            state = self._scopes.get(scope) if scope is not None else None
            return [rule.to_json(_calls(rule, state)) for rule in self._visible(state)]

    def _visible(self, state: _Scope | None) -> list[Rule]:
        return self._rules if state is None else [*self._rules, *state.rules]

    def _state(self, scope: str) -> _Scope:
        """The scope's state, made if new, and marked as just used (the lock is held)."""
        state = self._scopes.get(scope)
        if state is None:
            state = self._scopes[scope] = _Scope()
            if len(self._scopes) > self.MAX_SCOPES:
                self._scopes.popitem(last=False)
        else:
            self._scopes.move_to_end(scope)
        return state


def _calls(rule: Rule, state: _Scope | None) -> int:
    """The rule's calls as `state`'s scope counts them (None: the global scope)."""
    if state is None or rule.scope is not None:
        return rule.calls
    return state.calls.get(rule, 0)


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _param(request: ChatRequest, name: str) -> Any:
    value = getattr(request, name)
    return list(value) if name == "stop" else value


_TOOLS_SHOWN = 5


def _listed(names: list[str]) -> str:
    shown = ", ".join(map(_shown, names[:_TOOLS_SHOWN])) or "none"
    return shown + (f" and {len(names) - _TOOLS_SHOWN} more" if len(names) > _TOOLS_SHOWN else "")


def _assistants(count: int) -> str:
    return f"{count} assistant message{'s' if count != 1 else ''}"
