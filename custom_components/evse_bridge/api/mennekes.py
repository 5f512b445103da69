"""Mennekes AMTRON Xtra/Premium: the local "MHCP" JSON-over-HTTP API.

The wallbox (HCC3 controller with the network option) answers plain HTTP on
port 25000 under ``/MHCP/1.0``. Every request carries the app PIN as the query
parameter ``DevKey``; because that puts a secret into every URL, this module
never lets a URL or an HTTP library's error text reach an exception message or
a log line.

Polling design: ``GET /ChargeData`` carries everything that changes during a
session (state, power, session energy and duration, current set-points), while
``GET /DevInfo`` carries identity and configuration (operating mode, auto
start, error code, box limit). The box dislikes being polled fast, so a caller
polls :meth:`MennekesClient.get_state` every cycle (one request) and passes the
:class:`MennekesDevInfo` it last read with :meth:`MennekesClient.get_dev_info`,
which it refreshes far less often. :func:`build_charger_state` is the pure
function that joins the two.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import json
import logging
import math
import re
from types import TracebackType
from typing import Final, Self
from urllib.parse import quote

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

__all__ = [
    "DEFAULT_PORT",
    "MANUFACTURER",
    "MAX_CURRENT_A",
    "PART_ID",
    "MennekesChargeData",
    "MennekesChgCommand",
    "MennekesChgState",
    "MennekesClient",
    "MennekesDevInfo",
    "MennekesDevMode",
    "build_charger_info",
    "build_charger_state",
    "parse_charge_data",
    "parse_dev_info",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 25000
MANUFACTURER: Final = "MENNEKES"
PART_ID: Final = "connector1"
MAX_CURRENT_A: Final = 32
"""Highest current of any AMTRON (22 kW); a caller may pass a lower box limit."""
_BASE_PATH: Final = "/MHCP/1.0"
_START_UID: Final = "00000000"
"""The Uid the box needs with ``ChgState: Start``."""
_SECRET_PARAMETER = re.compile(r"((?:DevKey|Pin)=)[^&#\s'\"]*", re.IGNORECASE)
_REDACTED: Final = "**REDACTED**"
# Every answer of the box is well under 2 KiB; this leaves room for firmware
# that adds fields, and refuses a body that is no answer of the box.
MAX_BODY_BYTES: Final = 64 * 1024
# The box's serial number is ten digits; a longer one is no serial number.
_MAX_SERIAL_LENGTH: Final = 64
# Unknown ChgState/DevMode values remembered, so each is logged once; after
# that no more are logged, however many a broken box invents.
_MAX_UNKNOWN_VALUES: Final = 16
# How much of a value the box sent a log line shows.
_MAX_LOGGED_CHARS: Final = 64


class MennekesChgState(StrEnum):
    """Charging state as read from ``ChgState`` (Modbus "AMTRON state" 0-6)."""

    IDLE = "Idle"
    """No vehicle, nothing to do."""
    STANDBY_AUTHORIZE = "StandbyAuthorize"
    """Vehicle plugged in, waiting for authorisation (RFID, app or auto start)."""
    STANDBY_CONNECT = "StandbyConnect"
    """Authorised, waiting for the vehicle to connect or to draw current."""
    CHARGING = "Charging"
    """A session is running and the box offers current."""
    PAUSED = "Paused"
    """The session is paused, by command, schedule or energy manager."""
    TERMINATED = "Terminated"
    """The session has ended; the vehicle may still be plugged in."""
    ERROR = "Error"
    """The box reports an error (see ``DevInfo.Err``)."""


class MennekesDevMode(StrEnum):
    """Operating mode (``DevMode``)."""

    REMOTE = "Remote"
    """App control: the box charges with ``RemoteCurr``."""
    HOME_MANAGER = "HomeManager"
    """Energy manager ("solar") mode, driven by the box's own energy manager."""
    TIME = "Time"
    """Time control: the tariff schedule T1/T2 sets the current."""


class MennekesChgCommand(StrEnum):
    """Charge command sent as ``ChgState`` in ``POST /ChargeData``."""

    START = "Start"
    """Authorise and start a session (with Uid ``00000000``)."""
    PAUSE = "Pause"
    """Pause the running session."""
    CONTINUE = "Continue"
    """Resume a paused session."""
    TERMINATE = "Terminate"
    """End the session."""


_VENDOR_STATUS: Final[dict[MennekesChgState, str]] = {
    MennekesChgState.IDLE: "idle",
    MennekesChgState.STANDBY_AUTHORIZE: "standby_authorize",
    MennekesChgState.STANDBY_CONNECT: "standby_connect",
    MennekesChgState.CHARGING: "charging",
    MennekesChgState.PAUSED: "paused",
    MennekesChgState.TERMINATED: "terminated",
    MennekesChgState.ERROR: "error",
}
_CONNECTOR_STATUS: Final[dict[MennekesChgState, ConnectorStatus]] = {
    MennekesChgState.IDLE: ConnectorStatus.AVAILABLE,
    MennekesChgState.STANDBY_AUTHORIZE: ConnectorStatus.PREPARING,
    MennekesChgState.STANDBY_CONNECT: ConnectorStatus.PREPARING,
    MennekesChgState.CHARGING: ConnectorStatus.CHARGING,
    MennekesChgState.PAUSED: ConnectorStatus.SUSPENDED_EVSE,
    MennekesChgState.TERMINATED: ConnectorStatus.FINISHING,
    MennekesChgState.ERROR: ConnectorStatus.FAULTED,
}
_VEHICLE_CONNECTED: Final[dict[MennekesChgState, bool | None]] = {
    MennekesChgState.IDLE: False,
    MennekesChgState.STANDBY_AUTHORIZE: True,
    MennekesChgState.STANDBY_CONNECT: True,
    MennekesChgState.CHARGING: True,
    MennekesChgState.PAUSED: True,
    MennekesChgState.TERMINATED: True,
    MennekesChgState.ERROR: None,
}
_OPERATING_MODE: Final[dict[MennekesDevMode, str]] = {
    MennekesDevMode.REMOTE: "remote",
    MennekesDevMode.HOME_MANAGER: "home_manager",
    MennekesDevMode.TIME: "time",
}
# States that show a charge command took effect (documented on the methods).
_AFTER_COMMAND: Final[dict[MennekesChgCommand, frozenset[MennekesChgState]]] = {
    MennekesChgCommand.PAUSE: frozenset(
        {MennekesChgState.PAUSED, MennekesChgState.TERMINATED, MennekesChgState.IDLE}
    ),
    # Resumed: charging, or ready and waiting for the vehicle to draw current.
    # A box that stays Terminated, Idle or in Error did not resume.
    MennekesChgCommand.CONTINUE: frozenset(
        {MennekesChgState.CHARGING, MennekesChgState.STANDBY_CONNECT}
    ),
    MennekesChgCommand.TERMINATE: frozenset(
        {MennekesChgState.TERMINATED, MennekesChgState.IDLE}
    ),
    MennekesChgCommand.START: frozenset(MennekesChgState)
    - {MennekesChgState.IDLE, MennekesChgState.TERMINATED, MennekesChgState.ERROR},
}


def _redact(text: str) -> str:
    """Return text with every ``DevKey=``/``Pin=`` value replaced."""
    return _SECRET_PARAMETER.sub(rf"\1{_REDACTED}", text)


def _for_log(value: str) -> str:
    """Return a value the box sent as a bounded, escaped text for a log line."""
    if len(value) > _MAX_LOGGED_CHARS:
        return f"{value[:_MAX_LOGGED_CHARS]!r}..."
    return repr(value)


def decode_json_object(body: bytes) -> dict[str, object]:
    """Decode a body to a JSON object; raise ChargerResponseError otherwise."""
    if len(body) > MAX_BODY_BYTES:
        msg = f"Response of {len(body)} bytes is too large"
        raise ChargerResponseError(msg)
    try:
        payload = json.loads(body)
    except ValueError, RecursionError:
        # ValueError covers invalid JSON and text, and integers too long to
        # convert; RecursionError arrays or objects nested too deep.
        msg = "Invalid JSON"
        raise ChargerResponseError(msg) from None
    if not isinstance(payload, dict):
        msg = "No JSON object"
        raise ChargerResponseError(msg)
    return payload


# --- Parsing -----------------------------------------------------------------


def _present(data: Mapping[str, object], key: str) -> object:
    """Return a required field's value; a missing or null field is an error."""
    value = data.get(key)
    if value is None:
        msg = f"Field {key} is missing"
        raise ChargerResponseError(msg)
    return value


def _as_number(key: str, value: object) -> float:
    msg = f"Field {key} is not a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChargerResponseError(msg)
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise ChargerResponseError(msg) from None
    if not math.isfinite(number):
        raise ChargerResponseError(msg)
    return number


def _as_integer(key: str, value: object) -> int:
    number = _as_number(key, value)
    if not number.is_integer():
        msg = f"Field {key} is not a whole number"
        raise ChargerResponseError(msg)
    return int(number)


def _as_boolean(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        msg = f"Field {key} is not a boolean"
        raise ChargerResponseError(msg)
    return value


def _as_string(key: str, value: object) -> str:
    if not isinstance(value, str):
        msg = f"Field {key} is not a string"
        raise ChargerResponseError(msg)
    return value


def _optional[T](
    data: Mapping[str, object], key: str, convert: Callable[[str, object], T]
) -> T | None:
    """Return an optional field converted; absent or null is None."""
    value = data.get(key)
    return None if value is None else convert(key, value)


def _chg_state(raw: str | None) -> MennekesChgState | None:
    """Return the state; an unknown state string is None, not an error."""
    if raw is None or raw not in MennekesChgState:
        return None
    return MennekesChgState(raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class MennekesChargeData:
    """The fields of ``GET /ChargeData`` this library uses."""

    chg_state: MennekesChgState | None
    """Charging state; None for a state this library does not know."""
    chg_state_raw: str
    """``ChgState`` exactly as sent."""
    session_energy_wh: float
    """``ChgNrg``: energy of the current or last session."""
    session_duration_s: float
    """``ChgDuration``; the unit is inferred to be seconds from a sample."""
    power_w: float
    """``ActPwr``: charging power."""
    offered_current_a: float
    """``ActCurr``: current the box offers now, a set-point, not a measurement."""
    remote_current_a: float
    """``RemoteCurr``: current used in Remote (app control) mode."""
    tariff: str | None = None
    """``Tariff``: active tariff, such as ``T1``."""
    excess_energy_only: bool | None = None
    """``ExcessNrg``: energy manager charges from surplus only."""
    hccp: str | None = None
    """``HCCP``: probably the control pilot state code (``A11``...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MennekesDevInfo:
    """The fields of ``GET /DevInfo`` this library uses."""

    serial_number: str
    """``Sn``, sent as a number, kept as text."""
    dev_mode: MennekesDevMode | None
    """Operating mode; None for a mode this library does not know."""
    dev_mode_raw: str
    """``DevMode`` exactly as sent."""
    auto_start: bool
    """``AutoChg``: a session starts by itself when a vehicle is plugged in."""
    error_code: int
    """``Err``: HCC3 error code, 0 = no error."""
    name: str | None = None
    """``DevName``: the name the owner gave the box."""
    item_number: str | None = None
    """``ItemNo``: Mennekes article number."""
    firmware: str | None = None
    """``Hcc3``: main controller firmware, such as ``HCC3 V1.13``."""
    hmi: str | None = None
    """``Hmi``: HMI board information."""
    wifi: str | None = None
    """``Wifi``: WiFi module firmware."""
    chg_state: MennekesChgState | None = None
    """``ChgState`` as reported with the device information."""
    resume_after_power_loss: bool | None = None
    """``ChgContinue``."""
    phases: int | None = None
    """``Phases``: connected phases, 1 or 3."""
    max_current_a: float | None = None
    """``MaxCurr``: currently set maximum current per phase (0 seen)."""
    max_power_w: float | None = None
    """``MaxPwr``: currently set maximum power (0 seen)."""
    box_max_current_a: float | None = None
    """``MaxCurrWb``: upper current limit of the box; 0 on some boxes."""


def parse_charge_data(data: Mapping[str, object]) -> MennekesChargeData:
    """Parse a ``GET /ChargeData`` object; raise ChargerResponseError if unusable."""
    raw_state = _as_string("ChgState", _present(data, "ChgState"))
    return MennekesChargeData(
        chg_state=_chg_state(raw_state),
        chg_state_raw=raw_state,
        session_energy_wh=_as_number("ChgNrg", _present(data, "ChgNrg")),
        session_duration_s=_as_number("ChgDuration", _present(data, "ChgDuration")),
        power_w=_as_number("ActPwr", _present(data, "ActPwr")),
        offered_current_a=_as_number("ActCurr", _present(data, "ActCurr")),
        remote_current_a=_as_number("RemoteCurr", _present(data, "RemoteCurr")),
        tariff=_optional(data, "Tariff", _as_string),
        excess_energy_only=_optional(data, "ExcessNrg", _as_boolean),
        hccp=_optional(data, "HCCP", _as_string),
    )


def _as_serial(key: str, value: object) -> str:
    """Return a serial number sent as a number or a string, as printable text."""
    msg = f"Field {key} is not a serial number"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ChargerResponseError(msg)
    if isinstance(value, int) and not 0 <= value < 10**_MAX_SERIAL_LENGTH:
        raise ChargerResponseError(msg)
    serial = str(value).strip()
    if not serial or len(serial) > _MAX_SERIAL_LENGTH or not serial.isprintable():
        raise ChargerResponseError(msg)
    return serial


def parse_dev_info(data: Mapping[str, object]) -> MennekesDevInfo:
    """Parse a ``GET /DevInfo`` object; raise ChargerResponseError if unusable."""
    raw_mode = _as_string("DevMode", _present(data, "DevMode"))
    return MennekesDevInfo(
        serial_number=_as_serial("Sn", _present(data, "Sn")),
        dev_mode=MennekesDevMode(raw_mode) if raw_mode in MennekesDevMode else None,
        dev_mode_raw=raw_mode,
        auto_start=_as_boolean("AutoChg", _present(data, "AutoChg")),
        error_code=_as_integer("Err", _present(data, "Err")),
        name=_optional(data, "DevName", _as_string),
        item_number=_optional(data, "ItemNo", _as_string),
        firmware=_optional(data, "Hcc3", _as_string),
        hmi=_optional(data, "Hmi", _as_string),
        wifi=_optional(data, "Wifi", _as_string),
        chg_state=_chg_state(_optional(data, "ChgState", _as_string)),
        resume_after_power_loss=_optional(data, "ChgContinue", _as_boolean),
        phases=_optional(data, "Phases", _as_integer),
        max_current_a=_optional(data, "MaxCurr", _as_number),
        max_power_w=_optional(data, "MaxPwr", _as_number),
        box_max_current_a=_optional(data, "MaxCurrWb", _as_number),
    )


def build_charger_info(dev_info: MennekesDevInfo) -> ChargerInfo:
    """Return the vendor-neutral identity of the box."""
    return ChargerInfo(
        serial_number=dev_info.serial_number,
        manufacturer=MANUFACTURER,
        model=f"AMTRON {dev_info.item_number}" if dev_info.item_number else "AMTRON",
        firmware_version=dev_info.firmware,
    )


def _problem(
    state: MennekesChgState | None, dev_info: MennekesDevInfo | None
) -> bool | None:
    error_code_set = None if dev_info is None else dev_info.error_code != 0
    if state is MennekesChgState.ERROR or error_code_set:
        return True
    if state is None or error_code_set is None:
        return None
    return False


def build_charger_state(
    charge_data: MennekesChargeData, dev_info: MennekesDevInfo | None = None
) -> ChargerState:
    """Join the latest ChargeData and (older) DevInfo into one snapshot.

    Without ``dev_info``, the values only DevInfo carries (operating mode, auto
    start, box limit, error code) are None. The box reports session energy
    only, so the meter has no lifetime ``energy_wh``.
    """
    state = charge_data.chg_state
    max_current = dev_info.box_max_current_a if dev_info is not None else None
    connector = ConnectorState(
        vendor_status=None if state is None else _VENDOR_STATUS[state],
        status=None if state is None else _CONNECTOR_STATUS[state],
        vehicle_connected=None if state is None else _VEHICLE_CONNECTED[state],
        charging=None if state is None else state is MennekesChgState.CHARGING,
        problem=_problem(state, dev_info),
        offered_current_a=charge_data.offered_current_a,
        # RemoteCurr 0 (seen on an idle box) means no limit was ever set.
        current_limit_a=charge_data.remote_current_a or None,
        min_current_a=MIN_CURRENT_A,
        max_current_a=max_current or None,
        charging_enabled=None
        if state is None
        else state not in {MennekesChgState.PAUSED, MennekesChgState.TERMINATED},
        session_energy_wh=charge_data.session_energy_wh,
        session_duration_s=charge_data.session_duration_s,
        operating_mode=None
        if dev_info is None or dev_info.dev_mode is None
        else _OPERATING_MODE[dev_info.dev_mode],
        auto_start=None if dev_info is None else dev_info.auto_start,
    )
    part = Part(
        id=PART_ID,
        number=1,
        meter=MeterReading(energy_wh=None, power_w=charge_data.power_w),
        connector=connector,
    )
    return ChargerState(parts={PART_ID: part})


# --- Request bodies ------------------------------------------------------------


type _JsonBody = dict[str, str | int | bool | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class _ChargeDataCommand:
    """Body of ``POST /ChargeData``; every key is sent, unchanged ones as null."""

    permanent: bool
    remote_current: int | None = None
    auto_start: bool | None = None
    chg_state: MennekesChgCommand | None = None
    uid: str | None = None

    def to_json(self) -> _JsonBody:
        return {
            "Permanent": self.permanent,
            "RemoteCurr": self.remote_current,
            "AutoChg": self.auto_start,
            "ChgState": None if self.chg_state is None else self.chg_state.value,
            "Uid": self.uid,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class _DevInfoCommand:
    """Body of ``POST /DevInfo``; every key is sent, unchanged ones as null."""

    dev_mode: MennekesDevMode | None = None

    def to_json(self) -> _JsonBody:
        return {
            "DevName": None,
            "LocTime": None,
            "Summer": None,
            "Tz": None,
            "FixedVehCosts": None,
            "OldVehCosts": None,
            "Battery": None,
            "DevMode": None if self.dev_mode is None else self.dev_mode.value,
        }


# --- Client --------------------------------------------------------------------


@dataclass(kw_only=True)
class MennekesClient:
    """Client for one AMTRON Xtra/Premium box.

    Requests are serialised (never two at once) and spaced at least
    ``request_interval`` seconds apart, because the box dislikes being
    stressed. Every command is verified by reading back: after a POST the
    client reads up to ``verify_attempts`` times, ``verify_interval`` seconds
    apart, and raises ChargerCommandError if the change never shows.
    """

    host: str
    dev_key: str = field(repr=False)
    port: int = DEFAULT_PORT
    request_timeout: float = 10.0
    request_interval: float = 0.5
    verify_attempts: int = 3
    verify_interval: float = 1.0
    session: aiohttp.ClientSession | None = field(default=None, repr=False)

    _http: HttpTransport = field(init=False, repr=False)
    _unknown_values: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        """Refuse a host that would change the URL beyond its host part."""
        self._http = HttpTransport(
            host=self.host,
            port=self.port,
            max_body_bytes=MAX_BODY_BYTES,
            request_timeout=self.request_timeout,
            request_interval=self.request_interval,
            session=self.session,
            redact=self._without_secret,
        )
        self.host = self._http.host

    def _url(self, endpoint: str) -> URL:
        """Return the URL of an endpoint, DevKey included (never log it)."""
        return URL.build(
            scheme="http",
            host=self.host,
            port=self.port,
            path=f"{_BASE_PATH}/{endpoint}",
            query={"DevKey": self.dev_key},
        )

    def _without_secret(self, text: str) -> str:
        """Return text with the DevKey removed, however a URL spelt it."""
        in_query = self._url("").raw_query_string.partition("=")[2]
        # An empty spelling would "match" between every two characters.
        for spelling in {self.dev_key, quote(self.dev_key, safe=""), in_query} - {""}:
            text = text.replace(spelling, _REDACTED)
        return _redact(text)

    async def _request(
        self, method: str, endpoint: str, body: _JsonBody | None = None
    ) -> bytes:
        """Send one request; return the body of a successful answer.

        Redirects are not followed: the box sends none, and following one
        would carry the DevKey to wherever it points.
        """
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = json.dumps(body).encode()
        status, content = await self._http.request(
            method, self._url(endpoint), headers=headers, data=data
        )
        self._check_status(method, endpoint, status)
        return content

    def _check_status(self, method: str, endpoint: str, status: int) -> None:
        if status in {401, 403}:
            msg = (
                f"{self.host} refused the DevKey (HTTP {status} on {method} {endpoint})"
            )
            raise ChargerAuthenticationError(msg, code=status)
        if status != 200:  # noqa: PLR2004 - the box answers 200 on success, nothing else
            hint = " (wrong DevKey or invalid value)" if status == 400 else ""  # noqa: PLR2004
            msg = f"{self.host} answered HTTP {status} on {method} {endpoint}{hint}"
            raise ChargerResponseError(msg, code=status)

    async def _get(self, endpoint: str) -> dict[str, object]:
        body = await self._request("GET", endpoint)
        try:
            return decode_json_object(body)
        except ChargerResponseError as err:
            msg = f"{self.host} sent an unusable answer for {endpoint}: {err}"
            raise ChargerResponseError(msg) from None

    # --- Reads ---------------------------------------------------------------

    async def get_dev_info(self) -> MennekesDevInfo:
        """Read ``GET /DevInfo``: identity, mode, auto start, error code, limits.

        Poll this rarely (minutes); pass the result to :meth:`get_state`.
        """
        dev_info = parse_dev_info(await self._get("DevInfo"))
        if dev_info.dev_mode is None:
            self._note_unknown("DevMode", dev_info.dev_mode_raw)
        return dev_info

    async def get_charge_data(self) -> MennekesChargeData:
        """Read ``GET /ChargeData``: the live session (one request)."""
        charge_data = parse_charge_data(await self._get("ChargeData"))
        if charge_data.chg_state is None:
            self._note_unknown("ChgState", charge_data.chg_state_raw)
        return charge_data

    async def get_info(self) -> ChargerInfo:
        """Read the identity of the box (one ``GET /DevInfo``)."""
        return build_charger_info(await self.get_dev_info())

    async def get_state(
        self, *, dev_info: MennekesDevInfo | None = None
    ) -> ChargerState:
        """Read the live state with exactly one request (``GET /ChargeData``).

        Pass the last result of :meth:`get_dev_info` to fill in what only
        DevInfo carries; without it those values are None.
        """
        return build_charger_state(await self.get_charge_data(), dev_info)

    def _note_unknown(self, field_name: str, value: str) -> None:
        """Warn once per unknown value, so a new firmware state is noticed.

        At most _MAX_UNKNOWN_VALUES are remembered (and logged).
        """
        key = f"{field_name}={value[:_MAX_LOGGED_CHARS]}"
        if (
            key not in self._unknown_values
            and len(self._unknown_values) < _MAX_UNKNOWN_VALUES
        ):
            self._unknown_values.add(key)
            _LOGGER.warning(
                "%s sent an unknown %s %s; please report it",
                self.host,
                field_name,
                _for_log(value),
            )

    # --- Commands ------------------------------------------------------------

    async def _verify[T](
        self, read: Callable[[], Awaitable[T]], applied: Callable[[T], bool], what: str
    ) -> T:
        """Read back until the change shows, or raise ChargerCommandError."""
        for attempt in range(max(self.verify_attempts, 1)):
            if attempt:
                await asyncio.sleep(self.verify_interval)
            result = await read()
            if applied(result):
                return result
        msg = f"{self.host} accepted {what} but did not apply it"
        raise ChargerCommandError(msg)

    async def _charge_command(self, command: MennekesChgCommand) -> MennekesChargeData:
        body = _ChargeDataCommand(
            permanent=False,
            chg_state=command,
            uid=_START_UID if command is MennekesChgCommand.START else None,
        )
        await self._request("POST", "ChargeData", body.to_json())
        expected = _AFTER_COMMAND[command]
        return await self._verify(
            self.get_charge_data,
            lambda data: data.chg_state in expected,
            f"the {command.value} command",
        )

    async def set_current_limit(
        self, amps: int, *, permanent: bool = False, max_amps: int = MAX_CURRENT_A
    ) -> MennekesChargeData:
        """Set ``RemoteCurr``, the current per phase used in Remote mode.

        ``permanent=False`` avoids flash wear for frequent changes. Values
        below 6 A or above ``max_amps`` (pass the box limit when known), and
        fractions (the box takes whole amperes), raise ValueError before any
        request. Return the ChargeData read back.
        """
        if (
            isinstance(amps, bool)
            or not isinstance(amps, int)
            or not MIN_CURRENT_A <= amps <= max_amps
        ):
            msg = f"Current limit must be {MIN_CURRENT_A}-{max_amps} A, not {amps}"
            raise ValueError(msg)
        body = _ChargeDataCommand(permanent=permanent, remote_current=amps)
        await self._request("POST", "ChargeData", body.to_json())
        return await self._verify(
            self.get_charge_data,
            lambda data: data.remote_current_a == amps,
            f"a current limit of {amps} A",
        )

    async def pause(self) -> MennekesChargeData:
        """Pause the session; verified when the state is Paused, Terminated or Idle.

        Terminated and Idle count as success: no energy flows and nothing
        starts by itself.
        """
        return await self._charge_command(MennekesChgCommand.PAUSE)

    async def resume(self) -> MennekesChargeData:
        """Resume a paused session (``Continue``).

        Verified when the box charges, or waits for the vehicle to draw current
        (StandbyConnect); any other state, a Terminated session included, means
        it did not resume.
        """
        return await self._charge_command(MennekesChgCommand.CONTINUE)

    async def start(self) -> MennekesChargeData:
        """Start a session (``Start`` with Uid ``00000000``).

        Verified when the state is known and neither Idle, Terminated nor
        Error: Start without a vehicle leaves the box waiting (Standby).
        """
        return await self._charge_command(MennekesChgCommand.START)

    async def stop(self) -> MennekesChargeData:
        """End the session (``Terminate``); verified when Terminated or Idle."""
        return await self._charge_command(MennekesChgCommand.TERMINATE)

    async def set_auto_start(self, enabled: bool) -> MennekesDevInfo:  # noqa: FBT001
        """Set ``AutoChg`` persistently; verified through ``GET /DevInfo``."""
        body = _ChargeDataCommand(permanent=True, auto_start=enabled)
        await self._request("POST", "ChargeData", body.to_json())
        return await self._verify(
            self.get_dev_info,
            lambda info: info.auto_start is enabled,
            "the auto start setting",
        )

    async def set_operating_mode(self, mode: MennekesDevMode) -> MennekesDevInfo:
        """Set ``DevMode`` through ``POST /DevInfo``; verified by reading it back."""
        await self._request("POST", "DevInfo", _DevInfoCommand(dev_mode=mode).to_json())
        return await self._verify(
            self.get_dev_info,
            lambda info: info.dev_mode is mode,
            f"operating mode {mode.value}",
        )

    # --- Life cycle ----------------------------------------------------------

    async def close(self) -> None:
        """Close the HTTP session if this client created it."""
        await self._http.close()

    async def __aenter__(self) -> Self:
        """Return the client for ``async with``."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the session this client created."""
        await self.close()
