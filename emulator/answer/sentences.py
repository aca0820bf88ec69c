"""The sentence bank: the sentences answers are made of, each written and tokenized once.

A generated answer is a sequence of sentences drawn from a fixed bank of SIZE plain sentences
and SIZE sentences opening with a connector ("Also, ..."), plus the openers ("Sure!"). A
sentence is written from the word pool by a random generator seeded with its place in the bank
(so the bank is the same in every process) the first time an answer draws it, and kept with
its tokens in both the forms an answer needs: at the start of a paragraph, and after a space.
An answer then costs a few list lookups and two joins, whatever its prompt; nothing is built at
start-up, and the bank never holds more than 2 x SIZE sentences (tokens are interned, so a
sentence costs its text and two tuples of references).

Joining token lists is exact because the tokenizer never lets a token cross a space that
follows another character, nor a newline (the same property `Tokenizer.count_upto` cuts long
texts by); tests/property/test_completion_invariants.py re-counts answers to hold it.
"""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from functools import cache

from ..chat.tokenizer import Tokenizer
from .wordpool import WordPool

_SLOT = re.compile(r"\{(\w+)\}")
_ARTICLE = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")
_CONNECTED = 1 << 32
"""Added to a connector sentence's place to seed it, so that it never repeats a plain one."""


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    words: int
    first: tuple[str, ...]
    """Its tokens at the start of a paragraph (or of the answer)."""
    spaced: tuple[str, ...]
    """The tokens of a space and the sentence, after another sentence."""


class SentenceBank:
    SIZE = 4096

    def __init__(self, pool: WordPool, tokenizer: Tokenizer) -> None:
        self._pool = pool
        self._tokenizer = tokenizer
        self._plain: list[Sentence | None] = [None] * self.SIZE
        self._connected: list[Sentence | None] = [None] * self.SIZE
        self._openers: list[Sentence | None] = [None] * len(pool.openers)
        self.paragraph_break: tuple[str, ...] = self._tokens("\n\n")

    @property
    def openers(self) -> int:
        return len(self._openers)

    def sentence(self, place: int, *, connected: bool = False) -> Sentence:
        """The bank's sentence at `place` (0 <= place < SIZE), written on first use. Filling a
        slot twice from two threads writes the same sentence, so no lock is needed."""
        slots = self._connected if connected else self._plain
        kept = slots[place]
        if kept is None:
            seed = place + _CONNECTED if connected else place
            text = write_sentence(self._pool, random.Random(seed), with_connector=connected)
            kept = slots[place] = self._kept(text)
        return kept

    def opener(self, place: int) -> Sentence:
        kept = self._openers[place]
        if kept is None:
            kept = self._openers[place] = self._kept(self._pool.openers[place])
        return kept

    def _kept(self, text: str) -> Sentence:
        return Sentence(text, text.count(" ") + 1, self._tokens(text), self._tokens(" " + text))

    def _tokens(self, text: str) -> tuple[str, ...]:
        return tuple(map(sys.intern, self._tokenizer.tokenize(text)))


def write_sentence(pool: WordPool, rng: random.Random, *, with_connector: bool) -> str:
    """One sentence from a template of the pool, its slots filled from the pool's words."""
    parts: list[str] = []
    for literal, slot in _template_parts(rng.choice(pool.templates)):
        parts.append(literal)
        if slot:
            parts.append(_fill(pool, rng, slot))
    text = "".join(parts)
    if with_connector:
        text = f"{rng.choice(pool.connectors)} {text[0].lower()}{text[1:]}"
    text = _ARTICLE.sub(r"\1n ", text)
    return text[0].upper() + text[1:]


def _fill(pool: WordPool, rng: random.Random, slot: str) -> str:
    match slot:
        case "noun":
            return rng.choice(pool.nouns)
        case "nouns":
            return _plural(rng.choice(pool.nouns))
        case "verb":
            return rng.choice(pool.verbs)
        case "adj":
            return rng.choice(pool.adjectives)
        case "adv":
            return rng.choice(pool.adverbs)
        case "name":
            return rng.choice(pool.names)
        case "city":
            return rng.choice(pool.cities)
        case "company":
            return rng.choice(pool.companies)
        case "number":
            return str(rng.randint(2, 2024))
        case other:
            raise ValueError(f"unknown template slot {{{other}}} in the word pool")


@cache
def _template_parts(template: str) -> tuple[tuple[str, str], ...]:
    """A sentence template as (literal text, slot name) pairs, slots filled left to right (the
    last slot name is empty): parsed once, instead of a regular-expression pass per sentence."""
    parts, start = [], 0
    for slot in _SLOT.finditer(template):
        parts.append((template[start : slot.start()], slot.group(1)))
        start = slot.end()
    parts.append((template[start:], ""))
    return tuple(parts)


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"
