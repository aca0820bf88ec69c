"""The proof that the suite can fail must not rot: every mutant of tests/mutants.py still finds
its text exactly once (a refactor that moves the code fails here, not silently)."""

from __future__ import annotations

from tests.mutants import stale_mutants


def test_every_mutant_still_applies() -> None:
    assert stale_mutants() == []
