"""What a request must look like for a scripted rule to answer it: `Match`, and the text and tool
result conditions it is made of.

Every condition reads the request through a `Conversation` (conversation.py): its facts are
computed once per request, whatever the number of rules, and the conditions whose cost grows with
the request (`contains`, regexes, walks over messages) spend from its budget. A condition the
budget cannot pay for is not checked and does not fit. Pure.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..chat.request import Message
from .conversation import SEPARATOR, Conversation, Unchecked
from .credentials import is_credential
from .patterns import Pattern


@dataclass(frozen=True, slots=True)
class TextMatch:
    equals: str | None = None
    contains: str | None = None
    regex: Pattern | None = None
    """Run by RE2, in time linear in the text (patterns.py)."""
    role: str | None = None

    def mismatches(self, text: str, conversation: Conversation) -> Iterator[str]:
        """Why `text` does not fit, one reason per condition it fails."""
        if self.equals is not None and text != self.equals:
            yield f"is {_shown(text)}, not {_shown(self.equals)}"
        if self.contains is not None:
            if not conversation.budget.scan(len(text)):
                yield Unchecked.of(f"does it contain {_shown(self.contains)}")
            elif self.contains not in text:
                yield f"does not contain {_shown(self.contains)}"
        if self.regex is not None:
            found = self.regex.found(conversation.encoded(text), conversation.budget)
            if found is None:
                yield Unchecked.of(f"does it match /{_cut(self.regex.pattern)}/")
            elif not found:
                yield f"does not match /{_cut(self.regex.pattern)}/"

    def judged(self, text: str, conversation: Conversation) -> bool | None:
        """Whether `text` fits, stopping at the first condition it fails (None: not checked)."""
        first = next(self.mismatches(text, conversation), None)
        return True if first is None else None if isinstance(first, Unchecked) else False

    def fits_any(
        self, conversation: Conversation, role: str | None, candidates: tuple[Message, ...] | None = None
    ) -> bool | None:
        """Whether some message of `role` (None: any; or among `candidates`) fits; None if the
        budget ran out before one was found. An `equals` is one set look-up and a lone
        `contains` one scan of the texts joined, whatever the number of messages."""
        if candidates is None:
            if self.equals is not None:
                if self.equals not in conversation.texts(role):
                    return False
                return self.judged(self.equals, conversation)
            if self.regex is None and self.contains is not None and SEPARATOR not in self.contains:
                joined = conversation.joined(role)
                return self.contains in joined if conversation.budget.scan(len(joined)) else None
            candidates = conversation.with_role(role)
        budget = conversation.budget
        for message in candidates:
            if not budget.scan(0):  # each message looked at costs at least conversation.VISIT
                return None
            judged = self.judged(message.content, conversation)
            if judged is not False:
                return judged
        return False

    def wanted(self) -> str:
        """The conditions in words: `equal to 'hi', matching /h.*/`."""
        parts = [
            f"equal to {_shown(self.equals)}" if self.equals is not None else "",
            f"containing {_shown(self.contains)}" if self.contains is not None else "",
            f"matching /{_cut(self.regex.pattern)}/" if self.regex is not None else "",
        ]
        return ", ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class ToolResultMatch:
    """Some tool message whose content fits `text` (if given) and answers `tool_call_id` (if given)."""

    text: TextMatch | None = None
    tool_call_id: str | None = None

    def fits(self, conversation: Conversation) -> bool | None:
        """Whether a tool result fits (None: the budget ran out before one was found)."""
        if self.tool_call_id is None:
            return self.text.fits_any(conversation, "tool") if self.text is not None else True
        answering = conversation.results_by_call.get(self.tool_call_id, ())
        if self.text is None:
            return bool(answering)
        return self.text.fits_any(conversation, "tool", answering)

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

    def fits(self, conversation: Conversation) -> bool:
        return next(self.mismatches(conversation), None) is None

    def mismatches(self, conversation: Conversation) -> Iterator[str]:
        """Why the request does not fit, one reason per condition it fails (none: it fits)."""
        request, surface = conversation.request, conversation.surface
        if self.surface is not None and surface != self.surface:
            yield f"it came through {surface}, the rule wants {self.surface}"
        if self.model is not None and request.model != self.model:
            yield f"model is {_shown(request.model)}, the rule wants {_shown(self.model)}"
        if self.last_user is not None:
            last_user = conversation.last_user
            if last_user is None:
                yield "there is no user message"
            else:
                for why in self.last_user.mismatches(last_user, conversation):
                    yield type(why)(f"the last user message {why}")
        if self.any_message is not None and not (
            found := self.any_message.fits_any(conversation, self.any_message.role)
        ):
            role = f"{self.any_message.role} " if self.any_message.role else ""
            wanted = self.any_message.wanted()
            yield (
                f"no {role}message is {wanted}"
                if found is False
                else Unchecked.of(f"is a {role}message {wanted}")
            )
        yield from self._conversation_mismatches(conversation)
        for name, value in self.params.items():
            if (sent := getattr(request, name)) != value:  # `stop`: a tuple on both sides
                yield f"{name} is {_shown_value(sent)}, the rule wants {_shown_value(value)}"
        yield from self._header_mismatches(conversation.headers)

    def _conversation_mismatches(self, conversation: Conversation) -> Iterator[str]:
        """The conditions on the conversation's shape: turn, last role, tool results, tools offered."""
        if self.turn is not None and (turn := conversation.turn) != self.turn:
            yield f"it is turn {turn} ({_assistants(turn)} before), the rule wants turn {self.turn}"
        if self.last_role is not None and (last := conversation.last_role) != self.last_role:
            yield f"the last message is the {last}'s, the rule wants the {self.last_role}'s"
        if self.tool_result is not None:
            if not conversation.tool_results:
                yield "there is no tool result"
            elif not (found := self.tool_result.fits(conversation)):
                wanted = self.tool_result.wanted()
                yield (
                    f"no tool result is {wanted}"
                    if found is False
                    else Unchecked.of(f"is a tool result {wanted}")
                )
        for name in self.tools:
            if name not in conversation.offered_set:
                offered = _listed(conversation.offered)
                yield f"the request does not offer the tool {_shown(name)} (it offers {offered})"

    def _header_mismatches(self, headers: Mapping[str, str]) -> Iterator[str]:
        for name, value in self.headers.items():
            if (sent := headers.get(name)) != value:
                if is_credential(name):  # neither what was sent nor what the rule wants is shown
                    got = "not sent" if sent is None else "is another value"
                    yield f"header {name} {got} (a credential: values not shown)"
                    continue
                got = "not sent" if sent is None else f"is {_shown(sent)}"
                yield f"header {name} {got}, the rule wants {_shown(value)}"


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(text: str, limit: int = 60) -> str:
    return repr(_cut(text, limit))


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxlist, _REPR.maxother = 60, 6, 60


def _shown_value(value: Any) -> str:
    """A parameter's value, shortened as it is written (a long stop list is not written out)."""
    return _REPR.repr(list(value) if isinstance(value, tuple) else value)


_TOOLS_SHOWN = 5


def _listed(names: tuple[str, ...]) -> str:
    shown = ", ".join(map(_shown, names[:_TOOLS_SHOWN])) or "none"
    return shown + (f" and {len(names) - _TOOLS_SHOWN} more" if len(names) > _TOOLS_SHOWN else "")


def _assistants(count: int) -> str:
    return f"{count} assistant message{'s' if count != 1 else ''}"
