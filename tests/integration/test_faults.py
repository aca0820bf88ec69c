"""Faults through the server: dropped connections, malformed chunks, stalls, the seeded global fault
rate and the per-key rate limit. Each leaves the server healthy, logs no unexpected error, and is
named in the journal."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.web
import httpx
import pytest
from jamba_emulator.config import Config
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH
from jamba_emulator.server import BackgroundServer

from tests.support import AUTH, chat, post, sse_payloads


@pytest.fixture(autouse=True)
def no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> Any:
    yield
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert not errors, [r.getMessage() for r in errors]


async def journal(client: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await (await client.get("/_emulator/journal")).json())["entries"]
    return entries


async def still_serves(client: Any) -> None:
    status, body, _ = await post(client, chat("Are you still there?"))
    assert status == 200
    assert body["choices"][0]["message"]["content"]


@pytest.mark.parametrize("stream", [False, True])
async def test_drop_before_response_closes_without_a_byte(scripted: Any, stream: bool) -> None:
    client = await scripted({"reply": {"fault": {"kind": "drop_before_response"}}, "times": 1})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post(API_PATH, json=chat(stream=stream), headers=AUTH)
    await still_serves(client)
    first, second = await journal(client)
    assert (first["status"], first["fault"]) == (None, "drop_before_response")
    assert first["rule"].endswith("#1")
    assert (second["status"], second["fault"]) == (200, None)


async def test_drop_mid_stream_sends_the_first_events_then_closes(scripted: Any) -> None:
    client = await scripted(
        {
            "reply": {
                "content": "one two three four five six",
                "fault": {"kind": "drop_mid_stream", "after_events": 3},
            },
            "times": 1,
        }
    )
    response = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
    assert response.status == 200
    received = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        await read_into(response, received)
    payloads = sse_payloads(bytes(received).decode())
    assert len(payloads) == 3, "the role chunk and two content chunks, then the connection ends"
    assert [json.loads(p)["choices"][0]["delta"].get("content") for p in payloads] == [None, "one", " two"]
    await still_serves(client)
    assert (await journal(client))[0]["fault"] == "drop_mid_stream"


async def read_into(response: aiohttp.ClientResponse, received: bytearray) -> None:
    async for piece in response.content.iter_any():
        received.extend(piece)


async def test_drop_mid_stream_of_a_plain_answer_cuts_its_body(scripted: Any) -> None:
    client = await scripted({"reply": {"fault": {"kind": "drop_mid_stream"}}})
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert response.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    await still_serves_unscripted(client)


async def still_serves_unscripted(client: Any) -> None:
    await client.delete("/_emulator/rules")
    await still_serves(client)


async def test_a_malformed_chunk_is_one_event_of_half_its_json(scripted: Any) -> None:
    client = await scripted(
        {"reply": {"content": "alpha beta gamma", "fault": {"kind": "malformed_chunk", "after_events": 2}}}
    )
    response = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
    payloads = sse_payloads(await response.text())
    assert payloads[-1] == "[DONE]", "the stream carries on after the bad event"
    bad = payloads[2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad)
    good = [json.loads(p) for i, p in enumerate(payloads[:-1]) if i != 2]
    assert [c["choices"][0]["delta"].get("content") for c in good[:2]] == [None, "alpha"]
    assert bad.startswith('{"id":"chatcmpl-'), "half of the real chunk, not noise"


async def test_a_malformed_plain_answer_is_its_body_cut_in_half(scripted: Any) -> None:
    client = await scripted(
        {"reply": {"content": "alpha beta gamma"}, "times": 1},
        {"reply": {"content": "alpha beta gamma", "fault": {"kind": "malformed_chunk"}}},
    )
    whole = await (await client.post(API_PATH, json=chat(), headers=AUTH)).read()
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    cut = await response.read()
    assert response.status == 200
    assert len(cut) == len(whole) // 2, "the same answer (its id aside), cut in half"
    assert cut.startswith(b'{"id":"chatcmpl-') and whole.startswith(cut[:16])
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut)


async def test_a_timed_stall_pauses_then_the_stream_completes(scripted: Any) -> None:
    client = await scripted(
        {
            "reply": {
                "content": "slow and steady",
                "fault": {"kind": "stall", "after_events": 2, "stall_ms": 300},
            }
        }
    )
    started = time.perf_counter()
    response = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
    payloads = sse_payloads(await response.text())
    assert time.perf_counter() - started >= 0.3
    content = "".join(json.loads(p)["choices"][0]["delta"].get("content", "") for p in payloads[:-1])
    assert (content, payloads[-1]) == ("slow and steady", "[DONE]")


async def give_up_on_a_stall(url: str, seconds: float = 0.3) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=seconds)) as session:
        response = await session.post(url, json=chat(stream=True), headers=AUTH)
        assert response.status == 200, "the headers and the first events come before the stall"
        with pytest.raises(asyncio.TimeoutError):
            await response.read()
    # leaving the session hangs up


async def test_an_endless_stall_ends_when_the_client_gives_up(tmp_path: Path) -> None:
    path = tmp_path / "stall.json"
    path.write_text(json.dumps({"rules": [{"reply": {"fault": {"kind": "stall"}}, "times": 1}]}))
    with BackgroundServer(Config(port=0, fixtures=(str(path),))) as server:  # aiohttp's own runner
        await give_up_on_a_stall(server.url + API_PATH)
        assert server.core is not None
        for _ in range(100):  # the stalled handler notices the client left, and is journaled
            stalled = server.core.journal.entries()
            if stalled:
                break
            await asyncio.sleep(0.05)
        assert [(e.status, e.fault) for e in stalled] == [(200, "stall")]


async def test_a_request_cancelled_when_its_client_leaves_is_still_journaled(scripted: Any) -> None:
    """aiohttp's test server (and `handler_cancellation=True`) cancels the handler instead."""
    client = await scripted({"reply": {"fault": {"kind": "stall"}}, "times": 1})
    await give_up_on_a_stall(str(client.make_url(API_PATH)))
    await still_serves(client)
    entries = await journal(client)
    assert [(e["status"], e["fault"]) for e in entries] == [(None, "stall"), (200, None)]
    assert entries[0]["body"]["stream"] is True


def test_stopping_the_server_ends_an_endless_stall(tmp_path: Path) -> None:
    """aiohttp waits up to 60 s for running handlers at shutdown; a stall must not hold it."""
    path = tmp_path / "stall.json"
    path.write_text(json.dumps({"rules": [{"reply": {"fault": {"kind": "stall"}}}]}))
    server = BackgroundServer(Config(port=0, fixtures=(str(path),)))
    server.start()
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    body = json.dumps(chat(stream=True)).encode()
    sock.sendall(
        f"POST {API_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    received = bytearray()
    reader = threading.Thread(target=lambda: _read_all(sock, received))
    reader.start()
    time.sleep(0.2)
    started = time.perf_counter()
    server.stop()
    stop_took = time.perf_counter() - started
    reader.join(timeout=10)
    sock.close()
    assert not reader.is_alive(), "the stalled connection was closed by the shutdown"
    assert b"200 OK" in bytes(received) and b"[DONE]" not in bytes(received)
    assert stop_took < 10, f"stop took {stop_took:.1f} s: the stall held the shutdown"


def _read_all(sock: socket.socket, into: bytearray) -> None:
    while chunk := sock.recv(65536):
        into.extend(chunk)


async def test_the_global_fault_rate_is_seeded_and_restarts_on_reset(make_client: Any) -> None:
    async def statuses(client: Any) -> list[int]:
        return [(await client.post(API_PATH, json=chat(), headers=AUTH)).status for _ in range(24)]

    config = {"fault_rate": 0.5, "faults": ("500", "503"), "seed": 7}
    client = await make_client(**config)
    first = await statuses(client)
    assert set(first) == {200, 500, 503}
    assert first == await statuses(await make_client(**config)), "same seed, same faults"
    await client.post("/_emulator/reset")
    assert await statuses(client) == first, "reset restarts the sequence"
    entries = await journal(client)
    assert [e["fault"] for e in entries] == [None if s == 200 else str(s) for s in first]
    assert await statuses(await make_client(**{**config, "seed": 8})) != first


async def test_global_faults_carry_retry_after_and_spare_scripted_answers(scripted: Any) -> None:
    client = await scripted(
        {"match": {"last_user": {"equals": "scripted"}}, "reply": {"content": "as scripted"}},
        fault_rate=1.0,
        faults=("429",),
    )
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert (response.status, response.headers["Retry-After"]) == (429, "1")
    assert await response.json() == {"detail": "Too Many Requests (You are sending requests too quickly.)"}
    status, body, _ = await post(client, chat("scripted"))
    assert (status, body["choices"][0]["message"]["content"]) == (200, "as scripted")


async def test_a_global_transport_fault(make_client: Any) -> None:
    client = await make_client(fault_rate=1.0, faults=("drop_before_response",))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post(API_PATH, json=chat(), headers=AUTH)
    assert (await journal(client))[0]["fault"] == "drop_before_response"


async def test_the_rate_limit_is_per_key_and_says_when_to_retry(make_client: Any) -> None:
    client = await make_client(rate_limit=((2, 1.0), (60, 60.0)))
    statuses = [(await client.post(API_PATH, json=chat(), headers=AUTH)).status for _ in range(2)]
    limited = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert [*statuses, limited.status] == [200, 200, 429]
    assert limited.headers["Retry-After"] == "1"
    detail = (await limited.json())["detail"]
    assert "2/s, 60/min" in detail and "retry after 1 s" in detail
    other = {"Authorization": "Bearer another-key"}
    assert (await client.post(API_PATH, json=chat(), headers=other)).status == 200
    await client.post("/_emulator/reset")
    assert (await client.post(API_PATH, json=chat(), headers=AUTH)).status == 200, "reset empties windows"


async def test_the_rate_limit_is_off_by_default(client: Any) -> None:
    statuses = [(await client.post(API_PATH, json=chat(), headers=AUTH)).status for _ in range(10)]
    assert statuses == [200] * 10


async def test_unmatched_error_names_the_closest_rules_and_why(scripted: Any) -> None:
    client = await scripted(
        {"name": "refunds", "match": {"last_user": {"contains": "refund"}}, "reply": {"content": "ok"}},
        {
            "name": "large",
            "match": {"model": "jamba-large", "headers": {"X-Tenant": "acme"}},
            "reply": {"content": "ok"},
        },
        {"name": "once", "reply": {"content": "ok"}, "times": 1, "match": {"params": {"stream": False}}},
        unmatched="error",
    )
    status, body, _ = await post(client, chat("Where is my order?"))
    assert status == 200 and body["choices"][0]["message"]["content"] == "ok"  # "once" answers
    response = await client.post(API_PATH, json=chat("Where is my order?"), headers=AUTH)
    assert response.status == 404
    assert response.headers["X-Emulator-Unmatched"] == "true"
    detail = (await response.json())["detail"]
    assert detail.splitlines() == [
        "No scripted rule matches this request (the emulator runs with --unmatched error).",
        "Closest rules:",
        "- refunds: the last user message does not contain 'refund'",
        "- once: used up (answered 1 time)",
        "- large: model is 'jamba-instruct-preview', the rule wants 'jamba-large'; "
        "header x-tenant not sent, the rule wants 'acme'",
    ]


async def test_unmatched_error_without_rules_says_how_to_add_some(make_client: Any) -> None:
    client = await make_client(unmatched="error")
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert response.status == 404
    assert "--fixtures or POST /_emulator/rules" in (await response.json())["detail"]


@pytest.mark.parametrize("fault", [None, {"kind": "drop_mid_stream"}])
def test_a_stream_is_journaled_before_its_client_sees_it_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: dict[str, Any] | None
) -> None:
    """A test reads the journal as soon as its client has the last event (the SDKs stop at
    [DONE]), while the server may not have finished the handler: the entry must be there."""
    slow_end = threading.Event()
    write_eof = aiohttp.web.StreamResponse.write_eof

    async def late_write_eof(self: Any, data: bytes = b"") -> None:
        await asyncio.sleep(0.5)  # the handler ends well after the client saw [DONE]
        slow_end.set()
        await write_eof(self, data)

    monkeypatch.setattr(aiohttp.web.StreamResponse, "write_eof", late_write_eof)
    path = tmp_path / "rules.json"
    reply = {"content": "the end"} | ({"fault": fault} if fault else {})
    path.write_text(json.dumps({"rules": [{"reply": reply}]}))
    with BackgroundServer(Config(port=0, fixtures=(str(path),))) as server:
        assert server.core is not None
        received = b""
        try:
            with httpx.stream("POST", server.api_host + "/chat/completions", json=chat(stream=True),
                              headers=AUTH) as response:  # fmt: skip
                for piece in response.iter_bytes():
                    received += piece
                    if b"[DONE]" in received:
                        break
        except httpx.RemoteProtocolError:
            assert fault, "only the dropped stream ends early"
        entries = server.core.journal.entries()
        assert not slow_end.is_set() or fault, "the check ran before the handler ended"
        assert [(e.status, e.fault) for e in entries] == [(200, fault["kind"] if fault else None)]
