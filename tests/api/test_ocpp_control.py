"""Meter values into the neutral model, and commands read back: with the simulator."""

from collections.abc import AsyncIterator
from datetime import timedelta
import math
from typing import Any

import pytest

from custom_components.evse_bridge.api.model import ConnectorStatus
from custom_components.evse_bridge.api.ocpp import (
    Admission,
    AvailabilityChange,
    OcppCallError,
    OcppCommandError,
    OcppConnectionError,
    OcppRejectedError,
    OcppSettings,
)
from simulators.ocpp import OcppSimulator

from .ocpp_helpers import (
    Harness,
    accepted_simulator,
    connector,
    logged,
    meter,
    running_harness,
)

VOLTAGE = 230.0


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow the loopback sockets these end-to-end tests need."""


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """Run a central system on a free port."""
    async with running_harness() as running:
        yield running


@pytest.fixture
async def sim(harness: Harness) -> AsyncIterator[OcppSimulator]:
    """Yield an accepted simulated charge point with a car plugged in, charging."""
    async with accepted_simulator(harness) as simulator:
        await simulator.plug_in()
        await simulator.tick(60)
        await harness.settle(simulator)
        yield simulator


async def reported(harness: Harness, sim: OcppSimulator, seconds: float = 60) -> Any:
    """Let the simulator charge and report, and return the newest snapshot."""
    await sim.tick(seconds)
    await harness.settle(sim)
    return harness.snapshots.latest()


def sent(sim: OcppSimulator, action: str) -> list[dict[str, Any]]:
    """Return the payloads of the calls the central system sent."""
    return [frame[3] for frame in sim.frames if frame[0] == 2 and frame[2] == action]


# --- Meter values into the model ------------------------------------------------------


async def test_meter_values_in_the_neutral_model(
    harness: Harness, sim: OcppSimulator
) -> None:
    """What the charge point measures shows per connector, in W, Wh, A and V."""
    snapshot = await reported(harness, sim)
    reading, state = meter(snapshot), connector(snapshot)
    car = sim.connectors[1]
    assert reading.energy_wh == pytest.approx(car.energy_wh, abs=1)
    assert reading.power_w == pytest.approx(16 * VOLTAGE * 3)  # sent in kW
    assert reading.current_a == (16.0, 16.0, 16.0)
    assert reading.voltage_v == (VOLTAGE, VOLTAGE, VOLTAGE)
    assert state.status is ConnectorStatus.CHARGING
    assert state.vendor_status == "charging"
    assert (state.vehicle_connected, state.charging, state.problem) == (
        True,
        True,
        False,
    )
    assert state.charging_enabled
    assert state.offered_current_a == 32.0
    transaction = harness.charge_point().records[1].transaction
    assert transaction is not None
    assert state.session_energy_wh == pytest.approx(
        car.energy_wh - (transaction.meter_start_wh or 0), abs=1
    )
    assert state.session_duration_s == pytest.approx(120, abs=2)
    assert snapshot.soc_percent["connector1"] == pytest.approx(car.soc_percent, abs=1)


async def test_listener_only_hears_changes(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Heartbeats and repeated statuses do not call the listener; new values do."""
    before = len(harness.snapshots.seen)
    for _ in range(3):
        await sim.heartbeat()
        await sim.send_status(1)
    assert len(harness.snapshots.seen) == before
    await reported(harness, sim)
    assert len(harness.snapshots.seen) > before


# --- Current limit --------------------------------------------------------------------


async def test_current_limit_changes_what_the_charger_delivers(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A lower limit lowers current and power in the next meter values."""
    control = harness.control()
    assert await control.set_current_limit(1, 10) == 10
    snapshot = await reported(harness, sim)
    assert meter(snapshot).current_a == (10.0, 10.0, 10.0)
    assert meter(snapshot).power_w == pytest.approx(10 * VOLTAGE * 3)
    assert connector(snapshot).current_limit_a == 10
    assert connector(snapshot).offered_current_a == 10

    assert await control.set_current_limit(1, 6.5) == 6.5
    snapshot = await reported(harness, sim)
    assert meter(snapshot).power_w == pytest.approx(6.5 * VOLTAGE * 3)

    # Below 6 A the car cannot charge: the charge point suspends.
    assert await control.set_current_limit(1, 3) == 3
    snapshot = await reported(harness, sim)
    assert meter(snapshot).power_w == 0
    assert connector(snapshot).status is ConnectorStatus.SUSPENDED_EVSE


async def test_limit_profile_is_a_renewable_tx_default_profile(
    harness: Harness, sim: OcppSimulator
) -> None:
    """The limit is a TxDefaultProfile of our own id that expires unless renewed."""
    await harness.control().set_current_limit(1, 10, valid_for=timedelta(minutes=5))
    await harness.control().set_current_limit(1, 11, valid_for=timedelta(minutes=5))
    profiles = [
        payload["csChargingProfiles"] for payload in sent(sim, "SetChargingProfile")
    ]
    assert {profile["chargingProfileId"] for profile in profiles} == {4201}
    assert {profile["chargingProfilePurpose"] for profile in profiles} == {
        "TxDefaultProfile"
    }
    assert {profile["stackLevel"] for profile in profiles} == {
        5
    }  # the charger's maximum
    assert len(sim.profiles) == 1  # the second replaced the first
    # Home Assistant stops renewing: the charger falls back to its own default.
    await sim.advance(6 * 60)
    snapshot = await reported(harness, sim)
    assert meter(snapshot).current_a == (16.0, 16.0, 16.0)  # the car's own maximum


async def test_stack_level_from_the_settings() -> None:
    """A stack level in the settings is used instead of the charger's maximum."""
    settings = OcppSettings(response_timeout_s=5, verify_timeout_s=5, stack_level=1)
    async with (
        running_harness(settings=settings) as harness,
        accepted_simulator(harness) as sim,
    ):
        await harness.control().set_current_limit(0, 16)
        profile = sent(sim, "SetChargingProfile")[0]["csChargingProfiles"]
        assert (profile["stackLevel"], profile["chargingProfileId"]) == (1, 4200)


async def test_pause_and_resume(harness: Harness, sim: OcppSimulator) -> None:
    """Pause is a 0 A profile; resume sets the limit from before the pause."""
    control = harness.control()
    await control.set_current_limit(1, 10)
    await control.pause(1)
    await control.pause(1)  # renewing a pause keeps the limit to resume to
    snapshot = await reported(harness, sim)
    assert meter(snapshot).power_w == 0
    assert connector(snapshot).current_limit_a == 0
    assert connector(snapshot).status is ConnectorStatus.SUSPENDED_EVSE

    assert await control.resume(1) == 10
    snapshot = await reported(harness, sim)
    assert meter(snapshot).current_a == (10.0, 10.0, 10.0)
    assert connector(snapshot).status is ConnectorStatus.CHARGING


async def test_resume_without_a_limit_before(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Resuming a pause set without a limit before it removes our profile."""
    await harness.control().pause(1)
    assert meter(await reported(harness, sim)).power_w == 0
    assert await harness.control().resume(1) == 32  # the charger's own maximum
    assert not sim.profiles
    snapshot = await reported(harness, sim)
    assert meter(snapshot).current_a == (16.0, 16.0, 16.0)


async def test_resume_that_does_not_take(harness: Harness, sim: OcppSimulator) -> None:
    """A resume the charger ignores is OcppCommandError; one it fails, OcppCallError."""
    await harness.control().pause(1)
    sim.faults.ignore.add("ClearChargingProfile")
    with pytest.raises(OcppCommandError, match=r"schedule gives 0\.0 A"):
        await harness.control().resume(1)
    sim.faults.call_errors["ClearChargingProfile"] = "GenericError"
    with pytest.raises(OcppCallError, match="GenericError"):
        await harness.control().resume(1)


async def test_limit_read_back_from_meter_values(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Without GetCompositeSchedule, the offered current in meter values reads back."""
    sim.faults.call_errors["GetCompositeSchedule"] = "NotImplemented"
    assert await harness.control().set_current_limit(1, 10) == 10
    assert sent(sim, "TriggerMessage")[-1] == {
        "requestedMessage": "MeterValues",
        "connectorId": 1,
    }
    sim.faults.ignore.add("SetChargingProfile")
    with pytest.raises(OcppCommandError, match=r"offers 10\.0 A"):
        await harness.control().set_current_limit(1, 8)


async def test_limit_that_cannot_be_read_back(
    harness: Harness, sim: OcppSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A charger with neither schedule nor offered current: no read-back, said once."""
    sim.faults.refuse.update({"GetCompositeSchedule", "TriggerMessage"})
    assert await harness.control().set_current_limit(1, 10) is None
    assert await harness.control().set_current_limit(1, 11) is None
    assert connector(harness.charge_point().snapshot()).current_limit_a is None
    assert logged(caplog, "cannot be read back") == 1


# --- Refused and ignored commands -----------------------------------------------------


@pytest.mark.parametrize(
    ("action", "command"),
    [
        ("SetChargingProfile", lambda control: control.set_current_limit(1, 10)),
        ("RemoteStopTransaction", lambda control: control.stop(1)),
        ("ChangeAvailability", lambda control: control.disable(2)),
        ("Reset", lambda control: control.reset()),
    ],
    ids=["limit", "stop", "disable", "reset"],
)
async def test_refused_commands(harness: Harness, action: str, command: Any) -> None:
    """A command the charge point refuses raises OcppRejectedError with its status."""
    async with accepted_simulator(harness, connectors=2) as sim:
        await sim.plug_in()
        await harness.settle(sim)
        sim.faults.refuse.add(action)
        with pytest.raises(OcppRejectedError) as refused:
            await command(harness.control())
        assert refused.value.status == "Rejected"


@pytest.mark.parametrize(
    ("action", "command"),
    [
        ("SetChargingProfile", lambda control: control.set_current_limit(1, 10)),
        ("RemoteStopTransaction", lambda control: control.stop(1)),
        ("ChangeAvailability", lambda control: control.disable(2)),
        ("Reset", lambda control: control.reset(hard=True)),
    ],
    ids=["limit", "stop", "disable", "reset"],
)
async def test_ignored_commands(action: str, command: Any) -> None:
    """A command accepted but not carried out raises OcppCommandError."""
    settings = OcppSettings(response_timeout_s=5, verify_timeout_s=0.3)
    async with (
        running_harness(settings=settings) as harness,
        accepted_simulator(harness, connectors=2) as sim,
    ):
        await sim.plug_in()
        await harness.settle(sim)
        sim.faults.ignore.add(action)
        with pytest.raises(OcppCommandError):
            await command(harness.control())


async def test_schedule_that_differs(harness: Harness, sim: OcppSimulator) -> None:
    """A charger whose composite schedule shows another limit: OcppCommandError."""
    sim.faults.ignore.add("SetChargingProfile")
    with pytest.raises(OcppCommandError, match="schedule gives 32"):
        await harness.control().set_current_limit(1, 10)


# --- Sessions and availability --------------------------------------------------------


async def test_start_and_stop(harness: Harness) -> None:
    """A remote start runs a transaction; a remote stop ends it, with its energy."""
    async with accepted_simulator(harness) as sim:
        await sim.plug_in(start=False)
        await harness.settle(sim)
        assert connector(harness.snapshots.latest()).status is ConnectorStatus.FINISHING

        control = harness.control()
        transaction = await control.start(1)
        assert transaction.is_open
        assert transaction.id_tag == harness.server.settings.remote_id_tag
        assert await control.start(1) == transaction  # already running
        snapshot = await reported(harness, sim, 600)
        assert connector(snapshot).charging

        stopped = await control.stop(1)
        assert stopped.id == transaction.id
        assert not stopped.is_open
        assert stopped.stop_reason == "Remote"
        assert stopped.energy_wh == pytest.approx(16 * VOLTAGE * 3 * 600 / 3600, abs=2)
        await harness.settle(sim)
        state = connector(harness.snapshots.latest())
        assert state.session_energy_wh == stopped.energy_wh
        with pytest.raises(OcppCommandError, match="No transaction"):
            await control.stop(1)


async def test_start_waits_for_the_car() -> None:
    """A remote start without a car is accepted but starts nothing: OcppCommandError."""
    settings = OcppSettings(response_timeout_s=5, verify_timeout_s=0.3)
    async with (
        running_harness(settings=settings) as harness,
        accepted_simulator(harness) as sim,
    ):
        with pytest.raises(OcppCommandError, match="did not carry it out"):
            await harness.control().start(1)
        await sim.plug_in(start=False)  # the car arrives: the waiting start runs
        await harness.settle(sim)
        assert connector(harness.snapshots.latest()).charging
        sim.faults.refuse.add("RemoteStartTransaction")
        await sim.unplug()
        await sim.plug_in(start=False)
        with pytest.raises(OcppRejectedError):
            await harness.control().start(1, "CARD-7")


async def test_enable_and_disable(harness: Harness) -> None:
    """Disable takes a connector out of service; with a session it is scheduled."""
    async with accepted_simulator(harness, connectors=2) as sim:
        control = harness.control()
        assert await control.disable(2) is AvailabilityChange.APPLIED
        state = connector(harness.snapshots.latest(), 2)
        # Out of service is not paused: charging is still enabled for later.
        assert (state.status, state.charging_enabled) == (
            ConnectorStatus.UNAVAILABLE,
            True,
        )
        assert await control.enable(2) is AvailabilityChange.APPLIED
        assert connector(harness.snapshots.latest(), 2).status is not (
            ConnectorStatus.UNAVAILABLE
        )

        await sim.plug_in(1)
        await harness.settle(sim)
        assert await control.disable(1) is AvailabilityChange.SCHEDULED
        assert connector(harness.snapshots.latest(), 1).charging
        await sim.unplug(1)
        await harness.settle(sim)
        assert (
            connector(harness.snapshots.latest(), 1).status
            is ConnectorStatus.UNAVAILABLE
        )

        assert await control.disable(0) is AvailabilityChange.APPLIED
        assert await control.enable(0) is AvailabilityChange.APPLIED
        snapshot = harness.snapshots.latest()
        assert connector(snapshot, 1).status is not ConnectorStatus.UNAVAILABLE
        assert connector(snapshot, 2).status is not ConnectorStatus.UNAVAILABLE


async def test_reset(harness: Harness, sim: OcppSimulator) -> None:
    """A reset stops the session, and the charge point reconnects and boots."""
    boots = sim.boots
    await harness.control().reset()
    await harness.settle(sim)
    assert sim.boots == boots + 1
    stopped = list(harness.server.ledger)[-1]
    assert stopped.stop_reason == "SoftReset"
    assert harness.snapshots.latest().connected


# --- Arguments and state --------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "match"),
    [
        (lambda control: control.set_current_limit(1, -1), "Current limit"),
        (lambda control: control.set_current_limit(1, 81), "Current limit"),
        (lambda control: control.set_current_limit(1, math.nan), "Current limit"),
        (lambda control: control.set_current_limit(1, True), "Current limit"),
        (lambda control: control.set_current_limit(33, 10), "Connector"),
        (
            lambda control: control.set_current_limit(1, 10, valid_for=timedelta(0)),
            "valid",
        ),
        (lambda control: control.start(0), "Connector"),
        (lambda control: control.stop(-1), "Connector"),
        (lambda control: control.disable(1.5), "Connector"),
    ],
)
async def test_arguments_are_checked(
    harness: Harness, sim: OcppSimulator, command: Any, match: str
) -> None:
    """Values out of range are refused before anything is sent."""
    calls = len(sim.frames)
    with pytest.raises(ValueError, match=match):
        await command(harness.control())
    assert len(sim.frames) == calls


async def test_commands_need_a_connected_accepted_charge_point(
    harness: Harness,
) -> None:
    """A charge point that is gone or not accepted cannot be commanded."""
    async with harness.simulator() as sim:
        await sim.boot()
        with pytest.raises(OcppConnectionError, match="not accepted"):
            await harness.control().enable(1)
    await harness.snapshots.until(lambda snapshot: not snapshot.connected)
    for command in (harness.control().reset(), harness.control().request_boot()):
        with pytest.raises(OcppConnectionError, match="not connected"):
            await command


async def test_request_boot_refused(harness: Harness) -> None:
    """A charge point that will not boot on request: OcppRejectedError."""
    async with harness.simulator() as sim:
        await sim.boot()
        sim.faults.refuse.add("TriggerMessage")
        with pytest.raises(OcppRejectedError):
            await harness.control().request_boot()


async def test_request_boot_ignored() -> None:
    """A charge point that accepts to boot but does not: OcppCommandError."""
    settings = OcppSettings(response_timeout_s=5, verify_timeout_s=0.3)
    async with (
        running_harness(settings=settings) as harness,
        harness.simulator() as sim,
    ):
        await sim.boot()
        sim.faults.ignore.add("TriggerMessage")
        with pytest.raises(OcppCommandError):
            await harness.control().request_boot()


# --- Set-up after acceptance ----------------------------------------------------------


async def test_measurands_one_at_a_time() -> None:
    """A list the charger refuses is tried one measurand at a time."""
    wanted = ("Energy.Active.Import.Register", "Temperature", "Power.Active.Import")
    settings = OcppSettings(
        response_timeout_s=5,
        verify_timeout_s=5,
        measurands=wanted,
        meter_sample_interval_s=15,
    )
    async with (
        running_harness(settings=settings) as harness,
        accepted_simulator(harness) as sim,
    ):
        assert sim.configuration["MeterValuesSampledData"][0] == (
            "Energy.Active.Import.Register,Power.Active.Import"
        )
        assert sim.configuration["MeterValueSampleInterval"][0] == "15"
        assert harness.charge_point().configuration["NumberOfConnectors"] == ("1", True)


async def test_measurands_left_alone() -> None:
    """With configure_meter_values off the charger's configuration is not changed."""
    settings = OcppSettings(
        response_timeout_s=5, verify_timeout_s=5, configure_meter_values=False
    )
    async with (
        running_harness(settings=settings) as harness,
        accepted_simulator(harness) as sim,
    ):
        assert not sent(sim, "ChangeConfiguration")
        assert sent(sim, "TriggerMessage")  # status and meter values asked for still


async def test_set_up_with_a_charger_that_refuses_everything(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused or failing set-up steps are skipped; the charge point still works."""
    async with harness.simulator() as sim:
        sim.faults.call_errors.update(
            {"GetConfiguration": "NotSupported", "ChangeConfiguration": "InternalError"}
        )
        sim.configuration["MeterValuesSampledData"] = (
            "Energy.Active.Import.Register",
            True,
        )
        await harness.accept(sim)
        await sim.plug_in()
        snapshot = await reported(harness, sim)
        assert meter(snapshot).energy_wh is not None
    assert logged(caplog, "NotSupported") == 1


async def test_reconnection_without_boot_learns_the_identity(harness: Harness) -> None:
    """A charge point first seen after a reconnection is asked to boot."""
    harness.decisions.decided["CP1"] = Admission.ACCEPTED
    async with harness.simulator() as sim:
        await sim.heartbeat()  # no BootNotification on this connection
        await harness.settle(sim)
        assert sim.boots == 1  # booted on request
        assert harness.snapshots.latest().info is not None


async def test_set_up_keeps_what_it_may(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Read-only keys are not written; what is kept is bounded; triggers may fail."""
    async with harness.simulator() as sim:
        sim.configuration["MeterValuesSampledData"] = (
            "Energy.Active.Import.Register",
            True,
        )
        for number in range(300):
            sim.configuration[f"Vendor{number}"] = ("x", True)
        sim.faults.call_errors["TriggerMessage"] = "NotImplemented"
        await harness.accept(sim)
        configuration = harness.charge_point().configuration
        assert len(configuration) == 256
        assert configuration["NumberOfConnectors"] == ("1", True)
        assert not [
            payload
            for payload in sent(sim, "ChangeConfiguration")
            if payload["key"] == "MeterValuesSampledData"
        ]
    assert logged(caplog, "NotImplemented") == 2  # status, meter values: one each
