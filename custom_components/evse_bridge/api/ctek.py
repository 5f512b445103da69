"""CTEK Chargestorm Connected: the MQTT "Automation interface", sans-IO.

The charger's CCU publishes JSON to ``<base>/<CBID>/<part>/<kind>``, where
``<part>`` is ``mainMeter`` or ``evseN`` and ``<kind>`` is ``em`` (energy
meter), ``status`` (EVSE state) or ``meterinfo`` (meter serial). This module
takes ``(topic, payload)`` pairs, keeps typed state and knows nothing of any
MQTT client: the caller owns the subscription. MQTT is read-only on this
charger; no command topics exist.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
import json
import logging
import math
import re
from typing import Any, Final, NamedTuple

from .model import (
    ChargerState,
    ConnectorState,
    ConnectorStatus,
    MeterReading,
    Part,
    Phases,
)

__all__ = [
    "DEFAULT_BASE_TOPIC",
    "CtekCharger",
    "CtekError",
    "CtekPayloadError",
    "CtekState",
    "CtekTopicError",
    "CtekUpdate",
    "is_connector_part",
    "normalize_base_topic",
    "subscription_topic",
    "validate_charger_id",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_TOPIC: Final = "CTEK"
# A meter payload is about 250 bytes; anything this large is not one.
MAX_PAYLOAD_BYTES: Final = 16_384
_CONNECTOR_PART = re.compile(r"evse\d+")
# Bare non-JSON number tokens the CCU may send ("the data can be reported as
# nan"), matched outside strings only: group 1 is a string literal to keep.
_NON_FINITE_TOKEN = re.compile(
    r'("(?:[^"\\]|\\.)*")|-?\b(?:nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)\b'
)


class CtekError(Exception):
    """Base class for CTEK errors."""


class CtekTopicError(CtekError, ValueError):
    """A base topic or charger id that cannot form a valid MQTT topic."""


class CtekPayloadError(CtekError):
    """A message that is not a usable CTEK payload."""


class CtekUpdate(NamedTuple):
    """What one message changed."""

    part_id: str
    raw_timestamp: object

    @property
    def timestamp(self) -> datetime | None:
        """Return the time stamp the charger put in the payload.

        Parsed on demand: only retained messages need it.
        """
        return _timestamp(self.raw_timestamp)


class CtekState(StrEnum):
    """EVSE state codes of the Automation interface (section 2.4)."""

    AVAL = "aval"
    """Available, no vehicle connected."""
    CONN = "conn"
    """Vehicle connected, waiting for authentication."""
    AUTH = "auth"
    """Authenticated, waiting for the vehicle to connect."""
    EVRD = "evrd"
    """Vehicle ready; charging about to ramp up."""
    CHRG = "chrg"
    """Charging."""
    PAUS = "paus"
    """Paused by the station (limit 0, schedule, load balancing)."""
    NCRQ = "ncrq"
    """The vehicle requests no charging (full, or its own schedule)."""
    SUHT = "suht"
    """Transient, on the way to paused."""
    STHT = "stht"
    """Transient, on the way to stopped."""
    DONE = "done"
    """Session finished, vehicle still connected."""
    GONE = "gone"
    """The vehicle has gone."""
    FLTY = "flty"
    """Faulty."""
    DSBL = "dsbl"
    """Disabled."""
    INVL = "invl"
    """Invalid state."""


@dataclass(frozen=True, slots=True)
class _StateMeaning:
    status: ConnectorStatus
    connected: bool | None
    problem: bool


_STATE_MEANINGS: Final[dict[CtekState, _StateMeaning]] = {
    CtekState.AVAL: _StateMeaning(
        ConnectorStatus.AVAILABLE, connected=False, problem=False
    ),
    CtekState.CONN: _StateMeaning(
        ConnectorStatus.PREPARING, connected=True, problem=False
    ),
    CtekState.AUTH: _StateMeaning(
        ConnectorStatus.PREPARING, connected=False, problem=False
    ),
    CtekState.EVRD: _StateMeaning(
        ConnectorStatus.PREPARING, connected=True, problem=False
    ),
    CtekState.CHRG: _StateMeaning(
        ConnectorStatus.CHARGING, connected=True, problem=False
    ),
    CtekState.PAUS: _StateMeaning(
        ConnectorStatus.SUSPENDED_EVSE, connected=True, problem=False
    ),
    CtekState.NCRQ: _StateMeaning(
        ConnectorStatus.SUSPENDED_EV, connected=True, problem=False
    ),
    CtekState.SUHT: _StateMeaning(
        ConnectorStatus.SUSPENDED_EVSE, connected=True, problem=False
    ),
    CtekState.STHT: _StateMeaning(
        ConnectorStatus.FINISHING, connected=True, problem=False
    ),
    CtekState.DONE: _StateMeaning(
        ConnectorStatus.FINISHING, connected=True, problem=False
    ),
    CtekState.GONE: _StateMeaning(
        ConnectorStatus.AVAILABLE, connected=False, problem=False
    ),
    CtekState.FLTY: _StateMeaning(
        ConnectorStatus.FAULTED, connected=None, problem=True
    ),
    CtekState.DSBL: _StateMeaning(
        ConnectorStatus.UNAVAILABLE, connected=None, problem=False
    ),
    CtekState.INVL: _StateMeaning(
        ConnectorStatus.FAULTED, connected=None, problem=True
    ),
}


def _check_topic_level(value: str, what: str) -> None:
    if not value or any(char in value for char in "+#\0"):
        msg = f"{what} must be non-empty and free of MQTT wildcards"
        raise CtekTopicError(msg)


def normalize_base_topic(base_topic: str) -> str:
    """Return the base topic without surrounding blanks and slashes.

    An empty base topic means the CCU's default, ``CTEK``. Wildcards and empty
    levels are refused with CtekTopicError.
    """
    base_topic = base_topic.strip().strip("/") or DEFAULT_BASE_TOPIC
    for level in base_topic.split("/"):
        _check_topic_level(level, "Every level of the base topic")
    return base_topic


def validate_charger_id(charger_id: str) -> str:
    """Return the charge-box id (CBID) stripped, or raise CtekTopicError."""
    charger_id = charger_id.strip()
    _check_topic_level(charger_id, "The charger id")
    if "/" in charger_id:
        msg = "The charger id is a single topic level"
        raise CtekTopicError(msg)
    return charger_id


def subscription_topic(base_topic: str, charger_id: str) -> str:
    """Return the topic filter for every message of a charger (``+``: any)."""
    return f"{base_topic}/{charger_id}/+/+"


def is_connector_part(part_id: str) -> bool:
    """Return whether a part id names an EVSE (a connector) rather than a meter."""
    return _CONNECTOR_PART.fullmatch(part_id) is not None


def _decode(payload: str | bytes | bytearray) -> dict[str, Any]:
    """Decode a payload to a JSON object, tolerating bare nan/inf tokens."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        msg = f"payload of {len(payload)} bytes is too large"
        raise CtekPayloadError(msg)
    if not isinstance(payload, str):
        try:
            payload = payload.decode()
        except UnicodeDecodeError as err:
            msg = "payload is not UTF-8"
            raise CtekPayloadError(msg) from err
    try:
        data = json.loads(payload)
    except ValueError:
        # Rare path: replace bare nan/inf tokens outside strings with null.
        cleaned = _NON_FINITE_TOKEN.sub(lambda m: m.group(1) or "null", payload)
        try:
            data = json.loads(cleaned)
        except ValueError as err:
            msg = "payload is not JSON"
            raise CtekPayloadError(msg) from err
    if not isinstance(data, dict):
        msg = "payload is not a JSON object"
        raise CtekPayloadError(msg)
    return data


def _number(value: object) -> float | None:
    """Return a finite number from a JSON value (numbers sent as strings too)."""
    if type(value) is float or type(value) is int:  # the usual case, first
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _non_negative(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and number >= 0 else None


def _phases(value: object) -> Phases:
    """Return L1-L3 values from an array; a short array leaves phases unknown."""
    if not isinstance(value, list):
        return (_number(value), None, None)
    values = [_number(item) for item in value[:3]]
    values.extend([None] * (3 - len(values)))
    return (values[0], values[1], values[2])


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_meter_reading(data: dict[str, Any]) -> MeterReading:
    """Parse an ``em`` payload; missing and unusable values become None."""
    return MeterReading(
        energy_wh=_non_negative(data.get("energy")),
        power_w=_number(data.get("power")),
        current_a=_phases(data.get("current")),
        voltage_v=_phases(data.get("voltage")),
        frequency_hz=_non_negative(data.get("frequency")),
    )


def parse_connector_state(data: dict[str, Any]) -> ConnectorState:
    """Parse a ``status`` payload; an unknown state code becomes None."""
    code = data.get("state")
    try:
        state = CtekState(code.strip().lower()) if isinstance(code, str) else None
    except ValueError:
        state = None
    offered = _non_negative(data.get("assigned"))
    if state is None:
        return ConnectorState(offered_current_a=offered)
    meaning = _STATE_MEANINGS[state]
    return ConnectorState(
        vendor_status=state.value,
        status=meaning.status,
        vehicle_connected=meaning.connected,
        charging=state is CtekState.CHRG,
        problem=meaning.problem,
        offered_current_a=offered,
    )


def parse_serial_number(data: dict[str, Any]) -> str | None:
    """Parse a ``meterinfo`` payload."""
    serial = data.get("serialno")
    if isinstance(serial, int | str) and not isinstance(serial, bool):
        return str(serial).strip() or None
    return None


class CtekCharger:
    """The state of one Chargestorm, fed with the messages it publishes."""

    def __init__(self, base_topic: str, charger_id: str) -> None:
        """Track the charger that publishes under ``<base_topic>/<charger_id>``."""
        self.base_topic = normalize_base_topic(base_topic)
        self.charger_id = validate_charger_id(charger_id)
        self._prefix = f"{self.base_topic}/{self.charger_id}/"
        self._parts: dict[str, Part] = {}
        self._unknown_codes: set[str] = set()

    @property
    def subscription(self) -> str:
        """The one topic filter that covers every message of this charger."""
        return subscription_topic(self.base_topic, self.charger_id)

    @property
    def state(self) -> ChargerState:
        """Snapshot of everything received so far."""
        return ChargerState(parts=dict(self._parts))

    def handle_message(
        self, topic: str, payload: str | bytes | bytearray
    ) -> CtekUpdate | None:
        """Apply one message; return which part it changed.

        Return None for topics that are not this charger's data. Raise
        CtekPayloadError for a payload that cannot be used; the state is then
        left as it was.
        """
        if not topic.startswith(self._prefix):
            return None
        part_id, _, kind = topic[len(self._prefix) :].partition("/")
        if kind not in ("em", "status", "meterinfo") or not part_id:
            return None
        data = _decode(payload)
        part = self._parts.get(part_id) or Part(id=part_id)
        if kind == "em":
            part = replace(part, meter=parse_meter_reading(data))
        elif kind == "status":
            if not is_connector_part(part_id):
                return None
            connector = parse_connector_state(data)
            self._note_unknown_code(part_id, data, connector)
            part = replace(part, connector=connector)
        else:
            part = replace(part, serial_number=parse_serial_number(data))
        self._parts[part_id] = part
        return CtekUpdate(part_id, data.get("timestamp"))

    def _note_unknown_code(
        self, part_id: str, data: dict[str, Any], connector: ConnectorState
    ) -> None:
        """Log each unknown state code once, so the mapping can grow."""
        code = data.get("state")
        if connector.vendor_status is None and str(code) not in self._unknown_codes:
            self._unknown_codes.add(str(code))
            _LOGGER.warning(
                "Unknown EVSE state %r from %s; shown as unknown", code, part_id
            )
