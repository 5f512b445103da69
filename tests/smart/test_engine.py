"""The engine's modes, sharing, plans and state, through its public calls."""

from collections.abc import Callable
from dataclasses import replace
import json
import logging

import pytest

from custom_components.evse_bridge.smart import (
    ChargerConfig,
    ChargerInput,
    Engine,
    MeterSample,
    Mode,
    PriceSlot,
    PvSlot,
    ReasonCode,
    Settings,
    SiteConfig,
    SiteInput,
)
from custom_components.evse_bridge.smart.sharing import Claim, share

from .helpers import T0, rig

HOUR = 3600.0


def prices(values: list[float]) -> tuple[PriceSlot, ...]:
    """Hourly prices from T0."""
    return tuple(
        PriceSlot(
            start=T0 + index * HOUR,
            end=T0 + (index + 1) * HOUR,
            import_price=value,
            export_price=0.0,
        )
        for index, value in enumerate(values)
    )


def test_cheapest_waits_for_the_cheap_hour_then_charges() -> None:
    """The charger waits (saying until when), then charges in the cheap hour."""
    settings = Settings(mode=Mode.CHEAPEST, target_kwh=10, deadline=T0 + 4 * HOUR)
    test_rig = rig(settings=settings)
    test_rig.prices = prices([2.0, 2.0, 0.5, 2.0])
    item = test_rig.step(120).chargers[0]
    assert item.current_a == 0
    assert item.reason.code is ReasonCode.WAITING_FOR_SLOT
    # The house leaves the fuse's reserve for surprises and the car's full
    # power: the whole need fits in the cheap hour.
    assert item.reason.until == T0 + 2 * HOUR
    assert item.plan is not None
    assert item.plan.next_start == item.reason.until
    assert item.plan.expected_kwh == pytest.approx(10)
    assert item.plan.expected_cost == pytest.approx(10 * 0.5)
    test_rig.step(int(2 * HOUR))
    assert test_rig.current() == 16
    test_rig.session_kwh = 10
    item = test_rig.step(1).chargers[0]
    assert (item.current_a, item.reason.code) == (0, ReasonCode.TARGET_REACHED)


def test_window_mode_charges_in_the_window() -> None:
    """Window mode without prices: charge inside the owner's window."""
    settings = Settings(
        mode=Mode.WINDOW,
        target_kwh=5,
        deadline=T0 + 6 * HOUR,
        windows=((T0 + 3 * HOUR, T0 + 5 * HOUR),),
    )
    test_rig = rig(settings=settings)
    test_rig.step(int(3 * HOUR) - 200)
    assert test_rig.current() == 0
    test_rig.step(400)
    assert test_rig.current() == 16


def test_off_and_unplugged() -> None:
    """Off: no set-point at all, plugged or not; unplugged: 0 with the reason."""
    test_rig = rig(settings=Settings(mode=Mode.OFF))
    item = test_rig.step(60).chargers[0]
    assert (item.current_a, item.reason.code) == (None, ReasonCode.OFF)
    test_rig.plugged = False
    item = test_rig.step(1).chargers[0]
    assert (item.current_a, item.reason.code) == (None, ReasonCode.OFF)
    test_rig.settings = Settings(mode=Mode.FAST)
    item = test_rig.step(1).chargers[0]
    assert (item.current_a, item.reason.code) == (0, ReasonCode.UNPLUGGED)


def _both(
    engine: Engine, now: float, house: float, drawn: dict[str, float]
) -> dict[str, tuple[int | None, ReasonCode]]:
    """One call: "off" in mode off drawing what evcc gave it, "ev" in fast mode."""
    grid = house + sum(drawn.values())
    decision = engine.step(
        SiteInput(
            now=now,
            meter=MeterSample(at=now, grid_a=(grid, grid, grid)),
            chargers=tuple(
                ChargerInput(
                    id=charger_id,
                    plugged=True,
                    ev_current_a=(amps, amps, amps),
                    settings=Settings(
                        mode=Mode.OFF if charger_id == "off" else Mode.FAST
                    ),
                )
                for charger_id, amps in drawn.items()
            ),
        )
    )
    return {item.id: (item.current_a, item.reason.code) for item in decision.chargers}


def test_a_charger_in_mode_off_is_load_the_others_work_around() -> None:
    """What a charger in mode off draws is not the site's: the others get the rest.

    Only when cutting the others to 0 does not relieve the fuse does the site
    reduce it (the fuse wins); it never raises or resumes it.
    """
    engine = Engine(
        SiteConfig(fuse_a=25.0),
        (ChargerConfig(id="off", priority=2), ChargerConfig(id="ev")),
    )
    drawn = {"off": 16.0, "ev": 0.0}
    now = T0
    for _ in range(200):
        now += 1
        answers = _both(engine, now, 2.0, drawn)
        drawn["ev"] = float(answers["ev"][0] or 0)
    # 25 A - 0.5 A margin - 2 A house - 16 A for the car in mode off = 6.5 A.
    assert answers == {
        "off": (None, ReasonCode.OFF),
        "ev": (6, ReasonCode.SHARED),
    }
    # An oven: the driven car pauses first, and that is enough.
    answers = _both(engine, now + 1, 8.0, drawn)
    assert answers["off"] == (None, ReasonCode.OFF)
    assert answers["ev"][0] == 0
    drawn["ev"] = 0.0
    # A bigger one: only the car in mode off can relieve the fuse.
    answers = _both(engine, now + 2, 14.0, drawn)
    assert answers["off"] == (10, ReasonCode.FUSE_LIMITED)
    drawn["off"] = 10.0
    answers = _both(engine, now + 3, 14.0, drawn)
    assert answers["off"] == (None, ReasonCode.OFF)
    assert _both(engine, now + 4, 21.0, drawn)["off"] == (0, ReasonCode.FUSE_PAUSED)


def test_leaving_mode_off_takes_over_where_the_car_is() -> None:
    """A car someone else charged at 10 A goes on at 10 A, not paused for a hold."""
    test_rig = rig(settings=Settings(mode=Mode.OFF))
    test_rig.offered["ev"] = (10, 3)
    test_rig.step(100)
    test_rig.settings = Settings(mode=Mode.FAST)
    assert test_rig.step(1).chargers[0].current_a == 10
    assert test_rig.step(100).chargers[0].current_a == 16


def test_solar_mode_follows_the_export() -> None:
    """With 7 kW exported and nothing charging, the car starts on solar."""
    test_rig = rig(settings=Settings(mode=Mode.SOLAR), house_a=(-10.0, -10.0, -10.0))
    item = test_rig.step(200).chargers[0]
    assert item.reason.code is ReasonCode.SOLAR
    assert item.current_a == 10  # 30 A x 230 V = 6.9 kW -> 10 A on 3 phases


def test_priority_shares_without_starving() -> None:
    """Two cars on 20 A: both get their minimum, priority gets the rest."""
    first = ChargerConfig(id="a", priority=1)
    second = ChargerConfig(id="b")
    test_rig = rig(chargers=(first, second))
    test_rig.step(200)
    assert test_rig.current("a") + test_rig.current("b") <= 19
    assert test_rig.current("b") == 6
    assert test_rig.current("a") == 12
    reason = next(item.reason for item in test_rig.last.chargers if item.id == "b")  # type: ignore[union-attr]
    assert reason.code is ReasonCode.SHARED


def test_sharing_keeps_the_running_charger_of_equal_priority() -> None:
    """Room for one minimum only: the charger already running keeps it."""
    a, b = ChargerConfig(id="a"), ChargerConfig(id="b")
    grants = share(
        (8.0, 8.0, 8.0),
        [
            Claim(config=a, want_a=16, phases=3, running=False),
            Claim(config=b, want_a=16, phases=3, running=True),
        ],
    )
    assert grants["b"].current_a == 8
    assert grants["a"].current_a == 0


def test_snapshot_survives_json_and_restore() -> None:
    """The state goes through JSON and comes back; the meter must report again."""
    settings = Settings(mode=Mode.CHEAPEST, target_kwh=10, deadline=T0 + 4 * HOUR)
    test_rig = rig(settings=settings)
    test_rig.prices = prices([2.0, 0.5, 2.0, 2.0])
    test_rig.step(int(HOUR) + 200)
    saved = json.loads(json.dumps(test_rig.engine.snapshot()))
    assert saved["chargers"]["ev"]["set_a"] == 16
    engine = Engine(SiteConfig(fuse_a=20), [ChargerConfig(id="ev")])
    engine.restore(saved)
    assert engine.snapshot() == saved


def test_restore_refuses_garbage_without_crashing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A corrupt saved state is logged once and ignored."""
    engine = Engine(SiteConfig(fuse_a=20), [ChargerConfig(id="ev")])
    caplog.set_level(logging.WARNING)
    engine.restore({"chargers": {"ev": {"set_a": "lots"}}})
    engine.restore({"chargers": {"ev": {"set_a": "lots"}}})
    assert engine.snapshot()["chargers"]["ev"]["set_a"] == 0
    assert len(caplog.records) == 1


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: SiteConfig(fuse_a=0), "fuse_a"),
        (lambda: SiteConfig(fuse_a=20, phases=2), "phases"),
        (lambda: SiteConfig(fuse_a=20, voltage_v=-1), "voltage_v"),
        (lambda: SiteConfig(fuse_a=20, margin_a=25), "margin_a"),
        (lambda: SiteConfig(fuse_a=20, meter_period_s=0), "meter_period_s"),
        (lambda: ChargerConfig(id="x", min_current_a=5), "min_current_a"),
        (lambda: ChargerConfig(id="x", phases=2), "phases"),
        (lambda: ChargerConfig(id="x", grid_phase=3), "grid_phase"),
        (
            lambda: Engine(SiteConfig(fuse_a=20), [ChargerConfig(id="x")] * 2),
            "unique",
        ),
    ],
)
def test_bad_configuration_is_refused(
    factory: Callable[[], object], message: str
) -> None:
    """A configuration the engine cannot guard raises ValueError naming the field."""
    with pytest.raises(ValueError, match=message):
        factory()


def test_negative_car_current_counts_as_zero() -> None:
    """A meter glitch of -3 A on the car does not make the house look smaller."""
    test_rig = rig()
    test_rig.step(120)
    engine = test_rig.engine
    decision = engine.step(
        SiteInput(
            now=test_rig.now + 1,
            meter=MeterSample(at=test_rig.now + 1, grid_a=(17.0, 17.0, 17.0)),
            chargers=(
                ChargerInput(
                    id="ev",
                    plugged=True,
                    ev_current_a=(-3.0, 16.0, 16.0),
                    settings=test_rig.settings,
                ),
            ),
        )
    )
    # L1: house looks like 17 A (not 20 A): 2.5 A left, below the minimum.
    assert decision.chargers[0].current_a == 0


def test_cheapest_without_deadline_or_target_fills_the_known_prices() -> None:
    """No deadline and no target: everything the known prices cover, so now."""
    test_rig = rig(settings=Settings(mode=Mode.CHEAPEST))
    test_rig.prices = prices([2.0, 0.2, 2.0])
    item = test_rig.step(120).chargers[0]
    assert item.plan is not None
    assert item.plan.feasible
    assert item.plan.slots[-1].end == T0 + 3 * HOUR
    assert item.current_a == 16


def test_cheapest_takes_solar_when_it_beats_the_plan() -> None:
    """Exporting 7 kW, export worth less than the planned grid: charge from solar."""
    settings = Settings(mode=Mode.CHEAPEST, target_kwh=10, deadline=T0 + 4 * HOUR)
    test_rig = rig(settings=settings, house_a=(-10.0, -10.0, -10.0))
    test_rig.prices = prices([2.0, 2.0, 2.0, 0.9])
    item = test_rig.step(200).chargers[0]
    assert item.reason.code is ReasonCode.SOLAR
    assert item.current_a is not None
    assert item.current_a >= 6


def test_later_solar_leaves_the_fuse_room_for_full_power() -> None:
    """10 A of house per phase leaves 7 A at night; forecast solar frees the fuse.

    The cheap hour has 9 kW of solar forecast: the plan counts on the car's
    full 11 kW there and charges the whole need in it.
    """
    settings = Settings(mode=Mode.CHEAPEST, target_kwh=10, deadline=T0 + 4 * HOUR)
    test_rig = rig(settings=settings, house_a=(10.0, 10.0, 10.0))
    test_rig.prices = prices([2.0, 2.0, 0.5, 2.0])
    night = test_rig.step(120).chargers[0].plan
    assert night is not None
    assert night.expected_cost > 10 * 0.5  # 7 A in the cheap hour is not enough
    test_rig = rig(settings=settings, house_a=(10.0, 10.0, 10.0))
    test_rig.prices = prices([2.0, 2.0, 0.5, 2.0])
    test_rig.pv_forecast = (
        PvSlot(start=T0 + 2 * HOUR, end=T0 + 3 * HOUR, power_w=9000),
    )
    sunny = test_rig.step(120).chargers[0].plan
    assert sunny is not None
    assert sunny.expected_cost == pytest.approx(10 * 0.5)
    assert all(T0 + 2 * HOUR <= slot.start < T0 + 3 * HOUR for slot in sunny.slots)


@pytest.mark.parametrize(
    ("house_a", "held"),
    [
        # 4.0 kW of export: 6 A costs little more than the export price.
        ((-5.8, -5.8, -5.8), True),
        # 1 kW of export: 6 A would mostly be bought at 2.0 per kWh.
        ((-1.5, -1.5, -1.5), False),
    ],
)
def test_a_solar_run_holds_its_minimum_while_that_is_cheap(
    house_a: tuple[float, float, float], held: bool
) -> None:
    """A dip below the minimum that outlasts the stop delay ends the run only if dear.

    The grid the plan would buy costs 1.0; solar is worth 0.1.
    """
    settings = Settings(mode=Mode.CHEAPEST, target_kwh=30, deadline=T0 + 4 * HOUR)
    test_rig = rig(settings=settings, house_a=(-8.0, -8.0, -8.0))
    test_rig.prices = tuple(
        replace(slot, export_price=0.1) for slot in prices([2.0, 1.0, 1.0, 1.0])
    )
    item = test_rig.step(200).chargers[0]
    assert item.reason.code is ReasonCode.SOLAR
    assert item.current_a is not None
    assert item.current_a >= 6
    test_rig.house_a = house_a
    test_rig.step(900)
    assert (test_rig.current() == 6) is held
    assert (test_rig.current() == 0) is not held


@pytest.mark.parametrize(("deadline_min", "current_a"), [(15, 12), (120, 0)])
def test_the_last_step_buys_what_the_clouds_took(
    deadline_min: int, current_a: int
) -> None:
    """The plan counts on forecast solar that a cloud takes away.

    Far from the deadline the charger waits for the sun (the next re-plan can
    still buy grid energy); in the last quarter hour it charges what meets
    the target 2 minutes early: at 2 minutes, 1.5 kWh in 11 minutes is 12 A.
    """
    settings = Settings(
        mode=Mode.CHEAPEST, target_kwh=1.5, deadline=T0 + deadline_min * 60
    )
    test_rig = rig(settings=settings)
    test_rig.prices = tuple(
        replace(slot, export_price=0.1) for slot in prices([2.0, 2.0, 2.0])
    )
    test_rig.pv_forecast = (PvSlot(start=T0, end=T0 + 3 * HOUR, power_w=12_000),)
    test_rig.pv_power_w = 0.0
    item = test_rig.step(120).chargers[0]
    assert item.plan is not None
    assert all(not slot.grid for slot in item.plan.slots)
    assert test_rig.current() == current_a
    assert item.reason.code is (
        ReasonCode.CHARGING if current_a else ReasonCode.SOLAR_WAITING
    )


def test_a_run_lasts_the_minimum_and_a_pause_too() -> None:
    """A plan that moves right after a start holds the minimum; a quick return waits."""
    settings = Settings(mode=Mode.CHEAPEST, target_kwh=10, deadline=T0 + 4 * HOUR)
    test_rig = rig(settings=settings)
    test_rig.prices = prices([0.5, 2.0, 2.0, 2.0])
    test_rig.step(120)
    assert test_rig.current() == 16
    test_rig.prices = prices([3.0, 2.0, 0.5, 2.0])  # new prices: cheap later
    item = test_rig.step(1).chargers[0]
    assert (item.current_a, item.reason.code) == (6, ReasonCode.RUN_HELD)
    test_rig.step(600)
    assert test_rig.current() == 0
    test_rig.prices = prices([0.5, 2.0, 2.0, 2.0])
    item = test_rig.step(1).chargers[0]
    assert (item.current_a, item.reason.code) == (0, ReasonCode.PAUSE_HELD)
    test_rig.step(300)
    assert test_rig.current() == 16


def test_restore_skips_what_it_does_not_know() -> None:
    """Unknown chargers and missing plans in a saved state are skipped."""
    engine = Engine(SiteConfig(fuse_a=20), [ChargerConfig(id="ev")])
    engine.restore(
        {
            "house_trend": [1, 2, 3],
            "chargers": {"gone": {}, "ev": {"set_a": 8, "plan": None}},
        }
    )
    saved = engine.snapshot()
    assert saved["chargers"]["ev"]["set_a"] == 8
    assert saved["chargers"]["ev"]["plan"] is None
    assert saved["house_trend"] == [1, 2, 3]


def test_unusable_prices_target_and_session_are_set_aside(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """NaN prices are dropped, a NaN target means "until full", each logged once."""
    nan = float("nan")
    test_rig = rig(
        settings=Settings(mode=Mode.CHEAPEST, target_kwh=nan, deadline=T0 + 3 * HOUR)
    )
    test_rig.prices = (
        *prices([2.0, 0.5, 2.0]),
        PriceSlot(start=nan, end=T0, import_price=1, export_price=0),
    )
    test_rig.session_kwh = nan
    caplog.set_level(logging.WARNING)
    item = test_rig.step(120).chargers[0]
    assert item.plan is not None
    assert item.plan.feasible
    assert item.plan.slots[-1].end == T0 + 3 * HOUR
    assert item.current_a == 16
    assert len(caplog.records) == 3
