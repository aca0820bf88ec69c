"""Contract behaviour beyond single cases: all violations listed in order, notice headers, JSON
errors for routing. (One case per rule lives as data in tests/conformance/cases/.)"""

from __future__ import annotations

from typing import Any

import pytest
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH

from tests.support import AUTH, MODEL, chat

USER = {"role": "user", "content": "hello"}


async def test_every_violation_is_listed_in_field_order(client: Any) -> None:
    body = {
        "messages": [{"role": "user", "content": ""}],
        "max_tokens": "12",
        "temperature": 3,
        "top_p": 0,
    }
    response = await client.post(API_PATH, json=body, headers=AUTH)
    detail = (await response.json())["detail"]
    assert [item["loc"] for item in detail] == [
        ["body", "model"],
        ["body", "messages", 0, "content"],
        ["body", "max_tokens"],
        ["body", "temperature"],
        ["body", "top_p"],
    ]
    assert detail[3]["msg"] == "ensure this value is less than or equal to 2.0"


async def test_unknown_paths_and_methods_answer_json(client: Any) -> None:
    missing = await client.get("/studio/v1/nothing-here")
    assert (missing.status, await missing.json()) == (404, {"detail": "Not Found"})
    wrong = await client.get(API_PATH)
    assert (wrong.status, await wrong.json()) == (405, {"detail": "Method Not Allowed"})
    assert wrong.headers["Allow"] == "POST"


async def test_ignored_fields_are_named_in_a_header(client: Any) -> None:
    body = {**chat(maxTokens=5), "messages": [{**USER, "name": "bob"}]}
    response = await client.post(API_PATH, json=body, headers=AUTH)
    assert response.status == 200
    assert response.headers["X-Emulator-Ignored-Fields"] == "maxTokens,messages[0].name"


async def test_a_request_without_unknown_fields_has_no_ignored_header(client: Any) -> None:
    response = await client.post(API_PATH, json=chat(), headers=AUTH)
    assert "X-Emulator-Ignored-Fields" not in response.headers


async def test_role_order_warning_is_named_in_a_header(client: Any) -> None:
    response = await client.post(API_PATH, json={"model": MODEL, "messages": [USER, USER]}, headers=AUTH)
    assert response.status == 200
    assert "messages.1.role" in response.headers["X-Emulator-Warnings"]


async def test_empty_system_message_does_not_count_towards_the_prompt(client: Any) -> None:
    plain = await client.post(API_PATH, json={"model": MODEL, "messages": [USER]}, headers=AUTH)
    with_empty = await client.post(
        API_PATH,
        json={"model": MODEL, "messages": [{"role": "system", "content": ""}, USER]},
        headers=AUTH,
    )
    first, second = await plain.json(), await with_empty.json()
    assert first["usage"] == second["usage"]
    assert first["choices"][0]["message"] == second["choices"][0]["message"]


@pytest.mark.parametrize("path", ["/_emulator/health", "/openapi.json"])
async def test_service_endpoints_need_no_key(client: Any, path: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    assert await response.json()
