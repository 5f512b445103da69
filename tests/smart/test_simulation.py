"""The day simulator: metrics on tiny days computed by hand, files, scenarios."""

from dataclasses import replace
import json
from pathlib import Path
from typing import Any

import pytest

from simulation import generate
from simulation.baselines import Dumb, Oracle
from simulation.controllers import EvseBridge
from simulation.day import simulate
from simulation.metrics import measure
from simulation.run import SCENARIOS, main
from simulation.scenario import ScenarioError, UserSettings, from_dict, load

V = 230.0


def tiny_day(
    *,
    minutes: int = 10,
    house_w: list[list[float]] | None = None,
    pv_w: list[float] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """Ten minutes: a 20 A fuse, one 3-phase car that follows its pilot at once."""
    data: dict[str, Any] = {
        "format": 1,
        "name": "tiny",
        "description": "hand-computed",
        "start": "2026-06-10T00:00:00+02:00",
        "site": {"fuse_a": 20, "voltage_v": V},
        "meter": {"period_s": 1, "offset_s": 0, "latency_s": 0, "dropouts": []},
        "restarts": [],
        "chargers": [
            generate.charger(
                "ev",
                {
                    "plug_in_s": 0,
                    "plug_out_s": minutes * 60,
                    "need_kwh": 100,
                    "phases": 3,
                    "max_current_a": 16,
                    "ramp_up_a_per_s": 100,
                    "ramp_down_a_per_s": 100,
                    "resume_delay_s": 0,
                    "refuse_after_pauses": None,
                },
                {"mode": "fast"},
                command_latency_s=0,
            )
        ],
        "prices": [[0, minutes * 60, 1.0, 0.5]],
        "minutes": {
            "house_w": house_w or [[0, 0, 0]] * minutes,
            "pv_w": pv_w or [0] * minutes,
        },
    }
    return data | changes


def test_overload_metrics_of_a_dumb_charger() -> None:
    """5 A then 10 A of house on L1 plus 16 A from second 1: counted by hand."""
    house = [[5 * V, 0, 0]] * 5 + [[10 * V, 0, 0]] * 5
    scenario = from_dict(tiny_day(house_w=house))
    metrics = measure(simulate(scenario, lambda: Dumb(scenario)))
    assert metrics["overload_s"] == 599  # 21 A for 299 s, 26 A for 300 s
    assert metrics["overload_sum_s"] == 599
    assert metrics["severe_overload_s"] == 300  # above 22.6 A
    assert metrics["overload_integral_as"] == pytest.approx(299 * 1 + 300 * 6)
    assert metrics["longest_overload_s"] == 599
    assert metrics["max_reaction_s"] == 599  # never answered
    assert metrics["ev_kwh"] == pytest.approx(16 * 3 * V * 599 / 3.6e6, abs=1e-3)
    assert metrics["cost"] == pytest.approx(metrics["ev_kwh"] * 1.0, abs=1e-3)
    assert not metrics["target_met"]
    assert metrics["changes"] == 1
    assert metrics["starts"] == metrics["non_safety_starts"] == 1
    assert metrics["median_changes_per_h"] == 1


def test_pv_metrics() -> None:
    """6.9 kW of PV and no house: the car takes all of it, the rest from the grid."""
    scenario = from_dict(tiny_day(pv_w=[6900] * 10))
    metrics = measure(simulate(scenario, lambda: Dumb(scenario)))
    assert metrics["pv_kwh"] == pytest.approx(6900 * 599 / 3.6e6, abs=1e-3)
    assert metrics["cost"] == pytest.approx(
        (6900 * 0.5 + 4140 * 1.0) * 599 / 3.6e6, abs=1e-3
    )
    assert metrics["pv_capture"] == pytest.approx(599 / 600, abs=1e-3)
    assert metrics["overload_s"] == 0


def test_our_engine_reacts_within_seconds() -> None:
    """Our engine answers a 10 A load step: back under the fuse within seconds."""
    house = [[1 * V, V, V]] * 4 + [[11 * V, V, V]] * 6
    scenario = from_dict(tiny_day(house_w=house))
    metrics = measure(simulate(scenario, lambda: EvseBridge(scenario)))
    assert metrics["max_reaction_s"] is not None
    assert metrics["max_reaction_s"] <= 5
    assert metrics["severe_overload_s"] <= 2
    assert metrics["overload_s"] <= 3


def test_scenario_files_regenerate_byte_identically() -> None:
    """The committed scenarios are exactly what the generator makes."""
    generated = generate.scenarios()
    assert sorted(path.stem for path in SCENARIOS.glob("*.json")) == sorted(generated)
    for stem, data in generated.items():
        assert (SCENARIOS / f"{stem}.json").read_text(
            encoding="utf-8"
        ) == generate.render(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "format"),
        ({"site": {"voltage_v": 230}}, "fuse_a"),
        ({"start": "2026-06-10T00:00:00"}, "UTC offset"),
        ({"start": "yesterday"}, "start"),
        ({"prices": [[0, 600, 1.0]]}, "prices"),
        ({"chargers": []}, "chargers"),
        ({"minutes": {"house_w": [[0, 0]], "pv_w": [0]}}, "house_w"),
        ({"minutes": {"house_w": [[0, 0, 0]], "pv_w": [0, 0]}}, "pv_w"),
        ({"meter": {"period_s": 0, "offset_s": 0, "latency_s": 0}}, "period_s"),
        ({"site": {"fuse_a": "20", "voltage_v": 230}}, "wrong type"),
    ],
)
def test_bad_scenarios_say_what_is_wrong(change: dict[str, Any], message: str) -> None:
    """A scenario that cannot run raises ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match=message):
        from_dict(tiny_day() | change)


def test_unreadable_file(tmp_path: Path) -> None:
    """A file that is not JSON is a ScenarioError, and the command says so."""
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ScenarioError):
        load(path)
    assert main([str(path), "--no-files", "--results", str(tmp_path / "r.json")]) == 2


def test_command_writes_the_summary_and_per_run_files(tmp_path: Path) -> None:
    """One scenario file: the summary JSON and each run's JSON, CSV and PNG."""
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny_day()), encoding="utf-8")
    results = tmp_path / "simulation-results.json"
    output = tmp_path / "out"
    code = main(
        [
            str(path),
            "--results",
            str(results),
            "--output",
            str(output),
            "--controllers",
            "evse_bridge,B0_dumb,B6_optimum",
            "--jobs",
            "1",
        ]
    )
    assert code == 0
    summary = json.loads(results.read_text(encoding="utf-8"))
    ours = summary["tiny"]["evse_bridge"]
    for key in (
        "severe_overload_s",
        "overload_s",
        "overload_in_dropout_s",
        "max_reaction_s",
        "target_met",
        "cost",
        "cost_ratio_to_optimum",
        "pv_capture",
        "median_changes_per_h",
        "max_changes_per_h",
        "non_safety_starts",
        "runtime_s",
    ):
        assert key in ours
    assert summary["tiny"]["B6_optimum"]["cost_ratio_to_optimum"] == 1.0
    for controller in ("evse_bridge", "B0_dumb", "B6_optimum"):
        assert (output / "tiny" / f"{controller}.png").stat().st_size > 1000
        rows = (
            (output / "tiny" / f"{controller}.csv")
            .read_text(encoding="utf-8")
            .splitlines()
        )
        assert rows[0].startswith("t_s,grid_l1_a,grid_l2_a,grid_l3_a,ev_l1_a")
        assert len(rows) == 601


@pytest.mark.parametrize("stem", ["s1", "s6"])
def test_our_engine_meets_the_safety_and_energy_targets(stem: str) -> None:
    """S1 (dropout, water heater) and S6 (two cars): the issue's targets."""
    scenario = load(SCENARIOS / f"{stem}.json")
    metrics = measure(simulate(scenario, lambda: EvseBridge(scenario)))
    assert metrics["severe_overload_s"] == 0
    assert metrics["overload_s"] <= 30
    assert metrics["overload_in_dropout_s"] == 0
    assert metrics["max_reaction_s"] is None or metrics["max_reaction_s"] <= 5
    assert metrics["target_met"]
    assert metrics["non_safety_starts"] <= 4
    assert metrics["median_changes_per_h"] <= 6


@pytest.mark.parametrize("stem", ["s4", "s5c"])
def test_solar_days_cost_at_most_3_percent_above_the_optimum(stem: str) -> None:
    """S4 (clouds) and S5c (negative prices at noon): cost <= 1.03 x B6, car-friendly.

    The engine keeps one solar run through the day (through the clouds at its
    minimum, across the short gap before the negative hours) where B6 starts
    9 to 16 times; the simulation is deterministic, so these are exact.
    """
    scenario = load(SCENARIOS / f"{stem}.json")
    ours = measure(simulate(scenario, lambda: EvseBridge(scenario)))
    optimum = measure(simulate(scenario, lambda: Oracle(scenario)))
    assert ours["cost"] <= 1.03 * optimum["cost"]
    assert ours["target_met"]
    assert ours["pv_capture"] >= 0.8
    assert ours["non_safety_starts"] <= 2
    assert ours["max_non_safety_starts_per_h"] <= 1
    assert ours["median_changes_per_h"] <= 6
    assert ours["max_changes_per_h"] <= 12
    assert ours["overload_s"] == 0


def test_fast_mode_on_the_reference_evening() -> None:
    """S1 in fast mode (the guard's hardest day): every overload answered in 5 s.

    The hob boost adds 15 A on top of a car at 16 A in one step; until the car
    has ramped down the fuse is above 1.13 x for a few seconds: no controller
    that lets the car charge at full power can avoid that, so only the 1-second
    meter targets for the fuse (30 s above it per day) are asserted.
    """
    scenario = load(SCENARIOS / "s1.json")
    fast = UserSettings(mode="fast", target_kwh=20)
    scenario = replace(
        scenario, chargers=tuple(replace(c, settings=fast) for c in scenario.chargers)
    )
    metrics = measure(simulate(scenario, lambda: EvseBridge(scenario)))
    assert metrics["overload_s"] <= 30
    assert metrics["overload_in_dropout_s"] == 0
    assert metrics["max_reaction_s"] is not None
    assert metrics["max_reaction_s"] <= 5
    assert metrics["target_met"]
    assert metrics["max_changes_per_h"] <= 12
