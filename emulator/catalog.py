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
    features: frozenset[str] = frozenset()
    """Request features beyond the seed's (FEATURES) that the model supports."""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> ModelSpec:
        return cls(
            name=entry["name"],
            max_tokens_default=entry["max_tokens"]["default"],
            max_tokens_maximum=entry["max_tokens"]["maximum"],
            temperature_default=float(entry["temperature"]["default"]),
            context_window=entry["context_window"],
            features=frozenset(entry.get("features", ())),
        )


FEATURES = ("tools", "documents", "response_format")
"""The request fields beyond the seed's, each supported by some models only (catalog.json)."""


class Catalog:
    """The models a server accepts, by name."""

    def __init__(self, models: Iterable[ModelSpec]) -> None:
        self._models = {model.name: model for model in models}

    def only(self, names: Iterable[str]) -> Catalog:
        """The catalog cut to `names` (--model); an unknown name is a ValueError naming the known."""
        wanted = list(dict.fromkeys(names))
        unknown = [name for name in wanted if name not in self._models]
        if unknown:
            raise ValueError(f"unknown model {unknown[0]!r}; the catalog has: {', '.join(self._models)}")
        return Catalog(self._models[name] for name in wanted)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._models)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Catalog:
        return cls(ModelSpec.from_entry(entry) for entry in document["models"])

    def get(self, name: str) -> ModelSpec | None:
        return self._models.get(name)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._models.values())


def load_catalog_document() -> Any:
    return load_json(SCHEMA_DIR / "catalog.json")
