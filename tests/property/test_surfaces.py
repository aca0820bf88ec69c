"""Every surface answers the same conversation with the same text and token counts, and each one's
stream joins into its plain answer (vLLM's included: the same checkpoint, at the same
temperature): the contract, the generator and the seed are shared, only the wire shape differs.
Bedrock and Converse are called through boto3, the others over plain HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer

CATALOG_NAME, BEDROCK_ID, VERTEX_NAME = "jamba-1.5-mini", "ai21.jamba-1-5-mini-v1:0", "jamba-1.5-mini"
VERTEX_PATH = f"/v1/projects/p/locations/r/publishers/ai21/models/{VERTEX_NAME}"
AZURE_NAME = "AI21-Jamba-1.5-Mini"
VLLM_ID = "ai21labs/AI21-Jamba-1.5-Mini"

words = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), min_size=1, max_size=80)
conversations = st.lists(words.filter(str.strip), min_size=1, max_size=3).map(
    lambda texts: (
        [
            {"role": "user" if index % 2 == 0 else "assistant", "content": text}
            for index, text in enumerate(texts)
        ]
        if len(texts) % 2
        else [{"role": "user", "content": text} for text in texts]
    )
)


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(Config(port=0, seed=5)) as running:
        yield running


@pytest.fixture(scope="module")
def clients(server: BackgroundServer) -> Iterator[tuple[httpx.Client, Any]]:
    session = boto3.session.Session(
        aws_access_key_id="AKIDPROPERTY", aws_secret_access_key="s", region_name="us-east-1"
    )
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http, session.client("bedrock-runtime", endpoint_url=server.url)


def sse(answer: httpx.Response) -> tuple[str, dict[str, int]]:
    chunks = [json.loads(line[6:]) for line in answer.text.split("\n\n") if line.startswith("data: {")]
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    return text, _three(chunks[-1]["usage"])


def answers(
    http: httpx.Client, runtime: Any, messages: list[dict[str, str]], max_tokens: int
) -> dict[str, Any]:
    """Each surface's (plain text, plain usage, streamed text, streamed usage), usage as Studio's."""
    body = {"messages": messages, "max_tokens": max_tokens}
    bearer = {"Authorization": "Bearer k"}
    found: dict[str, Any] = {}
    for name, path, sent, headers in (
        ("studio", "/studio/v1/chat/completions", {**body, "model": CATALOG_NAME}, bearer),
        ("azure", "/v1/chat/completions", {**body, "model": AZURE_NAME}, {"api-key": "k"}),
    ):
        plain = http.post(path, json=sent, headers=headers).json()
        streamed = sse(http.post(path, json={**sent, "stream": True}, headers=headers))
        found[name] = (plain["choices"][0]["message"]["content"], plain["usage"], *streamed)
    # vLLM: the checkpoint that is jamba-1.5-mini, at Studio's default temperature for it (vLLM's
    # own default is 1.0, a different answer), usage asked for in the stream
    sent = {**body, "model": VLLM_ID, "temperature": 0.4}
    plain = http.post("/v1/chat/completions", json=sent).json()
    usage_too = {**sent, "stream": True, "stream_options": {"include_usage": True}}
    streamed = sse(http.post("/v1/chat/completions", json=usage_too))
    found["vllm"] = (plain["choices"][0]["message"]["content"], _three(plain["usage"]), *streamed)
    plain = http.post(VERTEX_PATH + ":rawPredict", json=body, headers=bearer).json()
    streamed = sse(http.post(VERTEX_PATH + ":streamRawPredict", json=body, headers=bearer))
    found["vertex"] = (plain["choices"][0]["message"]["content"], plain["usage"], *streamed)
    plain = json.loads(runtime.invoke_model(modelId=BEDROCK_ID, body=json.dumps(body))["body"].read())
    chunks = [
        json.loads(event["chunk"]["bytes"])
        for event in runtime.invoke_model_with_response_stream(modelId=BEDROCK_ID, body=json.dumps(body))[
            "body"
        ]
    ]
    chunks.pop()  # Bedrock's metrics
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    found["bedrock"] = (plain["choices"][0]["message"]["content"], plain["usage"], text, chunks[-1]["usage"])
    converse_messages = [{"role": m["role"], "content": [{"text": m["content"]}]} for m in messages]
    request = {
        "modelId": BEDROCK_ID,
        "messages": converse_messages,
        "inferenceConfig": {"maxTokens": max_tokens},
    }
    plain = runtime.converse(**request)
    streamed_text, streamed_usage = "", {}
    for event in runtime.converse_stream(**request)["stream"]:
        streamed_text += event.get("contentBlockDelta", {}).get("delta", {}).get("text", "")
        streamed_usage = event.get("metadata", {}).get("usage", streamed_usage)
    found["converse"] = (
        plain["output"]["message"]["content"][0]["text"],
        _studio_usage(plain["usage"]),
        streamed_text,
        _studio_usage(streamed_usage),
    )
    return found


def _three(usage: dict[str, Any]) -> dict[str, int]:
    return {name: usage[name] for name in ("prompt_tokens", "completion_tokens", "total_tokens")}


def _studio_usage(usage: dict[str, int]) -> dict[str, int]:
    return {
        "prompt_tokens": usage["inputTokens"],
        "completion_tokens": usage["outputTokens"],
        "total_tokens": usage["totalTokens"],
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=conversations, max_tokens=st.integers(min_value=1, max_value=120))
def test_every_surface_says_and_counts_the_same(
    clients: tuple[httpx.Client, Any], messages: list[dict[str, str]], max_tokens: int
) -> None:
    found = answers(*clients, messages, max_tokens)
    for surface, (text, usage, streamed_text, streamed_usage) in found.items():
        assert (streamed_text, streamed_usage) == (text, usage), f"{surface}'s stream differs from its answer"
    assert len({(text, json.dumps(usage, sort_keys=True)) for text, usage, *_ in found.values()}) == 1, found
