"""The scenarios shipped in fixtures/scenarios/ do what their descriptions say."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH
from jamba_emulator.resources import FIXTURE_DIR

from tests.support import AUTH, chat, post

SCENARIOS = FIXTURE_DIR / "scenarios"


async def start(make_client: Any, name: str) -> Any:
    return await make_client(fixtures=(str(SCENARIOS / name),), reload=False)


async def test_support_bot(make_client: Any) -> None:
    client = await start(make_client, "support-bot.json")
    for question, expected in [
        ("Where is my order 1234?", "Your order is on its way"),
        ("I want a refund", "I have started a refund"),
        ("I forgot my Password", "cannot help with passwords"),
    ]:
        _, body, _ = await post(client, chat(question))
        assert expected in body["choices"][0]["message"]["content"]


async def test_rate_limited_burst(make_client: Any) -> None:
    client = await start(make_client, "rate-limited-burst.json")
    answers = [await client.post(API_PATH, json=chat(), headers=AUTH) for _ in range(7)]
    assert [a.status for a in answers] == [200, 200, 429, 429, 429, 200, 200]
    assert [a.headers.get("Retry-After") for a in answers[2:5]] == ["1", "1", "2"]
    assert await answers[2].json() == {"detail": "Too Many Requests (You are sending requests too quickly.)"}


async def test_flaky_upstream(make_client: Any) -> None:
    client = await start(make_client, "flaky-upstream.json")
    assert (await client.post(API_PATH, json=chat(), headers=AUTH)).status == 500
    stream = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
    with pytest.raises(aiohttp.ClientPayloadError):
        await stream.read()
    slow = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert slow.status == 200
    unavailable = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert (unavailable.status, unavailable.headers["Retry-After"]) == (503, "1")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post(API_PATH, json=chat(), headers=AUTH)
    assert (await client.post(API_PATH, json=chat(), headers=AUTH)).status == 200
    entries = (await (await client.get("/_emulator/journal")).json())["entries"]
    assert [(e["status"], e["fault"]) for e in entries] == [
        (500, None), (200, "drop_mid_stream"), (200, None), (503, None), (None, "drop_before_response"),
        (200, None),
    ]  # fmt: skip
    assert entries[2]["duration_ms"] >= 1500, "the slow answer"
    assert entries[5]["rule"] is None, "the sequence is used up: healthy answers are generated"


async def test_tool_agent(make_client: Any) -> None:
    client = await start(make_client, "tool-agent.json")
    lookup = {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
    asked = {**chat("Where is my order 1234?"), "model": "jamba-mini", "tools": [lookup]}
    _, first, _ = await post(client, asked)
    [call] = first["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "lookup_order"
    assert isinstance(json.loads(call["function"]["arguments"])["order_id"], str)
    result = {"role": "tool", "tool_call_id": call["id"], "content": '{"status": "shipped"}'}
    follow_up = {**asked, "messages": [*asked["messages"], first["choices"][0]["message"], result]}
    _, final, _ = await post(client, follow_up)
    assert final["choices"][0]["message"]["content"].startswith("Good news: your order has shipped")
    thanked = {**follow_up, "messages": [*follow_up["messages"], final["choices"][0]["message"]]}
    thanked["messages"].append({"role": "user", "content": "Thanks! And where is my order 99?"})
    _, later, _ = await post(client, thanked)  # the user spoke last again: a new lookup, by turn
    assert later["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "lookup_order"
    entries = (await (await client.get("/_emulator/journal")).json())["entries"]
    assert [entry["rule"] for entry in entries] == [
        "look the order up", "answer from the lookup", "look the order up",
    ]  # fmt: skip
