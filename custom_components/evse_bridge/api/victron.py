"""Victron Venus OS export: the JSON of the ``dbus-mqtt-ev-charger`` driver, sans-IO.

The driver on the GX subscribes to one topic (``custom/ev-charger`` by
default) and shows the charger whose JSON arrives there. build_payload makes
that JSON for one connector from the neutral model, with only the values the
charger reports: a key that is left out keeps the driver's last value, and
the driver refuses ``null`` and booleans (0/1 are sent instead).

The neutral status maps to the driver's ``/Status`` table (VictronStatus)
like this; the table has no generic fault or "disabled" code, so those show
whether a vehicle is connected, and the fault itself is shown in Home
Assistant:

====================  ==================================================
ConnectorStatus       /Status
====================  ==================================================
available             0 Disconnected
preparing             1 Connected (0 Disconnected when no vehicle is)
charging              2 Charging
suspended_ev          3 Charged (the vehicle takes no more)
suspended_evse        6 Waiting for start (paused, limit 0, schedule)
finishing             1 Connected
unavailable, faulted  1 Connected with a vehicle, else 0 Disconnected
====================  ==================================================

Settings changed on the GX (SetCurrent, StartStop, Mode) are not sent back
to that topic: Venus OS's own broker publishes them as
``N/<portal id>/evcharger/<instance>/<path>`` ``{"value": ...}`` while a
keepalive (``R/<portal id>/keepalive``) is renewed. VictronWriteBack turns
them into typed commands and drops the echoes of what we published, since
the driver writes every value of each message it receives to the D-Bus.
PublishSchedule says when to publish: on every change and at least every
HEARTBEAT_S, because the driver exits after 60 s without a message.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
import json
import logging
import math
from typing import Final

from .model import ChargerInfo, ConnectorState, ConnectorStatus, MeterReading, Part
from .shadow import ShadowTopicError, validate_topic

__all__ = [
    "DEFAULT_TOPIC",
    "HEARTBEAT_S",
    "KEEPALIVE_INTERVAL_S",
    "KEEPALIVE_PAYLOAD",
    "PublishSchedule",
    "VictronCommand",
    "VictronMode",
    "VictronPayload",
    "VictronSetCurrent",
    "VictronSetMode",
    "VictronStartStop",
    "VictronStatus",
    "VictronTopicError",
    "VictronWriteBack",
    "build_payload",
    "payload_json",
    "victron_status",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_TOPIC: Final = "custom/ev-charger"
# The driver exits after 60 s without a message (its default timeout); a
# message every 10 s leaves room for five lost ones.
HEARTBEAT_S: Final = 10.0
# Venus OS stops its notifications 60 s after the last keepalive; renewing at
# half that survives one lost keepalive.
KEEPALIVE_INTERVAL_S: Final = 30.0
# Keep the notifications alive without a full republish of every D-Bus value
# of the GX each time: the write-back needs only changes.
KEEPALIVE_PAYLOAD: Final = json.dumps({"keepalive-options": ["suppress-republish"]})
# A notification is one small JSON object; anything larger is not one.
MAX_NOTIFICATION_BYTES: Final = 1024

SET_CURRENT: Final = "SetCurrent"
START_STOP: Final = "StartStop"
MODE: Final = "Mode"

type JsonValue = float | int | str | dict[str, JsonValue]
type VictronPayload = dict[str, JsonValue]


class VictronTopicError(ShadowTopicError):
    """A topic, portal id or device instance that cannot be used."""


class VictronStatus(IntEnum):
    """The driver's ``/Status`` codes (those the export uses, and the rest)."""

    DISCONNECTED = 0
    """No vehicle connected."""
    CONNECTED = 1
    """A vehicle is connected, not charging."""
    CHARGING = 2
    """Energy flows to the vehicle."""
    CHARGED = 3
    """The vehicle takes no more energy."""
    WAITING_FOR_SUN = 4
    """Waiting for PV surplus."""
    WAITING_FOR_RFID = 5
    """Waiting for an RFID card."""
    WAITING_FOR_START = 6
    """Connected; the charger waits to be started."""
    LOW_SOC = 7
    """The house battery's state of charge is too low."""
    GROUND_TEST_ERROR = 8
    """Ground test failed."""
    WELDED_CONTACTS_ERROR = 9
    """Welded contacts test failed."""
    CP_INPUT_TEST_ERROR = 10
    """Control pilot input test failed (shorted)."""
    RESIDUAL_CURRENT = 11
    """Residual current detected."""
    UNDERVOLTAGE = 12
    """Undervoltage detected."""
    OVERVOLTAGE = 13
    """Overvoltage detected."""
    OVERHEATING = 14
    """Overheating detected."""
    CHARGING_LIMIT = 20
    """A charging limit was reached."""
    START_CHARGING = 21
    """Charging is starting."""
    SWITCHING_TO_3_PHASE = 22
    """Switching to three phases."""
    SWITCHING_TO_1_PHASE = 23
    """Switching to one phase."""
    STOP_CHARGING = 24
    """Charging is stopping."""


class VictronMode(IntEnum):
    """The driver's ``/Mode``: who decides when and how fast to charge."""

    MANUAL = 0
    """The user, with StartStop and SetCurrent."""
    AUTO = 1
    """Automatic (PV surplus, the GX's own logic or ours)."""
    SCHEDULED = 2
    """A time schedule."""


_STATUS: Final[dict[ConnectorStatus, VictronStatus]] = {
    ConnectorStatus.AVAILABLE: VictronStatus.DISCONNECTED,
    ConnectorStatus.PREPARING: VictronStatus.CONNECTED,
    ConnectorStatus.CHARGING: VictronStatus.CHARGING,
    ConnectorStatus.SUSPENDED_EV: VictronStatus.CHARGED,
    ConnectorStatus.SUSPENDED_EVSE: VictronStatus.WAITING_FOR_START,
    ConnectorStatus.FINISHING: VictronStatus.CONNECTED,
}


def victron_status(connector: ConnectorState) -> VictronStatus | None:
    """Return the driver's status for a connector (table above), None if unknown."""
    status = connector.status
    if status is None:
        return None
    if status in (ConnectorStatus.UNAVAILABLE, ConnectorStatus.FAULTED):
        return (
            VictronStatus.CONNECTED
            if connector.vehicle_connected
            else VictronStatus.DISCONNECTED
        )
    if status is ConnectorStatus.PREPARING and connector.vehicle_connected is False:
        return VictronStatus.DISCONNECTED
    return _STATUS[status]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _phase_powers(meter: MeterReading, power_w: float) -> dict[str, JsonValue]:
    """Return ``L1``-``L3`` powers, splitting the active power over the phases.

    The model has no per-phase power. Each phase with a reported current gets
    the share of ``power_w`` its apparent power (V x I) has, or its current
    when voltages are missing, so that the phases add up to ``Ac.Power``.
    """
    currents = [_finite(current) for current in meter.current_a]
    voltages = [_finite(voltage) for voltage in meter.voltage_v]
    reported = [
        (index, current)
        for index, current in enumerate(currents)
        if current is not None
    ]
    if not reported:
        return {}
    if all(voltages[index] is not None for index, _ in reported):
        weights = {
            index: current * (voltages[index] or 0) for index, current in reported
        }
    else:
        weights = dict(reported)
    total = sum(weights.values())
    if total <= 0:
        # No current flows: a power to share is noise, 0 W is what flows.
        return {f"L{index + 1}": {"Power": 0.0} for index, _ in reported}
    return {
        f"L{index + 1}": {"Power": round(power_w * weight / total, 1)}
        for index, weight in weights.items()
    }


def _ac(meter: MeterReading) -> dict[str, JsonValue] | None:
    """Return the ``Ac`` object, or None without the power the driver requires."""
    power_w = _finite(meter.power_w)
    if power_w is None:
        return None
    ac: dict[str, JsonValue] = {"Power": round(power_w, 1)}
    ac.update(_phase_powers(meter, power_w))
    energy_wh = _finite(meter.energy_wh)
    if energy_wh is not None and energy_wh >= 0:
        ac["Energy"] = {"Forward": round(energy_wh / 1000, 3)}
    return ac


def _connector_values(connector: ConnectorState) -> VictronPayload:
    """Return the settings and status a connector reports, in the driver's keys."""
    values: VictronPayload = {}
    for key, value in (
        ("MaxCurrent", connector.max_current_a),
        (SET_CURRENT, connector.current_limit_a),
    ):
        if (amps := _finite(value)) is not None:
            values[key] = amps
    # The driver takes int, float and str values only, not booleans.
    if connector.charging_enabled is not None:
        values[START_STOP] = int(connector.charging_enabled)
    if connector.auto_start is not None:
        values["AutoStart"] = int(connector.auto_start)
    if (status := victron_status(connector)) is not None:
        values["Status"] = int(status)
    if (duration := _finite(connector.session_duration_s)) is not None:
        values["ChargingTime"] = round(duration)
    return values


def build_payload(
    part: Part,
    *,
    info: ChargerInfo | None = None,
    mode: VictronMode | None = None,
) -> VictronPayload | None:
    """Return the driver's JSON object for one connector (or meter).

    None when the part has no power reading: the driver ignores a message
    without ``Ac.Power``. ``mode`` is the export's own mode (the charger has
    none in Victron's sense); left out when None. Pass the guarded lifetime
    energy (the Energy dashboard's total) in ``part.meter.energy_wh`` so the
    GX never sees a false reading.
    """
    if part.meter is None or (ac := _ac(part.meter)) is None:
        return None
    payload: VictronPayload = {"Ac": ac}
    currents = [
        current for current in map(_finite, part.meter.current_a) if current is not None
    ]
    if currents:
        payload["Current"] = round(max(currents), 2)
    if part.connector is not None:
        payload.update(_connector_values(part.connector))
    if mode is not None:
        payload[MODE] = int(mode)
    if info is not None and info.model:
        payload["Model"] = info.model
    return payload


def payload_json(payload: VictronPayload) -> str:
    """Return the payload as the compact JSON the driver reads."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)


@dataclass(kw_only=True)
class PublishSchedule:
    """When to publish one connector's payload.

    On every change, and again HEARTBEAT_S after the last publish while
    nothing changes; never while the connector is unavailable (payload None),
    so the driver times out and the GX shows it disconnected rather than
    stale. Times are monotonic seconds.
    """

    heartbeat_s: float = HEARTBEAT_S
    _payload: VictronPayload | None = field(default=None, init=False)
    _published_at: float = field(default=0.0, init=False)

    @property
    def next_due(self) -> float | None:
        """When the next heartbeat is due; None while there is nothing to publish."""
        return None if self._payload is None else self._published_at + self.heartbeat_s

    def update(
        self, payload: VictronPayload | None, now: float
    ) -> VictronPayload | None:
        """Take the latest payload; return it if it must be published now."""
        changed = payload != self._payload
        self._payload = payload
        return self._publish(now) if changed else self.tick(now)

    def tick(self, now: float) -> VictronPayload | None:
        """Return the payload again if its heartbeat is due."""
        due = self.next_due
        return self._publish(now) if due is not None and now >= due else None

    def republish(self, now: float) -> VictronPayload | None:
        """Return the payload now, heartbeat or not (a lost connection is back)."""
        return self._publish(now)

    def _publish(self, now: float) -> VictronPayload | None:
        if self._payload is not None:
            self._published_at = now
        return self._payload


@dataclass(frozen=True, slots=True)
class VictronSetCurrent:
    """The GX set the charge current (whole amperes, in range)."""

    amps: int


@dataclass(frozen=True, slots=True)
class VictronStartStop:
    """The GX enabled (start) or disabled (stop) charging."""

    enabled: bool


@dataclass(frozen=True, slots=True)
class VictronSetMode:
    """The GX changed the charge mode."""

    mode: VictronMode


type VictronCommand = VictronSetCurrent | VictronStartStop | VictronSetMode


def keepalive_topic(portal_id: str) -> str:
    """Return the topic that keeps Venus OS's notifications coming."""
    return f"R/{portal_id}/keepalive"


@dataclass(kw_only=True)
class VictronWriteBack:
    """Settings changed on the GX for one exported connector, as commands.

    Subscribe to ``subscriptions`` on the Venus OS broker, publish
    KEEPALIVE_PAYLOAD to ``keepalive_topic`` every KEEPALIVE_INTERVAL_S, call
    ``published`` with every payload sent to the driver and ``handle_message``
    with every notification. A value is a command only if it differs from
    what we last published for that path (an echo otherwise) and from the
    last command (a repeated notification); values arriving before we have
    published that path are the driver's defaults or an earlier run's, and
    are ignored. Bad values are ignored and logged once per path and reason.
    """

    portal_id: str
    instance: int
    current_range: tuple[int, int] | None = None
    """Whole amperes the connector accepts; None: SetCurrent is read-only."""
    can_start_stop: bool = False
    can_set_mode: bool = False
    _sent: dict[str, float] = field(default_factory=dict, init=False)
    _applied: dict[str, float] = field(default_factory=dict, init=False)
    _logged: set[tuple[str, str]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        """Check the ids that become topic levels."""
        try:
            validate_topic(self.portal_id, single_level=True)
        except ShadowTopicError as err:
            msg = f"Invalid portal id: {err}"
            raise VictronTopicError(msg) from err
        if isinstance(self.instance, bool) or self.instance < 0:
            msg = "The device instance is a number, 0 or more"
            raise VictronTopicError(msg)

    @property
    def _prefix(self) -> str:
        return f"N/{self.portal_id}/evcharger/{self.instance}/"

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The notification topics of the settings the GX can change."""
        return tuple(self._prefix + path for path in (SET_CURRENT, START_STOP, MODE))

    @property
    def keepalive_topic(self) -> str:
        """Where to publish KEEPALIVE_PAYLOAD."""
        return keepalive_topic(self.portal_id)

    def published(self, payload: Mapping[str, object]) -> None:
        """Remember the settings a payload sent to the driver carried."""
        for path in (SET_CURRENT, START_STOP, MODE):
            value = payload.get(path)
            if isinstance(value, int | float):
                self._sent[path] = value
                # Published after the command: the command is settled.
                self._applied.pop(path, None)

    def handle_message(
        self, topic: str, payload: str | bytes | bytearray
    ) -> VictronCommand | None:
        """Return the command a notification carries, or None."""
        if not topic.startswith(self._prefix):
            return None
        path = topic[len(self._prefix) :]
        if path not in (SET_CURRENT, START_STOP, MODE) or not payload:
            # An empty payload: the driver's service left the D-Bus.
            return None
        value = self._value(path, payload)
        if value is None or path not in self._sent:
            return None
        if value in (self._sent[path], self._applied.get(path)):
            return None
        command = self._command(path, value)
        if command is not None:
            self._applied[path] = value
        return command

    def _value(self, path: str, payload: str | bytes | bytearray) -> float | None:
        """Return the number a notification carries; None for null or bad ones."""
        try:
            if len(payload) > MAX_NOTIFICATION_BYTES:
                raise ValueError  # noqa: TRY301 - treated like bad JSON
            data = json.loads(payload)
        except ValueError:  # also UnicodeDecodeError and JSONDecodeError
            self._log_once(path, "is not JSON")
            return None
        if not isinstance(data, dict) or "value" not in data:
            self._log_once(path, 'has no "value"')
            return None
        value = data["value"]
        if value is None:  # an invalid D-Bus value
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._log_once(path, "is not a number")
            return None
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number):
            self._log_once(path, "is not a finite number")
            return None
        return number

    def _command(self, path: str, value: float) -> VictronCommand | None:
        """Return the command for a new value, or None (logged) if refused."""
        parse = {
            SET_CURRENT: self._set_current,
            START_STOP: self._start_stop,
            MODE: self._set_mode,
        }[path]
        result = parse(value)
        if isinstance(result, str):
            self._log_once(path, result)
            return None
        return result

    def _set_current(self, value: float) -> VictronSetCurrent | str:
        if self.current_range is None:
            return "cannot be set on this charger"
        # The chargers take whole amperes; rounding down never exceeds the ask.
        amps = math.floor(value)
        minimum, maximum = self.current_range
        if not minimum <= amps <= maximum:
            return f"is outside {minimum}-{maximum} A"
        return VictronSetCurrent(amps)

    def _start_stop(self, value: float) -> VictronStartStop | str:
        if not self.can_start_stop:
            return "cannot be set on this charger"
        if value not in {0, 1}:
            return "is neither 0 nor 1"
        return VictronStartStop(enabled=value == 1)

    def _set_mode(self, value: float) -> VictronSetMode | str:
        if not self.can_set_mode:
            return "cannot be set here"
        if value not in set(VictronMode):
            return "is not 0, 1 or 2"
        return VictronSetMode(VictronMode(int(value)))

    def _log_once(self, path: str, problem: str) -> None:
        """Log a refused notification once per path and problem."""
        if (path, problem) in self._logged:
            return
        self._logged.add((path, problem))
        _LOGGER.warning(
            "Ignored %s from the GX (portal %s, instance %s): the value %s",
            path,
            self.portal_id,
            self.instance,
            problem,
        )
