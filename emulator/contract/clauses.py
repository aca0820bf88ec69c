"""The request schema as one server enforces it: schemas/chat-request.schema.json with a clause
per group of catalog models (their max_tokens cap, the FEATURES they lack) and, in --strict
mode, closed to unknown fields but those of --strict-allow. The catalog stays the one place a
model's limits are written.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .catalog import FEATURES, Catalog, ModelSpec


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
