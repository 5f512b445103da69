"""Metrics of one simulated day, from its 1-second trace alone (SMART_CHARGING.md 5.5).

Nothing here knows how a controller works: every figure is read off the trace
(grid, car and PV currents, the set-points sent) and the scenario's facts
(fuse, prices, plug times, needs, meter dropouts).
"""

from collections.abc import Sequence
import statistics
from typing import Any, Final

from .day import Trace, in_windows, safety_pause

SEVERE_FACTOR: Final = 1.13
# Energy below this short of the need still counts as met (rounding).
MET_SLACK_KWH: Final = 1e-3
# A car counts as charging in an hour when it drew more than this.
CHARGING_A: Final = 0.5


def _events(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """[start, end) runs of True."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for t, flag in enumerate(flags):
        if flag and start is None:
            start = t
        elif not flag and start is not None:
            runs.append((start, t))
            start = None
    if start is not None:
        runs.append((start, len(flags)))
    return runs


def overload(trace: Trace) -> dict[str, Any]:
    """Seconds above the fuse, above 1.13 x the fuse, in dropouts; the integral."""
    fuse = trace.scenario.fuse_a
    silent = trace.scenario.dropouts
    per_phase = [0, 0, 0]
    severe = in_dropout = 0
    integral = 0.0
    over: list[bool] = []
    for t, grid in enumerate(trace.grid_a):
        worst = max(abs(grid[0]), abs(grid[1]), abs(grid[2]))
        over.append(worst > fuse)
        for phase in range(3):
            excess = abs(grid[phase]) - fuse
            if excess > 0:
                per_phase[phase] += 1
                integral += excess
        if worst > fuse * SEVERE_FACTOR:
            severe += 1
        if worst > fuse and in_windows(t, silent):
            in_dropout += 1
    events = _events(over)
    return {
        "overload_s": max(per_phase),
        "overload_sum_s": sum(per_phase),
        "severe_overload_s": severe,
        "overload_in_dropout_s": in_dropout,
        "overload_integral_as": round(integral, 1),
        "longest_overload_s": max((end - start for start, end in events), default=0),
        "max_reaction_s": _reaction(trace, events),
    }


def _reaction(trace: Trace, events: list[tuple[int, int]]) -> float | None:
    """Longest time from the first meter sample showing an overload to a decrease.

    An event the controller never answered with a decrease counts with its
    whole length from that sample. None: no overload seen by the meter.
    """
    fuse = trace.scenario.fuse_a
    worst: float | None = None
    for start, end in events:
        seen = next(
            (
                t
                for t in range(start, end)
                if trace.meter[t]
                and max(abs(value) for value in trace.grid_a[t]) > fuse
            ),
            None,
        )
        if seen is None:
            continue
        reacted = end - seen
        for t in range(seen, min(end + 1, len(trace.meter))):
            if any(
                setpoints[t] < setpoints[t - 1]
                for setpoints in trace.set_a.values()
                if t > 0
            ):
                reacted = t - seen
                break
        worst = reacted if worst is None else max(worst, reacted)
    return worst


def _house(trace: Trace, t: int) -> tuple[float, float, float]:
    grid = trace.grid_a[t]
    ev = [0.0, 0.0, 0.0]
    for currents in trace.ev_a.values():
        for phase in range(3):
            ev[phase] += currents[t][phase]
    return (grid[0] - ev[0], grid[1] - ev[1], grid[2] - ev[2])


def energy_and_cost(trace: Trace) -> dict[str, Any]:
    """EV energy, its PV part, its cost (PV at export price), target met, PV capture."""
    scenario = trace.scenario
    voltage = scenario.voltage_v
    import_price = [0.0] * scenario.seconds
    export_price = [0.0] * scenario.seconds
    for begin, end, buy, sell in scenario.prices:
        for t in range(begin, min(end, scenario.seconds)):
            import_price[t], export_price[t] = buy, sell
    total_kwh = pv_kwh = cost = 0.0
    usable_w = captured_w = 0.0
    delivered = dict.fromkeys(trace.ev_a, 0.0)
    met: dict[str, bool] = {}
    min_import_after = _suffix_min(import_price)
    for t in range(scenario.seconds):
        ev_w = sum(sum(currents[t]) for currents in trace.ev_a.values()) * voltage
        house_w = sum(_house(trace, t)) * voltage + trace.pv_w[t]
        surplus_w = max(0.0, trace.pv_w[t] - house_w)
        from_pv = min(ev_w, surplus_w)
        total_kwh += ev_w / 3.6e6
        pv_kwh += from_pv / 3.6e6
        cost += (from_pv * export_price[t] + (ev_w - from_pv) * import_price[t]) / 3.6e6
        for charger in scenario.chargers:
            delivered[charger.id] += sum(trace.ev_a[charger.id][t]) * voltage / 3.6e6
        hungry = [
            charger
            for charger in scenario.chargers
            if trace.plugged[charger.id][t]
            and delivered[charger.id] < charger.car.need_kwh - MET_SLACK_KWH
        ]
        start_w = min(
            (
                charger.min_current_a
                * voltage
                * (1 if charger.can_switch_phases else charger.phases)
                for charger in hungry
            ),
            default=None,
        )
        if (
            start_w is not None
            and surplus_w >= start_w
            and export_price[t] <= min_import_after[t]
        ):
            cap_w = sum(
                charger.car.max_current_a
                * voltage
                * min(charger.phases, charger.car.phases)
                for charger in hungry
            )
            usable_w += min(surplus_w, cap_w)
            captured_w += min(from_pv, surplus_w, cap_w)
    for charger in scenario.chargers:
        met[charger.id] = delivered[charger.id] >= charger.car.need_kwh - MET_SLACK_KWH
    return {
        "ev_kwh": round(total_kwh, 3),
        "pv_kwh": round(pv_kwh, 3),
        "cost": round(cost, 3),
        "target_met": all(met.values()),
        "shortfall_kwh": round(
            sum(max(0.0, c.car.need_kwh - delivered[c.id]) for c in scenario.chargers),
            3,
        ),
        "pv_capture": round(captured_w / usable_w, 3) if usable_w > 0 else None,
    }


def _suffix_min(values: list[float]) -> list[float]:
    """values[t:] minimum for every t."""
    result = values[:]
    for t in range(len(values) - 2, -1, -1):
        result[t] = min(result[t], result[t + 1])
    return result


def comfort(trace: Trace) -> dict[str, Any]:  # noqa: C901, PLR0912 - one pass
    """Set-point changes per charging hour, starts and which were not for safety."""
    scenario = trace.scenario
    fuse = scenario.fuse_a
    hours = -(-scenario.seconds // 3600)  # a last partial hour counts
    changes_all = [0] * hours
    changes_calm = [0] * hours
    charging_hour = [False] * hours
    starts = non_safety = 0
    max_non_safety_per_h = 0
    non_safety_by_hour = [0] * hours
    for charger in scenario.chargers:
        setpoints = trace.set_a[charger.id]
        phases = (0, 1, 2) if charger.phases == 3 else (charger.grid_phase,)  # noqa: PLR2004
        last_pause_safe = False
        session_started = False
        for t in range(scenario.seconds):
            hour = t // 3600
            if max(trace.ev_a[charger.id][t]) > CHARGING_A:
                charging_hour[hour] = True
            old, new = setpoints[t - 1] if t else 0, setpoints[t]
            if old == new:
                continue
            changes_all[hour] += 1
            if new < old:
                house = _house(trace, t)
                others = [0.0, 0.0, 0.0]
                for other in scenario.chargers:
                    if other.id != charger.id:
                        for phase in range(3):
                            others[phase] += trace.ev_a[other.id][t][phase]
                safe = safety_pause(
                    house,
                    (others[0], others[1], others[2]),
                    old,
                    phases,
                    fuse,
                    meter_silent=in_windows(t, scenario.dropouts),
                )
                if not safe:
                    changes_calm[hour] += 1
                if new == 0:
                    last_pause_safe = safe
            else:
                changes_calm[hour] += 1
            if old == 0 and new > 0:
                starts += 1
                if not session_started or not last_pause_safe:
                    non_safety += 1
                    non_safety_by_hour[hour] += 1
                session_started = True
        max_non_safety_per_h = max(
            max_non_safety_per_h, max(non_safety_by_hour, default=0)
        )
    active = [hour for hour in range(hours) if charging_hour[hour]]
    return {
        "changes": sum(changes_all),
        "median_changes_per_h": statistics.median([changes_calm[h] for h in active])
        if active
        else 0,
        "max_changes_per_h": max((changes_all[h] for h in active), default=0),
        "starts": starts,
        "non_safety_starts": non_safety,
        "max_non_safety_starts_per_h": max_non_safety_per_h,
    }


def peak_import(trace: Trace) -> float:
    """Highest 15-minute average grid import (kW)."""
    voltage = trace.scenario.voltage_v
    window = 900
    best = 0.0
    for start in range(0, len(trace.grid_a) - window + 1, window):
        power = (
            sum(sum(grid) for grid in trace.grid_a[start : start + window]) * voltage
        )
        best = max(best, power / window / 1000)
    return round(best, 2)


def measure(trace: Trace) -> dict[str, Any]:
    """Every metric of one run."""
    return (
        overload(trace)
        | energy_and_cost(trace)
        | comfort(trace)
        | {"peak_15min_import_kw": peak_import(trace)}
    )
