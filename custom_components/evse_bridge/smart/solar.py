"""Solar surplus: the current one charger can take from the export.

The surplus is what the car draws now plus what the site exports; it follows
falling surplus at once and rising surplus through a smoothing filter (clouds
pass). A paused charger starts when the surplus holds the minimum current plus
START_MARGIN_A for START_DELAY_S; a running one holds its minimum through dips
and stops only when the surplus stayed below it for STOP_DELAY_S (longer than
a passing cloud). Chargers that can switch use one phase when the surplus
cannot feed three, at most once per PHASE_SWITCH_MIN_S. Every increase after a
solar decrease waits for a hold that doubles with each further decrease, so a
day of drifting clouds costs a few set-point changes, not dozens.
"""

from collections import deque
from dataclasses import dataclass, field
import math
from typing import Final

from .model import ChargerConfig, Mode, ReasonCode

# Rising surplus is smoothed with this time constant; falling surplus is not.
RISE_TAU_S: Final = 20.0
START_MARGIN_A: Final = 0.5
START_DELAY_S: Final = 60.0
# Longer than the clouds of a drifting-cloud afternoon (3 minutes in S4).
STOP_DELAY_S: Final = 300.0
PHASE_SWITCH_MIN_S: Final = 600.0
# Increase hold after a solar decrease: base, doubling per decrease remembered
# for DECREASE_MEMORY_S, capped.
INCREASE_HOLD_BASE_S: Final = 120.0
INCREASE_HOLD_MAX_S: Final = 1200.0
DECREASE_MEMORY_S: Final = 3600.0


@dataclass(slots=True)
class SolarState:
    """What the follower remembers between calls for one charger."""

    filtered_w: float | None = None
    filtered_at: float | None = None
    start_ok_since: float | None = None
    below_since: float | None = None
    phases: int | None = None
    phases_since: float = -math.inf
    decreases: deque[float] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class SolarTarget:
    """What the surplus asks for."""

    current_a: int
    phases: int
    code: ReasonCode
    until: float | None = None
    settled: bool = True
    """False while the smoothed surplus is still rising towards the measured one."""


def _filter(state: SolarState, now: float, available_w: float) -> float:
    previous = state.filtered_w
    if previous is None or state.filtered_at is None or available_w <= previous:
        filtered = available_w
    else:
        weight = 1.0 - math.exp(-max(now - state.filtered_at, 0.0) / RISE_TAU_S)
        filtered = previous + (available_w - previous) * weight
    state.filtered_w, state.filtered_at = filtered, now
    return filtered


def _phases(
    state: SolarState, charger: ChargerConfig, now: float, watts: float, voltage: float
) -> int:
    if not charger.can_switch_phases or charger.phases == 1:
        return charger.phases
    three_ok = watts >= 3 * charger.min_current_a * voltage
    wanted = 3 if three_ok else 1
    current = state.phases
    if current is None or (
        wanted != current and now - state.phases_since >= PHASE_SWITCH_MIN_S
    ):
        state.phases, state.phases_since = wanted, now
        return wanted
    return current


def increase_hold_s(state: SolarState, now: float) -> float:
    """How long rising surplus must last before the current follows it up."""
    while state.decreases and state.decreases[0] < now - DECREASE_MEMORY_S:
        state.decreases.popleft()
    if not state.decreases:
        return 0.0
    return min(
        INCREASE_HOLD_BASE_S * 2.0 ** (len(state.decreases) - 1), INCREASE_HOLD_MAX_S
    )


def follow(  # noqa: PLR0911, PLR0913 - each return is a rule of the follower
    state: SolarState,
    charger: ChargerConfig,
    *,
    mode: Mode,
    now: float,
    available_w: float,
    running: bool,
    voltage: float,
    hold_minimum: bool = False,
) -> SolarTarget:
    """Return the current the surplus ``available_w`` (car's draw included) gives.

    ``hold_minimum``: a running charger keeps its minimum however long the dip.
    """
    watts = _filter(state, now, available_w)
    phases = _phases(state, charger, now, watts, voltage)
    settled = available_w - watts < phases * voltage
    amps = min(
        math.floor(watts / (phases * voltage)), math.floor(charger.max_current_a)
    )
    minimum = math.ceil(charger.min_current_a)
    if mode is Mode.SOLAR_MIN:
        state.start_ok_since = state.below_since = None
        return SolarTarget(max(amps, minimum), phases, ReasonCode.SOLAR)
    if running:
        state.start_ok_since = None
        if amps >= minimum:
            state.below_since = None
            return SolarTarget(amps, phases, ReasonCode.SOLAR, settled=settled)
        if state.below_since is None:
            state.below_since = now
        if hold_minimum:
            return SolarTarget(minimum, phases, ReasonCode.SOLAR)
        if now - state.below_since >= STOP_DELAY_S:
            return SolarTarget(0, phases, ReasonCode.SOLAR_WAITING)
        return SolarTarget(
            minimum, phases, ReasonCode.SOLAR, state.below_since + STOP_DELAY_S
        )
    state.below_since = None
    if watts >= (charger.min_current_a + START_MARGIN_A) * phases * voltage:
        if state.start_ok_since is None:
            state.start_ok_since = now
        if now - state.start_ok_since >= START_DELAY_S:
            return SolarTarget(max(amps, minimum), phases, ReasonCode.SOLAR)
        return SolarTarget(
            0, phases, ReasonCode.SOLAR_WAITING, state.start_ok_since + START_DELAY_S
        )
    state.start_ok_since = None
    return SolarTarget(0, phases, ReasonCode.SOLAR_WAITING)
