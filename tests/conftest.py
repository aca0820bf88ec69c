"""Fixtures: an in-process emulator per test (pytest-aiohttp), and hypothesis profiles."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import settings
from jamba_emulator.config import Config
from jamba_emulator.http.app import create_app

# HYPOTHESIS_PROFILE=fuzz for a long fuzzing session; CI uses the fast, derandomized one.
settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("fuzz", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

pytest_plugins = ["pytester"]  # tests/plugin drives the jamba_emulator fixture as users do

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_client(aiohttp_client: Any) -> ClientFactory:
    """Start an in-process emulator with the given Config fields; returns its test client."""

    async def make(**config: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(Config(**config)))

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[Any, Any]:
    return await make_client()


@pytest.fixture
def scripted(make_client: ClientFactory, tmp_path: Path) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    """Start an in-process emulator whose fixture file holds these rules (and these Config fields)."""

    async def start(*rules: dict[str, Any], **config: Any) -> TestClient[Any, Any]:
        path = tmp_path / "rules.json"
        path.write_text(json.dumps({"rules": list(rules)}))
        return await make_client(fixtures=(str(path),), **config)

    return start
