"""Replies that echo the request: `{{name}}` in a scripted content is replaced by a value read
from the request, as in "You said: {{last_user}}".

Substitution only: no loops, conditionals, filters or code. The names (FIELDS) are read from the
canonical chat request, so they mean the same on every surface. A name not in FIELDS is refused
when the fixture loads; any other text, single braces included, is kept as written. The output is
capped at MAX_OUTPUT characters, each value at MAX_VALUE, and the result is then cut by
max_tokens and stop like any scripted content. Each name's value is read from the request once
per answer, however often the template uses it, and no value is built past MAX_VALUE, so a
template costs its length plus one pass over the request per name. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import NamedTuple

from ..chat.request import ChatRequest
from ..errors import FixtureError

MAX_VALUE = 16 * 1024
MAX_OUTPUT = 64 * 1024
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def _last(request: ChatRequest, role: str) -> str:
    return next((message.content for message in reversed(request.messages) if message.role == role), "")


def _param(name: str) -> Callable[[ChatRequest], str]:
    def read(request: ChatRequest) -> str:
        value = getattr(request, name)
        return _json_list(value) if isinstance(value, tuple) else json.dumps(value)

    return read


def _json_list(values: tuple[str, ...]) -> str:
    """`values` as a JSON list, written no further than MAX_VALUE characters (a stop list can
    hold a million sequences)."""
    parts, size = [], 0
    for value in values:
        part = json.dumps(value)
        parts.append(part)
        size += len(part) + 2
        if size > MAX_VALUE:
            break
    return "[" + ", ".join(parts) + "]"


FIELDS: dict[str, Callable[[ChatRequest], str]] = {
    "last_user": lambda request: _last(request, "user"),
    "system": lambda request: _last(request, "system"),
    "tool_result": lambda request: _last(request, "tool"),
    "model": lambda request: request.model,
    "turn": lambda request: str(sum(1 for message in request.messages if message.role == "assistant")),
    "tools": lambda request: ", ".join(tool.name for tool in request.tools),
    **{
        f"request.{name}": _param(name)
        for name in ("max_tokens", "temperature", "top_p", "n", "stream", "stop")
    },
}
"""Each name a template may use, and how its value is read from the request: the last user,
system or tool message's content ("" when there is none), the model, the turn (assistant
messages so far), the names of the tools offered, and the request's sampling fields as JSON."""


class Template(NamedTuple):
    parts: tuple[tuple[str, str], ...]
    """(literal text, field name) pairs, filled left to right; the last name is empty."""

    def render(self, request: ChatRequest) -> str:
        out: list[str] = []
        values: dict[str, str] = {}
        size = 0
        for literal, name in self.parts:
            out.append(literal)
            size += len(literal)
            if name:
                value = values.get(name)
                if value is None:
                    value = values[name] = FIELDS[name](request)[:MAX_VALUE]
                out.append(value)
                size += len(value)
            if size >= MAX_OUTPUT:
                break
        return "".join(out)[:MAX_OUTPUT]


def compile_template(text: str, where: str) -> Template | None:
    """The template in a content (None: it has no placeholder, and is sent as written);
    FixtureError, naming `where` and the known names, for a name that is not one."""
    parts: list[tuple[str, str]] = []
    start = 0
    for placeholder in _PLACEHOLDER.finditer(text):
        name = placeholder.group(1)
        if name not in FIELDS:
            known = ", ".join(f"{{{{{field}}}}}" for field in FIELDS)
            raise FixtureError(
                f"{where}: content: no placeholder {{{{{name}}}}}; the placeholders are {known}"
            )
        parts.append((text[start : placeholder.start()], name))
        start = placeholder.end()
    if not parts:
        return None
    parts.append((text[start:], ""))
    return Template(tuple(parts))
