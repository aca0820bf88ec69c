"""A real emulator on a background thread, for the synchronous and asynchronous SDKs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.server import BackgroundServer


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
