"""Structured answers: JSON-mode content, and tool-call arguments generated from the tool's own
parameters schema. Pure and deterministic: the same random generator gives the same JSON.

`instance(schema, rng, ...)` writes a JSON value for the subset of JSON Schema that function
parameters use (types, properties/required, enum/const, bounds, lengths, items, anyOf/oneOf,
local $ref, default, common formats). The result is checked against the schema with the
compiled validator; a schema it cannot satisfy (a `pattern`, say), or one that asks for more than
SIZE_LIMIT (a `minLength` of a billion), gives None, and the caller answers in text instead of
calling that tool. SIZE_LIMIT bounds one attempt; the request's Budget bounds them all (every
tool, choice and attempt of a request spend from `Budget.argument_values`), so no request costs
the server unbounded memory or time.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from ..chat.budget import Budget
from ..chat.toolschema import compiled_schema
from ..errors import TooLarge
from .grounding import (
    COUNTRY_NAMES,
    PLACE_NAMES,
    PROPER_NOUN,
    READ,
    TEXT_NAMES,
    Facts,
    date_form,
    name_words,
)
from .wordpool import WordPool

_MAX_DEPTH = 6
_ATTEMPTS = 4
SIZE_LIMIT = 65_536
"""Most values and characters one set of arguments may have (real ones have tens)."""
_QUOTED = re.compile(r"""["'`]([A-Za-z_][A-Za-z0-9_ ]{0,30})["'`]""")
_KEYS_LISTED = re.compile(r"\b(?:keys|fields|properties)\b\s*:?\s*([A-Za-z_][\w ,]*)", re.IGNORECASE)
# The words of a JSON-mode key that make its value a number: a whole one, or one with cents.
_WHOLE = frozenset(
    {"age", "count", "year", "number", "quantity", "score", "id", "rank", "size", "population"}
)
_DECIMAL = frozenset({"price", "amount", "total", "cost", "rate", "balance", "temperature", "percentage"})
MAX_KEYS = 64
"""The most keys a JSON-mode answer takes from its prompt."""
PROMPT_READ = READ
"""Characters of the prompt that arguments are taken from (as grounding reads each message)."""


def asked_keys(prompt: str) -> tuple[str, ...]:
    """The keys a prompt asks a JSON answer to have: quoted names (`"name"`, 'age'), or a list
    after "keys"/"fields"/"properties"; none: ("answer",). At most MAX_KEYS of them."""
    read = prompt[:PROMPT_READ]
    quoted: dict[str, None] = {}
    for match in _QUOTED.finditer(read):
        if key := match.group(1).strip():
            quoted[key] = None
            if len(quoted) >= MAX_KEYS:
                break
    if not quoted and (listed := _KEYS_LISTED.search(read)):
        parts = re.split(r",|\band\b", listed.group(1)[: 64 * MAX_KEYS])
        quoted = dict.fromkeys(part.strip() for part in parts if part.strip())
    return tuple(quoted)[:MAX_KEYS] or ("answer",)


def json_answer(
    keys: Sequence[str], rng: random.Random, pool: WordPool, prompt: str, facts: Facts | None = None
) -> str:
    """A JSON object with `keys`, each value typed by its name (key_schema) and, where the
    conversation (`facts`) gives one, taken from it: the date, the number, the place it names."""
    if facts is not None:  # the prompt's quoted words are the keys, not values to fill them with
        facts = replace(facts, quoted=tuple(text for text in facts.quoted if text not in keys))
    writer = _Instance({}, rng, pool, prompt[:PROMPT_READ], SIZE_LIMIT, facts=facts)
    return json.dumps({key: writer.of(key_schema(key), key, 1) for key in keys}, ensure_ascii=False)


def key_schema(key: str) -> dict[str, Any]:
    """The schema a JSON-mode key's name implies: `is_open` a boolean, `age` and `word_count`
    whole numbers, `price` a number, `start_date` an ISO date, `tags` a list of words, else a
    string (`country`: a country, `city`: a city, `email`: an address)."""
    words = set(name_words(key))
    if (words and next(iter(name_words(key))) in ("is", "has")) or key.lower() in ("ok", "valid", "success"):
        return {"type": "boolean"}
    if words & _WHOLE:
        return {"type": "integer", "minimum": 1, "maximum": 100}
    if words & _DECIMAL:
        return {"type": "number", "minimum": 1, "maximum": 500}
    if form := date_form(key, {}):
        return {"type": "string", "format": form}
    if key.endswith("s") and not key.endswith("ss"):
        return {"type": "array", "items": {"type": "string", "x-words": True}, "minItems": 2, "maxItems": 3}
    return {"type": "string"}


def arguments(
    parameters: str,
    rng: random.Random,
    pool: WordPool,
    prompt: str,
    budget: Budget | None = None,
    *,
    facts: Facts | None = None,
    written: Sequence[Any] = (),
) -> str | None:
    """JSON arguments that validate against `parameters` (canonical JSON of a JSON Schema), or
    None when a few tries cannot satisfy it, or the budget has no room for them. Where `facts`
    (the conversation's) give a property's value, it is taken: an id, a place, a date, a number,
    an enum value the user wrote; `written`, the values the user wrote as the call's own
    arguments (`magic_function(3)`), go to the top-level properties in their order."""
    budget = budget or Budget()
    prompt = prompt[:PROMPT_READ]  # one object for every lookup below (its hash computed once)
    schema = json.loads(parameters)
    validator = compiled_schema(parameters)
    for _ in range(_ATTEMPTS):
        limit = min(SIZE_LIMIT, budget.values_left)
        writer = _Instance(schema, rng, pool, prompt, limit, facts=facts, written=written)
        try:
            value = writer.of(schema, "", 0)
        except TooLarge:
            return None  # every attempt would ask as much
        finally:
            budget.values += writer.spent
        if _valid(validator, value):
            return json.dumps(value, ensure_ascii=False)
    return None


def _valid(validator: Any, value: Any) -> bool:
    try:
        return bool(validator.is_valid(value))
    except UnicodeEncodeError:  # a lone surrogate taken from the prompt, compared with the schema's text
        return False


def instance(schema: Mapping[str, Any], rng: random.Random, pool: WordPool, prompt: str = "") -> Any:
    """One JSON value written for `schema`, unchecked: valid by construction for the keywords
    listed above (the tests hold it to that); `arguments` checks it and tries again. Raises
    TooLarge when the schema's lengths or item counts add up past SIZE_LIMIT."""
    return _Instance(schema, rng, pool, prompt, SIZE_LIMIT).of(schema, "", 0)


def _phrase(name: str, rng: random.Random, pool: WordPool, prompt: str) -> str:
    if name in TEXT_NAMES:
        return prompt[:200]
    if name in ("name", "person"):
        return rng.choice(pool.names)
    if name in COUNTRY_NAMES:
        return _first_country(prompt, pool.country_set) or rng.choice(pool.countries)
    words = set(name_words(name))
    if "email" in words:
        return f"{rng.choice(pool.names).split()[0].lower()}@example.com"
    if words & PLACE_NAMES:  # `city`, `capital_city`, `location`: a place the prompt names, not a country
        return _first_name(prompt, pool.country_set) or rng.choice(pool.cities)
    if name in ("company", "organization", "organisation"):
        return rng.choice(pool.companies)
    return f"{rng.choice(pool.adjectives)} {rng.choice(pool.nouns)}"


@lru_cache(maxsize=64)
def _first_country(prompt: str, known: frozenset[str]) -> str | None:
    """The first country the prompt names (of `known`), looked for once per prompt."""
    return next((name for name in PROPER_NOUN.findall(prompt) if name in known), None)


@lru_cache(maxsize=64)
def _first_name(prompt: str, countries: frozenset[str]) -> str | None:
    """The first capitalised name in the prompt that is not a country (a city, say), looked for
    once per prompt: a schema may ask for thousands of cities. The cache holds at most 64
    prompts of PROMPT_READ."""
    return next((name for name in PROPER_NOUN.findall(prompt) if name not in countries), None)


class _Instance:
    def __init__(
        self,
        root: Mapping[str, Any],
        rng: random.Random,
        pool: WordPool,
        prompt: str,
        limit: int,
        *,
        facts: Facts | None = None,
        written: Sequence[Any] = (),
    ) -> None:
        self._root, self._rng, self._pool, self._prompt = root, rng, pool, prompt
        self._left = limit
        self.spent = 0
        self._facts, self._written = facts, written

    def _spend(self, amount: int) -> None:
        """Take `amount` from the size budget before making that much, or raise TooLarge."""
        if amount > self._left:
            raise TooLarge
        self._left -= amount
        self.spent += amount

    def of(self, schema: Any, name: str, depth: int) -> Any:
        rng = self._rng
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
            return None
        self._spend(1)
        if self._facts is not None and name and "$ref" not in schema:
            found, value = self._facts.value(name, schema)
            if found and fits(value, schema):
                self._spend(len(value) if isinstance(value, str) else 1)
                return value
        if "$ref" in schema:
            return self.of(self._resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return rng.choice(schema["enum"])
        if "default" in schema and rng.random() < 0.3:
            return schema["default"]
        for combinator in ("oneOf", "anyOf"):
            if schema.get(combinator):
                return self.of(rng.choice(schema[combinator]), name, depth + 1)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(part if isinstance(part, Mapping) else {})
            return self.of({**merged, **{k: v for k, v in schema.items() if k != "allOf"}}, name, depth + 1)
        return self._typed(schema, name, depth)

    def _typed(self, schema: Mapping[str, Any], name: str, depth: int) -> Any:
        rng = self._rng
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        match kind:
            case "object":
                return self._object(schema, depth)
            case "array":
                low = schema.get("minItems", 1)
                high = max(low, min(schema.get("maxItems", low + 2), low + 2))
                self._spend(low)  # before the list is made, however many the schema asks for
                return [
                    self.of(schema.get("items", {}), name, depth + 1) for _ in range(rng.randint(low, high))
                ]
            case "integer":
                low, high = _bounds(schema, integer=True)
                return rng.randint(low, high)
            case "number":
                low, high = _bounds(schema, integer=False)
                return round(rng.uniform(low, high), 2)
            case "boolean":
                return rng.random() < 0.5
            case "null":
                return None
            case _:
                return self._string(schema, name)

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        written = dict(zip(properties, self._written, strict=False)) if schema is self._root else {}
        value = {}
        for key, child in properties.items():
            if key in written and fits(written[key], child):
                value[key] = written[key]  # as the user wrote it: magic_function(3)
            elif key in required or key in written or self._rng.random() < 0.5:
                value[key] = self.of(child, key, depth + 1)
        for key in required - value.keys():  # required but not described
            value[key] = self.of(key_schema(key), key, depth + 1)
        return value

    def _string(self, schema: Mapping[str, Any], name: str) -> str:
        rng = self._rng
        if schema.get("x-words"):  # a JSON-mode list's items (key_schema): plain nouns
            return rng.choice(self._pool.nouns)
        form = schema.get("format") or date_form(name, schema) or ""
        text = {
            "date": lambda: f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "date-time": lambda: (
                f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
            ),
            "email": lambda: f"{rng.choice(self._pool.names).split()[0].lower()}@example.com",
            "uri": lambda: f"https://example.com/{rng.choice(self._pool.nouns)}",
        }.get(form, lambda: _phrase(name.lower(), rng, self._pool, self._prompt))()
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        self._spend(max(low, len(text)))  # before the text is made
        if high is not None:
            text = text[:high]
        if len(text) < low:  # the text, then nouns, one space apart (joined once: linear)
            words, length = [text], len(text)
            while length < low:
                words.append(rng.choice(self._pool.nouns))
                length += 1 + len(words[-1])
            text = " ".join(words)
        return text[:high] if high is not None else text

    def _resolve(self, reference: str) -> Any:
        if not reference.startswith("#"):
            return {}  # remote references are not fetched (no network): an empty schema
        node: Any = self._root
        for part in reference.lstrip("#").strip("/").split("/"):
            if not part:
                continue
            node = (
                node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, Mapping) else {}
            )
        return node


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[Any, Any]:
    low = schema.get("minimum", 0 if integer else 0.0)
    high = schema.get("maximum", low + 100)
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if integer else 0.01)
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - (1 if integer else 0.01)
    if integer:
        low, high = int(-(-low // 1)), int(high // 1)
    return low, max(low, high)


def fits(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether a value taken from the conversation meets the simple keywords of `schema` (type,
    enum, bounds, lengths); the arguments are checked against the whole schema afterwards."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    checks = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }
    if kinds and not any(checks.get(k, False) for k in kinds):
        return False
    if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        return len(value) >= low and (high is None or len(value) <= high)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        return (low is None or value >= low) and (high is None or value <= high)
    return True
