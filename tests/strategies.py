"""Hypothesis strategies for chat requests: valid ones drawn from schemas/ (hypothesis-jsonschema)
and from strategies of our own where the schema generator is weak, and invalid ones made by
breaking exactly one rule of a valid request.

Valid requests are generated from the *strict* (closed) request schema: generating arbitrary
extra keys is slow, and unknown fields have a strategy of their own. Every rule a mutation
breaks is read from the schema (its types, bounds and `x-errors`), so a rule added to the schema
is fuzzed without touching this file.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jamba_emulator.contract.catalog import FEATURES, load_catalog_document
from jamba_emulator.contract.schema import Contract

CONTRACT = Contract(load_catalog_document())
CLOSED = Contract(load_catalog_document(), strict=True).request_schema
MODELS = [model.name for model in CONTRACT.catalog]
# The seed's parameters; the later API's (tools, documents, response_format), which some models
# lack, have strategies of their own (tests/property/test_later_features.py).
PARAMETERS = [name for name in CLOSED["properties"] if name not in ("model", "messages", *FEATURES)]
ALL_ROLES = CLOSED["definitions"]["ChatMessage"]["properties"]["role"]["enum"]
ROLES = [role for role in ALL_ROLES if role != "tool"]  # the seed's
SPEAKERS = ("user", "assistant")  # the roles that count for "at least one" and must not be empty

EMOJI = [
    "😀",
    "🚀",
    "👩‍💻",
    "🇮🇱",
    "❤️",
    "🧪",
    "\U0001d518\U0001d52b\U0001d526",
    "é",
    "ß",
    "中文",
    "עברית",
    "\u200b",
    "\t",
    "\n",
]


def _with_definitions(fragment: dict[str, Any]) -> dict[str, Any]:
    """A fragment of the request schema with its definitions; messages as the seed has them (no
    tool role, no tool calls: a tool conversation must also pass phase two's tool_call_id check)."""
    definitions = copy.deepcopy(CLOSED["definitions"])
    message = definitions["ChatMessage"]
    message["properties"]["role"]["enum"] = ROLES
    for name in ("tool_calls", "tool_call_id"):
        del message["properties"][name]
    message["allOf"] += copy.deepcopy(SEED_MESSAGE.get("allOf", []))  # e.g. an assistant says something
    return {**copy.deepcopy(fragment), "definitions": definitions}


def _seed_message_clause() -> dict[str, Any]:
    """What the request schema asks of a message to a model without tools (the seed's rules)."""
    for clause in CLOSED["allOf"]:
        models = clause.get("if", {}).get("properties", {}).get("model", {})
        if "jamba-instruct-preview" in [models.get("const"), *models.get("enum", [])]:
            items: dict[str, Any] = clause["then"]["properties"]["messages"]["items"]
            return items
    raise AssertionError("the request schema has no clause for the preview model")


SEED_MESSAGE = _seed_message_clause()


def _parameter_schema() -> dict[str, Any]:
    """The request schema without `messages`: parameters, the n conflicts and per-model caps."""
    properties = {name: CLOSED["properties"][name] for name in PARAMETERS}
    return {
        "type": "object",
        "required": ["model"],
        "properties": {"model": {"enum": MODELS}, **properties},
        "allOf": CLOSED["allOf"],
        "additionalProperties": False,
    }


schema_messages = from_schema(_with_definitions({**CLOSED["properties"]["messages"], "maxItems": 8}))
schema_parameters = from_schema(_parameter_schema())

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=60)
unicode_text = st.lists(st.one_of(words, st.sampled_from(EMOJI)), min_size=1, max_size=12).map("".join)


@st.composite
def long_histories(draw: st.DrawFn) -> list[dict[str, str]]:
    """An optional system message, then 20-120 alternating user/assistant turns."""
    turns = draw(st.integers(20, 120))
    history = [{"role": SPEAKERS[i % 2], "content": draw(unicode_text)} for i in range(turns)]
    if draw(st.booleans()):
        history.insert(0, {"role": "system", "content": draw(st.one_of(st.just(""), unicode_text))})
    return history


unicode_messages = st.lists(
    st.builds(lambda role, text: {"role": role, "content": text}, st.sampled_from(SPEAKERS), unicode_text),
    min_size=1,
    max_size=4,
)
many_stops = st.lists(st.one_of(st.text(min_size=1, max_size=3), st.sampled_from(EMOJI)), max_size=64)


@st.composite
def valid_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request every rule admits, mostly from the schema, sometimes from our own strategies."""
    body = draw(schema_parameters)
    body["messages"] = draw(
        st.one_of(schema_messages, schema_messages, unicode_messages, long_histories()),
        label="messages",
    )
    if draw(st.booleans()):
        # Small budgets, so that max_tokens cuts answers (most answers run 20-300 tokens).
        body["max_tokens"] = draw(st.integers(0, 150))
    if draw(st.integers(0, 4)) == 0:
        body["stop"] = draw(many_stops)
    return body


unknown_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: name not in CLOSED["properties"]
)


names = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True)


def _scalar() -> st.SearchStrategy[dict[str, Any]]:
    """JSON Schemas of one value, with the keywords the argument writer knows."""
    bounded = st.integers(-50, 50).flatmap(
        lambda low: st.fixed_dictionaries(
            {"type": st.just("integer"), "minimum": st.just(low)},
            optional={"maximum": st.integers(low, low + 10)},  # tight: a value past it shows
        )
    )
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("string")},
            optional={
                "minLength": st.integers(0, 5),
                "maxLength": st.integers(5, 40),
                "description": st.text(max_size=20),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("string"), "format": st.sampled_from(["date", "date-time", "email", "uri"])}
        ),
        bounded,
        st.fixed_dictionaries(
            {"type": st.just("number")}, optional={"minimum": st.just(0.5), "exclusiveMaximum": st.just(9.5)}
        ),
        st.just({"type": "boolean"}),
        st.lists(st.one_of(st.text(max_size=8), st.integers()), min_size=1, max_size=4, unique=True).map(
            lambda values: {"enum": values}
        ),
        st.one_of(st.text(max_size=8), st.integers(), st.booleans()).map(lambda value: {"const": value}),
    )


scalar_schemas = _scalar()
# A tool's parameters: an object schema with nested arrays, objects and anyOf (all satisfiable).
tool_parameters = st.recursive(
    scalar_schemas,
    lambda inner: st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("array"), "items": inner},
            optional={"minItems": st.integers(0, 2), "maxItems": st.integers(2, 4)},
        ),
        st.dictionaries(names, inner, max_size=5).flatmap(
            lambda properties: st.fixed_dictionaries(
                {"type": st.just("object"), "properties": st.just(properties)},
                optional={
                    "required": st.lists(st.sampled_from(sorted(properties)), unique=True)
                    if properties
                    else st.just([])
                },
            )
        ),
        st.lists(inner, min_size=1, max_size=3).map(lambda options: {"anyOf": options}),
    ),
    max_leaves=8,
).map(lambda schema: {"type": "object", "properties": {"value": schema}, "required": ["value"]})


# --- The later API: tools, documents and JSON mode ------------------------------------------

LATER_MODELS = [model.name for model in CONTRACT.catalog if "tools" in model.features]
documents = from_schema(
    {"type": "array", "items": {"$ref": "#/definitions/Document"}, "minItems": 1, "maxItems": 3,
     "definitions": CLOSED["definitions"]}
)  # fmt: skip


@st.composite
def tools(draw: st.DrawFn, max_size: int = 3) -> list[dict[str, Any]]:
    """1 to `max_size` function tools with distinct names and generated parameters schemas."""
    tool_names = draw(st.lists(names, min_size=1, max_size=max_size, unique=True))
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": draw(st.text(max_size=40)),
                "parameters": draw(tool_parameters),
            },
        }
        for name in tool_names
    ]


@st.composite
def tool_requests(draw: st.DrawFn, max_tools: int = 3) -> dict[str, Any]:
    """A request to a model with the later features: tools, and perhaps documents and a
    response_format; the user's words sometimes name a tool, so both answers (a call, text) occur."""
    offered = draw(tools(max_tools))
    said = draw(unicode_text)
    if draw(st.booleans()):
        said += " " + draw(st.sampled_from(offered))["function"]["name"].replace("_", " ")
    body: dict[str, Any] = {
        "model": draw(st.sampled_from(LATER_MODELS)),
        "messages": [{"role": "user", "content": said}],
        "tools": offered,
    }
    for name, values in (
        ("documents", documents),
        ("response_format", st.sampled_from([{"type": "text"}, {"type": "json_object"}])),
        ("n", st.integers(1, 2)),
    ):
        if draw(st.booleans()):
            body[name] = draw(values)
    return body


def without_cuts(body: dict[str, Any]) -> dict[str, Any]:
    """The same request with neither `max_tokens` nor `stop`: its answers are the uncut ones."""
    return {key: value for key, value in body.items() if key not in ("max_tokens", "stop", "stream")}


# --- Invalid requests: one rule broken at a time ------------------------------------------------

_SAMPLES = {
    "string": "12",
    "integer": 7,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}
_COMPATIBLE = {"integer": {"integer"}, "number": {"integer", "number"}}


@dataclass(frozen=True)
class Broken:
    """A request that breaks one rule, and where the server must say so."""

    rule: str
    body: dict[str, Any]
    loc: tuple[str | int, ...]
    types: frozenset[str]


def wrong_values(schema: dict[str, Any]) -> list[Any]:
    """One JSON value of every type the schema fragment's `type` does not allow."""
    allowed = schema.get("type", [])
    allowed = {allowed} if isinstance(allowed, str) else set(allowed)
    allowed |= {kind for declared in list(allowed) for kind in _COMPATIBLE.get(declared, ())}
    wrong = [value for kind, value in _SAMPLES.items() if kind not in allowed]
    if "integer" in allowed and "number" not in allowed:
        wrong.append(2.5)
    return wrong


def bound_violations(schema: dict[str, Any]) -> list[tuple[Any, str]]:
    """Values just outside each bound of a schema fragment, with the pydantic type they earn."""
    out: list[tuple[Any, str]] = []
    integer = "integer" in schema.get("type", [])
    if "minimum" in schema:
        low = schema["minimum"]
        out.append((low - 1 if integer else math.nextafter(low, -math.inf), "value_error.number.not_ge"))
    if "maximum" in schema:
        high = schema["maximum"]
        out.append((high + 1 if integer else math.nextafter(high, math.inf), "value_error.number.not_le"))
    if "exclusiveMinimum" in schema:
        out.append((schema["exclusiveMinimum"], "value_error.number.not_gt"))
    if "maxLength" in schema:
        out.append(("x" * (schema["maxLength"] + 1), "value_error.any_str.max_length"))
    return out


# pydantic-v1's names for "not of the declared type", by the first non-null declared type.
TYPE_ERRORS = {
    "integer": "type_error.integer",
    "number": "type_error.float",
    "string": "type_error.str",
    "boolean": "type_error.bool",
    "array": "type_error.list",
    "object": "type_error.dict",
}


def _type_of(schema: dict[str, Any]) -> str:
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return TYPE_ERRORS[next(kind for kind in kinds if kind != "null")]


def _for_model(name: str, model: str) -> dict[str, Any]:
    """A parameter's schema with the model's own limits (the catalog's `if model == X` clauses)."""
    schema = dict(CLOSED["properties"][name])
    for clause in CLOSED["allOf"]:
        if clause["if"]["properties"].get("model", {}).get("const") == model:
            schema.update(clause["then"]["properties"].get(name, {}))
    return schema


def _keeper(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with a user message appended, so breaking another message leaves "contains" intact."""
    return {**body, "messages": [*body["messages"], {"role": "user", "content": "keep me"}]}


Mutation = Callable[[st.DrawFn, dict[str, Any]], Broken]


def _drop_required(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    name = draw(st.sampled_from(CLOSED["required"]))
    broken = {key: value for key, value in body.items() if key != name}
    return Broken(f"{name} missing", broken, ("body", name), frozenset({"value_error.missing"}))


def _drop_message_field(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    body = _keeper(body)
    index = draw(st.integers(0, len(body["messages"]) - 2))
    name = draw(st.sampled_from(CLOSED["definitions"]["ChatMessage"]["required"]))
    message = {key: value for key, value in body["messages"][index].items() if key != name}
    body["messages"][index] = message
    loc = ("body", "messages", index, name)
    return Broken(f"messages[{index}].{name} missing", body, loc, frozenset({"value_error.missing"}))


def _wrong_type(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    name = draw(st.sampled_from(list(CLOSED["properties"])))
    schema = CLOSED["properties"][name]
    value = draw(st.sampled_from(wrong_values(schema)))
    kind = _type_of(schema)
    return Broken(f"{name} = {value!r}", {**body, name: value}, ("body", name), frozenset({kind}))


def _wrong_message_type(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    body = _keeper(body)
    index = draw(st.integers(0, len(body["messages"]) - 2))
    name = draw(st.sampled_from(["role", "content"]))
    schema = CLOSED["definitions"]["ChatMessage"]["properties"][name]
    value = draw(st.sampled_from(wrong_values(schema)))
    body["messages"][index] = {**body["messages"][index], name: value}
    # A role of the wrong type is also not an enum member: pydantic would report either.
    types = {_type_of(schema), "type_error.enum"} if name == "role" else {_type_of(schema)}
    loc = ("body", "messages", index, name)
    return Broken(f"messages[{index}].{name} = {value!r}", body, loc, frozenset(types))


def _out_of_range(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    bounded = {name: bound_violations(_for_model(name, body["model"])) for name in PARAMETERS}
    name = draw(st.sampled_from([name for name, bounds in bounded.items() if bounds]))
    value, kind = draw(st.sampled_from(bounded[name]))
    if name == "n":  # an n above 1 must not also trip an n conflict
        body = {**body, "temperature": 1.0, "stream": False}
    return Broken(f"{name} = {str(value)[:20]!r}", {**body, name: value}, ("body", name), frozenset({kind}))


def _empty_content(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    body = _keeper(body)
    index = draw(st.integers(0, len(body["messages"]) - 2))
    # An assistant's content may be empty on the later models (their AssistantMessage requires
    # nothing); the seed's preview model wants it non-empty, as a user's everywhere.
    role = draw(st.sampled_from(SPEAKERS)) if body["model"] not in LATER_MODELS else "user"
    body["messages"][index] = {"role": role, "content": ""}
    loc = ("body", "messages", index, "content")
    return Broken(f"empty {role} content", body, loc, frozenset({"value_error.any_str.min_length"}))


def _only_system(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    count = draw(st.integers(0, 3))
    messages = [{"role": "system", "content": draw(st.text(max_size=10))} for _ in range(count)]
    kind = "value_error.messages.no_user_or_assistant"
    return Broken(
        "only system messages", {**body, "messages": messages}, ("body", "messages"), frozenset({kind})
    )


def _n_conflict(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    n = draw(st.integers(2, 16))
    conflict = draw(st.sampled_from([{"temperature": 0}, {"temperature": 0.0}, {"stream": True}]))
    broken = {**body, "n": n, "temperature": 1.0, "stream": False, **conflict}
    return Broken(f"n={n} with {conflict}", broken, ("body", "n"), frozenset({"value_error.n"}))


def _non_object_message(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    body = _keeper(body)
    index = draw(st.integers(0, len(body["messages"]) - 2))
    value = draw(st.sampled_from([v for v in _SAMPLES.values() if not isinstance(v, dict)]))
    body["messages"][index] = value
    loc = ("body", "messages", index)
    return Broken(f"messages[{index}] = {value!r}", body, loc, frozenset({"type_error.dict"}))


def _unknown_role(draw: st.DrawFn, body: dict[str, Any]) -> Broken:
    body = _keeper(body)
    index = draw(st.integers(0, len(body["messages"]) - 2))
    role = draw(st.text(max_size=12).filter(lambda text: text not in ALL_ROLES))
    body["messages"][index] = {**body["messages"][index], "role": role}
    loc = ("body", "messages", index, "role")
    return Broken(f"role {role!r}", body, loc, frozenset({"type_error.enum"}))


MUTATIONS: dict[str, Mutation] = {
    "drop a required field": _drop_required,
    "drop a message field": _drop_message_field,
    "wrong type for a field": _wrong_type,
    "wrong type in a message": _wrong_message_type,
    "a bound just outside": _out_of_range,
    "empty user/assistant content": _empty_content,
    "only system messages": _only_system,
    "an n conflict": _n_conflict,
    "a message that is not an object": _non_object_message,
    "an unknown role": _unknown_role,
}


@st.composite
def broken_requests(draw: st.DrawFn, mutation: str) -> Broken:
    body = copy.deepcopy(draw(valid_requests()))
    return MUTATIONS[mutation](draw, body)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    _containers,
    max_leaves=30,
)
request_like = st.dictionaries(
    st.sampled_from([*CLOSED["properties"], "maxTokens", "stream_options"]) | st.text(max_size=8),
    json_values,
    max_size=10,
)
