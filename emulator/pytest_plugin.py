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

Attached to a server already running (`--jamba-emulator-url URL`, or JAMBA_EMULATOR_URL), the
plugin starts none: each test works in its own test scope on that server, named by its node id
(X-Emulator-Test-Id; the fixture's `headers` are what its clients send), so that several test
processes, pytest-xdist workers included, share one emulator without sharing rules or journal.
The server's settings are its own then: a test that asks for settings by marker is refused.

When a test ends, the plugin fails it if a rule it added with `expect: N` did not answer exactly N
times, if a sequence it added was not used up, or if a request of the test matched no rule under
`--unmatched error`, with a report naming each rule and request. Turn the checks off for one test
with `@pytest.mark.jamba_emulator(checks=False)`.

Self-hosted Jamba (vLLM's OpenAI-compatible API, the vllm surface): `jamba_emulator.vllm_base_url`
is the OpenAI client's `base_url`; `@pytest.mark.jamba_emulator(vllm_env=True)` (or the same key in
`jamba_emulator_config`) also sets OPENAI_BASE_URL, OPENAI_API_KEY, HOSTED_VLLM_API_BASE and
HOSTED_VLLM_API_KEY, so that `OpenAI()` and litellm's `hosted_vllm/` reach it unconfigured.

Only pytest is imported here: the server (aiohttp and the rest) loads when a test first asks.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import BackgroundServer
    from .testing import Scripting

MARKER = "jamba_emulator"
URL_OPTION = "--jamba-emulator-url"
URL_VARIABLE = "JAMBA_EMULATOR_URL"
TOKEN_VARIABLE = "JAMBA_EMULATOR_ADMIN_TOKEN"
CHECKS = "checks"
"""The marker's own setting (not a Config field): False turns the end-of-test checks off."""
VLLM_ENV = "vllm_env"
"""The marker's own setting: True also points the OpenAI client and litellm's hosted_vllm/ at the
vllm surface through their environment (OPENAI_BASE_URL, OPENAI_API_KEY, HOSTED_VLLM_API_BASE,
HOSTED_VLLM_API_KEY); off by default, since a test suite may call OpenAI's own API as well."""
VLLM_VARIABLES = ("OPENAI_BASE_URL", "HOSTED_VLLM_API_BASE")
VLLM_KEYS = ("OPENAI_API_KEY", "HOSTED_VLLM_API_KEY")


REPORT_OPTION = "--jamba-emulator-report"
FAIL_ON_OPTION = "--jamba-emulator-fail-on"
_REPORTS = pytest.StashKey[list[tuple[str, str]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jamba-emulator")
    group.addoption(
        REPORT_OPTION,
        action="store_true",
        help="after the run, show each test's resilience report (how its client behaved under the "
        "faults it met: `jamba-emulator report --help` lists the verdicts)",
    )
    group.addoption(
        FAIL_ON_OPTION,
        default="",
        metavar="VERDICTS",
        help="fail a test whose resilience report fails one of these verdicts (comma-separated, or all)",
    )
    group.addoption(
        URL_OPTION,
        default=None,
        metavar="URL",
        help=f"attach the jamba_emulator fixture to the emulator running at URL (default: ${URL_VARIABLE}; "
        "unset: each session starts its own); each test works in its own test scope there",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): run the test against an emulator with these settings "
        "(jamba-emulator's Config fields, e.g. strict=True, rate_limit='2/s', unmatched='error'; "
        "checks=False turns off the end-of-test checks of expected rules and unmatched requests)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After a passing test body, the checks: fail the test if what it expected did not happen."""
    yield
    emulator = getattr(item, "funcargs", {}).get("jamba_emulator")
    if emulator is None:
        return
    raised = getattr(emulator, "raised", None)
    if raised:  # a reply callable's exception, raised again where the test can see it
        raise raised[0]
    if not getattr(emulator, "checked", False):
        return
    from .testing import unmet_expectations  # noqa: PLC0415  (lazy: see the module docstring)

    problems = unmet_expectations(emulator)
    if problems:
        pytest.fail("jamba_emulator: " + "\n  ".join(["what the test expected did not happen:", *problems]))
    _resilience(item, emulator)


def _resilience(item: pytest.Item, emulator: Scripting) -> None:
    """The test's resilience report: kept for the summary (--jamba-emulator-report), and the test
    failed on the verdicts --jamba-emulator-fail-on names."""
    from .script.resilience import verdicts_named  # noqa: PLC0415

    shown, fail_on = item.config.getoption(REPORT_OPTION), item.config.getoption(FAIL_ON_OPTION)
    if not shown and not fail_on:
        return
    try:
        checks = verdicts_named(fail_on or "")
    except ValueError as error:
        raise pytest.UsageError(f"{FAIL_ON_OPTION}: {error}") from None
    found = emulator.report()
    if shown and any(verdict.met or verdict.failed for verdict in found.verdicts.values()):
        item.config.stash.setdefault(_REPORTS, []).append((item.nodeid, found.text()))
    failed = found.failed(checks)
    if failed:
        pytest.fail(f"jamba_emulator: the client failed {', '.join(v.name for v in failed)}:\n{found.text()}")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    reports = config.stash.get(_REPORTS, [])
    if reports:
        terminalreporter.section("jamba-emulator resilience")
        for nodeid, text in reports:
            terminalreporter.write_line(f"{nodeid}: {text}")


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
) -> Iterator[Scripting]:
    """An emulator for this test, freshly reset, with AI21_API_HOST and AI21_API_KEY set to it:
    the session's own (a JambaEmulator), or, attached, a test scope on a running one (an
    AttachedEmulator)."""
    from .testing import AttachedEmulator, JambaEmulator  # noqa: PLC0415

    settings = dict(jamba_emulator_config)
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # the closest marker wins
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes settings by name, e.g. strict=True")
        settings.update(marker.kwargs)
    checked = settings.pop(CHECKS, True)
    vllm_env = settings.pop(VLLM_ENV, False)
    url = request.config.getoption(URL_OPTION) or os.environ.get(URL_VARIABLE)
    emulator: Scripting
    if url:
        if settings:
            raise pytest.UsageError(
                f"{request.node.nodeid}: settings {sorted(settings)} cannot be applied to the emulator "
                f"attached at {url} (it runs with its own); start it with them, or run this test "
                f"without {URL_OPTION}"
            )
        emulator = AttachedEmulator(url, request.node.nodeid, admin_token=os.environ.get(TOKEN_VARIABLE))
    else:
        server = _jamba_emulator_servers.get(settings, f"@pytest.mark.{MARKER}")
        assert server.core is not None  # started
        emulator = JambaEmulator(server.url, server.core)
    emulator.reset()
    emulator.checked = bool(checked)
    monkeypatch.setenv("AI21_API_HOST", emulator.api_host)
    monkeypatch.setenv("AI21_API_KEY", emulator.api_key)
    if vllm_env:
        for name in VLLM_VARIABLES:
            monkeypatch.setenv(name, emulator.vllm_base_url)
        for name in VLLM_KEYS:
            monkeypatch.setenv(name, emulator.api_key)
    yield emulator
    if url:
        emulator.reset()  # the scope's rules and journal go with the test
