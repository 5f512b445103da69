"""What the central system knows about a charge point, in OCPP's own terms."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .meter import MeterSample
from .transactions import Transaction

__all__ = ["Admission", "BootInfo", "ConnectorRecord"]


class Admission(StrEnum):
    """What the integration decided about a charge point."""

    ACCEPTED = "accepted"
    """The user accepted it: BootNotification ``Accepted``, messages handled."""
    PENDING = "pending"
    """Not decided yet: BootNotification ``Pending``, other messages refused."""
    REJECTED = "rejected"
    """Refused: BootNotification ``Rejected``, other messages refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BootInfo:
    """The identity a charge point gives in its BootNotification."""

    vendor: str
    model: str
    charge_point_serial_number: str | None = None
    charge_box_serial_number: str | None = None
    firmware_version: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None


@dataclass(slots=True)
class ConnectorRecord:
    """What the charge point last said about one connector (0: the station)."""

    status: str | None = None
    """ChargePointStatus, as sent."""
    error_code: str | None = None
    """ChargePointErrorCode, as sent."""
    status_at: datetime | None = None
    sample: MeterSample | None = None
    """The newest meter values, each value from the newest sample that had it."""
    transaction: Transaction | None = None
    """The running transaction, or the last one."""
    limit_a: float | None = None
    """The current limit the charge point reported after it was last set."""
    resume_limit_a: float | None = None
    """The limit before a pause, set again on resume."""
    changed_at: datetime | None = None
    """Time stamp of the newest message about the connector."""
