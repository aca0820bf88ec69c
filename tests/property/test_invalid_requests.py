"""A valid request with one rule broken gets a 422 naming exactly the broken field; arbitrary
JSON and arbitrary bytes never get a 5xx and never stop the server."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.errors import ValidationFailed

from tests.property.conftest import Api
from tests.strategies import CONTRACT, MUTATIONS, Broken, broken_requests, json_values, request_like

ERROR = CONTRACT.validator("error.schema.json")


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@given(data=st.data())
def test_breaking_one_rule_gets_a_422_that_names_the_field(
    api: Api, mutation: str, data: st.DataObject
) -> None:
    broken: Broken = data.draw(broken_requests(mutation), label="broken request")
    response = api.post(broken.body)
    assert response.status_code == 422, (broken.rule, response.text)
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert not list(ERROR.iter_errors(response.json()))
    locs = {tuple(item["loc"]) for item in detail}
    assert locs == {broken.loc}, (broken.rule, detail)
    assert {item["type"] for item in detail} & broken.types, (broken.rule, detail)
    # The schema alone, without the server, reports exactly what the server said.
    with pytest.raises(ValidationFailed) as caught:
        CONTRACT.validate_request(broken.body)
    assert caught.value.detail() == detail


@given(json_values | request_like)
def test_any_json_body_gets_an_answer_below_500(api: Api, body: Any) -> None:
    response = api.post(body)
    assert response.status_code in (200, 422), response.text
    assert "detail" in response.json() or response.json()["choices"]
    assert api.healthy()
    assert api.unexpected_errors() == []


@given(st.binary(max_size=2048) | json_values.map(lambda value: repr(value).encode()))
def test_any_bytes_as_a_body_get_an_answer_below_500(api: Api, raw: bytes) -> None:
    response = api.post(raw)
    assert response.status_code in (200, 422), response.text
    assert api.healthy()
    assert api.unexpected_errors() == []
