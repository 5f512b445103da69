"""The fuse guard through the engine: decreases at once, increases after a hold."""

import logging
import math

import pytest

from custom_components.evse_bridge.smart import (
    ChargerConfig,
    ChargerInput,
    Engine,
    Fallback,
    MeterSample,
    Mode,
    ReasonCode,
    Settings,
    SiteConfig,
    SiteInput,
)
from custom_components.evse_bridge.smart.guard import (
    AllowanceWindow,
    HoldPolicy,
    MeterWatch,
    stale_after,
)

from .helpers import T0, Rig, rig


def charging_rig(house_a: tuple[float, float, float] = (1.1, 0.9, 1.3)) -> Rig:
    """Return a rig whose car charges at 16 A, the meter trusted."""
    test_rig = rig(house_a=house_a)
    test_rig.step(120)
    assert test_rig.current() == 16
    return test_rig


def test_oven_case_reduces_on_the_first_overload_sample() -> None:
    """SMART_CHARGING.md 2.2: oven on L3 (+10.9 A) -> 7 A at once, reason names L3."""
    test_rig = charging_rig()
    test_rig.house_a = (1.1, 0.9, 1.3 + 10.9)
    decision = test_rig.step(1)
    item = decision.chargers[0]
    assert item.current_a == 7
    assert item.changed
    assert item.reason.code is ReasonCode.FUSE_LIMITED
    assert item.reason.phase == 3
    assert item.reason.limit_a == 20.0
    assert item.reason.measured_a == pytest.approx(28.2)
    assert decision.guard_active


def test_increase_waits_for_the_hold() -> None:
    """After the oven turns off, the current stays down for the hold, then rises."""
    test_rig = charging_rig()
    test_rig.house_a = (1.1, 0.9, 12.2)
    test_rig.step(1)
    test_rig.house_a = (1.1, 0.9, 1.3)
    test_rig.step(30)
    assert test_rig.current() == 7
    test_rig.step(40)
    assert test_rig.current() == 16


def test_cycling_load_lengthens_the_hold() -> None:
    """A load that keeps coming back makes the guard wait longer before rising."""
    test_rig = charging_rig()
    rises = 0
    for _ in range(6):  # 2 minutes on, 1 minute off: an oven thermostat
        test_rig.house_a = (1.1, 0.9, 12.2)
        test_rig.step(120)
        before = test_rig.current()
        test_rig.house_a = (1.1, 0.9, 1.3)
        test_rig.step(60)
        rises += test_rig.current() > before
    assert rises <= 2


def test_below_the_minimum_pauses() -> None:
    """Less than 6 A of headroom pauses the charger rather than offering 5 A."""
    test_rig = charging_rig()
    test_rig.house_a = (14.5, 1.0, 1.0)
    item = test_rig.step(1).chargers[0]
    assert item.current_a == 0
    assert item.reason.code is ReasonCode.FUSE_PAUSED
    assert item.reason.phase == 1


def test_one_phase_charger_ignores_other_phases() -> None:
    """A 1-phase charger on L2 keeps charging when L1 is loaded (evcc#29532)."""
    charger = ChargerConfig(id="ev", phases=1, grid_phase=1)
    test_rig = rig(chargers=(charger,))
    test_rig.step(120)
    test_rig.house_a = (17.0, 1.0, 1.0)
    assert test_rig.step(5).chargers[0].current_a == 16


def test_switchable_charger_goes_to_one_phase_instead_of_pausing() -> None:
    """With L1 loaded, a charger that can switch continues on its L2 phase."""
    charger = ChargerConfig(id="ev", can_switch_phases=True, grid_phase=1)
    test_rig = rig(chargers=(charger,), house_a=(15.0, 1.0, 1.0))
    item = test_rig.step(120).chargers[0]
    assert item.current_a == 16
    assert item.phases == 1
    test_rig.house_a = (1.0, 1.0, 1.0)
    item = test_rig.step(700).chargers[0]
    assert (item.current_a, item.phases) == (16, 3)


def test_stale_meter_pauses_within_one_cycle() -> None:
    """No sample for max(3 x period, 10 s): the next call pauses."""
    test_rig = charging_rig()
    test_rig.meter_on = False
    test_rig.step(10)
    assert test_rig.current() == 16
    item = test_rig.step(1).chargers[0]
    assert item.current_a == 0
    assert item.reason.code is ReasonCode.METER_STALE
    test_rig.meter_on = True
    test_rig.step(29)
    assert test_rig.current() == 0
    test_rig.step(70)
    assert test_rig.current() == 16


def test_safe_current_fallback() -> None:
    """With a safe-current fallback the charger drops to it, not to 0."""
    site = SiteConfig(fuse_a=20.0, fallback=Fallback.SAFE_CURRENT, fallback_current_a=6)
    test_rig = rig(site=site)
    test_rig.step(120)
    test_rig.meter_on = False
    item = test_rig.step(12).chargers[0]
    assert item.current_a == 6
    assert item.reason.code is ReasonCode.METER_STALE
    assert item.reason.limit_a == 6


@pytest.mark.parametrize(("period", "stale"), [(1, 10), (10, 30), (30, 90)])
def test_stale_threshold(period: float, stale: float) -> None:
    """A meter is stale after max(3 x its period, 10 s)."""
    assert stale_after(SiteConfig(fuse_a=20, meter_period_s=period)) == stale


def test_unusable_samples_count_as_silence(caplog: pytest.LogCaptureFixture) -> None:
    """NaN currents are not trusted, are logged once, and lead to the fallback."""
    engine = Engine(SiteConfig(fuse_a=20), [ChargerConfig(id="ev")])
    caplog.set_level(logging.WARNING)
    for second in range(60):
        decision = engine.step(
            SiteInput(
                now=T0 + second,
                meter=MeterSample(at=T0 + second, grid_a=(math.nan, 1.0, 1.0)),
                chargers=(
                    ChargerInput(
                        id="ev",
                        plugged=True,
                        ev_current_a=(math.inf, 0.0, 0.0),
                        settings=Settings(mode=Mode.FAST),
                    ),
                    ChargerInput(id="stranger", plugged=True),
                ),
            )
        )
    assert decision.chargers[0].current_a == 0
    assert not decision.meter_fresh
    assert len(caplog.records) == 3  # meter, car current, unknown charger: once each


def test_meter_watch_recovers_only_after_fresh_data() -> None:
    """A meter back after an outage is trusted after 30 s of samples."""
    watch = MeterWatch()
    for second in range(40):
        watch.offer(MeterSample(at=second, grid_a=(0.0, 0.0, 0.0)), second, 10)
    assert watch.trusted(39, 10)
    assert not watch.trusted(60, 10)
    for second in range(60, 80):
        watch.offer(MeterSample(at=second, grid_a=(0.0, 0.0, 0.0)), second, 10)
    assert not watch.trusted(79, 10)
    assert not watch.offer(MeterSample(at=70, grid_a=(0.0, 0.0, 0.0)), 80, 10)


def test_allowance_window_takes_the_lowest_level_of_the_hold() -> None:
    """The level in force at the start of the hold counts, later dips count."""
    window = AllowanceWindow()
    window.add(0, 10.0)
    window.add(50, 6.0)
    window.add(70, 12.0)
    assert window.min_over(70, 60) == 6.0
    assert window.min_over(200, 60) == 12.0
    assert window.min_over(200, 300) is None
    window.reset()
    assert window.min_over(200, 60) is None


def test_hold_doubles_with_repeated_safety_decreases() -> None:
    """60 s, then 120 s, 240 s ...; forgotten after half an hour."""
    hold = HoldPolicy()
    assert hold.hold_s(0) == 60
    hold.note_safety_decrease(0)
    hold.note_safety_decrease(100)
    hold.note_safety_decrease(200)
    assert hold.hold_s(200) == 240
    assert hold.hold_s(5000) == 60
