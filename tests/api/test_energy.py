"""The energy counters: what the Energy dashboard sees never falls or jumps."""

import math

import pytest

from custom_components.evse_bridge.api.energy import (
    MAX_SEGMENTS,
    EnergyCounter,
    SessionEnergyTotal,
    max_power_w,
)

POWER_22KW = max_power_w(32)
R = 10_000_000.0  # a 10 MWh lifetime register


def feed_all(
    counter: EnergyCounter, readings: list[float | None], period: float = 30.0
) -> list[float | None]:
    """Feed one reading per period; return the total shown after each."""
    return [counter.feed(value, index * period) for index, value in enumerate(readings)]


def counter() -> EnergyCounter:
    """Return a fresh counter for a 32 A three-phase connector."""
    return EnergyCounter(max_power_w=POWER_22KW)


def test_max_power_of_a_connector() -> None:
    """32 A on three phases at 230 V plus 10 % voltage tolerance."""
    assert max_power_w(32) == pytest.approx(24_288)
    assert max_power_w(16, phases=1) == pytest.approx(4_048)


def test_first_reading_is_shown_once_the_next_one_continues_it() -> None:
    """A lone first reading might be a glitch: it waits for the next one."""
    assert feed_all(counter(), [R, R + 10, R + 20]) == [None, R + 10, R + 20]
    assert feed_all(counter(), [0, 0, 1]) == [None, 0, 1]


def test_first_reading_glitch_is_never_shown() -> None:
    """A first reading the next one does not continue is dropped."""
    assert feed_all(counter(), [0, R, R + 10]) == [None, None, R + 10]


def test_run_of_zeros_is_never_a_reset() -> None:
    """The issue's case: R, 0, 0, 0, R+10, R+20, R+30 (a meter reading 0)."""
    shown = feed_all(counter(), [R, R, 0, 0, 0, R + 10, R + 20, R + 30])
    assert shown == [None, R, R, R, R, R + 10, R + 20, R + 30]


@pytest.mark.parametrize(
    "glitch", [1e12, 5e9, -5.0, math.inf, -math.inf, math.nan, None]
)
def test_runs_of_impossible_values_add_nothing(glitch: float | None) -> None:
    """Absurd, negative, infinite and missing values, repeated, change nothing."""
    shown = feed_all(counter(), [R, R, *[glitch] * 5, R + 10])
    assert shown[1:] == [R] * 6 + [R + 10]


def test_dip_is_ignored_until_the_meter_passes_its_old_value() -> None:
    """A reading a little lower is a glitch, however often it repeats."""
    shown = feed_all(counter(), [R, R + 100, R + 50, R + 50, R + 50, R + 60, R + 110])
    assert shown[1:] == [R + 100] * 5 + [R + 110]


def test_rise_above_what_the_connector_delivers_is_held() -> None:
    """30 s later, 1 kWh more cannot come from a 22 kW connector."""
    assert feed_all(counter(), [R, R, R + 1000, R + 20]) == [None, R, R, R + 20]


def test_bound_follows_the_connector() -> None:
    """A rise a 22 kW connector can deliver is too much for a 3.7 kW one."""
    small = EnergyCounter(max_power_w=max_power_w(16, phases=1))
    readings: list[float | None] = [R, R, R + 300, R + 310]
    assert feed_all(counter(), readings)[-1] == R + 310
    assert feed_all(small, readings)[2:] == [R, R]


def test_rise_after_a_long_outage_needs_the_next_reading() -> None:
    """After ten hours, a large rise is real only if the next reading agrees."""
    meter = counter()
    assert feed_all(meter, [R, R]) == [None, R]
    ten_hours = 10 * 3600.0
    assert meter.feed(R + 70_000, ten_hours) == R
    assert meter.feed(R + 70_010, ten_hours + 30) == R + 70_010


def test_lone_spike_after_a_long_outage_is_not_counted() -> None:
    """A plausible but lone large value after an outage is a glitch."""
    meter = counter()
    feed_all(meter, [R, R])
    assert meter.feed(R + 70_000, 36_000) == R
    assert meter.feed(R + 500, 36_030) == R + 500


def test_replaced_meter_counts_on_top_of_the_old_total() -> None:
    """A new meter is taken on after three readings, adding what it measures."""
    shown = feed_all(counter(), [R, R, 10, 10, 10, 20, 30, 40])
    assert shown[1:] == [R, R, R, R, R + 10, R + 20, R + 30]


def test_old_meter_returning_counts_nothing_twice() -> None:
    """Readings back in the old meter's range resume it, counted once."""
    meter = counter()
    shown = feed_all(meter, [R, R, 0, 0, 0, 0, R + 10, R + 20])
    assert shown[1:] == [R] * 5 + [R + 10, R + 20]
    # Energy both registers saw is counted once: the largest total wins.
    replaced = counter()
    feed_all(replaced, [R, R, 10, 20, 30, 60])
    assert replaced.feed(R + 15, 180) == R + 50


def test_segments_are_bounded() -> None:
    """Any number of new registers keeps at most MAX_SEGMENTS segments.

    Each run rises like a meter, so each counts what it rose; none counts its
    own reading.
    """
    meter = counter()
    feed_all(meter, [R, R])
    at = 60.0
    for level in range(1, 20):
        for step in range(3):
            at += 30
            meter.feed(level * 1e6 + step * 10, at)
    assert len(meter.as_dict()["segments"]) == MAX_SEGMENTS
    assert meter.total_wh == R + 19 * 20


def test_state_survives_a_restart() -> None:
    """A restored counter continues, including a candidate run in progress."""
    meter = counter()
    feed_all(meter, [R, R, 10, 20])
    restored = EnergyCounter.from_dict(meter.as_dict(), max_power_w=POWER_22KW)
    assert restored.feed(30, 120) == R + 20
    assert restored.feed(40, 150) == R + 30
    # The old register returns: counted once the next reading confirms it.
    assert restored.feed(R + 30, 180) == R + 30
    assert restored.feed(R + 40, 210) == R + 40


def test_restored_large_rise_waits_for_confirmation() -> None:
    """A pending large rise survives a restart and is confirmed after it."""
    meter = counter()
    feed_all(meter, [R, R])
    meter.feed(R + 70_000, 36_000)
    restored = EnergyCounter.from_dict(meter.as_dict(), max_power_w=POWER_22KW)
    assert restored.feed(R + 70_010, 36_030) == R + 70_010


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "junk",
        {},
        {"total_wh": -1, "segments": [[1, 1, 1]]},
        {"total_wh": 5, "segments": [[1, "x", 1], [1, 2]]},
        {"total_wh": math.nan, "segments": [[1, 1, 1]]},
        {"total_wh": True, "segments": [[1, 1, 1]]},
    ],
)
def test_unusable_storage_starts_afresh(stored: object) -> None:
    """Corrupt storage never becomes a total."""
    restored = EnergyCounter.from_dict(stored, max_power_w=POWER_22KW)
    assert restored.feed(R, 0) is None


def test_unusable_candidates_in_storage_are_dropped() -> None:
    """Candidates must be pairs of numbers, at most a run's worth."""
    stored = {
        "total_wh": R,
        "segments": [[R, R, 0]],
        "candidates": [[1, 2], [3, 4], [5, 6], [7, 8]],
        "anchor": True,
    }
    restored = EnergyCounter.from_dict(stored, max_power_w=POWER_22KW)
    assert restored.as_dict()["candidates"] == []
    assert restored.as_dict()["anchor"] is None


# --- Totals built from session energy (Mennekes) ---------------------------


def feed_sessions(
    readings: list[tuple[float | None, float | None]],
    total: SessionEnergyTotal | None = None,
    period: float = 30.0,
) -> list[float | None]:
    """Feed (session Wh, session s) one per period; return the totals."""
    total = total or SessionEnergyTotal(max_power_w=POWER_22KW)
    return [
        total.feed(energy, duration, index * period)
        for index, (energy, duration) in enumerate(readings)
    ]


def test_sessions_add_up() -> None:
    """Each session counts once, from its first reading on."""
    totals = feed_sessions(
        [(500, 60), (600, 90), (600, 90), (20, 10), (120, 40), (120, 40)]
    )
    assert totals == [500, 600, 600, 600, 720, 720]


def test_no_total_before_a_reading() -> None:
    """No reading yet gives no total; a missing one keeps the total."""
    assert feed_sessions([(None, None), (300, 30), (None, 40)]) == [None, 300, 300]


def test_duration_dip_is_not_a_new_session() -> None:
    """The issue's case: one dip of the duration must not count the session twice."""
    totals = feed_sessions([(5000, 3600), (5000, 10), (5010, 3660)])
    assert totals == [5000, 5000, 5010]


def test_dip_of_energy_and_duration_for_one_poll_counts_nothing_twice() -> None:
    """Both values glitching to zero once: the next reading continues the session."""
    totals = feed_sessions([(5000, 3600), (0, 0), (5010, 3660), (5020, 3690)])
    assert totals == [5000, 5000, 5010, 5020]


@pytest.mark.parametrize("glitch", [1e9, 200_000.0, -50.0, math.nan, math.inf])
def test_impossible_session_energy_is_ignored(glitch: float) -> None:
    """One poll of an absurd, impossible or negative value adds nothing."""
    totals = feed_sessions([(5000, 3600), (glitch, 3630), (5010, 3660)])
    assert totals == [5000, 5000, 5010]


def test_unusable_duration_is_taken_as_unknown() -> None:
    """A duration that is not a number cannot start a session or block one."""
    totals = feed_sessions([(5000, 3600), (5010, math.nan), (5020, -1.0)])
    assert totals == [5000, 5010, 5020]


def test_implausible_first_session_is_a_baseline_only() -> None:
    """200 kWh in one minute cannot be: nothing counted, growth is."""
    assert feed_sessions([(200_000, 60), (200_010, 90)]) == [0, 10]


def test_session_total_survives_a_restart() -> None:
    """A restored total continues; old storage without a time still works."""
    total = SessionEnergyTotal(max_power_w=POWER_22KW)
    feed_sessions([(1000, 100), (1200, 130)], total)
    restored = SessionEnergyTotal.from_dict(total.as_dict(), max_power_w=POWER_22KW)
    assert restored.feed(1300, 160, 60) == 1300
    legacy = SessionEnergyTotal.from_dict(
        {"total_wh": 10_000, "session_wh": 1000, "session_s": 100},
        max_power_w=POWER_22KW,
    )
    assert legacy.feed(1200, 120, 0) == 10_200


@pytest.mark.parametrize("stored", [None, [], {"total_wh": "x"}, {"total_wh": -5}])
def test_unusable_session_storage_starts_afresh(stored: object) -> None:
    """Corrupt storage starts from zero."""
    restored = SessionEnergyTotal.from_dict(stored, max_power_w=POWER_22KW)
    assert restored.feed(100, 10, 0) == 100
