"""The pure generator: deterministic text from the request's meaning, cut by stop and max_tokens."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from jamba_emulator.answer.generator import ASKED_WORDS, Generator, asked_words, seed_for
from jamba_emulator.answer.sentences import SentenceBank
from jamba_emulator.answer.wordpool import load
from jamba_emulator.chat.request import ChatRequest, Message, Tool
from jamba_emulator.chat.tokenizer import ApproximateTokenizer

TOKENIZER = ApproximateTokenizer()
GENERATOR = Generator(load(), TOKENIZER, server_seed=2104)


def request(content: str = "hello", **changes: object) -> ChatRequest:
    base = ChatRequest(
        model="jamba-instruct-preview",
        messages=(Message("user", content),),
        max_tokens=4096,
        temperature=1.0,
        top_p=1.0,
        stop=(),
        n=1,
        stream=False,
        prompt_tokens=20,
    )
    return base._replace(**changes)


def test_same_request_same_text_across_generator_instances() -> None:
    again = Generator(load(), TOKENIZER, server_seed=2104)
    assert GENERATOR.answer(request()) == again.answer(request())


def test_text_ignores_max_tokens_stop_and_stream() -> None:
    plain = GENERATOR.answer(request())
    assert GENERATOR.answer(request(max_tokens=3, stop=("a",), stream=True)) == plain


def test_text_depends_on_messages_temperature_top_p_index_and_seed() -> None:
    plain = GENERATOR.answer(request())
    variants = [
        GENERATOR.answer(request("hello!")),
        GENERATOR.answer(request(temperature=0.5)),
        GENERATOR.answer(request(top_p=0.9)),
        GENERATOR.answer(request(), index=1),
        Generator(load(), TOKENIZER, server_seed=1).answer(request()),
    ]
    assert all(variant != plain for variant in variants)


def test_seed_and_text_are_pinned_across_processes_and_releases() -> None:
    # A stable digest, not Python's salted hash(). If these change, every user's recorded
    # answers change with them: that is a breaking change, to be made on purpose.
    assert seed_for(request(), 0, 2104) == 0x58B9361D58E1BC20
    pinned = "Brittany Blake once said that every consideration should implement its own brush."
    assert GENERATOR.answer(request()).startswith(pinned)


def test_answers_are_the_same_in_another_process_with_another_hash_seed() -> None:
    script = (
        "from jamba_emulator.answer.generator import Generator; "
        "from jamba_emulator.answer.wordpool import load; "
        "from jamba_emulator.chat.tokenizer import ApproximateTokenizer; import sys; "
        "sys.path.insert(0, 'tests/unit'); from test_generator import request; "
        "print(Generator(load(), ApproximateTokenizer(), 2104).answer(request('elsewhere')))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert other == GENERATOR.answer(request("elsewhere")) + "\n"


def test_the_sentence_bank_holds_at_most_its_size() -> None:
    fresh = Generator(load(), ApproximateTokenizer(), server_seed=7)
    for i in range(3 * SentenceBank.SIZE):
        fresh.answer(request(f"prompt {i}"))
    bank = fresh._bank
    kept = [slot for slot in (*bank._plain, *bank._connected) if slot is not None]
    assert len(bank._plain) == len(bank._connected) == SentenceBank.SIZE
    assert len(kept) > SentenceBank.SIZE  # both halves are drawn from
    assert len({sentence.text for sentence in kept}) > 0.9 * len(kept)  # few repeats in the bank


def test_answers_are_mostly_tens_to_a_few_hundred_tokens() -> None:
    counts = [TOKENIZER.count(GENERATOR.answer(request(f"prompt {i}"))) for i in range(300)]
    assert 40 <= statistics.median(counts) <= 150, statistics.median(counts)
    typical = [count for count in counts if 10 <= count <= 400]
    assert len(typical) >= 0.9 * len(counts)
    assert len(set(counts)) > 50


def test_answers_read_like_english_sentences() -> None:
    text = GENERATOR.answer(request())
    assert text[0].isupper() and text.rstrip()[-1] in ".?!"
    words = text.split()
    assert sum(word.isalpha() for word in words) / len(words) > 0.6


def test_cut_by_max_tokens_reports_length_and_exact_count() -> None:
    text = GENERATOR.answer(request())
    choice = GENERATOR.cut(text, request(max_tokens=5))
    assert choice.finish_reason == "length"
    assert len(choice.tokens) == 5
    assert text.startswith(choice.content)


def test_cut_by_the_earliest_stop_sequence() -> None:
    text = "One two. Three four, five."
    choice = GENERATOR.cut(text, request(stop=(",", ".")))
    assert (choice.content, choice.finish_reason) == ("One two", "stop")


def test_empty_stop_strings_are_ignored() -> None:
    text = "One two."
    assert GENERATOR.cut(text, request(stop=("",))).content == text


def test_stop_inside_the_budget_wins_over_length() -> None:
    text = "One two three four five six."
    choice = GENERATOR.cut(text, request(stop=(" three",), max_tokens=2))
    assert (choice.content, choice.finish_reason) == ("One two", "stop")
    longer = GENERATOR.cut(text, request(stop=(" six",), max_tokens=2))
    assert (longer.content, longer.finish_reason) == ("One two", "length")


def test_max_tokens_zero_is_empty_and_length() -> None:
    choice = GENERATOR.cut("Hello.", request(max_tokens=0))
    assert (choice.content, choice.finish_reason) == ("", "length")


def test_cached_answers_are_the_answers_and_long_conversations_are_not_held() -> None:
    long = "word " * 2000  # past Generator.SHORT characters
    for content in ("hello", long):
        asked = request(content)
        first = GENERATOR.complete(asked)
        fresh = Generator(load(), ApproximateTokenizer(), server_seed=2104)  # empty caches
        assert GENERATOR.complete(asked) == first == fresh.complete(asked)
    held = len(GENERATOR._seeds)
    GENERATOR.complete(request(long + "more"))
    assert len(GENERATOR._seeds) == held, "a long conversation is not a cache key"


def test_long_documents_tools_or_stops_keep_a_request_out_of_the_completion_cache() -> None:
    long = "word " * 2000  # past Generator.SHORT characters
    bulky = [
        request(documents=(long,)),
        request(tools=(Tool("f", long, "{}"),)),
        request(tools=(Tool("f", "", '{"description": "' + long + '"}'),)),
    ]
    bulky.append(request(stop=(long,)))
    held = len(GENERATOR._completions)
    for asked in bulky:
        assert GENERATOR.complete(asked) == GENERATOR.complete(asked)
    assert len(GENERATOR._completions) == held, "no request holding a long text is kept"
    GENERATOR.complete(request(documents=("short",)))
    assert len(GENERATOR._completions) == held + 1, "a short one is"


def test_counts_of_long_texts_are_kept_by_digest_and_bounded() -> None:
    tokenizer = ApproximateTokenizer()
    long = "antidisestablishmentarianism and more " * 100
    assert tokenizer.count(long) == len(tokenizer.tokenize(long)) == tokenizer.count(long)
    assert tokenizer._counted.cache_info().currsize == 0, "the text itself is not kept"
    for index in range(ApproximateTokenizer.COUNT_CACHE + 10):
        tokenizer.count(f"{index} " * 600)
    assert len(tokenizer._counted_long) == ApproximateTokenizer.COUNT_CACHE


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Explain tides in 50 words", 50),
        ("Write a 2,000-word essay about rivers", 2000),
        ("a 1500 word story", 1500),
        ("Summarise it in 1 word", 1),
        ("Write 99,999 words", ASKED_WORDS),
        ("Explain tides", None),
        ("the words 50 and 60", None),
        ("version 2 wordsmith", None),
    ],
)
def test_the_asked_length_is_read_from_the_last_user_message(text: str, words: int | None) -> None:
    assert asked_words(request(text)) == words


@pytest.mark.parametrize("asked", [50, 400, 2000])
def test_an_answer_keeps_to_the_length_the_user_asks_for(asked: int) -> None:
    for topic in ("rivers", "tides", "stone bridges"):
        written = len(GENERATOR.answer(request(f"Write {asked} words about {topic}")).split())
        assert asked * 0.9 - 1 <= written <= asked + 40, (topic, written)


def test_answers_that_ask_no_length_keep_their_drawn_lengths() -> None:
    lengths = sorted(len(GENERATOR.answer(request(f"Tell me about topic {n}")).split()) for n in range(200))
    assert lengths[-1] <= 620 and 30 < lengths[100] < 90
