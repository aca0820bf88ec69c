"""Finding 9: secrets and the admin API. The journal hid `Authorization` only; the `--unmatched
error` 404 quoted a matched `Authorization`; keys were compared with `in`; on loopback the admin
API checked neither Host nor Origin and took any content type, so a web page could add rules and,
through DNS rebinding, read the journal. Now one list of credential headers is hidden everywhere,
keys are compared in constant time, and the admin API refuses what a browser page would send."""

from __future__ import annotations

import hmac
import json
from typing import Any

import httpx
import pytest
from jamba_emulator.script.credentials import CREDENTIAL_HEADERS, REDACTED, accepted

from tests.adversarial.conftest import Serve

API = "/studio/v1/chat/completions"
BODY = {"model": "jamba-mini", "messages": [{"role": "user", "content": "hi"}]}
SENT = {
    "Authorization": "Bearer sk-secret-1",
    "Proxy-Authorization": "Basic c2VjcmV0LTI=",
    "X-Api-Key": "secret-3",
    "api-key": "secret-4",
    "X-Amz-Security-Token": "secret-5",
    "Cookie": "session=secret-6",
    "X-Emulator-Admin-Token": "secret-7",
}


def test_every_credential_header_is_hidden_in_the_journal(serve: Serve) -> None:
    server = serve()
    httpx.post(server.url + API, json=BODY, headers=SENT)
    assert server.core is not None
    (entry,) = server.core.journal.entries()
    shown = dict(entry.headers)
    assert {name.lower() for name in SENT} <= CREDENTIAL_HEADERS
    assert (
        shown["Authorization"] == f"Bearer {REDACTED}" and shown["Proxy-Authorization"] == f"Basic {REDACTED}"
    )
    for name in ("X-Api-Key", "api-key", "X-Amz-Security-Token", "Cookie", "X-Emulator-Admin-Token"):
        assert shown[name] == REDACTED
    listing = httpx.get(server.url + "/_emulator/journal").text
    assert "secret" not in listing.replace("X-Emulator-Admin-Token", "")


def test_the_unmatched_report_does_not_quote_a_credential(serve: Serve, tmp_path: Any) -> None:
    rule = {
        "name": "only the right key",
        "match": {"headers": {"Authorization": "Bearer the-right-key"}},
        "reply": {"content": "x"},
    }
    fixture = tmp_path / "rules.json"
    fixture.write_text(json.dumps({"rules": [rule]}))
    server = serve(unmatched="error", fixtures=(str(fixture),))
    answer = httpx.post(server.url + API, json=BODY, headers={"Authorization": "Bearer sk-wrong-secret"})
    assert answer.status_code == 404
    assert "sk-wrong-secret" not in answer.text and "the-right-key" not in answer.text
    assert "header authorization is another value (a credential: values not shown)" in answer.json()["detail"]


def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    keys = ("first", "second", "third")
    assert accepted("first", keys) and not accepted("fourth", keys)
    assert len(compared) == 6, "every key compared, the match found first included"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example:8021"}, 403),
        ({"Host": "127.0.0.1.evil.example"}, 403),
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "null"}, 403),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Host": "localhost:8021", "Origin": "http://localhost:8021"}, 201),
        ({"Host": "127.0.0.1"}, 201),
        ({"Host": "[::1]:8021"}, 201),
        ({"Host": "app.localhost"}, 201),
    ],
)
def test_the_admin_api_refuses_what_a_web_page_would_send(
    serve: Serve, headers: dict[str, str], status: int
) -> None:
    server = serve()
    document = json.dumps({"rules": [{"name": "planted", "reply": {"content": "planted"}}]})
    sent = {"Content-Type": "application/json", **headers}
    answer = httpx.post(server.url + "/_emulator/rules", content=document, headers=sent)
    assert answer.status_code == status, answer.text
    assert server.core is not None and bool(server.core.script) == (status == 201)
    if status != 201:
        assert "detail" in answer.json()


def test_a_cross_site_page_cannot_read_the_journal_either(serve: Serve) -> None:
    server = serve()
    assert (
        httpx.get(server.url + "/_emulator/journal", headers={"Host": "rebound.example"}).status_code == 403
    )
    assert (
        httpx.get(server.url + "/_emulator/journal", headers={"Origin": "https://evil.example"}).status_code
        == 403
    )
    assert httpx.get(server.url + "/_emulator/journal").status_code == 200
    assert httpx.get(server.url + "/_emulator/health", headers={"Host": "rebound.example"}).status_code == 200
