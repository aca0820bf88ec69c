"""Bedrock's Converse for the Jamba models, through boto3's `converse` and `converse_stream`
unmodified (fake credentials, `endpoint_url` pointed at the emulator): plain and streamed answers,
a tool-calling round trip, stop reasons, and each error as boto3's own class."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import httpx
import pytest
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator

MODEL_ID = "ai21.jamba-1-5-large-v1:0"
ASKED = [{"role": "user", "content": [{"text": "Tell me something I don't know"}]}]
ORDER_SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "lookup_order",
                "description": "Look up an order",
                "inputSchema": {"json": ORDER_SCHEMA},
            }
        }
    ]
}

pytestmark = [pytest.mark.clients, pytest.mark.usefixtures("fake_aws")]
ONCE = botocore.config.Config(retries={"total_max_attempts": 1})


@pytest.fixture
def runtime(emulator: BackgroundServer) -> Iterator[Any]:
    # One attempt: botocore would retry a scripted 429, 500 or 503 with back-off, as against Bedrock.
    client = boto3.client("bedrock-runtime", endpoint_url=emulator.url, region_name="us-east-1", config=ONCE)
    yield client
    client.close()


def streamed(runtime: Any, **request: Any) -> tuple[list[str], dict[str, Any]]:
    """The stream's event names, and what they add up to: text, tool uses, stop reason, usage."""
    names: list[str] = []
    joined: dict[str, Any] = {"text": "", "tools": {}}
    for event in runtime.converse_stream(modelId=MODEL_ID, **request)["stream"]:
        (name, body), *_ = event.items()
        names.append(name)
        if name == "contentBlockStart":
            joined["tools"][body["contentBlockIndex"]] = {**body["start"]["toolUse"], "input": ""}
        elif name == "contentBlockDelta":
            delta = body["delta"]
            if "text" in delta:
                joined["text"] += delta["text"]
            else:
                joined["tools"][body["contentBlockIndex"]]["input"] += delta["toolUse"]["input"]
        elif name == "messageStop":
            joined["stopReason"] = body["stopReason"]
        elif name == "metadata":
            joined["usage"] = body["usage"]
    return names, joined


def test_a_plain_answer_and_its_stream_say_the_same(runtime: Any) -> None:
    request = {"messages": ASKED, "system": [{"text": "Be brief."}], "inferenceConfig": {"maxTokens": 60}}
    plain = runtime.converse(modelId=MODEL_ID, **request)
    (block,) = plain["output"]["message"]["content"]
    assert plain["output"]["message"]["role"] == "assistant" and block["text"]
    assert plain["usage"]["totalTokens"] == plain["usage"]["inputTokens"] + plain["usage"]["outputTokens"]
    assert plain["metrics"]["latencyMs"] > 0
    names, joined = streamed(runtime, **request)
    assert names[0] == "messageStart" and names[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert joined["text"] == block["text"]
    assert (joined["stopReason"], joined["usage"]) == (plain["stopReason"], plain["usage"])


def test_the_conversation_counts_as_on_studio(emulator: BackgroundServer, runtime: Any) -> None:
    """Converse's system block and text blocks are the chat request's messages: the same tokens."""
    studio = httpx.post(
        emulator.api_host + "/chat/completions",
        headers={"Authorization": "Bearer k"},
        json={
            "model": "jamba-1.5-large",
            "max_tokens": 60,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Tell me something I don't know"},
            ],
        },
    ).json()
    converse = runtime.converse(
        modelId=MODEL_ID, messages=ASKED, system=[{"text": "Be brief."}], inferenceConfig={"maxTokens": 60}
    )
    assert converse["output"]["message"]["content"][0]["text"] == studio["choices"][0]["message"]["content"]
    assert converse["usage"]["inputTokens"] == studio["usage"]["prompt_tokens"]


@pytest.mark.parametrize(
    ("config", "reason"), [({"maxTokens": 5}, "max_tokens"), ({"maxTokens": 300}, "end_turn")]
)
def test_stop_reasons_follow_the_answer(runtime: Any, config: dict[str, Any], reason: str) -> None:
    assert runtime.converse(modelId=MODEL_ID, messages=ASKED, inferenceConfig=config)["stopReason"] == reason


def test_a_stop_sequence_that_cuts_the_answer_is_the_stop_reason(runtime: Any) -> None:
    text = runtime.converse(modelId=MODEL_ID, messages=ASKED, inferenceConfig={"maxTokens": 300})["output"]
    word = text["message"]["content"][0]["text"].split()[3]
    cut = runtime.converse(
        modelId=MODEL_ID, messages=ASKED, inferenceConfig={"maxTokens": 300, "stopSequences": [word]}
    )
    assert cut["stopReason"] == "stop_sequence"
    assert word not in cut["output"]["message"]["content"][0]["text"]


def test_a_tool_round_trip(runtime: Any, emulator: BackgroundServer) -> None:
    ask = [{"role": "user", "content": [{"text": "Where is my order A-1234? Use lookup_order."}]}]
    first = runtime.converse(modelId=MODEL_ID, messages=ask, toolConfig=TOOLS)
    assert first["stopReason"] == "tool_use"
    (block,) = first["output"]["message"]["content"]
    use = block["toolUse"]
    assert use["name"] == "lookup_order" and isinstance(use["input"]["order_id"], str)
    assert use["toolUseId"].startswith("tooluse_")
    _, joined = streamed(runtime, messages=ask, toolConfig=TOOLS)
    (streamed_use,) = joined["tools"].values()
    assert json.loads(streamed_use["input"]) == use["input"] and joined["stopReason"] == "tool_use"
    result = {"toolUseId": use["toolUseId"], "content": [{"json": {"status": "shipped", "eta": "Friday"}}]}
    conversation = [*ask, first["output"]["message"], {"role": "user", "content": [{"toolResult": result}]}]
    second = runtime.converse(modelId=MODEL_ID, messages=conversation, toolConfig=TOOLS)
    assert second["stopReason"] == "end_turn"
    answer = second["output"]["message"]["content"][0]["text"]
    assert "shipped" in answer and "Friday" in answer  # grounded in the tool's result, as on Studio
    assert emulator.core is not None
    sent = emulator.core.journal.entries()[-1]
    assert sent.path == f"/model/{MODEL_ID}/converse" and sent.status == 200


def test_scripted_replies_answer_converse_too(runtime: Any, scripted: JambaEmulator) -> None:
    scripted.reply("Scripted for Converse.", match={"last_user": {"contains": "something"}}, times=1)
    answer = runtime.converse(modelId=MODEL_ID, messages=ASKED)
    assert answer["output"]["message"]["content"] == [{"text": "Scripted for Converse."}]
    scripted.error(429)
    with pytest.raises(runtime.exceptions.ThrottlingException):
        runtime.converse(modelId=MODEL_ID, messages=ASKED)


@pytest.mark.parametrize(
    ("request_", "error_class", "said"),
    [
        (
            {
                "messages": [
                    {"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": b"x"}}}]}
                ]
            },
            "ValidationException",
            "messages.0.content.0.image: extra fields not permitted",
        ),
        (
            {"messages": ASKED, "inferenceConfig": {"maxTokens": 100_000}},
            "ValidationException",
            "inferenceConfig.maxTokens",
        ),
        ({"messages": []}, "ValidationException", "messages: "),
    ],
)
def test_bad_requests_are_validation_exceptions_naming_the_field(
    runtime: Any, request_: dict[str, Any], error_class: str, said: str
) -> None:
    with pytest.raises(getattr(runtime.exceptions, error_class)) as caught:
        runtime.converse(modelId=MODEL_ID, **request_)
    assert said in caught.value.response["Error"]["Message"]


def test_an_unknown_model_is_resource_not_found(runtime: Any) -> None:
    with pytest.raises(runtime.exceptions.ResourceNotFoundException):
        runtime.converse(modelId="ai21.jamba-0-v1:0", messages=ASKED)
