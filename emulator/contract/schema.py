"""The contract as JSON Schema: loads schemas/ once, compiles the request schema (with the
catalog's clauses, clauses.py), and validates bodies, its violations as the real service's
pydantic-v1 error items `{loc, msg, type}` (found by violations.py) in pydantic's field order.

Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema import Draft7Validator
    from referencing import Registry

    from .decoding import Decoded

from ..chat.budget import Budget
from ..chat.readable import needs_reading
from ..chat.readable import readable as validator_readable
from ..errors import ErrorItem, SchemaFileError, ValidationFailed
from ..resources import SCHEMA_DIR, load_json
from .catalog import Catalog
from .clauses import request_schema_for
from .violations import Searcher, reference_items

SCHEMA_FILES = (
    "chat-request.schema.json",
    "chat-response.schema.json",
    "chat-chunk.schema.json",
    "error.schema.json",
    "catalog.schema.json",
    "fixtures.schema.json",
    "models-response.schema.json",
    "converse-request.schema.json",
    "vllm-chat-request.schema.json",
    "vllm-completion-request.schema.json",
)
SURFACE_SCHEMAS = ("converse-request.schema.json",)
"""The request schemas of surfaces whose body is not the chat body (contract/dialects.py),
compiled at start-up with the chat request's."""


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
        self.document = catalog_document
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
        self._surface_checks = {name: _compiled(self.schemas[name]) for name in SURFACE_SCHEMAS}
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

    def check(self, schema_file: str, decoded: Decoded, *, listed: int, found_at_most: int) -> None:
        """Raise ValidationFailed when a surface's body (one of SURFACE_SCHEMAS) breaks its schema:
        the first `listed` violations, looked for up to `found_at_most` (bounded, as the chat
        request's)."""
        validator, searcher = self._surface_checks[schema_file]
        body = decoded.body if decoded.readable else validator_readable(decoded.body)
        if not validator.is_valid(body):
            found = searcher.search(body, listed=listed, found_at_most=found_at_most)
            raise ValidationFailed(found.answered())

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


def _compiled(schema: dict[str, Any]) -> tuple[Any, Searcher]:
    validator = jsonschema_rs.Draft7Validator(schema, retriever=_refuse)
    return validator, Searcher(validator, schema)


def _refuse(uri: str) -> Any:
    raise ValueError(f"{uri}: the contract's schemas refer only to each other; nothing is fetched")


def _check_instance(name: str, document: Any, schema: dict[str, Any]) -> None:
    problems = [
        f"{'/'.join(map(str, e.instance_path)) or '(top)'}: {e.message}"
        for e in jsonschema_rs.Draft7Validator(schema).iter_errors(document)
    ]
    if problems:
        raise SchemaFileError(f"{name}: " + "; ".join(problems))
