"""AWS Bedrock's InvokeModel, served to its real clients unmodified: the ai21 SDK's
`AI21BedrockClient` (sync, async, streaming) and boto3's `bedrock-runtime` client, each pointed
at the emulator by its base URL (`endpoint_url`) and signing with fake credentials."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.eventstream
import botocore.exceptions
import httpx
import pytest
from ai21 import AI21BedrockClient, AsyncAI21BedrockClient
from ai21.errors import AI21APIError, BadRequest
from ai21.models.chat import ChatMessage
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator

MODEL_ID = "ai21.jamba-1-5-mini-v1:0"
ASKED = "Tell me something I don't know"
MESSAGES = [ChatMessage(role="user", content=ASKED)]
BODY = {"messages": [{"role": "user", "content": ASKED}], "max_tokens": 60}

pytestmark = [pytest.mark.clients, pytest.mark.usefixtures("fake_aws")]
ONCE = botocore.config.Config(retries={"total_max_attempts": 1})


@pytest.fixture
def client(emulator: BackgroundServer, http: httpx.Client) -> AI21BedrockClient:
    return AI21BedrockClient(base_url=emulator.url, region="us-east-1", http_client=http)


@pytest.fixture
def runtime(emulator: BackgroundServer) -> Iterator[Any]:
    # One attempt: botocore would retry a scripted 429, 500 or 503 with back-off, as against Bedrock.
    client = boto3.client("bedrock-runtime", endpoint_url=emulator.url, region_name="us-east-1", config=ONCE)
    yield client
    client.close()


def test_the_sdk_gets_the_chat_answer_with_bedrocks_id(client: AI21BedrockClient) -> None:
    response = client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=60)
    assert response.id.startswith("cmpl-") and len(response.id) == 5 + 32
    int(response.id[5:], 16)  # hex digits
    assert response.choices[0].message.content
    assert response.usage.prompt_tokens == 26  # the same conversation counts the same on Studio
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_two_hundred_sdk_streams_each_join_into_the_plain_answer_with_usage(
    client: AI21BedrockClient,
) -> None:
    """The SDK's decoder reads one event per HTTP chunk and merges the metrics event into the last
    chunk: a server that joined two events into one write would lose one, now and then."""
    for turn in range(200):
        messages = [ChatMessage(role="user", content=f"{ASKED}, number {turn}")]
        plain = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=40)
        chunks = list(
            client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=40, stream=True)
        )
        assert (
            "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
            == plain.choices[0].message.content
        )
        assert chunks[-1].usage is not None and chunks[-1].usage.model_dump() == plain.usage.model_dump()
        assert chunks[-1].choices[0].finish_reason == plain.choices[0].finish_reason


async def test_the_async_sdk_plain_and_streamed(
    emulator: BackgroundServer, async_http: httpx.AsyncClient
) -> None:
    client = AsyncAI21BedrockClient(base_url=emulator.url, region="us-east-1", http_client=async_http)
    plain = await client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=60)
    joined = ""
    async for chunk in await client.chat.completions.create(
        model=MODEL_ID, messages=MESSAGES, max_tokens=60, stream=True
    ):
        joined += chunk.choices[0].delta.content or ""
    assert joined == plain.choices[0].message.content


def test_the_sdk_raises_its_errors_for_bedrocks_answers(client: AI21BedrockClient) -> None:
    with pytest.raises(BadRequest, match=r"max_tokens: ensure this value is less than or equal to 4096"):
        client.chat.completions.create(model=MODEL_ID, messages=MESSAGES, max_tokens=10**6)
    with pytest.raises(AI21APIError) as caught:
        client.chat.completions.create(model="ai21.no-such-model-v1:0", messages=MESSAGES)
    assert caught.value.status_code == 404


def test_boto3_invoke_model_and_its_stream(runtime: Any) -> None:
    plain = json.loads(runtime.invoke_model(modelId=MODEL_ID, body=json.dumps(BODY))["body"].read())
    streamed = runtime.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps(BODY))
    assert streamed["contentType"] == "application/json"
    chunks = [json.loads(event["chunk"]["bytes"]) for event in streamed["body"]]
    metrics = chunks.pop()["amazon-bedrock-invocationMetrics"]
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert chunks[-1]["usage"] == plain["usage"]
    assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (
        plain["usage"]["prompt_tokens"],
        plain["usage"]["completion_tokens"],
    )


def test_the_same_conversation_answers_the_same_on_studio_and_bedrock(
    emulator: BackgroundServer, runtime: Any
) -> None:
    studio = httpx.post(
        emulator.api_host + "/chat/completions",
        json={"model": "jamba-1.5-mini", **BODY},
        headers={"Authorization": "Bearer k"},
    ).json()
    bedrock = json.loads(runtime.invoke_model(modelId=MODEL_ID, body=json.dumps(BODY))["body"].read())
    assert bedrock["choices"] == studio["choices"] and bedrock["usage"] == studio["usage"]


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (403, "AccessDeniedException"),
        (408, "ModelTimeoutException"),
        (424, "ModelErrorException"),
        (429, "ThrottlingException"),
        (500, "InternalServerException"),
        (503, "ServiceUnavailableException"),
        (422, "ValidationException"),
    ],
)
def test_a_scripted_error_is_boto3s_own_error_class(
    runtime: Any, scripted: JambaEmulator, status: int, error_class: str
) -> None:
    scripted.error(status, "scripted failure")
    with pytest.raises(getattr(runtime.exceptions, error_class)) as caught:
        runtime.invoke_model(modelId=MODEL_ID, body=json.dumps(BODY))
    assert caught.value.response["Error"]["Message"] == "scripted failure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == (400 if status == 422 else status)


def test_an_unknown_model_id_is_resource_not_found_and_an_invalid_body_a_validation_error(
    runtime: Any,
) -> None:
    with pytest.raises(runtime.exceptions.ResourceNotFoundException, match=r"ai21\.jamba-9-v1:0"):
        runtime.invoke_model(modelId="ai21.jamba-9-v1:0", body=json.dumps(BODY))
    with pytest.raises(runtime.exceptions.ValidationException) as caught:
        runtime.invoke_model(modelId=MODEL_ID, body=json.dumps({"messages": [], "temperature": 9}))
    message = caught.value.response["Error"]["Message"]
    assert (
        message.startswith("2 validation errors detected: body.messages:") and "body.temperature" in message
    )


def test_a_stream_with_a_malformed_event_fails_in_botocores_decoder(
    runtime: Any, scripted: JambaEmulator
) -> None:
    scripted.fault("malformed_chunk", after_events=2)
    streamed = runtime.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps(BODY))
    with pytest.raises(botocore.eventstream.ChecksumMismatch):
        list(streamed["body"])


def test_only_configured_access_keys_are_accepted_when_keys_are_given() -> None:
    with BackgroundServer(Config(port=0, api_keys=("AKIDALLOWED",))) as server:
        for key, accepted in (("AKIDOTHER", False), ("AKIDALLOWED", True)):
            session = boto3.session.Session(
                aws_access_key_id=key, aws_secret_access_key="s", region_name="us-east-1"
            )
            with contextlib.closing(session.client("bedrock-runtime", endpoint_url=server.url)) as runtime:
                if accepted:
                    answer = runtime.invoke_model(modelId=MODEL_ID, body=json.dumps(BODY))
                    assert json.loads(answer["body"].read())
                    continue
                with pytest.raises(botocore.exceptions.ClientError) as caught:
                    runtime.invoke_model(modelId=MODEL_ID, body=json.dumps(BODY))
            assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_rule_can_name_its_surface_and_the_journal_names_each(
    emulator: BackgroundServer, runtime: Any, scripted: JambaEmulator
) -> None:
    scripted.reply("Only on Bedrock.", match={"surface": "bedrock"})
    bedrock = json.loads(runtime.invoke_model(modelId=MODEL_ID, body=json.dumps(BODY))["body"].read())
    studio = httpx.post(
        emulator.api_host + "/chat/completions",
        json={"model": "jamba-1.5-mini", **BODY},
        headers={"Authorization": "Bearer k"},
    ).json()
    assert bedrock["choices"][0]["message"]["content"] == "Only on Bedrock."
    assert studio["choices"][0]["message"]["content"] != "Only on Bedrock."
    assert emulator.core is not None
    surfaces = [entry.surface for entry in emulator.core.journal.entries()[-2:]]
    assert surfaces == ["bedrock", "studio"]
    assert [entry.rule for entry in emulator.core.journal.entries(surface="bedrock")][-1] is not None


def test_a_stream_cut_short_by_the_server_stopping_ends_with_an_exception_event() -> None:
    """A paced Bedrock stream when the server stops: the event stream's own error event goes out
    before the connection closes, so boto3 raises its EventStreamError naming it (as it does for a
    real Bedrock stream that fails), not a bare end of stream."""
    server = BackgroundServer(Config(port=0))
    server.start()
    assert server.core is not None
    JambaEmulator(server.url, server.core).reply("slow words " * 20, timing={"token_ms": 300})
    session = boto3.session.Session(
        aws_access_key_id="AKIDSTOP", aws_secret_access_key="s", region_name="us-east-1"
    )
    runtime = session.client("bedrock-runtime", endpoint_url=server.url)
    events = runtime.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps(BODY))["body"]
    first = next(iter(events))
    assert "chunk" in first
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    with pytest.raises(botocore.exceptions.EventStreamError) as caught:
        list(events)
    stopper.join(timeout=10)
    events.close()
    runtime.close()
    assert caught.value.response["Error"]["Code"] == "serviceUnavailableException"


def test_model_restricts_bedrock_ids_as_it_restricts_catalog_names() -> None:
    """`--model jamba-1.5-large`: its Bedrock id answers, jamba-1.5-mini's is not found."""
    with BackgroundServer(Config(port=0, models=("jamba-1.5-large",))) as server:
        session = boto3.session.Session(
            aws_access_key_id="AKIDM", aws_secret_access_key="s", region_name="us-east-1"
        )
        runtime = session.client("bedrock-runtime", endpoint_url=server.url)
        assert runtime.invoke_model(modelId="ai21.jamba-1-5-large-v1:0", body=json.dumps(BODY))["body"].read()
        with pytest.raises(runtime.exceptions.ResourceNotFoundException):
            runtime.invoke_model(modelId=MODEL_ID, body=json.dumps(BODY))
        runtime.close()
