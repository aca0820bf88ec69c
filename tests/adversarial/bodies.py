"""The attack bodies: each a request an attacker could send, under the default 8 MiB body limit.

Shared by the adversarial tests and bench/attacks.py, which measures what each costs a real
server. Builders, not constants: most are megabytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BODY_LIMIT = 8 * 1024 * 1024
SECRET = "s3cr3t-token-value-8e1f"
PREVIEW, LATER = "jamba-instruct-preview", "jamba-mini"


def encoded(body: Any) -> bytes:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    assert len(raw) <= BODY_LIMIT, f"an attack body must fit the default limit: {len(raw)} bytes"
    return raw


def seed_request() -> bytes:
    return encoded(
        {"model": PREVIEW, "messages": [{"role": "user", "content": "Tell me something I don't know"}]}
    )


def with_tool(parameters: Any, content: str = "Look up the token") -> dict[str, Any]:
    return {
        "model": LATER,
        "messages": [{"role": "user", "content": content}],
        "tools": [{"type": "function", "function": {"name": "lookup_token", "parameters": parameters}}],
    }


def secret_document() -> dict[str, Any]:
    """A JSON file whose `#/properties/token` is a secret (not a schema: a compiler that reads it
    quotes it in its error)."""
    return {"properties": {"token": SECRET}}


def file_ref(secret_file: Path) -> bytes:
    return encoded(with_tool({"$ref": f"{secret_file.as_uri()}#/properties/token"}))


def network_ref(port: int) -> bytes:
    return encoded(with_tool({"$ref": f"http://127.0.0.1:{port}/schema.json"}))


def empty_messages(count: int) -> bytes:
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": ""}] * count})


def empty_messages_filling() -> bytes:
    """As many empty user messages as fit in the body limit (about 290,000)."""
    one = len(b'{"role":"user","content":""},')
    return empty_messages((BODY_LIMIT - 100) // one)


def unsatisfiable_tools(count: int, n: int, nonce: str = "") -> bytes:
    """`count` tools that share a word with the user's message, each asking for 32,000 integers
    between 0 and -1: every attempt to write arguments runs to the end and fails. (`nonce`, in
    the message, makes the request one no cache has seen.)"""
    parameters = {
        "type": "array",
        "minItems": 32000,
        "items": {"type": "integer", "minimum": 0, "maximum": -1},
    }
    tools = [
        {"type": "function", "function": {"name": f"weather_{index}", "parameters": parameters}}
        for index in range(count)
    ]
    return encoded(
        {
            "model": LATER,
            "n": n,
            "messages": [{"role": "user", "content": f"weather please {nonce}"}],
            "tools": tools,
        }
    )


def huge_integer(digits: int = 5000) -> bytes:
    return (
        b'{"model":"jamba-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":'
        + b"7" * digits
        + b"}"
    )


def surrogate_model() -> bytes:
    return b'{"model":"\\ud800","messages":[{"role":"user","content":"hi"}]}'


def surrogate_key() -> bytes:
    return b'{"model":"jamba-mini","messages":[{"role":"user","content":"hi","\\udfff":1}],"\\ud800":1}'


def long_stop_list(index: int, megabytes: int = 4) -> bytes:
    """A stop list of about `megabytes` MB, different for every `index` (so no two requests share
    a cache entry), on a short conversation."""
    stops = [f"{index}-{number}-never-in-an-answer" for number in range(megabytes * 1024 * 1024 // 40)]
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": "hi"}], "stop": stops})


def many_stops() -> bytes:
    """Short distinct stop sequences filling the body, with 16 choices to cut."""
    stops = [f"{number:x}" for number in range(0x10000, 0x10000 + 1_000_000)]
    return encoded(
        {"model": PREVIEW, "n": 16, "messages": [{"role": "user", "content": "hi"}], "stop": stops}
    )


def many_tools() -> bytes:
    tools = []
    size = 200
    while size < BODY_LIMIT - 200:
        tool = {
            "type": "function",
            "function": {"name": f"t{len(tools)}", "parameters": {"title": str(len(tools))}},
        }
        tools.append(tool)
        size += len(json.dumps(tool)) + 1
    return encoded({"model": LATER, "messages": [{"role": "user", "content": "hi"}], "tools": tools[:-1]})


def written_dates() -> bytes:
    """JSON mode over a conversation within the context window made of dates written in words
    (grounding reads each message for them), with keys that ask for a date, a country, a number."""
    text = "December 5, 2024 in France " * (64 * 1024 // 27)
    messages = [{"role": role, "content": text} for role in ("user", "assistant") * 6 + ("user",)]
    messages[-1]["content"] = 'Reply in JSON with "date", "country", "word_count". ' + text
    json_mode = {"type": "json_object"}
    return encoded({"model": LATER, "n": 16, "messages": messages, "response_format": json_mode})


def huge_tool_schema() -> bytes:
    properties = {f"p{index}": {"type": "string", "maxLength": index} for index in range(150_000)}
    return encoded(with_tool({"type": "object", "properties": properties}))


def consecutive_user_messages(count: int) -> bytes:
    return encoded(
        {"model": PREVIEW, "max_tokens": 1, "messages": [{"role": "user", "content": "a"}] * count}
    )


def huge_prompt() -> bytes:
    """One user message of almost 8 MiB of words: far over the context window."""
    words = "lorem ipsum dolor sit amet " * ((BODY_LIMIT - 200) // 27)
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": words}]})


def large_journal_entry() -> bytes:
    """A 64 KiB body (the journal keeps up to 64 KiB of each)."""
    return encoded(
        {"model": PREVIEW, "messages": [{"role": "user", "content": "x" * (64 * 1024 - 100)}], "n": 0}
    )


REGEX_RULE = {
    "name": "nested quantifier",
    "match": {"last_user": {"regex": "(a+)+$"}},
    "reply": {"content": "x"},
}
PACED_RULE = {
    "name": "slow tokens",
    "match": {"last_user": {"equals": "pace me"}},
    "reply": {"content": "one two three four five six", "timing": {"token_ms": 5000}},
}


def write_fixture(folder: Path, rules: Any) -> Path:
    path = folder / "rules.json"
    path.write_text(json.dumps({"rules": list(rules)}))
    return path


def regex_victim(count: int, nonce: str = "") -> bytes:
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": "a" * count + "!" + nonce}]})


def paced_stream() -> bytes:
    return encoded(
        {
            "model": PREVIEW,
            "stream": True,
            "messages": [{"role": "user", "content": "pace me"}],
            "max_tokens": 50,
        }
    )


# Issue 23: the scripting side.
def turn_rules(count: int = 2_000) -> list[dict[str, Any]]:
    """Rules no request fits, each asking for the turn (which each rule used to count again)."""
    return [{"match": {"turn": 100_000 + index}, "reply": {"content": "x"}} for index in range(count)]


def long_conversation(messages: int = 30_001, nonce: str = "") -> bytes:
    turns = [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "go on"}] * (messages // 2)
    return encoded({"model": LATER, "messages": [{"role": "user", "content": f"hi {nonce}"}, *turns]})


REFUND_RULES = [
    {
        "name": f"refund {index}",
        "match": {"last_user": {"regex": "(?i)refund.{0,200}order"}},
        "reply": {"content": "x"},
    }
    for index in range(100)
]


def refund_message(nonce: str = "") -> bytes:
    """A 512 KiB user message full of "refund" and never "order": each regex reads all of it."""
    text = f"{nonce} " + "refund my money please " * (512 * 1024 // 23)
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": text}]})


THRASH_RULE = {"name": "thrash", "match": {"last_user": {"regex": "(?s)x.{300}y"}}, "reply": {"content": "x"}}


def thrash_message(nonce: str = "") -> bytes:
    """1 MiB of x's and a's and no y: RE2's DFA cache thrashes on (?s)x.{300}y."""
    text = "".join("xa"[(index * 7919 + len(nonce)) % 3 % 2] for index in range(1 << 20))
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": nonce + text}]})


TEMPLATE_RULE = {"name": "echo", "match": {"last_role": "user"}, "reply": {"content": "{{system}}" * 6_000}}


def system_and_turns(nonce: str = "") -> bytes:
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}] * 2_000
    messages = [{"role": "system", "content": "be brief"}, *turns, {"role": "user", "content": f"? {nonce}"}]
    return encoded({"model": LATER, "messages": messages, "max_tokens": 5})


def bad_rules(count: int = 9_000) -> bytes:
    return encoded({"rules": [1] * count})


def valid_rules(count: int = 10_000, nonce: str = "") -> bytes:
    rules = [
        {"match": {"last_user": {"equals": f"q{nonce}{index}"}}, "reply": {"content": "a"}}
        for index in range(count)
    ]
    return encoded({"rules": rules})


def converse_deep(depth: int = 990) -> bytes:
    deep = '{"a":' * depth + "1" + "}" * depth
    result = '{"toolResult": {"toolUseId": "t", "content": [{"json": ' + deep + "}]}}"
    return ('{"messages": [{"role": "user", "content": [{"text": "hi"}, ' + result + "]}]}").encode()


def converse_stops(count: int = 400_000) -> bytes:
    config = {"stopSequences": [f"s{index}" for index in range(count)]}
    return encoded({"messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": config})


def long_field_name(length: int = 100_000) -> bytes:
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": "hi"}], "x" * length: 1})


def spaces(megabytes: int = 2) -> bytes:
    return encoded({"model": PREVIEW, "messages": [{"role": "user", "content": " " * (megabytes << 20)}]})


SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "a" * 64,
    "X-Amz-Date": "20261201T120000Z",
}
HUGE_HEADERS = {f"X-Filler-{index}": "v" * 8_000 for index in range(100)}


# The vllm surface (issue 25): bodies vLLM would spend without bound on.
VLLM_MINI = "ai21labs/AI21-Jamba-1.5-Mini"


def vllm_broken_messages(count: int = 700_000) -> bytes:
    """Messages without a role: one pydantic error each (vLLM lists them all)."""
    return encoded({"messages": [{"x": 1}] * count})


def vllm_echoed_body(megabytes: int = 7) -> bytes:
    """A before-validator's error, whose message echoes the whole body (as vLLM's does)."""
    content = "a " * (megabytes * 512 * 1024)
    body = {"messages": [{"role": "user", "content": content}], "stream_options": {"include_usage": True}}
    return encoded(body)


def vllm_many_choices() -> bytes:
    return encoded({"model": VLLM_MINI, "messages": [{"role": "user", "content": "hi"}], "n": 10**9})


def vllm_stops(count: int = 700_000) -> bytes:
    """Distinct stop strings (vLLM takes any number): each looked for in the answer."""
    stops = [f"q{i}" for i in range(count)]
    return encoded({"model": VLLM_MINI, "messages": [{"role": "user", "content": "hi"}], "stop": stops})


def vllm_tokenize(megabytes: int = 7) -> bytes:
    return encoded({"prompt": "".join(f"w{index} " for index in range(megabytes * 150_000))})
