"""Properties of a completion for any request the schema admits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.answer.generator import Generator
from jamba_emulator.answer.wordpool import load
from jamba_emulator.chat.request import ChatRequest, Message
from jamba_emulator.chat.tokenizer import ApproximateTokenizer

TOKENIZER = ApproximateTokenizer()
GENERATOR = Generator(load(), TOKENIZER, server_seed=2104)
BASE = ChatRequest("jamba-instruct-preview", (Message("user", "hi"),), 4096, 1.0, 1.0, (), 1, False, 20)

requests = st.builds(
    lambda content, max_tokens, stop, temperature: BASE._replace(
        messages=(Message("user", content),),
        max_tokens=max_tokens,
        stop=tuple(stop),
        temperature=temperature,
    ),
    st.text(min_size=1, max_size=200),
    st.integers(0, 400),
    st.lists(st.text(max_size=6), max_size=4),
    st.floats(0, 2),
)


@given(requests)
def test_cut_answer_obeys_max_tokens_stop_and_prefix(request: ChatRequest) -> None:
    full = GENERATOR.answer(request)
    choice = GENERATOR.complete(request).choices[0]
    assert full.startswith(choice.content)
    assert len(choice.tokens) <= request.max_tokens
    assert not any(stop and stop in choice.content for stop in request.stop)
    if choice.finish_reason == "length":
        assert len(choice.tokens) == request.max_tokens
    else:
        assert request.max_tokens > 0  # with no budget the answer is always cut: "length"
    assert TOKENIZER.count(choice.content) == len(choice.tokens)
    assert list(choice.tokens) == TOKENIZER.tokenize(choice.content)


@given(st.integers(0, 2**64 - 1))
def test_an_answer_joined_from_the_bank_tokenizes_as_its_whole_text(seed: int) -> None:
    # The bank keeps each sentence's tokens; joined, they must be the tokens of the joined text.
    text = GENERATOR.answer(BASE._replace(messages=(Message("user", str(seed)),)))
    whole = GENERATOR.complete(BASE._replace(messages=(Message("user", str(seed)),))).choices[0]
    assert whole.content == text
    assert list(whole.tokens) == TOKENIZER.tokenize(text)
