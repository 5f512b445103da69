"""CTEK Chargestorm control: the CCU's Modbus TCP automation API.

With ``Automation/ModbusTCPEnable`` on, the CCU serves holding registers on
port 502 (CSOS 4.9.0 or newer for the writable charging limit). The unit id
selects the EVSE (1 = EVSE1, 2 = EVSE2). API v1 keeps its registers at 0x1xxx,
API v2 the same layout at 0x2xxx. pymodbus does the framing; this module adds
what chargers in the field need:

* every request runs under ``request_timeout``; on a time-out the connection is
  torn down and the next call connects afresh, because CCUs have kept a socket
  open and never answered on it again;
* one request at a time on the connection, and one command at a time;
* the only register written is the charging limit, with whole amperes in the
  range the charger accepts, and every write is read back;
* the limit is volatile (a CCU restart forgets it):
  :meth:`CtekModbusClient.restore_limit` writes the last one set again.

Register values of all ones (0xFFFF, 0xFFFFFFFF), which meters send for "not
available", are read as None.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
import logging
import time
from types import TracebackType
from typing import Final, Self

from pymodbus import ModbusException
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU

from .errors import (
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    ChargerResponseError,
    ChargerTimeoutError,
)
from .model import MIN_CURRENT_A, MeterReading, Phases

__all__ = [
    "DEFAULT_PORT",
    "MAX_CURRENT_A",
    "CtekModbusApi",
    "CtekModbusClient",
    "CtekModbusCommandError",
    "CtekModbusConnectionError",
    "CtekModbusError",
    "CtekModbusIdentity",
    "CtekModbusLimit",
    "CtekModbusLimitWrite",
    "CtekModbusProbe",
    "CtekModbusProbeResult",
    "CtekModbusResponseError",
    "CtekModbusTimeoutError",
    "parse_identity",
    "parse_limit",
    "parse_meter",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 502
MAX_CURRENT_A: Final = 32
"""Rating of the largest Chargestorm outlet (22 kW): no write goes above it,
whatever the maximum assignment register says."""
MAX_UNIT_ID: Final = 247
"""Highest unit id Modbus allows (0 is broadcast)."""
_PYMODBUS_TIMEOUT_FACTOR: Final = 2
"""pymodbus times requests out itself and logs an error each time; its limit is
set beyond ours so that ours, which also tears the connection down, fires first."""

# Register offsets from the API's base address, and how many to read at once.
_IDENTITY: Final = 0x000  # API version, API status, meter type, serial (6)
_IDENTITY_COUNT: Final = 9
_METER: Final = 0x100  # energy (u32), current L1-L3, voltage L1-L3, power
_METER_COUNT: Final = 9
_LIMIT: Final = 0x200  # charging limit (read/write), maximum assignment
_LIMIT_COUNT: Final = 2
_NOT_AVAILABLE_U16: Final = 0xFFFF
_NOT_AVAILABLE_U32: Final = 0xFFFF_FFFF

# Modbus exception codes (the standard's numbers).
_ILLEGAL_FUNCTION: Final = 0x01
_ILLEGAL_ADDRESS: Final = 0x02
_ILLEGAL_VALUE: Final = 0x03
_DEVICE_BUSY: Final = 0x06
_GATEWAY_PATH_UNAVAILABLE: Final = 0x0A
_GATEWAY_NO_RESPONSE: Final = 0x0B
_NO_SUCH_UNIT: Final = frozenset(
    {_ILLEGAL_ADDRESS, _GATEWAY_PATH_UNAVAILABLE, _GATEWAY_NO_RESPONSE}
)


class CtekModbusError(ChargerError):
    """Base class for every error of this module."""


class CtekModbusConnectionError(CtekModbusError, ChargerConnectionError):
    """The charger could not be reached, or the connection broke."""


class CtekModbusTimeoutError(CtekModbusConnectionError, ChargerTimeoutError):
    """The charger did not answer in time; the connection was torn down."""


class CtekModbusResponseError(CtekModbusError, ChargerResponseError):
    """The charger answered with a Modbus exception or an unusable answer."""

    def __init__(self, message: str, *, exception_code: int | None = None) -> None:
        """Keep the Modbus exception code, if the error came with one."""
        super().__init__(message, code=exception_code)
        self.exception_code = exception_code


class CtekModbusCommandError(CtekModbusResponseError, ChargerCommandError):
    """The charger accepted a write, but reading back shows no effect."""


class CtekModbusApi(IntEnum):
    """Automation API version (``modbus_tcp_automation_api_version``)."""

    V1 = 1
    """Registers at 0x1000-0x1201."""
    V2 = 2
    """The same registers at 0x2000-0x2201."""

    @property
    def base(self) -> int:
        """Return the address of the API's first register."""
        return 0x1000 * self.value


class CtekModbusProbeResult(StrEnum):
    """What :meth:`CtekModbusClient.probe` found."""

    OK = "ok"
    """The unit answers the automation API, charging limit included."""
    NOTHING_LISTENING = "nothing_listening"
    """No connection: wrong host or port, or Modbus TCP is off."""
    NOT_ANSWERING = "not_answering"
    """Connected, but no answer in time, or the connection broke."""
    NO_AUTOMATION_API = "no_automation_api"
    """The charger answers, but not with the automation API registers."""
    WRONG_API_VERSION = "wrong_api_version"
    """The unit answers the other API version's registers."""
    WRONG_UNIT_ID = "wrong_unit_id"
    """Another unit id answers the API, this one does not: not an EVSE."""
    DEVICE_ERROR = "device_error"
    """Another Modbus exception, such as device busy: try again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CtekModbusIdentity:
    """Registers 0x?000-0x?008 of one unit."""

    api_version: int
    api_status: int
    """0 = OK."""
    meter_type: int
    """Energy meter type code, as the CCU sends it."""
    serial_number: str | None
    """Energy meter serial; None when the registers hold no text."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CtekModbusLimit:
    """Registers 0x?200-0x?201 of one unit."""

    limit_a: int
    """Charging limit; 0 (and 1-5) pauses."""
    max_assignment_a: int
    """Highest limit the charger accepts now (derating, schedule, NANOGRID)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CtekModbusLimitWrite:
    """A charging limit the charger has taken."""

    limit_a: int
    """The limit read back, equal to the one written."""
    max_assignment_a: int
    took_s: float
    """From sending the write to the read that showed it."""
    read_backs: int
    """Reads it took until the limit showed (1 = the first)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CtekModbusProbe:
    """The outcome of :meth:`CtekModbusClient.probe`."""

    result: CtekModbusProbeResult
    message: str
    """What was found, in words a user can act on."""
    identity: CtekModbusIdentity | None = None
    limit: CtekModbusLimit | None = None


def _check_unit_id(unit_id: int) -> None:
    if isinstance(unit_id, bool) or not 1 <= unit_id <= MAX_UNIT_ID:
        msg = f"Unit id must be 1-{MAX_UNIT_ID}, not {unit_id}"
        raise ValueError(msg)


def _u16(value: int, scale: float = 1.0) -> float | None:
    return None if value == _NOT_AVAILABLE_U16 else value * scale


def _phases(registers: list[int], scale: float) -> Phases:
    return (
        _u16(registers[0], scale),
        _u16(registers[1], scale),
        _u16(registers[2], scale),
    )


def _text(registers: list[int]) -> str | None:
    """Return the ASCII text of registers, two characters each, high byte first."""
    raw = b"".join(register.to_bytes(2) for register in registers)
    text = raw.split(b"\0", 1)[0].decode("ascii", "replace").strip()
    return text if text.isprintable() and text else None


def parse_identity(registers: list[int]) -> CtekModbusIdentity:
    """Parse the 9 registers from 0x?000."""
    return CtekModbusIdentity(
        api_version=registers[0],
        api_status=registers[1],
        meter_type=registers[2],
        serial_number=_text(registers[3:9]),
    )


def parse_meter(registers: list[int]) -> MeterReading:
    """Parse the 9 registers from 0x?100 into the neutral meter reading."""
    energy = registers[0] << 16 | registers[1]
    return MeterReading(
        energy_wh=None if energy == _NOT_AVAILABLE_U32 else float(energy),
        current_a=_phases(registers[2:5], 0.001),
        voltage_v=_phases(registers[5:8], 0.1),
        power_w=_u16(registers[8]),
    )


def parse_limit(registers: list[int]) -> CtekModbusLimit:
    """Parse the 2 registers from 0x?200."""
    return CtekModbusLimit(limit_a=registers[0], max_assignment_a=registers[1])


@dataclass(kw_only=True)
class CtekModbusClient:
    """Client for the automation API of one Chargestorm CCU.

    Commands are verified by reading back: after a write the client reads up
    to ``verify_attempts`` times, ``verify_interval`` seconds apart, and
    raises CtekModbusCommandError if the change never shows.
    """

    host: str
    port: int = DEFAULT_PORT
    api: CtekModbusApi = CtekModbusApi.V1
    request_timeout: float = 5.0
    verify_attempts: int = 3
    verify_interval: float = 1.0

    _modbus: AsyncModbusTcpClient | None = field(default=None, init=False, repr=False)
    _request_lock: asyncio.Lock = field(
        default_factory=asyncio.Lock, init=False, repr=False
    )
    _command_lock: asyncio.Lock = field(
        default_factory=asyncio.Lock, init=False, repr=False
    )
    _set_points: dict[int, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        """Refuse an empty host or a port that cannot be."""
        self.host = self.host.strip()
        if not self.host or any(character.isspace() for character in self.host):
            msg = "Host must be a host name or IP address"
            raise ValueError(msg)
        if not 1 <= self.port <= 0xFFFF:  # noqa: PLR2004 - the highest TCP port
            msg = f"Port must be 1-65535, not {self.port}"
            raise ValueError(msg)

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    # --- Connection ------------------------------------------------------------

    async def connect(self) -> None:
        """Connect now, unless connected; raise CtekModbusConnectionError if not."""
        await self._request(self._connected)

    async def _connected(self) -> AsyncModbusTcpClient:
        """Return the connection, opening one if there is none (lock held)."""
        if self._modbus is not None and self._modbus.connected:
            return self._modbus
        self._disconnect()
        modbus = AsyncModbusTcpClient(
            self.host,
            port=self.port,
            timeout=self.request_timeout * _PYMODBUS_TIMEOUT_FACTOR,
            retries=0,
            reconnect_delay=0,  # this client reconnects, on the next call
        )
        _LOGGER.debug("Connecting to %s", self._where)
        if not await modbus.connect():
            modbus.close()
            msg = (
                f"Nothing accepts Modbus TCP connections on {self._where}: check the"
                " host, the port and that Automation/ModbusTCPEnable is on"
            )
            raise CtekModbusConnectionError(msg)
        self._modbus = modbus
        return modbus

    def _disconnect(self) -> None:
        if self._modbus is not None:
            self._modbus.close()
            self._modbus = None

    async def _request[T](self, send: Callable[[], Awaitable[T]]) -> T:
        """Run one exchange under the time-out; tear down the connection on failure."""
        async with self._request_lock:
            deadline = asyncio.timeout(self.request_timeout)
            try:
                async with deadline:
                    return await send()
            except (ModbusException, OSError, TimeoutError) as err:
                self._disconnect()
                task = asyncio.current_task()
                if not deadline.expired() and task is not None and task.cancelling():
                    # pymodbus turns a cancellation into ModbusIOException.
                    raise asyncio.CancelledError from None
                if deadline.expired():
                    msg = (
                        f"No answer from {self._where} within {self.request_timeout} s;"
                        " closed the connection, the next call opens a new one"
                    )
                    raise CtekModbusTimeoutError(msg) from None
                msg = f"Error talking to {self._where}: {type(err).__name__}: {err}"
                raise CtekModbusConnectionError(msg) from None

    async def _execute(
        self,
        call: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]],
        unit_id: int,
        address: int,
        api: CtekModbusApi,
    ) -> ModbusPDU:
        async def send() -> ModbusPDU:
            return await call(await self._connected())

        response = await self._request(send)
        if response.isError():
            raise self._exception_error(response.exception_code, unit_id, address, api)
        return response

    def _exception_error(
        self, code: int, unit_id: int, address: int, api: CtekModbusApi
    ) -> CtekModbusResponseError:
        where = f"{self._where} (unit id {unit_id}, register 0x{address:04X})"
        messages = {
            _ILLEGAL_ADDRESS: (
                f"{where} has no such register: check that the automation API is on"
                f" with version {api.value}, and that unit id {unit_id} is an EVSE"
            ),
            _ILLEGAL_VALUE: f"{where} refused the value",
            _DEVICE_BUSY: f"{where} is busy; try again",
            _ILLEGAL_FUNCTION: f"{where} does not support this request",
            _GATEWAY_PATH_UNAVAILABLE: f"{where}: no EVSE has unit id {unit_id}",
            _GATEWAY_NO_RESPONSE: f"{where}: no EVSE has unit id {unit_id}",
        }
        message = messages.get(code, f"{where} answered Modbus exception {code}")
        return CtekModbusResponseError(message, exception_code=code)

    async def _read(
        self,
        unit_id: int,
        offset: int,
        count: int,
        api: CtekModbusApi | None = None,
    ) -> list[int]:
        _check_unit_id(unit_id)
        api = api or self.api
        address = api.base + offset
        response = await self._execute(
            lambda modbus: modbus.read_holding_registers(
                address, count=count, device_id=unit_id
            ),
            unit_id,
            address,
            api,
        )
        registers = list(response.registers)
        if len(registers) != count:
            msg = (
                f"{self._where} sent {len(registers)} registers from 0x{address:04X}"
                f" for unit id {unit_id}, not {count}"
            )
            raise CtekModbusResponseError(msg)
        return registers

    # --- Reads -----------------------------------------------------------------

    async def read_identity(self, unit_id: int) -> CtekModbusIdentity:
        """Read API version and status, meter type and meter serial."""
        return parse_identity(await self._read(unit_id, _IDENTITY, _IDENTITY_COUNT))

    async def read_meter(self, unit_id: int) -> MeterReading:
        """Read the EVSE's energy meter: lifetime energy, current, voltage, power."""
        return parse_meter(await self._read(unit_id, _METER, _METER_COUNT))

    async def read_limit(self, unit_id: int) -> CtekModbusLimit:
        """Read the charging limit and the maximum assignment."""
        return parse_limit(await self._read(unit_id, _LIMIT, _LIMIT_COUNT))

    # --- Commands --------------------------------------------------------------

    async def set_limit(self, unit_id: int, amps: int) -> CtekModbusLimitWrite:
        """Write the charging limit (FC6) and read it back.

        ``amps`` is 0 (pause) or 6 up to the maximum assignment the charger
        reports (at most MAX_CURRENT_A); anything else raises ValueError before
        a write. A refused write raises CtekModbusResponseError, one that never
        shows CtekModbusCommandError. The limit is remembered for
        :meth:`restore_limit`.
        """
        _check_unit_id(unit_id)
        if (
            isinstance(amps, bool)
            or not isinstance(amps, int)
            or not (amps == 0 or MIN_CURRENT_A <= amps <= MAX_CURRENT_A)
        ):
            msg = (
                f"Charging limit must be 0 (pause) or {MIN_CURRENT_A}-{MAX_CURRENT_A}"
                f" whole amperes, not {amps}"
            )
            raise ValueError(msg)
        async with self._command_lock:
            limit = await self.read_limit(unit_id)
            if amps > limit.max_assignment_a:
                msg = (
                    f"The charger accepts at most {limit.max_assignment_a} A on unit"
                    f" id {unit_id} now, not {amps} A"
                )
                raise ValueError(msg)
            written = await self._write_limit(unit_id, amps)
            self._set_points[unit_id] = amps
            return written

    async def _write_limit(self, unit_id: int, amps: int) -> CtekModbusLimitWrite:
        address = self.api.base + _LIMIT
        started = time.monotonic()
        try:
            await self._execute(
                lambda modbus: modbus.write_register(address, amps, device_id=unit_id),
                unit_id,
                address,
                self.api,
            )
        except CtekModbusResponseError as err:
            msg = f"The charger refused a charging limit of {amps} A: {err}"
            raise CtekModbusCommandError(
                msg, exception_code=err.exception_code
            ) from None
        attempts = max(self.verify_attempts, 1)
        for read_backs in range(1, attempts + 1):
            if read_backs > 1:
                await asyncio.sleep(self.verify_interval)
            limit = await self.read_limit(unit_id)
            if limit.limit_a == amps:
                return CtekModbusLimitWrite(
                    limit_a=amps,
                    max_assignment_a=limit.max_assignment_a,
                    took_s=time.monotonic() - started,
                    read_backs=read_backs,
                )
        msg = (
            f"{self._where} accepted a charging limit of {amps} A on unit id {unit_id}"
            f" but still reports {limit.limit_a} A"
        )
        raise CtekModbusCommandError(msg)

    def set_point(self, unit_id: int) -> int | None:
        """Return the last limit set on a unit through this client, if any."""
        return self._set_points.get(unit_id)

    async def restore_limit(
        self, unit_id: int, reported: CtekModbusLimit | None = None
    ) -> CtekModbusLimitWrite | None:
        """Write the last limit set again if the charger no longer reports it.

        A CCU restart resets the limit; call this on every poll with the limit
        just read (``reported``; read here if None) and after a reconnection.
        Return the write, or None when nothing needed writing: nothing was set,
        the charger still has it, or it exceeds the maximum assignment (the
        charger then offers less than the limit anyway).
        """
        async with self._command_lock:  # not between another command's steps
            wanted = self._set_points.get(unit_id)
            if wanted is None:
                return None
            limit = reported or await self.read_limit(unit_id)
            if limit.limit_a == wanted or wanted > limit.max_assignment_a:
                return None
            _LOGGER.info(
                "%s reports a charging limit of %s A on unit id %s instead of the"
                " %s A set (it restarted?); setting it again",
                self._where,
                limit.limit_a,
                unit_id,
                wanted,
            )
            return await self._write_limit(unit_id, wanted)

    # --- Set-up ----------------------------------------------------------------

    async def probe(self, unit_id: int) -> CtekModbusProbe:
        """Tell whether ``unit_id`` is an EVSE with the automation API, and if not why.

        Never raises a CtekModbusError: the result says what was found.
        """
        _check_unit_id(unit_id)
        try:
            await self.connect()
        except CtekModbusError as err:
            return CtekModbusProbe(
                result=CtekModbusProbeResult.NOTHING_LISTENING, message=str(err)
            )
        try:
            identity = await self.read_identity(unit_id)
            limit = await self.read_limit(unit_id)
        except CtekModbusConnectionError as err:
            return CtekModbusProbe(
                result=CtekModbusProbeResult.NOT_ANSWERING, message=str(err)
            )
        except CtekModbusResponseError as err:
            if err.exception_code in _NO_SUCH_UNIT:
                return await self._why_no_api(unit_id, err)
            return CtekModbusProbe(
                result=CtekModbusProbeResult.DEVICE_ERROR, message=str(err)
            )
        return CtekModbusProbe(
            result=CtekModbusProbeResult.OK,
            message=(
                f"Unit id {unit_id} on {self._where} is an EVSE with automation API"
                f" v{self.api.value}"
            ),
            identity=identity,
            limit=limit,
        )

    async def _why_no_api(
        self, unit_id: int, err: CtekModbusResponseError
    ) -> CtekModbusProbe:
        """Tell a wrong unit id or API version from a charger without the API."""
        other_unit = 2 if unit_id == 1 else 1
        if await self._answers(other_unit, self.api):
            return CtekModbusProbe(
                result=CtekModbusProbeResult.WRONG_UNIT_ID,
                message=(
                    f"Unit id {unit_id} on {self._where} is not an EVSE, but unit id"
                    f" {other_unit} is: check which unit id is which EVSE"
                ),
            )
        other_api = next(api for api in CtekModbusApi if api is not self.api)
        if await self._answers(unit_id, other_api):
            return CtekModbusProbe(
                result=CtekModbusProbeResult.WRONG_API_VERSION,
                message=(
                    f"{self._where} serves automation API v{other_api.value}, not"
                    f" v{self.api.value}: choose v{other_api.value}"
                ),
            )
        return CtekModbusProbe(
            result=CtekModbusProbeResult.NO_AUTOMATION_API,
            message=(
                f"{self._where} answers Modbus but without the automation API"
                f" ({err}): enable it on the CCU (CSOS 4.9.0 or newer)"
            ),
        )

    async def _answers(self, unit_id: int, api: CtekModbusApi) -> bool:
        """Return whether a unit answers the charging limit registers of an API."""
        try:
            await self._read(unit_id, _LIMIT, _LIMIT_COUNT, api)
        except CtekModbusError:
            return False
        return True

    # --- Life cycle ------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection."""
        async with self._request_lock:
            self._disconnect()

    async def __aenter__(self) -> Self:
        """Return the client for ``async with``."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the connection."""
        await self.close()
