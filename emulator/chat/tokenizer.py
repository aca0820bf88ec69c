"""Deterministic, offline token splitting and counting, behind a small protocol.

The real Jamba tokenizer cannot be fetched at run time (nothing is downloaded), so the default
`ApproximateTokenizer` splits text the way a byte-pair tokenizer with a large English
vocabulary does, closely enough for realistic usage counts: common words are one token with
their leading space, long words split into pieces, numbers in groups of three, punctuation on
its own. Calibrated on the seed's example (see `ChatTemplate` and tests/unit/test_tokenizer.py).
An exact tokenizer plugs in by implementing `Tokenizer`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from .request import Message


class Tokenizer(Protocol):
    def tokenize(self, text: str) -> list[str]:
        """Split `text` into tokens whose concatenation is exactly `text`."""
        ...

    def count(self, text: str) -> int: ...

    def count_upto(self, text: str, limit: int) -> int:
        """`count(text)`, or any number above `limit` once counting passes it."""
        ...


_PIECES = re.compile(
    r"""(?sx)
      '(?:s|t|re|ve|m|ll|d)(?![^\W\d_])  # English contractions
    | \ ?[A-Za-z]+ | \ ?[^\W\d_A-Za-z]+  # a word (ASCII letters, or other letters) with its
                                        # leading space; split further below
    | \ ?\d{1,3}                          # numbers, three digits at a time
    | \ ?[!-/:-@\[-`{-~]{1,3}             # ASCII punctuation, short runs
    | \ {1,16} | [^\S\ ]                  # up to 16 spaces; any other whitespace char alone
    | .                                   # anything else (emoji, symbols): one per character
    """
)
# Common words are single tokens; longer words cost a token per few letters. No rule looks
# past the end of its token (chunks are shorter than the single-token limit; whitespace does
# not depend on what follows), so text cut at a token boundary re-counts to the same number:
# a `length` answer of max_tokens tokens counts max_tokens for a client too.
_ASCII_WORD_LIMIT, _ASCII_CHUNK = 10, 7
_OTHER_WORD_LIMIT, _OTHER_CHUNK = 2, 2


class ApproximateTokenizer:
    """The default tokenizer: a fixed regular expression, no vocabulary file.

    Counts are kept for the last COUNT_CACHE texts: a chat resends its whole history each turn,
    and a test suite the same prompts, so most messages have been counted before. A text longer
    than SHORT characters is remembered by its digest, so that the cache never holds long texts
    (8192 x 1 KiB at most)."""

    COUNT_CACHE = 8192
    SHORT = 1024
    PIECE = 64 * 1024

    def __init__(self) -> None:
        self._counted = lru_cache(maxsize=self.COUNT_CACHE)(self._count)
        self._counted_long: dict[bytes, int] = {}

    def tokenize(self, text: str) -> list[str]:
        pieces: list[str] = _PIECES.findall(text)
        if text.isascii():  # the common case: only words over the ASCII limit split further
            if max(map(len, pieces), default=0) <= _ASCII_WORD_LIMIT:
                return pieces
            return [
                token
                for piece in pieces
                for token in ((piece,) if len(piece) <= _ASCII_WORD_LIMIT else _split_word(piece))
            ]
        tokens: list[str] = []
        for piece in pieces:
            tokens.extend(_split_word(piece))
        return tokens

    def count(self, text: str) -> int:
        if len(text) <= self.SHORT:
            return self._counted(text)
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        counted = self._counted_long.get(key)
        if counted is None:
            if len(self._counted_long) >= self.COUNT_CACHE:
                self._counted_long.pop(next(iter(self._counted_long)))  # the oldest goes
            counted = self._counted_long[key] = self._count(text)
        return counted

    def count_upto(self, text: str, limit: int) -> int:
        """Long texts are counted a piece at a time (cut where a token must end), stopping once
        past `limit`: an 8 MiB prompt costs what the context window does."""
        if len(text) <= self.PIECE:
            return self.count(text)
        total = 0
        for piece in _pieces(text, self.PIECE):
            total += self._count(piece)
            if total > limit:
                break
        return total

    def _count(self, text: str) -> int:
        return len(self.tokenize(text))


def _pieces(text: str, size: int) -> Iterator[str]:
    """`text` in pieces of about `size` characters, each cut before a space that follows some
    other character. No token holds a space after another character (a space only leads a token
    or runs with other spaces), so the pieces' tokens are exactly the whole text's."""
    start = 0
    while len(text) - start > size:
        found = _CUT.search(text, start + size)  # (in C: a run of spaces is not walked in Python)
        if found is None:
            break
        cut = found.start()
        yield text[start:cut]
        start = cut
    yield text[start:]


_CUT = re.compile("(?<=[^ ]) ")
"""A space that follows some other character: where a piece may end."""


def _split_word(piece: str) -> list[str]:
    word = piece.lstrip(" ")
    if not word or not word[0].isalpha():
        return [piece]
    limit, chunk = (_ASCII_WORD_LIMIT, _ASCII_CHUNK) if word.isascii() else (_OTHER_WORD_LIMIT, _OTHER_CHUNK)
    if len(word) <= limit:
        return [piece]
    lead = piece[: len(piece) - len(word)]
    parts = [word[i : i + chunk] for i in range(0, len(word), chunk)]
    parts[0] = lead + parts[0]
    return parts


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    """Tokens the chat template adds around the messages.

    Calibrated on the seed: "Tell me something I don't know" is 7 tokens of content and the
    real service reported 26 prompt tokens, so one message costs 4 tokens of framing and the
    request 15 (start of text, the template's preamble and the assistant's turn header).
    """

    per_message: int = 4
    per_request: int = 15

    def extra_tokens(self, texts: Iterable[str], tokenizer: Tokenizer, limit: int | None = None) -> int:
        """Documents and tool definitions: each framed like a message (policy). With `limit`,
        counting stops once past it (the result is then some number above it)."""
        if limit is None:
            return sum(self.per_message + tokenizer.count(text) for text in texts)
        total = 0
        for text in texts:
            total += self.per_message + tokenizer.count_upto(text, limit - total - self.per_message)
            if total > limit:
                break
        return total

    def prompt_tokens(
        self, messages: Iterable[Message], tokenizer: Tokenizer, limit: int | None = None
    ) -> int:
        """The whole prompt's tokens; with `limit`, counting stops once past it."""
        total = self.per_request
        if limit is None:
            return total + sum(self.per_message + tokenizer.count(message.content) for message in messages)
        per_message = self.per_message
        for message in messages:  # written out: the hot path
            total += per_message + tokenizer.count_upto(message.content, limit - total - per_message)
            if total > limit:
                break
        return total
