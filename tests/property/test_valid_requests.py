"""Any request the schemas admit gets a 200 that keeps every promise of the contract.

The oracle is the server itself, asked again: the same request without `max_tokens` and `stop`
gives the uncut answer, from which the cut one must follow exactly.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.chat.tokenizer import ApproximateTokenizer

from tests.property.conftest import Api
from tests.strategies import CONTRACT, json_values, unknown_names, valid_requests, without_cuts

RESPONSE = CONTRACT.validator("chat-response.schema.json")
TOKENIZER = ApproximateTokenizer()  # the emulator's documented counter; usage must agree with it


def stops_of(body: dict[str, Any]) -> list[str]:
    stop = body.get("stop")
    return [stop] if isinstance(stop, str) else list(stop or [])


def visible_part(full: str, stops: list[str]) -> str:
    """What a model emits before the first stop sequence (an empty stop string never matches)."""
    positions = [at for stop in stops if stop and (at := full.find(stop)) >= 0]
    return full[: min(positions, default=len(full))]


def assert_answer(body: dict[str, Any], payload: dict[str, Any], reference: dict[str, Any]) -> None:
    assert not list(RESPONSE.iter_errors(payload)), payload
    n = body.get("n") or 1
    budget = body.get("max_tokens")
    assert [choice["index"] for choice in payload["choices"]] == list(range(n))
    counts = []
    for choice, uncut in zip(payload["choices"], reference["choices"], strict=True):
        content, full = choice["message"]["content"], uncut["message"]["content"]
        assert uncut["finish_reason"] == "stop"  # the uncut answer fits the default budget
        assert full.startswith(content), "content must be a prefix of the uncut answer"
        assert not any(stop and stop in content for stop in stops_of(body)), content
        visible = visible_part(full, stops_of(body))
        counts.append(TOKENIZER.count(content))
        cut_by_budget = budget is not None and (budget == 0 or TOKENIZER.count(visible) > budget)
        if cut_by_budget:
            assert choice["finish_reason"] == "length"
            assert counts[-1] == budget
            assert visible.startswith(content)
        else:
            assert choice["finish_reason"] == "stop"
            assert content == visible
    usage = payload["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] == sum(counts)
    if budget is not None:
        assert usage["completion_tokens"] <= budget * n
    assert usage["prompt_tokens"] == reference["usage"]["prompt_tokens"]


@given(body=valid_requests(), extra=st.dictionaries(unknown_names, json_values, min_size=1, max_size=5))
def test_unknown_fields_are_ignored_and_named(api: Api, body: dict[str, Any], extra: dict[str, Any]) -> None:
    plain = api.post({**body, "stream": False})
    response = api.post({**body, **extra, "stream": False})
    assert response.status_code == 200, response.text
    assert response.json()["choices"] == plain.json()["choices"], "ignored fields change nothing"
    named = response.headers["X-Emulator-Ignored-Fields"].split(",")
    assert sorted(named) == sorted(extra)


@given(body=valid_requests(), stream=st.sampled_from([False, None, "absent"]))
def test_every_valid_request_gets_a_contract_answer(api: Api, body: dict[str, Any], stream: Any) -> None:
    body = {key: value for key, value in body.items() if key != "stream"}
    if stream != "absent":
        body["stream"] = stream
    CONTRACT.validate_request(body)  # the schema alone agrees with the server below
    response = api.post(body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    reference = api.post(without_cuts(body))
    assert reference.status_code == 200, reference.text
    assert_answer(body, response.json(), reference.json())


@given(body=valid_requests())
def test_the_same_request_twice_gives_the_same_answer_with_a_new_id(api: Api, body: dict[str, Any]) -> None:
    body = {**body, "stream": False}
    first, second = api.post(body).json(), api.post(body).json()
    assert first["choices"] == second["choices"]
    assert first["usage"] == second["usage"]
    assert first["id"] != second["id"]


@given(data=st.data(), body=valid_requests())
def test_a_stop_sequence_taken_from_the_answer_cuts_right_before_it(
    api: Api, data: st.DataObject, body: dict[str, Any]
) -> None:
    body = {**without_cuts(body), "n": 1}
    full = api.post(body).json()["choices"][0]["message"]["content"]
    start = data.draw(st.integers(0, len(full) - 1), label="start")
    stop = full[start : start + data.draw(st.integers(1, 12), label="length")]
    others = data.draw(st.lists(st.text(min_size=1, max_size=4), max_size=5), label="other stops")
    payload = api.post({**body, "stop": [*others, stop]}).json()
    choice = payload["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == visible_part(full, [*others, stop])
    assert len(choice["message"]["content"]) <= full.find(stop)


@given(body=valid_requests())
def test_a_budget_of_exactly_the_answer_length_is_a_natural_stop(api: Api, body: dict[str, Any]) -> None:
    body = {**without_cuts(body), "n": 1}
    uncut = api.post(body).json()
    needed = uncut["usage"]["completion_tokens"]
    exact = api.post({**body, "max_tokens": needed}).json()
    assert exact["choices"] == uncut["choices"], "a budget that fits the answer must not cut it"
    short = api.post({**body, "max_tokens": needed - 1}).json()
    assert short["choices"][0]["finish_reason"] == "length"
    assert short["usage"]["completion_tokens"] == needed - 1


@given(body=valid_requests(), data=st.data())
def test_an_empty_system_message_anywhere_changes_nothing(
    api: Api, body: dict[str, Any], data: st.DataObject
) -> None:
    body = {**body, "stream": False}
    at = data.draw(st.integers(0, len(body["messages"])), label="position")
    messages = [*body["messages"][:at], {"role": "system", "content": ""}, *body["messages"][at:]]
    plain, padded = api.post(body).json(), api.post({**body, "messages": messages}).json()
    assert padded["choices"] == plain["choices"]
    assert padded["usage"] == plain["usage"]
