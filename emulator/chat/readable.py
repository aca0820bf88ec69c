"""JSON values as the schema validator can read them: a lone surrogate (valid in JSON text, not in
UTF-8) reads as U+FFFD, and an infinite number (a literal such as 1e400, or an integer of more
than 4,300 digits) as the largest finite one, so it is "too large" rather than a crash.

A copy is made only when something must change; lengths stay the same (one character for one),
so every rule judges the copy as it would the original. Iterative: JSON nested a thousand deep
is walked without recursion.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_LARGEST = sys.float_info.max


def readable(value: Any) -> Any:
    """`value`, or a copy with every lone surrogate and infinity replaced."""
    return _converted(value) if needs_reading(value) else value


def needs_reading(value: Any) -> bool:
    pending = [value]
    while pending:
        node = pending.pop()
        kind = type(node)
        if kind is str:
            if not node.isascii() and _SURROGATE.search(node):
                return True
        elif kind is float:
            if math.isinf(node):
                return True
        elif kind is dict:
            for key in node:
                if not key.isascii() and _SURROGATE.search(key):
                    return True
            pending.extend(node.values())
        elif kind is list:
            pending.extend(node)
    return False


def _text(text: str) -> str:
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _scalar(value: Any) -> Any:
    if type(value) is str:
        return _text(value)
    if type(value) is float and math.isinf(value):
        return math.copysign(_LARGEST, value)
    return value


def _converted(value: Any) -> Any:
    root: list[Any] = [None]
    pending: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while pending:
        node, parent, key = pending.pop()
        kind = type(node)
        if kind is dict:
            copy: dict[str, Any] = {}
            parent[key] = copy
            for name, child in node.items():
                readable_name = _text(name)
                copy[readable_name] = None  # keeps the keys' order
                pending.append((child, copy, readable_name))
        elif kind is list:
            items: list[Any] = [None] * len(node)
            parent[key] = items
            pending.extend((child, items, index) for index, child in enumerate(node))
        else:
            parent[key] = _scalar(node)
    return root[0]
