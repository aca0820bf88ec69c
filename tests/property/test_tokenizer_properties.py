"""The tokenizer's promises for any text: tokens join back to the text, and a cut at a token
boundary re-counts to the same number (so `usage` agrees with a client re-counting content)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from jamba_emulator.chat.tokenizer import ApproximateTokenizer

from tests.strategies import unicode_text

TOKENIZER = ApproximateTokenizer()
texts = st.one_of(st.text(), unicode_text, st.text(alphabet=" \n\t.'s1aé-", max_size=40))


@given(texts)
def test_tokens_join_back_into_the_text(text: str) -> None:
    tokens = TOKENIZER.tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens)


@given(texts, st.data())
def test_a_prefix_cut_at_a_token_boundary_recounts_the_same(text: str, data: st.DataObject) -> None:
    tokens = TOKENIZER.tokenize(text)
    cut = data.draw(st.integers(0, len(tokens)), label="cut")
    assert TOKENIZER.tokenize("".join(tokens[:cut])) == tokens[:cut]
