"""A real emulator on a background thread, for the synchronous and asynchronous SDKs, and what
the client tests share: httpx clients handed to the SDKs, the scripting API, fake AWS keys."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator


@pytest.fixture(scope="module", autouse=True)
def collect_third_party_garbage() -> Iterator[None]:
    """After each module: what the third-party clients leave behind (litellm's threads keep event
    loops they never close, LangChain's and the SDKs' HTTP clients are never closed) collected
    with its ResourceWarnings ignored, so it is not reported in a later module's test."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with BackgroundServer() as server:
        yield server


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials for boto3 and the ai21 SDK's Bedrock client (which sign with them),
    and none of the machine's own profile or endpoint settings."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDJAMBAEMULATOR")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "any-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # The SDK never closes the httpx client it makes; hand it one we close.
    with httpx.Client() as client:
        yield client


@pytest.fixture
async def async_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def scripted(emulator: BackgroundServer) -> Iterator[JambaEmulator]:
    """The module's emulator seen through the Python scripting API; its rules gone after the test."""
    assert emulator.core is not None
    double = JambaEmulator(emulator.url, emulator.core)
    yield double
    double.reset()
