"""The simulated OCPP charge point: what it does with profiles, settings and triggers.

Driven through the central system's connection (the library's messages), so
every frame is checked against the OCPP 1.6 schemas on both sides.
"""

import ast
import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ocpp.v16 import call, call_result
from ocpp.v16.enums import ChargingRateUnitType, MessageTrigger
import pytest

from custom_components.evse_bridge.api.model import ConnectorStatus
from custom_components.evse_bridge.api.ocpp import (
    Admission,
    AvailabilityChange,
    OcppCallError,
    OcppRejectedError,
    OcppSettings,
    OcppSnapshot,
)
from simulators.ocpp import (
    OcppFaults,
    OcppSimulator,
    build_parser,
    main,
    run,
)

from .ocpp_helpers import Harness, accepted_simulator, connector, running_harness

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
    """Yield an accepted simulated charge point with a car charging."""
    async with accepted_simulator(harness) as simulator:
        await simulator.plug_in()
        await harness.settle(simulator)
        yield simulator


async def ask(harness: Harness, request: object, answer: type[Any]) -> Any:
    """Send a request to the simulator through the central system's connection."""
    connection = harness.charge_point().connection
    assert connection is not None
    return await connection.request(request, answer)


def profile(**fields: Any) -> dict[str, Any]:
    """Return a charging profile (snake_case, as the library takes it)."""
    schedule = {
        "charging_rate_unit": fields.pop("unit", "A"),
        "charging_schedule_period": fields.pop(
            "periods", [{"start_period": 0, "limit": fields.pop("limit", 10.0)}]
        ),
    }
    if "start" in fields:
        schedule["start_schedule"] = fields.pop("start")
    return {
        "charging_profile_id": fields.pop("profile_id", 1),
        "stack_level": fields.pop("stack_level", 0),
        "charging_profile_purpose": fields.pop("purpose", "TxDefaultProfile"),
        "charging_profile_kind": fields.pop("kind", "Absolute"),
        "charging_schedule": schedule,
        **fields,
    }


async def set_profile(harness: Harness, connector_id: int, **fields: Any) -> str:
    """Install a profile; return the simulator's answer."""
    answer = await ask(
        harness,
        call.SetChargingProfile(
            connector_id=connector_id, cs_charging_profiles=profile(**fields)
        ),
        call_result.SetChargingProfile,
    )
    return str(answer.status)


def now_text(offset: timedelta = timedelta(0)) -> str:
    """Return a time stamp as OCPP writes it."""
    return (datetime.now(UTC) + offset).isoformat(timespec="seconds")


# --- Charging profiles ----------------------------------------------------------------


async def test_limits_in_watts_and_the_station_maximum(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Profiles in W are turned into amperes; ChargePointMaxProfile caps everything."""
    assert await set_profile(harness, 1, unit="W", limit=6900.0) == "Accepted"
    assert sim.limit_a(1) == pytest.approx(10)
    assert (
        await set_profile(
            harness, 0, purpose="ChargePointMaxProfile", limit=8.0, profile_id=2
        )
        == "Accepted"
    )
    assert sim.limit_a(1) == 8
    answer = await ask(
        harness,
        call.GetCompositeSchedule(
            connector_id=1, duration=60, charging_rate_unit=ChargingRateUnitType.watts
        ),
        call_result.GetCompositeSchedule,
    )
    assert float(answer.charging_schedule["charging_schedule_period"][0]["limit"]) == (
        pytest.approx(8 * VOLTAGE * 3)
    )
    rejected = await ask(
        harness,
        call.GetCompositeSchedule(connector_id=7, duration=60),
        call_result.GetCompositeSchedule,
    )
    assert rejected.status == "Rejected"


async def test_profiles_that_are_refused(harness: Harness, sim: OcppSimulator) -> None:
    """Refused: a station maximum on a connector, a TxProfile without session, ..."""
    assert await set_profile(harness, 1, purpose="ChargePointMaxProfile") == "Rejected"
    assert await set_profile(harness, 9) == "Rejected"
    await sim.unplug()
    assert await set_profile(harness, 1, purpose="TxProfile") == "Rejected"


async def test_schedules_over_time(harness: Harness, sim: OcppSimulator) -> None:
    """Periods take effect in turn; a profile not yet valid or expired does nothing."""
    await set_profile(
        harness,
        1,
        start=now_text(),
        periods=[
            {"start_period": 0, "limit": 20.0},
            {"start_period": 600, "limit": 7.0},
        ],
    )
    assert sim.limit_a(1) == 20
    await sim.advance(601)
    assert sim.limit_a(1) == 7
    await set_profile(
        harness,
        1,
        profile_id=3,
        stack_level=2,
        valid_from=now_text(timedelta(hours=2)),
        limit=6.0,
    )
    assert sim.limit_a(1) == 7  # not valid yet
    await set_profile(
        harness, 1, profile_id=4, stack_level=3, kind="Relative", limit=9.0
    )
    assert sim.limit_a(1) == 9  # relative to the start of the session
    await set_profile(
        harness, 1, profile_id=5, stack_level=4, purpose="TxProfile", limit=12.0
    )
    assert sim.limit_a(1) == 12  # the session's own profile wins


async def test_clear_profiles_by_filter(harness: Harness, sim: OcppSimulator) -> None:
    """ClearChargingProfile removes what matches every filter given, or says Unknown."""
    await set_profile(harness, 1, profile_id=1, stack_level=0)
    await set_profile(harness, 1, profile_id=2, stack_level=1, purpose="TxProfile")
    await set_profile(
        harness, 0, profile_id=3, stack_level=0, purpose="ChargePointMaxProfile"
    )

    async def clear(**filters: Any) -> str:
        answer = await ask(
            harness,
            call.ClearChargingProfile(**filters),
            call_result.ClearChargingProfile,
        )
        return str(answer.status)

    assert await clear(connector_id=1, stack_level=5) == "Unknown"
    assert (
        await clear(connector_id=1, charging_profile_purpose="TxProfile") == "Accepted"
    )
    assert [number for number, _ in sim.profiles] == [1, 0]
    assert await clear(id=3) == "Accepted"
    assert await clear() == "Accepted"
    assert sim.profiles == []


# --- Configuration and triggers -------------------------------------------------------


async def test_get_and_change_configuration(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Known keys are given and taken if writable and valid; others are said so."""
    answer = await ask(
        harness,
        call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"]),
        call_result.GetConfiguration,
    )
    assert answer.configuration_key == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
    ]
    assert answer.unknown_key == ["NoSuchKey"]

    async def change(key: str, value: str) -> str:
        answer = await ask(
            harness,
            call.ChangeConfiguration(key=key, value=value),
            call_result.ChangeConfiguration,
        )
        return str(answer.status)

    assert await change("HeartbeatInterval", "120") == "Accepted"
    assert await change("HeartbeatInterval", "soon") == "Rejected"
    assert await change("NumberOfConnectors", "2") == "Rejected"
    assert await change("NoSuchKey", "1") == "NotSupported"
    assert (
        await change("MeterValuesSampledData", "Energy.Active.Import.Register,RPM")
        == "Rejected"
    )
    assert await change("MeterValuesSampledData", ",".join(["SoC"] * 9)) == "Rejected"
    sim.configuration["FreeText"] = ("", False)
    assert await change("FreeText", "anything") == "Accepted"
    sim.faults.refuse.add("ChangeConfiguration")
    assert await change("HeartbeatInterval", "60") == "Rejected"
    sim.faults.refuse.clear()
    sim.faults.ignore.add("ChangeConfiguration")
    assert await change("HeartbeatInterval", "60") == "Accepted"
    assert sim.configuration["HeartbeatInterval"][0] == "120"


async def test_triggers(harness: Harness, sim: OcppSimulator) -> None:
    """Heartbeat and status come on request; messages it cannot send are Rejected."""

    async def trigger(message: MessageTrigger, connector_id: int | None = None) -> str:
        answer = await ask(
            harness,
            call.TriggerMessage(requested_message=message, connector_id=connector_id),
            call_result.TriggerMessage,
        )
        await harness.settle(sim)
        return str(answer.status)

    assert await trigger(MessageTrigger.heartbeat) == "Accepted"
    assert await trigger(MessageTrigger.status_notification, 1) == "Accepted"
    assert await trigger(MessageTrigger.diagnostics_status_notification) == "Rejected"


async def test_car_that_is_full(harness: Harness, sim: OcppSimulator) -> None:
    """A full car stops taking energy: SuspendedEV, no power."""
    sim.connectors[1].soc_percent = 99.9
    await sim.tick(600)
    await harness.settle(sim)
    state = connector(harness.snapshots.latest())
    assert state.status is ConnectorStatus.SUSPENDED_EV
    assert sim.connectors[1].current_a == 0


async def test_unplugging_ends_the_session(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Unplugging sends StopTransaction (EVDisconnected) and Available."""
    await sim.unplug()
    await harness.settle(sim)
    assert next(iter(harness.server.ledger)).stop_reason == "EVDisconnected"
    assert connector(harness.snapshots.latest()).status is ConnectorStatus.AVAILABLE


def running(sim: OcppSimulator) -> bool:
    """Return whether a session runs on connector 1."""
    return sim.connectors[1].transaction_id is not None


async def test_out_of_service_refuses_sessions(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Out of service after the session, it starts none until back in service."""
    control = harness.control()
    assert await control.disable(1) is AvailabilityChange.SCHEDULED
    assert running(sim)
    await sim.unplug()
    await harness.settle(sim)
    assert connector(harness.snapshots.latest()).status is ConnectorStatus.UNAVAILABLE
    await sim.plug_in()
    assert not running(sim)
    with pytest.raises(OcppRejectedError):
        await control.start(1)
    assert await control.enable(1) is AvailabilityChange.APPLIED
    await harness.settle(sim)
    assert running(sim)
    assert connector(harness.snapshots.latest()).status is ConnectorStatus.CHARGING


async def test_reset_keeps_the_connector_out_of_service(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Availability outlives a reboot, as OCPP requires."""
    await sim.unplug()
    assert await harness.control().disable(1) is AvailabilityChange.APPLIED
    boots = sim.boots
    await harness.control().reset()
    await harness.settle(sim)
    assert sim.boots == boots + 1
    assert connector(harness.snapshots.latest()).status is ConnectorStatus.UNAVAILABLE


async def test_not_connected() -> None:
    """Sending without a connection is a ConnectionError; faults have an off switch."""
    sim = OcppSimulator("ws://127.0.0.1:9/ocpp/CP1")
    for attempt in (
        sim.heartbeat(),
        sim.send_raw("x"),
        sim.call_unchecked("Heartbeat", {}),
    ):
        with pytest.raises(ConnectionError):
            await attempt
    assert sim.charge_point_id == "CP1"
    faults = OcppFaults(refuse={"Reset"}, silent={"Reset"}, call_errors={"Reset": "X"})
    faults.clear()
    assert faults == OcppFaults()
    await sim.close()


async def test_fault_with_an_unknown_code(harness: Harness, sim: OcppSimulator) -> None:
    """A CALLERROR code OCPP lacks cannot be simulated: InternalError comes instead."""
    sim.faults.call_errors["Reset"] = "NoSuchCode"
    with pytest.raises(OcppCallError) as failed:
        await harness.control().reset()
    assert failed.value.code == "InternalError"


# --- Command line ---------------------------------------------------------------------


def test_parser() -> None:
    """The documented options parse, with the documented defaults."""
    defaults = build_parser().parse_args([])
    assert defaults.url == "ws://127.0.0.1:9000/ocpp/SIMULATED-CP"
    assert (defaults.plugged_in, defaults.interval, defaults.connectors) == (
        False,
        None,
        1,
    )
    args = build_parser().parse_args(
        [
            "--url",
            "ws://h:1/x/CP9",
            "--plugged-in",
            "--interval",
            "0.5",
            "--password",
            "pw",
        ]
    )
    assert (args.url, args.plugged_in, args.interval, args.password) == (
        "ws://h:1/x/CP9",
        True,
        0.5,
        "pw",
    )


async def test_command_line_charges_and_reports(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line connects, boots, plugs in and sends meter values."""
    harness.decisions.decided["CLI"] = Admission.ACCEPTED
    args = build_parser().parse_args(
        [
            "--url",
            harness.url("CLI"),
            "--plugged-in",
            "--interval",
            "0.05",
            "--duration",
            "1",
        ]
    )
    await run(args)
    assert f"Connected to {harness.url('CLI')}" in capsys.readouterr().out
    transaction = next(iter(harness.server.ledger))
    assert transaction.charge_point_id == "CLI"
    snapshot = harness.snapshots.latest("CLI")
    part = snapshot.state.parts["connector1"]
    assert part.meter is not None
    assert part.meter.energy_wh is not None
    assert part.meter.energy_wh > (transaction.meter_start_wh or 0)


def metered(snapshot: OcppSnapshot) -> bool:
    """Return whether a charge point sends meter values."""
    part = snapshot.state.parts.get("connector1")
    return snapshot.connected and part is not None and part.meter is not None


async def test_command_line_comes_back_after_a_reset(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reset from the central system: it boots again on a new connection at once."""
    harness.decisions.decided["CLI"] = Admission.ACCEPTED
    args = build_parser().parse_args(
        ["--url", harness.url("CLI"), "--interval", "0.02", "--retry", "30"]
    )
    task = asyncio.create_task(run(args))
    await harness.snapshots.until(metered, "CLI")  # booted, and charging
    charge_point = harness.charge_point("CLI")
    boots = charge_point.boots
    await harness.control("CLI").reset()
    assert await charge_point.wait_for(
        lambda: charge_point.boots > boots and charge_point.connected, 10
    )
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Back without waiting for --retry: the reset did not look like a lost link.
    assert "Connection lost" not in capsys.readouterr().out


async def test_command_line_waits_while_pending(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pending charge point boots again after the interval, or when asked."""
    settings = OcppSettings(
        response_timeout_s=5, verify_timeout_s=5, retry_interval_s=1
    )
    async with running_harness(settings=settings) as harness:
        args = build_parser().parse_args(
            ["--url", harness.url(), "--interval", "0.05", "--duration", "30"]
        )
        task = asyncio.create_task(run(args))
        await harness.snapshots.until(lambda snapshot: snapshot.info is not None)
        await harness.decisions.until_asked(3)  # connected, booted, booted again
        harness.decisions.decided["CP1"] = Admission.ACCEPTED
        harness.charge_point().reconsider()
        await harness.control().request_boot()
        await harness.snapshots.until(
            lambda snapshot: snapshot.admission is Admission.ACCEPTED
        )
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "Boot Pending; trying again" in capsys.readouterr().out


async def test_command_line_without_central_system(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With nothing listening it says so and tries again until the duration ends."""
    args = build_parser().parse_args(
        ["--url", "ws://127.0.0.1:9/ocpp/CP1", "--retry", "0.05", "--duration", "0.3"]
    )
    await run(args)
    assert capsys.readouterr().out.count("Cannot connect") >= 2


async def test_command_line_when_the_server_goes_away(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A central system that stops ends the connection; the simulator tries again."""
    async with running_harness() as harness:
        harness.decisions.decided["CP1"] = Admission.ACCEPTED
        args = build_parser().parse_args(
            ["--url", harness.url(), "--interval", "0.02", "--retry", "0.05"]
        )
        task = asyncio.create_task(run(args))
        await harness.snapshots.until(lambda snapshot: snapshot.connected)
    printed = ""
    async with asyncio.timeout(10):
        while "Cannot connect" not in printed:
            await asyncio.sleep(0.05)
            printed += capsys.readouterr().out
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_main_stops_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C ends the command line cleanly."""

    def interrupted(coroutine: Any) -> None:
        coroutine.close()
        raise KeyboardInterrupt

    monkeypatch.setattr(asyncio, "run", interrupted)
    assert main(["--duration", "0"]) == 0


def test_the_simulator_shares_nothing_with_the_central_system() -> None:
    """The simulator imports nothing from the integration (nor Home Assistant)."""
    tree = ast.parse((Path(__file__).parents[2] / "simulators" / "ocpp.py").read_text())
    imported = {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any(
        name.startswith(("custom_components", "homeassistant", "."))
        for name in imported
    )
    assert "ocpp.v16" in imported
