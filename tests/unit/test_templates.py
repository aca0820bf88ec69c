"""Replies that echo the request: placeholders filled from the canonical request, unknown names
refused at load, output capped, everything else kept as written."""

from __future__ import annotations

import pytest
from jamba_emulator.chat.request import ChatRequest, Message, Tool
from jamba_emulator.errors import FixtureError
from jamba_emulator.script.templates import FIELDS, MAX_OUTPUT, MAX_VALUE, compile_template

REQUEST = ChatRequest(
    "jamba-large",
    (
        Message("system", "Be brief"),
        Message("user", "Where is order 12?"),
        Message("assistant", 'lookup({"id": 12})'),
        Message("tool", '{"status": "shipped"}', "call-1"),
    ),
    50, 0.4, 1.0, ("END",), 1, True, 40, tools=(Tool("lookup", "", "{}"), Tool("refund", "", "{}")),
)  # fmt: skip


def rendered(text: str, request: ChatRequest = REQUEST) -> str:
    template = compile_template(text, "t.json: rule 1")
    assert template is not None
    return template.render(request)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You said: {{last_user}}", "You said: Where is order 12?"),
        ("{{ model }} at turn {{turn}}", "jamba-large at turn 1"),
        ("Result: {{tool_result}}", 'Result: {"status": "shipped"}'),
        ("{{system}}!", "Be brief!"),
        ("Tools: {{tools}}", "Tools: lookup, refund"),
        ("{{request.max_tokens}} {{request.temperature}} {{request.stop}} {{request.stream}}",
         '50 0.4 ["END"] true'),
        ("{single} {{ last_user}} }}{{", "{single} Where is order 12? }}{{"),
    ],
)  # fmt: skip
def test_each_placeholder_is_filled_from_the_request(text: str, expected: str) -> None:
    assert rendered(text) == expected


def test_a_missing_message_is_empty() -> None:
    only_user = REQUEST._replace(messages=(Message("user", "hi"),), tools=())
    assert rendered("[{{tool_result}}|{{system}}|{{tools}}]", only_user) == "[||]"


def test_a_content_without_placeholders_is_sent_as_written() -> None:
    assert compile_template("Plain {braces} and {{ }}", "t") is None


def test_an_unknown_placeholder_is_refused_naming_the_rule_and_the_names() -> None:
    with pytest.raises(
        FixtureError, match=r"t.json: rule 1: content: no placeholder \{\{last_usr\}\}"
    ) as error:
        compile_template("{{last_usr}}", "t.json: rule 1")
    assert all(f"{{{{{name}}}}}" in str(error.value) for name in FIELDS)


def test_the_output_is_capped_whatever_the_request_or_template_holds() -> None:
    huge = REQUEST._replace(messages=(Message("user", "x" * (4 * MAX_VALUE)),))
    assert len(rendered("{{last_user}}", huge)) == MAX_VALUE
    many = "{{last_user}}" * 100
    assert len(rendered(many, huge)) == MAX_OUTPUT
