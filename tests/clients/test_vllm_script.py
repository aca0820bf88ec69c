"""What the emulator does beyond the model, on the vllm surface, through the openai client:
scripted replies and tool calls, a rule that names the surface, scripted errors and the rate
limit in vLLM's error shape (and the client's retry on them), a stream cut by the server
stopping (vLLM's in-band error event), scopes and the journal."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator

pytestmark = pytest.mark.clients

MINI_15 = "ai21labs/AI21-Jamba-1.5-Mini"
ASK = [{"role": "user", "content": "Where is my order?"}]


@pytest.fixture(scope="module", params=["0.8.5.post1", "0.11.0"])
def server(request: pytest.FixtureRequest) -> Iterator[BackgroundServer]:
    config = Config(port=0, log_level="error", vllm_version=request.param, rate_limit=((3, 3600.0),))
    with BackgroundServer(config) as running:
        yield running


@pytest.fixture
def double(server: BackgroundServer) -> Iterator[JambaEmulator]:
    assert server.core is not None
    made = JambaEmulator(server.url, server.core)
    yield made
    made.reset()
    server.core.reset()


def client(server: BackgroundServer, **options: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="EMPTY", **options)  # type: ignore[arg-type]


def test_a_scripted_reply_and_a_rule_that_names_the_surface(
    server: BackgroundServer, double: JambaEmulator
) -> None:
    double.reply("Only on Studio.", match={"surface": "studio"})
    double.reply("Shipped yesterday.", match={"surface": "vllm", "model": "jamba-1.5-mini"})
    with client(server, max_retries=0) as openai_client:
        answer = openai_client.chat.completions.create(model=MINI_15, messages=ASK)
        streamed = openai_client.chat.completions.create(model=MINI_15, messages=ASK, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
    assert answer.choices[0].message.content == text == "Shipped yesterday."
    assert [(entry.surface, entry.status, entry.rule) for entry in double.requests] == [
        ("vllm", 200, "rule 2"),
        ("vllm", 200, "rule 2"),
    ]


def test_a_scripted_tool_call_comes_out_as_the_jamba_parser_writes_it(
    server: BackgroundServer, double: JambaEmulator
) -> None:
    double.tool_call("track_order", {"order_id": "A-17", "note": "caf\u00e9"})
    with client(server, max_retries=0) as openai_client:
        answer = openai_client.chat.completions.create(model=MINI_15, messages=ASK)
    (call,) = answer.choices[0].message.tool_calls or []
    assert answer.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.function.arguments) == {"order_id": "A-17", "note": "caf\u00e9"}
    escaped = server.core.admission.served.line == "0.8"  # type: ignore[union-attr]
    assert ("\\u00e9" in call.function.arguments) is escaped  # 0.8's json.dumps escapes non-ASCII


def test_a_scripted_503_is_vllm_shaped_and_the_client_retries_past_it(
    server: BackgroundServer, double: JambaEmulator
) -> None:
    double.sequence({"error": {"status": 503}}, {"content": "Back again."})
    raw = httpx.post(server.url + "/v1/chat/completions", json={"model": MINI_15, "messages": ASK})
    assert raw.status_code == 503
    body = raw.json()
    inner = body if server.core.admission.served.line == "0.8" else body["error"]  # type: ignore[union-attr]
    assert inner["type"] == "ServiceUnavailableError" and inner["code"] == 503
    with client(server, max_retries=2) as openai_client:
        answer = openai_client.chat.completions.create(model=MINI_15, messages=ASK)
    assert answer.choices[0].message.content == "Back again."


def test_the_rate_limit_answers_429_with_retry_after_in_vllm_s_shape(server: BackgroundServer) -> None:
    assert server.core is not None
    server.core.reset()
    key = {"Authorization": "Bearer EMPTY"}  # the limit counts per key: the client's below
    body = {"model": MINI_15, "messages": ASK}
    answers = [httpx.post(server.url + "/v1/chat/completions", json=body, headers=key) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    refused = answers[-1].json()
    inner = refused if server.core.admission.served.line == "0.8" else refused["error"]
    assert inner["type"] == "RateLimitError" and "rate limit" in inner["message"]
    with client(server, max_retries=0) as openai_client, pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model=MINI_15, messages=ASK)
    server.core.reset()


@pytest.mark.parametrize(("version", "flat"), [("0.8.5.post1", True), ("0.11.0", False)])
def test_a_stream_the_stopping_server_cuts_ends_with_vllm_s_error_event(
    tmp_path: Path, version: str, flat: bool
) -> None:
    """vLLM reports an error met while streaming in-band: `data: {"error": ...}` (json.dumps, with
    spaces), then [DONE]. The emulator's paced stream, cut by its shutdown, ends the same way."""
    rules = {"rules": [{"reply": {"content": "one two three four five six", "timing": {"token_ms": 300}}}]}
    path = tmp_path / "paced.json"
    path.write_text(json.dumps(rules))
    server = BackgroundServer(Config(port=0, vllm_version=version, fixtures=(str(path),)))
    server.start()
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    body = json.dumps({"model": MINI_15, "messages": ASK, "stream": True}).encode()
    sock.sendall(
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    received = bytearray()
    reader = threading.Thread(target=lambda: _read_all(sock, received))
    reader.start()
    time.sleep(0.5)
    server.stop()
    reader.join(timeout=10)
    sock.close()
    events = [
        event for event in bytes(received).split(b"\r\n\r\n", 1)[1].split(b"\n\n") if b"data: " in event
    ]
    assert events[-1].endswith(b"data: [DONE]")
    error_event = next(event for event in events if b'"error"' in event)
    assert b'{"error": {' in error_event  # json.dumps' spacing, as vLLM writes it
    error = json.loads(error_event[error_event.index(b"{") :])["error"]
    assert (error.get("object") == "error") is flat and error["code"] == 503


def _read_all(sock: socket.socket, into: bytearray) -> None:
    while chunk := sock.recv(65536):
        into.extend(chunk)


def test_scopes_keep_each_test_s_rules_and_journal_apart(
    server: BackgroundServer, double: JambaEmulator
) -> None:
    assert server.core is not None
    mine = JambaEmulator(server.url, server.core, scope="test-a")
    mine.reply("Scoped.")
    with client(server, max_retries=0, default_headers={"X-Emulator-Test-Id": "test-a"}) as scoped:
        assert (
            scoped.chat.completions.create(model=MINI_15, messages=ASK).choices[0].message.content
            == "Scoped."
        )
    with client(server, max_retries=0) as unscoped:
        assert (
            unscoped.chat.completions.create(model=MINI_15, messages=ASK).choices[0].message.content
            != "Scoped."
        )
    assert [entry.scope for entry in mine.requests] == ["test-a"]
    mine.reset()
