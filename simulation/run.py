"""``python -m simulation``: run scenarios with our engine and the baselines.

With no file, every committed scenario (S1-S8) runs with every controller; the
table is printed, ``simulation-results.json`` written in the current folder,
and per run the metrics (JSON), the trace (CSV) and a plot (PNG) under the
output folder. ``python -m simulation generate`` rewrites the committed
scenarios from their generator.
"""

import argparse
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
import os
from pathlib import Path
import sys
import time
from typing import Any

from . import generate
from .baselines import BASELINES
from .controllers import EvseBridge
from .day import Controller, simulate
from .metrics import measure
from .report import plot, table, write_csv, write_json
from .scenario import Scenario, ScenarioError, load

SCENARIOS = Path(__file__).parent / "scenarios"
OURS = "evse_bridge"
OPTIMUM = "B6_optimum"
CONTROLLERS: dict[str, Callable[[Scenario], Controller]] = {
    OURS: EvseBridge,
    **BASELINES,
}


def run_one(
    path: Path, controller: str, output: Path | None
) -> tuple[str, str, dict[str, Any]]:
    """Simulate one scenario file with one controller; write its files."""
    scenario = load(path)
    make = CONTROLLERS[controller]
    started = time.perf_counter()
    trace = simulate(scenario, lambda: make(scenario))
    runtime = time.perf_counter() - started
    metrics = measure(trace) | {"runtime_s": round(runtime, 3)}
    if output is not None:
        folder = output / scenario.name
        folder.mkdir(parents=True, exist_ok=True)
        write_json(metrics, folder / f"{controller}.json")
        write_csv(trace, folder / f"{controller}.csv")
        plot(trace, f"{scenario.name} - {controller}", folder / f"{controller}.png")
    return scenario.name, controller, metrics


def run_all(
    paths: Sequence[Path], controllers: Sequence[str], output: Path | None, jobs: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every scenario with every controller; ratios to the optimum filled in."""
    tasks = [(path, controller, output) for path in paths for controller in controllers]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    names = [load(path).name for path in paths]
    for name in names:
        results[name] = {}
    if jobs > 1:
        # Spawned workers: no inherited threads or sockets (forkserver needs one).
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
            done = list(pool.map(run_one, *zip(*tasks, strict=True)))
    else:
        done = [run_one(*task) for task in tasks]
    for name, controller, metrics in done:
        results[name][controller] = metrics
    for controllers_of in results.values():
        optimum = controllers_of.get(OPTIMUM, {}).get("cost")
        for metrics in controllers_of.values():
            metrics["cost_ratio_to_optimum"] = (
                round(metrics["cost"] / optimum, 3) if optimum else None
            )
    return {
        name: dict(
            sorted(by.items(), key=lambda item: list(controllers).index(item[0]))
        )
        for name, by in results.items()
    }


def write_scenarios(folder: Path) -> None:
    """Write the generated scenarios."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, data in generate.scenarios().items():
        (folder / f"{stem}.json").write_text(generate.render(data), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m simulation", description=__doc__)
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="scenario files (default: S1-S8), or 'generate'",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("simulation-output"),
        help="folder for per-run files",
    )
    parser.add_argument("--results", type=Path, default=Path("simulation-results.json"))
    parser.add_argument(
        "--controllers", default=",".join(CONTROLLERS), help="comma-separated"
    )
    parser.add_argument(
        "--no-files", action="store_true", help="only the table and the summary"
    )
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    if args.files == [Path("generate")]:
        write_scenarios(SCENARIOS)
        print(f"Wrote {len(generate.scenarios())} scenarios to {SCENARIOS}")
        return 0
    controllers = [name for name in args.controllers.split(",") if name]
    unknown = set(controllers) - set(CONTROLLERS)
    if unknown:
        parser.error(
            f"unknown controllers: {sorted(unknown)}; known: {list(CONTROLLERS)}"
        )
    paths = args.files or sorted(SCENARIOS.glob("*.json"))
    started = time.perf_counter()
    try:
        results = run_all(
            paths, controllers, None if args.no_files else args.output, args.jobs
        )
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(table(results))
    write_json(results, args.results)
    print(
        f"\n{len(paths)} scenarios x {len(controllers)} controllers in {elapsed:.1f} s"
    )
    print(
        f"Wrote {args.results}"
        + ("" if args.no_files else f" and per-run files under {args.output}/")
    )
    return 0
