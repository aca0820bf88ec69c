"""Schema violations as the real service's pydantic-v1 error items `{loc, msg, type}`, found in
bounded time and listed up to a cap.

jsonschema-rs finds every violation of a body in one pass, at about 5 µs each: 290,000 invalid
messages (an 8 MiB body) took 6 s, a million tool calls 19 s, and nothing can stop it half-way.
So a body of more than VIEW_WEIGHT bytes (as compact JSON) is checked in *views*, each a small
copy of the body with the same answer for the part it shows:

- the base view: every long list cut to its first KEEP entries (plus the first entry that meets
  the list's `contains`, if a later one does), every large object without its unknown keys;
- one view per window of a long list's entries, or of a large object's unknown keys, with the
  rest of the body cut down the same way.

A cut-down list or object keeps its type, its known keys and its first entries, so the rules of
the part a view shows judge it as they judge the whole body; the tests hold the views' findings to
the whole body's on bodies small enough to check both ways (tests/property/test_violations.py).
That holds for the keywords the request schema uses on lists and objects (`items`, `minItems` up
to KEEP, `properties`, `required`, `additionalProperties`, `contains` on top-level properties and
`maxItems` on properties reached through properties alone, which the cuts check on the whole
list); a test fails if the schema gains another (tests/unit/test_violations.py).

Views are checked in the body's order until `Budget.errors_found` items have been found; the first
`listed` of them are answered, sorted in the field order pydantic uses, then one item saying how
many more were found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import ErrorItem, Loc

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

VIEW_WEIGHT = 16 * 1024
"""The most bytes (as compact JSON) one view holds, apart from the scalars on the way to its
window: a view has fewer values, so fewer violations, than it has bytes. Weighed by orjson, in C:
a Python walk of the values took as long as the rest of the search."""
KEEP = 8
"""Entries a cut-down list keeps: at least any `minItems` of the schema."""
TOO_MANY = "value_error.too_many_errors"
EXTRA = "extra fields not permitted"
UNMATCHED = ErrorItem(("body",), "the body does not match the request schema", "value_error.schema")
"""Said only if the views found nothing where the whole body failed (a bug: the tests look for it)."""

_TYPE_ERRORS = {
    "integer": ("value is not a valid integer", "type_error.integer"),
    "number": ("value is not a valid float", "type_error.float"),
    "string": ("str type expected", "type_error.str"),
    "boolean": ("value could not be parsed to a boolean", "type_error.bool"),
    "array": ("value is not a valid list", "type_error.list"),
    "object": ("value is not a valid dict", "type_error.dict"),
}
_BOUND_ERRORS = {
    "minimum": ("ensure this value is greater than or equal to {}", "value_error.number.not_ge"),
    "maximum": ("ensure this value is less than or equal to {}", "value_error.number.not_le"),
    "exclusiveMinimum": ("ensure this value is greater than {}", "value_error.number.not_gt"),
    "exclusiveMaximum": ("ensure this value is less than {}", "value_error.number.not_lt"),
    "minLength": ("ensure this value has at least {} characters", "value_error.any_str.min_length"),
    "maxLength": ("ensure this value has at most {} characters", "value_error.any_str.max_length"),
    "minItems": ("ensure this value has at least {} items", "value_error.list.min_items"),
    "maxItems": ("ensure this value has at most {} items", "value_error.list.max_items"),
}
SUPPORTED_CONTAINER_KEYWORDS = frozenset(
    {"items", "contains", "minItems", "maxItems", "properties", "required", "additionalProperties"}
)
"""The keywords on lists and objects whose verdict the views keep (see the module docstring)."""


@dataclass(slots=True)
class Found:
    """What a search found: the items to answer (capped) and how many more there were."""

    items: list[ErrorItem]
    more: int
    complete: bool
    """False when the search stopped at its budget before reading the whole body."""

    def answered(self, order: Callable[[ErrorItem], Any] | None = None) -> list[ErrorItem]:
        """The items to answer, sorted by `order`, then the count of the rest, if any."""
        listed = sorted(self.items, key=order) if order is not None else self.items
        if not self.more:
            return listed
        if self.complete:
            msg = f"{self.more} more errors not listed (at most {len(self.items)} are)"
        else:
            msg = f"at least {self.more} more errors not listed (at most {len(self.items)} are; the search stopped)"  # noqa: E501
        return [*listed, ErrorItem(("body",), msg, TOO_MANY)]


class Searcher:
    """Finds a body's violations of one compiled schema (`validator`, a jsonschema-rs validator
    of `schema`), view by view."""

    def __init__(self, validator: Any, schema: Mapping[str, Any]) -> None:
        import jsonschema_rs  # noqa: PLC0415  (imported already by whoever compiled `validator`)

        self._validator = validator
        self._schema = schema
        self.known = frozenset(_property_names(schema))
        # The list-wide rules a cut-down list cannot show: `contains` of the top-level properties
        # (the only place the request schema has it: tests/unit/test_violations.py checks that),
        # and `maxItems` of any property reached through properties alone (Converse's
        # inferenceConfig.stopSequences), checked by the cuts on the whole list.
        properties = {
            name: spec for name, spec in (schema.get("properties") or {}).items() if isinstance(spec, dict)
        }
        self.contains = {
            name: jsonschema_rs.Draft7Validator(
                {"contains": spec["contains"], "definitions": schema.get("definitions", {})}
            )
            for name, spec in properties.items()
            if "contains" in spec
        }
        self.max_items = {path: spec for path, spec in _property_paths(schema) if "maxItems" in spec}

    def search(self, body: Any, *, listed: int, found_at_most: int) -> Found:
        """Every violation up to `listed`, and a count of the rest until `found_at_most` in all."""
        seen: dict[ErrorItem, None] = {}
        views = _Views(self, body).all() if _weight(body) > VIEW_WEIGHT else iter([_View(body)])
        complete = True
        for view in views:
            for item in self._items_of(view):
                seen[item] = None
            if len(seen) >= found_at_most:
                complete = next(views, None) is None
                break
        items = list(seen) or [UNMATCHED]  # never an empty 422: the body failed the schema
        return Found(items[:listed], max(0, len(items) - listed), complete)

    def _items_of(self, view: _View) -> Iterator[ErrorItem]:
        yield from view.extra
        for error in self._validator.iter_errors(view.body):
            where: Sequence[Any] = error.schema_path
            subschema = _at(self._schema, where[:-1])
            keyword = str(where[-1])
            instance_path = tuple(error.instance_path)
            for item in items_for(
                ("body", *instance_path),
                keyword,
                subschema[keyword],
                _at(view.body, instance_path),
                subschema,
                message=error.message,
            ):
                loc = view.full_loc(item.loc)
                if loc is not None:
                    yield item if loc is item.loc else item._replace(loc=loc)


class _Views:
    """The views of one body: the base view, then a view per window, in the body's order."""

    def __init__(self, searcher: Searcher, body: Any) -> None:
        self._known, self._contains, self._max_items = searcher.known, searcher.contains, searcher.max_items
        self._body = body
        self.extra: list[ErrorItem] = []
        """Items the cuts found themselves: a list longer than its `maxItems`, cut to a few."""
        self._heavies: dict[int, bool] = {}
        self._cuts: dict[int, Any] = {}
        self._witnesses: dict[int, int] = {}
        """id of a cut-down list -> the index of the entry shown out of place (a `contains` witness)."""

    def all(self) -> Iterator[_View]:
        yield _View(self._cut(self._body, ()), witnesses=self._witnesses, extra=self.extra)
        for path, window in self._windows(self._body, ()):
            yield self._window_view(path, window)

    def _heavy(self, value: Any) -> bool:
        kind = type(value)
        if kind is not list and kind is not dict:
            return False
        heavy = self._heavies.get(id(value))
        if heavy is None:
            heavy = self._heavies[id(value)] = _weight(value) > VIEW_WEIGHT
        return heavy

    def _cut(self, value: Any, path: tuple[Any, ...]) -> Any:
        """`value` cut down to a view's size, keeping its type, its known keys and its first
        entries (the same cut wherever it is shown, so it is made once)."""
        if not self._heavy(value):
            return value
        cut = self._cuts.get(id(value))
        if cut is not None:
            return cut
        if type(value) is dict:
            cut = {k: self._cut(v, (*path, k)) for k, v in value.items() if k in self._known}
        else:
            cut = [self._cut(entry, (*path, index)) for index, entry in enumerate(value[:KEEP])]
            spec = self._max_items.get(path)
            if spec is not None and len(value) > spec["maxItems"]:
                self.extra += items_for(
                    ("body", *path), "maxItems", spec["maxItems"], value, spec, message="too many items"
                )
            witness = self._witness(value, path)
            if witness is not None:
                self._witnesses[id(cut)] = len(cut)
                cut.append(self._cut(value[witness], (*path, witness)))
        self._cuts[id(value)] = cut
        return cut

    def _witness(self, value: list[Any], path: tuple[Any, ...]) -> int | None:
        """The first entry past KEEP that meets the list's `contains`, when none of the first
        KEEP do and a later one does (found by halving, each half checked in one call)."""
        contains = self._contains.get(path[0]) if len(path) == 1 else None
        if contains is None or contains.is_valid(value[:KEEP]) or not contains.is_valid(value):
            return None
        low, high = KEEP, len(value)
        while high - low > 1:
            middle = (low + high) // 2
            if contains.is_valid(value[low:middle]):
                high = middle
            else:
                low = middle
        return low

    def _windows(self, value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], Sequence[Any]]]:
        """(path of a long list or large object, the indices or unknown keys of one window) for
        every window, in the body's order: an entry too heavy for a window of its own is
        followed by the windows inside it."""
        if type(value) is list:
            for window in self._split(value, range(len(value))):
                yield path, window
                if len(window) == 1 and self._heavy(value[window[0]]):
                    yield from self._windows(value[window[0]], (*path, window[0]))
            return
        unknown = [key for key in value if key not in self._known]
        yield from ((path, window) for window in self._split(value, unknown))
        for key, child in value.items():
            if key in self._known and self._heavy(child):
                yield from self._windows(child, (*path, key))

    def _split(self, container: Any, keys: Sequence[Any]) -> Iterator[Sequence[Any]]:
        """Consecutive windows of `keys` (a range of indices, or object keys) whose values weigh at
        most VIEW_WEIGHT together, or a single heavier one: a window too heavy is halved, and the
        next starts at the size that fitted (doubling again while they fit)."""
        size, start = _SPLIT_FIRST, 0
        while start < len(keys):
            window = keys[start : start + size]
            if len(window) > 1:
                values = (
                    container[window.start : window.stop]
                    if type(window) is range
                    else [container[key] for key in window]
                )
                if _weight(values) > VIEW_WEIGHT:
                    size = len(window) // 2
                    continue
            yield window
            start += len(window)
            size = min(2 * size, _SPLIT_FIRST)

    def _window_view(self, path: tuple[Any, ...], window: Sequence[Any]) -> _View:
        """The body cut down, with the container at `path` showing only `window` and each list
        on the way there only the entry on the way."""
        offsets: dict[tuple[Any, ...], int] = {}
        view_path: list[Any] = []
        value: Any = self._body
        spine: list[tuple[Any, Any]] = []  # (container on the way, the key taken), outermost first
        for key in path:
            spine.append((value, key))
            if type(value) is list:
                offsets[tuple(view_path)] = key
                view_path.append(0)
            else:
                view_path.append(key)
            value = value[key]
        if type(value) is list:
            offsets[tuple(view_path)] = window[0]
            # Several entries share a window only when they are light together: shown as they are.
            shown: Any = (
                value[window[0] : window[-1] + 1]
                if len(window) > 1
                else [self._cut(value[window[0]], (*path, window[0]))]
            )
        else:
            shown = {**self._cut(value, path), **{k: self._cut(value[k], (*path, k)) for k in window}}
        for depth in range(len(spine) - 1, -1, -1):
            container, key = spine[depth]
            shown = [shown] if type(container) is list else {**self._cut(container, path[:depth]), key: shown}
        return _View(
            shown,
            offsets=offsets,
            inside=(tuple(view_path), None if type(value) is list else frozenset(window)),
            witnesses=self._witnesses,
        )


_SPLIT_FIRST = 1024
"""The most entries a window holds (fewer when they weigh more than VIEW_WEIGHT)."""


class _View:
    """A cut-down body, and how the locations of its items map onto the whole body's."""

    __slots__ = ("_inside", "_offsets", "_witnesses", "body", "extra")

    def __init__(
        self,
        body: Any,
        *,
        offsets: Mapping[tuple[Any, ...], int] | None = None,
        inside: tuple[tuple[Any, ...], frozenset[Any] | None] | None = None,
        witnesses: Mapping[int, int] | None = None,
        extra: list[ErrorItem] | None = None,
    ) -> None:
        self.body = body
        self.extra = extra or []
        self._offsets = offsets or {}
        self._inside = inside
        """A window view's container (its path in the view) and, for an object, the keys shown."""
        self._witnesses = witnesses or {}

    def full_loc(self, loc: Loc) -> Loc | None:
        """The item's location in the whole body, or None when this view does not vouch for it:
        outside its window, or inside an entry shown out of place (a witness)."""
        path = loc[1:]
        if self._inside is not None:
            at, keys = self._inside
            if len(path) <= len(at) or path[: len(at)] != at:
                return None
            if keys is not None and path[len(at)] not in keys:
                return None
        if self._witnesses and self._inside_witness(path):
            return None
        if not self._offsets:
            return loc
        mapped = list(path)
        for prefix, offset in self._offsets.items():
            depth = len(prefix)
            index = path[depth] if len(path) > depth else None
            if isinstance(index, int) and path[:depth] == prefix:
                mapped[depth] = index + offset
        return ("body", *mapped)

    def _inside_witness(self, path: tuple[Any, ...]) -> bool:
        node = self.body
        for part in path:
            if type(node) is list and self._witnesses.get(id(node)) == part:
                return True
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return False
        return False


def _weight(value: Any) -> int:
    """Bytes of `value` as compact JSON (orjson, in C); counted in Python when orjson cannot take
    it (an integer past 64 bits), each value as one byte, which is never more."""
    try:
        return len(orjson.dumps(value))
    except TypeError:
        return _values(value)


def _values(value: Any) -> int:
    count, pending = 1, [value]
    while pending:
        node = pending.pop()
        if type(node) is not dict and type(node) is not list:
            continue
        children = list(node.values()) if type(node) is dict else node
        count += len(children)
        pending.extend(compress(children, map(_CONTAINERS.__contains__, map(type, children))))
    return count


_CONTAINERS = frozenset({dict, list})


def _property_paths(schema: Any) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Each property reached from the root through `properties` alone, by its path of names."""
    pending: list[tuple[tuple[str, ...], Any]] = [((), schema)]
    while pending:
        path, node = pending.pop()
        for name, spec in (node.get("properties") or {}).items():
            if isinstance(spec, dict):
                yield (*path, name), spec
                pending.append(((*path, name), spec))


def _property_names(schema: Any) -> Iterator[str]:
    """Every name the schema gives a property of, anywhere (properties, required)."""
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                yield from node["properties"]
            if isinstance(node.get("required"), list):
                yield from (name for name in node["required"] if isinstance(name, str))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def _at(document: Any, path: Iterable[Any]) -> Any:
    for part in path:
        document = document[part]
    return document


def reference_items(errors: Iterable[ValidationError]) -> list[ErrorItem]:
    """The items of `jsonschema` library errors: the reference the tests hold the searcher to."""
    items: dict[ErrorItem, None] = {}
    for error in errors:
        schema: Any = error.schema if isinstance(error.schema, dict) else {}
        for item in items_for(
            ("body", *error.absolute_path),
            str(error.validator),
            error.validator_value,
            error.instance,
            schema,
            message=error.message,
        ):
            items[item] = None
    return list(items)


def items_for(
    loc: Loc, validator: str, limit: Any, instance: Any, schema: Mapping[str, Any], *, message: str
) -> list[ErrorItem]:
    """One violation as pydantic-v1 items: `validator` (the keyword) failed with `limit` (its
    value) on `instance`; `schema` is the schema object holding the keyword."""
    custom = schema.get("x-errors", {}).get(validator)
    if custom:
        return [ErrorItem(loc, custom["msg"], custom["type"])]
    if validator == "required":
        present = instance if isinstance(instance, dict) else {}
        return [
            ErrorItem((*loc, name), "field required", "value_error.missing")
            for name in limit
            if name not in present
        ]
    if validator == "additionalProperties":
        known = schema.get("properties", {})
        habits = schema.get("x-client-fields", {})  # fields clients are known to send, and why it matters
        return [
            ErrorItem((*loc, name), habits[name]["msg"] if name in habits else EXTRA, "value_error.extra")
            for name in instance
            if name not in known
        ]
    if validator == "type":
        expected = [t for t in ([limit] if isinstance(limit, str) else limit) if t != "null"]
        msg, kind = _TYPE_ERRORS.get(expected[0], (message, "type_error"))
        return [ErrorItem(loc, msg, kind)]
    if validator == "enum":
        permitted = ", ".join(repr(value) for value in limit)
        return [
            ErrorItem(
                loc, f"value is not a valid enumeration member; permitted: {permitted}", "type_error.enum"
            )
        ]
    if validator in _BOUND_ERRORS:
        template, kind = _BOUND_ERRORS[validator]
        return [ErrorItem(loc, template.format(limit), kind)]
    return [ErrorItem(loc, message, f"value_error.{validator.lower()}")]
