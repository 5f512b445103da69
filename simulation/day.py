"""The day simulator: 1-second ticks of house, PV, meter, chargers and cars.

Per second: commands whose latency has passed reach their charger; each car
moves its current towards what its charger offers (ramps, a resume delay after
a pause, nothing once its need is met or once it refuses); the grid current is
house minus PV plus cars; the meter takes a sample on its schedule (none in a
dropout) and delivers it after its latency; then the controller is asked, and
the trace records the second.
"""

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import math
from typing import Protocol

from .scenario import Charger, Scenario

type Phases = tuple[float, float, float]
type Command = tuple[int, int | None]
"""Set-point in A (0 = pause) and phase count (None = unchanged)."""
# Below this the charger offers nothing (IEC 61851 minimum).
PILOT_MIN_A = 6
# A decrease counts as for safety when keeping the old set-point would leave
# less than this below the fuse on a phase the charger uses.
SAFETY_TOLERANCE_A = 1.0


@dataclass(frozen=True, slots=True)
class Observation:
    """What a controller sees at one second."""

    t: int
    """Seconds since the start of the day."""
    meter_at: int | None
    """When the latest delivered meter sample was taken."""
    meter_grid_a: Phases | None
    ev_current_a: Mapping[str, Phases]
    session_kwh: Mapping[str, float]
    plugged: Mapping[str, bool]
    pv_power_w: float


class Controller(Protocol):
    """Anything that drives the chargers of a scenario."""

    def step(self, observation: Observation) -> Mapping[str, Command]:
        """Set-points wanted now (only those that change need be given)."""
        ...


@dataclass(slots=True)
class Trace:
    """The day, second by second."""

    scenario: Scenario
    grid_a: list[Phases] = field(default_factory=list)
    pv_w: list[float] = field(default_factory=list)
    meter: list[bool] = field(default_factory=list)
    """Whether a meter sample reached the controller this second."""
    ev_a: dict[str, list[Phases]] = field(default_factory=dict)
    set_a: dict[str, list[int]] = field(default_factory=dict)
    """Last set-point sent by the controller."""
    phases: dict[str, list[int]] = field(default_factory=dict)
    plugged: dict[str, list[bool]] = field(default_factory=dict)


@dataclass(slots=True)
class _Car:
    """One car and its charger's offered current."""

    charger: Charger
    current_a: float = 0.0
    energy_kwh: float = 0.0
    pilot_a: int = 0
    phases: int = 3
    resume_at: int = 0
    pauses: int = 0
    refused: bool = False
    pending: deque[tuple[int, Command]] = field(default_factory=deque)

    def active_phases(self) -> tuple[int, ...]:
        """Grid phases the car draws from."""
        phases = min(self.phases, self.charger.car.phases)
        return (0, 1, 2) if phases == 3 else (self.charger.grid_phase,)  # noqa: PLR2004


def in_windows(t: int, windows: tuple[tuple[int, int], ...]) -> bool:
    """Whether ``t`` lies in one of the [start, end) windows."""
    return any(start <= t < end for start, end in windows)


def safety_pause(  # noqa: PLR0913
    house_a: Phases,
    others_a: Phases,
    old_a: float,
    phases: tuple[int, ...],
    fuse_a: float,
    *,
    meter_silent: bool,
) -> bool:
    """Whether a decrease was needed for the fuse (or the meter was silent)."""
    return meter_silent or any(
        house_a[phase] + others_a[phase] + old_a > fuse_a - SAFETY_TOLERANCE_A
        for phase in phases
    )


def simulate(  # noqa: C901, PLR0912, PLR0915
    scenario: Scenario, make_controller: Callable[[], Controller]
) -> Trace:
    """Run ``scenario`` with the controller ``make_controller`` builds."""
    voltage = scenario.voltage_v
    cars = {
        charger.id: _Car(charger, phases=charger.phases)
        for charger in scenario.chargers
    }
    trace = Trace(scenario)
    for charger_id in cars:
        trace.ev_a[charger_id] = []
        trace.set_a[charger_id] = []
        trace.phases[charger_id] = []
        trace.plugged[charger_id] = []
    sent: dict[str, Command] = dict.fromkeys(cars, (0, None))
    sent_phases = {charger_id: car.phases for charger_id, car in cars.items()}
    samples: deque[tuple[int, int, Phases]] = deque()
    meter_at: int | None = None
    meter_grid: Phases | None = None
    controller: Controller | None = make_controller()
    restarts = dict(scenario.restarts)
    silent_until = -1
    period, offset = scenario.meter_period_s, scenario.meter_offset_s
    latency = scenario.meter_latency_s
    house_by_minute = [
        (
            watts[0] / voltage - pv / 3 / voltage,
            watts[1] / voltage - pv / 3 / voltage,
            watts[2] / voltage - pv / 3 / voltage,
        )
        for watts, pv in zip(scenario.house_w, scenario.pv_w, strict=True)
    ]
    silent_seconds = {t for start, end in scenario.dropouts for t in range(start, end)}
    ev_now: dict[str, Phases] = {}
    session: dict[str, float] = {}
    plugged_now: dict[str, bool] = {}
    for t in range(scenario.seconds):
        minute = t // 60
        pv = scenario.pv_w[minute]
        house = house_by_minute[minute]
        meter_silent = t in silent_seconds
        grid = list(house)
        for car in cars.values():
            charger = car.charger
            while car.pending and car.pending[0][0] <= t:
                _, (amps, phases) = car.pending.popleft()
                new_pilot = amps if amps >= PILOT_MIN_A else 0
                switch = phases is not None and phases != car.phases
                if (new_pilot == 0 or switch) and car.pilot_a > 0:
                    others = [0.0, 0.0, 0.0]
                    for other in cars.values():
                        if other is not car:
                            for phase in other.active_phases():
                                others[phase] += other.current_a
                    if not safety_pause(
                        house,
                        (others[0], others[1], others[2]),
                        car.pilot_a,
                        car.active_phases(),
                        scenario.fuse_a,
                        meter_silent=meter_silent or t <= silent_until,
                    ):
                        car.pauses += 1
                        limit = charger.car.refuse_after_pauses
                        if limit is not None and car.pauses >= limit:
                            car.refused = True
                if switch and phases is not None:
                    car.phases = phases
                    car.resume_at = t + charger.car.resume_delay_s
                if new_pilot > 0 and car.pilot_a == 0:
                    car.resume_at = t + charger.car.resume_delay_s
                car.pilot_a = new_pilot
            plugged = charger.car.plug_in_s <= t < charger.car.plug_out_s
            wanted = 0.0
            if (
                plugged
                and not car.refused
                and t >= car.resume_at
                and car.energy_kwh < charger.car.need_kwh
            ):
                wanted = min(car.pilot_a, charger.car.max_current_a)
            if car.current_a < wanted:
                car.current_a = min(wanted, car.current_a + charger.car.ramp_up_a_per_s)
            else:
                car.current_a = max(
                    wanted, car.current_a - charger.car.ramp_down_a_per_s
                )
            used = car.active_phases()
            if car.current_a > 0:
                kwh = car.current_a * len(used) * voltage / 3.6e6
                if car.energy_kwh + kwh >= charger.car.need_kwh:
                    kwh = charger.car.need_kwh - car.energy_kwh
                    car.current_a = kwh * 3.6e6 / (len(used) * voltage)
                    car.energy_kwh = charger.car.need_kwh
                else:
                    car.energy_kwh += kwh
            ev = [0.0, 0.0, 0.0]
            for phase in used:
                ev[phase] = car.current_a
                grid[phase] += car.current_a
            ev_now[charger.id] = (ev[0], ev[1], ev[2])
            session[charger.id] = car.energy_kwh
            plugged_now[charger.id] = plugged
            trace.ev_a[charger.id].append(ev_now[charger.id])
            trace.plugged[charger.id].append(plugged)
        grid_now: Phases = (grid[0], grid[1], grid[2])
        if t >= offset and (t - offset) % period == 0 and not meter_silent:
            samples.append((t + latency, t, grid_now))
        delivered = False
        while samples and samples[0][0] <= t:
            _, meter_at, meter_grid = samples.popleft()
            delivered = True
        if t in restarts:
            controller = None
            silent_until = t + restarts[t]
        if controller is None and t >= silent_until:
            controller = make_controller()
        if controller is not None:
            observation = Observation(
                t=t,
                meter_at=meter_at,
                meter_grid_a=meter_grid,
                ev_current_a=ev_now,
                session_kwh=session,
                plugged=plugged_now,
                pv_power_w=pv,
            )
            for charger_id, command in controller.step(observation).items():
                amps, phases = command
                amps = max(
                    0,
                    min(int(amps), math.floor(cars[charger_id].charger.max_current_a)),
                )
                if amps == sent[charger_id][0] and (
                    phases is None or phases == sent_phases[charger_id]
                ):
                    continue
                sent[charger_id] = (amps, phases)
                if phases is not None:
                    sent_phases[charger_id] = phases
                car = cars[charger_id]
                car.pending.append((t + car.charger.command_latency_s, (amps, phases)))
        trace.grid_a.append(grid_now)
        trace.pv_w.append(pv)
        trace.meter.append(delivered)
        for charger_id in cars:
            trace.set_a[charger_id].append(sent[charger_id][0])
            trace.phases[charger_id].append(sent_phases[charger_id])
    return trace
