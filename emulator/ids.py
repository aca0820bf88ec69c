"""Completion ids: `chatcmpl-` and 29 letters and digits, fresh for every request.

By default ids come from a generator seeded with OS entropy, so they are unique across
processes and restarts. Only when the user passes a seed explicitly are they a seeded
sequence (with the worker index mixed in), making such a run reproducible end to end.
"""

from __future__ import annotations

import hashlib
import os
import random
import string
from typing import Protocol

PREFIX = "chatcmpl-"
LENGTH = 29
ALPHABET = string.ascii_letters + string.digits


class IdSource(Protocol):
    def next_id(self) -> str: ...


class CompletionIds:
    """Ids drawn from one private random generator (one per server, never shared)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def next_id(self) -> str:
        return PREFIX + "".join(self._rng.choices(ALPHABET, k=LENGTH))


def id_source(seed: int | None, worker: int = 0) -> CompletionIds:
    if seed is None:
        return CompletionIds(random.Random(int.from_bytes(os.urandom(16), "big")))
    digest = hashlib.blake2b(f"ids:{seed}:{worker}".encode(), digest_size=16).digest()
    return CompletionIds(random.Random(int.from_bytes(digest, "big")))
