"""The vllm surface under inputs a client controls: what vLLM itself would spend without bound (it
lists every validation error, echoing the body in each; it takes any n) costs the emulator a
bounded time, memory and answer, and nothing reaches outside the process (a tool schema's
reference, the /tokenize vocabulary). After each, the server still answers."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.adversarial.conftest import Serve

CHAT = "/v1/chat/completions"
MINI = "ai21labs/AI21-Jamba-1.5-Mini"
HI = [{"role": "user", "content": "hi"}]


def still_answers(url: str) -> None:
    answer = httpx.post(url + CHAT, json={"model": MINI, "messages": HI}, timeout=10)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"]


def test_a_flood_of_broken_messages_lists_max_errors_and_stops_looking(serve: Serve) -> None:
    """700,000 messages without a role: 7 s and a 77 MB answer before (pydantic lists them all)."""
    server = serve(max_errors=50)
    body = json.dumps({"messages": [{"x": 1}] * 700_000}).encode()
    started = time.perf_counter()
    answer = httpx.post(
        server.url + CHAT, content=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    took = time.perf_counter() - started
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert message.count("'type': 'missing'") == 50
    assert message.endswith("(the emulator lists the first 50 errors: --max-errors)")
    assert "('body', 'messages', 49, 'role')" in message
    assert len(answer.content) < 20_000 and took < 3, (len(answer.content), took)
    still_answers(server.url)


def test_errors_after_the_messages_are_listed_in_field_order(serve: Serve) -> None:
    server = serve()
    body = {"messages": [{"role": "user", "content": "hi"}] * 1500 + [{"x": 1}], "temperature": "hot"}
    message = httpx.post(server.url + CHAT, json=body, timeout=30).json()["error"]["message"]
    assert message.index("('body', 'messages', 1500, 'role')") < message.index("('body', 'temperature')")
    assert "emulator lists" not in message


def test_a_billion_choices_are_refused_before_any_is_written(serve: Serve) -> None:
    server = serve()
    started = time.perf_counter()
    answer = httpx.post(server.url + CHAT, json={"model": MINI, "messages": HI, "n": 10**9}, timeout=30)
    assert time.perf_counter() - started < 2
    assert answer.status_code == 400
    assert "n must be at most 128 on the emulator" in answer.json()["error"]["message"]
    best_of = httpx.post(
        server.url + CHAT, json={"model": MINI, "messages": HI, "best_of": 10**6}, timeout=30
    ).json()["error"]["message"]
    assert best_of == "vLLM V1 does not yet support best_of."  # vLLM's own refusal comes first on 0.11
    still_answers(server.url)


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_a_tool_schema_s_reference_reaches_nothing(serve: Serve, tmp_path: Path, scheme: str) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"type": "object", "properties": {"TOP-SECRET-VALUE": {"type": "string"}}}))
    server = serve(enable_auto_tool_choice=True, tool_call_parser="jamba")
    with socket.socket() as listener:  # accepts and never answers: a fetch would hang on it
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.3)
        ref = (
            f"http://127.0.0.1:{listener.getsockname()[1]}/schema.json"
            if scheme == "http"
            else secret.as_uri()
        )
        tool = {"type": "function", "function": {"name": "lookup", "parameters": {"$ref": ref}}}
        started = time.perf_counter()
        answer = httpx.post(
            server.url + CHAT,
            json={
                "model": MINI,
                "messages": [{"role": "user", "content": "lookup the order"}],
                "tools": [tool],
            },
            timeout=60,
        )
        assert time.perf_counter() - started < 3, "the server waited on the listener"
        with pytest.raises(TimeoutError):
            listener.accept()
    assert answer.status_code == 200 and "TOP-SECRET-VALUE" not in answer.text
    still_answers(server.url)


def test_deep_nesting_and_bad_bytes_get_vllm_s_400_not_a_500(serve: Serve) -> None:
    server = serve()
    deep = "[" * 100_000 + "]" * 100_000
    raw = f'{{"messages": [{{"role": "user", "content": "hi"}}], "chat_template_kwargs": {{"a": {deep}}}}}'
    headers = {"Content-Type": "application/json"}
    answer = httpx.post(server.url + CHAT, content=raw.encode(), headers=headers, timeout=30)
    assert answer.status_code == 400 and "There was an error parsing the body" in answer.text
    bad = httpx.post(server.url + CHAT, content=b'{"messages": "\xff\xfe"}', headers=headers, timeout=30)
    assert bad.status_code == 400 and "There was an error parsing the body" in bad.text
    nested = {"a": {"b": 1}}
    for _ in range(500):  # deep enough to be costly to print, within what json reads
        nested = {"a": nested}
    body = {"messages": HI, "chat_template_kwargs": nested, "stream_options": {"include_usage": True}}
    echoed = httpx.post(server.url + CHAT, json=body, timeout=30)
    assert echoed.status_code == 400 and "Stream options can only be defined" in echoed.text
    still_answers(server.url)


def test_the_tokenize_vocabulary_stays_bounded_by_the_model_s(serve: Serve) -> None:
    server = serve()
    too_long = httpx.post(server.url + "/tokenize", json={"prompt": "word " * 300_000}, timeout=60)
    assert too_long.status_code == 400 and "at most the model's 262144 tokens" in too_long.text
    words = " ".join(_word(index) for index in range(120_000))  # more distinct tokens than 65,536 ids
    first = httpx.post(server.url + "/tokenize", json={"prompt": words}, timeout=60).json()
    assert all(0 <= token < 65536 for token in first["tokens"]) and first["count"] > 65536
    assert server.core is not None
    again = httpx.post(server.url + "/tokenize", json={"prompt": words}, timeout=60).json()
    assert again["tokens"] == first["tokens"]  # ids stay stable once the vocabulary is full
    still_answers(server.url)


def _word(index: int) -> str:
    """A distinct four-letter word per index (one token each)."""
    letters = ""
    for _ in range(4):
        letters += chr(ord("a") + index % 26)
        index //= 26
    return letters
