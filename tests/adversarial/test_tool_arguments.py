"""Finding 3: writing tool-call arguments had no per-request budget. Eight tools of 32,000
unsatisfiable items with n: 4 blocked the loop 6-9 s (100 tools with n: 16, minutes). Now every
tool, choice and attempt of a request spends from one Budget, and past it the tools pass their
turn (the answer is text)."""

from __future__ import annotations

import json

import httpx
from jamba_emulator.answer.structured import SIZE_LIMIT
from jamba_emulator.chat.budget import ARGUMENT_VALUES, Budget
from jamba_emulator.config import Config
from jamba_emulator.core import Core

from tests.adversarial import bodies
from tests.adversarial.conftest import Serve
from tests.support import AUTH

CORE = Core.build(Config())


def admitted(raw: bytes) -> object:
    return CORE.admission.admit(json.loads(raw)).request


def test_unsatisfiable_tools_spend_one_budget_and_the_answer_is_text() -> None:
    for tools, n in ((8, 4), (100, 16)):
        budget = Budget()
        completion = CORE.generator.complete(admitted(bodies.unsatisfiable_tools(tools, n)), budget)  # type: ignore[arg-type]
        assert [choice.finish_reason for choice in completion.choices] != ["tool_calls"] * n
        assert all(not choice.tool_calls for choice in completion.choices)
        # Each attempt takes what it needs before writing it: never past the budget, by more than
        # one attempt's limit.
        assert budget.values <= ARGUMENT_VALUES
        assert budget.values_left < SIZE_LIMIT


def test_a_schema_asking_for_thousands_of_places_is_written_once_within_the_budget() -> None:
    parameters = {
        "type": "object",
        "required": ["city"],
        "properties": {"city": {"type": "array", "minItems": 3_000, "items": {"type": "string"}}},
    }
    request = {
        "model": "jamba-mini",
        "n": 8,
        "messages": [
            {"role": "user", "content": "lookup the weather in Paris, " + "and more words " * 50_000}
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": parameters}}],
    }
    budget = Budget()
    completion = CORE.generator.complete(CORE.admission.admit(request).request, budget)
    assert budget.values <= ARGUMENT_VALUES
    called = [choice for choice in completion.choices if choice.tool_calls]
    assert called, "the first choices have room in the budget"
    cities = json.loads(called[0].tool_calls[0].arguments)["city"]
    assert len(cities) >= 3_000 and set(cities) == {"Paris"}
    assert len(called) < 8, "past the budget, the other choices pass their turn"


def test_the_server_answers_such_requests(serve: Serve) -> None:
    server = serve()
    answer = httpx.post(
        server.url + "/studio/v1/chat/completions",
        content=bodies.unsatisfiable_tools(100, 16),
        headers=AUTH,
        timeout=60,
    )
    assert answer.status_code == 200
    assert len(answer.json()["choices"]) == 16


def test_a_conversation_of_written_dates_is_read_for_a_bounded_few() -> None:
    """Issue 26: grounding reads dates written in words; a conversation made of them (13
    messages of 64 KiB, n: 16) is read for the first WRITTEN_DATES of each message, and every
    choice's JSON takes the date and the country it names (bench/attacks.py: written-dates)."""
    completion = CORE.generator.complete(admitted(bodies.written_dates()))  # type: ignore[arg-type]
    assert len(completion.choices) == 16
    for choice in completion.choices:
        answer = json.loads(choice.content)
        assert (answer["date"], answer["country"]) == ("2024-12-05", "France")
        assert isinstance(answer["word_count"], int)
