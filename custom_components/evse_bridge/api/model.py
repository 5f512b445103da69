"""Vendor-neutral model of a charger, shared by every protocol client."""

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Final

type Phases = tuple[float | None, float | None, float | None]
NO_PHASES: Phases = (None, None, None)

MIN_CURRENT_A: Final = 6
"""IEC 61851-1: the least current a vehicle may be offered; below it, pause."""
DEFAULT_MAX_CURRENT_A: Final = 32
"""A connector's maximum when the charger does not say: the most AC type 2
connectors are built for."""
NOMINAL_VOLTAGE_V: Final = 230.0
"""Phase-to-neutral voltage of the European grid (EN 50160)."""


class ConnectorStatus(StrEnum):
    """Status of one connector, after OCPP 1.6's ChargePointStatus."""

    AVAILABLE = "available"
    """No vehicle connected; ready for one."""
    PREPARING = "preparing"
    """Vehicle connected or user authorised; charging has not started."""
    CHARGING = "charging"
    """Energy flows to the vehicle."""
    SUSPENDED_EV = "suspended_ev"
    """The vehicle takes no energy (battery full, vehicle schedule)."""
    SUSPENDED_EVSE = "suspended_evse"
    """The charger withholds energy (paused, limit 0, schedule, load balancing)."""
    FINISHING = "finishing"
    """The session is over; the vehicle is still connected."""
    UNAVAILABLE = "unavailable"
    """The connector is disabled."""
    FAULTED = "faulted"
    """The connector reports a fault."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """One reading of an energy meter; a value the meter did not give is None."""

    energy_wh: float | None = None
    """Lifetime active energy imported."""
    power_w: float | None = None
    current_a: Phases = NO_PHASES
    voltage_v: Phases = NO_PHASES
    frequency_hz: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorState:
    """What a charger says about one connector (EVSE)."""

    vendor_status: str | None = None
    """The vendor's own status code (a known one), lower case."""
    status: ConnectorStatus | None = None
    vehicle_connected: bool | None = None
    charging: bool | None = None
    problem: bool | None = None
    offered_current_a: float | None = None
    """Current the charger offers the vehicle now (0 when idle or paused)."""
    current_limit_a: float | None = None
    """Current limit set through the API, where the charger has one."""
    min_current_a: float | None = None
    max_current_a: float | None = None
    charging_enabled: bool | None = None
    session_energy_wh: float | None = None
    session_duration_s: float | None = None
    soc_percent: float | None = None
    """The vehicle's state of charge, where the charger learns it."""
    operating_mode: str | None = None
    """Vendor operating mode, lower case, where the charger has one."""
    auto_start: bool | None = None
    """Whether a session starts by itself when a vehicle is plugged in."""
    phases: int = 3
    """How many phases the connector is wired to (1 or 3)."""
    nominal_voltage_v: float = NOMINAL_VOLTAGE_V
    """Phase-to-neutral voltage the connector is built for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """A metered part of a charger: its main meter, or one connector."""

    id: str
    """Stable id within the charger, such as ``mainMeter`` or ``evse1``."""
    number: int = 0
    """The connector's number, from 1; 0 for a meter of the whole charger."""
    serial_number: str | None = None
    meter: MeterReading | None = None
    connector: ConnectorState | None = None


METER_FIELDS: Final = frozenset(f"meter.{item.name}" for item in fields(MeterReading))
"""The fields of a part's meter reading, by the names entities declare."""
CONNECTOR_FIELDS: Final = frozenset(
    f"connector.{item.name}" for item in fields(ConnectorState)
)
"""The fields of a part's connector state, by the names entities declare."""
PART_FIELDS: Final = frozenset({"number", "serial_number"})
ALL_FIELDS: Final = PART_FIELDS | METER_FIELDS | CONNECTOR_FIELDS
"""Every field of a part a value can be read from."""
_METER_NAMES: Final = tuple(
    (item.name, f"meter.{item.name}") for item in fields(MeterReading)
)
_CONNECTOR_NAMES: Final = tuple(
    (item.name, f"connector.{item.name}") for item in fields(ConnectorState)
)


def changed_fields(old: Part | None, new: Part) -> AbstractSet[str]:
    """Return the fields (as ``meter.power_w``) whose values differ.

    A reading or connector state that appears or goes counts as a change of
    all its fields; so does a part that is new (``old`` None).
    """
    if old is None:
        return ALL_FIELDS
    changed: set[str] = set()
    if old.number != new.number:
        changed.add("number")
    if old.serial_number != new.serial_number:
        changed.add("serial_number")
    if old.meter is not new.meter:
        _compare(old.meter, new.meter, _METER_NAMES, changed)
    if old.connector is not new.connector:
        _compare(old.connector, new.connector, _CONNECTOR_NAMES, changed)
    return changed


def _compare(
    old: object | None,
    new: object | None,
    names: tuple[tuple[str, str], ...],
    changed: set[str],
) -> None:
    if old is None or new is None:
        changed.update(qualified for _, qualified in names)
        return
    changed.update(
        qualified
        for name, qualified in names
        if getattr(old, name) != getattr(new, name)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerState:
    """Snapshot of a whole charger."""

    parts: dict[str, Part] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerInfo:
    """Identity of a charger, read once at set-up."""

    serial_number: str
    manufacturer: str
    model: str | None = None
    firmware_version: str | None = None
    hardware_version: str | None = None
    mac_address: str | None = None
