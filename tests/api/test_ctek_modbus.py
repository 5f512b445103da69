"""The CTEK Modbus client against the simulated CCU on 127.0.0.1."""

import asyncio
from collections.abc import AsyncGenerator
import json
from pathlib import Path
import re
import socket
from typing import Any

from packaging.requirements import Requirement
import pymodbus
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse
import pytest

from custom_components.evse_bridge.api.ctek_modbus import (
    CtekModbusApi,
    CtekModbusClient,
    CtekModbusCommandError,
    CtekModbusConnectionError,
    CtekModbusError,
    CtekModbusLimit,
    CtekModbusProbeResult,
    CtekModbusResponseError,
    CtekModbusTimeoutError,
    parse_identity,
    parse_meter,
)
from simulators.ctek import DEFAULT_LIMIT_A, CtekSimulator
from simulators.ctek_modbus import CtekModbusServer

ROOT = Path(__file__).parent.parent.parent
# Short enough for quick tests, long enough for a busy machine to answer.
TIMEOUT = 0.5


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow the loopback sockets these tests need."""


@pytest.fixture
def simulator() -> CtekSimulator:
    """Return a dual Chargestorm with a car charging on EVSE 1."""
    charger = CtekSimulator(evses=2)
    charger.plug_in(1)
    return charger


@pytest.fixture
async def server(simulator: CtekSimulator) -> AsyncGenerator[CtekModbusServer]:
    """Serve the automation API v1 on a free port."""
    async with CtekModbusServer(simulator=simulator) as modbus:
        yield modbus


def make_client(port: int, **kwargs: Any) -> CtekModbusClient:
    """Return a quick client of 127.0.0.1."""
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "request_timeout": TIMEOUT,
        "verify_interval": 0,
    }
    return CtekModbusClient(**(options | kwargs))


@pytest.fixture
async def client(server: CtekModbusServer) -> AsyncGenerator[CtekModbusClient]:
    """Yield a client of the simulated CCU."""
    async with make_client(server.port) as ctek:
        yield ctek


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- Reads ------------------------------------------------------------------------


async def test_reads_what_the_charger_has(
    client: CtekModbusClient, simulator: CtekSimulator
) -> None:
    """Identity, meter and limit show the EVSE's own values."""
    outlet = simulator.evse(1)
    identity = await client.read_identity(1)
    assert identity.api_version == 1
    assert identity.api_status == 0
    assert identity.serial_number == outlet.serial_number
    meter = await client.read_meter(1)
    assert meter.energy_wh == int(outlet.energy_wh)
    assert meter.current_a == (outlet.current_a,) * 3
    assert meter.voltage_v == pytest.approx((outlet.voltage_v,) * 3)
    assert meter.power_w == outlet.power_w
    assert outlet.power_w > 0
    limit = await client.read_limit(1)
    assert limit == CtekModbusLimit(
        limit_a=DEFAULT_LIMIT_A, max_assignment_a=outlet.assigned_a
    )
    # Unit id 2 is the other EVSE: no car, nothing flows.
    assert (await client.read_identity(2)).serial_number == simulator.evse(
        2
    ).serial_number
    assert (await client.read_meter(2)).power_w == 0


async def test_energy_above_16_bits(
    client: CtekModbusClient, simulator: CtekSimulator
) -> None:
    """The lifetime energy spans two registers, high word first."""
    simulator.evse(1).energy_wh = 20_218_145.0
    assert (await client.read_meter(1)).energy_wh == 20_218_145.0


async def test_api_v2(simulator: CtekSimulator) -> None:
    """API v2 has the same registers at 0x2xxx; a v1 client finds none there."""
    async with CtekModbusServer(simulator=simulator, api=2) as server:
        async with make_client(server.port, api=CtekModbusApi.V2) as v2:
            assert (await v2.read_identity(1)).api_version == 2
            assert (await v2.set_limit(1, 8)).limit_a == 8
        assert simulator.evse(1).current_a == 8
        async with make_client(server.port) as v1:
            with pytest.raises(CtekModbusResponseError, match="version 1") as err:
                await v1.read_limit(1)
    assert err.value.exception_code == ExcCodes.ILLEGAL_ADDRESS


def test_parse_registers_not_available() -> None:
    """All ones is "not available"; a serial without text is None."""
    meter = parse_meter([0xFFFF, 0xFFFF, 0xFFFF, 1500, 0xFFFF, 2301, 0xFFFF, 0, 0xFFFF])
    assert meter.energy_wh is None
    assert meter.current_a == (None, 1.5, None)
    assert meter.voltage_v[0] == pytest.approx(230.1)
    assert meter.voltage_v[1:] == (None, 0.0)
    assert meter.power_w is None
    assert parse_identity([1, 0, 3, 0, 0, 0, 0, 0, 0]).serial_number is None
    # Control characters and bytes above ASCII are not a serial number.
    assert parse_identity([1, 0, 3, 0x4142, 0x0743, 0, 0, 0, 0]).serial_number is None
    assert (
        parse_identity([1, 0, 3, 0x4142, 0xFF43, 0, 0, 0, 0]).serial_number
        == "AB\ufffdC"
    )
    # Text ends at the first NUL; padding spaces go.
    assert (
        parse_identity([1, 0, 3, 0x2041, 0x4200, 0x4344, 0, 0, 0]).serial_number == "AB"
    )


async def test_short_answer_is_a_response_error(
    client: CtekModbusClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer with fewer registers than asked for is refused, not indexed."""

    async def short_answer(
        self: AsyncModbusTcpClient, address: int, **kwargs: Any
    ) -> ReadHoldingRegistersResponse:
        return ReadHoldingRegistersResponse(registers=[1])

    await client.connect()
    monkeypatch.setattr(AsyncModbusTcpClient, "read_holding_registers", short_answer)
    with pytest.raises(CtekModbusResponseError, match="sent 1 registers"):
        await client.read_limit(1)


@pytest.mark.parametrize(
    ("host", "port"), [("", 502), (" ", 502), ("ccu local", 502), ("ccu", 0)]
)
def test_bad_host_or_port(host: str, port: int) -> None:
    """A host or port that cannot be is refused at once."""
    with pytest.raises(ValueError, match=r"^(Host|Port) "):
        CtekModbusClient(host=host, port=port)


@pytest.mark.parametrize("unit_id", [0, 248, -1, True])
async def test_bad_unit_id(client: CtekModbusClient, unit_id: int) -> None:
    """Unit ids outside 1-247 are refused before anything is sent."""
    with pytest.raises(ValueError, match="Unit id"):
        await client.read_limit(unit_id)
    with pytest.raises(ValueError, match="Unit id"):
        await client.set_limit(unit_id, 10)


# --- The charging limit -------------------------------------------------------------


async def test_limit_changes_what_the_car_draws(
    client: CtekModbusClient, simulator: CtekSimulator
) -> None:
    """10 A caps the car; 0 pauses it; 10 A again resumes charging."""
    written = await client.set_limit(1, 10)
    assert written.limit_a == 10
    assert written.read_backs == 1
    assert written.max_assignment_a == simulator.evse(1).assigned_a
    assert client.set_point(1) == 10
    assert (await client.read_meter(1)).current_a == (10.0, 10.0, 10.0)
    assert simulator.evse(1).state == "CHRG"

    await client.set_limit(1, 0)
    assert simulator.evse(1).state == "PAUS"
    assert (await client.read_meter(1)).power_w == 0

    await client.set_limit(1, 10)
    assert simulator.evse(1).state == "CHRG"
    assert simulator.evse(1).power_w == 3 * 230 * 10
    # EVSE 2 kept its own limit.
    assert (await client.read_limit(2)).limit_a == DEFAULT_LIMIT_A
    assert client.set_point(2) is None


@pytest.mark.parametrize("amps", [-1, 1, 5, 33, 1000, 7.5, True])
async def test_limits_out_of_range_are_never_written(
    client: CtekModbusClient, simulator: CtekSimulator, amps: Any
) -> None:
    """Only 0 and 6-32 whole amperes are written; 1-5 would pause."""
    with pytest.raises(ValueError, match="0 \\(pause\\) or 6-32 whole amperes"):
        await client.set_limit(1, amps)
    assert simulator.evse(1).limit_a == DEFAULT_LIMIT_A
    assert client.set_point(1) is None


async def test_limit_above_maximum_assignment(
    client: CtekModbusClient, simulator: CtekSimulator
) -> None:
    """A limit above what the charger accepts now is refused before writing."""
    simulator.evse(1).assigned_a = 12
    with pytest.raises(ValueError, match="at most 12 A"):
        await client.set_limit(1, 13)
    assert simulator.evse(1).limit_a == DEFAULT_LIMIT_A
    assert (await client.set_limit(1, 12)).limit_a == 12


async def test_write_that_shows_late(
    client: CtekModbusClient, server: CtekModbusServer, simulator: CtekSimulator
) -> None:
    """The result says how many reads, and how long, the change took to show."""
    server.faults.reads_before_applied = 2
    written = await client.set_limit(1, 10)
    assert written.read_backs == 3
    assert written.took_s > 0
    assert simulator.evse(1).limit_a == 10


async def test_ignored_write_is_a_command_error(
    client: CtekModbusClient, server: CtekModbusServer, simulator: CtekSimulator
) -> None:
    """A write the charger accepts but never applies is an error, not done."""
    server.faults.ignore_writes = True
    with pytest.raises(CtekModbusCommandError, match="still reports 32 A"):
        await client.set_limit(1, 10)
    assert simulator.evse(1).limit_a == DEFAULT_LIMIT_A
    assert client.set_point(1) is None


async def test_write_that_shows_too_late_is_a_command_error(
    server: CtekModbusServer,
) -> None:
    """The client reads back verify_attempts times, then gives up."""
    server.faults.reads_before_applied = 3
    async with make_client(server.port, verify_attempts=3) as ctek:
        with pytest.raises(CtekModbusCommandError):
            await ctek.set_limit(1, 10)


@pytest.mark.parametrize(
    "code", [ExcCodes.ILLEGAL_VALUE, ExcCodes.DEVICE_BUSY, ExcCodes.ILLEGAL_ADDRESS]
)
async def test_refused_write_is_a_command_error(
    client: CtekModbusClient,
    server: CtekModbusServer,
    simulator: CtekSimulator,
    code: ExcCodes,
) -> None:
    """A write answered with a Modbus exception is a command error with its code."""
    server.faults.refuse_writes = code
    with pytest.raises(CtekModbusCommandError, match="refused a charging limit") as err:
        await client.set_limit(1, 10)
    assert err.value.exception_code == code
    assert simulator.evse(1).limit_a == DEFAULT_LIMIT_A


# --- Faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (ExcCodes.ILLEGAL_ADDRESS, "automation API is on"),
        (ExcCodes.ILLEGAL_VALUE, "refused the value"),
        (ExcCodes.DEVICE_BUSY, "busy; try again"),
        (ExcCodes.ILLEGAL_FUNCTION, "does not support"),
        (ExcCodes.GATEWAY_NO_RESPONSE, "no EVSE has unit id 1"),
        (ExcCodes.DEVICE_FAILURE, "Modbus exception 4"),
    ],
)
async def test_exception_responses(
    client: CtekModbusClient, server: CtekModbusServer, code: ExcCodes, hint: str
) -> None:
    """Each Modbus exception gives a response error that says what to do."""
    server.faults.exception = code
    with pytest.raises(CtekModbusResponseError, match=hint) as err:
        await client.read_limit(1)
    assert err.value.exception_code == code
    server.faults.exception = None
    assert (await client.read_limit(1)).limit_a == DEFAULT_LIMIT_A


async def test_unit_id_that_is_not_an_evse(client: CtekModbusClient) -> None:
    """A unit id the CCU does not have answers "illegal address"."""
    with pytest.raises(CtekModbusResponseError, match="unit id 3 is an EVSE") as err:
        await client.read_identity(3)
    assert err.value.exception_code == ExcCodes.ILLEGAL_ADDRESS


async def test_stuck_socket_times_out_and_the_next_call_reconnects(
    client: CtekModbusClient, server: CtekModbusServer
) -> None:
    """The field bug: the socket stays open, nothing answers; a new one works."""
    await client.read_limit(1)
    server.hang_open_connections()
    with pytest.raises(CtekModbusTimeoutError, match=re.escape(f"within {TIMEOUT} s")):
        await client.read_limit(1)
    # The hung connection stays hung: only a new connection can answer.
    assert (await client.read_limit(1)).limit_a == DEFAULT_LIMIT_A
    assert (await client.set_limit(1, 10)).limit_a == 10


async def test_silent_charger_never_blocks(
    client: CtekModbusClient, server: CtekModbusServer
) -> None:
    """Every call to a charger that never answers fails within its time-out."""
    server.faults.silent = True
    for _ in range(3):
        with pytest.raises(CtekModbusTimeoutError):
            await client.read_meter(1)
    with pytest.raises(CtekModbusTimeoutError):
        await client.set_limit(1, 10)
    server.faults.silent = False
    assert (await client.read_limit(1)).limit_a == DEFAULT_LIMIT_A


async def test_cancelling_a_call_cancels(server: CtekModbusServer) -> None:
    """A caller's cancellation stays a cancellation, not a connection error."""
    server.faults.silent = True
    async with make_client(server.port, request_timeout=30) as ctek:
        await ctek.connect()
        call = asyncio.create_task(ctek.read_limit(1))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        server.faults.silent = False
        assert (await ctek.read_limit(1)).limit_a == DEFAULT_LIMIT_A


async def test_broken_exchange_is_a_connection_error(
    client: CtekModbusClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed exchange is a connection error; the next call reconnects."""

    async def broken(self: AsyncModbusTcpClient, address: int, **kwargs: Any) -> None:
        msg = f"reset by {self}"
        raise ConnectionResetError(msg)

    await client.read_limit(1)
    with monkeypatch.context() as patched:
        patched.setattr(AsyncModbusTcpClient, "read_holding_registers", broken)
        with pytest.raises(
            CtekModbusConnectionError, match="ConnectionResetError: reset by"
        ):
            await client.read_limit(1)
    assert (await client.read_limit(1)).limit_a == DEFAULT_LIMIT_A


async def test_charger_switched_off(
    client: CtekModbusClient, server: CtekModbusServer
) -> None:
    """The connection goes, nothing listens: errors, and never a hang."""
    await client.read_limit(1)
    await server.stop()
    # Sent before the close arrives, or refused: either way it fails.
    with pytest.raises(CtekModbusConnectionError):
        await client.read_limit(1)
    with pytest.raises(CtekModbusConnectionError, match="Nothing accepts") as err:
        await client.read_limit(1)
    assert not isinstance(err.value, CtekModbusTimeoutError)


async def test_nothing_listening() -> None:
    """No server: a connection error that names the host and the setting."""
    async with make_client(free_port()) as ctek:
        with pytest.raises(CtekModbusConnectionError, match="ModbusTCPEnable") as err:
            await ctek.read_limit(1)
    assert not isinstance(err.value, CtekModbusTimeoutError)


async def test_one_connection_for_concurrent_calls(
    client: CtekModbusClient, server: CtekModbusServer
) -> None:
    """Calls made at once share one connection and each gets its own answer."""
    identities = await asyncio.gather(
        *(client.read_identity(unit) for unit in (1, 2, 1, 2, 1, 2))
    )
    assert [identity.serial_number for identity in identities] == [
        "272271U",
        "272272U",
    ] * 3
    assert server._server is not None
    assert len(server._server.active_connections) == 1


# --- A restarting CCU ---------------------------------------------------------------


async def test_reboot_forgets_the_limit_and_restore_writes_it_again(
    client: CtekModbusClient, server: CtekModbusServer, simulator: CtekSimulator
) -> None:
    """After a CCU restart the client notices the lost limit and sets it again."""
    assert await client.restore_limit(1) is None  # nothing set yet
    await client.set_limit(1, 10)
    assert await client.restore_limit(1) is None  # the charger still has it

    await server.reboot()
    assert simulator.evse(1).current_a == simulator.evse(1).assigned_a
    reported = await client.read_limit(1)  # on a new connection
    assert reported.limit_a == DEFAULT_LIMIT_A
    restored = await client.restore_limit(1, reported)
    assert restored is not None
    assert restored.limit_a == 10
    assert simulator.evse(1).current_a == 10


async def test_restore_skips_a_limit_the_charger_cannot_take(
    client: CtekModbusClient, server: CtekModbusServer, simulator: CtekSimulator
) -> None:
    """Below the limit set, the charger's own bound already keeps the car lower."""
    await client.set_limit(1, 10)
    await server.reboot()
    simulator.evse(1).assigned_a = 8
    assert await client.restore_limit(1) is None
    assert simulator.evse(1).current_a == 8
    simulator.evse(1).assigned_a = 16
    assert (await client.restore_limit(1)) is not None
    assert simulator.evse(1).current_a == 10


# --- Probe (for the options flow) ---------------------------------------------------


async def test_probe_ok(client: CtekModbusClient, simulator: CtekSimulator) -> None:
    """An EVSE with the API: its identity and limits come with the result."""
    probe = await client.probe(2)
    assert probe.result is CtekModbusProbeResult.OK
    assert probe.identity is not None
    assert probe.identity.serial_number == simulator.evse(2).serial_number
    assert probe.limit is not None
    assert probe.limit.max_assignment_a == simulator.evse(2).assigned_a


async def test_probe_nothing_listening() -> None:
    """Nobody on the port."""
    async with make_client(free_port()) as ctek:
        probe = await ctek.probe(1)
    assert probe.result is CtekModbusProbeResult.NOTHING_LISTENING
    assert "ModbusTCPEnable" in probe.message


async def test_probe_not_answering(
    client: CtekModbusClient, server: CtekModbusServer
) -> None:
    """Connected, but no answer."""
    server.faults.silent = True
    probe = await client.probe(1)
    assert probe.result is CtekModbusProbeResult.NOT_ANSWERING


@pytest.mark.parametrize(("evses", "unit_id"), [(2, 3), (1, 2)])
async def test_probe_wrong_unit_id(evses: int, unit_id: int) -> None:
    """A unit id that is not an EVSE, while unit id 1 is."""
    async with (
        CtekModbusServer(simulator=CtekSimulator(evses=evses)) as server,
        make_client(server.port) as ctek,
    ):
        probe = await ctek.probe(unit_id)
    assert probe.result is CtekModbusProbeResult.WRONG_UNIT_ID
    assert f"Unit id {unit_id} on" in probe.message
    assert "unit id 1 is" in probe.message


async def test_probe_wrong_api_version(simulator: CtekSimulator) -> None:
    """The CCU serves API v2; the user chose v1."""
    async with (
        CtekModbusServer(simulator=simulator, api=2) as server,
        make_client(server.port) as ctek,
    ):
        probe = await ctek.probe(1)
    assert probe.result is CtekModbusProbeResult.WRONG_API_VERSION
    assert "choose v2" in probe.message


async def test_probe_no_automation_api(
    client: CtekModbusClient, server: CtekModbusServer
) -> None:
    """Modbus answers, the automation API is off."""
    server.faults.api_disabled = True
    probe = await client.probe(1)
    assert probe.result is CtekModbusProbeResult.NO_AUTOMATION_API
    assert "enable it on the CCU" in probe.message


async def test_probe_device_busy(
    client: CtekModbusClient, server: CtekModbusServer
) -> None:
    """Any other exception: the message says what the charger answered."""
    server.faults.exception = ExcCodes.DEVICE_BUSY
    probe = await client.probe(1)
    assert probe.result is CtekModbusProbeResult.DEVICE_ERROR
    assert "busy" in probe.message


async def test_errors_share_one_base(server: CtekModbusServer) -> None:
    """Whatever goes wrong, a caller catching CtekModbusError catches it."""
    server.faults.silent = True
    async with make_client(server.port) as ctek:
        with pytest.raises(CtekModbusError):
            await ctek.read_limit(1)


# --- Packaging ----------------------------------------------------------------------


def test_manifest_requires_a_range_home_assistant_allows() -> None:
    """The manifest accepts the pymodbus Home Assistant pins, and newer ones."""
    manifest = json.loads(
        (ROOT / "custom_components" / "evse_bridge" / "manifest.json").read_text()
    )
    (requirement,) = [
        Requirement(text)
        for text in manifest["requirements"]
        if text.startswith("pymodbus")
    ]
    assert "==" not in str(requirement.specifier)
    assert requirement.specifier.contains(pymodbus.__version__)
    assert requirement.specifier.contains("99.0")
    pins = (ROOT / "requirements_test.txt").read_text().splitlines()
    assert f"pymodbus=={pymodbus.__version__}" in pins
