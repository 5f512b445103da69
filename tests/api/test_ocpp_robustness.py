"""Bad input to the OCPP central system: a clear answer, nothing lost or counted twice.

Frames that are not OCPP-J, unknown actions, schema violations, duplicate
and stray message ids, CALLERRORs and silence in answer to our calls, the
offline queue of a charge point, restarts, and meter registers that go
backwards; logs stay escaped, bounded and once per problem.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import json
import logging
from typing import Any

from ocpp.exceptions import OCPPError
import pytest

from custom_components.evse_bridge.api.model import ConnectorStatus
from custom_components.evse_bridge.api.ocpp import (
    Admission,
    MemoryTransactionStore,
    OcppCallError,
    OcppConnectionError,
    OcppSettings,
    OcppTimeoutError,
    StoredLedger,
)
from simulators.ocpp import OcppSimulator

from .ocpp_helpers import (
    FAST,
    Harness,
    accepted_simulator,
    connector,
    logged,
    meter,
    ours,
    running_harness,
)


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
    """Yield an accepted simulated charge point."""
    async with accepted_simulator(harness) as simulator:
        yield simulator


def code_of(error: OCPPError) -> str:
    """Return the OCPP error code of a CALLERROR the simulator received."""
    return str(getattr(error, "code", ""))


async def answer_to(sim: OcppSimulator, unique_id: str) -> list[Any]:
    """Wait for the frame that answers ``unique_id``."""
    frame: list[Any] = await sim.wait_frame(
        lambda frame: (
            isinstance(frame, list) and frame[0] in {3, 4} and frame[1] == unique_id
        )
    )
    return frame


def no_traceback(caplog: pytest.LogCaptureFixture) -> bool:
    """Return whether nothing was logged with a traceback."""
    return not any(record.exc_info for record in caplog.records) and (
        "Traceback" not in caplog.text
    )


# --- Frames that are not OCPP-J -------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code", "unique_id"),
    [
        ("not json", "FormationViolation", "-1"),
        ('{"a": 1}', "ProtocolError", "-1"),
        ("[]", "ProtocolError", "-1"),
        ('[9, "m9", "Heartbeat", {}]', "PropertyConstraintViolation", "m9"),
        ('[2, "m2"]', "ProtocolError", "m2"),
        ('[2, "m3", "Heartbeat", {}, "extra"]', "ProtocolError", "m3"),
        (f'[2, "{"x" * 37}", "Heartbeat", {{}}]', "FormationViolation", "-1"),
        ('[2, 5, "Heartbeat", {}]', "FormationViolation", "-1"),
        ('[2, "", "Heartbeat", {}]', "FormationViolation", "-1"),
        ('[2, "m4", "Heartbeat", []]', "FormationViolation", "m4"),
        ('[2, "m5", 7, {}]', "FormationViolation", "m5"),
        ('[2, "m6", {"a": 1}, {}]', "FormationViolation", "m6"),
        ("[" * 50_000, "FormationViolation", "-1"),
        (
            '[2, "m7", "Heartbeat", {"n": ' + "1" * 5000 + "}]",
            "FormationViolation",
            "-1",
        ),
        (b"\xff\xfe binary", "FormationViolation", "-1"),
    ],
    ids=[
        "not-json",
        "object",
        "empty-array",
        "unknown-type",
        "too-short",
        "too-long",
        "long-id",
        "number-id",
        "empty-id",
        "array-payload",
        "number-action",
        "object-action",
        "deep-nesting",
        "huge-integer",
        "binary",
    ],
)
async def test_frames_that_are_not_ocpp_get_a_callerror(
    harness: Harness,
    sim: OcppSimulator,
    frame: str | bytes,
    code: str,
    unique_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each gets a CALLERROR with the right code; the connection carries on."""
    await sim.send_raw(frame)
    answer = await answer_to(sim, unique_id)
    assert answer[0] == 4
    assert answer[2] == code
    assert len(json.dumps(answer)) < 1000  # the frame is not echoed back
    await sim.heartbeat()
    assert sim.connected
    assert harness.snapshots.latest().connected
    assert no_traceback(caplog)


async def test_stray_answers_are_dropped(
    harness: Harness, sim: OcppSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Answers nobody waits for, and broken ones, are dropped: no reply, no growth."""
    for number in range(300):
        await sim.send_raw(f'[3, "stray-{number}", {{}}]')
    await sim.send_raw('[4, "stray-e", "GenericError", "x", {}]')
    await sim.send_raw('[3, "broken"]')
    await sim.heartbeat()
    connection = harness.charge_point().connection
    assert connection is not None
    assert connection._response_queue.qsize() == 0
    assert not [frame for frame in sim.frames if frame[0] == 4]
    # Commands still get their own answers.
    assert await harness.control().set_current_limit(1, 10) == 10
    assert no_traceback(caplog)


async def test_unknown_actions(harness: Harness, sim: OcppSimulator) -> None:
    """An action 1.6 does not define is NotImplemented; one not handled NotSupported."""
    await sim.send_raw('[2, "u1", "FooBar", {}]')
    await sim.send_raw('[2, "u2", "UnlockConnector", {"connectorId": 1}]')
    unknown, unhandled = await answer_to(sim, "u1"), await answer_to(sim, "u2")
    assert unknown[2:4] == [
        "NotImplemented",
        "Requested Action is not known by receiver",
    ]
    assert unhandled[2] == "NotSupported"
    assert sim.connected


STATUS = {"connector_id": 1, "error_code": "NoError", "status": "Available"}
WIRE_STATUS = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}


def sample(value: object, **fields: str) -> dict[str, Any]:
    """Return a MeterValues payload (wire form) with one sampled value."""
    return {
        "connectorId": 1,
        "meterValue": [
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "sampledValue": [{"value": value, **fields}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        (
            "StatusNotification",
            WIRE_STATUS | {"connectorId": "1"},
            "TypeConstraintViolation",
        ),
        (
            "StatusNotification",
            WIRE_STATUS | {"status": "Sleeping"},
            "PropertyConstraintViolation",
        ),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError"},
            "ProtocolError",
        ),
        (
            "StatusNotification",
            WIRE_STATUS | {"info": "x" * 51},
            "TypeConstraintViolation",
        ),
        ("StatusNotification", WIRE_STATUS | {"colour": "red"}, "FormationViolation"),
        ("Authorize", {"idTag": "a" * 21}, "TypeConstraintViolation"),
        ("MeterValues", sample(12), "TypeConstraintViolation"),
        ("MeterValues", sample("1", unit="parsec"), "PropertyConstraintViolation"),
        (
            "StatusNotification",
            WIRE_STATUS | {"connectorId": -1},
            "PropertyConstraintViolation",
        ),
        (
            "StatusNotification",
            WIRE_STATUS | {"connectorId": 33},
            "PropertyConstraintViolation",
        ),
    ],
    ids=[
        "type",
        "enum",
        "required",
        "max-length",
        "unknown-field",
        "id-tag-length",
        "value-not-a-string",
        "unknown-unit",
        "negative-connector",
        "connector-above-bound",
    ],
)
async def test_invalid_payloads(
    harness: Harness,
    sim: OcppSimulator,
    action: str,
    payload: dict[str, Any],
    code: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A payload that breaks the 1.6 schema gets the CALLERROR that says how."""
    answer = await sim.send_call(action, payload)
    assert answer[0] == 4
    assert answer[2] == code
    assert set(harness.charge_point().records) == {0, 1}
    await sim.heartbeat()
    assert no_traceback(caplog)


async def test_problems_are_logged_once(
    sim: OcppSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A charge point that keeps sending the same bad message is logged once."""
    for _ in range(20):
        with pytest.raises(OCPPError) as refused:
            await sim.call_unchecked(
                "StatusNotification", STATUS | {"status": "Sleeping"}
            )
        assert code_of(refused.value) == "PropertyConstraintViolation"
        await sim.send_raw("garbage")
    assert logged(caplog, "breaks the OCPP 1.6 schema") == 1
    assert logged(caplog, "not OCPP-J") == 1


async def test_wire_text_in_logs_is_escaped_and_bounded(
    sim: OcppSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Control characters and long text from the socket never reach a log line raw."""
    await sim.send_raw("\n\x1b[31mFAKE LOG LINE" + "x" * 10_000)
    await sim.send_raw('[2, "e1", "\\u001b[31mEvil\\nLine' + "y" * 5000 + '", {}]')
    await answer_to(sim, "e1")
    vendor = "\x1b[2J" + "v" * 200
    answer = await sim.call_unchecked("DataTransfer", {"vendor_id": vendor})
    assert answer.status == "UnknownVendorId"
    messages = [record.getMessage() for record in ours(caplog, logging.DEBUG)]
    assert messages
    assert not any("\n" in text or "\x1b" in text for text in messages)
    assert max(len(text) for text in messages) < 600


# --- Our calls: CALLERROR, silence, disconnection -------------------------------------


async def test_callerror_in_answer_to_our_call(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A CALLERROR becomes OcppCallError with its code; the next call works."""
    sim.faults.call_errors["SetChargingProfile"] = "NotSupported"
    with pytest.raises(OcppCallError) as failed:
        await harness.control().set_current_limit(1, 10)
    assert failed.value.code == "NotSupported"
    sim.faults.call_errors["SetChargingProfile"] = "FormationViolation"
    with pytest.raises(OcppCallError) as failed:
        await harness.control().set_current_limit(1, 10)
    assert failed.value.code == "FormationViolation"
    sim.faults.clear()
    assert await harness.control().set_current_limit(1, 10) == 10


async def test_answers_that_are_not_ocpp(harness: Harness, sim: OcppSimulator) -> None:
    """An answer with an unknown error code or a bad payload fails the call cleanly."""
    sim.faults.silent.add("Reset")
    for answer in (
        '[4, "{id}", "NoSuchCode", "?", {{}}]',
        '[3, "{id}", {{"status": "Maybe"}}]',
        '[3, "{id}", {{"status": "Accepted", "extra": 1}}]',
    ):
        sim.frames.clear()
        task = asyncio.create_task(harness.control().reset())
        request = await sim.wait_frame(
            lambda frame: frame[0] == 2 and frame[2] == "Reset"
        )
        await sim.send_raw(answer.format(id=request[1]))
        with pytest.raises(OcppCallError):
            await task
    assert sim.connected


async def test_call_never_answered() -> None:
    """A call without answer times out; its late answer is dropped; then calls work."""
    settings = OcppSettings(response_timeout_s=0.2, verify_timeout_s=5)
    async with (
        running_harness(settings=settings) as harness,
        accepted_simulator(harness) as sim,
    ):
        sim.faults.silent.add("SetChargingProfile")
        with pytest.raises(OcppTimeoutError, match="did not answer"):
            await harness.control().set_current_limit(1, 10)
        request = await sim.wait_frame(
            lambda frame: frame[0] == 2 and frame[2] == "SetChargingProfile"
        )
        await sim.send_raw(json.dumps([3, request[1], {"status": "Accepted"}]))
        sim.faults.clear()
        assert await harness.control().set_current_limit(1, 12) == 12


async def test_disconnection_during_a_call(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A call fails at once with OcppConnectionError when the charge point goes away."""
    sim.faults.silent.add("SetChargingProfile")
    task = asyncio.create_task(harness.control().set_current_limit(1, 10))
    await sim.wait_frame(
        lambda frame: frame[0] == 2 and frame[2] == "SetChargingProfile"
    )
    await sim.disconnect()
    with pytest.raises(OcppConnectionError) as failed:
        await task
    assert type(failed.value) is OcppConnectionError  # not a time-out
    with pytest.raises(OcppConnectionError, match="not connected"):
        await harness.control().set_current_limit(1, 10)


# --- Transactions: offline queue, duplicates, restarts --------------------------------


async def test_offline_queue_is_counted_once(
    harness: Harness, sim: OcppSimulator
) -> None:
    """Messages queued while offline arrive with old time stamps; each counts once."""
    await sim.plug_in()
    await sim.tick(60)
    await harness.settle(sim)
    first = harness.charge_point().records[1].transaction
    assert first is not None
    assert first.is_open

    await sim.go_offline()
    await sim.tick(600)  # charges on, meter values queued
    await sim.unplug()  # StopTransaction queued
    await sim.plug_in()  # StartTransaction queued
    await sim.tick(600)
    assert len(sim.offline_queue) == 4
    end_register = sim.connectors[1].energy_wh

    await sim.go_online()
    await harness.settle(sim)
    ledger = list(harness.server.ledger)
    assert [transaction.id for transaction in ledger] == [first.id, first.id + 1]
    stopped, running = ledger
    assert not stopped.is_open
    assert stopped.stop_reason == "EVDisconnected"
    assert stopped.energy_wh is not None
    assert stopped.energy_wh > 0
    assert running.is_open
    assert running.meter_start_wh == stopped.meter_stop_wh
    assert running.meter_start_wh is not None
    snapshot = harness.snapshots.latest()
    assert meter(snapshot).energy_wh == pytest.approx(end_register, abs=1)
    assert connector(snapshot).session_energy_wh == pytest.approx(
        end_register - running.meter_start_wh, abs=1
    )
    # The charge point sends the same messages again (it saw no answer):
    # the same transaction id, nothing counted twice.
    again = await sim.call_unchecked(
        "StartTransaction",
        {
            "connector_id": 1,
            "id_tag": running.id_tag,
            "meter_start": running.meter_start_wh,
            "timestamp": running.started_at.isoformat() if running.started_at else "",
        },
    )
    assert again.transaction_id == running.id
    await sim.call_unchecked(
        "StopTransaction",
        {
            "transaction_id": stopped.id,
            "meter_stop": (stopped.meter_stop_wh or 0) + 5000,
            "timestamp": datetime.now(UTC).isoformat(),
        },
    )
    assert list(harness.server.ledger) == [stopped, running]
    assert harness.store.data is not None
    assert len(harness.store.data["transactions"]) == 2


async def test_same_frame_twice_gets_the_same_answer(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A StartTransaction frame sent twice with one message id is one transaction."""
    frame = json.dumps(
        [
            2,
            "dup-1",
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "TAG",
                "meterStart": 5000,
                "timestamp": "2026-01-01T10:00:00Z",
            },
        ]
    )
    await sim.send_raw(frame)
    first = await answer_to(sim, "dup-1")
    sim.frames.clear()
    await sim.send_raw(frame)
    second = await answer_to(sim, "dup-1")
    assert first[2]["transactionId"] == second[2]["transactionId"]
    assert len(list(harness.server.ledger)) == 1


async def test_stop_for_an_unknown_transaction(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A StopTransaction for an id never given is accepted and counts nothing."""
    answer = await sim.call_unchecked(
        "StopTransaction",
        {
            "transaction_id": 999,
            "meter_stop": 1,
            "timestamp": "2026-01-01T10:00:00Z",
            "id_tag": "TAG",
        },
    )
    assert answer.id_tag_info["status"] == "Accepted"
    assert list(harness.server.ledger) == []


async def test_transaction_survives_a_restart_of_the_central_system() -> None:
    """A StopTransaction after a restart closes the transaction started before it."""
    store = MemoryTransactionStore()
    async with (
        running_harness(store=store) as harness,
        accepted_simulator(harness) as sim,
    ):
        await sim.plug_in()
        await sim.tick(120)
        await harness.settle(sim)
        started = harness.charge_point().records[1].transaction
        assert started is not None
        await sim.go_offline()
        await sim.tick(120)
        await sim.unplug()
    async with running_harness(store=store) as harness:
        sim.url = harness.url()
        harness.decisions.decided["CP1"] = Admission.ACCEPTED
        await sim.go_online()
        await harness.settle(sim)
        stopped = harness.server.ledger.get(started.id)
        assert stopped is not None
        assert not stopped.is_open
        assert stopped.meter_start_wh == started.meter_start_wh
        assert started.meter_start_wh is not None
        assert (
            stopped.energy_wh
            == round(sim.connectors[1].energy_wh) - started.meter_start_wh
        )
        # New ids continue after the old ones.
        await sim.plug_in()
        await harness.settle(sim)
        assert (
            max(transaction.id for transaction in harness.server.ledger)
            == started.id + 1
        )
        await sim.close()


class BrokenStore(MemoryTransactionStore):
    """A store whose disk is full."""

    async def save(self, data: StoredLedger) -> None:
        """Fail."""
        msg = "disk full"
        raise OSError(msg)


async def test_store_failure_refuses_the_transaction(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No transaction id is promised that could not be saved: InternalError."""
    async with (
        running_harness(store=BrokenStore()) as harness,
        accepted_simulator(harness) as sim,
    ):
        for _ in range(3):
            with pytest.raises(OCPPError) as refused:
                await sim.call_unchecked(
                    "StartTransaction",
                    {
                        "connector_id": 1,
                        "id_tag": "T",
                        "meter_start": 1,
                        "timestamp": "2026-01-01T00:00:00Z",
                    },
                )
            assert code_of(refused.value) == "InternalError"
        assert list(harness.server.ledger) == []
    assert logged(caplog, "Could not save the OCPP transactions: OSError") == 1


# --- Meter values ---------------------------------------------------------------------


async def test_register_that_goes_backwards_is_passed_on(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A lower register with a newer time stamp is passed on as is (for the guard)."""
    await sim.tick(10)
    await harness.settle(sim)
    sim.connectors[1].energy_wh = 12.0  # a reset, or a new meter
    await sim.tick(10)
    await harness.settle(sim)
    assert meter(harness.snapshots.latest()).energy_wh == 12.0


async def test_older_samples_do_not_replace_newer_ones(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A queued sample older than the newest shown is accepted but changes nothing."""
    await sim.tick(10)
    await harness.settle(sim)
    before = harness.snapshots.latest()
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    await sim.call_unchecked(
        "MeterValues",
        {
            "connector_id": 1,
            "meter_value": [{"timestamp": old, "sampled_value": [{"value": "5"}]}],
        },
    )
    await sim.call_unchecked(
        "StatusNotification", STATUS | {"status": "Faulted", "timestamp": old}
    )
    assert harness.charge_point().snapshot().state == before.state


async def test_values_that_are_not_numbers(
    harness: Harness, sim: OcppSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """NaN, infinity and words are left out (logged once); the rest is taken."""
    for text in ("NaN", "inf", "twelve"):
        await sim.call_unchecked(
            "MeterValues",
            {
                "connector_id": 1,
                "meter_value": [
                    {
                        "timestamp": datetime.now(UTC).isoformat(),
                        "sampled_value": [
                            {"value": text},
                            {
                                "value": "7.5",
                                "measurand": "Power.Active.Import",
                                "unit": "kW",
                            },
                        ],
                    }
                ],
            },
        )
    reading = meter(harness.charge_point().snapshot())
    assert reading.power_w == 7500
    assert reading.energy_wh == sim.connectors[1].energy_wh
    assert logged(caplog, "not numbers") == 1


async def test_other_requests(harness: Harness, sim: OcppSimulator) -> None:
    """DataTransfer, Authorize and the status notifications get their answers."""
    answer = await sim.call_unchecked("DataTransfer", {"vendor_id": "com.example"})
    assert answer.status == "UnknownVendorId"
    answer = await sim.call_unchecked("Authorize", {"id_tag": "anyone"})
    assert answer.id_tag_info["status"] == "Accepted"
    await sim.call_unchecked("FirmwareStatusNotification", {"status": "Installing"})
    await sim.call_unchecked("DiagnosticsStatusNotification", {"status": "Uploaded"})
    charge_point = harness.charge_point()
    assert (charge_point.firmware_status, charge_point.diagnostics_status) == (
        "Installing",
        "Uploaded",
    )


async def test_id_tag_list() -> None:
    """With a list, only its tags (in any case) are accepted; others are Invalid."""
    settings = OcppSettings(
        response_timeout_s=5, verify_timeout_s=5, id_tags=frozenset({"Card-1"})
    )
    async with (
        running_harness(settings=settings) as harness,
        accepted_simulator(harness) as sim,
    ):
        accepted = await sim.call_unchecked("Authorize", {"id_tag": "CARD-1"})
        refused = await sim.call_unchecked("Authorize", {"id_tag": "card-2"})
        assert (accepted.id_tag_info["status"], refused.id_tag_info["status"]) == (
            "Accepted",
            "Invalid",
        )
        started = await sim.call_unchecked(
            "StartTransaction",
            {
                "connector_id": 1,
                "id_tag": "card-2",
                "meter_start": 1,
                "timestamp": "2026-01-01T00:00:00Z",
            },
        )
        # The charge point gets an id (it must) and is told to stop.
        assert started.id_tag_info["status"] == "Invalid"
        assert harness.server.ledger.get(started.transaction_id) is not None


async def test_station_status_applies_to_every_connector(harness: Harness) -> None:
    """Connector 0 Unavailable or Faulted makes every connector so."""
    async with accepted_simulator(harness, connectors=2) as sim:
        await sim.call_unchecked(
            "StatusNotification",
            {"connector_id": 0, "error_code": "GroundFailure", "status": "Faulted"},
        )
        snapshot = harness.charge_point().snapshot()
        assert connector(snapshot, 1).status is ConnectorStatus.FAULTED
        assert connector(snapshot, 2).problem
        await sim.call_unchecked(
            "StatusNotification",
            {"connector_id": 0, "error_code": "NoError", "status": "Available"},
        )
        assert (
            connector(harness.charge_point().snapshot(), 2).status
            is ConnectorStatus.AVAILABLE
        )


async def test_settings_are_checked() -> None:
    """Settings a charge point could not be given are refused."""
    for options in (
        {"heartbeat_interval_s": 0},
        {"response_timeout_s": 0},
        {"remote_id_tag": ""},
        {"remote_id_tag": "x" * 21},
        {"stack_level": -1},
    ):
        with pytest.raises(ValueError, match="must"):
            OcppSettings(**options)
    assert FAST.accepts("anything")


async def test_failed_stop_is_refused_for_a_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A StopTransaction that cannot be saved gets InternalError; the retry counts."""

    class Flaky(MemoryTransactionStore):
        fail = False

        async def save(self, data: StoredLedger) -> None:
            if self.fail:
                msg = "disk full"
                raise OSError(msg)
            await super().save(data)

    store = Flaky()
    async with (
        running_harness(store=store) as harness,
        accepted_simulator(harness) as sim,
    ):
        await sim.plug_in()
        await harness.settle(sim)
        store.fail = True
        with pytest.raises(OCPPError) as refused:
            await sim.unplug()
        assert code_of(refused.value) == "InternalError"
        running = next(iter(harness.server.ledger))
        assert running.is_open
        store.fail = False
        await sim.call_unchecked(
            "StopTransaction",
            {
                "transaction_id": running.id,
                "meter_stop": 1,
                "timestamp": "2030-01-01T00:00:00Z",
            },
        )
        assert not next(iter(harness.server.ledger)).is_open
    assert logged(caplog, "Could not save") == 1


async def test_a_failure_in_our_code_ends_nothing(
    harness: Harness,
    sim: OcppSimulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Should handling a frame fail unexpectedly, it is logged once; the link lives."""

    def broken(*_: object) -> None:
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr(harness.charge_point(), "needs_configuration", broken)
    for _ in range(3):
        await sim.heartbeat()
    assert sim.connected
    assert logged(caplog, "could not be handled (RuntimeError") == 1


async def test_calls_on_a_closed_connection(
    harness: Harness, sim: OcppSimulator
) -> None:
    """A connection that has ended refuses calls with OcppConnectionError."""
    from ocpp.v16 import call, call_result  # noqa: PLC0415 - the library's messages

    connection = harness.charge_point().connection
    assert connection is not None
    await sim.disconnect()
    await harness.snapshots.until(lambda snapshot: not snapshot.connected)
    assert connection.closed
    with pytest.raises(OcppConnectionError, match="not connected"):
        await connection.request(call.Heartbeat(), call_result.Heartbeat)


async def test_stopping_the_server_closes_connections() -> None:
    """Charge points are told the central system goes away (1001)."""
    async with running_harness() as harness:
        sim = harness.simulator()
        await sim.connect()
        await sim.boot()
    assert await sim.wait_disconnected() == 1001
    await sim.close()
