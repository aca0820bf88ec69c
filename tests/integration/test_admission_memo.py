"""A short body's admission is kept (contract/memo.py): a repeat is answered exactly as the
first time, on every surface, with the same budget spent; long bodies are not kept; the kept
outcomes stay under their weight limit, and a kept 422 raised again does not grow."""

from __future__ import annotations

import json
from typing import Any

from jamba_emulator.chat.budget import Budget
from jamba_emulator.config import Config
from jamba_emulator.contract.dialects import NO_PARAMS
from jamba_emulator.contract.dialects import STUDIO as STUDIO_DIALECT
from jamba_emulator.contract.memo import MEMO_BODY, MEMO_WEIGHT
from jamba_emulator.core import Core
from jamba_emulator.errors import ValidationFailed
from jamba_emulator.http.surfaces.studio import CHAT_PATH

from tests.support import AUTH

INVALID = {"model": "jamba-instruct-preview", "messages": [], "temperature": 5, "top_p": 0, "max_tokens": -1}


async def test_a_repeated_422_is_answered_the_same(client: Any) -> None:
    answers = []
    for _ in range(3):
        response = await client.post(CHAT_PATH, json=INVALID, headers=AUTH)
        assert response.status == 422
        answers.append(await response.json())
    assert answers[0] == answers[1] == answers[2]
    assert len(answers[0]["detail"]) >= 3


async def test_a_repeated_body_is_answered_afresh_with_the_same_content(client: Any) -> None:
    body = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "again"}]}
    first = await (await client.post(CHAT_PATH, json=body, headers=AUTH)).json()
    second = await (await client.post(CHAT_PATH, json=body, headers=AUTH)).json()
    assert first["id"] != second["id"]
    assert first["choices"] == second["choices"] and first["usage"] == second["usage"]


def _admit(core: Core, raw: bytes, budget: Budget) -> Any:
    try:
        return core.admission.admit_bytes(STUDIO_DIALECT, NO_PARAMS, raw, budget)
    except ValidationFailed as error:
        return error


def test_a_kept_outcome_spends_the_budget_the_first_did() -> None:
    core = Core.build(Config())
    valid = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "x"}]}
    for body in (INVALID, valid):
        raw = json.dumps(body).encode()
        first, again = Budget(), Budget()
        outcome = _admit(core, raw, first)
        repeated = _admit(core, raw, again)
        if isinstance(outcome, ValidationFailed):  # raised afresh each time, with the same items
            assert repeated is not outcome and repeated.items == outcome.items
        else:
            assert repeated is outcome
        spent = [(budget.errors, budget.tokens, budget.prompt_window) for budget in (first, again)]
        assert spent[0] == spent[1]
    assert len(core.admission.memo) == 2


def test_a_kept_422_raised_again_does_not_grow_its_traceback() -> None:
    core = Core.build(Config())
    raw = json.dumps(INVALID).encode()
    for _ in range(1000):
        error = _admit(core, raw, Budget())
    depth, frame = 0, error.__traceback__
    while frame is not None:
        depth, frame = depth + 1, frame.tb_next
    assert depth < 5


def test_long_bodies_are_not_kept_and_the_kept_stay_under_their_limit() -> None:
    core = Core.build(Config())
    long = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "x" * MEMO_BODY}]}
    _admit(core, json.dumps(long).encode(), Budget())
    assert len(core.admission.memo) == 0
    for index in range(3000):  # each just under the limit: about 8 KiB weighed each
        content = f"{index} " + "y" * (MEMO_BODY - 100)
        body = {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": content}]}
        _admit(core, json.dumps(body).encode(), Budget())
    assert 0 < core.admission.memo.weight <= MEMO_WEIGHT
    assert len(core.admission.memo) < 3000


SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=" + "a" * 64,
    "X-Amz-Date": "20261201T120000Z",
}


async def test_the_same_body_on_two_routes_is_admitted_for_each(client: Any) -> None:
    # Bedrock names the model in the path: the kept outcome of one model's route is not another's
    # (the answer's text depends on the model, so each route answers its own).
    body = {"messages": [{"role": "user", "content": "hi"}]}
    answers: dict[str, list[str]] = {}
    for model_id in ("ai21.jamba-1-5-mini-v1:0", "ai21.jamba-1-5-large-v1:0", "ai21.jamba-1-5-mini-v1:0"):
        response = await client.post(f"/model/{model_id}/invoke", json=body, headers=SIGNED)
        assert response.status == 200, await response.text()
        answers.setdefault(model_id, []).append((await response.json())["choices"][0]["message"]["content"])
    mini, large = answers["ai21.jamba-1-5-mini-v1:0"], answers["ai21.jamba-1-5-large-v1:0"]
    assert mini[0] == mini[1] != large[0]
