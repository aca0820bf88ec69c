"""Completion ids: `chatcmpl-` and 29 letters and digits, fresh for every request.

By default ids come from a generator seeded with OS entropy, so they are unique across
processes and restarts. Only when the user passes a seed explicitly are they a seeded
sequence (with the worker index mixed in, and under --workers how many times that worker was
started again, so a restarted worker never gives out its ids a second time), making such a run
reproducible end to end.
"""

from __future__ import annotations

import binascii
import hashlib
import os
import random
from typing import Protocol

PREFIX = "chatcmpl-"
LENGTH = 29
_BYTES = 22  # 176 random bits: base64 writes them as 30 characters, of which the first 29 are kept
# base64's alphabet with its two symbols mapped to letters: ids keep to letters and digits.
_LETTERS_AND_DIGITS = bytes.maketrans(b"+/", b"xz")


class IdSource(Protocol):
    def next_id(self) -> str: ...


class CompletionIds:
    """Ids drawn from one private random generator (one per server, never shared)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def next_id(self) -> str:
        # One draw of random bits, written in base64 (about 10x faster than 29 choices).
        raw = self._rng.getrandbits(_BYTES * 8).to_bytes(_BYTES, "big")
        return (
            PREFIX + binascii.b2a_base64(raw, newline=False).translate(_LETTERS_AND_DIGITS)[:LENGTH].decode()
        )


def id_source(seed: int | None, worker: int = 0, restarts: int = 0) -> CompletionIds:
    if seed is None:
        return CompletionIds(random.Random(int.from_bytes(os.urandom(16), "big")))
    name = f"ids:{seed}:{worker}" + (f":{restarts}" if restarts else "")
    digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
    return CompletionIds(random.Random(int.from_bytes(digest, "big")))
