"""The Chargestorm CCU's Modbus TCP automation API, over a CtekSimulator's state.

An independent implementation of the protocol notes (ctek-chargestorm-mqtt.md
section 6.1), sharing no code with the client. Unit id n is EVSE n. Registers
are computed from the simulator at every request, and a charging limit written
here changes what the same simulator publishes over MQTT. pymodbus serves the
protocol; :meth:`CtekModbusServer._access` plays the CCU.

Behaviour the notes do not state, chosen here: a unit id that is not an EVSE, a
register outside the map, a write to any register but the charging limit and an
automation API switched off all answer "illegal address"; a limit above the
maximum assignment answers "illegal value"; a limit of 1-5 A is stored and acts
as 0; the write's answer echoes the value written.

Faults to switch on (``server.faults``, :meth:`CtekModbusServer.reboot`,
:meth:`CtekModbusServer.hang_open_connections`) reproduce what chargers in the
field do.
"""

from dataclasses import dataclass, field
import functools
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

if TYPE_CHECKING:
    from .ctek import CtekSimulator, SimulatedEvse

API_BASES: Final = {1: 0x1000, 2: 0x2000}
API_STATUS_OK: Final = 0
METER_TYPE: Final = 1
"""Energy meter type code; the notes do not list the codes."""
READ_HOLDING_REGISTERS: Final = 3
WRITE_SINGLE_REGISTER: Final = 6
# Register offsets from the API's base.
SERIAL: Final = 0x003
SERIAL_REGISTERS: Final = 6
ENERGY: Final = 0x100
CURRENT: Final = 0x102
VOLTAGE: Final = 0x105
POWER: Final = 0x108
LIMIT: Final = 0x200
MAX_ASSIGNMENT: Final = 0x201
MAPPED: Final = frozenset(
    [
        *range(SERIAL + SERIAL_REGISTERS),
        *range(ENERGY, POWER + 1),
        LIMIT,
        MAX_ASSIGNMENT,
    ]
)
# pymodbus's register block spans both APIs; the CCU decides what exists.
_FIRST: Final = API_BASES[1]
_LAST: Final = API_BASES[2] + MAX_ASSIGNMENT


@dataclass(kw_only=True)
class CtekModbusFaults:
    """Misbehaviour to switch on; everything off is a healthy CCU."""

    silent: bool = False
    """Keep connections open and answer nothing at all."""
    exception: ExcCodes | None = None
    """Answer every request with this Modbus exception."""
    refuse_writes: ExcCodes | None = None
    """Answer every write with this Modbus exception."""
    api_disabled: bool = False
    """Listen, but with the automation API off: every register is illegal."""
    ignore_writes: bool = False
    """Accept a charging limit (echo it) but keep the old one."""
    reads_before_applied: int = 0
    """A written limit shows only after this many reads of it (control cycle)."""


def _serial_registers(serial: str) -> list[int]:
    raw = serial.encode("ascii")[: 2 * SERIAL_REGISTERS].ljust(
        2 * SERIAL_REGISTERS, b"\0"
    )
    return [int.from_bytes(raw[index : index + 2]) for index in range(0, len(raw), 2)]


def _u16(value: float) -> int:
    return max(0, min(round(value), 0xFFFE))


@dataclass(kw_only=True)
class CtekModbusServer:
    """A Modbus TCP server on 127.0.0.1 that answers as the simulated CCU."""

    simulator: CtekSimulator
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port when started; kept across :meth:`reboot`."""
    api: int = 1
    faults: CtekModbusFaults = field(default_factory=CtekModbusFaults)
    _server: ModbusTcpServer | None = field(default=None, init=False, repr=False)
    _pending: dict[int, tuple[int, int]] = field(
        default_factory=dict, init=False, repr=False
    )
    """Per unit: a written limit and the reads left before it shows."""

    @property
    def base(self) -> int:
        """Return the address of the served API's first register."""
        return API_BASES[self.api]

    async def start(self) -> None:
        """Listen; unit id 0 stands for every unit id that is not an EVSE."""
        devices = [
            SimDevice(
                id=unit,
                simdata=SimData(
                    _FIRST, count=_LAST - _FIRST + 1, datatype=DataType.UINT16
                ),
                action=functools.partial(self._access, unit),
            )
            for unit in range(len(self.simulator.outlets) + 1)
        ]
        # A request the CCU ignores raises NoSuchIdException: no answer at all.
        server = ModbusTcpServer(
            devices, address=(self.host, self.port), ignore_missing_devices=True
        )
        await server.serve_forever(background=True)
        self._server = server
        self.port = server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def reboot(self) -> None:
        """Restart the CCU: connections drop, the charging limits are forgotten."""
        await self.stop()
        self._pending.clear()
        self.simulator.reboot()
        await self.start()

    def hang_open_connections(self) -> None:
        """Keep the open connections but never read from them again.

        The field bug: a CCU kept its socket open and stopped answering.
        New connections are served as before.
        """
        connections = self._server.active_connections if self._server else {}
        for connection in connections.values():
            connection.transport.pause_reading()  # type: ignore[attr-defined]

    async def __aenter__(self) -> Self:
        """Start serving for ``async with``."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        await self.stop()

    def _outlet(self, unit: int) -> SimulatedEvse | None:
        outlets = self.simulator.outlets
        return outlets[unit - 1] if 1 <= unit <= len(outlets) else None

    async def _access(  # noqa: PLR0913, PLR0917 - pymodbus's action signature
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Answer one request as the CCU; None lets pymodbus read or write."""
        if self.faults.silent:
            raise NoSuchIdException
        if self.faults.exception is not None:
            return self.faults.exception
        outlet = self._outlet(unit)
        offsets = range(address - self.base, address - self.base + count)
        if outlet is None or self.faults.api_disabled or not MAPPED.issuperset(offsets):
            return ExcCodes.ILLEGAL_ADDRESS
        if function_code == WRITE_SINGLE_REGISTER:
            return (
                None
                if set_values is None
                else self._write(unit, outlet, address, set_values)
            )
        if function_code != READ_HOLDING_REGISTERS:
            return ExcCodes.ILLEGAL_FUNCTION
        if LIMIT in offsets:
            self._settle(unit, outlet)
        for offset, value in self._registers(outlet).items():
            registers[self.base + offset - start_address] = value
        return None

    def _write(
        self,
        unit: int,
        outlet: SimulatedEvse,
        address: int,
        values: list[int] | list[bool],
    ) -> ExcCodes | None:
        """Take a charging limit; the answer echoes what was written."""
        if self.faults.refuse_writes is not None:
            return self.faults.refuse_writes
        if address != self.base + LIMIT:
            return ExcCodes.ILLEGAL_ADDRESS
        limit = int(values[0])
        if limit > outlet.assigned_a:
            return ExcCodes.ILLEGAL_VALUE
        if self.faults.ignore_writes:
            return None
        if self.faults.reads_before_applied:
            self._pending[unit] = (limit, self.faults.reads_before_applied)
        else:
            outlet.limit_a = limit
        return None

    def _settle(self, unit: int, outlet: SimulatedEvse) -> None:
        """Apply a pending limit, or count down the reads before it shows."""
        if unit not in self._pending:
            return
        limit, reads_left = self._pending[unit]
        if reads_left:
            self._pending[unit] = (limit, reads_left - 1)
        else:
            outlet.limit_a = limit
            del self._pending[unit]

    def _registers(self, outlet: SimulatedEvse) -> dict[int, int]:
        """Return every register of an EVSE by offset from the API's base."""
        energy = int(outlet.energy_wh) & 0xFFFF_FFFF
        current = _u16(outlet.current_a * 1000)
        voltage = _u16(outlet.voltage_v * 10)
        values = [
            self.api,
            API_STATUS_OK,
            METER_TYPE,
            *_serial_registers(outlet.serial_number),
        ]
        registers = dict(enumerate(values))
        registers |= {
            ENERGY: energy >> 16,
            ENERGY + 1: energy & 0xFFFF,
            **dict.fromkeys(range(CURRENT, CURRENT + 3), current),
            **dict.fromkeys(range(VOLTAGE, VOLTAGE + 3), voltage),
            POWER: _u16(outlet.power_w),
            LIMIT: outlet.limit_a,
            MAX_ASSIGNMENT: outlet.assigned_a,
        }
        return registers
