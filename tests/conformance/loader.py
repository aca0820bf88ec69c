"""Reads the conformance cases in tests/conformance/cases/*.json (format: case.schema.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH

from tests.support import AUTH

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "cases").glob("*.json"))
CASE_SCHEMA = json.loads((HERE / "case.schema.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Case:
    rule: str
    phase: str
    status: int
    body: Any = None  # a JSON value, or bytes for a raw body, or None for no body
    method: str = "POST"
    path: str = API_PATH
    headers: dict[str, str] = field(default_factory=lambda: dict(AUTH))
    config: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None
    loc: tuple[str | int, ...] | None = None
    type: str | None = None
    source: str = ""

    @property
    def json_body(self) -> bool:
        return self.body is not None and not isinstance(self.body, bytes)

    def payload(self) -> bytes | None:
        if self.body is None:
            return None
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


def expand(value: Any) -> Any:
    """Replace every `{"$repeat": text, "times": n}` by the repeated text."""
    if isinstance(value, dict):
        if set(value) == {"$repeat", "times"}:
            return value["$repeat"] * value["times"]
        return {key: expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item) for item in value]
    return value


def _body(request: dict[str, Any], base: dict[str, Any]) -> Any:
    if "with" in request:
        return expand({**base, **request["with"]})
    if "json" in request:
        return expand(request["json"])
    if "raw" in request:
        raw = request["raw"]
        pieces = [raw] if isinstance(raw, str) else raw
        return "".join(expand(piece) for piece in pieces).encode("latin-1")
    return None


def load_cases() -> list[Case]:
    cases = []
    for path in CASE_FILES:
        document = json.loads(path.read_text(encoding="utf-8"))
        for entry in document["cases"]:
            request, expect = entry["request"], entry["expect"]
            config = {
                key: tuple(value) if isinstance(value, list) else value
                for key, value in entry.get("config", {}).items()
            }
            cases.append(
                Case(
                    rule=entry["rule"],
                    phase=entry["phase"],
                    status=expect["status"],
                    body=_body(request, document["base"]),
                    method=request.get("method", "POST"),
                    path=request.get("path", API_PATH),
                    headers=request.get("headers", dict(AUTH)),
                    config=config,
                    detail=expect.get("detail"),
                    loc=tuple(expect["loc"]) if "loc" in expect else None,
                    type=expect.get("type"),
                    source=path.name,
                )
            )
    return cases
