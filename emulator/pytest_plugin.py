"""The pytest plugin, registered through the `pytest11` entry point: installing jamba-emulator is
enough to get the `jamba_emulator` fixture.

    def test_answer(jamba_emulator):            # an emulator in-process, on a free port
        client = AI21Client()                   # AI21_API_HOST and AI21_API_KEY point at it
        ...

Each distinct configuration starts one server per test session (per pytest-xdist worker, each on
its own free port); every test gets it reset: journal emptied, rules back to the fixture files',
rate limits and the fault sequence restarted. Configure it per test with the marker
`@pytest.mark.jamba_emulator(strict=True, rate_limit="2/s")`, or for a whole folder by overriding
the `jamba_emulator_config` fixture; either takes Config's fields, as values or as the CLI
spells them.

Only pytest is imported here: the server (aiohttp and the rest) loads when a test first asks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import BackgroundServer
    from .testing import JambaEmulator

MARKER = "jamba_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): run the test against an emulator with these settings "
        "(jamba-emulator's Config fields, e.g. strict=True, rate_limit='2/s', unmatched='error')",
    )


class _Servers:
    """The session's running emulators, one per distinct configuration."""

    def __init__(self) -> None:
        self._running: dict[Any, BackgroundServer] = {}

    def get(self, settings: dict[str, Any], source: str) -> BackgroundServer:
        from .config import Config  # noqa: PLC0415  (lazy: see the module docstring)
        from .errors import ConfigError  # noqa: PLC0415
        from .server import BackgroundServer  # noqa: PLC0415

        try:
            config = Config.from_settings({"port": 0, **settings}, source)
        except ConfigError as error:
            raise pytest.UsageError(str(error)) from None
        if config not in self._running:
            server = BackgroundServer(config)
            server.start()
            self._running[config] = server
        return self._running[config]

    def stop_all(self) -> None:
        for server in self._running.values():
            server.stop()
        self._running.clear()


@pytest.fixture(scope="session")
def _jamba_emulator_servers() -> Iterator[_Servers]:
    servers = _Servers()
    yield servers
    servers.stop_all()


@pytest.fixture
def jamba_emulator_config() -> dict[str, Any]:
    """Settings for the `jamba_emulator` fixture; override it in a conftest.py to change them for
    every test below it. A test's `@pytest.mark.jamba_emulator(...)` settings win over these."""
    return {}


@pytest.fixture
def jamba_emulator(
    request: pytest.FixtureRequest,
    jamba_emulator_config: dict[str, Any],
    _jamba_emulator_servers: _Servers,
    monkeypatch: pytest.MonkeyPatch,
) -> JambaEmulator:
    """An emulator for this test, freshly reset, with AI21_API_HOST and AI21_API_KEY set to it."""
    from .testing import JambaEmulator  # noqa: PLC0415

    settings = dict(jamba_emulator_config)
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # the closest marker wins
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes settings by name, e.g. strict=True")
        settings.update(marker.kwargs)
    server = _jamba_emulator_servers.get(settings, f"@pytest.mark.{MARKER}")
    assert server.core is not None  # started
    server.core.reset()
    emulator = JambaEmulator(server.url, server.core)
    monkeypatch.setenv("AI21_API_HOST", emulator.api_host)
    monkeypatch.setenv("AI21_API_KEY", emulator.api_key)
    return emulator
