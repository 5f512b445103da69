"""The solar follower: starts on lasting surplus, rides through clouds, few changes."""

from custom_components.evse_bridge.smart import ChargerConfig, Mode, ReasonCode
from custom_components.evse_bridge.smart.solar import (
    START_DELAY_S,
    STOP_DELAY_S,
    SolarState,
    SolarTarget,
    follow,
    increase_hold_s,
)

V = 230.0
THREE_PHASE = ChargerConfig(id="ev")
SWITCHING = ChargerConfig(id="ev", can_switch_phases=True)


def run(
    state: SolarState,
    charger: ChargerConfig,
    watts: float,
    seconds: int,
    *,
    start: int = 0,
    running: bool = False,
    mode: Mode = Mode.SOLAR,
    hold_minimum: bool = False,
) -> SolarTarget:
    """Follow a constant surplus for ``seconds``; return the last target."""
    target = None
    for second in range(start, start + seconds):
        target = follow(
            state,
            charger,
            mode=mode,
            now=second,
            available_w=watts,
            running=running,
            voltage=V,
            hold_minimum=hold_minimum,
        )
    assert target is not None
    return target


def test_starts_only_after_the_surplus_lasted() -> None:
    """Enough surplus for 6.5 A on 3 phases, for a minute: start."""
    state = SolarState()
    waiting = run(state, THREE_PHASE, 7000, int(START_DELAY_S) - 1)
    assert waiting.current_a == 0
    assert waiting.code is ReasonCode.SOLAR_WAITING
    started = run(state, THREE_PHASE, 7000, 2, start=int(START_DELAY_S) - 1)
    assert started.current_a == 10  # 7000 W / 690 W per A


def test_not_enough_surplus_never_starts() -> None:
    """3 kW cannot feed 6 A on three phases."""
    assert run(SolarState(), THREE_PHASE, 3000, 600).current_a == 0


def test_one_phase_from_1_4_kw_when_the_charger_can_switch() -> None:
    """A switching charger uses one phase for a 3 kW surplus: 13 A."""
    target = run(SolarState(), SWITCHING, 3000, 120)
    assert (target.current_a, target.phases) == (13, 1)


def test_holds_the_minimum_through_a_cloud_then_stops() -> None:
    """Below the minimum: hold 6 A for the stop delay, then stop."""
    state = SolarState()
    held = run(state, THREE_PHASE, 2000, int(STOP_DELAY_S) - 1, running=True)
    assert held.current_a == 6
    assert held.until == STOP_DELAY_S
    stopped = run(state, THREE_PHASE, 2000, 2, start=int(STOP_DELAY_S), running=True)
    assert stopped.current_a == 0


def test_a_held_minimum_outlasts_the_stop_delay() -> None:
    """Told to hold (the dip is cheap), a running charger keeps 6 A, then follows."""
    state = SolarState()
    held = run(
        state, THREE_PHASE, 4000, 3 * int(STOP_DELAY_S), running=True, hold_minimum=True
    )
    assert (held.current_a, held.code, held.until) == (6, ReasonCode.SOLAR, None)
    stopped = run(
        state, THREE_PHASE, 4000, 1, start=3 * int(STOP_DELAY_S), running=True
    )
    assert stopped.current_a == 0


def test_solar_min_never_goes_below_the_minimum() -> None:
    """Solar + minimum: 6 A from the grid when there is no surplus."""
    target = run(SolarState(), THREE_PHASE, 0, 10, mode=Mode.SOLAR_MIN)
    assert target.current_a == 6


def test_rising_surplus_is_smoothed() -> None:
    """A jump in surplus is followed gradually; a fall at once."""
    state = SolarState()
    run(state, THREE_PHASE, 5000, 10, running=True)
    jumped = run(state, THREE_PHASE, 11000, 1, start=10, running=True)
    assert 7 <= jumped.current_a < 15
    assert not jumped.settled
    fallen = run(state, THREE_PHASE, 5000, 1, start=11, running=True)
    assert fallen.current_a == 7


def test_increase_hold_grows_with_each_decrease() -> None:
    """After repeated solar decreases the next increase waits longer."""
    state = SolarState()
    assert increase_hold_s(state, 0) == 0
    state.decreases.extend([0.0, 100.0, 200.0])
    assert increase_hold_s(state, 200) == 480
    assert increase_hold_s(state, 10_000) == 0
