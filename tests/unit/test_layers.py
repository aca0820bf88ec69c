"""Architecture checks: the pure core never imports aiohttp; the shipped data is what it claims."""

from __future__ import annotations

import subprocess
import sys

import pytest
from faker.providers.lorem.en_US import Provider as Lorem

from emulator.wordpool import build, load

PURE = [
    "journal",
    "faults",
    "ratelimit",
    "scripts",
    "generator",
    "tokenizer",
    "contract",
    "errors",
    "chat",
    "admission",
    "catalog",
    "wordpool",
    "ids",
    "config",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_does_not_import_aiohttp(module: str) -> None:
    code = f"import sys, emulator.{module}; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_shipped_word_pool_is_drawn_from_faker() -> None:
    pool, rebuilt = load(), build()["words"]
    assert list(pool.nouns) == rebuilt["nouns"]
    assert list(pool.verbs) == rebuilt["verbs"]
    assert set(pool.adjectives) <= set(Lorem.parts_of_speech["adjective"])
    assert len(pool.names) == len(pool.cities) == len(pool.companies) == 120
