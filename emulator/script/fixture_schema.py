"""The fixture file format (schemas/fixtures.schema.json), compiled on its own: reading a fixture
file never builds the chat contract. jsonschema-rs checks a document in linear time; `jsonschema`
words the problems of the few rules that fail (fixtures.py), with the schema's own messages.

The schema refers to error.schema.json (a scripted error's detail) and to nothing else: no other
reference resolves, and nothing is fetched.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from ..resources import SCHEMA_DIR, load_json

if TYPE_CHECKING:
    from jsonschema import Draft7Validator

SCHEMA = "fixtures.schema.json"
REFERRED = ("error.schema.json",)


class FixtureSchema:
    def __init__(self) -> None:
        self.schemas = {name: load_json(SCHEMA_DIR / name) for name in (SCHEMA, *REFERRED)}
        schema = self.schemas[SCHEMA]
        registry = jsonschema_rs.Registry(
            [(each["$id"], each) for each in self.schemas.values()], retriever=_refuse
        )
        options: dict[str, Any] = {"validate_formats": False, "registry": registry, "retriever": _refuse}
        self.document = jsonschema_rs.Draft7Validator(schema, **options)
        """A whole fixture document."""
        self.rule = jsonschema_rs.Draft7Validator({"$ref": f"{schema['$id']}#/definitions/Rule"}, **options)
        """One rule of it."""

    @functools.cached_property
    def worded(self) -> Draft7Validator:
        """The `jsonschema` validator whose errors fixtures.py words (imported when first needed:
        it stays off the start-up of a server without failing fixtures)."""
        from jsonschema import Draft7Validator  # noqa: PLC0415
        from referencing import Registry, Resource  # noqa: PLC0415
        from referencing.jsonschema import DRAFT7  # noqa: PLC0415

        registry: Registry[Any] = Registry().with_resources(
            (each["$id"], Resource.from_contents(each, default_specification=DRAFT7))
            for each in self.schemas.values()
        )
        return Draft7Validator(self.schemas[SCHEMA], registry=registry)


@functools.cache
def fixture_schema() -> FixtureSchema:
    """The one compiled fixture schema of this process."""
    return FixtureSchema()


def _refuse(uri: str) -> Any:
    raise ValueError(f"{uri}: the fixture schema refers only to error.schema.json; nothing is fetched")
