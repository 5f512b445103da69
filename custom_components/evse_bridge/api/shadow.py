"""The retained MQTT "shadow" of every exported charger, sans-IO.

Topic tree under a base topic (``chargers`` by default), every message
retained so that a subscriber that connects late gets the last known values
at once::

    <base>/availability                      online | offline (last will: offline)
    <base>/<charger>/availability            online | offline
    <base>/<charger>/<part>/<name>           {"value": ..., "sampled_at": ISO 8601}
    <base>/<charger>/<part>/<name>/set       commands, for settable names only

``<charger>`` is the charger's id (its serial number), ``<part>`` the part id
of the neutral model (``evse1``, ``plug1``, ``connector1``, ``mainMeter``) and
``<name>`` a field of MeterReading or ConnectorState (``energy_wh``,
``power_w``, ``status``, ...); per-phase values have one level per phase
(``current_a/l1``). A value is published only when it changes; a value that
is no longer reported is cleared (an empty retained message), so the shadow
never shows a value the charger does not report now. This module builds
topics and payloads and parses commands; the caller owns the MQTT client.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
import json
import logging
import math
from typing import Final, NamedTuple

from .model import ConnectorState, MeterReading, Part

__all__ = [
    "AVAILABILITY_LEVEL",
    "CHARGING_ENABLED",
    "CURRENT_LIMIT",
    "DEFAULT_BASE_TOPIC",
    "OFFLINE",
    "ONLINE",
    "SET_LEVEL",
    "CurrentRange",
    "RefusalReason",
    "SetChargingEnabled",
    "SetCurrentLimit",
    "ShadowCommands",
    "ShadowControls",
    "ShadowDiffer",
    "ShadowMessage",
    "ShadowRefusal",
    "ShadowTopicError",
    "availability_topic",
    "charger_availability_topic",
    "normalize_base_topic",
    "shadow_values",
    "validate_topic",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_TOPIC: Final = "chargers"
AVAILABILITY_LEVEL: Final = "availability"
SET_LEVEL: Final = "set"
# Home Assistant's MQTT availability convention, which most tools know.
ONLINE: Final = "online"
OFFLINE: Final = "offline"
# The MQTT limit on a topic (a UTF-8 string with a 16-bit length).
MAX_TOPIC_BYTES: Final = 65_535
# A command is one small JSON value; anything larger is not one.
MAX_COMMAND_BYTES: Final = 256
_PHASE_NAMES: Final = ("l1", "l2", "l3")
# The names a command may set, as the values are named in the shadow.
CURRENT_LIMIT: Final = "current_limit_a"
CHARGING_ENABLED: Final = "charging_enabled"
# <charger>/<part>/<name>/set below the base topic.
_COMMAND_LEVELS: Final = 4
_ON_WORDS: Final = frozenset({"on", "true"})
_OFF_WORDS: Final = frozenset({"off", "false"})

type ShadowValue = float | bool | str


class ShadowTopicError(ValueError):
    """A topic or topic level that Home Assistant's MQTT integration refuses."""


def validate_topic(topic: str, *, single_level: bool = False) -> str:
    """Return a publish topic built from user input or a charger id, checked.

    The rules of Home Assistant's MQTT integration (``valid_publish_topic``):
    UTF-8, at most 65535 bytes, no null, control or non-characters, and no
    wildcards. Stricter than it: no empty level (a leading, trailing or
    double ``/``), and no ``/`` at all where ``single_level`` (an id that
    becomes one level).
    """
    try:
        encoded = topic.encode()
    except UnicodeError as err:
        msg = "An MQTT topic must be valid UTF-8"
        raise ShadowTopicError(msg) from err
    if len(encoded) > MAX_TOPIC_BYTES:
        msg = f"An MQTT topic must not be longer than {MAX_TOPIC_BYTES} bytes"
        raise ShadowTopicError(msg)
    for char in topic:
        if char <= "\x1f" or "\x7f" <= char <= "\x9f":
            msg = "An MQTT topic must not contain control characters"
            raise ShadowTopicError(msg)
        if "\ufdd0" <= char <= "\ufdef" or (ord(char) & 0xFFFF) in (0xFFFE, 0xFFFF):
            msg = "An MQTT topic must not contain non-characters"
            raise ShadowTopicError(msg)
    if "+" in topic or "#" in topic:
        msg = "An MQTT topic must not contain the wildcards + and #"
        raise ShadowTopicError(msg)
    if single_level and "/" in topic:
        msg = "An id must be a single topic level, without /"
        raise ShadowTopicError(msg)
    if "" in topic.split("/"):
        msg = "An MQTT topic must not be empty or have empty levels"
        raise ShadowTopicError(msg)
    return topic


def normalize_base_topic(base_topic: str) -> str:
    """Return the base topic without surrounding blanks and slashes, checked.

    An empty base topic means DEFAULT_BASE_TOPIC.
    """
    return validate_topic(base_topic.strip().strip("/") or DEFAULT_BASE_TOPIC)


def availability_topic(base_topic: str) -> str:
    """Return the exporter's availability topic: ONLINE, or OFFLINE as last will."""
    return f"{base_topic}/{AVAILABILITY_LEVEL}"


def charger_availability_topic(base_topic: str, charger_id: str) -> str:
    """Return the availability topic of one charger (ShadowTopicError if invalid)."""
    charger_id = validate_topic(charger_id, single_level=True)
    return f"{base_topic}/{charger_id}/{AVAILABILITY_LEVEL}"


def _values_of(
    model: MeterReading | ConnectorState,
) -> Iterator[tuple[str, ShadowValue | None]]:
    """Yield each field of a model as (name, value), phases as one name each."""
    for item in fields(model):
        value = getattr(model, item.name)
        if isinstance(value, tuple):
            for phase, phase_value in zip(_PHASE_NAMES, value, strict=False):
                yield f"{item.name}/{phase}", phase_value
        else:
            yield item.name, value


def _usable(value: object) -> ShadowValue | None:
    """Return a value JSON can carry: no None, NaN or infinity."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value
    return None


def shadow_values(part: Part) -> dict[str, ShadowValue]:
    """Return every value a part reports now, by shadow name.

    Values the charger did not report (None) and non-finite numbers are left
    out. Pass the guarded lifetime energy (the Energy dashboard's total) in
    ``part.meter.energy_wh`` to export that rather than the raw reading.
    """
    values: dict[str, ShadowValue] = {}
    if part.serial_number is not None:
        values["serial_number"] = part.serial_number
    for model in (part.meter, part.connector):
        if model is None:
            continue
        for name, raw in _values_of(model):
            if (value := _usable(raw)) is not None:
                values[name] = value
    return values


@dataclass(frozen=True, slots=True)
class ShadowMessage:
    """One message to publish, retained; an empty payload clears the topic."""

    topic: str
    payload: str
    retain: bool = True


class ShadowDiffer:
    """Decide which shadow topics to publish; remembers what was published."""

    def __init__(self, base_topic: str = DEFAULT_BASE_TOPIC) -> None:
        """Publish under ``base_topic`` (normalized; ShadowTopicError if invalid)."""
        self.base_topic = normalize_base_topic(base_topic)
        self._published: dict[tuple[str, str], dict[str, tuple[ShadowValue, str]]] = {}
        """Last value and payload published per name, per (charger id, part id)."""

    def changes(
        self, charger_id: str, part: Part, sampled_at: datetime
    ) -> list[ShadowMessage]:
        """Return the messages that bring a part's topics up to date.

        A value that changed (or is new) is published with ``sampled_at``,
        which must be timezone-aware; a value that is no longer reported is
        cleared. Raise ShadowTopicError for an id that cannot be a topic level.
        """
        if sampled_at.tzinfo is None:
            msg = "sampled_at must be timezone-aware"
            raise ValueError(msg)
        prefix = (
            f"{self.base_topic}/{validate_topic(charger_id, single_level=True)}"
            f"/{validate_topic(part.id, single_level=True)}/"
        )
        published = self._published.setdefault((charger_id, part.id), {})
        current = shadow_values(part)
        messages = [
            ShadowMessage(prefix + name, "")
            for name in published
            if name not in current
        ]
        for message in messages:
            del published[message.topic.removeprefix(prefix)]
        stamp = sampled_at.isoformat()
        for name, value in current.items():
            previous = published[name][0] if name in published else None
            # True == 1.0 in Python: a value that changes type has changed.
            if type(previous) is not type(value) or previous != value:
                payload = json.dumps({"value": value, "sampled_at": stamp})
                published[name] = (value, payload)
                messages.append(ShadowMessage(prefix + name, payload))
        return messages

    def retained(self) -> list[ShadowMessage]:
        """Return every value as last published, sample times unchanged.

        For a broker that forgot its retained messages (one restarted without
        persistence): publishing these again restores the shadow, and a
        consumer that stores samples by time sees no new sample.
        """
        return [
            ShadowMessage(f"{self.base_topic}/{charger_id}/{part_id}/{name}", payload)
            for (charger_id, part_id), published in self._published.items()
            for name, (_, payload) in published.items()
        ]

    def forget(self, charger_id: str) -> list[ShadowMessage]:
        """Return the messages that clear every value of a charger not exported."""
        messages: list[ShadowMessage] = []
        for key in [key for key in self._published if key[0] == charger_id]:
            prefix = f"{self.base_topic}/{charger_id}/{key[1]}/"
            messages.extend(
                ShadowMessage(prefix + name, "") for name in self._published.pop(key)
            )
        return messages


class CurrentRange(NamedTuple):
    """The current limits a connector accepts, in whole amperes."""

    minimum: int
    maximum: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShadowControls:
    """What a connector lets the shadow change."""

    current_range: CurrentRange | None = None
    """Range of ``current_limit_a``; None: the limit cannot be set."""
    charging_enabled: bool = False
    """Whether ``charging_enabled`` can be set (pause and resume)."""


@dataclass(frozen=True, slots=True)
class SetCurrentLimit:
    """Set a connector's current limit."""

    charger_id: str
    part_id: str
    amps: int


@dataclass(frozen=True, slots=True)
class SetChargingEnabled:
    """Allow or pause charging on a connector."""

    charger_id: str
    part_id: str
    enabled: bool


class RefusalReason(StrEnum):
    """Why a command on a ``set`` topic was refused."""

    UNKNOWN_CONNECTOR = "unknown_connector"
    """No exported connector has this charger and part id."""
    NOT_SETTABLE = "not_settable"
    """The connector cannot change this value."""
    NOT_JSON = "not_json"
    """The payload is not a small JSON value."""
    WRONG_TYPE = "wrong_type"
    """A number where a boolean belongs, or the other way round."""
    OUT_OF_RANGE = "out_of_range"
    """A current outside the connector's range."""


_REASON_TEXT: Final = {
    RefusalReason.UNKNOWN_CONNECTOR: "no exported connector has this id",
    RefusalReason.NOT_SETTABLE: "this value cannot be set on this connector",
}


@dataclass(frozen=True, slots=True)
class ShadowRefusal:
    """A command that was not accepted, and why."""

    topic: str
    reason: RefusalReason
    detail: str


type ShadowCommand = SetCurrentLimit | SetChargingEnabled
type ShadowRefusalDetail = tuple[RefusalReason, str]
type ControlsLookup = Callable[[str, str], ShadowControls | None]
"""Return what an exported connector (charger id, part id) lets the shadow change."""


def _decode_command(payload: str | bytes | bytearray) -> object:
    """Return the JSON value of a command, unwrapping ``{"value": ...}``.

    A bare ``on``/``off`` word (as ``mosquitto_pub -m ON`` sends it) is a
    string. Raise ValueError when the payload is not a small JSON value.
    """
    if len(payload) > MAX_COMMAND_BYTES:
        msg = f"{len(payload)} bytes is too large for a command"
        raise ValueError(msg)
    text = payload if isinstance(payload, str) else bytes(payload).decode()
    stripped = text.strip()
    if stripped.lower() in _ON_WORDS | _OFF_WORDS:
        return stripped
    value = json.loads(stripped)
    if isinstance(value, dict):
        if set(value) != {"value"}:
            msg = 'an object command has the one key "value"'
            raise ValueError(msg)
        return value["value"]
    return value


def _current(value: object, limits: CurrentRange) -> int | ShadowRefusalDetail:
    """Return whole amperes, or why the value is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return RefusalReason.WRONG_TYPE, "the current limit is a number of amperes"
    # MAX_COMMAND_BYTES keeps integers far below the largest float.
    number = float(value)
    if not math.isfinite(number):
        return RefusalReason.WRONG_TYPE, "the current limit is a finite number"
    # The chargers take whole amperes; rounding down never exceeds what was asked.
    amps = math.floor(number)
    if not limits.minimum <= amps <= limits.maximum:
        return (
            RefusalReason.OUT_OF_RANGE,
            f"{number:g} A is outside {limits.minimum}-{limits.maximum} A",
        )
    return amps


def _enabled(value: object) -> bool | ShadowRefusalDetail:
    """Return a boolean command (true/false, on/off, 1/0), or why not."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _ON_WORDS | _OFF_WORDS:
        return value.strip().lower() in _ON_WORDS
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return RefusalReason.WRONG_TYPE, "charging_enabled is true or false"


class ShadowCommands:
    """Parse commands published to ``<base>/<charger>/<part>/<name>/set``.

    Settable names: ``current_limit_a`` (a number of amperes, rounded down to
    whole amperes) and ``charging_enabled`` (true/false, on/off, 1/0). A
    payload may be the bare JSON value or ``{"value": ...}``. Each refusal is
    logged once per connector, name and reason; refusals for unknown
    connectors and names once per reason, so that outsiders can grow neither
    the log nor the memory.
    """

    def __init__(self, base_topic: str = DEFAULT_BASE_TOPIC) -> None:
        """Accept commands under ``base_topic`` (normalized)."""
        self.base_topic = normalize_base_topic(base_topic)
        self._logged: set[tuple[str, RefusalReason]] = set()

    @property
    def subscription(self) -> str:
        """The topic filter that covers every command topic."""
        return f"{self.base_topic}/+/+/+/{SET_LEVEL}"

    def parse(
        self,
        topic: str,
        payload: str | bytes | bytearray,
        controls: ControlsLookup,
    ) -> ShadowCommand | ShadowRefusal | None:
        """Return the command a message asks for, or why it was refused.

        Return None for a topic that is not a command topic under the base.
        """
        prefix = f"{self.base_topic}/"
        if not topic.startswith(prefix):
            return None
        levels = topic[len(prefix) :].split("/")
        if len(levels) != _COMMAND_LEVELS or levels[-1] != SET_LEVEL:
            return None
        charger_id, part_id, name, _ = levels
        return self._command(topic, charger_id, part_id, name, payload, controls)

    def _command(  # noqa: PLR0913, PLR0917 - the parts of one message
        self,
        topic: str,
        charger_id: str,
        part_id: str,
        name: str,
        payload: str | bytes | bytearray,
        controls: ControlsLookup,
    ) -> ShadowCommand | ShadowRefusal:
        found = controls(charger_id, part_id)
        if found is None:
            return self._refuse(topic, None, RefusalReason.UNKNOWN_CONNECTOR, "")
        if name == CURRENT_LIMIT and found.current_range is not None:
            limits = found.current_range
        elif name == CHARGING_ENABLED and found.charging_enabled:
            limits = None
        else:
            known = name if name in (CURRENT_LIMIT, CHARGING_ENABLED) else None
            return self._refuse(topic, known, RefusalReason.NOT_SETTABLE, "")
        try:
            value = _decode_command(payload)
        except ValueError as err:  # also UnicodeDecodeError and JSONDecodeError
            return self._refuse(topic, name, RefusalReason.NOT_JSON, str(err))
        result = _current(value, limits) if limits is not None else _enabled(value)
        if isinstance(result, tuple):
            return self._refuse(topic, name, *result)
        if limits is not None:
            return SetCurrentLimit(charger_id, part_id, int(result))
        return SetChargingEnabled(charger_id, part_id, bool(result))

    def _refuse(
        self, topic: str, name: str | None, reason: RefusalReason, detail: str
    ) -> ShadowRefusal:
        """Return a refusal, logged the first time.

        ``name`` is None when the connector or the name is unknown: such a
        topic is an outsider's text, kept out of the log and the memory.
        """
        detail = detail or _REASON_TEXT[reason]
        key = (topic if name is not None else "", reason)
        if key not in self._logged:
            self._logged.add(key)
            _LOGGER.warning(
                "Refused a command on %s: %s",
                topic if name is not None else "an unknown topic",
                detail,
            )
        return ShadowRefusal(topic, reason, detail)
