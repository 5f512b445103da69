"""Tests for the Victron Venus OS export: payload, status, write-back, schedule."""

import json
import logging

from hypothesis import given, strategies as st
import pytest

from custom_components.evse_bridge.api.model import (
    ChargerInfo,
    ConnectorState,
    ConnectorStatus,
    MeterReading,
    Part,
)
from custom_components.evse_bridge.api.victron import (
    DEFAULT_TOPIC,
    HEARTBEAT_S,
    KEEPALIVE_INTERVAL_S,
    KEEPALIVE_PAYLOAD,
    PublishSchedule,
    VictronMode,
    VictronPayload,
    VictronSetCurrent,
    VictronSetMode,
    VictronStartStop,
    VictronStatus,
    VictronTopicError,
    VictronWriteBack,
    build_payload,
    payload_json,
    victron_status,
)

INFO = ChargerInfo(serial_number="1234", manufacturer="MENNEKES", model="AMTRON Xtra")
CHARGING = ConnectorState(
    status=ConnectorStatus.CHARGING,
    vehicle_connected=True,
    current_limit_a=16.0,
    max_current_a=32.0,
    charging_enabled=True,
    auto_start=False,
    session_duration_s=1234.4,
)
METER = MeterReading(
    energy_wh=1_234_567.0,
    power_w=11_000.0,
    current_a=(16.0, 16.0, 16.0),
    voltage_v=(230.0, 230.0, 230.0),
)
PORTAL = "c0619ab12345"
PREFIX = f"N/{PORTAL}/evcharger/100/"


def test_full_payload() -> None:
    """Every value the driver reads, in its units and types."""
    part = Part(id="connector1", meter=METER, connector=CHARGING)
    payload = build_payload(part, info=INFO, mode=VictronMode.MANUAL)
    assert payload == {
        "Ac": {
            "Power": 11_000.0,
            "L1": {"Power": 3666.7},
            "L2": {"Power": 3666.7},
            "L3": {"Power": 3666.7},
            "Energy": {"Forward": 1234.567},
        },
        "Current": 16.0,
        "MaxCurrent": 32.0,
        "SetCurrent": 16.0,
        "StartStop": 1,
        "AutoStart": 0,
        "Status": 2,
        "ChargingTime": 1234,
        "Mode": 0,
        "Model": "AMTRON Xtra",
    }
    assert json.loads(payload_json(payload)) == payload


def test_switches_are_numbers_not_booleans() -> None:
    """The driver refuses booleans (it accepts int, float and str only)."""
    part = Part(id="c", meter=METER, connector=CHARGING)
    payload = build_payload(part)
    assert payload is not None
    assert type(payload["StartStop"]) is int
    assert type(payload["AutoStart"]) is int
    assert type(payload["Status"]) is int
    assert '"StartStop":1' in payload_json(payload)


def test_only_reported_values_are_published() -> None:
    """No invented zeros and no nulls: what the charger does not report is left out."""
    part = Part(id="evse1", meter=MeterReading(power_w=0.0))
    payload = build_payload(part)
    assert payload == {"Ac": {"Power": 0.0}}
    assert "null" not in payload_json(payload)


def test_no_payload_without_power() -> None:
    """The driver ignores a message without Ac.Power, so none is built."""
    assert build_payload(Part(id="evse1", connector=CHARGING)) is None
    no_power = MeterReading(energy_wh=5.0, current_a=(1.0, None, None))
    assert build_payload(Part(id="evse1", meter=no_power)) is None
    nan_power = MeterReading(power_w=float("nan"))
    assert build_payload(Part(id="evse1", meter=nan_power)) is None


def test_non_finite_values_are_left_out() -> None:
    """NaN and infinity are not JSON; they are not published."""
    meter = MeterReading(
        power_w=100.0, energy_wh=float("inf"), current_a=(float("nan"), None, None)
    )
    connector = ConnectorState(
        current_limit_a=float("nan"), session_duration_s=float("inf")
    )
    payload = build_payload(Part(id="evse1", meter=meter, connector=connector))
    assert payload == {"Ac": {"Power": 100.0}}
    assert payload_json(payload) == '{"Ac":{"Power":100.0}}'


def test_energy_is_in_kwh() -> None:
    """Ac.Energy.Forward is kWh (the driver's fixed unit)."""
    payload = build_payload(
        Part(id="e", meter=MeterReading(power_w=0.0, energy_wh=812_001.0))
    )
    assert payload is not None
    assert payload["Ac"] == {"Power": 0.0, "Energy": {"Forward": 812.001}}


def test_negative_energy_is_left_out() -> None:
    """A negative lifetime reading is not energy."""
    meter = MeterReading(power_w=0.0, energy_wh=-1.0)
    assert build_payload(Part(id="e", meter=meter)) == {"Ac": {"Power": 0.0}}


def test_phase_power_follows_each_phase() -> None:
    """Per-phase power splits the active power by V x I, adding up to Ac.Power."""
    meter = MeterReading(
        power_w=6000.0, current_a=(16.0, 8.0, 0.0), voltage_v=(240.0, 240.0, 240.0)
    )
    payload = build_payload(Part(id="e", meter=meter))
    assert payload is not None
    assert payload["Ac"] == {
        "Power": 6000.0,
        "L1": {"Power": 4000.0},
        "L2": {"Power": 2000.0},
        "L3": {"Power": 0.0},
    }
    assert payload["Current"] == 16.0


def test_phase_power_by_current_without_voltages() -> None:
    """Without voltages the split follows the currents."""
    meter = MeterReading(power_w=3000.0, current_a=(10.0, 5.0, None))
    payload = build_payload(Part(id="e", meter=meter))
    assert payload is not None
    assert payload["Ac"] == {
        "Power": 3000.0,
        "L1": {"Power": 2000.0},
        "L2": {"Power": 1000.0},
    }


def test_phase_power_with_no_current() -> None:
    """No current on any phase: each phase draws 0 W, whatever the power noise."""
    meter = MeterReading(power_w=3.0, current_a=(0.0, 0.0, 0.0))
    payload = build_payload(Part(id="e", meter=meter))
    assert payload is not None
    assert payload["Ac"] == {
        "Power": 3.0,
        "L1": {"Power": 0.0},
        "L2": {"Power": 0.0},
        "L3": {"Power": 0.0},
    }


def test_model_only_when_known() -> None:
    """No Model key for a charger that does not say its model."""
    info = ChargerInfo(serial_number="1", manufacturer="CTEK")
    payload = build_payload(Part(id="e", meter=METER), info=info)
    assert payload is not None
    assert "Model" not in payload


@pytest.mark.parametrize(
    ("status", "connected", "expected"),
    [
        (ConnectorStatus.AVAILABLE, False, VictronStatus.DISCONNECTED),
        (ConnectorStatus.PREPARING, True, VictronStatus.CONNECTED),
        (ConnectorStatus.PREPARING, None, VictronStatus.CONNECTED),
        (ConnectorStatus.PREPARING, False, VictronStatus.DISCONNECTED),
        (ConnectorStatus.CHARGING, True, VictronStatus.CHARGING),
        (ConnectorStatus.SUSPENDED_EV, True, VictronStatus.CHARGED),
        (ConnectorStatus.SUSPENDED_EVSE, True, VictronStatus.WAITING_FOR_START),
        (ConnectorStatus.FINISHING, True, VictronStatus.CONNECTED),
        (ConnectorStatus.UNAVAILABLE, None, VictronStatus.DISCONNECTED),
        (ConnectorStatus.UNAVAILABLE, True, VictronStatus.CONNECTED),
        (ConnectorStatus.FAULTED, None, VictronStatus.DISCONNECTED),
        (ConnectorStatus.FAULTED, True, VictronStatus.CONNECTED),
    ],
)
def test_status_table(
    status: ConnectorStatus, connected: bool | None, expected: VictronStatus
) -> None:
    """The neutral status maps to the driver's table (documented in the module)."""
    connector = ConnectorState(status=status, vehicle_connected=connected)
    assert victron_status(connector) is expected
    payload = build_payload(Part(id="e", meter=METER, connector=connector))
    assert payload is not None
    assert payload["Status"] == expected.value


def test_every_status_is_mapped() -> None:
    """A status added to the model must get a Victron code."""
    for status in ConnectorStatus:
        assert victron_status(ConnectorState(status=status)) is not None


def test_unknown_status_is_left_out() -> None:
    """An unknown status publishes no Status (and no guess)."""
    payload = build_payload(Part(id="e", meter=METER, connector=ConnectorState()))
    assert payload is not None
    assert "Status" not in payload


def test_schedule_publishes_changes_and_heartbeats() -> None:
    """On every change at once; unchanged, again only when the heartbeat is due."""
    schedule = PublishSchedule()
    first: VictronPayload = {"Ac": {"Power": 1.0}}
    assert schedule.update(first, now=100.0) == first
    assert schedule.next_due == 100.0 + HEARTBEAT_S
    same: VictronPayload = {"Ac": {"Power": 1.0}}
    assert schedule.update(same, now=101.0) is None
    assert schedule.tick(now=109.9) is None
    assert schedule.tick(now=110.0) == first
    assert schedule.next_due == 120.0
    second: VictronPayload = {"Ac": {"Power": 2.0}}
    assert schedule.update(second, now=111.0) == second
    assert schedule.next_due == 121.0
    assert schedule.update(second, now=121.5) == second


def test_schedule_stops_while_unavailable() -> None:
    """No heartbeat while unavailable; the first payload after it goes at once."""
    schedule = PublishSchedule(heartbeat_s=5.0)
    payload: VictronPayload = {"Ac": {"Power": 1.0}}
    schedule.update(payload, now=0.0)
    assert schedule.update(None, now=1.0) is None
    assert schedule.next_due is None
    assert schedule.tick(now=1000.0) is None
    assert schedule.update(payload, now=1001.0) == payload
    assert schedule.next_due == 1006.0


def test_schedule_republishes_after_a_reconnection() -> None:
    """The last payload goes again at once, and the heartbeat counts from then."""
    schedule = PublishSchedule(heartbeat_s=5.0)
    assert schedule.republish(now=0.0) is None  # nothing to publish yet
    payload: VictronPayload = {"Ac": {"Power": 1.0}}
    schedule.update(payload, now=1.0)
    assert schedule.republish(now=2.0) == payload
    assert schedule.next_due == 7.0
    schedule.update(None, now=3.0)
    assert schedule.republish(now=4.0) is None  # unavailable: stays silent


def test_keepalive() -> None:
    """The keepalive topic, its payload and a renewal well inside 60 s."""
    write_back = VictronWriteBack(portal_id=PORTAL, instance=100)
    assert write_back.keepalive_topic == f"R/{PORTAL}/keepalive"
    assert json.loads(KEEPALIVE_PAYLOAD) == {
        "keepalive-options": ["suppress-republish"]
    }
    assert KEEPALIVE_INTERVAL_S < 60
    assert DEFAULT_TOPIC == "custom/ev-charger"


def test_subscriptions() -> None:
    """One notification topic per writable setting."""
    write_back = VictronWriteBack(portal_id=PORTAL, instance=100)
    assert write_back.subscriptions == (
        f"{PREFIX}SetCurrent",
        f"{PREFIX}StartStop",
        f"{PREFIX}Mode",
    )


@pytest.mark.parametrize("portal_id", ["", "c0+", "a/b", "#", "a\x00"])
def test_bad_portal_ids_are_refused(portal_id: str) -> None:
    """The portal id becomes one topic level."""
    with pytest.raises(VictronTopicError, match="portal id"):
        VictronWriteBack(portal_id=portal_id, instance=100)


@pytest.mark.parametrize("instance", [-1, True])
def test_bad_instances_are_refused(instance: int) -> None:
    """The device instance is a number, 0 or more."""
    with pytest.raises(VictronTopicError, match="instance"):
        VictronWriteBack(portal_id=PORTAL, instance=instance)


def controllable() -> VictronWriteBack:
    """Return the write-back of a connector with every control, after one publish."""
    write_back = VictronWriteBack(
        portal_id=PORTAL,
        instance=100,
        current_range=(6, 32),
        can_start_stop=True,
        can_set_mode=True,
    )
    write_back.published(
        {"Ac": {"Power": 0.0}, "SetCurrent": 16.0, "StartStop": 1, "Mode": 1}
    )
    return write_back


def notify(write_back: VictronWriteBack, path: str, value: object) -> object:
    """Deliver one notification as Venus OS sends it."""
    return write_back.handle_message(PREFIX + path, json.dumps({"value": value}))


def test_settings_from_the_gx_become_commands() -> None:
    """SetCurrent, StartStop and Mode changed on the GX are typed commands."""
    write_back = controllable()
    assert notify(write_back, "SetCurrent", 10) == VictronSetCurrent(10)
    assert notify(write_back, "StartStop", 0) == VictronStartStop(enabled=False)
    assert notify(write_back, "Mode", 0) == VictronSetMode(VictronMode.MANUAL)
    assert notify(write_back, "Mode", 2.0) == VictronSetMode(VictronMode.SCHEDULED)


def test_current_is_rounded_down_to_whole_amperes() -> None:
    """A fractional current never exceeds what was asked."""
    assert notify(controllable(), "SetCurrent", 10.8) == VictronSetCurrent(10)


def test_echoes_of_our_values_are_not_commands() -> None:
    """The driver writes what we publish to the D-Bus: that is no command."""
    write_back = controllable()
    assert notify(write_back, "SetCurrent", 16) is None
    assert notify(write_back, "StartStop", 1) is None
    assert notify(write_back, "Mode", 1) is None


def test_a_command_round_trip_does_not_loop() -> None:
    """GX sets 10; we publish the old 16 once, then the charger's 10: no new command."""
    write_back = controllable()
    assert notify(write_back, "SetCurrent", 10) == VictronSetCurrent(10)
    # A repeated notification of the same setting (a keepalive republish).
    assert notify(write_back, "SetCurrent", 10) is None
    # Our next message still carries 16 (the charger has not changed yet):
    # the driver writes 16 back, and Venus OS notifies it.
    write_back.published({"SetCurrent": 16.0})
    assert notify(write_back, "SetCurrent", 16) is None
    # The charger now reports 10; we publish it and it comes back.
    write_back.published({"SetCurrent": 10.0})
    assert notify(write_back, "SetCurrent", 10) is None
    # The same value set again later, after another change, is a command again.
    write_back.published({"SetCurrent": 20.0})
    assert notify(write_back, "SetCurrent", 10) == VictronSetCurrent(10)


def test_nothing_before_the_first_publish() -> None:
    """Values the GX held before we published (defaults, an earlier run): no command."""
    write_back = VictronWriteBack(
        portal_id=PORTAL, instance=100, current_range=(6, 32), can_start_stop=True
    )
    assert notify(write_back, "SetCurrent", 13) is None
    assert notify(write_back, "StartStop", 0) is None
    write_back.published({"SetCurrent": 16.0})
    assert notify(write_back, "SetCurrent", 13) == VictronSetCurrent(13)
    # StartStop was never published: still not a command.
    assert notify(write_back, "StartStop", 0) is None


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("SetCurrent", 5),
        ("SetCurrent", 33),
        ("SetCurrent", "10"),
        ("SetCurrent", True),
        ("SetCurrent", [10]),
        ("StartStop", 2),
        ("StartStop", 0.5),
        ("Mode", 3),
        ("Mode", -1),
        ("Mode", 1.5),
    ],
)
def test_invalid_values_are_ignored(path: str, value: object) -> None:
    """Out of range or of the wrong type: no command."""
    assert notify(controllable(), path, value) is None


@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b"\xff", b"[]", b'{"max": 1}', b'{"value": null}', b"1" * 2000],
)
def test_bad_notifications_are_ignored(payload: bytes) -> None:
    """Empty (device gone), not JSON, no value, null (invalid on the D-Bus): nothing."""
    assert controllable().handle_message(PREFIX + "SetCurrent", payload) is None


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400", "9" * 400])
def test_non_finite_notifications_are_ignored(number: str) -> None:
    """Python's json reads NaN, infinity and huge integers; none is a current."""
    payload = '{"value": ' + number + "}"
    assert controllable().handle_message(PREFIX + "SetCurrent", payload) is None


@pytest.mark.parametrize(
    "topic",
    [
        f"N/{PORTAL}/evcharger/100/Ac/Power",
        f"N/{PORTAL}/evcharger/100/MaxCurrent",
        f"N/{PORTAL}/evcharger/101/SetCurrent",
        "N/other/evcharger/100/SetCurrent",
        f"W/{PORTAL}/evcharger/100/SetCurrent",
    ],
)
def test_other_topics_are_ignored(topic: str) -> None:
    """Only this connector's three settings are read."""
    assert controllable().handle_message(topic, '{"value": 10}') is None


def test_read_only_connector_takes_no_commands() -> None:
    """A connector without the capabilities is exported read-only."""
    write_back = VictronWriteBack(portal_id=PORTAL, instance=100)
    write_back.published({"SetCurrent": 16.0, "StartStop": 1, "Mode": 1})
    assert notify(write_back, "SetCurrent", 10) is None
    assert notify(write_back, "StartStop", 0) is None
    assert notify(write_back, "Mode", 0) is None


def test_problems_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A repeated bad value logs one line per path and problem."""
    write_back = controllable()
    with caplog.at_level(logging.WARNING):
        for _ in range(10):
            notify(write_back, "SetCurrent", 40)
            write_back.handle_message(PREFIX + "Mode", b"not json")
        notify(write_back, "SetCurrent", "ten")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert "6-32 A" in lines[0]
    assert PORTAL in lines[0]


@given(payload=st.binary(max_size=1100))
def test_any_notification_is_safe(payload: bytes) -> None:
    """No payload raises; a command is always within the connector's range."""
    write_back = controllable()
    for path in ("SetCurrent", "StartStop", "Mode"):
        result = write_back.handle_message(PREFIX + path, payload)
        assert result is None or isinstance(
            result, VictronSetCurrent | VictronStartStop | VictronSetMode
        )
        if isinstance(result, VictronSetCurrent):
            assert 6 <= result.amps <= 32
