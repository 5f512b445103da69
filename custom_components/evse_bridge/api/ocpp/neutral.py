"""The charge point in the project's vendor-neutral model.

The only module of the package that uses ``..model``: what the integration
sees of a charge point is built here, from the records in ``state``.
Part ids are ``connector1``, ``connector2``, ...; meter values of connector 0
(the whole station) are the ``mainMeter`` part, and the status of connector 0
(Unavailable, Faulted) applies to every connector.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ..model import (
    ChargerInfo,
    ChargerState,
    ConnectorState,
    ConnectorStatus,
    MeterReading,
    Part,
)
from .state import Admission, BootInfo, ConnectorRecord

__all__ = [
    "STATION_PART_ID",
    "ChargerInfo",
    "OcppSnapshot",
    "charger_info",
    "charger_state",
    "in_service",
    "part_id",
    "soc_percent",
]

STATION_PART_ID: Final = "mainMeter"

_STATUSES: Final = {
    "Available": ConnectorStatus.AVAILABLE,
    "Preparing": ConnectorStatus.PREPARING,
    "Charging": ConnectorStatus.CHARGING,
    "SuspendedEV": ConnectorStatus.SUSPENDED_EV,
    "SuspendedEVSE": ConnectorStatus.SUSPENDED_EVSE,
    "Finishing": ConnectorStatus.FINISHING,
    "Unavailable": ConnectorStatus.UNAVAILABLE,
    "Faulted": ConnectorStatus.FAULTED,
    # Reserved has no neutral status: vendor_status says "reserved".
}
_VEHICLE_CONNECTED: Final = {
    "Available": False,
    "Preparing": True,
    "Charging": True,
    "SuspendedEV": True,
    "SuspendedEVSE": True,
    "Finishing": True,
}
# Station statuses that hold for every connector.
_STATION_WIDE: Final = frozenset({"Unavailable", "Faulted"})


@dataclass(frozen=True, slots=True, kw_only=True)
class OcppSnapshot:
    """Everything the integration sees of one charge point, at one moment."""

    charge_point_id: str
    connected: bool
    admission: Admission
    info: ChargerInfo | None
    """From the last BootNotification; None before the first."""
    state: ChargerState
    soc_percent: Mapping[str, float] = field(default_factory=dict)
    """State of charge the vehicle reports, per part id (the model has no
    field for it yet)."""


def part_id(connector_id: int) -> str:
    """Return the part id of a connector (0: the station's meter)."""
    return STATION_PART_ID if connector_id == 0 else f"connector{connector_id}"


def charger_info(charge_point_id: str, boot: BootInfo) -> ChargerInfo:
    """Return the identity of a charge point from its BootNotification."""
    return ChargerInfo(
        serial_number=(
            boot.charge_box_serial_number
            or boot.charge_point_serial_number
            or charge_point_id
        ),
        manufacturer=boot.vendor,
        model=boot.model,
        firmware_version=boot.firmware_version,
    )


def _meter(record: ConnectorRecord) -> MeterReading | None:
    sample = record.sample
    if sample is None:
        return None
    return MeterReading(
        energy_wh=sample.energy_wh,
        power_w=sample.power_w,
        current_a=sample.current_a,
        voltage_v=sample.voltage_v,
        frequency_hz=sample.frequency_hz,
    )


def _connector(
    record: ConnectorRecord, station: ConnectorRecord | None
) -> ConnectorState:
    status = record.status
    if station is not None and station.status in _STATION_WIDE:
        status = station.status
    session_energy_wh: float | None = None
    session_duration_s: float | None = None
    transaction = record.transaction
    if transaction is not None and transaction.started_at is not None:
        if transaction.is_open:
            energy = record.sample.energy_wh if record.sample else None
            if energy is not None and transaction.meter_start_wh is not None:
                session_energy_wh = energy - transaction.meter_start_wh
            ended = record.changed_at
        else:
            session_energy_wh = transaction.energy_wh
            ended = transaction.stopped_at
        if ended is not None:
            session_duration_s = max(
                (ended - transaction.started_at).total_seconds(), 0.0
            )
    return ConnectorState(
        vendor_status=status.lower() if status else None,
        status=_STATUSES.get(status) if status else None,
        vehicle_connected=_VEHICLE_CONNECTED.get(status) if status else None,
        charging=status == "Charging" if status else None,
        problem=(
            status == "Faulted" or record.error_code not in {None, "NoError"}
            if status
            else None
        ),
        offered_current_a=record.sample.offered_current_a if record.sample else None,
        current_limit_a=record.limit_a,
        # Paused here is a 0 A limit of ours; being out of service is the status.
        charging_enabled=record.limit_a != 0 if status else None,
        session_energy_wh=session_energy_wh,
        session_duration_s=session_duration_s,
    )


def in_service(
    connectors: Mapping[int, ConnectorRecord], connector_id: int
) -> bool | None:
    """Return whether a connector (0: every connector) is in service.

    Unavailable is out of service; the station's Unavailable holds for every
    connector. None while nothing is reported (or, for 0, the connectors differ).
    """
    station = connectors.get(0)
    chosen = [connector_id] if connector_id else [n for n in connectors if n]
    shown: set[bool] = set()
    for number in chosen:
        record = connectors.get(number)
        status = None if record is None else record.status
        if station is not None and station.status in _STATION_WIDE:
            status = station.status
        if status is not None:
            shown.add(status != "Unavailable")
    return shown.pop() if len(shown) == 1 else None


def charger_state(connectors: Mapping[int, ConnectorRecord]) -> ChargerState:
    """Return the neutral state of a charge point's connectors (0: the station)."""
    station = connectors.get(0)
    parts: dict[str, Part] = {}
    if station is not None and station.sample is not None:
        parts[STATION_PART_ID] = Part(id=STATION_PART_ID, meter=_meter(station))
    for connector_id in sorted(connectors):
        if connector_id == 0:
            continue
        record = connectors[connector_id]
        key = part_id(connector_id)
        parts[key] = Part(
            id=key, meter=_meter(record), connector=_connector(record, station)
        )
    return ChargerState(parts=parts)


def soc_percent(connectors: Mapping[int, ConnectorRecord]) -> dict[str, float]:
    """Return the vehicles' state of charge, per part id, where reported."""
    return {
        part_id(connector_id): record.sample.soc_percent
        for connector_id, record in connectors.items()
        if connector_id and record.sample and record.sample.soc_percent is not None
    }
