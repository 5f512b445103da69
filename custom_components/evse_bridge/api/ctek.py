"""CTEK Chargestorm Connected: the MQTT "Automation interface", sans-IO.

The charger's CCU publishes JSON to ``<base>/<CBID>/<part>/<kind>``, where
``<part>`` is ``mainMeter`` or ``evseN`` and ``<kind>`` is ``em`` (energy
meter), ``status`` (EVSE state) or ``meterinfo`` (meter serial). This module
takes ``(topic, payload)`` pairs, keeps typed state and knows nothing of any
MQTT client: the caller owns the subscription. MQTT is read-only on this
charger; no command topics exist.

Anyone who can publish to the broker can publish under the charger's topic, so
nothing a message brings may cost much or grow without bound: a payload is
parsed in time linear in its size (at most MAX_PAYLOAD_BYTES), only the part
names the protocol defines become parts (at most MAX_PARTS), at most
MAX_UNKNOWN_CODES unknown state codes are remembered, log lines show a bounded,
escaped excerpt of what was sent, and nothing but CtekError leaves this module.
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
    "MAX_BARE_NUMBERS",
    "MAX_BRACKETS",
    "MAX_PARTS",
    "MAX_PAYLOAD_BYTES",
    "MAX_TOPIC_BYTES",
    "MAX_UNKNOWN_CODES",
    "CtekCharger",
    "CtekError",
    "CtekPayloadError",
    "CtekState",
    "CtekTopicError",
    "CtekUpdate",
    "is_connector_part",
    "is_part_name",
    "normalize_base_topic",
    "subscription_topic",
    "validate_charger_id",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_TOPIC: Final = "CTEK"
# A meter payload is about 250 bytes; anything this large is not one.
MAX_PAYLOAD_BYTES: Final = 16_384
# MQTT's limit on a topic (or filter) in UTF-8 bytes, as Home Assistant checks it.
MAX_TOPIC_BYTES: Final = 65_535
# The largest Chargestorm has two outlets and a main meter; 16 leaves room for
# any CCU, and stops a stranger's messages from adding devices without end.
MAX_PARTS: Final = 16
# Unknown state codes remembered (each is logged once); the protocol has 14.
MAX_UNKNOWN_CODES: Final = 16
# How much of a text from a message a log line shows.
MAX_LOGGED_CHARS: Final = 64
# A CTEK payload is one object with at most two arrays (currents, voltages).
# Brackets beyond this (counted in strings too) make no CTEK message, and each
# would cost an allocation: refusing them keeps a crafted payload from piling
# up containers for the garbage collector or nesting deeper than the stack.
MAX_BRACKETS: Final = 64
# A CTEK payload has about a dozen values, so at most that many bare nan/inf
# tokens; the fallback that replaces them is not run for more (the text
# "nan"/"inf" is counted anywhere, in strings too). This bounds its work.
MAX_BARE_NUMBERS: Final = 32
# The longest meter serial number kept; the CCU's are about 8 characters.
_MAX_SERIAL_LENGTH: Final = 64
# The parts the protocol defines: the main meter and the outlets evse1-evse99.
_PART_NAME = re.compile(r"mainMeter|evse[1-9][0-9]?")
_CONNECTOR_PART = re.compile(r"evse[1-9][0-9]?")
# Bare non-JSON number tokens the CCU may send ("the data can be reported as
# nan"), to be replaced outside strings. Each match is either group 1, a run
# of text to keep (string literals, possibly unterminated, and anything that
# does not start a token), or a token. Possessive repeats never backtrack, so
# every character is looked at a bounded number of times: linear time, with
# one replacement call per token, not one per character.
_BARE_NUMBER = r"-?\b(?:nan|NaN|NAN|inf|Inf|INF|infinity|Infinity)\b"
_NON_FINITE_TOKEN = re.compile(
    rf'((?:"(?:[^"\\]|\\.)*+"?|(?!{_BARE_NUMBER})[^"])++)|{_BARE_NUMBER}'
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


def _is_forbidden_in_topic(char: str) -> bool:
    """Return whether MQTT (as Home Assistant checks it) refuses a character.

    Control characters (U+0000 included) and Unicode non-characters.
    """
    return (
        char <= "\x1f"
        or "\x7f" <= char <= "\x9f"
        or "\ufdd0" <= char <= "\ufdef"
        or (ord(char) & 0xFFFF) in {0xFFFE, 0xFFFF}
    )


def _check_topic_level(value: str, what: str) -> None:
    """Refuse a topic level that is empty, a wildcard, or not valid in a topic."""
    if not value or "+" in value or "#" in value:
        msg = f"{what} must be non-empty and free of MQTT wildcards"
        raise CtekTopicError(msg)
    if any(_is_forbidden_in_topic(char) for char in value):
        msg = f"{what} must not contain control characters or non-characters"
        raise CtekTopicError(msg)
    try:
        value.encode()
    except UnicodeEncodeError:
        msg = f"{what} must be valid UTF-8"
        raise CtekTopicError(msg) from None


def normalize_base_topic(base_topic: str) -> str:
    """Return the base topic without surrounding blanks and slashes.

    An empty base topic means the CCU's default, ``CTEK``. Wildcards, empty
    levels and characters Home Assistant's MQTT integration refuses in a
    topic are refused with CtekTopicError, and so is a base topic too long for
    the charger's subscription.
    """
    base_topic = base_topic.strip().strip("/") or DEFAULT_BASE_TOPIC
    for level in base_topic.split("/"):
        _check_topic_level(level, "Every level of the base topic")
    subscription_topic(base_topic, "+")
    return base_topic


def validate_charger_id(charger_id: str, base_topic: str = DEFAULT_BASE_TOPIC) -> str:
    """Return the charge-box id (CBID) stripped, or raise CtekTopicError.

    ``base_topic`` (normalized) is needed to check the length of the whole topic.
    """
    charger_id = charger_id.strip()
    _check_topic_level(charger_id, "The charger id")
    if "/" in charger_id:
        msg = "The charger id is a single topic level"
        raise CtekTopicError(msg)
    subscription_topic(base_topic, charger_id)
    return charger_id


def subscription_topic(base_topic: str, charger_id: str) -> str:
    """Return the topic filter for every message of a charger (``+``: any).

    Raise CtekTopicError if it is longer than MQTT allows.
    """
    topic = f"{base_topic}/{charger_id}/+/+"
    # A character is at most four bytes: a short topic needs no counting.
    if (
        len(topic) > MAX_TOPIC_BYTES // 4
        and len(topic.encode(errors="surrogatepass")) > MAX_TOPIC_BYTES
    ):
        msg = f"The topic must not be longer than {MAX_TOPIC_BYTES} bytes"
        raise CtekTopicError(msg)
    return topic


def _for_log(value: object) -> str:
    """Return something a message brought as a bounded, escaped log text."""
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    if len(value) > MAX_LOGGED_CHARS:
        return f"{value[:MAX_LOGGED_CHARS]!r}..."
    return repr(value)


def is_part_name(part_id: str) -> bool:
    """Return whether the protocol defines a part of this name."""
    return _PART_NAME.fullmatch(part_id) is not None


def is_connector_part(part_id: str) -> bool:
    """Return whether a part id names an EVSE (a connector) rather than a meter."""
    return _CONNECTOR_PART.fullmatch(part_id) is not None


def _text(payload: str | bytes | bytearray) -> str:
    """Return a payload as text, refusing one over MAX_PAYLOAD_BYTES in UTF-8."""
    # Every character is at least one byte: a long text is refused uncounted.
    if len(payload) > MAX_PAYLOAD_BYTES:
        msg = f"payload of more than {MAX_PAYLOAD_BYTES} bytes is too large"
        raise CtekPayloadError(msg)
    try:
        if isinstance(payload, str):
            if not payload.isascii() and len(payload.encode()) > MAX_PAYLOAD_BYTES:
                msg = f"payload of more than {MAX_PAYLOAD_BYTES} bytes is too large"
                raise CtekPayloadError(msg)
            return payload
        return bytes(payload).decode()
    except UnicodeError:
        msg = "payload is not UTF-8"
        raise CtekPayloadError(msg) from None


def _decode(payload: str | bytes | bytearray) -> dict[str, Any]:
    """Decode a payload to a JSON object, tolerating bare nan/inf tokens."""
    text = _text(payload)
    if text.count("[") + text.count("{") > MAX_BRACKETS:
        msg = f"payload has more than {MAX_BRACKETS} arrays or objects"
        raise CtekPayloadError(msg)
    try:
        data = json.loads(text)
    except ValueError:  # not JSON, or an integer too long to convert
        data = _decode_bare_numbers(text)
    if not isinstance(data, dict):
        msg = "payload is not a JSON object"
        raise CtekPayloadError(msg)
    return data


def _decode_bare_numbers(text: str) -> object:
    """Decode JSON with bare nan/inf tokens outside strings read as null.

    The rare path, for payloads plain JSON cannot read.
    """
    lowered = text.lower()
    if lowered.count("nan") + lowered.count("inf") <= MAX_BARE_NUMBERS:
        try:
            return json.loads(_NON_FINITE_TOKEN.sub(lambda m: m[1] or "null", text))
        except ValueError:
            pass
    msg = "payload is not JSON"
    raise CtekPayloadError(msg)


def _number(value: object) -> float | None:
    """Return a finite number from a JSON value (numbers sent as strings too)."""
    if type(value) is float:  # the usual case, first
        number = value
    elif type(value) is int or isinstance(value, str):
        try:
            number = float(value)
        except ValueError, OverflowError:  # not a number; beyond any float
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
    if len(value) >= 3:  # noqa: PLR2004 - three phases, the usual case
        return (_number(value[0]), _number(value[1]), _number(value[2]))
    values = [_number(item) for item in value]
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
    if isinstance(serial, bool) or not isinstance(serial, int | str):
        return None
    if isinstance(serial, int) and not 0 <= serial < 10**_MAX_SERIAL_LENGTH:
        return None
    text = str(serial).strip()
    if len(text) > _MAX_SERIAL_LENGTH or not text.isprintable():
        return None
    return text or None


class CtekCharger:
    """The state of one Chargestorm, fed with the messages it publishes."""

    def __init__(self, base_topic: str, charger_id: str) -> None:
        """Track the charger that publishes under ``<base_topic>/<charger_id>``."""
        self.base_topic = normalize_base_topic(base_topic)
        self.charger_id = validate_charger_id(charger_id, self.base_topic)
        self._prefix = f"{self.base_topic}/{self.charger_id}/"
        self._parts: dict[str, Part] = {}
        self._routes: dict[str, tuple[str, str]] = {}
        """Part and kind of each topic a part was taken from: at most three
        per part, as only parts taken count (MAX_PARTS)."""
        self._unknown_codes: set[str] = set()
        self._refused_parts_logged = False

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

        Return None for topics that are not this charger's data: another
        charger's, a kind or part name the protocol does not define, or a new
        part beyond MAX_PARTS. Raise CtekPayloadError for a payload that cannot
        be used; the state is then left as it was.
        """
        route = self._routes.get(topic)
        if route is None:
            route = self._route(topic)
            if route is None:
                return None
        part_id, kind = route
        part = self._parts.get(part_id)
        if part is None:
            if len(self._parts) >= MAX_PARTS:
                self._note_refused_part(part_id)
                return None
            part = Part(
                id=part_id,
                number=int(part_id[4:]) if is_connector_part(part_id) else 0,
            )
        data = _decode(payload)
        if kind == "em":
            part = replace(part, meter=parse_meter_reading(data))
        elif kind == "status":
            connector = parse_connector_state(data)
            self._note_unknown_code(part_id, data, connector)
            part = replace(part, connector=connector)
        else:
            part = replace(part, serial_number=parse_serial_number(data))
        self._parts[part_id] = part
        self._routes[topic] = route
        return CtekUpdate(part_id, data.get("timestamp"))

    def _route(self, topic: str) -> tuple[str, str] | None:
        """Return the part and kind of one of this charger's data topics."""
        if not topic.startswith(self._prefix):
            return None
        part_id, _, kind = topic[len(self._prefix) :].partition("/")
        if kind not in ("em", "status", "meterinfo") or not is_part_name(part_id):
            return None
        if kind == "status" and not is_connector_part(part_id):
            return None
        return part_id, kind

    def _note_refused_part(self, part_id: str) -> None:
        """Log once that parts beyond MAX_PARTS are ignored."""
        if not self._refused_parts_logged:
            self._refused_parts_logged = True
            _LOGGER.warning(
                "Charger %s already has %d parts; ignoring %s and any further one",
                self.charger_id,
                MAX_PARTS,
                part_id,
            )

    def _note_unknown_code(
        self, part_id: str, data: dict[str, Any], connector: ConnectorState
    ) -> None:
        """Log each unknown state code once, so the mapping can grow.

        At most MAX_UNKNOWN_CODES are remembered (and logged).
        """
        if connector.vendor_status is not None:
            return
        code = _for_log(data.get("state"))
        if code in self._unknown_codes or len(self._unknown_codes) >= MAX_UNKNOWN_CODES:
            return
        self._unknown_codes.add(code)
        _LOGGER.warning(
            "Unknown EVSE state %s from %s; shown as unknown", code, part_id
        )
