"""Faults and the rate limit on their own: where a fault strikes, the seeded global plan, the
sliding windows (with a fake clock, so nothing sleeps)."""

from __future__ import annotations

import json

import pytest
from jamba_emulator.http.delivery import pauses
from jamba_emulator.http.surfaces.studio import STUDIO
from jamba_emulator.resources import SCHEMA_DIR, load_json
from jamba_emulator.script.faults import EFFECTS, Fault, FaultPlan, parse_choice
from jamba_emulator.script.ratelimit import RateLimiter, describe
from jamba_emulator.script.replies import NO_PACING, Pacing


@pytest.mark.parametrize(
    ("after_events", "count", "at"),
    [(None, 10, 5), (None, 3, 1), (None, 2, 1), (None, 1, 0), (0, 10, 0), (4, 10, 4), (99, 10, 9)],
)
def test_a_fault_strikes_half_way_unless_told_where(after_events: int | None, count: int, at: int) -> None:
    assert Fault("drop_mid_stream", after_events=after_events).cut(count) == at


def test_a_malformed_event_is_half_its_json() -> None:
    event = b'data: {"id":"chatcmpl-1","choices":[{"index":0}]}\n\n'
    bad = STUDIO.broken_event(event)
    assert bad.startswith(b"data: {") and bad.endswith(b"\n\n")
    payload = bad[len(b"data: ") : -2]
    assert event.startswith(b"data: " + payload)
    with pytest.raises(json.JSONDecodeError):
        json.loads(payload)


def test_every_fault_kind_of_the_fixture_schema_has_an_effect_and_no_other() -> None:
    """The kinds are read from the schema users write to; what each does is the EFFECTS table:
    a kind added to one must be added to the other."""
    schema = load_json(SCHEMA_DIR / "fixtures.schema.json")
    assert list(EFFECTS) == schema["definitions"]["Fault"]["properties"]["kind"]["enum"]


def test_only_a_drop_before_the_response_strikes_before_the_headers() -> None:
    assert [kind for kind, effect in EFFECTS.items() if effect.at_start] == ["drop_before_response"]
    assert all(effect.closes for effect in EFFECTS.values() if effect.at_start)


def test_global_choices_are_statuses_or_fault_kinds() -> None:
    assert parse_choice(" 503 ") == 503
    assert parse_choice("stall") == Fault("stall")
    for bad in ("200", "600", "crash", ""):
        with pytest.raises(ValueError, match="neither an error status"):
            parse_choice(bad)


def test_the_plan_strikes_at_its_rate_and_repeats_after_reset() -> None:
    plan = FaultPlan(0.3, [500, Fault("stall")], seed=1)
    draws = [plan.draw() for _ in range(2000)]
    struck = [d for d in draws if d is not None]
    assert 0.25 < len(struck) / len(draws) < 0.35
    assert set(struck) == {500, Fault("stall")}
    plan.reset()
    assert [plan.draw() for _ in range(2000)] == draws
    assert [FaultPlan(0.3, [500, Fault("stall")], seed=2).draw() for _ in range(2000)] != draws


def test_a_plan_at_rate_zero_never_strikes_and_is_falsy() -> None:
    plan = FaultPlan(0.0, [500], seed=1)
    assert not plan
    assert all(plan.draw() is None for _ in range(100))
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(1.5, [500], seed=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_windows_per_second_and_per_minute() -> None:
    clock = Clock()
    limiter = RateLimiter([(2, 1.0), (5, 60.0)], clock)
    assert [limiter.wait_for("k"), limiter.wait_for("k")] == [None, None]
    assert limiter.wait_for("k") == 1, "third in the same second"
    assert limiter.wait_for("other") is None, "each key has its own windows"
    clock.now += 1.0
    assert [limiter.wait_for("k"), limiter.wait_for("k")] == [None, None]
    clock.now += 1.0
    assert limiter.wait_for("k") is None
    assert limiter.wait_for("k") == 58, "5 in the minute: wait until the first leaves it"
    clock.now += 57.5
    assert limiter.wait_for("k") == 1, "rounded up to whole seconds"
    clock.now += 0.5
    assert limiter.wait_for("k") is None
    limiter.reset()
    assert [limiter.wait_for("k"), limiter.wait_for("k")] == [None, None]


def test_refused_requests_do_not_count() -> None:
    clock = Clock()
    limiter = RateLimiter([(1, 1.0)], clock)
    assert limiter.wait_for("k") is None
    for _ in range(10):
        assert limiter.wait_for("k") == 1
    clock.now += 1.0
    assert limiter.wait_for("k") is None


def test_limits_are_described_as_the_flag_spells_them() -> None:
    assert describe([(2, 1.0), (60, 60.0), (1000, 3600.0), (100, 10.0)]) == "2/s, 60/min, 1000/h, 100/10s"
    assert not RateLimiter([])


def test_a_surfaces_gap_is_the_least_pause_between_events_and_a_rules_longer_pacing_wins() -> None:
    """Bedrock's pace (Surface.event_gap) holds events apart even when no rule paces them; a
    rule's slower timing still applies, and the first event (the role chunk) goes at once."""
    assert pauses(NO_PACING, 0.0) is None
    paced = pauses(NO_PACING, 0.001)
    assert paced is not None and [paced(at) for at in range(3)] == [0.0, 0.001, 0.001]
    slower = pauses(Pacing(first_token_ms=50, token_ms=20), 0.001)
    assert slower is not None and [slower(at) for at in range(3)] == [0.0, 0.05, 0.02]
    faster = pauses(Pacing(token_ms=0, delay_ms=9), 0.001)
    assert faster is not None and faster(5) == 0.001
