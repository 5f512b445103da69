"""Fuzzing every parser with hypothesis: only the module's own error comes out.

Whatever a charger, or anyone who can publish to the broker, sends, each parser
returns a usable result or raises its module's error class, never anything else
(no OverflowError, RecursionError, LookupError, UnicodeError...). The normal
suite runs a short search (the ``default`` profile, in ``conftest.py``); the
longer run, a few minutes, is

    scripts/run pytest tests/api/test_fuzz.py --hypothesis-profile=fuzz -p no:randomly

No test here has a time bound: how long a payload may take is a benchmark's
business.
"""

import json
import math
from pathlib import Path
import string
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import given, strategies as st

from custom_components.evse_bridge.api.circontrol import (
    CircontrolClient,
    CircontrolPlugInfo,
    parse_charge_info,
    parse_identity,
    parse_plug_info,
    parse_values,
)
from custom_components.evse_bridge.api.ctek import (
    MAX_PARTS,
    MAX_PAYLOAD_BYTES,
    CtekCharger,
    CtekPayloadError,
    CtekTopicError,
    CtekUpdate,
    is_part_name,
    normalize_base_topic,
    validate_charger_id,
)
from custom_components.evse_bridge.api.errors import (
    ChargerResponseError,
)
from custom_components.evse_bridge.api.mennekes import (
    build_charger_state,
    decode_json_object,
    parse_charge_data,
    parse_dev_info,
)
from custom_components.evse_bridge.api.model import ChargerState, MeterReading
from custom_components.evse_bridge.api.xml import XmlError, parse_xml

FIXTURES = Path(__file__).parent.parent / "fixtures"
CBID = "91728M03W4010406"

# --- JSON ------------------------------------------------------------------------

# Integers a float cannot hold, up to what Python converts to text by default.
HUGE_INTEGERS = st.integers(min_value=2**1024, max_value=10**4000) | st.integers(
    min_value=-(10**4000), max_value=-(2**1024)
)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | HUGE_INTEGERS
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["nan", "inf", "-1", "1e400", "12.5", " 7 ", "", "CHRG"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)
# Bare tokens the CCU may write where JSON has none, in place of Python's own.
BARE_TOKENS = st.sampled_from(
    [
        ("NaN", "NaN"),
        ("NaN", "nan"),
        ("NaN", "-nan"),
        ("NaN", "NAN"),
        ("Infinity", "inf"),
        ("Infinity", "Infinity"),
        ("Infinity", "INF"),
    ]
)


def json_objects(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Return objects with some of the protocol's keys, and some others."""
    return st.fixed_dictionaries(
        {}, optional=dict.fromkeys(keys, JSON_VALUES)
    ) | st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), JSON_VALUES)


# --- CTEK ------------------------------------------------------------------------

CTEK_KEYS = [
    "energy",
    "power",
    "current",
    "voltage",
    "frequency",
    "state",
    "assigned",
    "serialno",
    "timestamp",
]
# Mostly the names the protocol defines, so that payloads reach the parsers.
CTEK_PARTS = st.one_of(
    st.sampled_from(["mainMeter", "evse1", "evse2", "evse99"]),
    st.sampled_from(["evse1", "evse2"]),
    st.text(max_size=12),
)
CTEK_KINDS = st.one_of(
    st.sampled_from(["em", "status", "meterinfo"]),
    st.sampled_from(["em", "status"]),
    st.text(max_size=10),
)


@st.composite
def ctek_json_payloads(draw: st.DrawFn) -> str:
    """Draw a CTEK-like JSON object, sometimes with bare non-JSON number tokens."""
    text = json.dumps(draw(json_objects(CTEK_KEYS)))
    if draw(st.booleans()):
        python_token, bare = draw(BARE_TOKENS)
        text = text.replace(python_token, bare)
    return text


CTEK_PAYLOADS = (
    ctek_json_payloads()
    | ctek_json_payloads()
    | ctek_json_payloads()
    | st.binary(max_size=300)
    | st.text(max_size=300)
    | st.integers(1, MAX_PAYLOAD_BYTES // 2).map(
        lambda depth: '{"energy": ' + "[" * depth + "]" * depth + "}"
    )
    | st.integers(1, MAX_PAYLOAD_BYTES).map(lambda size: '\\"' * (size // 2))
    | st.integers(4000, 5000).map(lambda digits: '{"energy": ' + "9" * digits + "}")
)


def assert_usable_meter(meter: MeterReading | None) -> None:
    """Every value the parser lets through is a finite number (or unknown)."""
    if meter is None:
        return
    values = [meter.energy_wh, meter.power_w, meter.frequency_hz]
    values += [*meter.current_a, *meter.voltage_v]
    assert all(value is None or math.isfinite(value) for value in values)
    assert meter.energy_wh is None or meter.energy_wh >= 0


def assert_bounded(state: ChargerState) -> None:
    """Only parts the protocol defines, at most MAX_PARTS, with usable values."""
    assert len(state.parts) <= MAX_PARTS
    for part_id, part in state.parts.items():
        assert is_part_name(part_id)
        assert_usable_meter(part.meter)
        serial = part.serial_number
        assert serial is None or (serial.isprintable() and len(serial) <= 64)


@given(
    st.lists(st.tuples(CTEK_PARTS, CTEK_KINDS, CTEK_PAYLOADS), min_size=1, max_size=8)
)
def test_ctek_messages(messages: list[tuple[str, str, str | bytes]]) -> None:
    """Any topic and payload: an update, None, or CtekPayloadError; state bounded."""
    charger = CtekCharger("CTEK", CBID)
    for part, kind, payload in messages:
        try:
            update = charger.handle_message(f"CTEK/{CBID}/{part}/{kind}", payload)
        except CtekPayloadError:
            continue
        assert update is None or isinstance(update, CtekUpdate)
        if update is not None:
            assert update.part_id == part
            assert update.timestamp is None or update.timestamp.year > 0
    assert_bounded(charger.state)


@given(st.text(max_size=80), CTEK_PAYLOADS)
def test_ctek_any_topic(topic: str, payload: str | bytes) -> None:
    """A topic of any text is this charger's data or ignored, never a crash."""
    charger = CtekCharger("CTEK", CBID)
    try:
        charger.handle_message(topic, payload)
    except CtekPayloadError:
        assert topic.startswith(f"CTEK/{CBID}/")
    assert_bounded(charger.state)


@given(st.text(max_size=40), st.text(max_size=40))
def test_ctek_topic_levels(base_topic: str, charger_id: str) -> None:
    """Any base topic and charger id: accepted, or CtekTopicError."""
    try:
        charger = CtekCharger(base_topic, charger_id)
    except CtekTopicError:
        return
    assert charger.subscription.endswith("/+/+")
    assert normalize_base_topic(charger.base_topic) == charger.base_topic
    assert validate_charger_id(charger.charger_id) == charger.charger_id


# --- Mennekes --------------------------------------------------------------------

CHARGE_DATA = json.loads(
    (FIXTURES / "mennekes" / "charge_data_charging.json").read_text()
)
DEV_INFO = json.loads((FIXTURES / "mennekes" / "dev_info.json").read_text())


# The fields the parsers read, so that most bodies reach the field checks.
CHARGE_DATA_FIELDS = ["ChgState", "ChgNrg", "ChgDuration", "ActPwr", "ActCurr"]
CHARGE_DATA_FIELDS += ["RemoteCurr", "Tariff", "ExcessNrg", "HCCP"]
DEV_INFO_FIELDS = ["Sn", "DevMode", "AutoChg", "Err", "DevName", "ItemNo", "Hcc3"]
DEV_INFO_FIELDS += ["Hmi", "Wifi", "ChgState", "ChgContinue", "Phases", "MaxCurr"]
DEV_INFO_FIELDS += ["MaxPwr", "MaxCurrWb"]


@st.composite
def mennekes_bodies(
    draw: st.DrawFn, sample: dict[str, Any], fields: list[str]
) -> bytes:
    """Draw a sample answer with a field or two removed or replaced by odd JSON."""
    keys = st.sampled_from(fields)
    data = dict(sample)
    for key in draw(st.lists(keys, max_size=2)):
        data.pop(key, None)
    data |= draw(st.dictionaries(keys, JSON_SCALARS | HUGE_INTEGERS, max_size=3))
    data |= draw(st.dictionaries(keys | st.text(max_size=8), JSON_VALUES, max_size=2))
    return json.dumps(data).encode()


MENNEKES_BODIES = st.one_of(
    mennekes_bodies(CHARGE_DATA, CHARGE_DATA_FIELDS),
    mennekes_bodies(CHARGE_DATA, CHARGE_DATA_FIELDS),
    mennekes_bodies(DEV_INFO, DEV_INFO_FIELDS),
    mennekes_bodies(DEV_INFO, DEV_INFO_FIELDS),
    st.binary(max_size=300),
    st.integers(1, 30_000).map(lambda depth: b"[" * depth + b"]" * depth),
)


@given(MENNEKES_BODIES)
def test_mennekes_bodies(body: bytes) -> None:
    """Any body: a ChargeData/DevInfo model, or ChargerResponseError."""
    try:
        data = decode_json_object(body)
    except ChargerResponseError:
        return
    try:
        charge_data = parse_charge_data(data)
    except ChargerResponseError:
        charge_data = None
    try:
        dev_info = parse_dev_info(data)
    except ChargerResponseError:
        dev_info = None
    if charge_data is not None:
        state = build_charger_state(charge_data, dev_info)
        for part in state.parts.values():
            assert_usable_meter(part.meter)
    if dev_info is not None:
        assert dev_info.serial_number.isprintable()
        assert len(dev_info.serial_number) <= 64


# --- Circontrol and XML ----------------------------------------------------------

PLUG_FIELDS = [
    "number",
    "id",
    "name",
    "supportedCurrent",
    "EVCommDevice",
    "meter",
    "chargeMode",
    "connectorType",
]
CHARGE_FIELDS = [
    "id",
    "name",
    "number",
    "chargeId",
    "state",
    "user",
    "activeEnergy",
    "partialActiveEnergy",
    "requestDate",
    "beginDate",
    "endDate",
    "chargeTime",
    "stopped",
]
# Values the box could write where it means a date, a count or a code.
ODD_NUMBERS = st.sampled_from(
    ["1e20", "1633452620091.000", "253402300800", "-1e300", "1e400", "nan", "inf"]
)
NUMBERS = (
    ODD_NUMBERS
    | st.floats().map(repr)
    | st.integers().map(str)
    | st.integers(min_value=10**300, max_value=10**400).map(str)
    | st.sampled_from(
        ["nan", "-nan", "inf", "-1", "-1.000000", "1e20", "1633452620091.000", "0x1F"]
    )
    | st.sampled_from(["1.000000", " 5 ", "", "1_000", "\u0661\u0662", "8.000000"])
)
TEXTS = NUMBERS | st.text(max_size=20)
ENCODINGS = st.sampled_from(
    ["UTF-8", "utf-16", "utf-32", "latin-1", "ascii", "rot13", "idna", "x-none"]
) | st.text(alphabet=string.ascii_letters + string.digits + "-_.", max_size=12)


def case_variants(name: str) -> st.SearchStrategy[str]:
    """Return a tag name as written, in lower or upper case (the box mixes them)."""
    return st.sampled_from([name, name.lower(), name.upper()])


@st.composite
def elements(draw: st.DrawFn, name: str, fields: list[str]) -> str:
    """Draw one element with some of its fields; a plug number most of the time."""
    chosen = draw(st.lists(st.sampled_from(fields), max_size=len(fields) + 2))
    number = draw(st.none() | st.integers(1, 3).map(str) | st.integers(1, 3).map(str))
    if "number" in fields and number is not None:
        chosen.insert(0, "number")
    inner = "".join(
        f"<{field}>{escape(number if field == 'number' and number else draw(TEXTS))}"
        f"</{draw(case_variants(field))}>"
        for field in chosen
    )
    tag = draw(case_variants(name))
    return f"<{tag}>{inner}</{tag}>"


@st.composite
def documents(
    draw: st.DrawFn, root: str, item: str, fields: list[str], max_items: int = 3
) -> bytes:
    """Draw a document in the box's vocabulary with any declaration and content."""
    declaration = draw(
        st.none() | ENCODINGS.map(lambda e: f'<?xml version="1.0" encoding="{e}"?>')
    )
    items = "".join(draw(st.lists(elements(item, fields), max_size=max_items)))
    root_tag = draw(case_variants(root) | st.text(alphabet="abcXYZ", min_size=1))
    return f"{declaration or ''}<{root_tag}>{items}</{root_tag}>".encode()


VALUE_DOCUMENTS = documents("values", "variable", ["id", "value"], max_items=8)
ANY_BYTES = st.binary(max_size=400)


@given(
    documents("chargesInfo", "chargeInfo", CHARGE_FIELDS) | ANY_BYTES,
    documents("plugsInfo", "plugInfo", PLUG_FIELDS) | ANY_BYTES,
    VALUE_DOCUMENTS | ANY_BYTES,
)
def test_circontrol_poll_documents(
    charge_info: bytes, plug_info: bytes, values: bytes
) -> None:
    """Any poll answers: a snapshot of the plugs, or ChargerResponseError."""
    try:
        charges = parse_charge_info(charge_info)
        plugs = {plug.number: plug for plug in parse_plug_info(plug_info)}
        variables = parse_values(values)
    except ChargerResponseError:
        return
    assert all(value is None or math.isfinite(value) for value in variables.values())
    for charge in charges:
        plug = plugs.get(charge.number) or CircontrolPlugInfo(
            number=charge.number, name=charge.name, ev_comm_device="Plug - Mode 3"
        )
        part = CircontrolClient._part(charge, plug, variables)
        assert_usable_meter(part.meter)


@given(
    documents("devicesInfo", "deviceInfo", ["serialNumber", "id", "type"]) | ANY_BYTES,
    st.none()
    | documents("systemInformation", "x", ["mainDevice", "version"])
    | ANY_BYTES,
)
def test_circontrol_identity(device_info: bytes, information: bytes | None) -> None:
    """Any identity documents: an identity with a serial, or the module's error."""
    try:
        info = parse_identity(device_info, information)
    except ChargerResponseError:
        return
    assert info.serial_number


FIXTURE_DOCUMENTS = sorted(
    path.read_bytes() for path in (FIXTURES / "circontrol").glob("*.xml")
)


@given(
    st.sampled_from(FIXTURE_DOCUMENTS),
    st.lists(st.tuples(st.integers(0, 4000), ANY_BYTES), max_size=4),
)
def test_xml_mutated_captures(
    document: bytes, mutations: list[tuple[int, bytes]]
) -> None:
    """Real captures with bytes spliced in: a tree, or XmlError."""
    for position, inserted in mutations:
        cut = position % (len(document) + 1)
        document = document[:cut] + inserted + document[cut:]
    try:
        root = parse_xml(document)
    except XmlError:
        return
    assert root.tag == root.tag.lower() or not root.tag.isascii()
