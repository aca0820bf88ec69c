"""Architecture checks: the wings of `emulator/` import only downwards, only the HTTP wing and the
server import aiohttp, and the shipped data is what it claims.

The wings, lowest first (README, "Layout"):

    chat      the canonical request and completion, tokens, budget   imports no wing
    answer    what the model says                                      chat
    contract  may this request be answered?                            chat
    script    what the test asked for, and what was seen               chat
    http      the aiohttp application and its surfaces                 every wing, config, core
    top level cli, core, server, ... (TOP below)                       anything
    config    the settings: values and their syntax                    no wing (SHARED only)

`errors` and `resources` are the top level's two modules every wing may import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from faker.providers.lorem.en_US import Provider as Lorem
from jamba_emulator.answer.wordpool import build, load
from jamba_emulator.resources import SCHEMA_DIR, load_json

PACKAGE = Path(__file__).resolve().parents[2] / "emulator"
IMPORT_NAME = "jamba_emulator"
"""What the folder `emulator/` imports as (pyproject.toml maps it)."""
SHARED = {"errors", "resources"}
WINGS: dict[str, set[str]] = {
    "chat": set(),
    "answer": {"chat"},
    "contract": {"chat"},
    "script": {"chat"},
    "http": {"chat", "answer", "contract", "script", "config", "core"},
}
"""Each wing, and what it may import besides itself and SHARED."""
PURE = ("chat", "answer", "contract", "script")
TOP = {
    "__init__",
    "__main__",
    "admin_client",
    "cli",
    "config",
    "core",
    "errors",
    "logs",
    "pytest_plugin",
    "resources",
    "server",
    "testing",
    "workers",
}
"""The top level stays small: a new module there is a decision, made here."""
AIOHTTP_ALLOWED = ("http", "server")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name under `emulator` ("http.app", "cli")."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[".".join(parts)] = path
    return found


def imported(name: str, source: str) -> set[str]:
    """The names module `name` imports, as absolute dotted names (lazy imports included)."""
    package = [IMPORT_NAME, *name.split(".")[:-1]]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def wing_of(name: str) -> str:
    first = name.split(".", maxsplit=1)[0]
    return first if first in WINGS else f"top:{first}"


def internal_targets(name: str, source: str) -> set[str]:
    """The wings (or top-level modules) of the package that module `name` imports."""
    known = modules()
    targets = set()
    for dotted in imported(name, source):
        if dotted == IMPORT_NAME or not dotted.startswith(IMPORT_NAME + "."):
            continue
        inner = dotted.removeprefix(IMPORT_NAME + ".")
        while inner and inner not in known and inner.split(".")[0] not in WINGS:
            inner = inner.rpartition(".")[0]
        if inner:
            targets.add(wing_of(inner))
    return targets


def test_every_module_is_in_a_wing_or_named_at_the_top() -> None:
    stray = [name for name in modules() if "." not in name and name not in TOP]
    assert not stray, f"modules at the top level that no one placed: {stray}; put each in a wing"
    packages = {name.split(".", maxsplit=1)[0] for name in modules() if "." in name}
    assert packages == {*WINGS, "data", "testing"}  # data/: the word pool; testing/: the Python API


def test_the_api_prefix_is_written_once() -> None:
    """Routes, the start-up banner and the SDKs' base URLs all read surfaces/studio.py's PREFIX."""
    writing = sorted(name for name, path in modules().items() if '"/studio/v1' in path.read_text())
    assert writing == ["http.surfaces.studio"]


def test_every_surface_is_served() -> None:
    from jamba_emulator.config import Config  # noqa: PLC0415
    from jamba_emulator.core import Core  # noqa: PLC0415
    from jamba_emulator.http.surfaces import surfaces_for  # noqa: PLC0415

    surfaces = surfaces_for(Core.build(Config()))

    defined = sorted(
        name for name in modules() if name.startswith("http.surfaces.") and "__init__" not in name
    )
    assert sorted(f"http.surfaces.{surface.name}" for surface in surfaces) == defined
    fixtures = load_json(SCHEMA_DIR / "fixtures.schema.json")
    matchable = fixtures["definitions"]["Match"]["properties"]["surface"]["enum"]
    assert sorted(matchable) == sorted(surface.name for surface in surfaces)  # a rule can name each


@pytest.mark.parametrize("name", [name for name in modules() if wing_of(name) in WINGS])
def test_a_wing_imports_only_downwards(name: str) -> None:
    wing = wing_of(name)
    allowed = {wing, *WINGS[wing], *(f"top:{module}" for module in SHARED | WINGS[wing])}
    wrong = internal_targets(name, modules()[name].read_text()) - allowed
    assert not wrong, f"emulator.{name} ({wing}) imports {sorted(wrong)}; it may import {sorted(allowed)}"


@pytest.mark.parametrize("name", modules())
def test_only_the_http_wing_and_the_server_import_aiohttp(name: str) -> None:
    names = imported(name, modules()[name].read_text())
    uses = {dotted for dotted in names if dotted == "aiohttp" or dotted.startswith("aiohttp.")}
    if name.split(".", maxsplit=1)[0] not in AIOHTTP_ALLOWED:
        assert not uses, f"{IMPORT_NAME}.{name} imports aiohttp ({sorted(uses)})"


def test_config_imports_no_wing() -> None:
    """Config holds values and checks their syntax; what a wing knows (fault kinds, the catalog's
    models, the journal's bound) is checked where it is used (Core.build)."""
    wrong = internal_targets("config", modules()["config"].read_text()) - {
        f"top:{module}" for module in SHARED
    }
    assert not wrong, f"config imports {sorted(wrong)}; it may import only {sorted(SHARED)}"


VALIDATING = (
    "jsonschema",
    "jsonschema_rs",
    f"{IMPORT_NAME}.contract.violations",
    f"{IMPORT_NAME}.contract.schema",
)
"""What validates a body: the validators, and the contract's compiled schemas and searcher."""


@pytest.mark.parametrize("name", [name for name in modules() if name.startswith("http.")])
def test_no_http_module_validates_a_body_itself(name: str) -> None:
    """Every surface's contract lives in contract/ (contract/dialects.py), compiled at start-up:
    a surface hands over the body's bytes and its route's parameters, and validates nothing."""
    names = imported(name, modules()[name].read_text())
    uses = {
        dotted
        for dotted in names
        for module in VALIDATING
        if dotted.split(".")[: len(module.split("."))] == module.split(".")
    }
    assert not uses, f"{IMPORT_NAME}.{name} imports {sorted(uses)}: a contract belongs in contract/"


@pytest.mark.parametrize("name", [name for name in modules() if name.split(".")[0] in PURE])
def test_a_pure_module_loads_neither_aiohttp_nor_config(name: str) -> None:
    """At run time too: nothing it imports, however indirectly, pulls them in."""
    module = f"{IMPORT_NAME}.{name}".removesuffix(".__init__")
    code = f"import sys, {module}; print('aiohttp' in sys.modules, 'jamba_emulator.config' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_checks_see_a_wrong_import() -> None:
    """The static check itself: a module that imports upwards is caught."""
    source = "from ..http import app\nfrom .budget import Budget\nfrom aiohttp import web\n"
    assert internal_targets("chat.probe", source) == {"http", "chat"}
    assert "aiohttp.web" in imported("chat.probe", source)
    assert internal_targets("cli", "from .script.rules import Rule\n") == {"script"}


def test_shipped_word_pool_is_drawn_from_faker() -> None:
    pool, rebuilt = load(), build()["words"]
    assert list(pool.nouns) == rebuilt["nouns"]
    assert list(pool.verbs) == rebuilt["verbs"]
    assert set(pool.adjectives) <= set(Lorem.parts_of_speech["adjective"])
    assert len(pool.names) == len(pool.cities) == len(pool.companies) == 120


def test_every_package_ships_in_the_wheel() -> None:
    """pyproject.toml lists the packages by name: a new subpackage missing there is missing from
    the installed emulator (.ci/run's wheel check would find it, minutes later)."""
    listed = set(
        tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        f"{IMPORT_NAME}." + ".".join(path.parent.relative_to(PACKAGE).parts)
        if path.parent != PACKAGE
        else IMPORT_NAME
        for path in PACKAGE.rglob("__init__.py")
    }
    assert found <= listed, (
        f"packages missing from pyproject.toml's [tool.setuptools] packages: {found - listed}"
    )
