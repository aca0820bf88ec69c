"""Grounded answers (after tool results, with documents) keep every invariant of a generated one:
a cut answer is a prefix of the uncut one, never holds a stop sequence, stops at max_tokens with
`length`, and its tokens re-count to its usage. The answer depends on the conversation alone."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.answer.generator import Generator
from jamba_emulator.answer.wordpool import load
from jamba_emulator.chat.request import ChatRequest, Message, ToolResult
from jamba_emulator.chat.tokenizer import ApproximateTokenizer

TOKENIZER = ApproximateTokenizer()
GENERATOR = Generator(load(), TOKENIZER, server_seed=2104)
BASE = ChatRequest("jamba-mini", (Message("user", "hi"),), 4096, 0.4, 1.0, (), 1, False, 20)

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80)
results = st.lists(
    st.builds(
        lambda name, city, content: ToolResult(name, json.dumps({"city": city}), content),
        st.sampled_from(["get_weather", "lookupOrder", "sunset-time", "x"]),
        words,
        words,
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def grounded_requests(draw: st.DrawFn) -> tuple[ChatRequest, ChatRequest]:
    """(the request uncut, the same request with a budget and stop sequences)."""
    said = draw(words)
    if draw(st.booleans()):
        found = draw(results)
        messages = (Message("user", said), Message("assistant", "".join(r.name + r.arguments for r in found)))
        messages += tuple(Message("tool", r.content) for r in found)
        full = BASE._replace(messages=messages, results=tuple(found))
    else:
        full = BASE._replace(
            messages=(Message("user", said),), documents=tuple(draw(st.lists(words, min_size=1, max_size=3)))
        )
    cut = full._replace(
        max_tokens=draw(st.integers(0, 120)), stop=tuple(draw(st.lists(st.text(max_size=4), max_size=3)))
    )
    return full, cut


@given(grounded_requests())
def test_a_grounded_answer_cut_is_a_prefix_of_it_and_counts_what_it_holds(
    pair: tuple[ChatRequest, ChatRequest],
) -> None:
    full, cut = pair
    uncut = GENERATOR.complete(full).choices[0]
    assert uncut.finish_reason == "stop" and uncut.content
    choice = GENERATOR.complete(cut).choices[0]
    assert uncut.content.startswith(choice.content)
    assert len(choice.tokens) <= cut.max_tokens
    assert not any(stop and stop in choice.content for stop in cut.stop)
    if choice.finish_reason == "length":
        assert len(choice.tokens) == cut.max_tokens
    assert TOKENIZER.count(choice.content) == len(choice.tokens)
    fresh = Generator(load(), ApproximateTokenizer(), server_seed=2104)
    assert fresh.complete(cut) == GENERATOR.complete(cut), "the same conversation, the same answer"


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


plain_results = st.lists(
    words.filter(_not_json).map(lambda content: ToolResult("get_weather", '{"city": "Lisbon"}', content)),
    min_size=1,
    max_size=3,
)


@given(plain_results)
def test_the_answer_after_tool_results_gives_each_result_back(found: list[ToolResult]) -> None:
    messages = (
        Message("user", "go"),
        Message("assistant", "calls"),
        *(Message("tool", r.content) for r in found),
    )
    content = GENERATOR.complete(BASE._replace(messages=messages, results=tuple(found))).choices[0].content
    for result in found:
        assert result.content.strip()[:300] in content
