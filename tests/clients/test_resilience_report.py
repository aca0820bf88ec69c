"""The resilience report, one verdict at a time, each shown by a real client where one behaves
that way (the ai21 SDK's retries ignore Retry-After, the OpenAI client's honour it) and otherwise
by a short httpx script that misbehaves (or behaves) on purpose; and `jamba-emulator report`,
whose exit status gates CI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from ai21 import AI21Client
from ai21.models.chat import ChatMessage
from jamba_emulator.cli import main as cli
from jamba_emulator.http.surfaces.studio import CHAT_PATH
from jamba_emulator.script.resilience import report as resilience
from jamba_emulator.server import BackgroundServer
from jamba_emulator.testing import JambaEmulator
from openai import OpenAI

pytestmark = pytest.mark.clients

BODY = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "Hello"}]}
AUTH = {"Authorization": "Bearer any-key"}
HI = [ChatMessage(role="user", content="Hi")]


@pytest.fixture
def http_client(emulator: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, headers=AUTH, timeout=10) as client:
        yield client


def test_the_ai21_sdk_retries_a_429_sooner_than_its_retry_after(
    emulator: BackgroundServer, scripted: JambaEmulator, http: httpx.Client
) -> None:
    scripted.error(429, headers={"Retry-After": "3"}, times=1)
    client = AI21Client(api_key="any-key", api_host=emulator.api_host, http_client=http, num_retries=2)
    client.chat.completions.create(
        model="jamba-instruct-preview", messages=[ChatMessage(role="user", content="Hi")]
    )
    verdict = scripted.report().verdicts["retry_after_ignored"]
    assert [entry.status for entry in scripted.requests] == [429, 200]
    assert verdict.outcome == "FAILED"
    assert verdict.evidence[0].startswith("request #") and "Retry-After: 3" in verdict.evidence[0]


def test_the_openai_client_waits_for_retry_after(emulator: BackgroundServer, scripted: JambaEmulator) -> None:
    scripted.error(429, headers={"Retry-After": "1"}, times=1)
    with OpenAI(base_url=emulator.api_host, api_key="any-key", max_retries=2) as client:
        client.chat.completions.create(model="jamba-instruct-preview", messages=BODY["messages"])  # type: ignore[arg-type]
    assert [entry.status for entry in scripted.requests] == [429, 200]
    assert scripted.report().verdicts["retry_after_ignored"].outcome == "passed"


def test_retrying_a_422_fails_and_not_retrying_it_passes(
    scripted: JambaEmulator, http_client: httpx.Client
) -> None:
    invalid = {**BODY, "temperature": 5}
    assert http_client.post(CHAT_PATH, json=invalid).status_code == 422
    assert scripted.report().verdicts["unretryable_retried"].outcome == "passed"
    time.sleep(0.05)
    http_client.post(CHAT_PATH, json=invalid)  # the same wrong request again: it cannot succeed
    verdict = scripted.report().verdicts["unretryable_retried"]
    assert verdict.outcome == "FAILED" and "answered 422" in verdict.evidence[0]


@pytest.mark.parametrize(("waits", "outcome"), [((0.1, 0.1, 0.1), "FAILED"), ((0.05, 0.15, 0.45), "passed")])
def test_retries_with_equal_gaps_are_no_backoff(
    scripted: JambaEmulator, http_client: httpx.Client, waits: tuple[float, ...], outcome: str
) -> None:
    scripted.sequence({"error": {"status": 503}}, {"error": {"status": 503}}, {"error": {"status": 503}})
    statuses = [http_client.post(CHAT_PATH, json=BODY).status_code]
    for wait in waits:
        time.sleep(wait)
        statuses.append(http_client.post(CHAT_PATH, json=BODY).status_code)
    assert statuses == [503, 503, 503, 200]
    assert scripted.report().verdicts["no_backoff"].outcome == outcome


@pytest.mark.parametrize(("retries", "outcome"), [(False, "FAILED"), (True, "passed")])
def test_a_stream_cut_short_must_be_retried(
    scripted: JambaEmulator, http_client: httpx.Client, retries: bool, outcome: str
) -> None:
    scripted.fault("drop_mid_stream", after_events=2, times=1)
    streamed = {**BODY, "stream": True}
    with pytest.raises(httpx.HTTPError), http_client.stream("POST", CHAT_PATH, json=streamed) as response:
        for _ in response.iter_lines():
            pass
    if retries:
        with http_client.stream("POST", CHAT_PATH, json=streamed) as response:
            assert sum(1 for _ in response.iter_lines()) > 2
    verdict = scripted.report().verdicts["broken_stream_abandoned"]
    assert verdict.outcome == outcome
    if not retries:
        assert "drop_mid_stream" in verdict.evidence[0]


@pytest.mark.parametrize(("apart", "outcome"), [(0.0, "FAILED"), (0.2, "passed")])
def test_the_same_request_sent_twice_at_once_is_a_duplicate(
    emulator: BackgroundServer, scripted: JambaEmulator, apart: float, outcome: str
) -> None:
    async def twice() -> None:
        async with httpx.AsyncClient(base_url=emulator.url, headers=AUTH) as client:
            first = client.post(CHAT_PATH, json=BODY)
            if apart:
                await first
                await asyncio.sleep(apart)
                await client.post(CHAT_PATH, json=BODY)
            else:
                await asyncio.gather(first, client.post(CHAT_PATH, json=BODY))

    asyncio.run(twice())
    # Sent together they arrive well within a millisecond on a quiet machine; the report is read
    # at 50 ms here to keep the test steady on a loaded one (the millisecond itself is held by
    # tests/unit/test_resilience.py).
    found = resilience(scripted.requests, duplicate=0.05)
    assert found.verdicts["duplicate_request"].outcome == outcome


def test_the_report_command_exits_non_zero_when_a_check_it_was_told_to_gate_on_fails(
    emulator: BackgroundServer,
    scripted: JambaEmulator,
    http: httpx.Client,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scripted.error(429, headers={"Retry-After": "3"}, times=1)
    client = AI21Client(api_key="any-key", api_host=emulator.api_host, http_client=http, num_retries=2)
    client.chat.completions.create(
        model="jamba-instruct-preview", messages=[ChatMessage(role="user", content="Hi")]
    )
    assert cli(["report", "--url", emulator.url]) == 0  # the report alone gates nothing
    shown = capsys.readouterr().out
    assert "FAILED   retry_after_ignored" in shown and "passed   unretryable_retried" not in shown
    assert cli(["report", "--url", emulator.url, "--fail-on", "unretryable_retried,no_backoff"]) == 0
    assert cli(["report", "--url", emulator.url, "--fail-on", "retry_after_ignored"]) == 1
    assert "failed: retry_after_ignored" in capsys.readouterr().err
    assert cli(["report", "--url", emulator.url, "--fail-on", "all", "--json"]) == 1
    with pytest.raises(SystemExit):
        cli(["report", "--url", emulator.url, "--fail-on", "retry_after"])
    assert cli(["report", "--url", "http://127.0.0.1:9"]) == 2
