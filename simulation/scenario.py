"""The scenario file: one simulated day, as JSON (README.md, "The scenario format").

Times are seconds from the scenario's start; the per-minute data covers the
whole day. Loading checks every field and fails with ScenarioError naming it.
"""

from dataclasses import dataclass
from datetime import datetime
import json
from pathlib import Path
from typing import Any

FORMAT = 1
# Row lengths: [start_s, end_s] pairs, [L1, L2, L3] loads, price rows.
PAIR = 2
PHASES = 3
PRICE_ROW = 4


class ScenarioError(ValueError):
    """A scenario file that cannot be simulated; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Car:
    """The car on one charger (one session)."""

    plug_in_s: int
    plug_out_s: int
    need_kwh: float
    phases: int = 3
    max_current_a: float = 16.0
    ramp_up_a_per_s: float = 1.0
    ramp_down_a_per_s: float = 6.0
    resume_delay_s: int = 20
    refuse_after_pauses: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSettings:
    """What the owner set for our engine on one charger."""

    mode: str
    target_kwh: float | None = None
    deadline_s: int | None = None
    windows: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Charger:
    """One charger, its car and its owner's settings."""

    id: str
    phases: int = 3
    can_switch_phases: bool = False
    grid_phase: int = 0
    min_current_a: float = 6.0
    max_current_a: float = 16.0
    priority: int = 0
    command_latency_s: int = 2
    car: Car
    settings: UserSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One simulated day."""

    name: str
    description: str
    start: datetime
    fuse_a: float
    voltage_v: float
    meter_period_s: int
    meter_offset_s: int
    meter_latency_s: int
    dropouts: tuple[tuple[int, int], ...]
    restarts: tuple[tuple[int, int], ...]
    """(at_s, silent_s): the controller loses its state and is silent."""
    chargers: tuple[Charger, ...]
    prices: tuple[tuple[int, int, float, float], ...]
    """(start_s, end_s, import, export) per kWh."""
    house_w: tuple[tuple[float, float, float], ...]
    pv_w: tuple[float, ...]
    pv_forecast_w: tuple[float, ...]

    @property
    def seconds(self) -> int:
        """Length of the day in seconds."""
        return len(self.house_w) * 60

    @property
    def start_epoch(self) -> float:
        """The start as Unix time."""
        return self.start.timestamp()


def _get(
    data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str
) -> Any:
    if key not in data:
        msg = f"{where}: missing field {key!r}"
        raise ScenarioError(msg)
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        msg = f"{where}.{key}: wrong type {type(value).__name__}"
        raise ScenarioError(msg)
    return value


def _pairs(values: Any, where: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(values, list) or not all(
        isinstance(pair, list)
        and len(pair) == PAIR
        and all(isinstance(v, int) for v in pair)
        for pair in values
    ):
        msg = f"{where}: expected a list of [start_s, end_s] pairs"
        raise ScenarioError(msg)
    return tuple((pair[0], pair[1]) for pair in values)


def _charger(data: Any, index: int) -> Charger:
    where = f"chargers[{index}]"
    if not isinstance(data, dict):
        msg = f"{where}: expected an object"
        raise ScenarioError(msg)
    car = _get(data, "car", dict, where)
    settings = _get(data, "settings", dict, where)
    number = (int, float)
    refuse = car.get("refuse_after_pauses")
    try:
        return Charger(
            id=_get(data, "id", str, where),
            phases=_get(data, "phases", int, where),
            can_switch_phases=_get(data, "can_switch_phases", bool, where),
            grid_phase=_get(data, "grid_phase", int, where),
            min_current_a=float(_get(data, "min_current_a", number, where)),
            max_current_a=float(_get(data, "max_current_a", number, where)),
            priority=_get(data, "priority", int, where),
            command_latency_s=_get(data, "command_latency_s", int, where),
            car=Car(
                plug_in_s=_get(car, "plug_in_s", int, f"{where}.car"),
                plug_out_s=_get(car, "plug_out_s", int, f"{where}.car"),
                need_kwh=float(_get(car, "need_kwh", number, f"{where}.car")),
                phases=_get(car, "phases", int, f"{where}.car"),
                max_current_a=float(_get(car, "max_current_a", number, f"{where}.car")),
                ramp_up_a_per_s=float(
                    _get(car, "ramp_up_a_per_s", number, f"{where}.car")
                ),
                ramp_down_a_per_s=float(
                    _get(car, "ramp_down_a_per_s", number, f"{where}.car")
                ),
                resume_delay_s=_get(car, "resume_delay_s", int, f"{where}.car"),
                refuse_after_pauses=refuse if isinstance(refuse, int) else None,
            ),
            settings=UserSettings(
                mode=_get(settings, "mode", str, f"{where}.settings"),
                target_kwh=settings.get("target_kwh"),
                deadline_s=settings.get("deadline_s"),
                windows=_pairs(
                    settings.get("windows", []), f"{where}.settings.windows"
                ),
            ),
        )
    except (TypeError, ValueError) as err:
        msg = f"{where}: {err}"
        raise ScenarioError(msg) from err


def from_dict(data: Any) -> Scenario:  # noqa: C901
    """Check and convert a parsed scenario file."""
    if not isinstance(data, dict):
        msg = "a scenario is a JSON object"
        raise ScenarioError(msg)
    if data.get("format") != FORMAT:
        msg = f"format must be {FORMAT}"
        raise ScenarioError(msg)
    site = _get(data, "site", dict, "scenario")
    meter = _get(data, "meter", dict, "scenario")
    minutes = _get(data, "minutes", dict, "scenario")
    house = _get(minutes, "house_w", list, "minutes")
    pv = _get(minutes, "pv_w", list, "minutes")
    forecast = minutes.get("pv_forecast_w", pv)
    if not house or not all(
        isinstance(row, list)
        and len(row) == PHASES
        and all(isinstance(v, (int, float)) for v in row)
        for row in house
    ):
        msg = "minutes.house_w: expected one [L1, L2, L3] row per minute"
        raise ScenarioError(msg)
    for name, series in (("pv_w", pv), ("pv_forecast_w", forecast)):
        if len(series) != len(house) or not all(
            isinstance(v, (int, float)) for v in series
        ):
            msg = f"minutes.{name}: expected one number per minute ({len(house)})"
            raise ScenarioError(msg)
    prices = _get(data, "prices", list, "scenario")
    if not all(
        isinstance(row, list)
        and len(row) == PRICE_ROW
        and all(isinstance(v, (int, float)) for v in row)
        for row in prices
    ):
        msg = "prices: expected [start_s, end_s, import, export] rows"
        raise ScenarioError(msg)
    chargers = tuple(
        _charger(item, index)
        for index, item in enumerate(_get(data, "chargers", list, "scenario"))
    )
    if not chargers or len({charger.id for charger in chargers}) != len(chargers):
        msg = "chargers: at least one, with unique ids"
        raise ScenarioError(msg)
    try:
        start = datetime.fromisoformat(_get(data, "start", str, "scenario"))
    except ValueError as err:
        msg = f"start: {err}"
        raise ScenarioError(msg) from err
    if start.tzinfo is None:
        msg = "start: needs a UTC offset, such as 2026-06-10T12:00:00+02:00"
        raise ScenarioError(msg)
    period = _get(meter, "period_s", int, "meter")
    if period < 1:
        msg = "meter.period_s: at least 1"
        raise ScenarioError(msg)
    restarts = tuple(
        (_get(item, "at_s", int, "restarts"), _get(item, "silent_s", int, "restarts"))
        for item in data.get("restarts", [])
    )
    return Scenario(
        name=_get(data, "name", str, "scenario"),
        description=str(data.get("description", "")),
        start=start,
        fuse_a=float(_get(site, "fuse_a", (int, float), "site")),
        voltage_v=float(_get(site, "voltage_v", (int, float), "site")),
        meter_period_s=period,
        meter_offset_s=_get(meter, "offset_s", int, "meter"),
        meter_latency_s=_get(meter, "latency_s", int, "meter"),
        dropouts=_pairs(meter.get("dropouts", []), "meter.dropouts"),
        restarts=restarts,
        chargers=chargers,
        prices=tuple((int(r[0]), int(r[1]), float(r[2]), float(r[3])) for r in prices),
        house_w=tuple((float(r[0]), float(r[1]), float(r[2])) for r in house),
        pv_w=tuple(float(v) for v in pv),
        pv_forecast_w=tuple(float(v) for v in forecast),
    )


def load(path: Path) -> Scenario:
    """Read a scenario file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        msg = f"{path}: {err}"
        raise ScenarioError(msg) from err
    return from_dict(data)
