"""Finding 2: validation errors were collected in quadratic time and all listed: 16,000 empty
messages took 5 s, 8 MiB of them did not answer in 60 s (911 MB), and a health check waited as
long. Now the search is bounded (views, a budget) and the answer lists at most --max-errors items
and says how many more were found."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from jamba_emulator.chat.budget import ERRORS_FOUND, Budget
from jamba_emulator.contract.catalog import load_catalog_document
from jamba_emulator.contract.schema import Contract
from jamba_emulator.contract.violations import TOO_MANY, VIEW_WEIGHT
from jamba_emulator.errors import ValidationFailed

from tests.adversarial import bodies
from tests.adversarial.conftest import Serve
from tests.support import AUTH

API = "/studio/v1/chat/completions"
CONTRACT = Contract(load_catalog_document())


def test_sixteen_thousand_empty_messages_get_the_cap_and_a_count(serve: Serve) -> None:
    server = serve()
    answer = httpx.post(server.url + API, content=bodies.empty_messages(16_000), headers=AUTH, timeout=60)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert len(detail) == 1001
    assert detail[0] == {
        "loc": ["body", "messages", 0, "content"],
        "msg": "ensure this value has at least 1 characters",
        "type": "value_error.any_str.min_length",
    }
    assert detail[-1]["type"] == TOO_MANY and detail[-1]["loc"] == ["body"]


def test_the_cap_is_configurable(serve: Serve) -> None:
    server = serve(max_errors=5)
    detail = httpx.post(server.url + API, content=bodies.empty_messages(7), headers=AUTH).json()["detail"]
    assert [item["loc"][2] for item in detail[:5]] == [0, 1, 2, 3, 4]
    assert detail[5] == {"loc": ["body"], "msg": "2 more errors not listed (at most 5 are)", "type": TOO_MANY}


def test_the_search_stops_at_its_budget() -> None:
    budget = Budget()
    with pytest.raises(ValidationFailed) as failure:
        CONTRACT.validate_request(
            {"model": "jamba-mini", "messages": [{"role": "user", "content": ""}] * 100_000}, budget
        )
    assert len(failure.value.items) == budget.errors_listed + 1
    # Views are searched until ERRORS_FOUND are found: at most one view's worth past it.
    assert ERRORS_FOUND <= budget.errors <= ERRORS_FOUND + VIEW_WEIGHT


def test_collection_is_linear() -> None:
    """40,000 distinct errors collected: about 0.4 s here; the list-lookup collection this replaced
    took minutes (its time grew with the square of the count). 4 s is ten times the first."""
    budget = Budget(errors_listed=1000, errors_found=40_000)
    body = {"model": "jamba-mini", "messages": [{"role": "user", "content": ""}] * 40_000}
    started = time.process_time()
    with pytest.raises(ValidationFailed):
        CONTRACT.validate_request(body, budget)
    assert budget.errors == 40_000
    assert time.process_time() - started < 4


def test_the_server_answers_a_health_check_while_8_mib_of_errors_are_searched(serve: Serve) -> None:
    server = serve()
    body = bodies.empty_messages_filling()
    outcome: dict[str, object] = {}

    def attack() -> None:
        outcome["answer"] = httpx.post(server.url + API, content=body, headers=AUTH, timeout=120)

    thread = threading.Thread(target=attack)
    started = time.monotonic()
    thread.start()
    waits = []
    while thread.is_alive() and time.monotonic() - started < 60:
        asked = time.monotonic()
        assert httpx.get(server.url + "/_emulator/health", timeout=60).status_code == 200
        waits.append(time.monotonic() - asked)
        time.sleep(0.02)
    thread.join()
    # Before: no answer in 60 s. Now about 0.3 s of work; 5 s is more than ten times that.
    assert time.monotonic() - started < 5
    assert max(waits, default=0) < 3
    answer = outcome["answer"]
    assert isinstance(answer, httpx.Response) and answer.status_code == 422
    assert len(answer.json()["detail"]) == 1001
