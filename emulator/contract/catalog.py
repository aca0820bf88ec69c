"""The model catalog: which models exist and their limits, read from schemas/catalog.json."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..resources import SCHEMA_DIR, load_json


@dataclass(frozen=True, slots=True)
class Listing:
    """What GET /studio/v1/models says of a model beyond its limits: policy (catalog.json)."""

    name: str
    updated: str
    quantization: str
    prompt_price: float
    completion_price: float


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    max_tokens_default: int
    max_tokens_maximum: int
    temperature_default: float
    context_window: int
    listing: Listing
    features: frozenset[str] = frozenset()
    """Request features beyond the seed's (FEATURES) that the model supports."""
    platform_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    """The names it goes by on each cloud platform ("bedrock", "vertex", "azure")."""

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> ModelSpec:
        listing = entry["listing"]
        return cls(
            name=entry["name"],
            max_tokens_default=entry["max_tokens"]["default"],
            max_tokens_maximum=entry["max_tokens"]["maximum"],
            temperature_default=float(entry["temperature"]["default"]),
            context_window=entry["context_window"],
            features=frozenset(entry.get("features", ())),
            platform_names={
                platform: tuple(names) for platform, names in entry.get("platform_names", {}).items()
            },
            listing=Listing(
                listing["name"],
                listing["updated"],
                listing["quantization"],
                listing["pricing"]["prompt"],
                listing["pricing"]["completion"],
            ),
        )

    def info(self) -> dict[str, Any]:
        """The model as GET /studio/v1/models lists it (schemas/models-response.schema.json)."""
        listing = self.listing
        return {
            "id": self.name,
            "name": listing.name,
            "updated": listing.updated,
            "context_length": self.context_window,
            "quantization": listing.quantization,
            "max_completion_tokens": self.max_tokens_maximum,
            "pricing": {"prompt": listing.prompt_price, "completion": listing.completion_price},
        }


FEATURES: tuple[str, ...] = tuple(
    load_json(SCHEMA_DIR / "catalog.schema.json")["properties"]["models"]["items"]["properties"]["features"][
        "items"
    ]["enum"]
)
"""The request fields beyond the seed's, each supported by some models only: the names a catalog
entry's `features` may list (schemas/catalog.schema.json)."""


class Catalog:
    """The models a server accepts, by name."""

    def __init__(self, models: Iterable[ModelSpec]) -> None:
        self._models = {model.name: model for model in models}
        self._platform_names: dict[tuple[str, str], ModelSpec] = {}
        for model in self._models.values():
            for platform, names in model.platform_names.items():
                for name in names:
                    other = self._platform_names.setdefault((platform, name), model)
                    if other is not model:
                        raise ValueError(
                            f"{platform} name {name!r} belongs to both {other.name} and {model.name}"
                        )

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

    def on_platform(self, platform: str, name: str) -> ModelSpec | None:
        """The model `platform`'s users call `name` (a Bedrock model id, a Vertex model name...)."""
        return self._platform_names.get((platform, name))

    def platform_names(self, platform: str) -> list[str]:
        return [name for (where, name) in self._platform_names if where == platform]

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._models.values())


def load_catalog_document() -> Any:
    return load_json(SCHEMA_DIR / "catalog.json")
