"""A JSON Schema file as a pydantic 2 model, for the surfaces whose real servers validate with
pydantic (vLLM's OpenAI-compatible server): the request is checked by pydantic itself, so a
type error carries pydantic's own `type`, `loc`, `msg` and `input`, and lax mode accepts what
the real server accepts ("0.5" for a number, 1 for a boolean).

The subset of JSON Schema it reads is what such a schema file needs, and nothing else is
allowed in (an unknown keyword is a SchemaFileError at start-up, not a silently looser model):
`type` (one, or a list with "null" for Optional), `enum` (Literal), `anyOf` (Union, in order),
`items`, `additionalProperties` (a schema for dict values; true/false for a model's extra
fields), `properties` with `required` and `default`, `minimum`/`maximum` (ge/le), `$ref` to
`#/definitions/NAME` (a model named NAME), and `description`, `title`, `x-vllm-since` (read by
the caller).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from ..errors import SchemaFileError

_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}
_KEYWORDS = frozenset(
    {
        "type", "enum", "anyOf", "items", "additionalProperties", "properties", "required", "default",
        "minimum", "maximum", "$ref", "description", "title", "x-vllm-since", "$schema", "$id",
        "definitions",
    }
)  # fmt: skip


def model_from_schema(
    schema: Mapping[str, Any], keep: Callable[[str, Mapping[str, Any]], bool] = lambda name, spec: True
) -> type[BaseModel]:
    """The model of an object schema; `keep(name, spec)` says which top-level properties it
    declares (the others are extra fields, as any unknown one)."""
    return _Reader(schema).model(schema.get("title", "Model"), schema, keep)


def adapter_from_schema(schema: Mapping[str, Any], definition: str | None = None) -> TypeAdapter[Any]:
    """A validator of the schema's root (`anyOf` its definitions, say), or of `definition`."""
    root = schema if definition is None else {"$ref": f"#/definitions/{definition}"}
    annotation: Any = _Reader(schema).python_type(
        "root", {k: v for k, v in root.items() if k != "definitions"}
    )
    return TypeAdapter(annotation)


class _Reader:
    """One schema file read into pydantic types: each definition a model, made once."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.definitions: Mapping[str, Any] = schema.get("definitions", {})
        self.models: dict[str, type[BaseModel]] = {}

    def model(
        self, name: str, spec: Mapping[str, Any], keep_field: Callable[[str, Mapping[str, Any]], bool]
    ) -> type[BaseModel]:
        _check(name, spec)
        required = set(spec.get("required", ()))
        fields: dict[str, Any] = {}
        for field, field_spec in spec.get("properties", {}).items():
            if not keep_field(field, field_spec):
                continue
            annotation = self.python_type(f"{name}.{field}", field_spec)
            bounds = {
                bound: field_spec[key]
                for key, bound in (("minimum", "ge"), ("maximum", "le"))
                if key in field_spec
            }
            if field in required:
                fields[field] = (annotation, Field(..., **bounds))
            elif "default" in field_spec:
                default = field_spec["default"]
                factory = (lambda value=default: list(value)) if isinstance(default, list) else None
                field_default = (
                    Field(default_factory=factory, **bounds) if factory else Field(default, **bounds)
                )
                fields[field] = (annotation, field_default)
            else:  # absent means unset: a factory would fill it; vLLM's fills request_id with a uuid
                fields[field] = (annotation | None, Field(None, **bounds))
        extra: Literal["forbid", "allow"] = "forbid" if spec.get("additionalProperties") is False else "allow"
        made: type[BaseModel] = create_model(name, __config__=ConfigDict(extra=extra), **fields)
        return made

    def python_type(self, where: str, spec: Mapping[str, Any]) -> Any:
        _check(where, spec)
        if "$ref" in spec:
            return self.referenced(where, spec["$ref"])
        if "anyOf" in spec:
            return Union[tuple(self.python_type(where, option) for option in spec["anyOf"])]  # noqa: UP007
        if "enum" in spec:
            return Literal[tuple(spec["enum"])]
        kinds = spec.get("type")
        if not isinstance(kinds, list):
            return self.one_type(where, spec, kinds)
        options = tuple(self.one_type(where, spec, kind) for kind in kinds if kind != "null")
        inner = options[0] if len(options) == 1 else Union[options]  # noqa: UP007
        return inner | None if "null" in kinds else inner

    def referenced(self, where: str, reference: str) -> type[BaseModel]:
        name = reference.removeprefix("#/definitions/")
        if not reference.startswith("#/definitions/") or name not in self.definitions:
            raise SchemaFileError(f"{where}: $ref {reference!r} names no definition of the file")
        if name not in self.models:
            self.models[name] = self.model(name, self.definitions[name], lambda field, field_spec: True)
        return self.models[name]

    def one_type(self, where: str, spec: Mapping[str, Any], kind: Any) -> Any:
        if kind is None:
            return Any
        if kind == "null":
            return type(None)
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "array":
            item = self.python_type(where, spec["items"]) if "items" in spec else Any
            return list[item]  # type: ignore[valid-type]
        if kind == "object" and "properties" in spec:
            return self.model(where.replace(".", "_"), spec, lambda field, field_spec: True)
        if kind == "object":
            values = spec.get("additionalProperties", True)
            value = self.python_type(where, values) if isinstance(values, dict) else Any
            return dict[str, value]  # type: ignore[valid-type]
        raise SchemaFileError(f"{where}: type {kind!r} is not one pydantic models here")


def _check(where: str, spec: Mapping[str, Any]) -> None:
    unknown = set(spec) - _KEYWORDS
    if unknown:
        raise SchemaFileError(f"{where}: keywords {sorted(unknown)} are not read by contract/pymodel.py")
