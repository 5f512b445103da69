"""Property tests: glitches never make the counted energy exceed the true energy.

A glitch is a reading the meter could not have taken: below its register, or
above what the connector could deliver since, or not a number at all. A glitch
run repeats one such value any number of times (a meter that reads 0, or
1e12, for a while), between true readings. Not generated, because nothing can
tell them from real readings: a value inside the window a real meter could
reach, and glitches that rise like a counting meter over several readings.
"""

import math
from typing import NamedTuple

from hypothesis import given, settings, strategies as st

from custom_components.evse_bridge.api.energy import (
    EnergyCounter,
    SessionEnergyTotal,
    max_power_w,
)

POWER_W = max_power_w(32)
PERIOD_S = 30.0
# The most a 22 kW connector adds in one report period.
MAX_STEP_WH = 22_000 * PERIOD_S / 3600


class Reading(NamedTuple):
    """One report: the value sent, and the true register at that time."""

    value: float | None
    true_wh: float


def impossible(true_wh: float) -> st.SearchStrategy[float | None]:
    """Return values a meter whose register is ``true_wh`` cannot report."""
    return st.one_of(
        st.none(),
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0]),
        st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=1).map(lambda share: share * true_wh),
        st.floats(min_value=true_wh + 1e6, max_value=1e15),
    )


@st.composite
def meter_days(draw: st.DrawFn) -> list[Reading]:
    """Return a day of reports: a true meter with glitch runs and outliers."""
    true_wh = draw(st.floats(min_value=0, max_value=1e8))
    # Two true readings first: the very first total cannot be checked.
    readings = [Reading(true_wh, true_wh), Reading(true_wh, true_wh)]
    for _ in range(draw(st.integers(min_value=1, max_value=20))):
        # A glitch run: one impossible value, repeated; the true meter keeps
        # counting meanwhile. Then true readings, at least one.
        value = draw(impossible(true_wh))
        for _ in range(draw(st.integers(min_value=0, max_value=8))):
            true_wh += draw(st.floats(min_value=0, max_value=MAX_STEP_WH))
            readings.append(Reading(value, true_wh))
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            true_wh += draw(st.floats(min_value=0, max_value=MAX_STEP_WH))
            readings.append(Reading(true_wh, true_wh))
    return readings


@given(meter_days())
@settings(max_examples=100, deadline=None)
def test_glitches_never_add_energy(readings: list[Reading]) -> None:
    """The total never falls, and never counts more than the meter measured."""
    counter = EnergyCounter(max_power_w=POWER_W)
    shown: list[tuple[float, float]] = []
    for index, reading in enumerate(readings):
        total = counter.feed(reading.value, index * PERIOD_S)
        if total is not None:
            shown.append((total, reading.true_wh))
    totals = [total for total, _ in shown]
    assert totals == sorted(totals)
    if shown:
        first_total, first_true = shown[0]
        assert totals[-1] - first_total <= readings[-1].true_wh - first_true + 1e-6


@given(meter_days(), st.integers(min_value=0, max_value=40))
@settings(max_examples=50, deadline=None)
def test_restart_anywhere_changes_nothing(
    readings: list[Reading], restart_at: int
) -> None:
    """Saving and restoring at any point gives the same totals."""
    straight = EnergyCounter(max_power_w=POWER_W)
    restarted = EnergyCounter(max_power_w=POWER_W)
    for index, reading in enumerate(readings):
        if index == restart_at:
            restarted = EnergyCounter.from_dict(
                restarted.as_dict(), max_power_w=POWER_W
            )
        at = index * PERIOD_S
        assert restarted.feed(reading.value, at) == straight.feed(reading.value, at)


@st.composite
def session_days(draw: st.DrawFn) -> list[tuple[float | None, float | None, float]]:
    """Return (session Wh, session s, true lifetime Wh) per poll, with glitches."""
    polls: list[tuple[float | None, float | None, float]] = []
    lifetime = 0.0
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        session_wh, session_s = 0.0, 0.0
        for _ in range(draw(st.integers(min_value=2, max_value=12))):
            if draw(st.integers(min_value=0, max_value=4)) == 0:
                glitch = draw(
                    st.sampled_from([0.0, -5.0, 1e9, math.nan, session_wh + 1e6])
                )
                polls.append(
                    (glitch, draw(st.sampled_from([0.0, session_s])), lifetime)
                )
            added = draw(st.floats(min_value=0, max_value=MAX_STEP_WH))
            session_wh += added
            session_s += PERIOD_S
            lifetime += added
            polls.append((session_wh, session_s, lifetime))
    return polls


@given(session_days())
@settings(max_examples=100, deadline=None)
def test_session_glitches_never_add_energy(
    polls: list[tuple[float | None, float | None, float]],
) -> None:
    """A total built from sessions never exceeds the energy really delivered."""
    total = SessionEnergyTotal(max_power_w=POWER_W)
    shown = [
        total.feed(energy, duration, index * PERIOD_S)
        for index, (energy, duration, _) in enumerate(polls)
    ]
    values = [value for value in shown if value is not None]
    assert values == sorted(values)
    assert values[-1] <= polls[-1][2] + 1e-6
