"""The OpenAPI document served at GET /openapi.json: schemas/openapi.json with the schema files
bundled into `components/schemas`, so that a tool fetching one URL gets the whole contract."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..resources import SCHEMA_DIR, load_json
from .schema import Contract


def bundle(document: Mapping[str, Any], schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Inline each referenced schema file as a component and point every $ref inside the document."""
    names = {file: schema["title"] for file, schema in schemas.items()}
    bundled = copy.deepcopy(dict(document))
    components = bundled.setdefault("components", {}).setdefault("schemas", {})
    for file, schema in schemas.items():
        inlined = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
        components[names[file]] = _rewrite(inlined, names, names[file])
    rewritten: dict[str, Any] = _rewrite(bundled, names, None)
    return rewritten


def _rewrite(node: Any, names: Mapping[str, str], home: str | None) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, names, home) for item in node]
    if not isinstance(node, dict):
        return node
    rewritten = {key: _rewrite(value, names, home) for key, value in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str):
        rewritten["$ref"] = _target(ref, names, home)
    return rewritten


def _target(ref: str, names: Mapping[str, str], home: str | None) -> str:
    file, _, pointer = ref.partition("#")
    if file in names:
        return f"#/components/schemas/{names[file]}{pointer}"
    if not file and home is not None:
        return f"#/components/schemas/{home}{pointer}"
    return ref


def load_document() -> Any:
    return load_json(SCHEMA_DIR / "openapi.json")


def published_schemas(contract: Contract) -> dict[str, dict[str, Any]]:
    """The schema files as the served OpenAPI document should state them.

    The request schema there includes the catalog's limits and names the accepted models,
    so a tool that generates "valid" requests from /openapi.json only sends what the server
    accepts (validation itself keeps `model` a plain string, so that an unknown model gets
    the real service's string detail in phase two).
    """
    published = copy.deepcopy(contract.request_schema)
    published["properties"]["model"]["enum"] = [model.name for model in contract.catalog]
    return {**copy.deepcopy(contract.schemas), "chat-request.schema.json": published}
