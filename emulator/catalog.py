"""The model catalog: which models exist and their limits, read from schemas/catalog.json."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .resources import SCHEMA_DIR, load_json


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    max_tokens_default: int
    max_tokens_maximum: int
    temperature_default: float
    context_window: int

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> ModelSpec:
        return cls(
            name=entry["name"],
            max_tokens_default=entry["max_tokens"]["default"],
            max_tokens_maximum=entry["max_tokens"]["maximum"],
            temperature_default=float(entry["temperature"]["default"]),
            context_window=entry["context_window"],
        )


class Catalog:
    """The models a server accepts, by name."""

    def __init__(self, models: Iterable[ModelSpec]) -> None:
        self._models = {model.name: model for model in models}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Catalog:
        return cls(ModelSpec.from_entry(entry) for entry in document["models"])

    def get(self, name: str) -> ModelSpec | None:
        return self._models.get(name)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._models.values())


def load_catalog_document() -> Any:
    return load_json(SCHEMA_DIR / "catalog.json")
