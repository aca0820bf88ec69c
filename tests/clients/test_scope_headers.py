"""Each client sends the test-scope header the way the README says, and so sees only its scope's
rules: the ai21 SDK's `headers`, the OpenAI client's `default_headers`, a boto3 event hook (on
Converse, whose toolResult blocks the conversation rules read too), and curl."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import boto3
import botocore.config
import httpx
import pytest
from ai21 import AI21Client
from ai21.models.chat import ChatMessage
from jamba_emulator.script.scope import SCOPE_HEADER
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator
from openai import OpenAI

pytestmark = [pytest.mark.clients, pytest.mark.usefixtures("fake_aws")]


@pytest.fixture
def scopes(emulator: BackgroundServer) -> Any:
    assert emulator.core is not None
    made = {name: JambaEmulator(emulator.url, emulator.core, scope=name) for name in ("one", "two")}
    for name, double in made.items():
        double.reply(f"scope {name}")
    yield made
    for double in made.values():
        double.reset()


def test_the_ai21_sdk_sends_it_as_headers(
    emulator: BackgroundServer, scopes: Any, http: httpx.Client
) -> None:
    for name, double in scopes.items():
        client = AI21Client(api_key="k", api_host=emulator.api_host, headers=double.headers, http_client=http)
        answer = client.chat.completions.create(
            model="jamba-instruct-preview", messages=[ChatMessage(role="user", content="hi")]
        )
        assert answer.choices[0].message.content == f"scope {name}"
        assert [entry.scope for entry in double.requests] == [name]


def test_the_openai_client_sends_it_as_default_headers(emulator: BackgroundServer, scopes: Any) -> None:
    with OpenAI(base_url=emulator.api_host, api_key="k", default_headers=scopes["two"].headers) as client:
        answer = client.chat.completions.create(
            model="jamba-instruct-preview", messages=[{"role": "user", "content": "hi"}]
        )
    assert answer.choices[0].message.content == "scope two"


def test_boto3_sends_it_from_an_event_hook_and_a_converse_tool_result_matches(
    emulator: BackgroundServer, scopes: Any
) -> None:
    test_id = "one"
    scopes["one"].reply(
        "from the result", match={"last_role": "tool", "tool_result": {"contains": "shipped"}}
    )
    runtime = boto3.client(
        "bedrock-runtime",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )
    runtime.meta.events.register(
        "before-sign.bedrock-runtime.*",
        lambda request, **_: request.headers.__setitem__(SCOPE_HEADER, test_id),
    )
    asked = [{"role": "user", "content": [{"text": "hi"}]}]
    answer = runtime.converse(modelId="ai21.jamba-1-5-large-v1:0", messages=asked)
    assert answer["output"]["message"]["content"][0]["text"] == "scope one"
    messages = [
        *asked,
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "shipped"}]}}]},
    ]
    tools = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]}
    answer = runtime.converse(modelId="ai21.jamba-1-5-large-v1:0", messages=messages, toolConfig=tools)
    assert answer["output"]["message"]["content"][0]["text"] == "scope one"  # its first rule still fits
    scopes["one"].core.script.remove("rule 1", "one")
    answer = runtime.converse(modelId="ai21.jamba-1-5-large-v1:0", messages=messages, toolConfig=tools)
    assert answer["output"]["message"]["content"][0]["text"] == "from the result"
    runtime.close()
    assert {entry.scope for entry in scopes["one"].requests} == {"one"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_sends_it_with_dash_h(emulator: BackgroundServer, scopes: Any) -> None:
    out = subprocess.run(
        ["curl", "-s", emulator.api_host + "/chat/completions", "-H", "Authorization: Bearer k",
         "-H", f"{SCOPE_HEADER}: two", "-H", "Content-Type: application/json",
         "-d", '{"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "hi"}]}'],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    assert '"scope two"' in out
