"""The real Mennekes client against the simulated box on 127.0.0.1."""

import ast
import asyncio
from collections.abc import AsyncGenerator
import json
from pathlib import Path
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    ChargerResponseError,
    ChargerTimeoutError,
)
from custom_components.evse_bridge.api.mennekes import (
    MennekesChgState,
    MennekesClient,
    MennekesDevMode,
)
from custom_components.evse_bridge.api.model import (
    ChargerState,
    ConnectorState,
    ConnectorStatus,
)
from simulators.mennekes import MennekesSimulator, build_parser, main, serve

DEV_KEY = "0739164"
THREE_PHASE_16_A_W = 3 * 230 * 16


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow the loopback sockets these end-to-end tests need."""


@pytest.fixture
async def sim() -> AsyncGenerator[MennekesSimulator]:
    """Yield a running simulator on a free port."""
    async with MennekesSimulator(dev_key=DEV_KEY) as simulator:
        yield simulator


def make_client(sim: MennekesSimulator, **kwargs: Any) -> MennekesClient:
    """Return a fast client for the simulator."""
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": sim.port,
        "dev_key": DEV_KEY,
        "request_timeout": 2.0,
        "request_interval": 0,
        "verify_interval": 0,
    }
    return MennekesClient(**(options | kwargs))


@pytest.fixture
async def client(sim: MennekesSimulator) -> AsyncGenerator[MennekesClient]:
    """Yield a client of the simulator with its own session."""
    async with make_client(sim) as mennekes:
        yield mennekes


def conn(state: ChargerState) -> ConnectorState:
    """Return the one connector of a snapshot."""
    connector = state.parts["connector1"].connector
    assert connector is not None
    return connector


def power(state: ChargerState) -> float | None:
    """Return the charging power of a snapshot."""
    meter = state.parts["connector1"].meter
    assert meter is not None
    return meter.power_w


async def test_identity(client: MennekesClient) -> None:
    """Set-up reads the box identity."""
    info = await client.get_info()
    assert info.serial_number == "1234567890"
    assert info.model == "AMTRON 1344201"
    assert info.firmware_version == "HCC3 V1.13"


async def test_plug_in_charge_and_count(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """With auto start, plugging in charges; energy and duration count up."""
    dev_info = await client.get_dev_info()
    state = await client.get_state(dev_info=dev_info)
    assert conn(state).status is ConnectorStatus.AVAILABLE
    sim.plug_in()
    sim.advance(1800)
    state = await client.get_state(dev_info=dev_info)
    assert conn(state).status is ConnectorStatus.CHARGING
    assert conn(state).vehicle_connected is True
    assert power(state) == THREE_PHASE_16_A_W
    assert conn(state).session_energy_wh == THREE_PHASE_16_A_W / 2
    assert conn(state).session_duration_s == 1800
    assert conn(state).max_current_a == 16
    # One request per poll cycle.
    assert sim.requests == {"GET DevInfo": 1, "GET ChargeData": 2}


async def test_current_limit_changes_power(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """A lower limit lowers the power; the car's own maximum caps it too."""
    sim.plug_in()
    await client.set_current_limit(10)
    state = await client.get_state()
    assert power(state) == 3 * 230 * 10
    assert conn(state).current_limit_a == 10
    assert conn(state).offered_current_a == 10
    sim.car_max_current = 8
    assert power(await client.get_state()) == 3 * 230 * 8


async def test_limit_above_box_maximum_is_reported(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """A limit the box ignores (above MaxCurrWb) is a command error."""
    sim.plug_in()
    with pytest.raises(ChargerCommandError):
        await client.set_current_limit(20)
    assert conn(await client.get_state()).current_limit_a is None


async def test_temporary_limit_lost_on_reboot(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """Permanent=false is lost when the box restarts; Permanent=true is kept."""
    await client.set_current_limit(12, permanent=True)
    await client.set_current_limit(8)
    sim.reboot()
    assert conn(await client.get_state()).current_limit_a == 12


async def test_pause_and_resume(sim: MennekesSimulator, client: MennekesClient) -> None:
    """Pause stops the energy flow, resume restarts it."""
    sim.plug_in()
    paused = await client.pause()
    assert paused.chg_state is MennekesChgState.PAUSED
    state = await client.get_state()
    assert power(state) == 0
    assert conn(state).status is ConnectorStatus.SUSPENDED_EVSE
    assert conn(state).charging_enabled is False
    sim.advance(600)
    assert conn(await client.get_state()).session_duration_s == 0
    await client.resume()
    assert power(await client.get_state()) == THREE_PHASE_16_A_W


async def test_stop_keeps_session_until_next(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """After Terminate and unplug the last session stays; a new one resets it."""
    sim.plug_in()
    sim.advance(3600)
    await client.stop()
    state = await client.get_state()
    assert conn(state).status is ConnectorStatus.FINISHING
    assert conn(state).session_energy_wh == THREE_PHASE_16_A_W
    sim.unplug()
    state = await client.get_state()
    assert conn(state).status is ConnectorStatus.AVAILABLE
    assert conn(state).session_energy_wh == THREE_PHASE_16_A_W
    sim.plug_in()
    assert conn(await client.get_state()).session_energy_wh == 0


async def test_start_needs_authorisation_without_auto_start(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """With AutoChg off a plugged car waits until Start."""
    info = await client.set_auto_start(False)
    assert info.auto_start is False
    sim.plug_in()
    state = await client.get_state()
    assert conn(state).status is ConnectorStatus.PREPARING
    assert conn(state).vendor_status == "standby_authorize"
    await client.start()
    assert conn(await client.get_state()).charging is True


async def test_start_before_plug_in(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """Start without a car waits for it, then charges when it arrives."""
    await client.set_auto_start(False)
    data = await client.start()
    assert data.chg_state is MennekesChgState.STANDBY_CONNECT
    sim.plug_in()
    assert conn(await client.get_state()).charging is True


async def test_start_on_faulted_box_fails(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """Start on a box in error does nothing, and that is reported."""
    sim.plug_in()
    sim.set_error(13)
    with pytest.raises(ChargerCommandError, match="Start"):
        await client.start()


async def test_operating_mode(sim: MennekesSimulator, client: MennekesClient) -> None:
    """DevMode is settable; outside Remote mode the box offers its full current."""
    await client.set_current_limit(6)
    info = await client.set_operating_mode(MennekesDevMode.TIME)
    assert info.dev_mode is MennekesDevMode.TIME
    sim.plug_in()
    state = await client.get_state(dev_info=info)
    assert conn(state).operating_mode == "time"
    assert power(state) == THREE_PHASE_16_A_W


async def test_error_code(sim: MennekesSimulator, client: MennekesClient) -> None:
    """An HCC3 error shows as a fault and a problem, and clears."""
    sim.plug_in()
    sim.set_error(13)
    sim.unplug()
    state = await client.get_state(dev_info=await client.get_dev_info())
    assert conn(state).status is ConnectorStatus.FAULTED
    assert conn(state).problem is True
    sim.plug_in()
    sim.set_error(0)
    state = await client.get_state(dev_info=await client.get_dev_info())
    assert conn(state).status is ConnectorStatus.PREPARING
    assert conn(state).problem is False


async def test_wrong_dev_key(sim: MennekesSimulator) -> None:
    """A wrong DevKey is an authentication error on reads and writes."""
    async with make_client(sim, dev_key="1111") as wrong:
        with pytest.raises(ChargerAuthenticationError) as read:
            await wrong.get_state()
        with pytest.raises(ChargerAuthenticationError) as write:
            await wrong.set_current_limit(10)
    assert (read.value.code, write.value.code) == (403, 401)


@pytest.mark.parametrize(
    ("fault", "value", "error"),
    [
        ("status", 500, ChargerResponseError),
        ("status", 403, ChargerAuthenticationError),
        ("timeout", True, ChargerTimeoutError),
        ("delay", 1.0, ChargerTimeoutError),
        ("malformed", True, ChargerResponseError),
        ("missing_fields", {"ChgNrg"}, ChargerResponseError),
    ],
)
async def test_faults_and_recovery(
    sim: MennekesSimulator, fault: str, value: object, error: type[ChargerError]
) -> None:
    """Each fault gives its error, without the DevKey; clearing it recovers."""
    async with make_client(sim, request_timeout=0.2) as client:
        setattr(sim.faults, fault, value)
        with pytest.raises(error) as caught:
            await client.get_state()
        assert DEV_KEY not in str(caught.value)
        sim.faults.clear()
        assert conn(await client.get_state()).status is ConnectorStatus.AVAILABLE


async def test_slow_box_still_answers(
    sim: MennekesSimulator, client: MennekesClient
) -> None:
    """A box slower than usual but within the timeout works."""
    sim.faults.delay = 0.05
    assert conn(await client.get_state()).status is ConnectorStatus.AVAILABLE


async def test_unknown_state(sim: MennekesSimulator, client: MennekesClient) -> None:
    """An unknown ChgState gives an unknown status, not an error."""
    sim.faults.unknown_state = "Warming"
    state = await client.get_state()
    assert conn(state).status is None
    assert conn(state).session_energy_wh == 0


async def test_refused_command(sim: MennekesSimulator, client: MennekesClient) -> None:
    """A box that says 200 but does nothing gives a command error."""
    sim.plug_in()
    sim.faults.refuse_commands = True
    with pytest.raises(ChargerCommandError, match="Pause"):
        await client.pause()
    assert conn(await client.get_state()).charging is True
    sim.faults.clear()
    await client.pause()


async def test_requests_never_overlap(sim: MennekesSimulator) -> None:
    """Many concurrent calls reach the box one at a time, spaced."""
    sim.faults.delay = 0.02
    async with make_client(sim, request_interval=0.01) as client:
        await asyncio.gather(*(client.get_state() for _ in range(4)))
    assert sim.max_in_flight == 1
    assert sim.requests["GET ChargeData"] == 4


async def test_nobody_listening(sim: MennekesSimulator) -> None:
    """A box that is off is a connection error without the DevKey."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    async with make_client(sim, port=free_port) as client:
        with pytest.raises(ChargerConnectionError) as caught:
            await client.get_state()
    assert not isinstance(caught.value, ChargerTimeoutError)
    assert DEV_KEY not in str(caught.value)


# --- The simulator's own protocol checks -----------------------------------------

HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json; charset=utf-8",
}


async def post(
    sim: MennekesSimulator,
    endpoint: str,
    body: str,
    headers: dict[str, str] | None = None,
) -> int:
    """POST a raw body to the simulator and return the status."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{sim.base_url}/{endpoint}",
            params={"DevKey": DEV_KEY},
            data=body,
            headers=HEADERS if headers is None else headers,
        ) as response,
    ):
        return response.status


def command(**values: object) -> str:
    """Return a ChargeData command body with every key present."""
    body = {
        "Permanent": False,
        "RemoteCurr": None,
        "AutoChg": None,
        "ChgState": None,
        "Uid": None,
    }
    return json.dumps(body | values)


@pytest.mark.parametrize(
    ("endpoint", "body", "headers", "status"),
    [
        ("ChargeData", command(RemoteCurr=8), {}, 500),
        ("ChargeData", command(RemoteCurr=8), {"Accept": "application/json"}, 500),
        ("ChargeData", "{not json", None, 400),
        ("ChargeData", "[]", None, 400),
        ("ChargeData", json.dumps({"RemoteCurr": 8}), None, 400),
        ("ChargeData", command(Permanent="yes"), None, 400),
        ("ChargeData", command(RemoteCurr="8"), None, 400),
        ("ChargeData", command(AutoChg=1), None, 400),
        ("ChargeData", command(RemoteCurr=True), None, 400),
        ("DevInfo", json.dumps({"LocTime": "yesterday"}), None, 400),
        ("ChargeData", command(ChgState="Stop"), None, 400),
        ("DevInfo", json.dumps({"DevMode": "Solar"}), None, 400),
        ("DevInfo", json.dumps({"Battery": "big"}), None, 400),
        ("DevInfo", json.dumps({"Summer": 1}), None, 400),
        ("ChargeData", command(RemoteCurr=8), None, 200),
    ],
)
async def test_simulator_validates_writes(
    sim: MennekesSimulator,
    endpoint: str,
    body: str,
    headers: dict[str, str] | None,
    status: int,
) -> None:
    """Missing headers give 500, malformed bodies 400, as documented."""
    assert await post(sim, endpoint, body, headers) == status
    assert (sim.remote_current == 8) is (status == 200)


async def test_simulator_device_settings(sim: MennekesSimulator) -> None:
    """POST /DevInfo sets name, battery, clock and time zone."""
    body = {
        "DevName": "Garage",
        "LocTime": "1700000000",
        "Summer": True,
        "Tz": 60,
        "FixedVehCosts": None,
        "OldVehCosts": None,
        "Battery": 60000,
        "DevMode": None,
    }
    assert await post(sim, "DevInfo", json.dumps(body)) == 200
    info = sim.dev_info()
    assert (info["DevName"], info["Battery"], info["LocTime"]) == (
        "Garage",
        60000,
        1700000000,
    )
    assert (info["Summer"], info["Tz"], info["DevMode"]) == (True, 60, "Remote")


async def test_simulator_ignores_what_the_box_ignores(sim: MennekesSimulator) -> None:
    """Start needs Uid 00000000, and RemoteCurr below 6 A is not taken."""
    await post(sim, "ChargeData", command(AutoChg=False))
    sim.plug_in()
    await post(sim, "ChargeData", command(ChgState="Start", Uid="12345678"))
    assert sim.chg_state == "StandbyAuthorize"
    await post(sim, "ChargeData", command(RemoteCurr=5))
    assert sim.remote_current == 0
    await post(sim, "ChargeData", command(ChgState="Continue"))
    assert sim.chg_state == "StandbyAuthorize"
    await post(sim, "ChargeData", command(ChgState="Terminate"))
    assert sim.chg_state == "Terminated"
    await post(sim, "ChargeData", command(ChgState="Start", Uid="00000000"))
    assert sim.chg_state == "Charging"
    await post(sim, "ChargeData", command(ChgState="Start", Uid="00000000"))
    assert sim.chg_state == "Charging"
    await post(sim, "ChargeData", command(ChgState="Pause"))
    await post(sim, "ChargeData", command(ChgState="Start", Uid="00000000"))
    assert sim.chg_state == "Paused"


async def test_simulator_payload_shape(sim: MennekesSimulator) -> None:
    """Reads carry the documented fields, T* copies and the pilot code."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{sim.base_url}/ChargeData", params={"DevKey": DEV_KEY}
        ) as response,
    ):
        data = await response.json()
    assert data["TRemoteCurr"] == data["RemoteCurr"] == 0
    assert data["HCCP"] == "A11"
    assert data["Uid"] == ""
    sim.plug_in()
    assert sim.charge_data()["HCCP"] == "C2"
    sim.set_error(13)
    assert sim.charge_data()["HCCP"] == "B1"
    sim.reboot()
    assert sim.chg_state == "Error"


async def test_simulator_reboot_and_unknown_path(sim: MennekesSimulator) -> None:
    """A reboot restarts the session state; other paths do not exist."""
    sim.plug_in()
    sim.reboot()
    assert sim.chg_state == "StandbyAuthorize"
    sim.unplug()
    sim.reboot()
    assert sim.chg_state == "Idle"
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{sim.base_url}/DirectSchedule", params={"DevKey": DEV_KEY}
        ) as response,
    ):
        assert response.status == 404


async def test_simulator_clock(sim: MennekesSimulator) -> None:
    """The clock only moves forward; ticking advances it in real time."""
    with pytest.raises(ValueError, match="forward"):
        sim.advance(-1)
    sim.plug_in()
    sim.start_ticking(0.01)
    sim.start_ticking(0.01)  # a second call keeps the one ticker
    await asyncio.sleep(0.1)
    sim.stop_ticking()
    assert sim.session_duration_s > 0
    assert sim.session_energy_wh > 0


def test_simulator_port_before_start() -> None:
    """The port is only known once the server runs."""
    with pytest.raises(RuntimeError, match="not running"):
        _ = MennekesSimulator().port


async def test_timeout_fault_released_on_stop() -> None:
    """A request held by the timeout fault does not keep the server alive."""
    sim = MennekesSimulator(dev_key=DEV_KEY)
    await sim.start()
    sim.faults.timeout = True
    async with make_client(sim, request_timeout=5) as client:
        pending = asyncio.create_task(client.get_state())
        await asyncio.sleep(0.1)
        await sim.stop()
        with pytest.raises(ChargerError):
            await pending
    await sim.stop()  # stopping twice is harmless


# --- Command line ------------------------------------------------------------------


def test_parser() -> None:
    """The documented options parse, with the documented defaults."""
    defaults = build_parser().parse_args([])
    assert (defaults.port, defaults.dev_key, defaults.plugged_in) == (
        25000,
        "1234",
        False,
    )
    args = build_parser().parse_args(
        ["--port", "0", "--dev-key", "0042", "--plugged-in", "--tick", "0.5"]
    )
    assert (args.port, args.dev_key, args.plugged_in, args.tick) == (
        0,
        "0042",
        True,
        0.5,
    )


async def test_serve(capsys: pytest.CaptureFixture[str]) -> None:
    """The command line serves a plugged-in box for the given duration."""
    args = build_parser().parse_args(
        ["--port", "0", "--plugged-in", "--tick", "0.01", "--duration", "0.05"]
    )
    await serve(args)
    assert "simulator on http://127.0.0.1:" in capsys.readouterr().out


async def test_serve_until_cancelled() -> None:
    """Without a duration the command line runs until stopped."""
    task = asyncio.create_task(serve(build_parser().parse_args(["--port", "0"])))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_main_stops_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C ends the command line cleanly."""

    def interrupted(coroutine: Any) -> None:
        coroutine.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(asyncio, "run", interrupted)
    assert main(["--port", "0"]) == 0


# --- Layering ------------------------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    """Return every module a source file imports, relative ones resolved by name."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_no_home_assistant_and_independent_simulator() -> None:
    """The client is publishable alone; the simulator shares nothing with it."""
    root = Path(__file__).parent.parent.parent
    client = imported_modules(root / "custom_components/evse_bridge/api/mennekes.py")
    simulator = imported_modules(root / "simulators/mennekes.py")
    assert not any(name.startswith("homeassistant") for name in client | simulator)
    assert client <= {
        ".errors",
        "asyncio",
        "collections.abc",
        "dataclasses",
        "enum",
        "json",
        "logging",
        "math",
        "re",
        "time",
        "types",
        "typing",
        "urllib.parse",
        "aiohttp",
        "yarl",
        ".http",
        ".model",
    }
    assert not any("evse_bridge" in name or name.startswith(".") for name in simulator)
