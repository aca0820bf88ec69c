"""vLLM's own answers, as data (vllm_cases.json): every validator message of its chat request
(VLLM.md section 2) per release line, sent to the emulator as that line and compared whole:
status, the error's envelope and type, and the message to the character."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jamba_emulator.config import Config
from jamba_emulator.server import BackgroundServer

CASES = json.loads((Path(__file__).with_name("vllm_cases.json")).read_text())["cases"]
RELEASES = {"0.8": "0.8.5.post1", "0.11": "0.11.0"}


@pytest.fixture(scope="module", params=sorted(RELEASES))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, BackgroundServer]]:
    with BackgroundServer(Config(port=0, log_level="error", vllm_version=RELEASES[request.param])) as running:
        yield request.param, running


def fastapi_message(items: list[dict[str, Any]]) -> str:
    """str() of FastAPI's error list, as vLLM's handler writes it (locs are tuples)."""
    return str([{**item, "loc": tuple(item["loc"])} for item in items])


def expected_message(expect: dict[str, Any], body: Any) -> str | None:
    if "value_error" in expect:
        text = expect["value_error"]
        item = {"type": "value_error", "loc": ["body"], "msg": f"Value error, {text}", "input": body}
        return fastapi_message([{**item, "ctx": {"error": ValueError(text)}}])
    if "pydantic" in expect:
        return fastapi_message(expect["pydantic"])
    return expect.get("message")


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_vllm_answers_as_its_release_does(case: dict[str, Any], server: tuple[str, BackgroundServer]) -> None:
    line, running = server
    expect = case["expect"].get(line)
    if expect is None:
        pytest.skip(f"no {line} answer recorded for this case")
    url = running.url + case.get("path", "/v1/chat/completions")
    if "raw" in case:
        headers = {"Content-Type": case["content_type"]} if case["content_type"] else {}
        answer = httpx.post(url, content=case["raw"].encode(), headers=headers)
        body: Any = None
    else:
        body = case["body"]
        answer = httpx.post(url, json=body)
    if body is not None and isinstance(body, dict) and "tools" in body and "tool_choice" not in body:
        body = {**body, "tool_choice": "auto"}  # vLLM's validator writes it in before the error
    status = expect.get("status", 400)
    assert answer.status_code == status, answer.text
    if status == 200:
        answered = answer.json()
        assert answered.get("object", "text_completion") in ("chat.completion", "text_completion"), answered
        return
    if "text" in expect:
        assert answer.headers["content-type"].startswith("text/plain") and answer.text == expect["text"]
        return
    if "detail" in expect:
        assert answer.json() == {"detail": expect["detail"]}
        return
    error_type = expect.get("type") or ("BadRequestError" if line == "0.8" else "Bad Request")
    inner = {"message": expected_message(expect, body), "type": error_type, "param": None, "code": status}
    assert answer.json() == ({"object": "error", **inner} if line == "0.8" else {"error": inner})
