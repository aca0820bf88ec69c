"""The OpenAI Python client, unmodified, pointed at the emulator by base_url."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI

from emulator.server import BackgroundServer

MODEL = "jamba-instruct-preview"
MESSAGES = [{"role": "user", "content": "Tell me something I don't know"}]

pytestmark = pytest.mark.clients


@pytest.fixture
def client(emulator: BackgroundServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=emulator.api_host, api_key="any-key", max_retries=0) as client:
        yield client


def test_plain_completion(client: OpenAI) -> None:
    response = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=5)  # type: ignore[arg-type]
    assert response.choices[0].finish_reason == "length"
    assert response.usage is not None and response.usage.completion_tokens == 5
    assert response.choices[0].message.role == "assistant"


def test_streaming(client: OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    chunks = list(stream)
    assert all(chunk.choices for chunk in chunks)
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == plain.choices[0].message.content
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == plain.usage.total_tokens  # type: ignore[union-attr]


def test_validation_error_is_an_unprocessable_entity(client: OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, temperature=3)  # type: ignore[arg-type]
    assert caught.value.status_code == 422
