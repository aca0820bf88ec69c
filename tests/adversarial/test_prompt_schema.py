"""A schema pasted into a JSON-mode prompt is looked for in bounded time and never evaluated:
at most SCHEMA_CANDIDATES braces are tried, each read up to SCHEMA_SIZE characters, in the first
READ characters of the prompt; a Python-dict rendering is parsed as literals only."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from jamba_emulator.answer import grounding

from tests.adversarial.conftest import Serve
from tests.support import AUTH

HOSTILE = [
    "{" * 200_000,
    "{'properties': " * 40_000,
    "{" + "[" * 5000 + "]" * 5000 + "}" + " {'properties': {'a': {}}}" * 5000,
    "{'properties': {'a': " + "9" * 15_000 + "}}" * 3,
    "{'properties': {'a': __import__('os').system('echo hacked')}}",
    '{"a": "' + "\\" * 30_000 + '"}',
]


@pytest.mark.parametrize(
    "prompt", HOSTILE, ids=["braces", "nested", "deep-list", "huge-number", "code", "escapes"]
)
def test_looking_for_a_schema_in_a_hostile_prompt_is_bounded(
    monkeypatch: pytest.MonkeyPatch, prompt: str
) -> None:
    scanned: list[int] = []
    real = grounding._closing

    def counting(text: str, start: int) -> int | None:
        end = real(text, start)
        scanned.append((end if end is not None else min(len(text), start + grounding.SCHEMA_SIZE)) - start)
        return end

    monkeypatch.setattr(grounding, "_closing", counting)
    found = grounding.prompt_schema(prompt)
    assert len(scanned) <= grounding.SCHEMA_CANDIDATES
    assert all(size <= grounding.SCHEMA_SIZE for size in scanned)
    assert found is None or isinstance(found.get("properties"), dict)


def test_code_in_a_python_dict_is_not_run(tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    prompt = f"{{'properties': {{'a': __import__('pathlib').Path({str(marker)!r}).touch()}}}}"
    assert grounding.prompt_schema(prompt) is None
    assert not marker.exists()


def test_the_server_answers_json_mode_with_a_hostile_prompt(serve: Serve) -> None:
    server = serve()
    for prompt in HOSTILE:
        body = {
            "model": "jamba-mini",
            "response_format": {"type": "json_object"},
            "messages": [{"role": "user", "content": prompt}],
        }
        answer = httpx.post(server.url + "/studio/v1/chat/completions", json=body, headers=AUTH, timeout=30)
        assert answer.status_code in (200, 422), answer.text[:200]
        if answer.status_code == 200:
            assert isinstance(json.loads(answer.json()["choices"][0]["message"]["content"]), dict)
