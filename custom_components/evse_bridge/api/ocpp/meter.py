"""MeterValues sampled values into numbers in SI units.

OCPP 1.6 sends every value as a string, with ``measurand``, ``unit``,
``phase``, ``location``, ``context`` and ``format`` beside it; absent fields
take the specification's defaults (measurand Energy.Active.Import.Register,
format Raw, location Outlet). The specification gives ``unit`` the default Wh
whatever the measurand; chargers leave it out for voltages and currents too,
so an absent unit means the measurand's own unit here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
import math
from typing import Any, Final

from .clock import parse_timestamp

__all__ = ["MeterSample", "PhaseValues", "parse_meter_value"]

type PhaseValues = tuple[float | None, float | None, float | None]
NO_PHASE_VALUES: Final[PhaseValues] = (None, None, None)

ENERGY: Final = "Energy.Active.Import.Register"
POWER: Final = "Power.Active.Import"
CURRENT: Final = "Current.Import"
CURRENT_OFFERED: Final = "Current.Offered"
VOLTAGE: Final = "Voltage"
FREQUENCY: Final = "Frequency"
SOC: Final = "SoC"
DEFAULT_MEASURAND: Final = ENERGY

# Factor to the SI unit, per measurand and unit; the first is the default.
_UNITS: Final[dict[str, dict[str | None, float]]] = {
    ENERGY: {"Wh": 1.0, "kWh": 1000.0},
    POWER: {"W": 1.0, "kW": 1000.0},
    CURRENT: {"A": 1.0},
    CURRENT_OFFERED: {"A": 1.0},
    VOLTAGE: {"V": 1.0},
    FREQUENCY: {None: 1.0, "Hertz": 1.0},  # the 1.6 schema's errata unit
    SOC: {"Percent": 1.0},
}
# Phase to index; voltages come as L1-N (or L1), line-to-line ones are left out.
_PHASES: Final = {"L1": 0, "L2": 1, "L3": 2, "L1-N": 0, "L2-N": 1, "L3-N": 2}
# Where a meter measures the grid side of the charge point's supply.
_ELECTRICAL_LOCATIONS: Final = frozenset({None, "Outlet", "Inlet", "Cable"})


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSample:
    """The values of one ``meterValue`` element; None where none was sent."""

    timestamp: datetime
    energy_wh: float | None = None
    """Energy.Active.Import.Register: the lifetime register, as sent."""
    power_w: float | None = None
    """Power.Active.Import; the sum of the phases if only those came."""
    current_a: PhaseValues = NO_PHASE_VALUES
    """Current.Import per phase; one without a phase counts as L1."""
    voltage_v: PhaseValues = NO_PHASE_VALUES
    offered_current_a: float | None = None
    frequency_hz: float | None = None
    soc_percent: float | None = None

    def merged_onto(self, older: MeterSample | None) -> MeterSample:
        """Return this sample with what it lacks taken from an older one."""
        if older is None:
            return self

        def pick[T](new: T | None, old: T | None) -> T | None:
            return old if new is None else new

        def phases(new: PhaseValues, old: PhaseValues) -> PhaseValues:
            return new if new != NO_PHASE_VALUES else old

        return MeterSample(
            timestamp=self.timestamp,
            energy_wh=pick(self.energy_wh, older.energy_wh),
            power_w=pick(self.power_w, older.power_w),
            current_a=phases(self.current_a, older.current_a),
            voltage_v=phases(self.voltage_v, older.voltage_v),
            offered_current_a=pick(self.offered_current_a, older.offered_current_a),
            frequency_hz=pick(self.frequency_hz, older.frequency_hz),
            soc_percent=pick(self.soc_percent, older.soc_percent),
        )


def _number(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _with_phase(values: PhaseValues, index: int, value: float) -> PhaseValues:
    changed = list(values)
    changed[index] = value
    return (changed[0], changed[1], changed[2])


def _reading(item: Mapping[str, Any]) -> tuple[str, str | None, float | None] | None:
    """Return measurand, phase and value in SI units (None: not a number).

    Return None for a value this model has no place for: another measurand,
    unit or location, or signed data.
    """
    measurand = item.get("measurand") or DEFAULT_MEASURAND
    factors = _UNITS.get(measurand)
    if factors is None or item.get("format", "Raw") != "Raw":
        return None
    unit = item.get("unit")
    factor = factors.get(unit) if unit is not None else next(iter(factors.values()))
    location = item.get("location")
    if factor is None or (measurand != SOC and location not in _ELECTRICAL_LOCATIONS):
        return None
    value = _number(item.get("value"))
    return measurand, item.get("phase"), None if value is None else value * factor


def parse_meter_value(
    element: Mapping[str, Any], received_at: datetime
) -> tuple[MeterSample, int]:
    """Parse one ``meterValue`` (snake_case keys, schema-valid).

    Return the sample and how many values were not usable numbers (not a
    number, not finite). A time stamp that cannot be read is taken as
    ``received_at``.
    """
    whole: dict[str, float] = {}
    per_phase: dict[str, PhaseValues] = {}
    phase_power_w: float | None = None
    unusable = 0
    sampled: Sequence[Mapping[str, Any]] = element.get("sampled_value") or ()
    for item in sampled:
        if (reading := _reading(item)) is None:
            continue
        measurand, phase, value = reading
        if value is None:
            unusable += 1
        elif phase is None:
            whole[measurand] = value
        elif (index := _PHASES.get(phase)) is not None:
            if measurand == POWER:
                phase_power_w = (phase_power_w or 0.0) + value
            else:
                values = per_phase.get(measurand, NO_PHASE_VALUES)
                per_phase[measurand] = _with_phase(values, index, value)

    def phases(measurand: str) -> PhaseValues:
        if measurand in per_phase:
            return per_phase[measurand]
        return (whole.get(measurand), None, None)

    sample = MeterSample(
        timestamp=parse_timestamp(element.get("timestamp")) or received_at,
        energy_wh=whole.get(ENERGY),
        power_w=whole.get(POWER, phase_power_w),
        current_a=phases(CURRENT),
        voltage_v=phases(VOLTAGE),
        offered_current_a=whole.get(CURRENT_OFFERED),
        frequency_hz=whole.get(FREQUENCY),
        soc_percent=whole.get(SOC),
    )
    return sample, unusable
