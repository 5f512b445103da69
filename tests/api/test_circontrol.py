"""Tests of the Circontrol CirCarLife client against mocked HTTP answers."""

import ast
import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
import re
import time
import tracemalloc
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import CallbackResult, aioresponses
import pytest
from yarl import URL

from custom_components.evse_bridge.api.circontrol import (
    CircontrolChargeInfo,
    CircontrolClient,
    CircontrolForceVariables,
    CircontrolPlugError,
    CircontrolPlugState,
    CircontrolStopReason,
)
from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    ChargerResponseError,
    ChargerTimeoutError,
)
from custom_components.evse_bridge.api.model import ConnectorStatus
from custom_components.evse_bridge.api.xml import MAX_XML_BYTES, XmlError, parse_xml

FIXTURES = Path(__file__).parent.parent / "fixtures" / "circontrol"
PASSWORD = "s3cret-Pa55"  # noqa: S105 - a test credential

CHARGE_INFO = re.compile(
    r"^http://evse(:80)?/services/chargePointsInterface/chargeInfo\.xml$"
)
PLUG_INFO = re.compile(
    r"^http://evse(:80)?/services/chargePointsInterface/plugInfo\.xml$"
)
DEVICE_INFO = re.compile(
    r"^http://evse(:80)?/services/chargePointsInterface/deviceInfo\.xml\?id=EVSE$"
)
INFORMATION = re.compile(r"^http://evse(:80)?/services/system/information\.xml$")
VALUES = re.compile(r"^http://evse(:80)?/services/user/values\.xml\?.*$")
FORCE = re.compile(r"^http://evse(:80)?/services/user/forceVariables\.xml\?id=.*$")


def fixture(name: str) -> str:
    """Return a fixture document."""
    return (FIXTURES / name).read_text()


def values_xml(values: dict[str, str]) -> str:
    """Build a values.xml answer."""
    inner = "".join(
        f"<variable><id>{name}</id><value>{value}</value></variable>"
        for name, value in values.items()
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    return f"{head}\n<values>{inner}</values>"


def requests_to(mocked: aioresponses, method: str = "GET") -> list[tuple[str, Any]]:
    """Return (URL, kwargs) of every request sent with a method, in no fixed order."""
    return [
        (str(url), call.kwargs)
        for (request_method, url), calls in mocked.requests.items()
        if request_method == method
        for call in calls
    ]


def count(mocked: aioresponses) -> int:
    """Return how many requests were sent."""
    return sum(len(calls) for calls in mocked.requests.values())


@pytest.fixture
def mocked(http_mock: aioresponses) -> aioresponses:
    """Mock aiohttp."""
    return http_mock


@pytest.fixture
def sent_urls(monkeypatch: pytest.MonkeyPatch) -> list[URL]:
    """Record the URLs the client hands to aiohttp (aioresponses re-encodes its own)."""
    urls: list[URL] = []
    original = CircontrolClient._url

    def spy(self: CircontrolClient, path: str, query: Iterable[tuple[str, str]]) -> URL:
        url = original(self, path, query)
        urls.append(url)
        return url

    monkeypatch.setattr(CircontrolClient, "_url", spy)
    return urls


@pytest.fixture
async def client() -> AsyncIterator[CircontrolClient]:
    """Yield a client with instant command verification."""
    async with CircontrolClient(
        host="evse", command_verify_interval=0, request_timeout=2
    ) as client:
        yield client


def mock_state(
    mocked: aioresponses,
    charge_info: str = "chargeInfo.xml",
    values: str = "values_state.xml",
    plug_info: str = "plugInfo.xml",
) -> None:
    """Mock the answers one get_state() needs."""
    mocked.get(CHARGE_INFO, body=fixture(charge_info), repeat=True)
    mocked.get(PLUG_INFO, body=fixture(plug_info), repeat=True)
    mocked.get(VALUES, body=fixture(values), repeat=True)


# Reading state


async def test_state_from_published_capture(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """The published idle capture maps to an available, enabled plug 1."""
    mock_state(mocked)
    state = await client.get_state()

    assert list(state.parts) == ["plug1"]
    part = state.parts["plug1"]
    assert part.id == "plug1"
    assert part.meter is not None
    assert part.meter.energy_wh == 4_855_390.0
    assert part.meter.power_w == 0.0
    assert part.meter.current_a == (0.0, None, None)
    assert part.meter.voltage_v == (239.4, None, None)
    connector = part.connector
    assert connector is not None
    assert connector.vendor_status == "available"
    assert connector.status is ConnectorStatus.AVAILABLE
    assert connector.vehicle_connected is False
    assert connector.charging is False
    assert connector.problem is False
    assert connector.current_limit_a == 32.0
    assert connector.min_current_a == 6
    assert connector.max_current_a == 32.0
    assert connector.charging_enabled is True
    assert connector.session_energy_wh == 0.0
    assert connector.session_duration_s is None  # chargeTime -1


async def test_state_charging(mocked: aioresponses, client: CircontrolClient) -> None:
    """A charging plug reports power, session energy and duration."""
    mock_state(mocked, "chargeInfo_charging.xml", "values_charging.xml")
    part = (await client.get_state()).parts["plug1"]

    assert part.meter is not None
    assert part.meter.power_w == 7360.0
    assert part.meter.current_a == (32.0, None, None)
    assert part.connector is not None
    assert part.connector.status is ConnectorStatus.CHARGING
    assert part.connector.vendor_status == "charging"
    assert part.connector.charging is True
    assert part.connector.vehicle_connected is True
    assert part.connector.session_energy_wh == 1250.0
    assert part.connector.session_duration_s == 600


async def test_two_requests_per_poll(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """plugInfo.xml is read once; then each poll costs chargeInfo + one values.xml."""
    mock_state(mocked)
    await client.get_state()
    assert count(mocked) == 3
    await client.get_state()
    await client.get_state()
    assert count(mocked) == 7
    assert len(requests_to(mocked)) == 7
    values_urls = [url for url, _ in requests_to(mocked) if "values.xml" in url]
    assert len(values_urls) == 3


async def test_device_names_encoded_with_percent_20(
    mocked: aioresponses, client: CircontrolClient, sent_urls: list[URL]
) -> None:
    """Spaces in device names go out as %20, never as '+'."""
    mock_state(mocked)
    await client.get_state()
    (url,) = [url for url in sent_urls if url.path.endswith("values.xml")]
    assert "var=Plug%20-%20Mode%203.OUT_OF_SERVICE" in url.raw_query_string
    assert "+" not in str(url)
    assert url.raw_query_string.count("var=") == 8


def test_url_is_built_pre_encoded() -> None:
    """The URL aiohttp receives is marked encoded, so yarl cannot turn %20 into '+'."""
    client = CircontrolClient(host="evse")
    url = client._url("/services/user/values.xml", [("var", "Plug - Mode 3.STATE")])
    assert url.raw_query_string == "var=Plug%20-%20Mode%203.STATE"
    assert (
        str(url) == "http://evse/services/user/values.xml?var=Plug%20-%20Mode%203.STATE"
    )
    ipv6 = CircontrolClient(host="fd00::1", port=8080)._url("/x", [])
    assert ipv6 == URL("http://[fd00::1]:8080/x")


async def test_several_plugs(
    mocked: aioresponses, client: CircontrolClient, sent_urls: list[URL]
) -> None:
    """Two plugs become plug1 and plug2, each with its own variables."""
    mock_state(
        mocked,
        "chargeInfo_two_plugs.xml",
        "values_two_plugs.xml",
        "plugInfo_two_plugs.xml",
    )
    state = await client.get_state()

    assert list(state.parts) == ["plug1", "plug2"]
    plug2 = state.parts["plug2"]
    assert plug2.meter is not None
    assert plug2.meter.energy_wh == 1_200_000.0
    assert plug2.meter.voltage_v == (231.0, None, None)
    assert plug2.connector is not None
    assert plug2.connector.vendor_status == "waiting_vehicle_connection"
    assert plug2.connector.status is ConnectorStatus.PREPARING
    assert plug2.connector.max_current_a == 16.0
    assert plug2.connector.current_limit_a == 16.0
    assert plug2.connector.charging_enabled is False  # Plug 2 - Mode 3 out of service
    assert state.parts["plug1"].connector is not None
    assert state.parts["plug1"].connector.charging is True
    (url,) = [url for url in sent_urls if url.path.endswith("values.xml")]
    assert "var=Plug%202%20-%20Mode%203.OUT_OF_SERVICE" in url.raw_query_string
    assert "var=EVSE.PLUG2.CURRENT_REDUCTION" in url.raw_query_string


async def test_new_plug_refreshes_plug_info(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A plug missing from the cached plugInfo makes the client read plugInfo again."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(PLUG_INFO, body=fixture("plugInfo_two_plugs.xml"))
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo.xml"))
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo_two_plugs.xml"))
    mocked.get(VALUES, body=fixture("values_two_plugs.xml"), repeat=True)
    assert list((await client.get_state()).parts) == ["plug1"]
    state = await client.get_state()
    assert list(state.parts) == ["plug1", "plug2"]
    assert state.parts["plug2"].connector is not None
    assert state.parts["plug2"].connector.max_current_a == 16.0


async def test_plug_missing_from_plug_info(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A plug chargeInfo lists but plugInfo does not is still reported."""
    mock_state(mocked, "chargeInfo_two_plugs.xml", "values_two_plugs.xml")
    state = await client.get_state()
    assert state.parts["plug2"].connector is not None
    assert state.parts["plug2"].connector.max_current_a is None
    assert state.parts["plug2"].connector.charging_enabled is False
    assert len([u for u, _ in requests_to(mocked) if "plugInfo" in u]) == 2


async def test_empty_plug_list(mocked: aioresponses, client: CircontrolClient) -> None:
    """A box without plugs gives an empty state, without a values.xml request."""
    mock_state(mocked, "chargeInfo_empty.xml", plug_info="plugInfo_empty.xml")
    state = await client.get_state()
    assert state.parts == {}
    assert not [url for url, _ in requests_to(mocked) if "values.xml" in url]


async def test_nan_and_unknown_codes(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """nan, inf and text numbers become None; unknown state codes give no status."""
    mock_state(mocked, "chargeInfo_nan.xml", "values_nan.xml")
    part = (await client.get_state()).parts["plug1"]

    assert part.meter is not None
    assert part.meter.energy_wh is None
    assert part.meter.power_w is None
    assert part.meter.current_a == (None, None, None)
    assert part.meter.voltage_v == (None, None, None)
    connector = part.connector
    assert connector is not None
    assert connector.vendor_status is None
    assert connector.status is None
    assert connector.charging is None
    assert connector.problem is None
    assert connector.vehicle_connected is None
    assert connector.charging_enabled is None
    assert connector.current_limit_a is None
    assert connector.session_energy_wh is None


async def test_charge_info_model(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """The chargeInfo fields: dates with -1 unset, stop reason, state enum."""
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo.xml"))
    (charge,) = await client.get_charge_info()
    assert charge == CircontrolChargeInfo(
        number=1,
        id="47D21F22-D016-44CB-A373-9578B8CE7349.4F81287C-B0F0-425E-A957-82E31508AB52",
        name="EVSE.PLUG",
        charge_id="88E917C2-1B23-11EC-1B23-11EC84329941",
        state_code=0,
        state=CircontrolPlugState.AVAILABLE,
        user="00FFFFFFFF",
        active_energy_wh=4_855_390.0,
        partial_active_energy_wh=0.0,
        request_date=datetime(2021, 10, 5, 16, 50, 20, 91000, tzinfo=UTC),
        begin_date=None,
        end_date=datetime(2021, 10, 5, 16, 50, 29, 296000, tzinfo=UTC),
        charge_time_s=None,
        stopped=CircontrolStopReason.REMOTE,
    )


async def test_nan_charge_info_model(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """Unknown codes keep the raw state code but no enum."""
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo_nan.xml"))
    (charge,) = await client.get_charge_info()
    assert charge.state_code == 42
    assert charge.state is None
    assert charge.stopped is None
    assert charge.request_date is None


async def test_mismatched_case_closing_tags(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """Closing tags in another case, as in a published sample, are tolerated."""
    mock_state(mocked, "chargeInfo_mismatched_case.xml", "values_charging.xml")
    part = (await client.get_state()).parts["plug1"]
    assert part.connector is not None
    assert part.connector.status is ConnectorStatus.CHARGING
    assert part.connector.session_energy_wh == 1250.0
    assert part.meter is not None
    assert part.meter.energy_wh == 4_855_390.0


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (-100, None),
        (-99, None),
        (-2, ConnectorStatus.UNAVAILABLE),
        (-1, ConnectorStatus.FAULTED),
        (0, ConnectorStatus.AVAILABLE),
        (1, ConnectorStatus.PREPARING),
        (2, ConnectorStatus.PREPARING),
        (3, ConnectorStatus.PREPARING),
        (4, ConnectorStatus.SUSPENDED_EVSE),
        (5, ConnectorStatus.SUSPENDED_EVSE),
        (6, ConnectorStatus.PREPARING),
        (7, ConnectorStatus.PREPARING),
        (8, ConnectorStatus.CHARGING),
        (9, ConnectorStatus.SUSPENDED_EVSE),
        (10, ConnectorStatus.SUSPENDED_EVSE),
        (11, ConnectorStatus.FINISHING),
        (12, ConnectorStatus.FINISHING),
    ],
)
async def test_state_mapping(
    mocked: aioresponses,
    client: CircontrolClient,
    code: int,
    status: ConnectorStatus | None,
) -> None:
    """Every plug state of table 5.1 maps to the documented connector status."""
    body = fixture("chargeInfo.xml").replace(
        "<state>0</state>", f"<state>{code}</state>"
    )
    mocked.get(CHARGE_INFO, body=body)
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(VALUES, body=values_xml({}))
    connector = (await client.get_state()).parts["plug1"].connector
    assert connector is not None
    assert connector.status is status
    assert connector.vendor_status == CircontrolPlugState(code).name.lower()
    assert connector.problem is (code == -1)
    # Without EVSE.PLUG.CC, the vehicle is inferred from the state where it can be.
    expected_vehicle = {0: False, 1: False, 2: False}.get(
        code, True if code >= 3 else None
    )
    assert connector.vehicle_connected is expected_vehicle


@pytest.mark.parametrize(
    ("out_of_service", "enable", "enabled"),
    [
        ("0.000000", "1.000000", True),
        ("1.000000", "1.000000", False),
        ("0.000000", "0.000000", False),
    ],
)
async def test_charging_enabled(
    mocked: aioresponses,
    client: CircontrolClient,
    out_of_service: str,
    enable: str,
    enabled: bool,
) -> None:
    """A plug is enabled only when not out of service and EVSE.PLUG.ENABLE is 1."""
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo.xml"))
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(
        VALUES,
        body=values_xml(
            {"Plug - Mode 3.OUT_OF_SERVICE": out_of_service, "EVSE.PLUG.ENABLE": enable}
        ),
    )
    connector = (await client.get_state()).parts["plug1"].connector
    assert connector is not None
    assert connector.charging_enabled is enabled


async def test_error_bitmask_is_a_problem(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A non-zero plug error bitmask is a problem even outside the ERROR state."""
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo.xml"))
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(
        VALUES, body=values_xml({"EVSE.PLUG.ERROR": f"{CircontrolPlugError.RCD:.6f}"})
    )
    connector = (await client.get_state()).parts["plug1"].connector
    assert connector is not None
    assert connector.problem is True
    assert connector.status is ConnectorStatus.AVAILABLE


# Identity


async def test_info_without_serial_uses_main_device(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """The published capture has no serialNumber: the mainDevice GUID is the id."""
    mocked.get(DEVICE_INFO, body=fixture("deviceInfo_EVSE.xml"))
    mocked.get(INFORMATION, body=fixture("information.xml"))
    info = await client.get_info()
    assert info.serial_number == "47D21F22-D016-44CB-A373-9578B8CE7349"
    assert info.manufacturer == "Circontrol"
    assert info.model == "CirCarLife"
    assert info.firmware_version == "4.2.3"


async def test_info_with_serial(mocked: aioresponses, client: CircontrolClient) -> None:
    """A serialNumber in deviceInfo?id=EVSE wins."""
    body = fixture("deviceInfo_EVSE.xml").replace(
        "<type>", "<serialNumber>CCL-123456</serialNumber><type>"
    )
    mocked.get(DEVICE_INFO, body=body)
    mocked.get(INFORMATION, body=fixture("information.xml"))
    assert (await client.get_info()).serial_number == "CCL-123456"


async def test_info_without_information_xml(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A serial number from deviceInfo is identity enough: information.xml may fail.

    Only the firmware version is then unknown.
    """
    body = fixture("deviceInfo_EVSE.xml").replace(
        "<type>", "<serialNumber>CCL-123456</serialNumber><type>"
    )
    for answer in ({"status": 404}, {"body": "<html>Not found</html>"}):
        mocked.get(DEVICE_INFO, body=body)
        mocked.get(INFORMATION, **answer)
        info = await client.get_info()
        assert info.serial_number == "CCL-123456"
        assert info.firmware_version is None


async def test_info_needs_information_xml_without_serial(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """Without a serial number, the main device id of information.xml is needed."""
    mocked.get(DEVICE_INFO, body=fixture("deviceInfo_EVSE.xml"))
    mocked.get(INFORMATION, status=404)
    with pytest.raises(ChargerResponseError, match="serial"):
        await client.get_info()


async def test_info_refused_credentials_on_information_xml(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A login refused on information.xml is an authentication error, not a gap."""
    body = fixture("deviceInfo_EVSE.xml").replace(
        "<type>", "<serialNumber>CCL-123456</serialNumber><type>"
    )
    mocked.get(DEVICE_INFO, body=body)
    mocked.get(INFORMATION, status=401)
    with pytest.raises(ChargerAuthenticationError):
        await client.get_info()


async def test_info_without_any_id(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """Neither a serial number nor a main device id is a response error."""
    mocked.get(DEVICE_INFO, body="<devicesInfo/>")
    mocked.get(
        INFORMATION,
        body="<systemInformation><version>4.2.3</version></systemInformation>",
    )
    with pytest.raises(ChargerResponseError, match="serial"):
        await client.get_info()


# Bad answers and faults


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ChargerAuthenticationError),
        (403, ChargerAuthenticationError),
        (404, ChargerResponseError),
        (500, ChargerResponseError),
        (302, ChargerResponseError),
    ],
)
async def test_http_errors(
    mocked: aioresponses, status: int, error: type[ChargerError]
) -> None:
    """Error statuses raise the matching error, without the password in the text."""
    mocked.get(CHARGE_INFO, status=status, body="Error")
    async with CircontrolClient(
        host="evse", username="admin", password=PASSWORD
    ) as client:
        with pytest.raises(error) as caught:
            await client.get_state()
    assert str(status) in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value)
    assert PASSWORD not in repr(client)


async def test_basic_auth_sent(mocked: aioresponses) -> None:
    """Credentials go out as HTTP Basic auth."""
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo_empty.xml"))
    mocked.get(PLUG_INFO, body=fixture("plugInfo_empty.xml"))
    async with CircontrolClient(
        host="evse", username="admin", password=PASSWORD
    ) as client:
        await client.get_state()
    for _, kwargs in requests_to(mocked):
        assert kwargs["headers"]["Authorization"] == aiohttp.encode_basic_auth(
            "admin", PASSWORD
        )


async def test_timeout(mocked: aioresponses) -> None:
    """A time-out raises ChargerTimeoutError, a connection error."""
    mocked.get(CHARGE_INFO, exception=TimeoutError())
    async with CircontrolClient(host="evse") as client:
        with pytest.raises(ChargerTimeoutError) as caught:
            await client.get_state()
    assert isinstance(caught.value, ChargerConnectionError)


async def test_very_slow_answer(mocked: aioresponses) -> None:
    """An answer slower than request_timeout is a time-out."""

    async def slow(_url: URL, **_kwargs: Any) -> CallbackResult:
        await asyncio.sleep(5)
        return CallbackResult(  # pragma: no cover
            body=fixture("chargeInfo.xml")
        )

    mocked.get(CHARGE_INFO, callback=slow)
    async with CircontrolClient(host="evse", request_timeout=0.05) as client:
        started = time.monotonic()
        with pytest.raises(ChargerTimeoutError):
            await client.get_charge_info()
        assert time.monotonic() - started < 4


async def test_connection_error(mocked: aioresponses) -> None:
    """An unreachable box raises ChargerConnectionError without the password."""
    mocked.get(CHARGE_INFO, exception=aiohttp.ClientConnectionError("refused"))
    async with CircontrolClient(host="evse", username="u", password=PASSWORD) as client:
        with pytest.raises(ChargerConnectionError) as caught:
            await client.get_charge_info()
    assert not isinstance(caught.value, ChargerTimeoutError)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("<chargesInfo><chargeInfo><number>1</number></chargesInfo>", "Invalid XML"),
        ("not xml at all", "Invalid XML"),
        ("", "Invalid XML"),
        ("<plugsInfo/>", "Expected <chargesInfo>"),
        (
            "<chargesInfo><chargeInfo><state>0</state></chargeInfo></chargesInfo>",
            "number",
        ),
        (
            "<chargesInfo><chargeInfo><number>x</number></chargeInfo></chargesInfo>",
            "not a number",
        ),
    ],
)
async def test_invalid_documents(
    mocked: aioresponses, client: CircontrolClient, body: str, match: str
) -> None:
    """Malformed XML, a wrong root or a plug without number is a response error."""
    mocked.get(CHARGE_INFO, body=body)
    with pytest.raises(ChargerResponseError, match=match):
        await client.get_charge_info()


@pytest.mark.parametrize(
    "encoding", ["x-unknown", "utf-32", "rot13", "base64", "idna", "undefined"]
)
async def test_unknown_declared_encoding(
    mocked: aioresponses, client: CircontrolClient, encoding: str
) -> None:
    """An encoding expat cannot use is an invalid document, not a LookupError."""
    body = f'<?xml version="1.0" encoding="{encoding}"?><chargesInfo/>'
    with pytest.raises(XmlError, match="encoding"):
        parse_xml(body.encode())
    mocked.get(CHARGE_INFO, body=body)
    with pytest.raises(ChargerResponseError, match="encoding"):
        await client.get_charge_info()


@pytest.mark.parametrize(
    "date",
    ["1e20", "1633452620091.000000", "253402300800", "inf", "-1e300", "1" * 400],
)
async def test_dates_that_do_not_matter_never_fail_a_poll(
    mocked: aioresponses, client: CircontrolClient, date: str
) -> None:
    """Session dates out of range (milliseconds, far future) are unknown.

    Nothing depends on them, so the poll still gives the meter and the state.
    """
    body = re.sub(
        r"<(requestDate|beginDate|endDate)>[^<]*<",
        lambda match: f"<{match[1]}>{date}<",
        fixture("chargeInfo.xml"),
    )
    mocked.get(CHARGE_INFO, body=body)
    (charge,) = await client.get_charge_info()
    assert charge.request_date is None
    assert charge.begin_date is None
    assert charge.end_date is None
    assert charge.active_energy_wh == 4855390
    assert charge.state is CircontrolPlugState.AVAILABLE


@pytest.mark.parametrize("energy", ["-1.000000", "-1e300", "-0.5"])
async def test_negative_energies_are_unknown(
    mocked: aioresponses, client: CircontrolClient, energy: str
) -> None:
    """A negative lifetime or session energy cannot be true: it is unknown."""
    body = re.sub(
        r"<(activeEnergy|partialActiveEnergy)>[^<]*<",
        lambda match: f"<{match[1]}>{energy}<",
        fixture("chargeInfo.xml"),
    )
    mocked.get(CHARGE_INFO, body=body)
    (charge,) = await client.get_charge_info()
    assert charge.active_energy_wh is None
    assert charge.partial_active_energy_wh is None


async def test_entity_bomb_refused(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A billion-laughs document is refused at once, without expanding anything."""
    mocked.get(CHARGE_INFO, body=fixture("billion_laughs.xml"))
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ChargerResponseError, match="document type declaration"):
            await client.get_charge_info()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Expanded, the document would be ~3 GB; refused, it costs next to nothing.
    assert peak < 5 * 1024 * 1024
    assert time.monotonic() - started < 10


def test_external_entity_refused() -> None:
    """A DOCTYPE with an external entity is refused before anything is fetched."""
    document = (
        b'<?xml version="1.0"?><!DOCTYPE values [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<values>&x;</values>"
    )
    with pytest.raises(XmlError, match="document type declaration"):
        parse_xml(document)


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("chunked", [False, True])
async def test_too_large_response(chunked: bool) -> None:
    """An answer above 1 MiB is refused, with or without a Content-Length.

    aioresponses cannot feed bodies this big, so a local server answers.
    """
    body = b"<chargesInfo>" + b" " * MAX_XML_BYTES + b"</chargesInfo>"

    async def huge(request: web.Request) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=body, content_type="text/xml")
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 65536):
            await response.write(body[start : start + 65536])
        return response

    app = web.Application()
    app.router.add_get("/services/chargePointsInterface/chargeInfo.xml", huge)
    async with TestServer(app, host="127.0.0.1") as server:
        assert server.port is not None
        client = CircontrolClient(host="127.0.0.1", port=server.port)
        with pytest.raises(ChargerResponseError, match="large"):
            await client.get_charge_info()
        await client.close()


def test_too_large_document() -> None:
    """parse_xml itself refuses documents above the cap."""
    with pytest.raises(XmlError, match="larger"):
        parse_xml(b" " * (MAX_XML_BYTES + 1))


def test_invalid_host() -> None:
    """Host names that would change the URL are refused."""
    for host in ("", "evse/x", "user@evse", "evse?x", "ev se"):
        with pytest.raises(ValueError, match="host"):
            CircontrolClient(host=host)
    with pytest.raises(ValueError, match="port"):
        CircontrolClient(host="evse", port=0)


# Sessions


async def test_injected_session_is_not_closed(mocked: aioresponses) -> None:
    """A session given to the client stays open; its own is closed on exit."""
    mocked.get(CHARGE_INFO, body=fixture("chargeInfo_empty.xml"), repeat=True)
    async with aiohttp.ClientSession() as session:
        async with CircontrolClient(host="evse", session=session) as client:
            await client.get_charge_info()
        assert not session.closed
    own = CircontrolClient(host="evse")
    await own.get_charge_info()
    own_session = own._http.session
    assert own_session is not None
    await own.close()
    assert own_session.closed
    assert own._http.session is None


# Commands


def force_bodies(mocked: aioresponses) -> list[tuple[str, bytes]]:
    """Return (URL, body) of every forceVariables PUT."""
    return [(url, kwargs["data"]) for url, kwargs in requests_to(mocked, "PUT")]


@pytest.mark.parametrize(("enabled", "value"), [(True, 0), (False, 1)])
async def test_set_charging_enabled(
    mocked: aioresponses,
    client: CircontrolClient,
    sent_urls: list[URL],
    enabled: bool,
    value: int,
) -> None:
    """Enable/disable forces Plug - Mode 3.OUT_OF_SERVICE and reads it back."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.put(FORCE, status=204)
    mocked.get(
        VALUES, body=values_xml({"Plug - Mode 3.OUT_OF_SERVICE": f"{value:.6f}"})
    )
    if enabled:  # no vehicle: nothing to start
        mocked.get(
            VALUES,
            body=values_xml({"EVSE.PLUG.CC": "0.000000", "EVSE.PLUG.STATE": "0"}),
        )
    await client.set_charging_enabled(1, enabled=enabled)

    ((_, body),) = force_bodies(mocked)
    (url,) = [url for url in sent_urls if url.path.endswith("forceVariables.xml")]
    assert url.raw_query_string == "id=Plug%20-%20Mode%203"
    assert (
        "<forceVariables><forceVar><forceName>Plug - Mode 3.OUT_OF_SERVICE</forceName>"
        f"<forceValue>{value}</forceValue></forceVar></forceVariables>"
    ).encode() in body


def mock_resume(mocked: aioresponses, *states: dict[str, str]) -> None:
    """Answer enabling plug 1: OUT_OF_SERVICE reads back 0, then ``states``."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.put(FORCE, status=204, repeat=True)
    mocked.get(VALUES, body=values_xml({"Plug - Mode 3.OUT_OF_SERVICE": "0.000000"}))
    for values in states:
        mocked.get(VALUES, body=values_xml(values))


async def test_resume_starts_the_charge(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """Back in service with a car waiting, the plug is started remotely."""
    mock_resume(
        mocked,
        {"EVSE.PLUG.CC": "-", "EVSE.PLUG.STATE": "-2.000000"},  # still settling
        {"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "3.000000"},
        {"EVSE.PLUG.STATE": "8.000000"},
    )
    await client.set_charging_enabled(1, enabled=True)
    (_, in_service), (url, start) = force_bodies(mocked)
    assert b"<forceValue>0</forceValue>" in in_service
    assert url.endswith("?id=EVSE")
    assert (
        b"<forceName>EVSE.PLUG.REMOTE_START</forceName><forceValue>1</forceValue>"
        in start
    )


@pytest.mark.parametrize(
    "state",
    [
        pytest.param({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "8"}, id="on"),
        pytest.param({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "5"}, id="wait"),
        pytest.param({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "-1"}, id="err"),
        pytest.param({"EVSE.PLUG.CC": "0.000000", "EVSE.PLUG.STATE": "0"}, id="free"),
    ],
)
async def test_resume_without_start(
    mocked: aioresponses, client: CircontrolClient, state: dict[str, str]
) -> None:
    """No start is sent when a charge is under way, the plug is faulted or free."""
    mock_resume(mocked, state)
    await client.set_charging_enabled(1, enabled=True)
    assert len(force_bodies(mocked)) == 1


async def test_resume_start_refused(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A remote start the box does not take up fails the resume."""
    mock_resume(mocked)
    mocked.get(
        VALUES,
        body=values_xml({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "3.000000"}),
        repeat=True,
    )
    with pytest.raises(ChargerCommandError, match="resume charging on plug 1"):
        await client.set_charging_enabled(1, enabled=True)


async def test_resume_still_disabled(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A plug that stays disabled (EVSE.PLUG.ENABLE = 0) fails the resume."""
    mock_resume(mocked)
    mocked.get(
        VALUES,
        body=values_xml({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "-2"}),
        repeat=True,
    )
    with pytest.raises(ChargerCommandError, match="still disabled"):
        await client.set_charging_enabled(1, enabled=True)
    assert len(force_bodies(mocked)) == 1


async def test_refused_command(mocked: aioresponses, client: CircontrolClient) -> None:
    """A 204 that the read-back contradicts is a ChargerCommandError."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.put(FORCE, status=204)
    mocked.get(
        VALUES,
        body=values_xml({"Plug - Mode 3.OUT_OF_SERVICE": "0.000000"}),
        repeat=True,
    )
    with pytest.raises(ChargerCommandError, match="did not apply"):
        await client.set_charging_enabled(1, enabled=False)
    assert len([u for u, _ in requests_to(mocked) if "values.xml" in u]) == 3


async def test_command_applied_late(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A command that takes effect by the second read-back succeeds."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.put(FORCE, status=204)
    mocked.get(VALUES, body=values_xml({"EVSE.PLUG.CURRENT_REDUCTION": "32.000000"}))
    mocked.get(VALUES, body=values_xml({"EVSE.PLUG.CURRENT_REDUCTION": "16.000000"}))
    await client.set_current_limit(1, 16)
    ((url, body),) = force_bodies(mocked)
    assert url.endswith("?id=EVSE")
    assert b"<forceName>EVSE.PLUG.CURRENT_REDUCTION</forceName>" in body
    assert b"<forceValue>16</forceValue>" in body


async def test_command_http_error(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A command the box answers with an error status raises a response error."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.put(FORCE, status=500)
    with pytest.raises(ChargerResponseError):
        await client.set_current_limit(1, 16)


@pytest.mark.parametrize("amps", [6.5, 16.0, "16", None])
async def test_current_must_be_whole_amperes(
    mocked: aioresponses, client: CircontrolClient, amps: Any
) -> None:
    """A fractional (or non-integer) current is refused before any request."""
    with pytest.raises(ValueError, match="whole number of amperes"):
        await client.set_current_limit(1, amps)
    assert count(mocked) == 0


@pytest.mark.parametrize("amps", [-1, 0, 5, 64, 100])
async def test_current_out_of_range(
    mocked: aioresponses, client: CircontrolClient, amps: int
) -> None:
    """Current limits outside 6..63 A are refused before any request."""
    with pytest.raises(ValueError, match="between 6 and 63 A"):
        await client.set_current_limit(1, amps)
    assert count(mocked) == 0


async def test_current_above_plug_maximum(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A limit above the plug's supportedCurrent is refused before any command."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo_two_plugs.xml"))
    with pytest.raises(ValueError, match="between 6 and 16 A for plug 2"):
        await client.set_current_limit(2, 20)
    assert not requests_to(mocked, "PUT")


async def test_unknown_plug(mocked: aioresponses, client: CircontrolClient) -> None:
    """Commands to a plug the box does not have are refused."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    with pytest.raises(ValueError, match="no plug 3"):
        await client.stop_charging(3)
    assert not requests_to(mocked, "PUT")


async def test_start_without_vehicle(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """Remote start without a connected vehicle is refused with a clear message."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(
        VALUES,
        body=values_xml({"EVSE.PLUG.CC": "0.000000", "EVSE.PLUG.STATE": "0.000000"}),
    )
    with pytest.raises(ChargerCommandError, match="no vehicle is connected to plug 1"):
        await client.start_charging(1)
    assert not requests_to(mocked, "PUT")


async def test_start_charging(mocked: aioresponses, client: CircontrolClient) -> None:
    """Remote start forces EVSE.PLUG.REMOTE_START=1 and checks the state moved on."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(
        VALUES,
        body=values_xml({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "3.000000"}),
    )
    mocked.put(FORCE, status=204)
    mocked.get(VALUES, body=values_xml({"EVSE.PLUG.STATE": "8.000000"}))
    await client.start_charging(1)
    ((url, body),) = force_bodies(mocked)
    assert url.endswith("?id=EVSE")
    assert (
        b"<forceName>EVSE.PLUG.REMOTE_START</forceName><forceValue>1</forceValue>"
        in body
    )


async def test_start_not_taken_up(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """A remote start after which the plug still waits is a command error."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(
        VALUES,
        body=values_xml({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "3.000000"}),
        repeat=True,
    )
    mocked.put(FORCE, status=204)
    with pytest.raises(ChargerCommandError, match="start charging on plug 1"):
        await client.start_charging(1)


async def test_start_when_already_charging(
    mocked: aioresponses, client: CircontrolClient
) -> None:
    """Starting a plug that already charges sends no command."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.get(
        VALUES,
        body=values_xml({"EVSE.PLUG.CC": "1.000000", "EVSE.PLUG.STATE": "8.000000"}),
    )
    await client.start_charging(1)
    assert not requests_to(mocked, "PUT")


@pytest.mark.parametrize(
    ("after", "applied"),
    [
        ({"EVSE.PLUG.STATE": "12.000000"}, True),
        ({"EVSE.PLUG.STATE": "8.000000"}, False),
        ({}, False),
    ],
)
async def test_stop_charging(
    mocked: aioresponses, client: CircontrolClient, after: dict[str, str], applied: bool
) -> None:
    """Remote stop forces EVSE.PLUG.REMOTE_STOP=1; still charging after is an error."""
    mocked.get(PLUG_INFO, body=fixture("plugInfo.xml"))
    mocked.put(FORCE, status=204)
    mocked.get(VALUES, body=values_xml(after), repeat=True)
    if applied:
        await client.stop_charging(1)
    else:
        with pytest.raises(ChargerCommandError):
            await client.stop_charging(1)
    ((_, body),) = force_bodies(mocked)
    assert b"<forceName>EVSE.PLUG.REMOTE_STOP</forceName>" in body


def test_force_body_escapes_names() -> None:
    """Variable names are escaped in the request body."""
    body = CircontrolForceVariables(device="A&B", values={"A&B.X": 1}).to_xml()
    assert b"<forceName>A&amp;B.X</forceName>" in body
    assert parse_xml(body).tag == "forcevariables"


async def test_requests_are_serialised(mocked: aioresponses) -> None:
    """Concurrent calls reach the box one after the other."""
    active = 0
    most = 0

    async def answer(_url: URL, **_kwargs: Any) -> CallbackResult:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.01)
        active -= 1
        return CallbackResult(body=fixture("chargeInfo.xml"))

    mocked.get(CHARGE_INFO, callback=answer, repeat=True)
    async with CircontrolClient(host="evse") as client:
        results = await asyncio.gather(*(client.get_charge_info() for _ in range(4)))
    assert len(results) == 4
    assert most == 1


async def test_minimal_documents_use_default_names(
    mocked: aioresponses, client: CircontrolClient, sent_urls: list[URL]
) -> None:
    """Plugs without names fall back to EVSE.PLUG<n> / Plug <n> - Mode 3 (inferred)."""
    mocked.get(
        CHARGE_INFO,
        body="<chargesInfo><chargeInfo><number>2</number></chargeInfo></chargesInfo>",
    )
    mocked.get(
        PLUG_INFO, body="<plugsInfo><plugInfo><number>2</number></plugInfo></plugsInfo>"
    )
    mocked.get(
        VALUES,
        body="<values><variable><value>1.000000</value></variable>"
        "<variable><id>EVSE.PLUG2.CC</id><value>1.000000</value></variable></values>",
    )
    part = (await client.get_state()).parts["plug2"]
    (url,) = [url for url in sent_urls if url.path.endswith("values.xml")]
    assert "var=EVSE.PLUG2.API" in url.raw_query_string
    assert "var=Plug%202%20-%20Mode%203.OUT_OF_SERVICE" in url.raw_query_string
    assert part.connector is not None
    assert part.connector.vehicle_connected is True
    assert part.connector.vendor_status is None
    assert part.connector.max_current_a is None
    assert part.connector.session_duration_s is None
    assert part.meter is not None
    assert part.meter.energy_wh is None


@pytest.mark.parametrize(
    ("path", "banned"),
    [
        ("custom_components/evse_bridge/api/circontrol.py", ("homeassistant",)),
        ("custom_components/evse_bridge/api/xml.py", ("homeassistant",)),
        ("custom_components/evse_bridge/api/http.py", ("homeassistant",)),
        (
            "simulators/circontrol.py",
            ("homeassistant", "custom_components"),
        ),
    ],
)
def test_layering(path: str, banned: tuple[str, ...]) -> None:
    """The client imports no Home Assistant; the simulator does not reuse the client."""
    source = Path(__file__).parent.parent.parent / path
    tree = ast.parse(source.read_text())
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
    }
    assert imported
    assert not [name for name in imported if name.startswith(banned)]
