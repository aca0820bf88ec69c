"""Successful answers: shape, finish_reason, usage, ids, streaming, n, determinism."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from jamba_emulator.chat.tokenizer import ApproximateTokenizer
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.schema import Contract
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH

from tests.support import AUTH, SEED_EXAMPLE, chat, post, sse_payloads

CONTRACT = Contract(load_catalog_document())
ID = re.compile(r"^chatcmpl-[A-Za-z0-9]{29}$")


def assert_valid(schema_file: str, instance: Any) -> None:
    errors = [e.message for e in CONTRACT.validator(schema_file).iter_errors(instance)]
    assert not errors, errors


async def test_seed_example_request_byte_for_byte(client: Any) -> None:
    raw = SEED_EXAMPLE["request_body"].encode()
    assert b'"stop": null' in raw and b'"temperature": 1,' in raw
    response = await client.post(API_PATH, data=io.BytesIO(raw), headers=AUTH)
    assert response.status == 200
    body = await response.json()
    assert_valid("chat-response.schema.json", body)
    assert ID.match(body["id"])
    assert body["usage"]["prompt_tokens"] == 26
    assert body["usage"]["completion_tokens"] <= 200


def test_seed_example_response_validates_against_our_schema() -> None:
    assert_valid("chat-response.schema.json", SEED_EXAMPLE["response"])


async def test_usage_adds_up_and_counts_the_content(client: Any) -> None:
    _, body, _ = await post(client, chat())
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    content = body["choices"][0]["message"]["content"]
    assert usage["completion_tokens"] == ApproximateTokenizer().count(content) > 0


async def test_natural_end_is_stop(client: Any) -> None:
    _, body, _ = await post(client, chat())
    assert body["choices"][0]["finish_reason"] == "stop"


async def test_max_tokens_cuts_with_length_and_exact_count(client: Any) -> None:
    _, full, _ = await post(client, chat())
    full_tokens = full["usage"]["completion_tokens"]
    budget = full_tokens // 2
    _, cut, _ = await post(client, chat(max_tokens=budget))
    choice = cut["choices"][0]
    assert choice["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == budget
    assert full["choices"][0]["message"]["content"].startswith(choice["message"]["content"])
    assert len(choice["message"]["content"]) < len(full["choices"][0]["message"]["content"])


async def test_max_tokens_equal_to_the_answer_is_a_natural_stop(client: Any) -> None:
    _, full, _ = await post(client, chat())
    _, same, _ = await post(client, chat(max_tokens=full["usage"]["completion_tokens"]))
    assert same["choices"][0]["finish_reason"] == "stop"
    assert same["choices"][0]["message"] == full["choices"][0]["message"]


async def test_max_tokens_zero_gives_empty_content_and_length(client: Any) -> None:
    _, body, _ = await post(client, chat(max_tokens=0))
    assert body["choices"][0]["message"]["content"] == ""
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 0


async def test_stop_sequence_is_not_included_in_content(client: Any) -> None:
    _, full, _ = await post(client, chat())
    text = full["choices"][0]["message"]["content"]
    words = text.split(" ")
    stop = " " + words[len(words) // 2]  # a word from the middle of the answer
    _, cut, _ = await post(client, chat(stop=[stop, "never-in-the-answer"]))
    choice = cut["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert stop not in choice["message"]["content"]
    assert choice["message"]["content"] == text[: text.index(stop)]


async def test_stop_given_as_a_string(client: Any) -> None:
    _, full, _ = await post(client, chat())
    text = full["choices"][0]["message"]["content"]
    _, cut, _ = await post(client, chat(stop="."))
    assert cut["choices"][0]["message"]["content"] == text[: text.index(".")]


async def test_identical_requests_same_text_different_ids(client: Any) -> None:
    bodies = [(await post(client, chat()))[1] for _ in range(3)]
    assert len({body["id"] for body in bodies}) == 3
    assert all(ID.match(body["id"]) for body in bodies)
    assert len({json.dumps([b["choices"], b["usage"]]) for b in bodies}) == 1


async def test_defaults_and_explicit_defaults_agree(client: Any) -> None:
    _, implicit, _ = await post(client, chat())
    _, explicit, _ = await post(
        client, chat(temperature=1, top_p=1.0, max_tokens=4096, n=1, stream=False, stop=None)
    )
    assert implicit["choices"] == explicit["choices"]


async def test_different_prompts_get_different_answers(client: Any) -> None:
    answers = {
        (await post(client, chat(f"question {i}")))[1]["choices"][0]["message"]["content"] for i in range(5)
    }
    assert len(answers) == 5


async def test_n_choices_differ_and_usage_adds_up(client: Any) -> None:
    _, body, _ = await post(client, chat(n=4))
    choices = body["choices"]
    assert [choice["index"] for choice in choices] == [0, 1, 2, 3]
    assert len({choice["message"]["content"] for choice in choices}) == 4
    _, single, _ = await post(client, chat())
    assert choices[0]["message"] == single["choices"][0]["message"]
    assert_valid("chat-response.schema.json", body)


async def test_seed_option_changes_the_text(make_client: Any) -> None:
    default, reseeded = await make_client(), await make_client(seed=7)
    first = (await post(default, chat()))[1]["choices"][0]["message"]["content"]
    second = (await post(reseeded, chat()))[1]["choices"][0]["message"]["content"]
    assert first != second


async def test_explicit_seed_makes_ids_reproducible(make_client: Any) -> None:
    one, two = await make_client(seed=7), await make_client(seed=7)
    ids_one = [(await post(one, chat()))[1]["id"] for _ in range(3)]
    ids_two = [(await post(two, chat()))[1]["id"] for _ in range(3)]
    assert ids_one == ids_two
    assert len(set(ids_one)) == 3


async def test_default_ids_differ_between_servers(make_client: Any) -> None:
    one, two = await make_client(), await make_client()
    assert (await post(one, chat()))[1]["id"] != (await post(two, chat()))[1]["id"]


async def stream_events(client: Any, body: dict[str, Any]) -> tuple[Any, list[str]]:
    response = await client.post(API_PATH, json={**body, "stream": True}, headers=AUTH)
    assert response.status == 200
    return response, sse_payloads(await response.text())


async def test_stream_framing_matches_the_contract(client: Any) -> None:
    response, payloads = await stream_events(client, chat())
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in payloads[:-1]]
    for chunk in chunks:
        assert_valid("chat-chunk.schema.json", chunk)
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert all("usage" not in chunk for chunk in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])


async def test_stream_joins_into_the_plain_answer(client: Any) -> None:
    for fields in ({}, {"max_tokens": 7}, {"stop": "."}, {"max_tokens": 0}):
        _, plain, _ = await post(client, chat(**fields))
        _, payloads = await stream_events(client, chat(**fields))
        chunks = [json.loads(payload) for payload in payloads[:-1]]
        deltas = [chunk["choices"][0]["delta"].get("content", "") for chunk in chunks]
        assert "".join(deltas) == plain["choices"][0]["message"]["content"]
        assert chunks[-1]["usage"] == plain["usage"]
        assert chunks[-1]["choices"][0]["finish_reason"] == plain["choices"][0]["finish_reason"]
        # One token per event: the token deltas number completion_tokens.
        assert len(chunks) - 2 == plain["usage"]["completion_tokens"]


async def test_openapi_document_bundles_every_schema(client: Any) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    text = json.dumps(document)
    refs = re.findall(r'"\$ref": "([^"]+)"', text)
    assert refs and all(ref.startswith("#/") for ref in refs), refs
    for ref in refs:
        node = document
        for part in ref[2:].split("/"):
            node = node[part]
    assert {"ChatRequest", "ChatResponse", "ChatChunk", "ErrorBody"} <= set(document["components"]["schemas"])


SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "a" * 64,
    "X-Amz-Date": "20261201T120000Z",
}
CONVERSE = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
ROUTED = {"messages": [{"role": "user", "content": "hi"}]}
EVERY_SURFACE = [  # (path, headers, a valid body, a body its contract refuses)
    (API_PATH, AUTH, chat(), chat(max_tokens="x")),
    ("/model/ai21.jamba-1-5-mini-v1:0/invoke", SIGNED, ROUTED, {**ROUTED, "top_p": 5}),
    ("/model/ai21.jamba-1-5-mini-v1:0/converse", SIGNED, CONVERSE, {**CONVERSE, "messages": [1]}),
    ("/model/ai21.jamba-1-5-mini-v1:0/converse-stream", SIGNED, CONVERSE, {"inferenceConfig": {}}),
    ("/v1/projects/p/locations/r/publishers/ai21/models/jamba-1.5-mini:rawPredict", AUTH, ROUTED, {}),
    ("/v1/chat/completions", {"api-key": "k"}, {**chat(), "model": "AI21-Jamba-1.5-Mini"}, chat(n=0)),
    (
        "/v1/chat/completions",
        {},
        {**chat(), "model": "ai21labs/AI21-Jamba-1.5-Mini"},
        {**chat(), "model": "ai21labs/AI21-Jamba-1.5-Mini", "temperature": "hot"},
    ),
]


async def test_no_validator_is_compiled_per_request(client: Any, monkeypatch: Any) -> None:
    """On every surface: each contract, the surfaces' own schemas included, compiled at start-up."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a JSON Schema validator was compiled while answering a request")

    monkeypatch.setattr("jsonschema_rs.Draft7Validator", refuse)  # the hot path's, built at start
    monkeypatch.setattr("jsonschema.Draft7Validator", refuse)  # the reference, not on the hot path
    monkeypatch.setattr("jamba_emulator.contract.pymodel.create_model", refuse)  # vLLM's pydantic model
    for body in (chat(), chat(max_tokens="x"), chat(stream=True)):
        response = await client.post(API_PATH, json=body, headers=AUTH)
        assert response.status in (200, 422)
    for path, headers, valid, refused in EVERY_SURFACE:
        answers = [await client.post(path, json=body, headers=headers) for body in (valid, refused)]
        assert [answer.status for answer in answers] in ([200, 422], [200, 400]), (path, answers)
