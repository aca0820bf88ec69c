"""A real emulator on a background thread, for the synchronous and asynchronous SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.server import BackgroundServer


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with BackgroundServer() as server:
        yield server
