"""The vendor-neutral adapters, against the simulated chargers over HTTP."""

from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
import pytest

from custom_components.evse_bridge.api.chargers import (
    CircontrolCharger,
    MennekesCharger,
)
from custom_components.evse_bridge.api.circontrol import CircontrolClient
from custom_components.evse_bridge.api.control import (
    Capabilities,
    ChargerControl,
    CurrentRange,
)
from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    CommandNotSupportedError,
)
from custom_components.evse_bridge.api.mennekes import MennekesClient
from custom_components.evse_bridge.api.model import ConnectorStatus, Part
from simulators.circontrol import CircontrolSimulator
from simulators.mennekes import MennekesSimulator

PIN = "1234"


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """Open an HTTP session to 127.0.0.1."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def mennekes(
    session: aiohttp.ClientSession,
) -> AsyncGenerator[tuple[MennekesSimulator, MennekesCharger]]:
    """Return a simulated AMTRON with a charging car, and its adapter."""
    async with MennekesSimulator(dev_key=PIN) as simulator:
        simulator.plug_in()
        client = MennekesClient(
            host="127.0.0.1",
            port=simulator.port,
            dev_key=PIN,
            session=session,
            request_timeout=0.5,
            request_interval=0,
            verify_interval=0,
        )
        yield simulator, MennekesCharger(client=client)


@pytest.fixture
async def circontrol(
    session: aiohttp.ClientSession,
) -> AsyncGenerator[tuple[CircontrolSimulator, CircontrolCharger]]:
    """Return a simulated CirCarLife with a car connected, and its adapter."""
    async with CircontrolSimulator(plugged_in=True) as simulator:
        client = CircontrolClient(
            host="127.0.0.1",
            port=simulator.port,
            session=session,
            request_timeout=0.5,
            command_verify_interval=0,
        )
        yield simulator, CircontrolCharger(client=client)


async def test_mennekes_reads_and_controls(
    mennekes: tuple[MennekesSimulator, MennekesCharger],
) -> None:
    """Every neutral command reaches the box and is read back."""
    simulator, charger = mennekes
    assert (await charger.get_info()).serial_number == "1234567890"
    state = await charger.get_state()
    connector = state.parts["connector1"].connector
    assert connector is not None
    assert connector.status is ConnectorStatus.CHARGING
    assert connector.operating_mode == "remote"

    await charger.set_current_limit(1, 10)
    assert simulator.remote_current == 10
    await charger.set_charging_enabled(1, False)
    assert simulator.chg_state == "Paused"
    await charger.set_charging_enabled(1, True)
    assert simulator.chg_state == "Charging"
    await charger.stop_charging(1)
    assert simulator.chg_state == "Terminated"
    await charger.start_charging(1)
    assert simulator.chg_state == "Charging"
    await charger.set_operating_mode(1, "time")
    await charger.set_auto_start(1, False)
    connector = (await charger.get_state()).parts["connector1"].connector
    assert connector is not None
    assert (connector.operating_mode, connector.auto_start) == ("time", False)


async def test_mennekes_reads_dev_info_rarely(
    mennekes: tuple[MennekesSimulator, MennekesCharger],
) -> None:
    """Polls read ChargeData each time and DevInfo once (until it is old)."""
    simulator, charger = mennekes
    for _ in range(3):
        await charger.get_state()
    assert simulator.requests["GET ChargeData"] == 3
    assert simulator.requests["GET DevInfo"] == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("wrong_pin", ChargerAuthenticationError),
        ("status", ChargerError),
        ("timeout", ChargerConnectionError),
        ("refuse_commands", ChargerCommandError),
    ],
)
async def test_mennekes_errors_are_neutral(
    mennekes: tuple[MennekesSimulator, MennekesCharger],
    fault: str,
    error: type[Exception],
) -> None:
    """Each failure arrives as the matching neutral error."""
    simulator, charger = mennekes
    if fault == "wrong_pin":
        simulator.dev_key = "9999"
    elif fault == "status":
        simulator.faults.status = 500
    else:
        setattr(simulator.faults, fault, True)
    with pytest.raises(error):
        await charger.set_current_limit(1, 8)


async def test_circontrol_reads_and_controls(
    circontrol: tuple[CircontrolSimulator, CircontrolCharger],
) -> None:
    """Commands address plugs by connector number."""
    simulator, charger = circontrol
    assert (await charger.get_info()).manufacturer == "Circontrol"
    await charger.start_charging(1)
    await charger.set_current_limit(1, 16)
    assert simulator.power_w(simulator.plug(1)) == 230 * 16
    await charger.set_charging_enabled(1, False)
    assert simulator.plug(1).out_of_service
    await charger.set_charging_enabled(1, True)
    await charger.stop_charging(1)
    connector = (await charger.get_state()).parts["plug1"].connector
    assert connector is not None
    assert connector.charging is False


async def test_circontrol_errors_are_neutral(
    circontrol: tuple[CircontrolSimulator, CircontrolCharger],
) -> None:
    """Refused credentials and a charger that ignores commands are told apart."""
    simulator, charger = circontrol
    simulator.faults.refuse_commands = True
    with pytest.raises(ChargerCommandError):
        await charger.set_charging_enabled(1, False)
    simulator.faults.clear()
    simulator.faults.status = 401
    with pytest.raises(ChargerAuthenticationError):
        await charger.get_state()


async def test_capabilities_follow_what_the_charger_reports(
    mennekes: tuple[MennekesSimulator, MennekesCharger],
    circontrol: tuple[CircontrolSimulator, CircontrolCharger],
) -> None:
    """Each make offers what its protocol has; ranges come from the charger."""
    _, amtron = mennekes
    part = (await amtron.get_state()).parts["connector1"]
    capabilities = amtron.capabilities(part)
    assert part.connector is not None
    assert part.connector.max_current_a == 16
    assert capabilities.current_limit == CurrentRange(min_a=6, max_a=16)
    assert capabilities.operating_modes == ("remote", "home_manager", "time")
    assert capabilities.auto_start
    assert capabilities.pause_resume
    assert capabilities.start_stop
    _, wallbox = circontrol
    plug = (await wallbox.get_state()).parts["plug1"]
    capabilities = wallbox.capabilities(plug)
    assert capabilities.current_limit is not None
    assert capabilities.operating_modes == ()
    assert not capabilities.auto_start
    with pytest.raises(CommandNotSupportedError):
        await wallbox.set_operating_mode(1, "remote")
    with pytest.raises(CommandNotSupportedError):
        await wallbox.set_phases(1, 1)


def test_current_range_checks_limits() -> None:
    """A range refuses what the charger would not take."""
    pausing = CurrentRange(min_a=6, max_a=16, zero_pauses=True)
    for amps in (0, 6, 16):
        pausing.check(amps)
    for amps in (3, 17, -1):
        with pytest.raises(ValueError, match="0 \\(pause\\) or 6-16 A"):
            pausing.check(amps)
    with pytest.raises(ValueError, match="must be 6-32 A"):
        CurrentRange(min_a=6, max_a=32).check(0)


@pytest.mark.parametrize(
    "command",
    [
        lambda control: control.set_current_limit(1, 10),
        lambda control: control.set_charging_enabled(1, True),
        lambda control: control.start_charging(1),
        lambda control: control.stop_charging(1),
        lambda control: control.set_phases(1, 1),
        lambda control: control.set_operating_mode(1, "eco"),
        lambda control: control.set_auto_start(1, True),
        lambda control: control.set_available(1, False),
        lambda control: control.restart(),
    ],
)
async def test_a_control_offers_nothing_it_does_not_implement(
    command: Callable[[ChargerControl], Awaitable[object]],
) -> None:
    """A make's control refuses every command its protocol does not offer."""
    control = ChargerControl()
    assert control.capabilities(Part(id="evse1", number=1)) == Capabilities()
    with pytest.raises(CommandNotSupportedError, match="ChargerControl offers no"):
        await command(control)
