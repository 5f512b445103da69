"""Tests for the retained MQTT shadow: topics, payloads, differ, commands."""

from datetime import UTC, datetime, timedelta, timezone
import json
import logging

from hypothesis import given, strategies as st
import pytest

from custom_components.evse_bridge.api.model import (
    ConnectorState,
    ConnectorStatus,
    MeterReading,
    Part,
)
from custom_components.evse_bridge.api.shadow import (
    CurrentRange,
    RefusalReason,
    SetChargingEnabled,
    SetCurrentLimit,
    ShadowCommands,
    ShadowControls,
    ShadowDiffer,
    ShadowMessage,
    ShadowRefusal,
    ShadowTopicError,
    availability_topic,
    charger_availability_topic,
    normalize_base_topic,
    shadow_values,
    validate_topic,
)

CHARGER = "91728M03W4010406"
SAMPLED = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
METER = MeterReading(
    energy_wh=1_234_567.0,
    power_w=11_040.0,
    current_a=(16.0, 16.0, 15.9),
    voltage_v=(230.1, None, 231.0),
    frequency_hz=50.0,
)
CONNECTOR = ConnectorState(
    vendor_status="chrg",
    status=ConnectorStatus.CHARGING,
    vehicle_connected=True,
    charging=True,
    offered_current_a=16.0,
    charging_enabled=True,
)
PART = Part(id="evse1", serial_number="272274U", meter=METER, connector=CONNECTOR)


def published(messages: list[ShadowMessage]) -> dict[str, object]:
    """Return topic -> value of the messages (None for a cleared topic)."""
    return {
        message.topic: json.loads(message.payload)["value"] if message.payload else None
        for message in messages
    }


def test_values_named_as_in_the_model() -> None:
    """Every reported value has its model name; phases one level each."""
    assert shadow_values(PART) == {
        "serial_number": "272274U",
        "energy_wh": 1_234_567.0,
        "power_w": 11_040.0,
        "current_a/l1": 16.0,
        "current_a/l2": 16.0,
        "current_a/l3": 15.9,
        "voltage_v/l1": 230.1,
        "voltage_v/l3": 231.0,
        "frequency_hz": 50.0,
        "vendor_status": "chrg",
        "status": "charging",
        "vehicle_connected": True,
        "charging": True,
        "offered_current_a": 16.0,
        "charging_enabled": True,
        "phases": 3,
        "nominal_voltage_v": 230.0,
    }


def test_unreported_and_non_finite_values_are_left_out() -> None:
    """No invented values: None, NaN and infinity never reach the shadow."""
    part = Part(
        id="mainMeter",
        meter=MeterReading(energy_wh=float("nan"), power_w=float("inf")),
    )
    assert shadow_values(part) == {}
    assert shadow_values(Part(id="evse2")) == {}


def test_first_update_publishes_every_value_retained() -> None:
    """Each value becomes one retained topic with its value and sample time."""
    differ = ShadowDiffer()
    messages = differ.changes(CHARGER, PART, SAMPLED)
    assert all(message.retain for message in messages)
    by_topic = {message.topic: json.loads(message.payload) for message in messages}
    assert by_topic[f"chargers/{CHARGER}/evse1/power_w"] == {
        "value": 11_040.0,
        "sampled_at": "2026-12-02T10:00:00+00:00",
    }
    assert by_topic[f"chargers/{CHARGER}/evse1/status"]["value"] == "charging"
    assert by_topic[f"chargers/{CHARGER}/evse1/current_a/l3"]["value"] == 15.9
    assert len(messages) == len(shadow_values(PART))


def test_only_changed_values_are_published() -> None:
    """A repeated reading publishes nothing; a change publishes that value only."""
    differ = ShadowDiffer()
    differ.changes(CHARGER, PART, SAMPLED)
    later = SAMPLED + timedelta(seconds=30)
    assert differ.changes(CHARGER, PART, later) == []

    changed = Part(
        id="evse1",
        serial_number="272274U",
        meter=MeterReading(
            energy_wh=1_234_600.0,
            power_w=11_040.0,
            current_a=METER.current_a,
            voltage_v=METER.voltage_v,
            frequency_hz=50.0,
        ),
        connector=CONNECTOR,
    )
    messages = differ.changes(CHARGER, changed, later)
    assert published(messages) == {f"chargers/{CHARGER}/evse1/energy_wh": 1_234_600.0}
    assert json.loads(messages[0].payload)["sampled_at"] == later.isoformat()


def test_a_value_no_longer_reported_is_cleared_and_comes_back() -> None:
    """The shadow never keeps a value the charger stopped reporting."""
    differ = ShadowDiffer()
    differ.changes(CHARGER, PART, SAMPLED)
    without_power = Part(id="evse1", serial_number="272274U", connector=CONNECTOR)
    messages = differ.changes(CHARGER, without_power, SAMPLED)
    cleared = {message.topic for message in messages if message.payload == ""}
    assert f"chargers/{CHARGER}/evse1/power_w" in cleared
    assert f"chargers/{CHARGER}/evse1/current_a/l1" in cleared
    assert all(message.payload == "" for message in messages)
    assert all(message.retain for message in messages)  # a retained clear deletes it

    assert differ.changes(CHARGER, without_power, SAMPLED) == []
    messages = differ.changes(CHARGER, PART, SAMPLED)
    assert published(messages)[f"chargers/{CHARGER}/evse1/power_w"] == 11_040.0


def test_a_value_that_changes_type_is_published() -> None:
    """True equals 1.0 in Python, but not on the wire."""
    differ = ShadowDiffer()
    differ.changes(CHARGER, Part(id="evse1", meter=MeterReading(power_w=1.0)), SAMPLED)
    flag = Part(id="evse1", meter=MeterReading(power_w=True))
    assert published(differ.changes(CHARGER, flag, SAMPLED)) == {
        f"chargers/{CHARGER}/evse1/power_w": True
    }


def test_parts_and_chargers_are_kept_apart() -> None:
    """The same value on another part or charger is its own topic."""
    differ = ShadowDiffer("home/ev/")
    part = Part(id="evse1", meter=MeterReading(power_w=5.0))
    differ.changes("A", part, SAMPLED)
    assert published(differ.changes("B", part, SAMPLED)) == {
        "home/ev/B/evse1/power_w": 5.0
    }
    other = Part(id="evse2", meter=MeterReading(power_w=5.0))
    assert published(differ.changes("A", other, SAMPLED)) == {
        "home/ev/A/evse2/power_w": 5.0
    }


def test_forget_clears_one_charger() -> None:
    """A charger no longer exported leaves no retained values behind."""
    differ = ShadowDiffer()
    differ.changes("A", Part(id="evse1", meter=MeterReading(power_w=5.0)), SAMPLED)
    differ.changes("A", Part(id="evse2", meter=MeterReading(energy_wh=9.0)), SAMPLED)
    differ.changes("B", Part(id="evse1", meter=MeterReading(power_w=5.0)), SAMPLED)
    assert published(differ.forget("A")) == {
        "chargers/A/evse1/power_w": None,
        "chargers/A/evse2/energy_wh": None,
    }
    assert differ.forget("A") == []
    # Forgotten values are published again when the charger comes back.
    assert differ.changes(
        "A", Part(id="evse1", meter=MeterReading(power_w=5.0)), SAMPLED
    )


def test_retained_restores_the_last_values_as_published() -> None:
    """After a broker forgot them: each value once, with its own sample time."""
    differ = ShadowDiffer()
    first = differ.changes(CHARGER, PART, SAMPLED)
    later = SAMPLED + timedelta(minutes=5)
    changed = Part(id="evse1", meter=MeterReading(power_w=7.0), connector=CONNECTOR)
    second = differ.changes(CHARGER, changed, later)
    retained = differ.retained()
    assert all(message.retain for message in retained)
    expected = {message.topic: message.payload for message in first + second}
    expected = {topic: payload for topic, payload in expected.items() if payload}
    assert {message.topic: message.payload for message in retained} == expected
    stamps = {
        message.topic: json.loads(message.payload)["sampled_at"] for message in retained
    }
    assert stamps[f"chargers/{CHARGER}/evse1/power_w"] == later.isoformat()
    assert stamps[f"chargers/{CHARGER}/evse1/status"] == SAMPLED.isoformat()
    differ.forget(CHARGER)
    assert differ.retained() == []


def test_sample_time_keeps_its_offset() -> None:
    """sampled_at is ISO 8601 with the offset it was given."""
    differ = ShadowDiffer()
    local = datetime(2026, 12, 2, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    messages = differ.changes(CHARGER, Part(id="x", meter=METER), local)
    stamp = json.loads(messages[0].payload)["sampled_at"]
    assert datetime.fromisoformat(stamp) == SAMPLED
    assert stamp == "2026-12-02T11:00:00+01:00"


def test_naive_sample_time_is_refused() -> None:
    """A time without a zone would be read differently by each consumer."""
    with pytest.raises(ValueError, match="timezone"):
        ShadowDiffer().changes(CHARGER, PART, datetime(2026, 12, 2))  # noqa: DTZ001


@pytest.mark.parametrize("charger_id", ["", "a/b", "a+", "#", "a\x00b", "a\x1fb"])
def test_ids_that_cannot_be_one_level_are_refused(charger_id: str) -> None:
    """A charger id becomes one topic level, checked before anything is published."""
    with pytest.raises(ShadowTopicError):
        ShadowDiffer().changes(charger_id, PART, SAMPLED)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("", "chargers"),
        ("  ", "chargers"),
        ("/chargers/", "chargers"),
        ("home/ev ", "home/ev"),
        ("Laddbox/Garage", "Laddbox/Garage"),
        ("ström", "ström"),
    ],
)
def test_base_topic_is_normalized(base: str, expected: str) -> None:
    """Blanks and outer slashes are dropped; empty means the default."""
    assert normalize_base_topic(base) == expected
    assert ShadowDiffer(base).base_topic == expected
    assert ShadowCommands(base).subscription == f"{expected}/+/+/+/set"


@pytest.mark.parametrize(
    ("topic", "error"),
    [
        ("home/+/ev", "wildcards"),
        ("home/#", "wildcards"),
        ("a//b", "empty"),
        ("bad\x7fchar", "control"),
        ("bad\x85char", "control"),
        ("bad\ufdd0char", "non-characters"),
        ("bad\uffffchar", "non-characters"),
        ("bad\U0001fffechar", "non-characters"),
        ("lone\ud800surrogate", "UTF-8"),
        ("é" * 32_768, "65535 bytes"),
    ],
)
def test_invalid_topics_are_refused(topic: str, error: str) -> None:
    """The rules of Home Assistant's MQTT integration, plus no empty level."""
    with pytest.raises(ShadowTopicError, match=error):
        validate_topic(topic)


def test_longest_valid_topic_is_accepted() -> None:
    """The limit is in bytes: 65535 bytes pass."""
    topic = "é" * 32_767 + "a"
    assert len(topic.encode()) == 65_535
    assert validate_topic(topic) == topic


def test_availability_topics() -> None:
    """The exporter's availability (the last will) and each charger's."""
    assert availability_topic("chargers") == "chargers/availability"
    assert charger_availability_topic("chargers", "A") == "chargers/A/availability"
    with pytest.raises(ShadowTopicError):
        charger_availability_topic("chargers", "A/#")


CONTROLS = ShadowControls(current_range=CurrentRange(6, 32), charging_enabled=True)


def controls_of(charger_id: str, part_id: str) -> ShadowControls | None:
    """Return the controls of the one exported connector, A/evse1."""
    return CONTROLS if (charger_id, part_id) == ("A", "evse1") else None


def command(
    payload: str | bytes,
    name: str = "current_limit_a",
    commands: ShadowCommands | None = None,
) -> SetCurrentLimit | SetChargingEnabled | ShadowRefusal | None:
    """Parse a command for A/evse1."""
    commands = commands or ShadowCommands()
    return commands.parse(f"chargers/A/evse1/{name}/set", payload, controls_of)


@pytest.mark.parametrize(
    ("payload", "amps"),
    [
        ("10", 10),
        ("6", 6),
        ("32", 32),
        ('{"value": 16}', 16),
        ("10.9", 10),
        (b"20", 20),
    ],
)
def test_current_limit_commands(payload: str | bytes, amps: int) -> None:
    """A number of amperes, rounded down to whole amperes."""
    assert command(payload) == SetCurrentLimit("A", "evse1", amps)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("5.9", RefusalReason.OUT_OF_RANGE),
        ("33", RefusalReason.OUT_OF_RANGE),
        ("-10", RefusalReason.OUT_OF_RANGE),
        ("1e400", RefusalReason.WRONG_TYPE),
        ("9" * 250, RefusalReason.OUT_OF_RANGE),
        ("NaN", RefusalReason.WRONG_TYPE),
        ("true", RefusalReason.WRONG_TYPE),
        ("ON", RefusalReason.WRONG_TYPE),
        ('"10"', RefusalReason.WRONG_TYPE),
        ("[10]", RefusalReason.WRONG_TYPE),
        ('{"value": null}', RefusalReason.WRONG_TYPE),
        ("ten", RefusalReason.NOT_JSON),
        ("", RefusalReason.NOT_JSON),
        (b"\xff\xfe", RefusalReason.NOT_JSON),
        ('{"value": 10, "permanent": true}', RefusalReason.NOT_JSON),
        ("1" * 300, RefusalReason.NOT_JSON),
    ],
)
def test_bad_current_limits_are_refused(
    payload: str | bytes, reason: RefusalReason
) -> None:
    """Out of range and wrong types are refused with the reason."""
    result = command(payload)
    assert isinstance(result, ShadowRefusal)
    assert result.reason is reason
    assert result.topic == "chargers/A/evse1/current_limit_a/set"
    assert result.detail


def test_out_of_range_names_the_range() -> None:
    """The refusal says what the connector accepts."""
    result = command("40")
    assert isinstance(result, ShadowRefusal)
    assert "6-32 A" in result.detail


@pytest.mark.parametrize(
    ("payload", "enabled"),
    [
        ("true", True),
        ("false", False),
        ("ON", True),
        (" off ", False),
        ("1", True),
        ("0", False),
        ('{"value": false}', False),
        ('{"value": "on"}', True),
    ],
)
def test_charging_enabled_commands(payload: str, enabled: bool) -> None:
    """true/false, on/off or 1/0."""
    assert command(payload, "charging_enabled") == SetChargingEnabled(
        "A", "evse1", enabled
    )


@pytest.mark.parametrize("payload", ["2", "0.5", '"maybe"', "null", "{}"])
def test_bad_charging_enabled_is_refused(payload: str) -> None:
    """Anything but a boolean is refused."""
    result = command(payload, "charging_enabled")
    assert isinstance(result, ShadowRefusal)
    assert result.reason in (RefusalReason.WRONG_TYPE, RefusalReason.NOT_JSON)


def test_values_a_connector_cannot_change_are_refused() -> None:
    """A read-only connector, or a value that is never settable."""
    commands = ShadowCommands()
    read_only = ShadowControls()
    for name in ("current_limit_a", "charging_enabled", "energy_wh"):
        result = commands.parse(
            f"chargers/A/evse1/{name}/set", "10", lambda _c, _p: read_only
        )
        assert isinstance(result, ShadowRefusal)
        assert result.reason is RefusalReason.NOT_SETTABLE
    result = command("10", "power_w")
    assert isinstance(result, ShadowRefusal)
    assert result.reason is RefusalReason.NOT_SETTABLE


def test_unknown_connectors_are_refused() -> None:
    """Only exported connectors take commands."""
    result = ShadowCommands().parse(
        "chargers/B/evse1/current_limit_a/set", "10", controls_of
    )
    assert isinstance(result, ShadowRefusal)
    assert result.reason is RefusalReason.UNKNOWN_CONNECTOR


@pytest.mark.parametrize(
    "topic",
    [
        "other/A/evse1/current_limit_a/set",
        "chargers/A/evse1/current_limit_a",
        "chargers/A/evse1/current_a/l1/set",
        "chargers/A/availability",
        "chargers/availability",
        "chargersX/A/evse1/current_limit_a/set",
    ],
)
def test_other_topics_are_not_commands(topic: str) -> None:
    """State topics, availability and other bases are not commands."""
    assert ShadowCommands().parse(topic, "10", controls_of) is None


def test_each_refusal_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A repeated bad command logs one line; another reason logs again."""
    commands = ShadowCommands()
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            command("40", commands=commands)
        command("true", commands=commands)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "chargers/A/evse1/current_limit_a/set" in lines[0]
    assert "6-32 A" in lines[0]


def test_outsiders_cannot_grow_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """Commands to made-up connectors or names log once, without their topics."""
    commands = ShadowCommands()
    with caplog.at_level(logging.WARNING):
        for index in range(200):
            commands.parse(
                f"chargers/X{index}/evse1/current_limit_a/set", "10", controls_of
            )
            commands.parse(f"chargers/A/evse1/made_up_{index}/set", "10", controls_of)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert not any("X1" in line or "made_up" in line for line in lines)
    assert len(commands._logged) == 2


@given(payload=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_payload_gives_a_command_or_a_refusal(payload: bytes) -> None:
    """No payload raises; each gives a typed outcome."""
    commands = ShadowCommands()
    for name in ("current_limit_a", "charging_enabled"):
        result = command(payload, name, commands)
        assert isinstance(result, SetCurrentLimit | SetChargingEnabled | ShadowRefusal)
        if isinstance(result, SetCurrentLimit):
            assert 6 <= result.amps <= 32
