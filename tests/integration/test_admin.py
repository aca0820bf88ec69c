"""The admin API under /_emulator: the request journal as seen over HTTP, reset, and the token."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from jamba_emulator.http.admin import TOKEN_HEADER
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH
from jamba_emulator.script.journal import REDACTED

from tests.support import AUTH, chat, post, sse_payloads


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


RULES = {
    "rules": [{"name": "canned", "match": {"last_user": {"contains": "ping"}}, "reply": {"content": "pong"}}]
}


async def test_rules_can_be_added_listed_and_removed_at_run_time(client: Any) -> None:
    added = await client.post("/_emulator/rules", json=RULES)
    assert (added.status, await added.json()) == (201, {"added": ["canned"]})
    status, body, _ = await post(client, chat("ping?"))
    assert (status, body["choices"][0]["message"]["content"]) == (200, "pong")
    listed = await (await client.get("/_emulator/rules")).json()
    assert listed == {
        "rules": [
            {
                "name": "canned",
                "source": "admin API",
                "calls": 1,
                "times": None,
                "expect": None,
                "sequence": False,
                "replies": 1,
                "used_up": False,
                "scope": None,
            }
        ]
    }
    removed = await client.delete("/_emulator/rules/canned")
    assert await removed.json() == {"removed": 1}
    _, after, _ = await post(client, chat("ping?"))
    assert after["choices"][0]["message"]["content"] != "pong"
    missing = await client.delete("/_emulator/rules/canned")
    assert missing.status == 404
    assert "GET /_emulator/rules" in (await missing.json())["detail"]


async def test_a_bad_rule_document_is_a_400_naming_the_rule_and_field(client: Any) -> None:
    response = await client.post(
        "/_emulator/rules", json={"rules": [{"reply": {"content": "x"}, "times": 0}]}
    )
    assert response.status == 400
    assert "admin API: rule 1: times: 0 is less than the minimum of 1" in (await response.json())["detail"]
    json_type = {"Content-Type": "application/json"}
    not_json = await client.post("/_emulator/rules", data=b"{nope", headers=json_type)
    assert not_json.status == 400


async def test_reset_restores_the_loaded_rules_unused_and_drops_added_ones(
    make_client: Any, tmp_path: Path
) -> None:
    fixture = tmp_path / "once.json"
    fixture.write_text(json.dumps({"rules": [{"name": "once", "times": 1, "reply": {"content": "first!"}}]}))
    client = await make_client(fixtures=(str(fixture),))
    await client.post("/_emulator/rules", json=RULES)
    assert (await post(client, chat()))[1]["choices"][0]["message"]["content"] == "first!"
    assert (await post(client, chat()))[1]["choices"][0]["message"]["content"] != "first!"
    await client.post("/_emulator/reset")
    names = [rule["name"] for rule in (await (await client.get("/_emulator/rules")).json())["rules"]]
    assert names == ["once"]
    assert (await post(client, chat()))[1]["choices"][0]["message"]["content"] == "first!"
    cleared = await client.delete("/_emulator/rules")
    assert await cleared.json() == {"removed": 1}
