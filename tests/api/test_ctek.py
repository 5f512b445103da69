"""Tests for the CTEK Automation-interface parser (no Home Assistant)."""

import math
from pathlib import Path

import pytest

from custom_components.evse_bridge.api.ctek import (
    CtekCharger,
    CtekPayloadError,
    CtekState,
    CtekTopicError,
    normalize_base_topic,
    validate_charger_id,
)
from custom_components.evse_bridge.api.model import ConnectorStatus

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ctek"
CBID = "91728M03W4010406"


def fixture(name: str) -> str:
    """Return a captured CTEK payload."""
    return (FIXTURES / name).read_text()


@pytest.fixture
def charger() -> CtekCharger:
    """Return a charger under the default base topic."""
    return CtekCharger("CTEK", CBID)


def em(charger: CtekCharger, payload: str | bytes, part: str = "evse1") -> None:
    """Feed an energy-meter message."""
    charger.handle_message(f"CTEK/{CBID}/{part}/em", payload)


def test_documented_meter_payload(charger: CtekCharger) -> None:
    """The manufacturer's sample becomes a full reading."""
    update = charger.handle_message(
        f"CTEK/{CBID}/mainMeter/em", fixture("em_mainMeter.json")
    )
    assert update is not None
    assert update.part_id == "mainMeter"
    assert update.timestamp is not None
    assert update.timestamp.isoformat() == "2021-04-09T09:09:47+00:00"
    meter = charger.state.parts["mainMeter"].meter
    assert meter is not None
    assert meter.energy_wh == 20218145
    assert meter.power_w == 1337.6
    assert meter.frequency_hz == 50
    assert meter.current_a[0] == pytest.approx(1.589)
    assert meter.voltage_v == (237.6, 233.9, 235.8)
    assert charger.state.parts["mainMeter"].connector is None


def test_status_and_meterinfo(charger: CtekCharger) -> None:
    """Status gives the vendor and neutral state; meterinfo the serial."""
    charger.handle_message(f"CTEK/{CBID}/evse1/status", fixture("status_evse1.json"))
    charger.handle_message(
        f"CTEK/{CBID}/evse1/meterinfo", fixture("meterinfo_evse1.json")
    )
    part = charger.state.parts["evse1"]
    assert part.serial_number == "272274U"
    assert part.connector is not None
    assert part.connector.vendor_status == "chrg"
    assert part.connector.status is ConnectorStatus.CHARGING
    assert part.connector.charging is True
    assert part.connector.vehicle_connected is True
    assert part.connector.problem is False
    assert part.connector.offered_current_a == 16


@pytest.mark.parametrize(
    ("code", "status", "connected", "problem"),
    [
        ("AVAL", ConnectorStatus.AVAILABLE, False, False),
        ("CONN", ConnectorStatus.PREPARING, True, False),
        ("AUTH", ConnectorStatus.PREPARING, False, False),
        ("EVRD", ConnectorStatus.PREPARING, True, False),
        ("CHRG", ConnectorStatus.CHARGING, True, False),
        ("PAUS", ConnectorStatus.SUSPENDED_EVSE, True, False),
        ("NCRQ", ConnectorStatus.SUSPENDED_EV, True, False),
        ("SUHT", ConnectorStatus.SUSPENDED_EVSE, True, False),
        ("STHT", ConnectorStatus.FINISHING, True, False),
        ("DONE", ConnectorStatus.FINISHING, True, False),
        ("GONE", ConnectorStatus.AVAILABLE, False, False),
        ("FLTY", ConnectorStatus.FAULTED, None, True),
        ("DSBL", ConnectorStatus.UNAVAILABLE, None, False),
        ("INVL", ConnectorStatus.FAULTED, None, True),
    ],
)
def test_every_documented_state(
    charger: CtekCharger,
    code: str,
    status: ConnectorStatus,
    connected: bool | None,
    problem: bool,
) -> None:
    """All 14 documented codes map to a neutral status and binary facts."""
    charger.handle_message(
        f"CTEK/{CBID}/evse2/status", f'{{"assigned": 0, "state": "{code}"}}'
    )
    connector = charger.state.parts["evse2"].connector
    assert connector is not None
    assert connector.vendor_status == CtekState[code].value
    assert connector.status is status
    assert connector.vehicle_connected is connected
    assert connector.problem is problem
    assert connector.charging is (code == "CHRG")


def test_every_state_is_tested() -> None:
    """The table above covers the whole enum."""
    assert len(CtekState) == 14


def test_unknown_state_code_is_unknown_and_logged_once(
    charger: CtekCharger, caplog: pytest.LogCaptureFixture
) -> None:
    """An undocumented code is shown as unknown, with one warning."""
    for _ in range(3):
        charger.handle_message(
            f"CTEK/{CBID}/evse1/status", '{"assigned": 6, "state": "ZZZZ"}'
        )
    connector = charger.state.parts["evse1"].connector
    assert connector is not None
    assert connector.vendor_status is None
    assert connector.status is None
    assert connector.charging is None
    assert connector.offered_current_a == 6
    assert caplog.text.count("Unknown EVSE state 'ZZZZ'") == 1


@pytest.mark.parametrize(
    "token", ["nan", "-nan", "NaN", "inf", "-inf", "Infinity", "null"]
)
def test_non_finite_tokens_become_unknown(charger: CtekCharger, token: str) -> None:
    """Bare nan and friends (not JSON) become unknown values, not errors."""
    em(
        charger,
        f'{{"current": [{token}, 1.0, {token}], "energy": {token}, '
        f'"power": {token}, "voltage": [230, {token}, 231], "frequency": {token}}}',
    )
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh is None
    assert meter.power_w is None
    assert meter.frequency_hz is None
    assert meter.current_a == (None, 1.0, None)
    assert meter.voltage_v == (230, None, 231)


def test_nan_inside_a_string_is_kept(charger: CtekCharger) -> None:
    """Only bare tokens are replaced; strings stay as sent."""
    charger.handle_message(
        f"CTEK/{CBID}/evse1/meterinfo", '{"serialno": "nan-1", "x": nan}'
    )
    assert charger.state.parts["evse1"].serial_number == "nan-1"


def test_missing_fields_and_short_arrays(charger: CtekCharger) -> None:
    """Missing values are unknown; a short phase array leaves phases unknown."""
    em(charger, '{"current": [7.5], "voltage": "230.5", "energy": 1000}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 1000
    assert meter.power_w is None
    assert meter.current_a == (7.5, None, None)
    assert meter.voltage_v == (230.5, None, None)


def test_numbers_sent_as_strings(charger: CtekCharger) -> None:
    """Numeric strings are numbers; other strings and booleans are unknown."""
    em(charger, '{"energy": "5000", "power": "abc", "current": ["1.5", true, {}]}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 5000
    assert meter.power_w is None
    assert meter.current_a == (1.5, None, None)


def test_negative_energy_is_unknown(charger: CtekCharger) -> None:
    """A negative lifetime counter cannot be true."""
    em(charger, '{"energy": -5, "power": -12.5}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh is None
    assert meter.power_w == -12.5


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not json",
        '{"energy": 2021',
        "[1, 2, 3]",
        '"text"',
        b"\xff\xfe",
        "{" + " " * 20_000 + "}",
    ],
    ids=["empty", "text", "truncated", "array", "string", "binary", "huge"],
)
def test_unusable_payloads_raise_and_keep_state(
    charger: CtekCharger, payload: str | bytes
) -> None:
    """An unusable payload is reported, and what was known stays."""
    em(charger, '{"energy": 1000}')
    with pytest.raises(CtekPayloadError):
        em(charger, payload)
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 1000


def test_bytes_payload(charger: CtekCharger) -> None:
    """Payloads may arrive undecoded."""
    em(charger, b'{"energy": 42}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 42


def test_unknown_meter_names_become_parts(charger: CtekCharger) -> None:
    """A meter the charger publishes later (evse3, subMeter) becomes a part."""
    em(charger, '{"energy": 1}', part="evse3")
    em(charger, '{"energy": 2}', part="subMeter")
    assert set(charger.state.parts) == {"evse3", "subMeter"}


@pytest.mark.parametrize(
    "topic",
    [
        "CTEK/OTHER/evse1/em",
        f"CTEK/{CBID}/evse1/unknown",
        f"CTEK/{CBID}/evse1",
        f"OTHER/{CBID}/evse1/em",
        f"CTEK/{CBID}//em",
        f"CTEK/{CBID}/mainMeter/status",
    ],
)
def test_foreign_topics_are_ignored(charger: CtekCharger, topic: str) -> None:
    """Messages that are not this charger's data change nothing."""
    assert charger.handle_message(topic, '{"energy": 1, "state": "CHRG"}') is None
    assert charger.state.parts == {}


def test_bad_timestamp_is_unknown(charger: CtekCharger) -> None:
    """A time stamp that is not ISO 8601 is no time stamp."""
    update = charger.handle_message(
        f"CTEK/{CBID}/evse1/em", '{"timestamp": "yesterday"}'
    )
    assert update is not None
    assert update.timestamp is None


def test_snapshots_do_not_change_afterwards(charger: CtekCharger) -> None:
    """A snapshot handed out keeps its values."""
    em(charger, '{"energy": 1}')
    snapshot = charger.state
    em(charger, '{"energy": 2}')
    meter = snapshot.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 1


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("CTEK", "CTEK"), ("CTEK/", "CTEK"), (" /home/ctek/ ", "home/ctek"), ("", "CTEK")],
)
def test_base_topic_normalized(raw: str, normalized: str) -> None:
    """Trailing slashes and blanks go; empty means the CCU's default."""
    assert normalize_base_topic(raw) == normalized
    assert CtekCharger(raw, CBID).subscription == f"{normalized}/{CBID}/+/+"


@pytest.mark.parametrize("raw", ["CTEK/#", "CTEK/+", "a//b", "+", "x\0"])
def test_base_topic_with_wildcards_refused(raw: str) -> None:
    """Wildcards and empty levels would subscribe to other devices' data."""
    with pytest.raises(CtekTopicError):
        normalize_base_topic(raw)


@pytest.mark.parametrize("raw", ["", "a/b", "+", "#", "  "])
def test_bad_charger_id_refused(raw: str) -> None:
    """A charger id is one topic level, without wildcards."""
    with pytest.raises(CtekTopicError):
        validate_charger_id(raw)


def test_float_artefacts_kept_exactly(charger: CtekCharger) -> None:
    """float32 artefacts pass through; rounding is for display."""
    em(charger, '{"current": [1.5889999866485596, 0, 0]}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.current_a[0] is not None
    assert math.isclose(meter.current_a[0], 1.5889999866485596)


@pytest.mark.parametrize(
    "payload", ['{"serialno": null}', '{"serialno": true}', '{"serialno": " "}', "{}"]
)
def test_unusable_serial_number_is_unknown(charger: CtekCharger, payload: str) -> None:
    """A meterinfo message without a usable serial number leaves it unknown."""
    charger.handle_message(f"CTEK/{CBID}/evse1/meterinfo", payload)
    assert charger.state.parts["evse1"].serial_number is None
