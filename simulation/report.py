"""What a run leaves: metrics as JSON, the trace as CSV, a plot as PNG, the table."""

from collections.abc import Mapping
import json
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
from matplotlib import pyplot as plt

from .day import Trace

# The table's columns: (metric key, heading, format).
COLUMNS = (
    ("severe_overload_s", "s>1.13F", "{}"),
    ("overload_s", "s>F", "{}"),
    ("overload_in_dropout_s", "s>F silent", "{}"),
    ("max_reaction_s", "react s", "{}"),
    ("target_met", "met", "{}"),
    ("ev_kwh", "kWh", "{:.1f}"),
    ("cost", "cost", "{:.2f}"),
    ("cost_ratio_to_optimum", "x opt", "{:.3f}"),
    ("pv_capture", "PV cap", "{:.2f}"),
    ("median_changes_per_h", "chg/h med", "{}"),
    ("max_changes_per_h", "chg/h max", "{}"),
    ("non_safety_starts", "starts", "{}"),
    ("runtime_s", "run s", "{:.2f}"),
)


def write_csv(trace: Trace, path: Path) -> None:
    """Write the 1-second trace: grid and car currents, set-points, PV, prices."""
    scenario = trace.scenario
    ids = list(trace.ev_a)
    header = ["t_s", "grid_l1_a", "grid_l2_a", "grid_l3_a"]
    for charger_id in ids:
        header += [f"{charger_id}_l1_a", f"{charger_id}_l2_a", f"{charger_id}_l3_a"]
        header += [f"{charger_id}_set_a", f"{charger_id}_phases"]
    header += ["pv_w", "import_price", "export_price", "meter_sample"]
    buy = [0.0] * scenario.seconds
    sell = [0.0] * scenario.seconds
    for begin, end, import_price, export_price in scenario.prices:
        for t in range(begin, min(end, scenario.seconds)):
            buy[t], sell[t] = import_price, export_price
    lines = [",".join(header)]
    for t, grid in enumerate(trace.grid_a):
        fields = [str(t), f"{grid[0]:.2f}", f"{grid[1]:.2f}", f"{grid[2]:.2f}"]
        for charger_id in ids:
            ev = trace.ev_a[charger_id][t]
            fields += [f"{ev[0]:.2f}", f"{ev[1]:.2f}", f"{ev[2]:.2f}"]
            fields += [
                str(trace.set_a[charger_id][t]),
                str(trace.phases[charger_id][t]),
            ]
        fields += [
            f"{trace.pv_w[t]:.0f}",
            f"{buy[t]:g}",
            f"{sell[t]:g}",
            "1" if trace.meter[t] else "0",
        ]
        lines.append(",".join(fields))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def plot(trace: Trace, title: str, path: Path) -> None:
    """Draw the day: grid current per phase against the fuse, EV current, PV, price."""
    scenario = trace.scenario
    start_hour = scenario.start.hour + scenario.start.minute / 60
    step = 5  # seconds per plotted point: keeps every event, draws fast
    hours = [start_hour + t / 3600 for t in range(0, scenario.seconds, step)]
    figure, axes = plt.subplots(
        4, 1, figsize=(12, 9), sharex=True, height_ratios=(3, 2, 1, 1)
    )
    grid_axis, ev_axis, pv_axis, price_axis = axes
    for phase in range(3):
        values = [
            max(
                abs(trace.grid_a[t + k][phase])
                for k in range(min(step, scenario.seconds - t))
            )
            for t in range(0, scenario.seconds, step)
        ]
        grid_axis.plot(hours, values, linewidth=0.7, label=f"L{phase + 1}")
    grid_axis.axhline(scenario.fuse_a, color="red", linewidth=1, label="fuse")
    grid_axis.axhline(
        scenario.fuse_a * 1.13,
        color="red",
        linewidth=1,
        linestyle="--",
        label="1.13 x fuse",
    )
    grid_axis.set_ylabel("grid A (abs)")
    grid_axis.legend(loc="upper right", fontsize="small", ncol=5)
    for charger_id, currents in trace.ev_a.items():
        ev_axis.plot(
            hours,
            [max(currents[t]) for t in range(0, scenario.seconds, step)],
            linewidth=0.8,
            label=f"{charger_id} drawn",
        )
        ev_axis.plot(
            hours,
            [trace.set_a[charger_id][t] for t in range(0, scenario.seconds, step)],
            linewidth=0.6,
            linestyle=":",
            label=f"{charger_id} set-point",
        )
    ev_axis.set_ylabel("EV A")
    ev_axis.legend(loc="upper right", fontsize="small", ncol=4)
    pv_axis.plot(
        hours,
        [trace.pv_w[t] / 1000 for t in range(0, scenario.seconds, step)],
        color="orange",
        linewidth=0.8,
    )
    pv_axis.set_ylabel("PV kW")
    price_hours: list[float] = []
    prices: list[float] = []
    for begin, end, import_price, _ in scenario.prices:
        price_hours += [start_hour + begin / 3600, start_hour + end / 3600]
        prices += [import_price, import_price]
    price_axis.plot(price_hours, prices, color="purple", linewidth=0.8)
    price_axis.set_ylabel("import /kWh")
    price_axis.set_xlabel("clock hour")
    ticks = range(int(start_hour), int(start_hour + scenario.seconds / 3600) + 1, 2)
    price_axis.set_xticks(list(ticks), [f"{tick % 24:02d}" for tick in ticks])
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def table(results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Return the results as a Markdown table."""
    headings = ["scenario", "controller", *(heading for _, heading, _ in COLUMNS)]
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for scenario, controllers in results.items():
        for controller, metrics in controllers.items():
            cells = [scenario, controller]
            for key, _, fmt in COLUMNS:
                value = metrics.get(key)
                cells.append("-" if value is None else fmt.format(value))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(data: Any, path: Path) -> None:
    """JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
