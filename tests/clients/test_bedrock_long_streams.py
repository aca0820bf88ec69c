"""Long Bedrock streams through the ai21 SDK's `AI21BedrockClient`, on plain HTTP and through a
TLS terminator (tls_hop.py), as they reach a client behind a load balancer.

The SDK's Bedrock decoder decodes one whole event per read from the connection: a read that
holds part of an event raises StreamingDecodeError, a read that holds two loses one. Bedrock
streams at the model's pace, so its events arrive one by one; the emulator keeps them at least
--bedrock-token-ms apart (1 ms by default) for the same effect. Unpaced, both cases here fail
(issue 26: 10 in 10 on plain HTTP, 20 in 20 through the hop); the last test shows the hop does
break an unpaced stream, so the paced ones passing says something."""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from ai21 import AI21BedrockClient
from ai21.errors import StreamingDecodeError
from ai21.models.chat import ChatMessage
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator

from .tls_hop import TlsHop

MODEL_ID = "ai21.jamba-1-5-mini-v1:0"
RUNS = 20
AT_ONCE = 4  # streams in flight together: the SDK's decoding is the cost, and it takes the GIL
ESSAY = [ChatMessage(role="user", content="Write a 2,000-word essay about rivers")]

pytestmark = [pytest.mark.clients, pytest.mark.usefixtures("fake_aws")]


def words(count: int) -> str:
    rng = random.Random(26)
    return " ".join(rng.choice(("river", "stone", "delta", "reed", "current", "bank")) for _ in range(count))


@pytest.fixture(params=["http", "tls"])
def base(request: pytest.FixtureRequest, emulator: BackgroundServer) -> Iterator[tuple[str, Any]]:
    """Where the client points: the emulator itself, or a TLS terminator in front of it (with the
    SSL context that trusts its certificate)."""
    if request.param == "http":
        yield emulator.url, True
        return
    with TlsHop(emulator.url) as hop:
        yield hop.url, hop.client_context


def streamed(base: tuple[str, Any], messages: list[ChatMessage], **asked: Any) -> list[Any]:
    url, verify = base
    with httpx.Client(verify=verify) as http:
        client = AI21BedrockClient(base_url=url, region="us-east-1", http_client=http)
        return list(client.chat.completions.create(model=MODEL_ID, messages=messages, stream=True, **asked))


def joined(chunks: list[Any]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)


def twenty_streams(base: tuple[str, Any], messages: list[ChatMessage], **asked: Any) -> list[list[Any]]:
    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(lambda _: streamed(base, messages, **asked), range(RUNS)))


def test_a_3000_word_scripted_reply_streams_whole_twenty_times(
    base: tuple[str, Any], scripted: JambaEmulator
) -> None:
    reply = words(3000)
    scripted.reply(reply)
    for chunks in twenty_streams(base, [ChatMessage(role="user", content="Tell me everything.")]):
        assert joined(chunks) == reply
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(chunks) - 2


def test_a_generated_2000_token_answer_streams_whole_twenty_times(
    base: tuple[str, Any], emulator: BackgroundServer, http: httpx.Client
) -> None:
    client = AI21BedrockClient(base_url=emulator.url, region="us-east-1", http_client=http)
    plain = client.chat.completions.create(model=MODEL_ID, messages=ESSAY, max_tokens=2000)
    assert plain.usage.completion_tokens == 2000 and plain.choices[0].finish_reason == "length"
    for chunks in twenty_streams(base, ESSAY, max_tokens=2000):
        assert joined(chunks) == plain.choices[0].message.content
        assert chunks[-1].usage is not None and chunks[-1].usage.model_dump() == plain.usage.model_dump()
        assert chunks[-1].choices[0].finish_reason == "length"


def test_unpaced_the_same_stream_breaks_the_sdks_decoder_through_the_hop() -> None:
    """--bedrock-token-ms 0, which suits boto3 (its decoder reads any split): the SDK fails."""
    with BackgroundServer(Config(port=0, bedrock_token_ms=0)) as server, TlsHop(server.url) as hop:
        failures = 0
        for _ in range(3):
            try:
                streamed((hop.url, hop.client_context), ESSAY, max_tokens=2000)
            except StreamingDecodeError:
                failures += 1
        assert failures >= 1
