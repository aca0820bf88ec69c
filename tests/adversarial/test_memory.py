"""Finding 5: caches and tables grew with input. The completion cache left `stop` out of its size
check (25 requests with distinct 4 MB stop lists: +99 MB, freed by nothing), and the rate limiter
kept a window for every key it ever saw (53,000 keys: +133 MB). Now every cache is bounded by the
size of what it holds, and the limiter by its number of keys."""

from __future__ import annotations

from jamba_emulator.answer.generator import Generator
from jamba_emulator.chat.cache import SizedCache
from jamba_emulator.config import Config
from jamba_emulator.core import Core
from jamba_emulator.script.ratelimit import RateLimiter


def test_requests_with_long_stop_lists_are_not_kept() -> None:
    core = Core.build(Config())
    for index in range(25):  # 256 distinct stops of 16,000 characters: 4 MB a request
        stops = [f"{index}-{number}-" + "x" * 16_000 for number in range(256)]
        body = {
            "model": "jamba-instruct-preview",
            "messages": [{"role": "user", "content": "hi"}],
            "stop": stops,
        }
        core.generator.complete(core.admission.admit(body).request)
    assert len(core.generator._completions) == 0
    assert core.generator._completions.weight == 0


def test_every_generator_cache_stays_under_its_limit() -> None:
    core = Core.build(Config())
    generator = core.generator
    for index in range(400):  # 16 long answers each: the heaviest entries a short request makes
        body = {
            "model": "jamba-instruct-preview",
            "n": 16,
            "messages": [{"role": "user", "content": f"question {index}"}],
        }
        generator.complete(core.admission.admit(body).request)
    for cache, limit in (
        (generator._completions, Generator.COMPLETIONS),
        (generator._answers, Generator.ANSWERS),
        (generator._seeds, Generator.SEEDS),
    ):
        assert 0 < cache.weight <= limit


def test_a_sized_cache_drops_its_oldest_entries_past_its_limit() -> None:
    cache: SizedCache[int, str] = SizedCache(100)
    for key in range(50):
        cache.put(key, "x", 10)
    assert cache.weight == 100 and len(cache) == 10
    assert cache.get(39) is None and cache.get(49) == "x"
    cache.put(99, "too big", 101)
    assert cache.get(99) is None


def test_the_rate_limiter_keeps_at_most_its_number_of_keys() -> None:
    limiter = RateLimiter([(2, 1.0), (60, 60.0)], clock=lambda: 0.0, max_keys=50)
    for index in range(1000):
        assert limiter.wait_for(f"key-{index}") is None
    assert len(limiter) == 50
    assert limiter.wait_for("key-999") is None and limiter.wait_for("key-999") is not None, (
        "recent keys keep their windows"
    )
