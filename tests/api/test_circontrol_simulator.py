"""The real Circontrol client against the protocol-faithful simulator on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator
import runpy
import sys
from typing import Any
from unittest.mock import patch
import warnings

import aiohttp
import pytest
from yarl import URL

from custom_components.evse_bridge.api.circontrol import (
    CircontrolClient,
)
from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    ChargerResponseError,
    ChargerTimeoutError,
)
from custom_components.evse_bridge.api.model import (
    ConnectorState,
    ConnectorStatus,
    Part,
)
from simulators import circontrol as simulator_module
from simulators.circontrol import CircontrolSimulator, SimulatedFaults

pytestmark = pytest.mark.usefixtures("socket_enabled")

VALUES = "/services/user/values.xml"
CHARGE_INFO = "/services/chargePointsInterface/chargeInfo.xml"
FORCE = "/services/user/forceVariables.xml"


@pytest.fixture
async def sim() -> AsyncIterator[CircontrolSimulator]:
    """Yield a one-plug simulator on a free port."""
    async with CircontrolSimulator() as simulator:
        yield simulator


@pytest.fixture
async def client(sim: CircontrolSimulator) -> AsyncIterator[CircontrolClient]:
    """Yield a client for the simulator, with instant command verification."""
    async with CircontrolClient(
        host="127.0.0.1",
        port=sim.port,
        request_timeout=2,
        command_verify_interval=0,
    ) as client:
        yield client


async def plug1(client: CircontrolClient) -> tuple[Part, ConnectorState]:
    """Poll and return plug 1 with its connector."""
    part = (await client.get_state()).parts["plug1"]
    assert part.connector is not None
    assert part.meter is not None
    return part, part.connector


async def raw_get(
    sim: CircontrolSimulator, path_qs: str, **kwargs: Any
) -> tuple[int, str]:
    """GET a raw, already-encoded path from the simulator."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(URL(f"{sim.url}{path_qs}", encoded=True), **kwargs) as response,
    ):
        return response.status, await response.text()


async def raw_force(sim: CircontrolSimulator, device_qs: str, body: str) -> int:
    """PUT a forceVariables body to the simulator; the id is sent as given."""
    url = URL(f"{sim.url}{FORCE}?id={device_qs}", encoded=True)
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, data=body) as response,
    ):
        return response.status


def force_body(name: str, value: str) -> str:
    """Build a forceVariables document."""
    return (
        f"<forceVariables><forceVar><forceName>{name}</forceName>"
        f"<forceValue>{value}</forceValue></forceVar></forceVariables>"
    )


# A whole charging session


async def test_session(sim: CircontrolSimulator, client: CircontrolClient) -> None:
    """Plug in, start, charge for an hour, stop, unplug: what a user sees."""
    part, connector = await plug1(client)
    assert connector.status is ConnectorStatus.AVAILABLE
    assert connector.vehicle_connected is False

    sim.plug_in()
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.PREPARING
    assert connector.vendor_status == "waiting_allowed_charge"
    assert connector.vehicle_connected is True

    await client.start_charging(1)
    part, connector = await plug1(client)
    assert connector.status is ConnectorStatus.CHARGING
    assert connector.charging is True
    assert part.meter is not None
    assert part.meter.power_w == 230 * 32
    lifetime_before = part.meter.energy_wh
    assert lifetime_before is not None

    sim.advance(3600)
    part, connector = await plug1(client)
    assert part.meter is not None
    assert part.meter.energy_wh == pytest.approx(lifetime_before + 7360)
    assert connector.session_energy_wh == pytest.approx(7360)
    assert connector.session_duration_s == 3600

    await client.stop_charging(1)
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.FINISHING
    assert connector.charging is False
    assert sim.plug().stopped == simulator_module.STOP_REMOTE

    sim.unplug()
    part, connector = await plug1(client)
    assert connector.status is ConnectorStatus.AVAILABLE
    assert part.meter is not None
    assert part.meter.power_w == 0


async def test_three_phases() -> None:
    """A three-phase box charges at 230 V x 16 A x 3."""
    async with (
        CircontrolSimulator(phases=3, supported_current=16, plugged_in=True) as sim,
        CircontrolClient(host="127.0.0.1", port=sim.port) as client,
    ):
        await client.start_charging(1)
        part, connector = await plug1(client)
        assert part.meter is not None
        assert part.meter.power_w == 230 * 16 * 3
        assert connector.max_current_a == 16


async def test_current_limit_changes_power(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """Lowering the limit lowers the power, and energy counts at the new rate."""
    sim.plug_in()
    await client.start_charging(1)
    await client.set_current_limit(1, 10)
    part, connector = await plug1(client)
    assert connector.current_limit_a == 10
    assert part.meter is not None
    assert part.meter.power_w == 2300
    assert part.meter.current_a[0] == 10
    sim.advance(1800)
    _, connector = await plug1(client)
    assert connector.session_energy_wh == pytest.approx(1150)


async def test_disable_and_enable(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """Disabling stops a charge and shows unavailable; enabling makes it ready again."""
    sim.plug_in()
    await client.start_charging(1)
    await client.set_charging_enabled(1, enabled=False)
    part, connector = await plug1(client)
    assert connector.status is ConnectorStatus.UNAVAILABLE
    assert connector.charging_enabled is False
    assert part.meter is not None
    assert part.meter.power_w == 0
    assert sim.plug().stopped == simulator_module.STOP_DISABLED

    with pytest.raises(ChargerCommandError, match="start charging"):
        await client.start_charging(1)

    await client.set_charging_enabled(1, enabled=True)
    part, connector = await plug1(client)
    assert connector.status is ConnectorStatus.CHARGING
    assert connector.charging_enabled is True
    assert part.meter is not None
    assert part.meter.power_w == 230 * 32
    assert sim.plug().stopped == simulator_module.STOP_NONE


async def test_pause_and_resume_a_paused_charge(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """Resuming after a remote pause charges again; a freed plug just waits."""
    sim.plug_in()
    await client.start_charging(1)
    await raw_force(sim, "EVSE", force_body("EVSE.PLUG.REMOTE_PAUSE", "1"))
    await client.set_charging_enabled(1, enabled=True)  # already in service
    _, connector = await plug1(client)
    assert connector.charging is True

    await client.set_charging_enabled(1, enabled=False)
    sim.unplug()
    await client.set_charging_enabled(1, enabled=True)
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.AVAILABLE
    assert connector.charging is False


async def test_resume_start_refused(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """A box that ignores the remote start fails the resume; the plug is in service."""
    sim.plug_in()
    await client.start_charging(1)
    await client.set_charging_enabled(1, enabled=False)
    sim.faults.refuse_remote_start = True
    with pytest.raises(ChargerCommandError, match="resume charging on plug 1"):
        await client.set_charging_enabled(1, enabled=True)
    _, connector = await plug1(client)
    assert connector.charging_enabled is True
    assert connector.charging is False
    assert connector.status is ConnectorStatus.PREPARING


async def test_start_without_vehicle(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """Starting with no vehicle is refused and nothing is forced."""
    with pytest.raises(ChargerCommandError, match="no vehicle"):
        await client.start_charging(1)
    assert sim.requests[FORCE] == 0


async def test_requests_per_poll(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """After the first poll, each get_state() costs two requests."""
    await client.get_state()
    sim.requests.clear()
    for _ in range(5):
        await client.get_state()
    assert sum(sim.requests.values()) == 10
    assert sim.requests[CHARGE_INFO] == 5
    assert sim.requests[VALUES] == 5


async def test_request_line_uses_percent_20(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """The request line really carries %20 for spaces in device names."""
    await client.set_charging_enabled(1, enabled=False)
    assert f"PUT {FORCE}?id=Plug%20-%20Mode%203" in sim.request_log
    assert any(
        "var=Plug%20-%20Mode%203.OUT_OF_SERVICE" in line for line in sim.request_log
    )
    assert not any("+" in line for line in sim.request_log)
    assert sim.plug().out_of_service is True


async def test_plus_encoding_finds_no_device(sim: CircontrolSimulator) -> None:
    """Like the real box, '+' for a space addresses no device."""
    status, body = await raw_get(sim, f"{VALUES}?var=Plug+-+Mode+3.OUT_OF_SERVICE")
    assert status == 200
    assert "OUT_OF_SERVICE" not in body
    status, body = await raw_get(
        sim, f"{VALUES}?var=Plug%20-%20Mode%203.OUT_OF_SERVICE"
    )
    assert "<value>0.000000</value>" in body

    status = await raw_force(
        sim, "Plug+-+Mode+3", force_body("Plug - Mode 3.OUT_OF_SERVICE", "1")
    )
    assert status == 204
    assert sim.plug().out_of_service is False
    status = await raw_force(
        sim, "Plug%20-%20Mode%203", force_body("Plug - Mode 3.OUT_OF_SERVICE", "1")
    )
    assert status == 204
    assert sim.plug().out_of_service is True


async def test_server_banner_and_shapes(sim: CircontrolSimulator) -> None:
    """Every answer carries the banner; values have six decimals."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sim.url}{VALUES}?var=EVSE.PLUG.CURRENT_REDUCTION") as response,
    ):
        assert response.headers["Server"] == "CirCarLife Scada"
        assert "<value>32.000000</value>" in await response.text()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sim.url}/nowhere") as response,
    ):
        assert response.status == 404
        assert response.headers["Server"] == "CirCarLife Scada"


async def test_info(client: CircontrolClient) -> None:
    """The identity comes from the main device GUID and the Scada version."""
    info = await client.get_info()
    assert info.serial_number == simulator_module.MAIN_DEVICE
    assert info.firmware_version == "4.2.3"
    assert info.manufacturer == "Circontrol"


async def test_info_with_serial_number() -> None:
    """A box that reports a serial number is identified by it."""
    async with (
        CircontrolSimulator(serial_number="CCL-0042") as sim,
        CircontrolClient(host="127.0.0.1", port=sim.port) as client,
    ):
        assert (await client.get_info()).serial_number == "CCL-0042"


async def test_info_without_information_xml() -> None:
    """Without information.xml, a serial number still identifies the box."""
    async with (
        CircontrolSimulator(serial_number="CCL-0042") as sim,
        CircontrolClient(host="127.0.0.1", port=sim.port) as client,
    ):
        sim.faults.missing_information = True
        info = await client.get_info()
        assert info.serial_number == "CCL-0042"
        assert info.firmware_version is None
        assert sim.requests["/services/system/information.xml"] == 1


async def test_info_without_information_xml_nor_serial(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """A box with neither a serial number nor information.xml has no identity."""
    sim.faults.missing_information = True
    with pytest.raises(ChargerResponseError, match="serial"):
        await client.get_info()


@pytest.mark.parametrize("plugs", [0, 2])
async def test_plug_counts(plugs: int) -> None:
    """Boxes with no plug or two plugs report that many parts."""
    async with (
        CircontrolSimulator(plugs=plugs, plugged_in=True) as sim,
        CircontrolClient(
            host="127.0.0.1", port=sim.port, command_verify_interval=0
        ) as client,
    ):
        state = await client.get_state()
        assert list(state.parts) == [f"plug{n}" for n in range(1, plugs + 1)]
        if plugs == 2:
            await client.start_charging(2)
            await client.set_charging_enabled(1, enabled=False)
            state = await client.get_state()
            assert state.parts["plug2"].connector is not None
            assert state.parts["plug2"].connector.charging is True
            assert state.parts["plug1"].connector is not None
            assert state.parts["plug1"].connector.status is ConnectorStatus.UNAVAILABLE


# Faults


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        (SimulatedFaults(status=401), ChargerAuthenticationError),
        (SimulatedFaults(status=403), ChargerAuthenticationError),
        (SimulatedFaults(status=404), ChargerResponseError),
        (SimulatedFaults(status=500), ChargerResponseError),
        (SimulatedFaults(timeout=True), ChargerTimeoutError),
        (SimulatedFaults(delay=1.0), ChargerTimeoutError),
        (SimulatedFaults(invalid_xml=True), ChargerResponseError),
        (SimulatedFaults(entity_bomb=True), ChargerResponseError),
    ],
)
async def test_faults_and_recovery(
    sim: CircontrolSimulator, faults: SimulatedFaults, error: type[ChargerError]
) -> None:
    """Each fault raises its error; once cleared, polling works again."""
    async with CircontrolClient(
        host="127.0.0.1", port=sim.port, request_timeout=0.3
    ) as client:
        await client.get_state()
        sim.faults = faults
        with pytest.raises(error):
            await client.get_state()
        sim.faults.clear()
        assert sim.faults == SimulatedFaults()
        _, connector = await plug1(client)
        assert connector.status is ConnectorStatus.AVAILABLE


async def test_slow_answer_within_timeout(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """A slow box that answers within the time-out is fine."""
    sim.faults.delay = 0.1
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.AVAILABLE


async def test_mismatched_case_tags(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """Closing tags in another case still parse."""
    sim.faults.mismatched_case_tags = True
    _, body = await raw_get(sim, CHARGE_INFO)
    assert "</ChargeInfo>" in body
    sim.plug_in()
    await client.start_charging(1)
    part, connector = await plug1(client)
    assert connector.status is ConnectorStatus.CHARGING
    assert part.meter is not None
    assert part.meter.power_w == 7360


async def test_nan_values(sim: CircontrolSimulator, client: CircontrolClient) -> None:
    """Meter values of nan become unknown, not zero."""
    sim.faults.nan_values = True
    part, connector = await plug1(client)
    assert part.meter is not None
    assert part.meter.energy_wh is None
    assert part.meter.power_w is None
    assert part.meter.voltage_v == (None, None, None)
    assert connector.session_energy_wh is None
    assert connector.status is ConnectorStatus.AVAILABLE


async def test_refused_commands(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """A box that answers 204 but ignores the command raises ChargerCommandError."""
    sim.plug_in()
    sim.faults.refuse_commands = True
    with pytest.raises(ChargerCommandError):
        await client.set_charging_enabled(1, enabled=False)
    with pytest.raises(ChargerCommandError):
        await client.set_current_limit(1, 16)
    with pytest.raises(ChargerCommandError):
        await client.start_charging(1)
    _, connector = await plug1(client)
    assert connector.charging_enabled is True
    assert connector.current_limit_a == 32
    sim.faults.clear()
    await client.set_current_limit(1, 16)
    _, connector = await plug1(client)
    assert connector.current_limit_a == 16


async def test_refused_stop(sim: CircontrolSimulator, client: CircontrolClient) -> None:
    """A stop the box ignores leaves the plug charging and raises an error."""
    sim.plug_in()
    await client.start_charging(1)
    sim.faults.refuse_commands = True
    with pytest.raises(ChargerCommandError, match="stop charging"):
        await client.stop_charging(1)
    _, connector = await plug1(client)
    assert connector.charging is True


async def test_authentication() -> None:
    """With credentials configured, wrong ones get 401 and right ones work."""
    async with CircontrolSimulator(username="admin", password="pw") as sim:  # noqa: S106
        for user, password in ((None, None), ("admin", "wrong")):
            async with CircontrolClient(
                host="127.0.0.1", port=sim.port, username=user, password=password
            ) as client:
                with pytest.raises(ChargerAuthenticationError) as caught:
                    await client.get_state()
                assert "wrong" not in str(caught.value)
        async with CircontrolClient(
            host="127.0.0.1",
            port=sim.port,
            username="admin",
            password="pw",  # noqa: S106 - a test credential
        ) as client:
            assert "plug1" in (await client.get_state()).parts


async def test_box_gone(sim: CircontrolSimulator) -> None:
    """A stopped box is a connection error."""
    port = sim.port
    await sim.close()
    async with CircontrolClient(host="127.0.0.1", port=port) as client:
        with pytest.raises(ChargerConnectionError):
            await client.get_state()


# Simulator behaviour beyond the client


async def test_state_machine_edges(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """Pause, resume, low current, errors and ENABLE behave like the box."""
    sim.plug_in()
    await client.start_charging(1)
    evse = "EVSE"
    assert await raw_force(sim, evse, force_body("EVSE.PLUG.REMOTE_PAUSE", "1")) == 204
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.SUSPENDED_EVSE
    assert connector.vendor_status == "paused"
    await raw_force(sim, evse, force_body("EVSE.PLUG.REMOTE_START", "1"))
    _, connector = await plug1(client)
    assert connector.charging is True

    # Below 6 A (only reachable without the client's range check) the charge waits.
    await raw_force(sim, evse, force_body("EVSE.PLUG.CURRENT_REDUCTION", "0"))
    part, connector = await plug1(client)
    assert connector.vendor_status == "waiting_power"
    assert part.meter is not None
    assert part.meter.power_w == 0
    await raw_force(sim, evse, force_body("EVSE.PLUG.CURRENT_REDUCTION", "20"))
    part, _ = await plug1(client)
    assert part.meter is not None
    assert part.meter.power_w == 4600

    sim.set_error(1, 1 << 5)
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.FAULTED
    assert connector.problem is True
    sim.set_error(1, 0)
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.PREPARING
    assert connector.problem is False
    sim.set_error(1, 0)  # clearing twice changes nothing

    await raw_force(sim, evse, force_body("EVSE.PLUG.ENABLE", "0"))
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.UNAVAILABLE
    assert connector.charging_enabled is False
    sim.unplug()
    await raw_force(sim, evse, force_body("EVSE.PLUG.ENABLE", "1"))
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.AVAILABLE


async def test_repeated_actions_change_nothing(
    sim: CircontrolSimulator, client: CircontrolClient
) -> None:
    """Repeated plug-ins, starts, stops and enables leave the state alone."""
    await client.stop_charging(1)  # nothing to stop
    await client.set_charging_enabled(1, enabled=True)  # already enabled
    sim.plug_in()
    await client.start_charging(1)
    begin = sim.plug().begin_date
    sim.plug_in()
    await raw_force(sim, "EVSE", force_body("EVSE.PLUG.REMOTE_START", "1"))
    assert sim.plug().begin_date == begin
    _, connector = await plug1(client)
    assert connector.charging is True
    await client.set_charging_enabled(1, enabled=False)
    await raw_force(
        sim, "EVSE", force_body("EVSE.PLUG.ENABLE", "0")
    )  # already disabled
    # An error raised and cleared while disabled leaves the plug disabled.
    sim.set_error(1, 1)
    sim.set_error(1, 0)
    _, connector = await plug1(client)
    assert connector.status is ConnectorStatus.UNAVAILABLE


async def test_force_variables_edges(sim: CircontrolSimulator) -> None:
    """Bad bodies get 400; foreign, read-only or non-numeric variables are ignored."""
    assert await raw_force(sim, "EVSE", "<forceVariables/>") == 400
    mode3 = "Plug%20-%20Mode%203"
    # A variable of another device than ?id= is not forced.
    await raw_force(sim, "EVSE", force_body("Plug - Mode 3.OUT_OF_SERVICE", "1"))
    await raw_force(sim, mode3, force_body("Plug - Mode 3.OUT_OF_SERVICE", "x"))
    await raw_force(sim, mode3, force_body("Plug - Mode 3.STATE", "5"))
    await raw_force(sim, "EVSE", force_body("EVSE.PLUG.REMOTE_STOP", "0"))
    assert sim.plug().out_of_service is False
    await raw_force(sim, mode3, force_body("Plug - Mode 3.INTENSITY", "16"))
    await raw_force(sim, mode3, force_body("Plug - Mode 3.PREDUCTION", "75"))
    assert sim.plug().intensity == 16
    assert sim.plug().power_reduction == 75
    # Remote start with nobody plugged in changes nothing.
    await raw_force(sim, "EVSE", force_body("EVSE.PLUG.REMOTE_START", "1"))
    assert sim.plug().state == simulator_module.AVAILABLE


async def test_other_endpoints(sim: CircontrolSimulator) -> None:
    """The remaining endpoints answer with the documented shapes."""
    sim.plug_in()
    _, body = await raw_get(sim, "/services/user/devices.xml")
    assert "<id>Plug - Mode 3</id>" in body
    _, body = await raw_get(sim, "/services/chargePointsInterface/devices.xml")
    assert "<id>EVSE</id>" in body
    _, body = await raw_get(sim, "/services/chargePointsInterface/deviceInfo.xml")
    assert "<devicesInfo/>" in body
    _, body = await raw_get(
        sim, "/services/user/deviceInfo.xml?id=Plug%20-%20Mode%203&id=Nope"
    )
    assert "<type>MODO3</type>" in body
    assert "<var>Plug - Mode 3.OUT_OF_SERVICE</var>" in body
    _, body = await raw_get(sim, "/services/chargePointsInterface/plugState.xml")
    assert "<vehicleConnected>T</vehicleConnected>" in body
    _, body = await raw_get(sim, "/services/chargePointsInterface/chargeState.xml")
    assert "<chargingPhases>0</chargingPhases>" in body
    _, body = await raw_get(sim, "/services/devices/deviceState.xml?id=EVSE")
    assert "<id>EVSE.PLUG.CC</id><text><textValue><value>1.000000</value>" in body
    assert "<textStr>-</textStr>" in body
    _, body = await raw_get(sim, "/services/devices/deviceState.xml?id=Nope")
    assert "<deviceState/>" in body
    _, body = await raw_get(sim, "/services/system/status.xml")
    assert "<deviceId>" in body
    _, body = await raw_get(sim, f"{VALUES}?id=Plug%20-%20Meter")
    assert "<id>Plug - Meter.VI</id><value>230.000000</value>" in body
    assert sim.request_log[0] == "GET /services/user/devices.xml"


async def test_ticking(sim: CircontrolSimulator) -> None:
    """The background tick moves the clock on."""
    start = sim.now
    sim.start_ticking(0.01)
    for _ in range(200):
        if sim.now > start:
            break
        await asyncio.sleep(0.01)
    assert sim.now > start


def test_bad_settings() -> None:
    """Unsupported phases and a clock going back are refused."""
    with pytest.raises(ValueError, match="phases"):
        CircontrolSimulator(phases=2)
    with pytest.raises(ValueError, match="back"):
        CircontrolSimulator().advance(-1)


# Command line


def test_parse_args() -> None:
    """The CLI takes port, plugs, credentials and a plugged-in flag."""
    args = simulator_module.parse_args(
        [
            "--port",
            "8081",
            "--plugs",
            "2",
            "--user",
            "u",
            "--password",
            "p",
            "--plugged-in",
        ]
    )
    assert (args.port, args.plugs, args.user, args.password, args.plugged_in) == (
        8081,
        2,
        "u",
        "p",
        True,
    )
    defaults = simulator_module.parse_args([])
    assert (defaults.host, defaults.port, defaults.plugs, defaults.phases) == (
        "127.0.0.1",
        8080,
        1,
        1,
    )
    assert defaults.plugged_in is False
    with pytest.raises(SystemExit):
        simulator_module.parse_args(["--plugs", "3"])


async def test_run_serves_until_cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    """run() serves a box with a vehicle plugged in until it is cancelled."""
    args = simulator_module.parse_args(["--port", "0", "--plugged-in"])
    ready = asyncio.Event()
    task = asyncio.create_task(simulator_module.run(args, ready))
    await ready.wait()
    output = capsys.readouterr().out
    port = int(output.split(":")[2].split()[0])
    async with CircontrolClient(host="127.0.0.1", port=port) as client:
        _, connector = await plug1(client)
        assert connector.vehicle_connected is True
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_module_entry_point() -> None:
    """``python -m simulators.circontrol --help`` prints usage and exits 0."""
    with (
        patch.object(sys, "argv", ["circontrol", "--help"]),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)  # module already imported
        with pytest.raises(SystemExit) as caught:
            runpy.run_module("simulators.circontrol", run_name="__main__")
    assert caught.value.code == 0


def test_main_stops_on_ctrl_c() -> None:
    """main() returns 0 after Ctrl-C."""

    async def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    with patch.object(simulator_module, "run", interrupted):
        assert simulator_module.main(["--port", "0"]) == 0
