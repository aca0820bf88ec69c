"""Finding 1: a tool schema could reach outside the process. A `$ref` to a file answered a 422
quoting what the file held (and told which files exist); one to a URL made the server fetch it,
freezing every request for 30 s when the listener never answered. Now every reference outside the
schema is refused, before anything is read, with a 422 of its own."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest
from jamba_emulator.chat.toolschema import compiled_schema, outside_reference
from jamba_emulator.errors import RefusedReference

from tests.adversarial import bodies
from tests.adversarial.conftest import Serve
from tests.support import AUTH

API = "/studio/v1/chat/completions"
PARAMETERS_LOC = ["body", "tools", 0, "function", "parameters"]


def test_a_file_reference_is_refused_and_the_file_is_not_quoted(serve: Serve, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(bodies.secret_document()))
    server = serve()
    answer = httpx.post(server.url + API, content=bodies.file_ref(secret), headers=AUTH)
    assert answer.status_code == 422
    (item,) = answer.json()["detail"]
    assert (item["loc"], item["type"]) == (PARAMETERS_LOC, "value_error.schema_ref")
    assert bodies.SECRET not in answer.text


def test_whether_a_file_exists_cannot_be_told_from_the_answer(serve: Serve, tmp_path: Path) -> None:
    (tmp_path / "there.json").write_text("{}")
    server = serve()

    def msg(path: Path) -> str:
        answer = httpx.post(server.url + API, json=bodies.with_tool({"$ref": path.as_uri()}), headers=AUTH)
        return str(answer.json()["detail"][0]["msg"]).replace(path.as_uri(), "PATH")

    assert msg(tmp_path / "there.json") == msg(tmp_path / "not-there.json")


@pytest.mark.parametrize(
    "parameters",
    [
        {"$ref": "http://127.0.0.1:{port}/schema.json"},
        {"type": "object", "properties": {"deep": {"items": {"$ref": "http://127.0.0.1:{port}/x#/a"}}}},
        {"$id": "http://127.0.0.1:{port}/", "properties": {"a": {"$ref": "other.json"}}},
        {"$schema": "http://127.0.0.1:{port}/meta", "type": "object"},
        {"$id": "http://127.0.0.1:{port}/base", "$ref": "#/definitions/a", "definitions": {"a": {}}},
    ],
    ids=["ref", "nested-ref", "relative-ref-under-id", "remote-metaschema", "local-ref-under-remote-id"],
)
def test_no_connection_is_made_to_a_listener_a_schema_names(
    serve: Serve, parameters: dict[str, object]
) -> None:
    server = serve()
    with socket.socket() as listener:  # accepts and never answers: a fetch would hang on it
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.3)
        port = listener.getsockname()[1]
        body = json.loads(json.dumps(bodies.with_tool(parameters)).replace("{port}", str(port)))
        started = time.monotonic()
        answer = httpx.post(server.url + API, json=body, headers=AUTH, timeout=60)
        # Before: 30 s, the fetch's own timeout; now a few ms. 3 s is ten times neither.
        assert time.monotonic() - started < 3, "the server waited on the listener"
        assert answer.status_code in (200, 422)
        with pytest.raises(TimeoutError):
            listener.accept()


def test_references_outside_the_schema_are_found_anywhere_and_local_ones_pass() -> None:
    assert outside_reference({"properties": {"a": {"items": [{}, {"$ref": "file:///etc/passwd"}]}}}) == (
        "/properties/a/items/1: $ref 'file:///etc/passwd'"
    )
    assert outside_reference({"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#"}}}) is None
    with pytest.raises(RefusedReference):
        compiled_schema(json.dumps({"$ref": "other.json#/x"}))
    assert compiled_schema(
        json.dumps({"$ref": "#/definitions/a", "definitions": {"a": {"type": "integer"}}})
    ).is_valid(3)
