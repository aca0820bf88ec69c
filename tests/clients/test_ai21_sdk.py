"""The official ai21 SDK, unmodified, pointed at the emulator by its base URL."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from ai21 import AI21Client, AsyncAI21Client
from ai21.errors import Unauthorized, UnprocessableEntity
from ai21.models.chat import ChatMessage
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer

MODEL = "jamba-instruct-preview"
MESSAGES = [ChatMessage(role="user", content="Tell me something I don't know")]

pytestmark = pytest.mark.clients


@pytest.fixture
def client(emulator: BackgroundServer, http: httpx.Client) -> AI21Client:
    return AI21Client(api_key="any-key", api_host=emulator.api_host, http_client=http)


@pytest.fixture
def async_client(emulator: BackgroundServer, async_http: httpx.AsyncClient) -> AsyncAI21Client:
    return AsyncAI21Client(api_key="any-key", api_host=emulator.api_host, http_client=async_http)


def test_sync_completion(client: AI21Client) -> None:
    response = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=200, stop=None)
    assert response.id.startswith("chatcmpl-")
    assert response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens == 26
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_sdk_reads_ai21_api_host_from_the_environment(
    emulator: BackgroundServer, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI21_API_HOST", emulator.api_host)
    monkeypatch.setenv("AI21_API_KEY", "any-key")
    client = AI21Client(http_client=http)
    response = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=3)
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 3


async def test_async_completion(async_client: AsyncAI21Client) -> None:
    response = await async_client.chat.completions.create(model=MODEL, messages=MESSAGES, n=3)
    assert [choice.index for choice in response.choices] == [0, 1, 2]


def test_streaming_joins_into_the_plain_answer(client: AI21Client) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == plain.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


async def test_async_streaming(async_client: AsyncAI21Client) -> None:
    stream = await async_client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, max_tokens=4
    )
    chunks = [chunk async for chunk in stream]
    assert sum(1 for chunk in chunks if chunk.choices[0].delta.content) == 4
    assert chunks[-1].choices[0].finish_reason == "length"


def test_validation_error_surfaces_as_the_sdk_error_class(client: AI21Client) -> None:
    with pytest.raises(UnprocessableEntity) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=70_000)
    assert "max_tokens" in str(caught.value.details)


def test_unsupported_model_surfaces_as_unprocessable(client: AI21Client) -> None:
    with pytest.raises(UnprocessableEntity, match="not supported"):
        client.chat.completions.create(model="jamba-9000", messages=MESSAGES)


def test_rejected_key_surfaces_as_unauthorized(http: httpx.Client) -> None:
    with BackgroundServer(Config(port=0, api_keys=("right",))) as server:
        client = AI21Client(api_key="wrong", api_host=server.api_host, http_client=http)
        with pytest.raises(Unauthorized):
            client.chat.completions.create(model=MODEL, messages=MESSAGES)


def test_sdk_retries_a_flaky_upstream_until_it_answers(tmp_path: Path, http: httpx.Client) -> None:
    """The SDK retries 500 and 503 when num_retries > 0: 500, 503, then a 200 after three calls."""
    rules = {
        "rules": [{"name": "flaky", "replies": [{"error": {"status": 500}}, {"error": {"status": 503}}]}]
    }
    fixture = tmp_path / "flaky.json"
    fixture.write_text(json.dumps(rules))
    with BackgroundServer(Config(port=0, fixtures=(str(fixture),))) as server:
        client = AI21Client(api_key="k", api_host=server.api_host, http_client=http, num_retries=3)
        answer = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=5)
        assert server.core is not None
        journal = server.core.journal.entries()
    assert answer.choices[0].message.content
    assert [(entry.status, entry.rule) for entry in journal] == [(500, "flaky"), (503, "flaky"), (200, None)]
