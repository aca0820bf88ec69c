"""The offline tokenizer: exact reassembly, calibration on the seed, stable counts under cutting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.chat.request import Message
from jamba_emulator.chat.tokenizer import ApproximateTokenizer, ChatTemplate

from tests.support import SEED_EXAMPLE, SEED_PROMPT

TOKENIZER = ApproximateTokenizer()


def test_seed_prompt_counts_within_15_percent_of_the_real_service() -> None:
    prompt = ChatTemplate().prompt_tokens([Message("user", SEED_PROMPT)], TOKENIZER)
    real = SEED_EXAMPLE["response"]["usage"]["prompt_tokens"]
    assert abs(prompt - real) <= 0.15 * real, prompt


def test_seed_answer_counts_within_15_percent_of_the_real_service() -> None:
    answer = SEED_EXAMPLE["response"]["choices"][0]["message"]["content"]
    real = SEED_EXAMPLE["response"]["usage"]["completion_tokens"]
    assert abs(TOKENIZER.count(answer) - real) <= 0.15 * real, TOKENIZER.tokenize(answer)


def test_common_words_are_one_token_with_their_space() -> None:
    assert TOKENIZER.tokenize("Did you know that") == ["Did", " you", " know", " that"]
    assert TOKENIZER.tokenize("don't stop!") == ["don", "'t", " stop", "!"]


def test_long_words_and_numbers_take_several_tokens() -> None:
    assert TOKENIZER.tokenize(" Archaeologists") == [" Archaeo", "logists"]
    assert TOKENIZER.tokenize("2026") == ["202", "6"]


def test_each_message_and_the_request_add_template_overhead() -> None:
    template = ChatTemplate()
    one = template.prompt_tokens([Message("user", "hi")], TOKENIZER)
    two = template.prompt_tokens([Message("user", "hi"), Message("assistant", "hi")], TOKENIZER)
    assert one == template.per_request + template.per_message + 1
    assert two - one == template.per_message + 1


@given(st.text())
def test_tokens_join_back_into_the_text(text: str) -> None:
    assert "".join(TOKENIZER.tokenize(text)) == text
    assert all(TOKENIZER.tokenize(text))


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1), st.data())
def test_a_prefix_cut_at_a_token_boundary_recounts_the_same(text: str, data: st.DataObject) -> None:
    tokens = TOKENIZER.tokenize(text)
    keep = data.draw(st.integers(0, len(tokens)))
    assert TOKENIZER.count("".join(tokens[:keep])) == keep
