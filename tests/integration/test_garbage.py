"""A request, once answered, is freed by reference counting: nothing it leaves behind waits for
the cyclic garbage collector. (A cycle through the request made every request wait for a
collection, and cost about a tenth of the throughput under load: bench/.)"""

from __future__ import annotations

import gc
import http.client
import json
from collections.abc import Iterator

import pytest
from aiohttp import web
from jamba_emulator.config import Config
from jamba_emulator.http.exchange import Exchange
from jamba_emulator.server import BackgroundServer

API_PATH = "/studio/v1/chat/completions"
VALID = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "Hello"}]}
BODIES = {
    "valid": VALID,
    "streamed": {**VALID, "stream": True},
    "invalid (422)": {**VALID, "temperature": 5, "max_tokens": -1},
    "unknown model (422)": {**VALID, "model": "jamba-unknown"},
}
NEW_BODIES = {"valid, new prompts", "invalid (422), new bodies"}  # each request's prompt numbered afresh
BODIES["valid, new prompts"] = VALID
BODIES["invalid (422), new bodies"] = BODIES["invalid (422)"]


def numbered(body: dict[str, object], number: int) -> dict[str, object]:
    return {**body, "messages": [{"role": "user", "content": f"Request {number}"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(Config(port=0)) as running:
        yield running


def send(connection: http.client.HTTPConnection, body: object) -> int:
    connection.request(
        "POST",
        API_PATH,
        body=json.dumps(body),
        headers={"Content-Type": "application/json", "Authorization": "Bearer test"},
    )
    answer = connection.getresponse()
    answer.read()
    return answer.status


@pytest.mark.parametrize("case", BODIES)
def test_an_answered_request_leaves_no_cycle_behind(server: BackgroundServer, case: str) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)  # one kept-alive connection
    bodies = [numbered(BODIES[case], n) if case in NEW_BODIES else BODIES[case] for n in range(23)]
    statuses = {send(connection, body) for body in bodies[:3]}  # warm: lazy imports, caches
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        statuses |= {send(connection, body) for body in bodies[3:]}
        gc.collect()
        left = [thing for thing in gc.garbage if isinstance(thing, (web.BaseRequest, Exchange))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        connection.close()
    assert statuses == {422 if "422" in case else 200}
    assert left == [], f"{len(left)} requests or exchanges were only freed by the garbage collector"
