"""What the real service answered and its clients expect, where the first versions of the
emulator differed: assistant turns as LangChain sends them, `reasoning_content`, `logprobs`, the
models listing, the retired APIs, and the documented error phrases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.schema import Contract
from jamba_emulator.errors import DOCUMENTED_DETAILS
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH
from jamba_emulator.http.surfaces.studio import MODELS_PATH, RETIRED_APIS

from tests.support import AUTH, chat, post, sse_payloads

CONTRACT = Contract(load_catalog_document())
LATER = "jamba-mini"


def later(*messages: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": LATER, "messages": list(messages), **fields}


async def test_every_choice_says_logprobs_null_and_there_is_no_meta(client: Any) -> None:
    status, body, _ = await post(client, chat(n=2))
    assert status == 200 and "meta" not in body
    assert [choice["logprobs"] for choice in body["choices"]] == [None, None]
    response = await client.post(API_PATH, json=chat(stream=True), headers=AUTH)
    chunks = [json.loads(payload) for payload in sse_payloads(await response.text()) if payload != "[DONE]"]
    assert chunks and all(chunk["choices"][0]["logprobs"] is None for chunk in chunks)


async def test_an_empty_tool_calls_list_is_no_calls(client: Any) -> None:
    plain = later(
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye"},
    )
    empty = later(
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "tool_calls": []},
        {"role": "user", "content": "bye"},
    )
    (status, with_list, _), (_, without, _) = await post(client, empty), await post(client, plain)
    assert status == 200
    assert with_list["choices"][0]["message"] == without["choices"][0]["message"]
    assert with_list["usage"] == without["usage"]


async def test_langchain_s_turn_after_an_empty_answer_is_answered(client: Any) -> None:
    first = later({"role": "user", "content": "Say nothing"}, max_tokens=0)
    status, body, _ = await post(client, first)
    assert (status, body["choices"][0]["message"]["content"]) == (200, "")
    # What LangChain's ChatAI21 sends back for that AIMessage: content null and no calls.
    status, body, _ = await post(
        client,
        later(
            *first["messages"],
            {"role": "assistant", "content": None, "tool_calls": []},
            {"role": "user", "content": "Now say something"},
        ),
    )
    assert status == 200 and body["choices"][0]["message"]["content"]


async def test_the_preview_model_keeps_the_seed_s_assistant_rule(client: Any) -> None:
    status, body, _ = await post(
        client,
        chat(
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": None, "tool_calls": []},
                {"role": "user", "content": "?"},
            ]
        ),
    )
    assert status == 422
    assert [item["loc"] for item in body["detail"]] == [["body", "messages", 1, "content"]]


async def test_reasoning_content_is_known_and_counts_for_nothing(make_client: Any) -> None:
    client = await make_client(strict=True)
    turns = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "more?"},
    ]
    reasoned = [turns[0], {**turns[1], "reasoning_content": "The user greets me; " * 50}, turns[2]]
    (status, with_reasoning, headers), (_, without, _) = (
        await post(client, later(*reasoned)),
        await post(client, later(*turns)),
    )
    assert status == 200 and "X-Emulator-Ignored-Fields" not in headers
    assert with_reasoning["usage"] == without["usage"], "not counted in prompt_tokens"
    assert with_reasoning["choices"][0]["message"] == without["choices"][0]["message"], "not part of the seed"


async def test_the_models_listing_needs_no_key_and_names_the_accepted_models(make_client: Any) -> None:
    client = await make_client(models=("jamba-mini", "jamba-instruct-preview"))
    response = await client.get(MODELS_PATH)
    assert response.status == 200
    body = await response.json()
    assert not list(CONTRACT.validator("models-response.schema.json").iter_errors(body))
    assert [model["id"] for model in body["data"]] == ["jamba-mini", "jamba-instruct-preview"]
    mini = body["data"][0]
    assert (mini["context_length"], mini["max_completion_tokens"]) == (262144, 4096)
    listing = next(
        entry["listing"] for entry in load_catalog_document()["models"] if entry["name"] == "jamba-mini"
    )
    assert (mini["name"], mini["quantization"], mini["pricing"]["prompt"]) == (
        listing["name"],
        listing["quantization"],
        listing["pricing"]["prompt"],
    )


@pytest.mark.parametrize("api", RETIRED_APIS)
async def test_the_retired_apis_say_they_were_retired(client: Any, api: str) -> None:
    for path in (f"/studio/v1/{api}", f"/studio/v1/{api}/some-id/status"):
        response = await client.post(path, headers=AUTH, json={})
        detail = (await response.json())["detail"]
        assert response.status == 404
        assert (
            "retired with the Jamba API on 2026-08-09" in detail
            and API_PATH in detail
            and MODELS_PATH in detail
        )
    other = await client.get(f"/studio/v1/{api}x")
    assert (other.status, await other.json()) == (404, {"detail": "Not Found"})


@pytest.mark.parametrize("status", [401, 429, 500, 503, 502])
async def test_a_scripted_error_without_detail_gets_the_documented_phrase(scripted: Any, status: int) -> None:
    client = await scripted({"reply": {"error": {"status": status}}})
    got, body, _ = await post(client, chat())
    expected = {
        401: "Forbidden: Bad or missing Apikey/JWT.",
        429: "Too Many Requests (You are sending requests too quickly.)",
        500: "Internal Server Error",
        503: "Service Unavailable (The engine is currently overloaded, please try again later)",
        502: "Bad Gateway",
    }
    assert (got, body) == (status, {"detail": expected[status]})


def test_the_readme_lists_the_documented_phrases_as_they_are_sent() -> None:
    readme = re.sub(r"\s+", " ", (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8"))
    for phrase in DOCUMENTED_DETAILS.values():
        assert f"`{phrase}`" in readme, phrase


CLIENT_FIELDS = CONTRACT.schemas["chat-request.schema.json"]["x-client-fields"]
HABITS = {
    "stop_sequences": ["Stop"],
    "tool_choice": "auto",
    "seed": 7,
    "config": {"tags": ["t"]},
    # issue 26: what the TypeScript SDK's example, litellm and the OpenAI client send
    "responseFormat": {"type": "json_object"},
    "stream_options": {"include_usage": True},
    "parallel_tool_calls": False,
}


def test_the_client_habits_strict_mode_explains_are_the_ones_the_service_ignored() -> None:
    assert set(CLIENT_FIELDS) == set(HABITS)
    for field, habit in CLIENT_FIELDS.items():  # each explanation names its field and its clients
        clients = habit["clients"].split(" (")[0].split(", ")[0].removeprefix("the ")
        assert field in habit["msg"] and clients.split("'")[0] in habit["msg"], (field, habit)


@pytest.mark.parametrize("field", sorted(HABITS))
async def test_strict_mode_rejects_a_client_habit_and_says_what_it_cost(make_client: Any, field: str) -> None:
    client = await make_client(strict=True)
    status, body, _ = await post(client, chat(**{field: HABITS[field]}))
    assert status == 422
    assert body["detail"] == [
        {"loc": ["body", field], "msg": CLIENT_FIELDS[field]["msg"], "type": "value_error.extra"}
    ]
    status, _, headers = await post(await make_client(), chat(**{field: HABITS[field]}))
    assert status == 200 and headers["X-Emulator-Ignored-Fields"] == field


async def test_strict_allow_lets_named_fields_through_and_keeps_the_rest_of_strict_mode(
    make_client: Any,
) -> None:
    client = await make_client(strict=True, strict_allow=("stop_sequences", "seed"))
    status, _, headers = await post(client, chat(stop_sequences=["x"], seed=3))
    assert status == 200
    assert headers["X-Emulator-Ignored-Fields"] == "stop_sequences,seed", "still ignored, as the service did"
    status, body, _ = await post(client, chat(stop_sequences=["x"], tool_choice="auto", other=1))
    assert status == 422
    assert [(item["loc"], item["type"]) for item in body["detail"]] == [
        (["body", "tool_choice"], "value_error.extra"),
        (["body", "other"], "value_error.extra"),
    ]
    assert body["detail"][1]["msg"] == "extra fields not permitted"
