"""Bad input gets a clear 4xx JSON error, never a 500, and the server keeps serving."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import urllib.request
from typing import Any

import pytest
from jamba_emulator.http.completions import CORE
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH
from jamba_emulator.server import BackgroundServer

from tests.support import AUTH, chat, post

MALFORMED = {
    "empty": (b"", 422),
    "truncated": (b'{"model": "jamba-instruct-preview", "messages": [{"role": "us', 422),
    "bad UTF-8": (b'{"model": "jamba-instruct-preview\xc3\x28", "messages": []}', 422),
    "lone surrogate escape": (json.dumps(chat("\ud800 broken")).encode(), 200),
    "deeply nested": (b'{"model": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 422),
    "deeply nested, within the parser's limit": (
        json.dumps(chat(extra=[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]])).encode(),
        200,
    ),
    "JSON array": (b"[1, 2, 3]", 422),
    "JSON null": (b"null", 422),
    "20 MiB": (b'{"model": "' + b"x" * (20 * 1024 * 1024) + b'"}', 413),
    "binary noise": (bytes(range(256)) * 64, 422),
}


async def assert_still_serving(client: Any) -> None:
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert response.status == 200
    assert (await response.json())["choices"]


@pytest.mark.parametrize("name", MALFORMED)
async def test_malformed_body_gets_a_json_error_and_server_survives(client: Any, name: str) -> None:
    raw, status = MALFORMED[name]
    response = await client.post(API_PATH, data=io.BytesIO(raw), headers=AUTH)
    assert response.status == status
    body = await response.json()
    assert "detail" in body if status != 200 else body["choices"]
    if status == 422:
        assert isinstance(body["detail"], list)
        assert body["detail"][0]["loc"][0] == "body"
    await assert_still_serving(client)


async def test_oversized_body_without_content_length_gets_413(make_client: Any) -> None:
    client = await make_client(max_body_size=64 * 1024)

    async def chunks() -> Any:
        for _ in range(32):
            yield b"x" * 8192

    response = await client.post(API_PATH, data=chunks(), headers=AUTH)
    assert response.status == 413
    assert "max-body-size" in (await response.json())["detail"]
    await assert_still_serving(client)


async def test_client_disconnecting_mid_stream_leaves_server_healthy(client: Any) -> None:
    for _ in range(5):
        response = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
        await response.content.readline()  # first event, then hang up
        response.close()
    await asyncio.sleep(0.05)
    await assert_still_serving(client)


HUGE_ARGUMENTS = {
    "a billion characters": {"type": "string", "minLength": 1_000_000_000},
    "a million items": {"type": "array", "minItems": 1_000_000, "items": {"type": "string"}},
    "a billion items, nested": {
        "type": "array",
        "minItems": 1000,
        "items": {"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000}},
    },
}


@pytest.mark.parametrize("schema", HUGE_ARGUMENTS.values(), ids=list(HUGE_ARGUMENTS))
async def test_a_tool_whose_arguments_would_be_huge_is_passed_over(client: Any, schema: Any) -> None:
    """A small request must not make the server write gigabytes: the tool passes its turn and
    the answer is text (structured.SIZE_LIMIT), at once."""
    tool = {
        "type": "function",
        "function": {
            "name": "f",
            "parameters": {"type": "object", "properties": {"x": schema}, "required": ["x"]},
        },
    }
    body = {**chat(), "model": "jamba-mini", "tools": [tool]}
    status, payload, _ = await asyncio.wait_for(post(client, body), timeout=10)
    assert status == 200
    assert payload["choices"][0]["finish_reason"] == "stop"
    assert payload["choices"][0]["message"]["content"]
    small = {
        **body,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {
                        "type": "object",
                        "properties": {"x": {"type": "string", "minLength": 60_000}},
                        "required": ["x"],
                    },
                },
            }
        ],
    }
    _, called, _ = await post(client, small)
    assert called["choices"][0]["finish_reason"] == "tool_calls", "below the limit, the call is made"


async def test_many_unknown_fields_make_a_bounded_safe_header(client: Any) -> None:
    body = chat(**{f"field\n{i}\u00e9": i for i in range(100)})
    response = await client.post(API_PATH, json=body, headers=AUTH)
    assert response.status == 200
    header = response.headers["X-Emulator-Ignored-Fields"]
    assert header.isascii() and "\n" not in header
    assert header.endswith("(80 more)")


async def test_an_unexpected_failure_is_a_json_500_and_the_server_survives(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = client.server.app[CORE].generator
    original = generator.complete

    def fail_once(request: Any, budget: Any = None) -> Any:
        monkeypatch.setattr(generator, "complete", original)
        raise RuntimeError("boom")

    monkeypatch.setattr(generator, "complete", fail_once)
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert (response.status, await response.json()) == (500, {"detail": "Internal Server Error"})
    await assert_still_serving(client)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        # Found by schemathesis (ST105): a query string over aiohttp's 8 KiB line limit was a
        # text/plain 400 from the HTTP parser, before any middleware.
        (b"GET /_emulator/journal?path=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"POST /studio/v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 400),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
    ],
    ids=["request line too long", "header too long", "not HTTP"],
)
def test_requests_the_http_parser_rejects_still_get_json(raw: bytes, status: int) -> None:
    with BackgroundServer() as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[0].split(b" ")[1] == str(status).encode(), head
        assert b"Content-Type: application/json" in head, head
        assert json.loads(body) == {"detail": "Bad Request"}
        with urllib.request.urlopen(server.url + "/_emulator/health", timeout=10) as health:
            assert health.status == 200
