"""Schemas a client sends (a tool's `parameters`), compiled so that they cannot reach outside the
process or stall it.

- No reference leaves the schema: a `$ref` that is not a local pointer (`#...`) is refused before
  anything is compiled (`RefusedReference`), so nothing is read from a file or fetched from the
  network, and the compiler runs offline besides (jsonschema-rs follows remote references unless
  told not to).
- Patterns compile with the linear-time regex engine (no lookaround, no backreferences): a
  pattern cannot make checking an argument take exponential time.
- A lone surrogate, which the compiler cannot take, makes it "not a JSON Schema" (a 422).

Compiled schemas are cached (a test suite sends the same tools again and again): the last
COMPILED_CACHE of at most CACHED_SCHEMA_SIZE characters, so the cache never holds a long text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import jsonschema_rs

from ..errors import RefusedReference

COMPILED_CACHE, CACHED_SCHEMA_SIZE = 256, 4096
_SHOWN = 100


def outside_reference(schema: Any) -> str | None:
    """Where the schema refers outside itself, in words (None: it does not). Linear in its size."""
    pending: list[tuple[Any, str]] = [(schema, "")]
    while pending:
        node, pointer = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and not reference.startswith("#"):
                shown = reference if len(reference) <= _SHOWN else reference[: _SHOWN - 3] + "..."
                return f"{pointer or '/'}: $ref {shown!r}"
            pending.extend((value, f"{pointer}/{key}") for key, value in reversed(node.items()))
        elif isinstance(node, list):
            pending.extend((value, f"{pointer}/{index}") for index, value in reversed(list(enumerate(node))))
    return None


def compiled_schema(text: str) -> jsonschema_rs.Draft7Validator:
    """A tool's parameters schema (canonical JSON), compiled; RefusedReference if it refers outside
    itself, ValueError if it is not a JSON Schema."""
    return _compiled_cached(text) if len(text) <= CACHED_SCHEMA_SIZE else _compile(text)


def _compile(text: str) -> jsonschema_rs.Draft7Validator:
    schema = json.loads(text)
    where = outside_reference(schema)
    if where is not None:
        raise RefusedReference(where)
    try:
        return jsonschema_rs.Draft7Validator(
            schema, offline=True, pattern_options=jsonschema_rs.RegexOptions()
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, TypeError, ValueError) as error:
        raise ValueError(_first_line(error)) from None


def _first_line(error: BaseException) -> str:
    lines: Iterator[str] = iter(str(error).splitlines())
    return next(lines, type(error).__name__)


_compiled_cached = lru_cache(maxsize=COMPILED_CACHE)(_compile)


def encode_canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values, equal text (a hashable key)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
