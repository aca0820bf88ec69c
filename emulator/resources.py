"""Where the package's data files live, installed (inside the wheel) or in a source checkout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def _folder(name: str) -> Path:
    # A wheel ships schemas/ and fixtures/ inside the package; a checkout keeps them at the top.
    installed = _PACKAGE / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


SCHEMA_DIR = _folder("schemas")
FIXTURE_DIR = _folder("fixtures")
DATA_DIR = _PACKAGE / "data"


def load_json(path: Path) -> Any:
    with path.open("rb") as handle:
        return json.load(handle)
