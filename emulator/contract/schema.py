"""The contract as JSON Schema: loads schemas/ once, checks and compiles it, and turns schema
violations into the real service's pydantic-v1 error items `{loc, msg, type}`.

Knows nothing of HTTP. The request schema gets the catalog's per-model limits added at load,
so the catalog stays the one place a model's limits are written.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema import Draft7Validator
    from referencing import Registry

from ..chat.budget import Budget
from ..contract.catalog import FEATURES, Catalog, ModelSpec
from ..contract.readable import needs_reading
from ..contract.readable import readable as validator_readable
from ..contract.violations import Searcher, reference_items
from ..errors import ErrorItem, ValidationFailed
from ..resources import SCHEMA_DIR, load_json

SCHEMA_FILES = (
    "chat-request.schema.json",
    "chat-response.schema.json",
    "chat-chunk.schema.json",
    "error.schema.json",
    "catalog.schema.json",
    "fixtures.schema.json",
    "models-response.schema.json",
)


class SchemaFileError(RuntimeError):
    """A shipped schema or catalog file is itself invalid (a packaging bug, reported at start)."""


class Contract:
    """Compiled validators for the contract; build once per process and share."""

    def __init__(
        self,
        catalog_document: Mapping[str, Any],
        *,
        strict: bool = False,
        models: Sequence[str] = (),
        strict_allow: Sequence[str] = (),
    ) -> None:
        # The schema files are checked against their metaschema by the tests
        # (tests/unit/test_contract_files.py), not at every start.
        self.schemas = {name: load_json(SCHEMA_DIR / name) for name in SCHEMA_FILES}
        _check_instance("catalog.json", catalog_document, self.schemas["catalog.schema.json"])
        catalog = Catalog.from_document(catalog_document)
        self.catalog = catalog.only(models) if models else catalog
        self.strict = strict
        self.request_schema = request_schema_for(
            self.schemas["chat-request.schema.json"], self.catalog, strict=strict, allow=strict_allow
        )
        # The hot path: the request schema compiled by jsonschema-rs (a Rust validator, ~100x faster
        # here), which also locates each violation. `jsonschema` remains the reference and reads
        # fixture files; it is imported when first needed, which keeps it out of the start-up.
        self._fast = jsonschema_rs.Draft7Validator(self.request_schema)
        self._searcher = Searcher(self._fast, self.request_schema)
        self._validators: dict[str, Draft7Validator] = {}
        properties = self.request_schema["properties"]
        self.request_fields = tuple(properties)
        self.message_fields = tuple(self.request_schema["definitions"]["ChatMessage"]["properties"])
        # Known to the real service: the schema file's fields (those of --strict-allow stay unknown,
        # and so named in X-Emulator-Ignored-Fields, since the service ignored them).
        base = self.schemas["chat-request.schema.json"]
        self._known_fields = frozenset(base["properties"])
        self._known_message_fields = frozenset(base["definitions"]["ChatMessage"]["properties"])
        self._field_positions = {name: position for position, name in enumerate(self.request_fields)}
        self._message_positions = {name: position for position, name in enumerate(self.message_fields)}
        self.defaults = {name: spec["default"] for name, spec in properties.items() if "default" in spec}

    def validate_request(
        self, body: Any, budget: Budget | None = None, *, readable: bool | None = None
    ) -> None:
        """Raise ValidationFailed listing the schema violations of `body` (phase one): every one
        up to the budget's `errors_listed`, then an item counting the rest (violations.py).
        `readable`: whether the body holds no lone surrogate or infinity (None: look)."""
        if readable is None:
            readable = not needs_reading(body)
        if not readable:  # jsonschema-rs cannot take a lone surrogate, and reads inf (1e400) as null
            body = validator_readable(body)
        if self._fast.is_valid(body):
            return
        budget = budget or Budget()
        listed = budget.errors_listed
        found = self._searcher.search(body, listed=listed, found_at_most=max(listed, budget.errors_found))
        budget.errors += len(found.items) + found.more
        raise ValidationFailed(found.answered(order=self._field_order))

    def reference_errors(self, body: Any) -> list[ErrorItem]:
        """The violations as the `jsonschema` library finds them, all of them, sorted: the
        reference the tests hold the fast path to (not bounded: for tests only)."""
        return sorted(
            reference_items(self._request.iter_errors(validator_readable(body))), key=self._field_order
        )

    @cached_property
    def _registry(self) -> Registry[Any]:
        from referencing import Registry, Resource  # noqa: PLC0415  (see __init__)
        from referencing.jsonschema import DRAFT7  # noqa: PLC0415

        return Registry().with_resources(
            (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7))
            for schema in self.schemas.values()
        )

    @cached_property
    def _request(self) -> Draft7Validator:
        from jsonschema import Draft7Validator  # noqa: PLC0415  (see __init__)

        return Draft7Validator(self.request_schema, registry=self._registry)

    def published_schemas(self) -> dict[str, dict[str, Any]]:
        """The schema files as the served OpenAPI document should state them.

        The request schema there includes the catalog's limits and names the accepted models,
        so a tool that generates "valid" requests from /openapi.json only sends what the server
        accepts (validation itself keeps `model` a plain string, so that an unknown model gets
        the real service's string detail in phase two).
        """
        published = copy.deepcopy(self.request_schema)
        published["properties"]["model"]["enum"] = [model.name for model in self.catalog]
        return {**copy.deepcopy(self.schemas), "chat-request.schema.json": published}

    def validator(self, schema_file: str) -> Draft7Validator:
        """A compiled validator for one of SCHEMA_FILES (responses, chunks, errors)."""
        if schema_file not in self._validators:
            from jsonschema import Draft7Validator  # noqa: PLC0415  (see __init__)

            self._validators[schema_file] = Draft7Validator(
                self.schemas[schema_file], registry=self._registry
            )
        return self._validators[schema_file]

    def unknown_fields(self, body: Mapping[str, Any]) -> tuple[str, ...]:
        """Names of fields the contract does not define (top level and in each message)."""
        known, known_in_message = self._known_fields, self._known_message_fields
        if body.keys() <= known and all(
            not isinstance(message, dict) or message.keys() <= known_in_message
            for message in body.get("messages") or ()
        ):
            return ()  # the common case, without building a list
        unknown = [name for name in body if name not in known]
        messages = body.get("messages")
        for index, message in enumerate(messages if isinstance(messages, list) else ()):
            if isinstance(message, dict):
                unknown += [f"messages[{index}].{k}" for k in message if k not in known_in_message]
        return tuple(unknown)

    def _field_order(self, item: ErrorItem) -> tuple[Any, ...]:
        # pydantic lists errors in field declaration order; within a message, by the message's
        # fields (unknown ones after), so that both validators' orders agree.
        loc, last = item.loc, len(self.request_fields)
        top = self._field_positions.get(loc[1], last) if len(loc) > 1 else last
        rest = tuple(
            (0, part, "") if isinstance(part, int) else (1, self._message_positions.get(part, last), part)
            for part in loc[2:]
        )
        return (top, *rest)


def encode_canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values, equal text (a hashable key)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_schema_for(
    base: Mapping[str, Any], catalog: Catalog, *, strict: bool, allow: Sequence[str] = ()
) -> dict[str, Any]:
    """The request schema with each catalog model's max_tokens cap, and strict mode's closure,
    open to the fields of `allow` (--strict-allow), in the body and in each message."""
    schema = copy.deepcopy(dict(base))
    roles = schema["definitions"]["ChatMessage"]["properties"]["role"]["enum"]
    seed_roles = [role for role in roles if role != "tool"]  # a model without tools has these only
    schema["allOf"] = [*schema.get("allOf", []), *_model_clauses(catalog, seed_roles)]
    if strict:
        message = schema["definitions"]["ChatMessage"]
        for closed in (schema, message):
            closed["additionalProperties"] = False
            for name in allow:
                closed["properties"].setdefault(name, {"description": "Allowed by --strict-allow."})
    return schema


def _model_clauses(catalog: Catalog, seed_roles: list[str]) -> list[dict[str, Any]]:
    """One clause per group of models with the same max_tokens cap and features (a clause per
    model made validation ~1 µs slower with nine models; bench/)."""
    groups: dict[tuple[int, frozenset[str]], list[ModelSpec]] = {}
    for model in catalog:
        groups.setdefault((model.max_tokens_maximum, model.features), []).append(model)
    return [_model_clause(models, catalog, seed_roles) for models in groups.values()]


def _model_clause(models: list[ModelSpec], catalog: Catalog, seed_roles: list[str]) -> dict[str, Any]:
    """What a request to these models may hold beyond the base schema: their max_tokens cap, and
    none of the FEATURES they lack (each a 422 that names them and the models that have it)."""
    first, names = models[0], [model.name for model in models]
    properties: dict[str, Any] = {"max_tokens": {"maximum": first.max_tokens_maximum}}
    for feature in FEATURES:
        if feature in first.features:
            continue
        having = [other.name for other in catalog if feature in other.features]
        unsupported = {
            "msg": f"{', '.join(names)} {'does' if len(names) == 1 else 'do'} not support {feature}"
            + (f"; models that do: {', '.join(having)}" if having else ""),
            "type": "value_error.unsupported_feature",
        }
        properties[feature] = {"type": "null", "x-errors": {"type": unsupported}}
        if feature == "tools":  # nor the messages of a tool-calling conversation
            properties["messages"] = {"items": _seed_message(seed_roles, unsupported)}
    model = {"const": names[0]} if len(names) == 1 else {"enum": names}
    return {
        "description": f"Limits and features of {', '.join(names)} (catalog.json)",
        "if": {"properties": {"model": model}, "required": ["model"]},
        "then": {"properties": properties},
    }


def _seed_message(roles: list[str], unsupported: dict[str, str]) -> dict[str, Any]:
    """A message to a model without tools, as the seed has it: its roles only, no tool calls (an
    empty list of them is none), and an assistant's content non-empty."""
    return {
        "properties": {
            "role": {"enum": roles, "x-errors": {"enum": unsupported}},
            "tool_calls": {"items": {"not": {}, "x-errors": {"not": unsupported}}},
            "tool_call_id": {"not": {}, "x-errors": {"not": unsupported}},
        },
        "allOf": [
            {
                "description": "an assistant message carries non-empty content (the seed's rule)",
                "if": {"properties": {"role": {"const": "assistant"}}, "required": ["role"]},
                "then": {
                    "required": ["content"],
                    "properties": {"content": {"type": "string", "minLength": 1}},
                },
            }
        ],
    }


def _check_instance(name: str, document: Any, schema: dict[str, Any]) -> None:
    problems = [
        f"{'/'.join(map(str, e.instance_path)) or '(top)'}: {e.message}"
        for e in jsonschema_rs.Draft7Validator(schema).iter_errors(document)
    ]
    if problems:
        raise SchemaFileError(f"{name}: " + "; ".join(problems))
