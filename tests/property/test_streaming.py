"""Streams for any valid request: framing exactly as the real service's, the same answer as without
streaming, and a client that hangs up at any point leaves the server healthy."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

from hypothesis import example, given
from hypothesis import strategies as st
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH

from tests.property.conftest import Api
from tests.strategies import CONTRACT, valid_requests
from tests.support import AUTH, MODEL, sse_payloads

CHUNK = CONTRACT.validator("chat-chunk.schema.json")


def streaming(body: dict[str, Any]) -> dict[str, Any]:
    """The request as a stream (the schema allows only one choice when streaming)."""
    return {**{key: value for key, value in body.items() if key != "n"}, "stream": True}


def parse_stream(raw: str) -> list[dict[str, Any]]:
    """The JSON chunks of a stream, checking the framing real clients insist on."""
    payloads = sse_payloads(raw)
    assert payloads[-1] == "[DONE]", "the stream must end with data: [DONE]"
    assert "[DONE]" not in payloads[:-1]
    return [json.loads(payload) for payload in payloads[:-1]]


@given(valid_requests())
def test_a_stream_is_framed_as_the_contract_says_and_joins_into_the_plain_answer(
    api: Api, body: dict[str, Any]
) -> None:
    body = streaming(body)
    response = api.post(body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = parse_stream(response.text)
    for chunk in chunks:
        assert not list(CHUNK.iter_errors(chunk)), chunk
        assert chunk["choices"], "every chunk, the last included, has a non-empty choices list"
    assert len({chunk["id"] for chunk in chunks}) == 1, "one id for the whole stream"
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}, "role comes first"
    assert [("usage" in chunk) for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
    reasons = [chunk["choices"][0]["finish_reason"] for chunk in chunks]
    assert reasons[:-1] == [None] * (len(chunks) - 1)
    pieces = [chunk["choices"][0]["delta"].get("content", "") for chunk in chunks]
    plain = api.post({**body, "stream": False}).json()
    assert "".join(pieces) == plain["choices"][0]["message"]["content"]
    assert reasons[-1] == plain["choices"][0]["finish_reason"]
    assert chunks[-1]["usage"] == plain["usage"]
    # One token per event: the content events are exactly the counted completion tokens.
    assert sum(1 for piece in pieces[1:-1] if piece) == plain["usage"]["completion_tokens"]


def raw_request(body: dict[str, Any], host: str) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {API_PATH} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Authorization: {AUTH['Authorization']}\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


@given(
    body=valid_requests(),
    read=st.integers(0, 4000),
    reset=st.booleans(),
)
# Found by the long fuzzing run: a reset before the stream's headers went out was a logged 500.
@example(body={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}, read=0, reset=True)
def test_a_client_that_hangs_up_mid_stream_leaves_the_server_healthy(
    api: Api, body: dict[str, Any], read: int, reset: bool
) -> None:
    address = urlsplit(api.server.url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(raw_request({**streaming(body), "max_tokens": None}, address.netloc))
        received = b""
        while len(received) < read and (data := sock.recv(read - len(received))):
            received += data
        if reset:  # hang up with a TCP reset rather than an orderly close
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert api.healthy()
    assert api.unexpected_errors() == []
