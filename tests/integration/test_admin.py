"""The admin API under /_emulator: the request journal as seen over HTTP, reset, and the token."""

from __future__ import annotations

import io
from typing import Any

import pytest

from emulator.admin import TOKEN_HEADER
from emulator.app import API_PATH
from emulator.journal import REDACTED
from tests.support import AUTH, chat, sse_payloads


async def journal(client: Any, query: str = "", headers: dict[str, str] | None = None) -> Any:
    response = await client.get(f"/_emulator/journal{query}", headers=headers or {})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_every_api_request_is_journaled_with_its_answer(client: Any) -> None:
    await client.post(API_PATH, json=chat(max_tokens=3), headers=AUTH)
    await client.post(API_PATH, json={"model": "jamba-instruct-preview"}, headers=AUTH)
    await client.post(API_PATH, data=io.BytesIO(b'{"model": "x"}'))  # no key: 401, body unread
    await client.get("/studio/v1/nowhere")
    streamed = await client.post(API_PATH, json=chat(stream=True, max_tokens=2), headers=AUTH)
    assert sse_payloads(await streamed.text())[-1] == "[DONE]"

    seen = await journal(client)
    entries = seen["entries"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", API_PATH, 200),
        ("POST", API_PATH, 422),
        ("POST", API_PATH, 401),
        ("GET", "/studio/v1/nowhere", 404),
        ("POST", API_PATH, 200),
    ]
    assert entries[0]["body"] == chat(max_tokens=3)
    assert entries[2]["body"] == {"model": "x"}, "a rejected request's body is still shown"
    assert entries[0]["headers"]["Authorization"] == f"Bearer {REDACTED}"
    assert entries[4]["body"]["stream"] is True
    assert all(e["rule"] is None and e["duration_ms"] >= 0 for e in entries)
    assert (seen["kept"], seen["dropped"]) == (5, 0)


async def test_the_admin_api_does_not_journal_itself(client: Any) -> None:
    await client.get("/_emulator/health")
    await journal(client)
    assert (await journal(client))["entries"] == []


async def test_the_journal_can_be_filtered_and_cleared(client: Any) -> None:
    for body in (chat(), {"model": 1}, {"model": 2}):
        await client.post(API_PATH, json=body, headers=AUTH)
    failed = await journal(client, "?status=422")
    assert [e["body"]["model"] for e in failed["entries"]] == [1, 2]
    assert [e["body"]["model"] for e in (await journal(client, "?last=1"))["entries"]] == [2]
    cleared = await client.delete("/_emulator/journal")
    assert await cleared.json() == {"cleared": 3}
    assert (await journal(client))["entries"] == []


async def test_reset_empties_the_journal(client: Any) -> None:
    await client.post(API_PATH, json=chat(), headers=AUTH)
    response = await client.post("/_emulator/reset")
    assert await response.json() == {"journal_cleared": 1}
    assert (await journal(client))["kept"] == 0


async def test_a_bounded_journal_counts_what_it_dropped(make_client: Any) -> None:
    client = await make_client(journal_size=2)
    for _ in range(5):
        await client.post(API_PATH, json=chat(max_tokens=1), headers=AUTH)
    seen = await journal(client)
    assert (len(seen["entries"]), seen["kept"], seen["dropped"], seen["limit"]) == (2, 2, 3, 2)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=teapot", "status must be an integer, got 'teapot'"),
        ("last=0", "last must be at least 1, got 0"),  # found by schemathesis: last=0 listed all
        ("last=-1", "last must be at least 1, got -1"),
    ],
)
async def test_a_bad_query_parameter_is_a_400_that_says_why(client: Any, query: str, message: str) -> None:
    response = await client.get(f"/_emulator/journal?{query}")
    assert response.status == 400
    assert message in (await response.json())["detail"]


async def test_an_admin_token_when_set_is_required_except_for_health(make_client: Any) -> None:
    client = await make_client(admin_token="s3cret")
    assert (await client.get("/_emulator/health")).status == 200
    refused = await client.get("/_emulator/journal")
    assert refused.status == 401
    assert TOKEN_HEADER in (await refused.json())["detail"]
    assert (await client.get("/_emulator/journal", headers={TOKEN_HEADER: "wrong"})).status == 401
    await journal(client, headers={TOKEN_HEADER: "s3cret"})


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
async def test_beyond_loopback_the_admin_api_needs_a_token(make_client: Any, host: str) -> None:
    client = await make_client(host=host)
    response = await client.get("/_emulator/journal")
    assert response.status == 403
    assert "--admin-token" in (await response.json())["detail"]
    assert (await client.get("/_emulator/health")).status == 200
    with_token = await make_client(host=host, admin_token="t")
    await journal(with_token, headers={TOKEN_HEADER: "t"})
