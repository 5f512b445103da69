"""The baselines behave as SMART_CHARGING.md 5.6 defines them, on tiny days."""

from functools import partial
import runpy
from typing import Any

import pytest

from simulation.baselines import BASELINES, EvccLike, Oracle, PriceOnly, StaticLimit
from simulation.controllers import EvseBridge
from simulation.day import Trace, simulate
from simulation.metrics import measure
from simulation.run import main
from simulation.scenario import from_dict

from .test_simulation import V, tiny_day


def quarter_prices(values: list[float]) -> list[list[float]]:
    """One price row per quarter hour."""
    return [
        [index * 900, (index + 1) * 900, value, 0.0]
        for index, value in enumerate(values)
    ]


def setpoints(trace: Trace) -> list[int]:
    """Return the charger's set-points, second by second."""
    return trace.set_a["ev"]


def test_static_limit_is_the_fuse_minus_the_peak() -> None:
    """B1: house peaks at 10 A on L1 -> 10 A all the time."""
    scenario = from_dict(tiny_day(house_w=[[2 * V, 0, 0]] * 5 + [[10 * V, 0, 0]] * 5))
    trace = simulate(scenario, lambda: StaticLimit(scenario))
    assert set(setpoints(trace)) == {10}
    assert measure(trace)["overload_s"] == 0


def test_evcc_like_fast_caps_at_the_next_cycle() -> None:
    """B3: a load step is answered at the next 30 s cycle, not before."""
    scenario = from_dict(tiny_day(house_w=[[1 * V, 0, 0]] * 3 + [[11 * V, 0, 0]] * 7))
    trace = simulate(scenario, lambda: EvccLike(scenario, "now"))
    metrics = measure(trace)
    changes = [
        t
        for t in range(1, scenario.seconds)
        if setpoints(trace)[t] != setpoints(trace)[t - 1]
    ]
    assert all(t % 30 == 0 for t in changes)
    assert 0 < metrics["overload_s"] <= 31


def test_evcc_like_keeps_the_last_current_while_the_meter_is_silent() -> None:
    """B3 with a dropout: the load step inside it overloads the fuse."""
    scenario = from_dict(
        tiny_day(
            house_w=[[1 * V, 0, 0]] * 3 + [[11 * V, 0, 0]] * 7,
            meter={
                "period_s": 1,
                "offset_s": 0,
                "latency_s": 0,
                "dropouts": [[120, 600]],
            },
        )
    )
    metrics = measure(simulate(scenario, lambda: EvccLike(scenario, "now")))
    assert metrics["overload_in_dropout_s"] > 400


def test_evcc_like_pv_waits_for_the_enable_delay() -> None:
    """B2: 6.9 kW of export; starts at 6 A after the 60 s enable delay, then follows."""
    scenario = from_dict(tiny_day(pv_w=[6900] * 10))
    trace = simulate(scenario, lambda: EvccLike(scenario, "pv"))
    first = next(t for t, amps in enumerate(setpoints(trace)) if amps)
    assert 60 <= first <= 90
    assert setpoints(trace)[first] == 6
    assert max(setpoints(trace)) > 6


def test_evcc_like_plan_and_price_only_charge_in_the_cheap_quarter() -> None:
    """B4 and B5: 2.5 kWh in the one cheap quarter of the hour."""
    data = tiny_day(minutes=60, prices=quarter_prices([2.0, 0.5, 2.0, 2.0]))
    data["chargers"][0]["car"]["need_kwh"] = 2.5
    scenario = from_dict(data)
    for make in (lambda: EvccLike(scenario, "plan"), lambda: PriceOnly(scenario)):
        trace = simulate(scenario, make)
        charging = [t for t, amps in enumerate(setpoints(trace)) if amps]
        assert charging
        assert 900 <= charging[0] < 1800
        assert measure(trace)["target_met"]


def test_optimum_is_cheapest_and_respects_the_fuse() -> None:
    """B6: never above the fuse, no dearer than any other controller that is not."""
    data = tiny_day(
        minutes=60,
        prices=quarter_prices([2.0, 0.5, 1.0, 2.0]),
        house_w=[[1 * V, 0, 0]] * 20 + [[12 * V, 0, 0]] * 40,
    )
    data["chargers"][0]["car"]["need_kwh"] = 4
    scenario = from_dict(data)
    costs: dict[str, Any] = {}
    for name, make in BASELINES.items():
        metrics = measure(simulate(scenario, partial(make, scenario)))
        if metrics["target_met"] and not metrics["overload_s"]:
            costs[name] = metrics["cost"]
    optimum = measure(simulate(scenario, lambda: Oracle(scenario)))
    assert optimum["overload_s"] == 0
    assert optimum["cost"] <= min(costs.values()) + 1e-9


def test_restart_loses_state_and_falls_back() -> None:
    """A restart: silence, then our engine pauses until the meter is trusted again."""
    scenario = from_dict(tiny_day(restarts=[{"at_s": 200, "silent_s": 60}]))
    trace = simulate(scenario, lambda: EvseBridge(scenario))
    assert setpoints(trace)[199] == 16
    assert setpoints(trace)[259] == 16  # nobody sends anything while it is down
    assert setpoints(trace)[261] == 0  # back, with no trusted meter yet
    assert setpoints(trace)[-1] == 16


def test_module_entry_and_unknown_controllers() -> None:
    """``python -m simulation`` runs ``main``; an unknown controller is refused."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--controllers", "nobody"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        runpy.run_module("simulation", run_name="__main__", alter_sys=True)
