"""The controllers people use today, restated (SMART_CHARGING.md 5.6), and the optimum.

B0 dumb, B1 static safe limit, B2-B4 evcc-like (30 s cycle, one loadpoint
per cycle, circuit cap on the worst phase, last current kept when the grid
meter fails), B5 ev_smart_charging-like (cheapest quarters fixed at plug-in,
no fuse), B6 the fuse-aware perfect-foresight optimum (knows every load and
price of the day; a lower bound for cost).
"""

from collections.abc import Callable, Mapping
import math
from typing import Final

from .day import PILOT_MIN_A, Command, Controller, Observation
from .scenario import Charger, Scenario

MAX_A: Final = 16
CYCLE_S: Final = 30
# evcc's enable and disable delays (PV mode).
ENABLE_DELAY_S: Final = 60
DISABLE_DELAY_S: Final = 180
# evcc counts a car as drawing its measured current plus this.
EFFECTIVE_EXTRA_A: Final = 2.0
QUARTER_S: Final = 900
# evcc ignores a slot with less than this left unless it is already active.
MIN_SLOT_S: Final = 14 * 60
# The optimum plans a few more minutes than the need: each start costs the
# car's resume delay and ramp.
ORACLE_SPARE_MIN: Final = 3


def full_power_kw(charger: Charger, voltage: float) -> float:
    """Power at the charger's maximum current on all its phases."""
    return charger.phases * voltage * charger.max_current_a / 1000


def deadline_of(charger: Charger) -> int:
    """Return the owner's deadline, else departure."""
    return charger.settings.deadline_s or charger.car.plug_out_s


def quarters(scenario: Scenario) -> list[tuple[int, int, float]]:
    """Return (start_s, end_s, import price) per quarter hour of the day."""
    result: list[tuple[int, int, float]] = []
    for begin, end, buy, _ in scenario.prices:
        result.extend(
            (start, min(start + QUARTER_S, end), buy)
            for start in range(begin, end, QUARTER_S)
        )
    return result


class Dumb:
    """B0: 16 A from plug-in, whatever happens."""

    def __init__(self, scenario: Scenario) -> None:
        """Remember the chargers."""
        self._ids = [charger.id for charger in scenario.chargers]

    def step(self, observation: Observation) -> Mapping[str, Command]:
        """Charge whenever plugged."""
        return {
            charger_id: (MAX_A if observation.plugged[charger_id] else 0, None)
            for charger_id in self._ids
        }


class StaticLimit:
    """B1: a constant current the fuse allows even at the house's peak."""

    def __init__(self, scenario: Scenario) -> None:
        """Find the house's peak phase current while each car is plugged."""
        self._current: dict[str, int] = {}
        for charger in scenario.chargers:
            minutes = range(charger.car.plug_in_s // 60, charger.car.plug_out_s // 60)
            peak = max(
                max(scenario.house_w[minute]) / scenario.voltage_v for minute in minutes
            )
            amps = min(math.floor(scenario.fuse_a - peak), MAX_A)
            self._current[charger.id] = amps if amps >= PILOT_MIN_A else 0

    def step(self, observation: Observation) -> Mapping[str, Command]:
        """Offer the same current all day."""
        return {
            charger_id: (amps if observation.plugged[charger_id] else 0, None)
            for charger_id, amps in self._current.items()
        }


class EvccLike:
    """B2-B4: evcc's loadpoint logic in one of its modes: pv, now or plan."""

    def __init__(self, scenario: Scenario, mode: str) -> None:
        """Set up for ``mode`` ("pv", "now" or "plan")."""
        self._scenario = scenario
        self._mode = mode
        self._chargers = scenario.chargers
        self._set = {charger.id: 0 for charger in scenario.chargers}
        self._enable_since: dict[str, int | None] = {
            c.id: None for c in scenario.chargers
        }
        self._disable_since: dict[str, int | None] = {
            c.id: None for c in scenario.chargers
        }
        self._active_slot: dict[str, int | None] = {
            c.id: None for c in scenario.chargers
        }
        self._quarters = quarters(scenario)
        self._voltage = scenario.voltage_v

    def step(self, observation: Observation) -> Mapping[str, Command]:
        """Every 30 s, update one loadpoint (round robin)."""
        t = observation.t
        if (
            t % CYCLE_S
            or observation.meter_grid_a is None
            or observation.meter_at is None
        ):
            return {}
        if t - observation.meter_at > 2 * self._scenario.meter_period_s + 5:
            return {}  # the grid meter read fails: the site skips the update
        charger = self._chargers[(t // CYCLE_S) % len(self._chargers)]
        if not observation.plugged[charger.id]:
            self._set[charger.id] = 0
            return {charger.id: (0, None)}
        measured = max(observation.ev_current_a[charger.id])
        grid = observation.meter_grid_a
        if self._mode == "pv":
            wanted = self._pv(charger.id, t, measured, sum(grid) * self._voltage)
        elif self._mode == "now":
            wanted = MAX_A
        else:
            wanted = MAX_A if self._planned(charger, observation) else 0
        cap = max(0.0, measured + (self._scenario.fuse_a - max(grid)))
        amps = math.floor(min(wanted, cap))
        amps = amps if amps >= PILOT_MIN_A else 0
        self._set[charger.id] = amps
        return {charger.id: (amps, None)}

    def _pv(self, charger_id: str, t: int, measured: float, site_w: float) -> float:
        charging = self._set[charger_id] > 0
        effective = (
            min(measured + EFFECTIVE_EXTRA_A, self._set[charger_id])
            if charging
            else 0.0
        )
        target = max(0.0, effective - site_w / (3 * self._voltage))
        if charging:
            if target >= PILOT_MIN_A:
                self._disable_since[charger_id] = None
                return min(target, MAX_A)
            since = self._disable_since[charger_id]
            if since is None:
                self._disable_since[charger_id] = t
            elif t - since >= DISABLE_DELAY_S:
                self._disable_since[charger_id] = None
                return 0.0
            return PILOT_MIN_A
        if target >= PILOT_MIN_A:
            since = self._enable_since[charger_id]
            if since is None:
                self._enable_since[charger_id] = t
            elif t - since >= ENABLE_DELAY_S:
                self._enable_since[charger_id] = None
                return PILOT_MIN_A
        else:
            self._enable_since[charger_id] = None
        return 0.0

    def _planned(self, charger: Charger, observation: Observation) -> bool:
        """Evcc's planner: cheapest quarters for remaining / full power, ties later."""
        t = observation.t
        active = self._active_slot[charger.id]
        if active is not None and t < active + QUARTER_S and self._set[charger.id] > 0:
            return True
        remaining = charger.car.need_kwh - observation.session_kwh[charger.id]
        if remaining <= 0:
            return False
        duration = remaining / full_power_kw(charger, self._voltage) * 3600
        deadline = deadline_of(charger)
        slots = [
            (max(start, t), end, price)
            for start, end, price in self._quarters
            if end > t and start < deadline
        ]
        slots = [
            slot for slot in slots if slot[1] - slot[0] >= MIN_SLOT_S or slot[0] > t
        ]
        slots.sort(key=lambda slot: (slot[2], -slot[0]))
        covered = 0.0
        for start, end, _ in slots:
            if covered >= duration:
                break
            covered += end - start
            if start <= t < end:
                self._active_slot[charger.id] = start - start % QUARTER_S
                return True
        return False


class PriceOnly:
    """B5: the cheapest quarters, chosen once at plug-in; on/off at 16 A."""

    def __init__(self, scenario: Scenario) -> None:
        """Nothing is planned before plug-in."""
        self._scenario = scenario
        self._plans: dict[str, set[int]] = {}

    def step(self, observation: Observation) -> Mapping[str, Command]:
        """16 A inside the chosen quarters."""
        commands: dict[str, Command] = {}
        for charger in self._scenario.chargers:
            if not observation.plugged[charger.id]:
                self._plans.pop(charger.id, None)
                commands[charger.id] = (0, None)
                continue
            if charger.id not in self._plans:
                self._plans[charger.id] = self._plan(charger, observation.t)
            quarter = observation.t - observation.t % QUARTER_S
            commands[charger.id] = (
                MAX_A if quarter in self._plans[charger.id] else 0,
                None,
            )
        return commands

    def _plan(self, charger: Charger, t: int) -> set[int]:
        count = math.ceil(
            charger.car.need_kwh / full_power_kw(charger, self._scenario.voltage_v) * 4
        )
        slots = sorted(
            (price, start)
            for start, end, price in quarters(self._scenario)
            if start >= t - t % QUARTER_S and end <= deadline_of(charger)
        )
        return {start for _, start in slots[:count]}


class Oracle:
    """B6: knows the whole day; the cheapest minutes the fuse allows, per car."""

    def __init__(self, scenario: Scenario) -> None:  # noqa: C901, PLR0912 - one greedy pass
        """Plan every car, highest priority first, on what the others leave."""
        self._scenario = scenario
        voltage = scenario.voltage_v
        minutes = len(scenario.house_w)
        used = [[0.0, 0.0, 0.0] for _ in range(minutes)]
        price = [0.0] * minutes
        export = [0.0] * minutes
        for begin, end, buy, sell in scenario.prices:
            for minute in range(begin // 60, min(end // 60, minutes)):
                price[minute], export[minute] = buy, sell
        self._schedule: dict[str, list[tuple[int, int]]] = {}
        for charger in sorted(scenario.chargers, key=lambda item: -item.priority):
            options: list[tuple[float, int, int, int]] = []
            for minute in range(
                charger.car.plug_in_s // 60, deadline_of(charger) // 60
            ):
                pv_a = scenario.pv_w[minute] / 3 / voltage
                house = [
                    scenario.house_w[minute][phase] / voltage
                    - pv_a
                    + used[minute][phase]
                    for phase in range(3)
                ]
                amps, phases = self._allowed(charger, house)
                if not amps:
                    continue
                # Two offers per minute: the current the solar surplus covers
                # (at the export price), and the rest up to the fuse (import).
                surplus = max(
                    0.0, scenario.pv_w[minute] - sum(scenario.house_w[minute])
                )
                solar_amps = min(math.floor(surplus / (phases * voltage)), amps)
                if solar_amps >= PILOT_MIN_A:
                    options.append((export[minute], minute, solar_amps, phases))
                    options.append((price[minute], minute, amps, phases))
                else:
                    power = amps * phases * voltage
                    from_pv = min(power, surplus)
                    cost = (
                        from_pv * export[minute] + (power - from_pv) * price[minute]
                    ) / power
                    options.append((cost, minute, amps, phases))
            options.sort()
            need = charger.car.need_kwh
            chosen: list[tuple[int, int]] = [(0, 0)] * minutes
            # Each start loses the car's resume delay and half its ramp.
            lost_s = (
                charger.car.resume_delay_s
                + charger.car.max_current_a / charger.car.ramp_up_a_per_s / 2
            )
            spare = ORACLE_SPARE_MIN
            for _, minute, amps, phases in options:
                if need <= 0:
                    if spare == 0:
                        break
                    spare -= 1
                added = amps - chosen[minute][0]
                if added <= 0:
                    continue
                power_kw = amps * phases * voltage / 1000
                need -= added * phases * voltage / 60_000
                if not chosen[minute][0]:
                    before = minute > 0 and chosen[minute - 1][0] > 0
                    after = minute + 1 < minutes and chosen[minute + 1][0] > 0
                    # A new block is a new start; a minute joining two blocks saves one.
                    need += (
                        power_kw
                        * lost_s
                        / 3600
                        * ((not before and not after) - (before and after))
                    )
                chosen[minute] = (amps, phases)
                for phase in (0, 1, 2) if phases == 3 else (charger.grid_phase,):  # noqa: PLR2004
                    used[minute][phase] += added
            self._schedule[charger.id] = chosen

    def _allowed(self, charger: Charger, house: list[float]) -> tuple[int, int]:
        fuse = self._scenario.fuse_a
        three = min(math.floor(fuse - max(house)), MAX_A)
        if three >= PILOT_MIN_A:
            return three, 3
        if charger.can_switch_phases:
            one = min(math.floor(fuse - house[charger.grid_phase]), MAX_A)
            if one >= PILOT_MIN_A:
                return one, 1
        return 0, 3

    def step(self, observation: Observation) -> Mapping[str, Command]:
        """Offer the planned current, lowered early enough for the next minute."""
        commands: dict[str, Command] = {}
        for charger in self._scenario.chargers:
            schedule = self._schedule[charger.id]
            lead = charger.command_latency_s + 2
            now = schedule[min(observation.t // 60, len(schedule) - 1)]
            soon = schedule[min((observation.t + lead) // 60, len(schedule) - 1)]
            amps = min(now[0], soon[0]) if soon[0] else 0
            phases = soon[1] if soon[0] else now[1]
            commands[charger.id] = (
                amps,
                phases if charger.can_switch_phases and amps else None,
            )
        return commands


BASELINES: Final[dict[str, Callable[[Scenario], Controller]]] = {
    "B0_dumb": Dumb,
    "B1_static": StaticLimit,
    "B2_evcc_pv": lambda scenario: EvccLike(scenario, "pv"),
    "B3_evcc_fast_lm": lambda scenario: EvccLike(scenario, "now"),
    "B4_evcc_plan_lm": lambda scenario: EvccLike(scenario, "plan"),
    "B5_price_only": PriceOnly,
    "B6_optimum": Oracle,
}
