"""Bedrock's SigV4 `Authorization` parsed from what a client controls: missing, malformed, huge or
odd parts each get a 403 naming the fault, in bounded time, never a 500; the server keeps serving
and the journal never shows the signature."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.adversarial.conftest import Serve

PATH = "/model/ai21.jamba-1-5-mini-v1:0/invoke"
BODY = json.dumps({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})
GOOD = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "a" * 64
)
DATE = {"X-Amz-Date": "20261201T120000Z"}
MALFORMED: dict[str, str | bytes | None] = {
    "no auth at all": None,
    "Bearer token": "Bearer abc",
    "scheme only": "AWS4-HMAC-SHA256",
    "empty parts": "AWS4-HMAC-SHA256 ,,,,",
    "no signature": GOOD.rpartition(",")[0],
    "short credential": GOOD.replace("AKIDEXAMPLE/20261201/us-east-1/bedrock/aws4_request", "AKIDEXAMPLE"),
    "credential of 5000 parts": GOOD.replace("/aws4_request", "/x" * 2500 + "/aws4_request"),
    "signature not hex": GOOD.replace("a" * 64, "z" * 64),
    "signature too long": GOOD.replace("a" * 64, "a" * 65),
    "host not signed": GOOD.replace("content-type;host;x-amz-date", "content-type;x-amz-date"),
    "7 KB of commas": "AWS4-HMAC-SHA256 " + "," * 7000,
    "7 KB of equals": "AWS4-HMAC-SHA256 Credential=" + "=" * 7000,
    "non-ASCII key": GOOD.replace("AKIDEXAMPLE", "ÄKIDEXAMPLE").encode("utf-8"),
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_signature_is_a_403_naming_the_fault(serve: Serve, header: str | bytes | None) -> None:
    server = serve()
    headers = {**DATE, **({"Authorization": header} if header is not None else {})}
    started = time.perf_counter()
    answer = httpx.post(server.url + PATH, content=BODY, headers=headers)
    assert time.perf_counter() - started < 2
    assert answer.status_code == 403, answer.text
    assert answer.headers["x-amzn-ErrorType"] in (
        "MissingAuthenticationTokenException",
        "IncompleteSignatureException",
    )
    assert answer.json()["message"]
    assert (
        httpx.post(server.url + PATH, content=BODY, headers={**DATE, "Authorization": GOOD}).status_code
        == 200
    )


def test_a_signature_without_a_date_is_incomplete(serve: Serve) -> None:
    answer = httpx.post(serve().url + PATH, content=BODY, headers={"Authorization": GOOD})
    assert (answer.status_code, answer.headers["x-amzn-ErrorType"]) == (403, "IncompleteSignatureException")


def test_a_header_past_the_http_limit_is_refused_by_the_parser_not_a_500(serve: Serve) -> None:
    server = serve()
    answer = httpx.post(server.url + PATH, content=BODY, headers={**DATE, "Authorization": GOOD + "," * 9000})
    assert 400 <= answer.status_code < 500
    assert (
        httpx.post(server.url + PATH, content=BODY, headers={**DATE, "Authorization": GOOD}).status_code
        == 200
    )


def test_the_journal_hides_the_signature(serve: Serve) -> None:
    server = serve()
    httpx.post(server.url + PATH, content=BODY, headers={**DATE, "Authorization": GOOD})
    assert server.core is not None
    (entry,) = server.core.journal.entries()
    assert dict(entry.headers)["Authorization"] == "AWS4-HMAC-SHA256 [redacted]"


CONVERSE = "/model/ai21.jamba-1-5-mini-v1:0/converse"
HUGE_CONVERSE = {
    "a quarter million messages of empty content": {
        "messages": [{"role": "user", "content": []}] * 250_000,
    },
    "a quarter million unsupported blocks": {
        "messages": [{"role": "user", "content": [{"image": {}}] * 250_000}],
    },
    "a toolUse input nested 100,000 deep": {
        "messages": [
            {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "f", "input": 0}}]}
        ],
    },
}


@pytest.mark.parametrize("body", HUGE_CONVERSE.values(), ids=HUGE_CONVERSE.keys())
def test_a_huge_converse_request_gets_a_short_validation_error_in_bounded_time(
    serve: Serve, body: dict[str, object]
) -> None:
    server = serve()
    raw = json.dumps(body).encode()
    if b'"input": 0' in raw:  # nested by hand: json.dumps would recurse
        raw = raw.replace(b'"input": 0', b'"input": ' + b"[" * 100_000 + b"]" * 100_000)
    assert len(raw) < 8 * 1024 * 1024
    started = time.perf_counter()
    answer = httpx.post(
        server.url + CONVERSE, content=raw, headers={**DATE, "Authorization": GOOD}, timeout=30
    )
    assert time.perf_counter() - started < 10
    assert answer.status_code == 400 and answer.headers["x-amzn-ErrorType"] == "ValidationException"
    assert len(answer.content) < 20_000 and "validation error" in answer.json()["message"]
    assert (
        httpx.post(server.url + PATH, content=BODY, headers={**DATE, "Authorization": GOOD}).status_code
        == 200
    )
