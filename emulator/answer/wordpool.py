"""The vocabulary and sentence templates the generator writes with, shipped as package data.

The words, names, cities and companies come from Faker's `en_US` locale data. They are drawn
once, ahead of time, into `emulator/data/wordpool.json` so that the server never imports
Faker or builds a Faker instance at start-up or per request. Rebuild the file with

    python -m jamba_emulator.answer.wordpool

(which needs Faker, a test dependency); tests/unit/test_layers.py checks it against Faker.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..resources import DATA_DIR, load_json

POOL_PATH = DATA_DIR / "wordpool.json"
_PROPER_NOUNS = 120
_FAKER_SEED = 2104
_PLAIN_COUNTRY = re.compile(r"[A-Z][a-z]+(?: [A-Z][a-z]+)?")

# Slots: {noun} {nouns} {verb} {adj} {adv} {name} {city} {company} {number}.
# Verbs stay in their base form (after "can", "to", "should"...), so no conjugation is needed.
TEMPLATES = (
    "The {adj} {noun} can {verb} the {noun} in {city}.",
    "Many {nouns} {adv} {verb} {adj} {nouns}.",
    "{name} once said that every {noun} should {verb} its own {noun}.",
    "In {number}, {company} began to {verb} {adj} {nouns} across {city}.",
    "If you want to {verb} a {noun}, start with the {adj} {noun}.",
    "Most {nouns} {verb} {adv}, which makes the {noun} more {adj}.",
    "This is why the {noun} matters: it helps people {verb} {adj} {nouns}.",
    "One {adj} way to {verb} a {noun} is to {verb} the {noun} first.",
    "Researchers at {company} suggest that you {verb} {adj} {nouns} every {noun}.",
    "Keep in mind that a {adj} {noun} will {adv} {verb} the {noun}.",
    "For example, a {noun} in {city} might {verb} as many as {number} {nouns}.",
    "However, the {noun} does not always {verb} the {adj} {noun}.",
    "It is {adj} to {verb} the {noun} before you {verb} the {noun}.",
    "Some {nouns} are {adj}, while others {adv} {verb} the {noun}.",
    "Did you know that {nouns} in {city} rarely {verb} a {adj} {noun}?",
    "A {adj} {noun} and a {adj} {noun} can {verb} together.",
    "You might {verb} the {noun} by asking {name} about the {adj} {noun}.",
    "That {noun} is {adv} {adj}, so people often {verb} it.",
    "The best {nouns} {verb} {adj} {nouns} and {verb} the {noun}.",
    "As {company} found, {adj} {nouns} {verb} faster than {adj} ones.",
)
OPENERS = (
    "Sure!",
    "Great question.",
    "Here is a short answer.",
    "Of course.",
    "Good question!",
    "Happy to help.",
    "Let me explain.",
    "Certainly.",
)
CONNECTORS = ("Also,", "In addition,", "On the other hand,", "In practice,", "Finally,", "Overall,")


@dataclass(frozen=True, slots=True)
class WordPool:
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]
    adverbs: tuple[str, ...]
    names: tuple[str, ...]
    cities: tuple[str, ...]
    companies: tuple[str, ...]
    countries: tuple[str, ...]
    templates: tuple[str, ...] = TEMPLATES
    openers: tuple[str, ...] = OPENERS
    connectors: tuple[str, ...] = CONNECTORS

    country_set: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    """`countries` as a set (the names grounding.facts_of and structured.py look up)."""

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> WordPool:
        words = {key: tuple(values) for key, values in document["words"].items()}
        return cls(**words, country_set=frozenset(words["countries"]))


def load(path: Path = POOL_PATH) -> WordPool:
    return WordPool.from_document(load_json(path))


def build() -> dict[str, Any]:
    """Draw the vocabulary from Faker (imported here only: it is slow to import)."""
    from faker import Faker  # noqa: PLC0415
    from faker.providers.address.en_US import Provider as Address  # noqa: PLC0415
    from faker.providers.lorem.en_US import Provider as Lorem  # noqa: PLC0415

    fake = Faker("en_US")
    fake.seed_instance(_FAKER_SEED)
    speech = Lorem.parts_of_speech

    def simple(words: tuple[str, ...]) -> list[str]:
        return sorted({word for word in words if word.isalpha() and word.islower()})

    def proper(draw: Any) -> list[str]:
        return sorted({draw() for _ in range(_PROPER_NOUNS * 2)})[:_PROPER_NOUNS]

    return {
        "source": (
            "Faker en_US: lorem parts_of_speech, person.name, address.city, company.company, "
            "address.countries"
        ),
        "words": {
            "nouns": simple(speech["noun"]),
            "verbs": simple(speech["verb"]),
            "adjectives": simple(speech["adjective"]),
            "adverbs": simple(speech["adverb"]),
            "names": proper(fake.name),
            "cities": proper(fake.city),
            "companies": proper(fake.company),
            # Every country of one or two plain words (not "Holy See (Vatican City State)").
            "countries": sorted(c for c in Address.countries if _PLAIN_COUNTRY.fullmatch(c)),
        },
    }


def dumps(document: dict[str, Any]) -> str:
    """The pool as JSON with one line per word list, so that a rebuild diffs readably."""
    lines = [f"  {json.dumps(key)}: {json.dumps(values)}" for key, values in document["words"].items()]
    words = ",\n".join(lines)
    return f'{{"source": {json.dumps(document["source"])},\n "words": {{\n{words}\n}}}}\n'


def main() -> int:
    POOL_PATH.write_text(dumps(build()), encoding="utf-8")
    sys.stdout.write(f"wrote {POOL_PATH}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
