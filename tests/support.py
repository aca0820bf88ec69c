"""Helpers shared by the tests: valid request bodies, posting, the seed's example exchange."""

from __future__ import annotations

import inspect
import json
from typing import Any

import httpx
from aiohttp.test_utils import TestClient
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH
from jamba_emulator.resources import FIXTURE_DIR
from jamba_emulator.server import BackgroundServer

AUTH = {"Authorization": "Bearer test-key"}
MODEL = "jamba-instruct-preview"
SEED_EXAMPLE = json.loads((FIXTURE_DIR / "seed-example.json").read_text(encoding="utf-8"))
SEED_PROMPT = "Tell me something I don't know"


def chat(content: str = SEED_PROMPT, **fields: Any) -> dict[str, Any]:
    """A valid request body with one user message, plus any fields given."""
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], **fields}


async def post(
    client: TestClient[Any, Any], body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    """POST a JSON body (or raw bytes) to the chat endpoint; returns (status, JSON, headers)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await client.post(API_PATH, data=data, headers={**AUTH, **(headers or {})})
    return response.status, await response.json(), response.headers


def sse_payloads(raw: str) -> list[str]:
    """The `data: ` payloads of a stream, checking the framing the official SDKs insist on."""
    payloads = []
    for line in raw.split("\n"):
        if not line:
            continue
        assert line.startswith("data: "), f"non-data SSE line: {line!r}"
        payloads.append(line[len("data: ") :])
    assert raw.endswith("\n\n"), "stream must end with a blank line"
    return payloads


def asked_again(server: BackgroundServer, body: dict[str, Any]) -> dict[str, Any]:
    """The emulator's answer to this body, asked again directly: answers are deterministic, so a
    client's result can be held against what the emulator gives for the request it journaled."""
    response = httpx.post(f"{server.api_host}/chat/completions", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def close_litellm_clients(litellm: Any) -> None:
    """litellm keeps the HTTP clients it makes in a cache for the life of the process: close the
    synchronous ones and empty the cache, so their sockets are not left to a later test."""
    cache = litellm.in_memory_llm_clients_cache
    for client in list(cache.cache_dict.values()):
        if callable(close := getattr(client, "close", None)) and not inspect.iscoroutinefunction(close):
            close()
    cache.flush_cache()
