"""Client for Circontrol CirCarLife wallboxes (Circutor PowerStudio XML over HTTP).

Covers the Wallbox Smart (CCL-WBM-SMART) and the evolt EV-WBM-SMART, which run the
CirCarLife engine on a CCL1Mini board. The protocol is described in
``circontrol-powerstudio.md``; tags below follow its legend: [V] verified in a published
capture or script, [I] inferred by us.

Endpoints used:

* ``GET /services/chargePointsInterface/plugInfo.xml`` [V]: static plug data, read once.
* ``GET /services/chargePointsInterface/chargeInfo.xml`` [V]: state, energies, session.
* ``GET /services/user/values.xml?var=...&var=...`` [V]: live variables.
* ``GET /services/chargePointsInterface/deviceInfo.xml?id=EVSE`` [V] and
  ``GET /services/system/information.xml`` [V]: identity, at set-up only.
* ``PUT /services/user/forceVariables.xml?id=<device>`` [V]: commands (answer 204).

Device names contain spaces, which the box only understands encoded as ``%20``; a ``+``
silently addresses no device. Every query string is therefore built with
:func:`urllib.parse.quote` and handed to aiohttp as an already-encoded URL.

Plain HTTP is the only transport these boxes offer: keep them on a separate network.
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, IntFlag
import logging
import math
from types import TracebackType
from typing import Final, Self
from urllib.parse import quote
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

import aiohttp
from yarl import URL

from .errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerResponseError,
)
from .http import HttpTransport
from .model import (
    MIN_CURRENT_A,
    ChargerInfo,
    ChargerState,
    ConnectorState,
    ConnectorStatus,
    MeterReading,
    Part,
)
from .xml import MAX_XML_BYTES, XmlError, child_text, parse_xml

__all__ = [
    "MAX_CURRENT_A",
    "CircontrolChargeInfo",
    "CircontrolClient",
    "CircontrolForceVariables",
    "CircontrolPlugError",
    "CircontrolPlugInfo",
    "CircontrolPlugState",
    "CircontrolStopReason",
    "parse_charge_info",
    "parse_identity",
    "parse_plug_info",
    "parse_values",
]

_LOGGER = logging.getLogger(__name__)

MAX_CURRENT_A: Final = 63
"""Largest current a Mode 3 AC plug can be asked for; the plug's own limit is lower."""

_PLUG_INFO_PATH: Final = "/services/chargePointsInterface/plugInfo.xml"
_CHARGE_INFO_PATH: Final = "/services/chargePointsInterface/chargeInfo.xml"
_DEVICE_INFO_PATH: Final = "/services/chargePointsInterface/deviceInfo.xml"
_INFORMATION_PATH: Final = "/services/system/information.xml"
_VALUES_PATH: Final = "/services/user/values.xml"
_FORCE_PATH: Final = "/services/user/forceVariables.xml"
_HTTP_NO_CONTENT: Final = 204

IN_SERVICE_SETTLE_S: Final = 5.0
"""How long a plug put back in service may still show disabled: the published start
script waits ~5 s after enabling before it reads the connected flag [V, I why]."""


class CircontrolPlugState(IntEnum):
    """Plug state ``CHARGE_PLUG_ST_*`` (table 5.1; names [V], meanings [I])."""

    NO_INIT = -100
    """The plug logic has not initialised."""
    UNKNOWN = -99
    """The engine does not know the plug's state."""
    DISABLED = -2
    """The plug is out of service."""
    ERROR = -1
    """The plug reports an error (see the error bitmask)."""
    AVAILABLE = 0
    """Free; no vehicle and no session."""
    RESERVED = 1
    """Reserved for a user; not available to anyone else."""
    WAITING_VEHICLE_CONNECTION = 2
    """A user is authorised; the vehicle is not plugged in yet."""
    WAITING_ALLOWED_CHARGE = 3
    """A vehicle is plugged in; the charge awaits authorisation (tag, remote start)."""
    WAITING_SCHEDULE = 4
    """Authorised; waiting for a scheduled start."""
    WAITING_POWER = 5
    """Authorised; waiting for power to be available (load management)."""
    STARTING = 6
    """The charge is starting."""
    RESUMING = 7
    """A paused charge is resuming."""
    CHARGING = 8
    """Energy flows to the vehicle."""
    PAUSING = 9
    """The charge is being paused."""
    PAUSED = 10
    """The charge is paused."""
    STOPPING = 11
    """The charge is being stopped."""
    WAITING_VEHICLE_DISCONNECTION = 12
    """The session is over; waiting for the vehicle to be unplugged."""


class CircontrolStopReason(IntEnum):
    """Why the last charge stopped, ``CHARGE_STOP_*`` (table 5.3; mapping [I])."""

    NONE = 0
    """Not stopped."""
    USER = 1
    """Stopped by the user (tag)."""
    SCHEDULER = 2
    """Stopped by a schedule."""
    CREDITS = 3
    """The user's credits ran out."""
    DISCONNECT = 4
    """The vehicle was unplugged."""
    REMOTE = 5
    """Stopped remotely (API, OCPP)."""
    TIMER = 6
    """A charge timer expired."""
    DISABLED = 7
    """The plug was disabled."""
    ERROR = 8
    """An error stopped the charge."""
    VEHICLE_COMMUNICATION = 9
    """Communication with the vehicle failed."""
    VEHICLE_OVERCURRENT = 10
    """The vehicle drew more current than offered."""


class CircontrolPlugError(IntFlag):
    """Plug error bitmask ``CHARGE_PLUG_ERR_*`` (table 5.2); 0 means no error."""

    CFG = 1 << 0
    """Configuration error."""
    MASTER = 1 << 1
    """Master device error."""
    BEACON = 1 << 2
    """LED beacon error."""
    LOCK = 1 << 3
    """Cable lock error."""
    SUPPLY = 1 << 4
    """Power supply error."""
    RCD = 1 << 5
    """Residual current device tripped."""
    CONTACTOR = 1 << 6
    """Contactor error."""
    METER = 1 << 7
    """Energy meter error."""
    EMERGENCY = 1 << 8
    """Emergency stop."""
    TEMPERATURE = 1 << 9
    """Temperature out of range."""
    EV_COMMUNICATION_DEVICE = 1 << 10
    """Mode 3 (pilot) controller error."""
    OTHER = 1 << 11
    """Other error."""


_PLUG_STATUS: Final[Mapping[CircontrolPlugState, ConnectorStatus | None]] = {
    CircontrolPlugState.NO_INIT: None,
    CircontrolPlugState.UNKNOWN: None,
    CircontrolPlugState.DISABLED: ConnectorStatus.UNAVAILABLE,
    CircontrolPlugState.ERROR: ConnectorStatus.FAULTED,
    CircontrolPlugState.AVAILABLE: ConnectorStatus.AVAILABLE,
    # Reserved and authorised-but-unplugged plugs are no longer free for a new user and
    # have no session yet: OCPP 1.6 calls that Preparing.
    CircontrolPlugState.RESERVED: ConnectorStatus.PREPARING,
    CircontrolPlugState.WAITING_VEHICLE_CONNECTION: ConnectorStatus.PREPARING,
    CircontrolPlugState.WAITING_ALLOWED_CHARGE: ConnectorStatus.PREPARING,
    CircontrolPlugState.WAITING_SCHEDULE: ConnectorStatus.SUSPENDED_EVSE,
    CircontrolPlugState.WAITING_POWER: ConnectorStatus.SUSPENDED_EVSE,
    CircontrolPlugState.STARTING: ConnectorStatus.PREPARING,
    CircontrolPlugState.RESUMING: ConnectorStatus.PREPARING,
    CircontrolPlugState.CHARGING: ConnectorStatus.CHARGING,
    CircontrolPlugState.PAUSING: ConnectorStatus.SUSPENDED_EVSE,
    CircontrolPlugState.PAUSED: ConnectorStatus.SUSPENDED_EVSE,
    CircontrolPlugState.STOPPING: ConnectorStatus.FINISHING,
    CircontrolPlugState.WAITING_VEHICLE_DISCONNECTION: ConnectorStatus.FINISHING,
}

# States in which a vehicle must be plugged in, used when EVSE.PLUG.CC is missing.
_CONNECTED_STATES: Final = frozenset(
    state
    for state in CircontrolPlugState
    if state >= CircontrolPlugState.WAITING_ALLOWED_CHARGE
)
_UNCONNECTED_STATES: Final = frozenset(
    {
        CircontrolPlugState.AVAILABLE,
        CircontrolPlugState.RESERVED,
        CircontrolPlugState.WAITING_VEHICLE_CONNECTION,
    }
)
# States that show a remote start was taken up.
_STARTED_STATES: Final = frozenset(
    {
        CircontrolPlugState.WAITING_SCHEDULE,
        CircontrolPlugState.WAITING_POWER,
        CircontrolPlugState.STARTING,
        CircontrolPlugState.RESUMING,
        CircontrolPlugState.CHARGING,
    }
)
# States a plug may still show just after it was put back in service.
_SETTLING_STATES: Final = frozenset(
    {
        CircontrolPlugState.NO_INIT,
        CircontrolPlugState.UNKNOWN,
        CircontrolPlugState.DISABLED,
    }
)
_RUNNING_STATES: Final = frozenset(
    {
        CircontrolPlugState.STARTING,
        CircontrolPlugState.RESUMING,
        CircontrolPlugState.CHARGING,
    }
)

type Values = Mapping[str, float | None]


def _number(text: str | None) -> float | None:
    """Parse a PowerStudio number such as ``1.000000``; None if absent or not finite."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _energy(text: str | None) -> float | None:
    """Parse an energy counter; a negative one cannot be true and is unknown."""
    value = _number(text)
    return value if value is not None and value >= 0 else None


def _integer(text: str | None) -> int | None:
    """Parse an integer that may be written with decimals (``5`` or ``5.000000``)."""
    value = _number(text)
    return None if value is None else int(value)


def _date(text: str | None) -> datetime | None:
    """Parse Unix seconds with milliseconds; ``-1`` (or any negative) means unset.

    Nothing depends on these dates, so one the box writes in another form (in
    milliseconds, or beyond the year 9999) is unknown rather than an error.
    """
    value = _number(text)
    if value is None or value < 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except OverflowError, OSError, ValueError:
        return None


def _flag(value: float | None) -> bool | None:
    """Turn ``1.000000``/``0.000000`` into a bool."""
    return None if value is None else value != 0


def _plug_state(code: int | None) -> CircontrolPlugState | None:
    """Return the known plug state for a code, or None for an unknown one."""
    if code is None:
        return None
    try:
        return CircontrolPlugState(code)
    except ValueError:
        return None


def _stop_reason(code: int | None) -> CircontrolStopReason | None:
    """Return the known stop reason for a code, or None for an unknown one."""
    if code is None:
        return None
    try:
        return CircontrolStopReason(code)
    except ValueError:
        return None


def _required(element: Element, name: str) -> str:
    """Return a child's text, or raise ChargerResponseError if it is missing."""
    text = child_text(element, name)
    if not text:
        msg = f"Element <{name}> is missing from <{element.tag}>"
        raise ChargerResponseError(msg)
    return text


def _plug_number(element: Element) -> int:
    """Return the plug ``number`` of a plug element."""
    number = _integer(_required(element, "number"))
    if number is None:
        msg = f"Plug number in <{element.tag}> is not a number"
        raise ChargerResponseError(msg)
    return number


def _default_prefix(number: int) -> str:
    """Variable prefix of a plug when the charger does not name it.

    ``EVSE.PLUG`` is [V] for plug 1; ``EVSE.PLUG<n>`` for further plugs is [I]: no
    multi-plug capture has been published. Normally the ``name`` field is used instead.
    """
    return "EVSE.PLUG" if number == 1 else f"EVSE.PLUG{number}"


def _default_mode3(number: int) -> str:
    """Mode 3 device of a plug when plugInfo does not name it.

    ``Plug - Mode 3`` is [V] for plug 1; ``Plug <n> - Mode 3`` is [I].
    """
    return "Plug - Mode 3" if number == 1 else f"Plug {number} - Mode 3"


@dataclass(frozen=True, slots=True, kw_only=True)
class CircontrolPlugInfo:
    """Static data of one plug, from ``plugInfo.xml`` (table 4.3)."""

    number: int
    id: str | None = None
    """Plug id: the main device GUID, a dot, the plug GUID."""
    name: str
    """The plug's variable prefix, such as ``EVSE.PLUG``."""
    supported_current_a: float | None = None
    ev_comm_device: str
    """The plug's Mode 3 device, such as ``Plug - Mode 3``."""
    meter: str | None = None
    charge_mode: int | None = None
    connector_type: str | None = None

    @classmethod
    def from_element(cls, element: Element) -> Self:
        """Build from a ``<plugInfo>`` element."""
        number = _plug_number(element)
        return cls(
            number=number,
            id=child_text(element, "id") or None,
            name=child_text(element, "name") or _default_prefix(number),
            supported_current_a=_number(child_text(element, "supportedCurrent")),
            ev_comm_device=child_text(element, "EVCommDevice")
            or _default_mode3(number),
            meter=child_text(element, "meter") or None,
            charge_mode=_integer(child_text(element, "chargeMode")),
            connector_type=child_text(element, "connectorType") or None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CircontrolChargeInfo:
    """Current or last charge of one plug, from ``chargeInfo.xml`` (table 4.1)."""

    number: int
    id: str | None = None
    name: str
    """The plug's variable prefix, such as ``EVSE.PLUG``."""
    charge_id: str | None = None
    state_code: int | None = None
    state: CircontrolPlugState | None = None
    """None when the code is unknown (see ``state_code``)."""
    user: str | None = None
    active_energy_wh: float | None = None
    """Lifetime energy of the plug's meter, Wh."""
    partial_active_energy_wh: float | None = None
    """Energy of the current or last session, Wh."""
    request_date: datetime | None = None
    begin_date: datetime | None = None
    end_date: datetime | None = None
    charge_time_s: int | None = None
    """Charging time of the session; None when the box reports -1."""
    stopped: CircontrolStopReason | None = None

    @classmethod
    def from_element(cls, element: Element) -> Self:
        """Build from a ``<chargeInfo>`` element."""
        number = _plug_number(element)
        state_code = _integer(child_text(element, "state"))
        charge_time = _integer(child_text(element, "chargeTime"))
        return cls(
            number=number,
            id=child_text(element, "id") or None,
            name=child_text(element, "name") or _default_prefix(number),
            charge_id=child_text(element, "chargeId") or None,
            state_code=state_code,
            state=_plug_state(state_code),
            user=child_text(element, "user") or None,
            active_energy_wh=_energy(child_text(element, "activeEnergy")),
            partial_active_energy_wh=_energy(
                child_text(element, "partialActiveEnergy")
            ),
            request_date=_date(child_text(element, "requestDate")),
            begin_date=_date(child_text(element, "beginDate")),
            end_date=_date(child_text(element, "endDate")),
            charge_time_s=None
            if charge_time is None or charge_time < 0
            else charge_time,
            stopped=_stop_reason(_integer(child_text(element, "stopped"))),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CircontrolForceVariables:
    """Body of a ``forceVariables.xml`` PUT: variables of one device, with values."""

    device: str
    """The device addressed by ``?id=``; only its own variables are forced [V]."""
    values: Mapping[str, int]

    def to_xml(self) -> bytes:
        """Return the request body."""
        force_vars = "".join(
            f"<forceVar><forceName>{escape(name)}</forceName>"
            f"<forceValue>{value}</forceValue></forceVar>"
            for name, value in self.values.items()
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f"<forceVariables>{force_vars}</forceVariables>"
        ).encode()


def _root(data: bytes, expected: str) -> Element:
    """Parse a document and check its root element's name (any case)."""
    try:
        root = parse_xml(data)
    except XmlError as err:
        raise ChargerResponseError(str(err)) from None
    if root.tag != expected.lower():
        msg = f"Expected <{expected}>, got <{root.tag}>"
        raise ChargerResponseError(msg)
    return root


def parse_plug_info(data: bytes) -> list[CircontrolPlugInfo]:
    """Parse ``plugInfo.xml``; raise ChargerResponseError if it is unusable."""
    root = _root(data, "plugsInfo")
    return [CircontrolPlugInfo.from_element(e) for e in root.iter("pluginfo")]


def parse_charge_info(data: bytes) -> list[CircontrolChargeInfo]:
    """Parse ``chargeInfo.xml``; raise ChargerResponseError if it is unusable."""
    root = _root(data, "chargesInfo")
    return [CircontrolChargeInfo.from_element(e) for e in root.iter("chargeinfo")]


def parse_values(data: bytes) -> dict[str, float | None]:
    """Parse ``values.xml`` into variable values.

    A variable the box does not report is absent from the result; one it reports
    without a finite number (``nan``, a string) maps to None.
    """
    values: dict[str, float | None] = {}
    for element in _root(data, "values").iter("variable"):
        if name := child_text(element, "id"):
            values[name] = _number(child_text(element, "value"))
    return values


def parse_identity(device_info: bytes, information: bytes | None) -> ChargerInfo:
    """Return the charger's identity from ``deviceInfo.xml`` and ``information.xml``.

    The serial number is ``serialNumber`` from ``deviceInfo.xml?id=EVSE`` when the
    firmware reports one; the published capture has none, so otherwise it is the
    ``mainDevice`` GUID of ``system/information.xml`` (also the first half of every
    plug id), which is stable for the box. ``information`` is None when the box did
    not serve that document: only its ``version`` (the firmware) is then unknown.
    """
    element = _root(device_info, "devicesInfo").find("deviceinfo")
    serial = child_text(element, "serialNumber") if element is not None else None
    info = None if information is None else _root(information, "systemInformation")
    if not serial and info is not None:
        serial = child_text(info, "mainDevice")
    if not serial:
        msg = "The charger reports neither a serial number nor a main device id"
        raise ChargerResponseError(msg)
    return ChargerInfo(
        serial_number=serial,
        manufacturer="Circontrol",
        model="CirCarLife",
        firmware_version=None if info is None else child_text(info, "version") or None,
    )


def _device_of(variable: str) -> str:
    """Return the device of ``DEVICE.VARIABLE``: the text before the first dot [V]."""
    return variable.split(".", 1)[0]


@dataclass(kw_only=True)
class CircontrolClient:
    """Asynchronous client for one CirCarLife charger.

    ``username``/``password``: the sample box needs no credentials, and the PowerStudio
    manual does not say which scheme a protected box uses; this client sends HTTP Basic
    auth when a username is given (our choice, [I]).

    After a command the client reads the variable back up to ``command_verify_attempts``
    times, ``command_verify_interval`` seconds apart, and raises
    :class:`ChargerCommandError` if the box did not apply it.
    """

    host: str
    port: int = 80
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    request_timeout: float = 10.0
    session: aiohttp.ClientSession | None = None
    command_verify_attempts: int = 3
    command_verify_interval: float = 1.0

    _http: HttpTransport = field(init=False, repr=False)
    _plugs: dict[int, CircontrolPlugInfo] | None = field(
        default=None, init=False, repr=False
    )

    def __post_init__(self) -> None:
        """Refuse a host or port that would change the URL's meaning."""
        self._http = HttpTransport(
            host=self.host,
            port=self.port,
            max_body_bytes=MAX_XML_BYTES,
            request_timeout=self.request_timeout,
            session=self.session,
        )
        self.host = self._http.host

    def _url(self, path: str, query: Iterable[tuple[str, str]]) -> URL:
        """Build an already-encoded URL; spaces become ``%20``, never ``+``."""
        query_string = "&".join(
            f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in query
        )
        text = f"{self._http.base_url}{path}"
        if query_string:
            text = f"{text}?{query_string}"
        # encoded=True stops yarl from re-quoting: the box's one URL quirk is too
        # important to leave to a library default.
        return URL(text, encoded=True)

    async def _request(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]] = (),
        *,
        data: bytes | None = None,
    ) -> bytes:
        """Send one request, serialised with every other, and return the body."""
        headers: dict[str, str] = {}
        if self.username:
            headers["Authorization"] = aiohttp.encode_basic_auth(
                self.username, self.password or ""
            )
        if data is not None:
            headers["Content-Type"] = "application/xml"
        status, body = await self._http.request(
            method, self._url(path, query), headers=headers, data=data
        )
        if status in {401, 403}:
            msg = f"The charger refused the credentials ({status})"
            raise ChargerAuthenticationError(msg, code=status)
        if not 200 <= status < 300:  # noqa: PLR2004
            msg = f"The charger answered {status} for {path}"
            raise ChargerResponseError(msg, code=status)
        return body if status != _HTTP_NO_CONTENT else b""

    async def close(self) -> None:
        """Close the session, if this client opened it."""
        await self._http.close()

    async def __aenter__(self) -> Self:
        """Enter ``async with``."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Leave ``async with``: close the session if this client opened it."""
        await self.close()

    # Reading

    async def get_plugs(self, *, refresh: bool = False) -> list[CircontrolPlugInfo]:
        """Return the plugs from ``plugInfo.xml``; read once, then cached."""
        if self._plugs is None or refresh:
            plugs = parse_plug_info(await self._request("GET", _PLUG_INFO_PATH))
            self._plugs = {plug.number: plug for plug in plugs}
        return list(self._plugs.values())

    async def _plug(self, number: int) -> CircontrolPlugInfo:
        """Return one plug's static data; raise ValueError if there is no such plug."""
        for plug in await self.get_plugs():
            if plug.number == number:
                return plug
        msg = f"The charger has no plug {number}"
        raise ValueError(msg)

    async def get_charge_info(self) -> list[CircontrolChargeInfo]:
        """Return every plug's current or last charge from ``chargeInfo.xml``."""
        return parse_charge_info(await self._request("GET", _CHARGE_INFO_PATH))

    async def get_values(self, variables: Sequence[str]) -> dict[str, float | None]:
        """Read variables with one ``values.xml`` request.

        A variable the box does not report is absent from the result; one it reports
        without a finite number (``nan``, a string) maps to None.
        """
        return parse_values(
            await self._request("GET", _VALUES_PATH, [("var", v) for v in variables])
        )

    async def get_info(self) -> ChargerInfo:
        """Return the charger's identity (two requests; call it once at set-up).

        See :func:`parse_identity`. Firmware that serves no ``information.xml``
        (an error status or an unusable document) still has an identity when
        ``deviceInfo.xml`` gives a serial number.
        """
        device_info = await self._request("GET", _DEVICE_INFO_PATH, [("id", "EVSE")])
        try:
            information = await self._request("GET", _INFORMATION_PATH)
            return parse_identity(device_info, information)
        except ChargerResponseError as err:
            if isinstance(err, ChargerAuthenticationError):
                raise
            # Without information.xml, identity needs deviceInfo's serial number.
            return parse_identity(device_info, None)

    @staticmethod
    def _state_variables(
        charge: CircontrolChargeInfo, plug: CircontrolPlugInfo
    ) -> list[str]:
        """Live variables read for one plug on every poll."""
        prefix = charge.name
        return [
            f"{prefix}.API",  # active power, W [I unit]
            f"{prefix}.AI",  # current, A [I]
            f"{prefix}.VI",  # voltage, V [V]
            f"{prefix}.CC",  # vehicle connected [V]
            f"{prefix}.ERROR",  # error bitmask [V name, I meaning]
            f"{prefix}.ENABLE",  # [V]
            f"{prefix}.CURRENT_REDUCTION",  # A [V value, I unit]
            f"{plug.ev_comm_device}.OUT_OF_SERVICE",  # [V]
        ]

    async def get_state(self) -> ChargerState:
        """Return a snapshot of every plug.

        Two requests per poll (three on the first, which also reads ``plugInfo.xml``):

        1. ``chargeInfo.xml``: state, lifetime and session energy in Wh and the session
           time, all [V] fields with known units;
        2. one ``values.xml`` with every live variable of every plug (power, current,
           voltage, vehicle connected, error, enable, current limit, out of service).

        A single ``values.xml`` could replace the first request only by using variables
        whose units and formats are unverified (``AEP``, ``TIME``), and
        ``deviceState.xml`` covers one device per call, so two is the fewest with
        verified data.
        """
        charges = await self.get_charge_info()
        plugs = {plug.number: plug for plug in await self.get_plugs()}
        if any(charge.number not in plugs for charge in charges):
            # The plugs changed since they were cached: read them again.
            plugs = {plug.number: plug for plug in await self.get_plugs(refresh=True)}
        pairs = [
            (
                charge,
                plugs.get(charge.number)
                or CircontrolPlugInfo(
                    number=charge.number,
                    name=charge.name,
                    ev_comm_device=_default_mode3(charge.number),
                ),
            )
            for charge in charges
        ]
        variables = [v for pair in pairs for v in self._state_variables(*pair)]
        values = await self.get_values(variables) if variables else {}
        return ChargerState(
            parts={
                f"plug{charge.number}": self._part(charge, plug, values)
                for charge, plug in pairs
            }
        )

    @staticmethod
    def _part(
        charge: CircontrolChargeInfo, plug: CircontrolPlugInfo, values: Values
    ) -> Part:
        """Map one plug to the vendor-neutral model."""
        prefix = charge.name
        state = charge.state
        error = values.get(f"{prefix}.ERROR")
        connected = _flag(values.get(f"{prefix}.CC"))
        if connected is None and state is not None:
            if state in _CONNECTED_STATES:
                connected = True
            elif state in _UNCONNECTED_STATES:
                connected = False
        out_of_service = _flag(values.get(f"{plug.ev_comm_device}.OUT_OF_SERVICE"))
        enable = _flag(values.get(f"{prefix}.ENABLE"))
        if out_of_service is None and enable is None:
            charging_enabled = None
        else:
            charging_enabled = out_of_service is not True and enable is not False
        problem: bool | None = None
        if state is not None or error is not None:
            problem = state is CircontrolPlugState.ERROR or bool(error)
        return Part(
            id=f"plug{charge.number}",
            number=charge.number,
            meter=MeterReading(
                energy_wh=charge.active_energy_wh,
                power_w=values.get(f"{prefix}.API"),
                current_a=(values.get(f"{prefix}.AI"), None, None),
                voltage_v=(values.get(f"{prefix}.VI"), None, None),
            ),
            connector=ConnectorState(
                vendor_status=state.name.lower() if state is not None else None,
                status=_PLUG_STATUS[state] if state is not None else None,
                vehicle_connected=connected,
                charging=None
                if state is None
                else state is CircontrolPlugState.CHARGING,
                problem=problem,
                current_limit_a=values.get(f"{prefix}.CURRENT_REDUCTION"),
                min_current_a=float(MIN_CURRENT_A),
                max_current_a=plug.supported_current_a,
                charging_enabled=charging_enabled,
                session_energy_wh=charge.partial_active_energy_wh,
                session_duration_s=charge.charge_time_s,
            ),
        )

    # Commands

    async def _force(self, variable: str, value: int) -> None:
        """Force one variable; the box answers 204 No Content [V]."""
        body = CircontrolForceVariables(
            device=_device_of(variable), values={variable: value}
        )
        _LOGGER.debug("Forcing %s = %s", variable, value)
        await self._request(
            "PUT", _FORCE_PATH, [("id", body.device)], data=body.to_xml()
        )

    async def _verify(
        self,
        description: str,
        variables: Sequence[str],
        applied: Callable[[Values], bool],
    ) -> None:
        """Read variables back until ``applied`` holds, else raise a command error."""
        for attempt in range(max(1, self.command_verify_attempts)):
            if attempt:
                await asyncio.sleep(self.command_verify_interval)
            if applied(await self.get_values(variables)):
                return
        msg = f"The charger accepted the command to {description} but did not apply it"
        raise ChargerCommandError(msg)

    async def set_charging_enabled(self, plug: int, enabled: bool) -> None:  # noqa: FBT001
        """Pause (out of service) or resume (back in service, then remote start).

        Pausing forces ``<Mode 3>.OUT_OF_SERVICE = 1`` [V], which ends the session
        (stop reason ``DISABLED`` in table 5.3 [V name]; that a real box ends rather
        than suspends it is assumed [I]). Resuming forces ``OUT_OF_SERVICE = 0`` [V]
        and then, as the published start script does [V], starts the charge with
        ``EVSE.PLUG.REMOTE_START = 1`` when a vehicle is connected and no charge is
        under way; otherwise the car would never charge again. The script waits
        ~5 s after enabling because the connected flag is unreliable while out of
        service [I]; this client instead polls ``STATE`` for up to
        :data:`IN_SERVICE_SETTLE_S` until the plug leaves ``DISABLED``, and takes a
        connected state (or ``CC``) from then on as a vehicle plugged in [I].

        Raises :class:`ChargerCommandError` if the box did not apply the service
        change, if the plug stays disabled (for example ``EVSE.PLUG.ENABLE = 0``), or
        if the remote start is not taken up.
        """
        info = await self._plug(plug)
        variable = f"{info.ev_comm_device}.OUT_OF_SERVICE"
        wanted = 0 if enabled else 1
        await self._force(variable, wanted)
        await self._verify(
            f"{'enable' if enabled else 'disable'} plug {plug}",
            [variable],
            lambda values: values.get(variable) == wanted,
        )
        if enabled:
            await self._resume(info)

    async def _resume(self, info: CircontrolPlugInfo) -> None:
        """Start the charge on a plug just put back in service, if a car waits."""
        state_var = f"{info.name}.STATE"
        connected_var = f"{info.name}.CC"
        interval = self.command_verify_interval
        attempts = max(
            self.command_verify_attempts,
            math.ceil(IN_SERVICE_SETTLE_S / interval) + 1 if interval > 0 else 1,
        )
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(interval)
            values = await self.get_values([connected_var, state_var])
            state = _plug_state(_integer_value(values.get(state_var)))
            if state not in _SETTLING_STATES:
                break
        else:
            msg = f"Plug {info.number} is back in service but still disabled"
            raise ChargerCommandError(msg)
        connected = _flag(values.get(connected_var)) or state in _CONNECTED_STATES
        # A faulted plug cannot start; its problem is reported, not this command's.
        if (
            not connected
            or state in _STARTED_STATES
            or state is CircontrolPlugState.ERROR
        ):
            return
        _LOGGER.debug("Plug %s is back in service: starting the charge", info.number)
        await self._force(f"{info.name}.REMOTE_START", 1)
        await self._verify(
            f"resume charging on plug {info.number}",
            [state_var],
            lambda values: (
                _plug_state(_integer_value(values.get(state_var))) in _STARTED_STATES
            ),
        )

    async def set_current_limit(self, plug: int, amps: int) -> None:
        """Set a plug's current limit in amperes (``EVSE.PLUG.CURRENT_REDUCTION``).

        The variable reads 32 on a 32 A plug, so it is taken as amperes [I]. Values
        below 6 A or above 63 A are refused before any request, values above the plug's
        ``supportedCurrent`` before any command, and so are fractions (the box takes
        whole amperes). 0 (pause) is not accepted: use :meth:`set_charging_enabled`
        to pause.
        """
        if isinstance(amps, bool) or not isinstance(amps, int):
            msg = f"Current limit must be a whole number of amperes, not {amps!r}"
            raise ValueError(msg)  # noqa: TRY004 - the value, not its type, is wrong
        if not MIN_CURRENT_A <= amps <= MAX_CURRENT_A:
            msg = f"Current limit must be between {MIN_CURRENT_A} and {MAX_CURRENT_A} A"
            raise ValueError(msg)
        info = await self._plug(plug)
        if info.supported_current_a is not None and amps > info.supported_current_a:
            msg = (
                f"Current limit must be between {MIN_CURRENT_A} and "
                f"{info.supported_current_a:g} A for plug {plug}"
            )
            raise ValueError(msg)
        variable = f"{info.name}.CURRENT_REDUCTION"
        await self._force(variable, amps)
        await self._verify(
            f"set the current limit of plug {plug} to {amps} A",
            [variable],
            lambda values: values.get(variable) == amps,
        )

    async def start_charging(self, plug: int) -> None:
        """Start charging remotely (``EVSE.PLUG.REMOTE_START = 1``) [V].

        Only when a vehicle is connected (``EVSE.PLUG.CC``), as the published script
        checks. Applied means the plug moved to a state in which a charge is under way
        or waiting for power or a schedule.
        """
        info = await self._plug(plug)
        state_var = f"{info.name}.STATE"
        connected_var = f"{info.name}.CC"
        before = await self.get_values([connected_var, state_var])
        if _plug_state(_integer_value(before.get(state_var))) in _RUNNING_STATES:
            return
        if not _flag(before.get(connected_var)):
            msg = f"Cannot start charging: no vehicle is connected to plug {plug}"
            raise ChargerCommandError(msg)
        await self._force(f"{info.name}.REMOTE_START", 1)
        await self._verify(
            f"start charging on plug {plug}",
            [state_var],
            lambda values: (
                _plug_state(_integer_value(values.get(state_var))) in _STARTED_STATES
            ),
        )

    async def stop_charging(self, plug: int) -> None:
        """Stop charging remotely (``EVSE.PLUG.REMOTE_STOP = 1``) [V name, I effect].

        Applied means the plug is no longer starting, resuming or charging.
        """
        info = await self._plug(plug)
        state_var = f"{info.name}.STATE"
        await self._force(f"{info.name}.REMOTE_STOP", 1)
        await self._verify(
            f"stop charging on plug {plug}",
            [state_var],
            lambda values: (
                state_var in values
                and _plug_state(_integer_value(values.get(state_var)))
                not in _RUNNING_STATES
            ),
        )


def _integer_value(value: float | None) -> int | None:
    """Return a float variable as an int, or None."""
    return None if value is None else int(value)
