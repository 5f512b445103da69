"""Tests for the CTEK Automation-interface parser (no Home Assistant)."""

import math
from pathlib import Path

import pytest

from custom_components.evse_bridge.api.ctek import (
    MAX_BARE_NUMBERS,
    MAX_BRACKETS,
    MAX_PARTS,
    MAX_PAYLOAD_BYTES,
    MAX_TOPIC_BYTES,
    MAX_UNKNOWN_CODES,
    CtekCharger,
    CtekPayloadError,
    CtekState,
    CtekTopicError,
    normalize_base_topic,
    validate_charger_id,
)
from custom_components.evse_bridge.api.model import ConnectorStatus

from .conftest import SmallStack

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


def test_size_cap_counts_bytes(charger: CtekCharger) -> None:
    """The cap is in bytes: a text of few characters but many bytes is refused."""
    padding = "€" * (MAX_PAYLOAD_BYTES // 3 + 1)  # 3 bytes each, below in characters
    with pytest.raises(CtekPayloadError, match="too large"):
        em(charger, '{"energy": 1, "x": "' + padding + '"}')
    with pytest.raises(CtekPayloadError, match="too large"):
        em(charger, b'{"energy": 1, "x": "' + padding.encode() + b'"}')


def test_payload_at_the_size_cap_is_read(charger: CtekCharger) -> None:
    """A payload of exactly MAX_PAYLOAD_BYTES is still read."""
    head, tail = '{"energy": 7, "x": "', '"}'
    payload = head + "€" * ((MAX_PAYLOAD_BYTES - len(head) - len(tail)) // 3)
    payload += " " * (MAX_PAYLOAD_BYTES - len((payload + tail).encode()))
    payload += tail
    assert len(payload.encode()) == MAX_PAYLOAD_BYTES
    em(charger, payload)
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 7


@pytest.mark.parametrize(
    "payload",
    [
        '\\"' * (MAX_PAYLOAD_BYTES // 2),
        '{"x": nan, "y": "' + '\\"' * 8000,
        "{" + "nan," * 4000 + "}",
        '"' + "\\" * 16000,
        "-" * MAX_PAYLOAD_BYTES,
    ],
    ids=["escaped-quotes", "unterminated", "many-tokens", "backslashes", "minus"],
)
def test_worst_case_payloads_are_refused(charger: CtekCharger, payload: str) -> None:
    """Payloads crafted against the nan fallback are refused like any other."""
    with pytest.raises(CtekPayloadError, match="not JSON"):
        em(charger, payload)


def test_nan_fallback_keeps_strings_with_quotes_and_tokens(
    charger: CtekCharger,
) -> None:
    """Escaped quotes and token-like text inside strings survive the fallback."""
    charger.handle_message(
        f"CTEK/{CBID}/evse1/meterinfo",
        '{"serialno": "a\\"nan\\"-inf", "energy": -nan, "x": ["nan", inf]}',
    )
    assert charger.state.parts["evse1"].serial_number == 'a"nan"-inf'


@pytest.mark.parametrize(
    ("field", "attribute"),
    [("energy", "energy_wh"), ("power", "power_w"), ("frequency", "frequency_hz")],
)
def test_integer_too_large_for_a_float_is_unknown(
    charger: CtekCharger, field: str, attribute: str
) -> None:
    """A 400-digit integer is no reading; it must not raise OverflowError."""
    huge = "9" * 400
    em(charger, f'{{"{field}": {huge}, "current": [{huge}, -{huge}, 1]}}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert getattr(meter, attribute) is None
    assert meter.current_a == (None, None, 1.0)
    charger.handle_message(
        f"CTEK/{CBID}/evse1/status", f'{{"state": "CHRG", "assigned": {huge}}}'
    )
    connector = charger.state.parts["evse1"].connector
    assert connector is not None
    assert connector.offered_current_a is None
    charger.handle_message(f"CTEK/{CBID}/evse1/meterinfo", f'{{"serialno": {huge}}}')
    assert charger.state.parts["evse1"].serial_number is None


def test_deep_nesting_is_a_payload_error(
    charger: CtekCharger, small_stack: SmallStack
) -> None:
    """Nesting too deep for the stack is refused, never a RecursionError."""
    depth = (MAX_PAYLOAD_BYTES - 30) // 2
    nested = "[" * depth + "]" * depth
    for payload in (f'{{"energy": {nested}}}', f'{{"energy": nan, "x": {nested}}}'):

        def feed(payload: str = payload) -> None:
            em(charger, payload)

        with pytest.raises(CtekPayloadError, match="arrays or objects"):
            small_stack(feed)
    assert charger.state.parts == {}


@pytest.mark.parametrize(
    "payload",
    [
        '{"x": [' + "[]," * 2000 + "[]]}",
        '{"x": [' + "{}," * 2000 + "{}]}",
        '{"serialno": "' + "[" * 100 + '"}',
    ],
    ids=["arrays", "objects", "in-a-string"],
)
def test_many_containers_are_refused(charger: CtekCharger, payload: str) -> None:
    """More brackets than any CTEK message has are refused before parsing."""
    with pytest.raises(CtekPayloadError, match="arrays or objects"):
        em(charger, payload)


def test_bare_numbers_up_to_the_limit_are_read(charger: CtekCharger) -> None:
    """The nan fallback reads MAX_BARE_NUMBERS tokens, and refuses more."""
    tokens = ", ".join(f'"x{n}": nan' for n in range(MAX_BARE_NUMBERS - 1))
    em(charger, f'{{"energy": 4, "power": inf, {tokens}}}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 4
    assert meter.power_w is None
    with pytest.raises(CtekPayloadError, match="not JSON"):
        em(charger, f'{{"energy": 5, "power": inf, "y": -nan, {tokens}}}')


def test_brackets_up_to_the_limit_are_read(charger: CtekCharger) -> None:
    """A payload with MAX_BRACKETS brackets is still read."""
    filler = ", ".join(f'"x{n}": []' for n in range(MAX_BRACKETS - 1))
    em(charger, f'{{"energy": 3, {filler}}}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 3


@pytest.mark.parametrize(
    "serial", ['"\\u001b[31mred"', '"\\ud800"', '"' + "S" * 65 + '"', '"a\\nb"']
)
def test_unprintable_or_long_serial_number_is_unknown(
    charger: CtekCharger, serial: str
) -> None:
    """A serial number shown on the device page must be short, printable text."""
    charger.handle_message(f"CTEK/{CBID}/evse1/meterinfo", f'{{"serialno": {serial}}}')
    assert charger.state.parts["evse1"].serial_number is None


def test_bytes_payload(charger: CtekCharger) -> None:
    """Payloads may arrive undecoded."""
    em(charger, b'{"energy": 42}')
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 42


def test_later_evse_becomes_a_part(charger: CtekCharger) -> None:
    """An outlet the charger starts publishing later (evse3) becomes a part."""
    em(charger, '{"energy": 1}', part="evse3")
    em(charger, '{"energy": 2}', part="evse99")
    assert set(charger.state.parts) == {"evse3", "evse99"}


@pytest.mark.parametrize(
    "part",
    ["subMeter", "evse0", "evse01", "evse100", "EVSE1", "mainmeter", "evse1 ", "x\x00"],
)
def test_part_names_the_protocol_does_not_define_are_ignored(
    charger: CtekCharger, part: str
) -> None:
    """Only mainMeter and evse1..evse99 are parts; anything else is not."""
    assert charger.handle_message(f"CTEK/{CBID}/{part}/em", '{"energy": 1}') is None
    assert charger.handle_message(f"CTEK/{CBID}/{part}/em", "garbage") is None
    assert charger.state.parts == {}


def test_parts_per_charger_are_capped(
    charger: CtekCharger, caplog: pytest.LogCaptureFixture
) -> None:
    """Parts beyond MAX_PARTS are ignored, with one warning; known ones go on."""
    for number in range(1, 100):
        em(charger, '{"energy": 1}', part=f"evse{number}")
    assert len(charger.state.parts) == MAX_PARTS
    assert caplog.text.count("ignoring") == 1
    em(charger, '{"energy": 5}', part="evse1")
    meter = charger.state.parts["evse1"].meter
    assert meter is not None
    assert meter.energy_wh == 5


def test_unknown_state_codes_remembered_are_capped(
    charger: CtekCharger, caplog: pytest.LogCaptureFixture
) -> None:
    """A stream of invented codes is logged a bounded number of times."""
    for number in range(1000):
        charger.handle_message(f"CTEK/{CBID}/evse1/status", f'{{"state": "X{number}"}}')
    assert len(charger._unknown_codes) == MAX_UNKNOWN_CODES
    assert caplog.text.count("Unknown EVSE state") == MAX_UNKNOWN_CODES


@pytest.mark.parametrize(
    "state",
    [
        "\\u001b[2J\\nFAKE LOG LINE " + "A" * 10_000,
        "[" * 30 + "]" * 30,
        "1" * 4000,
    ],
    ids=["escape-sequences", "nested", "long-integer"],
)
def test_logged_state_is_bounded_and_escaped(
    charger: CtekCharger, caplog: pytest.LogCaptureFixture, state: str
) -> None:
    """What a stranger sends reaches the log short and without control codes."""
    value = state if state[0] in "[1" else f'"{state}"'
    charger.handle_message(f"CTEK/{CBID}/evse1/status", f'{{"state": {value}}}')
    (record,) = [r for r in caplog.records if "Unknown EVSE state" in r.message]
    assert len(record.getMessage()) < 200
    assert record.getMessage().isprintable()


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


INVALID_IN_TOPICS = [
    "x\0",
    "a\x01b",
    "line\nbreak",
    "tab\there",
    "del\x7f",
    "c1\x85c1",
    "\ufdd0",
    "\U0001fffe",
    "\ud800",
]


@pytest.mark.parametrize(
    "raw", ["CTEK/#", "CTEK/+", "a//b", "+", "a+b", *INVALID_IN_TOPICS]
)
def test_base_topic_with_wildcards_refused(raw: str) -> None:
    """Wildcards, empty levels and characters MQTT refuses are refused.

    A control character in a subscription makes the broker drop Home
    Assistant's MQTT connection, for every MQTT integration.
    """
    with pytest.raises(CtekTopicError):
        normalize_base_topic(raw)
    with pytest.raises(CtekTopicError):
        normalize_base_topic(f"home/{raw}/ctek")


@pytest.mark.parametrize("raw", ["", "a/b", "+", "#", "  ", *INVALID_IN_TOPICS])
def test_bad_charger_id_refused(raw: str) -> None:
    """A charger id is one topic level, without wildcards or control characters."""
    with pytest.raises(CtekTopicError):
        validate_charger_id(raw)
    with pytest.raises(CtekTopicError):
        CtekCharger("CTEK", raw)


@pytest.mark.parametrize("raw", ["home/Ålesund", "ctek-🚗", "a b"])
def test_unusual_but_valid_topic_levels_accepted(raw: str) -> None:
    """Printable Unicode and inner blanks are valid in MQTT topics."""
    assert normalize_base_topic(raw) == raw
    assert validate_charger_id(raw.replace("/", "")) == raw.replace("/", "")


def test_topic_length_counts_bytes() -> None:
    """The whole subscription must fit MQTT's 65535 bytes, counted in UTF-8."""
    fits = "a" * (MAX_TOPIC_BYTES - len("/+/+/+"))
    assert normalize_base_topic(fits) == fits
    with pytest.raises(CtekTopicError):
        normalize_base_topic(fits + "a")
    with pytest.raises(CtekTopicError):
        normalize_base_topic("é" * (MAX_TOPIC_BYTES // 2))
    with pytest.raises(CtekTopicError):
        validate_charger_id("b" * 10, base_topic=fits[:-5])
    with pytest.raises(CtekTopicError):
        CtekCharger(fits[:-5], "b" * 10)


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
