"""One case per documented rule of CONTRACT.md: exact status, `detail` shape and `loc`."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulator.app import API_PATH
from emulator.errors import UNAUTHORIZED_DETAIL, UNSUPPORTED_MODEL_DETAIL
from tests.support import AUTH, MODEL, chat

USER = {"role": "user", "content": "hello"}
ASSISTANT = {"role": "assistant", "content": "hi there"}
SYSTEM = {"role": "system", "content": "be brief"}


@dataclass
class Case:
    rule: str
    body: Any
    status: int = 422
    loc: list[Any] | None = None
    type: str | None = None
    detail: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=lambda: dict(AUTH))


def invalid(rule: str, body: Any, loc: list[Any], kind: str, **config: Any) -> Case:
    return Case(rule, body, 422, loc, kind, config=config)


def accepted(rule: str, body: Any, **config: Any) -> Case:
    return Case(rule, body, 200, config=config)


CASES = [
    # Transport and auth.
    Case("auth: no Authorization header", chat(), 401, detail=UNAUTHORIZED_DETAIL, headers={}),
    Case(
        "auth: empty bearer key",
        chat(),
        401,
        detail=UNAUTHORIZED_DETAIL,
        headers={"Authorization": "Bearer "},
    ),
    Case(
        "auth: not a Bearer scheme",
        chat(),
        401,
        detail=UNAUTHORIZED_DETAIL,
        headers={"Authorization": "Basic abc"},
    ),
    Case(
        "auth: key not among --api-key",
        chat(),
        401,
        detail=UNAUTHORIZED_DETAIL,
        config={"api_keys": ("good",)},
    ),
    Case("auth: key among --api-key", chat(), 200, config={"api_keys": ("other", "test-key")}),
    Case("auth: checked before the body", b"not json", 401, detail=UNAUTHORIZED_DETAIL, headers={}),
    # Bodies that are not JSON objects.
    invalid("body: empty", b"", ["body", 0], "value_error.jsondecode"),
    invalid("body: truncated JSON", b'{"model": "jamba', ["body", 10], "value_error.jsondecode"),
    invalid("body: bad UTF-8", b'{"model": "\xff"}', ["body", 11], "value_error.jsondecode"),
    invalid(
        "body: NaN is not JSON",
        b'{"model": "m", "temperature": NaN}',
        ["body", 30],
        "value_error.jsondecode",
    ),
    invalid(
        "body: nested too deep",
        b"[" * 100_000 + b"]" * 100_000,
        ["body", 0],
        "value_error.jsondecode",
    ),
    invalid("body: a JSON array", [chat()], ["body"], "type_error.dict"),
    invalid("body: a JSON string", "hello", ["body"], "type_error.dict"),
    Case("body: over --max-body-size", chat("x" * 5000), 413, config={"max_body_size": 4096}),
    # model
    invalid("model: required", {"messages": [USER]}, ["body", "model"], "value_error.missing"),
    invalid("model: a string", {"model": 7, "messages": [USER]}, ["body", "model"], "type_error.str"),
    Case(
        "model: unsupported gets a string detail",
        {"model": "jamba-9000", "messages": [USER]},
        422,
        detail=UNSUPPORTED_MODEL_DETAIL,
    ),
    invalid(
        "model: schema errors come before model support",
        {"model": "jamba-9000", "messages": []},
        ["body", "messages"],
        "value_error.messages.no_user_or_assistant",
    ),
    # messages
    invalid("messages: required", {"model": MODEL}, ["body", "messages"], "value_error.missing"),
    invalid(
        "messages: an array",
        {"model": MODEL, "messages": "hello"},
        ["body", "messages"],
        "type_error.list",
    ),
    invalid(
        "messages: items are objects",
        {"model": MODEL, "messages": [USER, "hi"]},
        ["body", "messages", 1],
        "type_error.dict",
    ),
    invalid(
        "messages: role required",
        {"model": MODEL, "messages": [{"content": "hi"}, USER]},
        ["body", "messages", 0, "role"],
        "value_error.missing",
    ),
    invalid(
        "messages: content required",
        {"model": MODEL, "messages": [{"role": "user"}]},
        ["body", "messages", 0, "content"],
        "value_error.missing",
    ),
    invalid(
        "messages: role is user, assistant or system",
        {"model": MODEL, "messages": [USER, {"role": "tool", "content": "x"}]},
        ["body", "messages", 1, "role"],
        "type_error.enum",
    ),
    invalid(
        "messages: content is a string",
        {"model": MODEL, "messages": [{"role": "user", "content": ["hi"]}]},
        ["body", "messages", 0, "content"],
        "type_error.str",
    ),
    invalid(
        "messages: user content non-empty",
        {"model": MODEL, "messages": [{"role": "user", "content": ""}]},
        ["body", "messages", 0, "content"],
        "value_error.any_str.min_length",
    ),
    invalid(
        "messages: assistant content non-empty",
        {"model": MODEL, "messages": [USER, {"role": "assistant", "content": ""}]},
        ["body", "messages", 1, "content"],
        "value_error.any_str.min_length",
    ),
    accepted(
        "messages: empty system content is ignored",
        {"model": MODEL, "messages": [{"role": "system", "content": ""}, USER]},
    ),
    invalid(
        "messages: at least one user/assistant message",
        {"model": MODEL, "messages": [SYSTEM]},
        ["body", "messages"],
        "value_error.messages.no_user_or_assistant",
    ),
    invalid(
        "messages: an empty list has none",
        {"model": MODEL, "messages": []},
        ["body", "messages"],
        "value_error.messages.no_user_or_assistant",
    ),
    invalid(
        "messages: prompt within the context window",
        chat("word " * 270_000),
        ["body", "messages"],
        "value_error.context_window",
    ),
    accepted("messages: an assistant message alone counts", {"model": MODEL, "messages": [ASSISTANT]}),
    # max_tokens
    invalid(
        "max_tokens: a string is not an integer",
        chat(max_tokens="12"),
        ["body", "max_tokens"],
        "type_error.integer",
    ),
    invalid(
        "max_tokens: a fraction is not an integer",
        chat(max_tokens=1.5),
        ["body", "max_tokens"],
        "type_error.integer",
    ),
    invalid(
        "max_tokens: a boolean is not an integer",
        chat(max_tokens=True),
        ["body", "max_tokens"],
        "type_error.integer",
    ),
    invalid(
        "max_tokens: not negative",
        chat(max_tokens=-1),
        ["body", "max_tokens"],
        "value_error.number.not_ge",
    ),
    invalid(
        "max_tokens: under 64K for the preview model",
        chat(max_tokens=65536),
        ["body", "max_tokens"],
        "value_error.number.not_le",
    ),
    accepted("max_tokens: 65535 is under 64K", chat(max_tokens=65535)),
    accepted("max_tokens: 0 is allowed", chat(max_tokens=0)),
    # temperature
    invalid(
        "temperature: a number",
        chat(temperature="hot"),
        ["body", "temperature"],
        "type_error.float",
    ),
    invalid(
        "temperature: at least 0",
        chat(temperature=-0.1),
        ["body", "temperature"],
        "value_error.number.not_ge",
    ),
    invalid(
        "temperature: at most 2",
        chat(temperature=2.01),
        ["body", "temperature"],
        "value_error.number.not_le",
    ),
    accepted("temperature: 0 is greedy", chat(temperature=0)),
    accepted("temperature: 2 is the top", chat(temperature=2)),
    # top_p
    invalid("top_p: a number", chat(top_p="all"), ["body", "top_p"], "type_error.float"),
    invalid("top_p: greater than 0", chat(top_p=0), ["body", "top_p"], "value_error.number.not_gt"),
    invalid("top_p: at most 1", chat(top_p=1.5), ["body", "top_p"], "value_error.number.not_le"),
    accepted("top_p: 1 is allowed", chat(top_p=1)),
    # stop
    invalid("stop: a string or a list", chat(stop=5), ["body", "stop"], "type_error.str"),
    invalid("stop: list items are strings", chat(stop=["ok", 3]), ["body", "stop", 1], "type_error.str"),
    invalid(
        "stop: a string up to 64K characters",
        chat(stop="x" * 65537),
        ["body", "stop"],
        "value_error.any_str.max_length",
    ),
    invalid(
        "stop: each item up to 64K characters",
        chat(stop=["x" * 65537]),
        ["body", "stop", 0],
        "value_error.any_str.max_length",
    ),
    accepted("stop: an empty list is fine", chat(stop=[])),
    accepted("stop: a string", chat(stop="\n")),
    # n
    invalid("n: an integer", chat(n="2"), ["body", "n"], "type_error.integer"),
    invalid("n: at least 1", chat(n=0), ["body", "n"], "value_error.number.not_ge"),
    invalid("n: at most 16", chat(n=17), ["body", "n"], "value_error.number.not_le"),
    invalid(
        "n: above 1 needs temperature above 0",
        chat(n=2, temperature=0),
        ["body", "n"],
        "value_error.n",
    ),
    invalid("n: above 1 cannot stream", chat(n=2, stream=True), ["body", "n"], "value_error.n"),
    accepted("n: 16 choices", chat(n=16, max_tokens=3)),
    # stream
    invalid("stream: a boolean", chat(stream="yes"), ["body", "stream"], "type_error.bool"),
    # null means "not given"
    *(
        accepted(f"{name}: null means not given", chat(**{name: None}))
        for name in ("max_tokens", "temperature", "top_p", "stop", "n", "stream")
    ),
    # unknown fields and role order: lenient by default, rejected in strict mode
    accepted("unknown fields: ignored by default", chat(maxTokens=5, stream_options={"x": 1})),
    invalid(
        "unknown fields: strict rejects them",
        chat(maxTokens=5),
        ["body", "maxTokens"],
        "value_error.extra",
        strict=True,
    ),
    invalid(
        "unknown fields: strict rejects them in messages",
        {"model": MODEL, "messages": [{**USER, "name": "bob"}]},
        ["body", "messages", 0, "name"],
        "value_error.extra",
        strict=True,
    ),
    accepted("role order: not enforced by default", {"model": MODEL, "messages": [USER, USER]}),
    invalid(
        "role order: strict wants alternation",
        {"model": MODEL, "messages": [SYSTEM, USER, USER]},
        ["body", "messages", 2, "role"],
        "value_error.role_order",
        strict=True,
    ),
    invalid(
        "role order: strict wants the system message first",
        {"model": MODEL, "messages": [USER, SYSTEM]},
        ["body", "messages", 1, "role"],
        "value_error.role_order",
        strict=True,
    ),
    invalid(
        "role order: strict wants the user first",
        {"model": MODEL, "messages": [ASSISTANT, USER]},
        ["body", "messages", 0, "role"],
        "value_error.role_order",
        strict=True,
    ),
    accepted(
        "role order: strict accepts system, user, assistant, user",
        {"model": MODEL, "messages": [SYSTEM, USER, ASSISTANT, USER]},
        strict=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.rule for case in CASES])
async def test_documented_rule(make_client: Any, case: Case) -> None:
    client = await make_client(**case.config)
    data = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
    response = await client.post(API_PATH, data=io.BytesIO(data), headers=case.headers)
    assert response.status == case.status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    if case.status == 200:
        assert body["choices"], body
        return
    assert set(body) == {"detail"}
    if case.detail is not None:
        assert body["detail"] == case.detail
    if case.loc is not None:
        items = body["detail"]
        assert isinstance(items, list), items
        assert all(set(item) == {"loc", "msg", "type"} and item["msg"] for item in items)
        assert [case.loc, case.type] in [[item["loc"], item["type"]] for item in items], items


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
