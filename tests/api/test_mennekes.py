"""Tests of the Mennekes MHCP client against mocked HTTP (aioresponses)."""

import asyncio
from collections.abc import AsyncGenerator
import itertools
import json
import logging
from pathlib import Path
import time
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import CallbackResult, aioresponses
import pytest
from yarl import URL

from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    ChargerResponseError,
    ChargerTimeoutError,
)
from custom_components.evse_bridge.api.mennekes import (
    MAX_BODY_BYTES,
    MennekesChargeData,
    MennekesChgState,
    MennekesClient,
    MennekesDevMode,
    build_charger_state,
    decode_json_object,
    parse_charge_data,
    parse_dev_info,
)
from custom_components.evse_bridge.api.model import ConnectorState, ConnectorStatus

from .conftest import SmallStack

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mennekes"
HOST = "192.0.2.10"
DEV_KEY = "0739164"
"""Distinctive, with a leading zero that must survive."""
CHARGE_DATA_URL = f"http://{HOST}:25000/MHCP/1.0/ChargeData?DevKey={DEV_KEY}"
DEV_INFO_URL = f"http://{HOST}:25000/MHCP/1.0/DevInfo?DevKey={DEV_KEY}"


def load(name: str) -> dict[str, Any]:
    """Load a JSON fixture."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def charge_data(**changes: Any) -> dict[str, Any]:
    """Return the idle ChargeData sample with some fields changed."""
    return load("charge_data_idle") | changes


def dev_info(**changes: Any) -> dict[str, Any]:
    """Return the DevInfo sample with some fields changed."""
    return load("dev_info") | changes


def connector(client_state: Any) -> ConnectorState:
    """Return the one connector of a ChargerState."""
    part = client_state.parts["connector1"]
    assert part.connector is not None
    return part.connector  # type: ignore[no-any-return]


def calls(mock: aioresponses, method: str, url: str) -> list[Any]:
    """Return the recorded calls of one method and URL."""
    return list(mock.requests.get((method, URL(url)), []))


@pytest.fixture
def mock(http_mock: aioresponses) -> aioresponses:
    """Mock every HTTP request."""
    return http_mock


@pytest.fixture
async def client() -> AsyncGenerator[MennekesClient]:
    """Yield a client with an injected session and no waiting between requests."""
    async with aiohttp.ClientSession() as session:
        yield MennekesClient(
            host=HOST,
            dev_key=DEV_KEY,
            session=session,
            request_timeout=0.5,
            request_interval=0,
            verify_interval=0,
        )


# --- Reading -------------------------------------------------------------------


async def test_get_info_from_dev_info_sample(
    client: MennekesClient, mock: aioresponses
) -> None:
    """The identity comes from Sn, ItemNo and Hcc3."""
    mock.get(DEV_INFO_URL, payload=load("dev_info"))
    info = await client.get_info()
    assert info.serial_number == "1234567890"
    assert info.manufacturer == "MENNEKES"
    assert info.model == "AMTRON 1344201"
    assert info.firmware_version == "HCC3 V1.13"
    request = calls(mock, "GET", DEV_INFO_URL)[0]
    assert request.kwargs["headers"]["Accept"] == "application/json"


async def test_get_info_without_item_number(
    client: MennekesClient, mock: aioresponses
) -> None:
    """A box that sends no ItemNo is still an AMTRON; a string Sn is kept."""
    mock.get(DEV_INFO_URL, payload=dev_info(ItemNo=None, Sn=" 000123 "))
    info = await client.get_info()
    assert info.model == "AMTRON"
    assert info.serial_number == "000123"


async def test_idle_sample_state(client: MennekesClient, mock: aioresponses) -> None:
    """The idle sample maps to an available connector with the last session kept."""
    mock.get(DEV_INFO_URL, payload=load("dev_info"))
    mock.get(CHARGE_DATA_URL, payload=load("charge_data_idle"))
    info = await client.get_dev_info()
    state = await client.get_state(dev_info=info)
    part = state.parts["connector1"]
    assert part.meter is not None
    assert part.meter.energy_wh is None
    assert part.meter.power_w == 0
    assert connector(state) == ConnectorState(
        vendor_status="idle",
        status=ConnectorStatus.AVAILABLE,
        vehicle_connected=False,
        charging=False,
        problem=False,
        offered_current_a=0,
        current_limit_a=None,
        min_current_a=6,
        max_current_a=None,
        charging_enabled=True,
        session_energy_wh=12648,
        session_duration_s=18613,
        operating_mode="remote",
        auto_start=True,
    )
    # One request per poll cycle: get_state reads ChargeData only.
    assert len(calls(mock, "GET", CHARGE_DATA_URL)) == 1
    assert len(calls(mock, "GET", DEV_INFO_URL)) == 1


async def test_charging_state_with_box_limit(
    client: MennekesClient, mock: aioresponses
) -> None:
    """A charging box reports power, set-points and its MaxCurrWb limit."""
    mock.get(CHARGE_DATA_URL, payload=load("charge_data_charging"))
    info = parse_dev_info(dev_info(MaxCurrWb=32, DevMode="HomeManager", AutoChg=False))
    state = await client.get_state(dev_info=info)
    part = state.parts["connector1"]
    assert part.meter is not None
    assert part.meter.power_w == 6900
    conn = connector(state)
    assert conn.status is ConnectorStatus.CHARGING
    assert conn.charging is True
    assert conn.offered_current_a == 10
    assert conn.current_limit_a == 10
    assert conn.max_current_a == 32
    assert conn.operating_mode == "home_manager"
    assert conn.auto_start is False
    assert conn.session_energy_wh == 3450


type _Mapped = tuple[str, ConnectorStatus, bool | None, bool, bool]


@pytest.mark.parametrize(
    ("chg_state", "expected"),
    [
        ("Idle", ("idle", ConnectorStatus.AVAILABLE, False, True, False)),
        (
            "StandbyAuthorize",
            ("standby_authorize", ConnectorStatus.PREPARING, True, True, False),
        ),
        (
            "StandbyConnect",
            ("standby_connect", ConnectorStatus.PREPARING, True, True, False),
        ),
        ("Charging", ("charging", ConnectorStatus.CHARGING, True, True, False)),
        ("Paused", ("paused", ConnectorStatus.SUSPENDED_EVSE, True, False, False)),
        (
            "Terminated",
            ("terminated", ConnectorStatus.FINISHING, True, False, False),
        ),
        ("Error", ("error", ConnectorStatus.FAULTED, None, True, True)),
    ],
)
def test_state_mapping(chg_state: str, expected: _Mapped) -> None:
    """Every documented ChgState maps to a status, connection and problem flag.

    ``expected`` is (vendor status, status, vehicle connected, charging
    enabled, problem).
    """
    data = parse_charge_data(charge_data(ChgState=chg_state))
    conn = connector(build_charger_state(data, parse_dev_info(dev_info())))
    assert (
        conn.vendor_status,
        conn.status,
        conn.vehicle_connected,
        conn.charging_enabled,
        conn.problem,
    ) == expected
    assert conn.charging is (chg_state == "Charging")


def test_state_without_dev_info() -> None:
    """Without DevInfo, what only DevInfo carries is unknown, not guessed."""
    idle = connector(build_charger_state(parse_charge_data(charge_data())))
    assert idle.operating_mode is None
    assert idle.auto_start is None
    assert idle.max_current_a is None
    assert idle.problem is None
    error = connector(
        build_charger_state(parse_charge_data(charge_data(ChgState="Error")))
    )
    assert error.problem is True


def test_error_code_is_a_problem() -> None:
    """A DevInfo Err other than 0 flags a problem even while charging."""
    data = parse_charge_data(load("charge_data_charging"))
    conn = connector(build_charger_state(data, parse_dev_info(dev_info(Err=13))))
    assert conn.problem is True
    assert conn.status is ConnectorStatus.CHARGING


async def test_unknown_chg_state(
    client: MennekesClient, mock: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown ChgState gives unknown values, no exception, one warning."""
    mock.get(CHARGE_DATA_URL, payload=charge_data(ChgState="Preheating"), repeat=True)
    info = parse_dev_info(dev_info())
    with caplog.at_level(logging.WARNING):
        first = await client.get_state(dev_info=info)
        await client.get_state(dev_info=info)
    conn = connector(first)
    assert conn.vendor_status is None
    assert conn.status is None
    assert conn.vehicle_connected is None
    assert conn.charging is None
    assert conn.charging_enabled is None
    assert conn.problem is None
    assert conn.session_energy_wh == 12648
    assert caplog.text.count("Preheating") == 1


async def test_unknown_dev_mode(
    client: MennekesClient, mock: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown DevMode is None with one warning, not an error."""
    mock.get(DEV_INFO_URL, payload=dev_info(DevMode="Solar"), repeat=True)
    with caplog.at_level(logging.WARNING):
        info = await client.get_dev_info()
        await client.get_dev_info()
    assert info.dev_mode is None
    assert info.dev_mode_raw == "Solar"
    data = parse_charge_data(charge_data())
    assert connector(build_charger_state(data, info)).operating_mode is None
    assert caplog.text.count("Solar") == 1


@pytest.mark.parametrize(
    "key", ["ChgState", "ChgNrg", "ChgDuration", "ActPwr", "ActCurr", "RemoteCurr"]
)
async def test_charge_data_missing_field(
    client: MennekesClient, mock: aioresponses, key: str
) -> None:
    """A missing required ChargeData field is a response error naming it."""
    payload = charge_data()
    del payload[key]
    mock.get(CHARGE_DATA_URL, payload=payload)
    with pytest.raises(ChargerResponseError, match=key):
        await client.get_state()


@pytest.mark.parametrize("key", ["Sn", "DevMode", "AutoChg", "Err"])
async def test_dev_info_missing_field(
    client: MennekesClient, mock: aioresponses, key: str
) -> None:
    """A missing required DevInfo field is a response error naming it."""
    mock.get(DEV_INFO_URL, payload=dev_info(**{key: None}))
    with pytest.raises(ChargerResponseError, match=key):
        await client.get_info()


def test_optional_fields_may_be_missing() -> None:
    """Fields only shown for information may be absent."""
    payload = charge_data()
    for key in ("Tariff", "ExcessNrg", "HCCP"):
        del payload[key]
    data = parse_charge_data(payload)
    assert (data.tariff, data.excess_energy_only, data.hccp) == (None, None, None)
    info_payload = load("dev_info")
    for key in ("ItemNo", "Hcc3", "MaxCurrWb", "Phases", "ChgState"):
        del info_payload[key]
    info = parse_dev_info(info_payload)
    assert (info.item_number, info.firmware, info.box_max_current_a) == (
        None,
        None,
        None,
    )
    assert info.chg_state is None


@pytest.mark.parametrize(
    ("parser", "payload", "key"),
    [
        (parse_charge_data, charge_data(ChgNrg="12648"), "ChgNrg"),
        (parse_charge_data, charge_data(ActPwr=True), "ActPwr"),
        (parse_charge_data, charge_data(ChgDuration=float("nan")), "ChgDuration"),
        (parse_charge_data, charge_data(ChgState=3), "ChgState"),
        (parse_charge_data, charge_data(Tariff=1), "Tariff"),
        (parse_charge_data, charge_data(ExcessNrg="yes"), "ExcessNrg"),
        (parse_dev_info, dev_info(Sn=True), "Sn"),
        (parse_dev_info, dev_info(Sn=12.5), "Sn"),
        (parse_dev_info, dev_info(Sn="  "), "Sn"),
        (parse_dev_info, dev_info(Err=1.5), "Err"),
        (parse_dev_info, dev_info(AutoChg="true"), "AutoChg"),
        (parse_dev_info, dev_info(Phases="3"), "Phases"),
    ],
)
def test_ill_typed_field(parser: Any, payload: dict[str, Any], key: str) -> None:
    """A field with the wrong type is a response error naming it."""
    with pytest.raises(ChargerResponseError, match=key):
        parser(payload)


@pytest.mark.parametrize(
    "body",
    ['{"ChgState": "Idle", "ChgNrg": 12', "", "<html>busy</html>", "[1, 2]", "null"],
)
async def test_unusable_body(
    client: MennekesClient, mock: aioresponses, body: str
) -> None:
    """Invalid JSON, or JSON that is not an object, is a response error."""
    mock.get(CHARGE_DATA_URL, body=body)
    with pytest.raises(ChargerResponseError, match="JSON"):
        await client.get_state()


def test_nan_in_json_is_refused() -> None:
    """Python's JSON parser accepts NaN; the client must not pass it on."""
    payload = json.loads('{"ChgState": "Idle", "ChgNrg": NaN}')
    with pytest.raises(ChargerResponseError, match="ChgNrg"):
        parse_charge_data(charge_data() | payload)


# --- HTTP errors -----------------------------------------------------------------


async def test_wrong_dev_key_on_read(
    client: MennekesClient, mock: aioresponses
) -> None:
    """403 on a read means the DevKey is wrong: reauthentication."""
    mock.get(CHARGE_DATA_URL, status=403)
    with pytest.raises(ChargerAuthenticationError) as caught:
        await client.get_state()
    assert caught.value.code == 403


async def test_wrong_dev_key_on_write(
    client: MennekesClient, mock: aioresponses
) -> None:
    """401 on a write means the DevKey is wrong; nothing is read back."""
    mock.post(CHARGE_DATA_URL, status=401)
    with pytest.raises(ChargerAuthenticationError) as caught:
        await client.pause()
    assert caught.value.code == 401
    assert not calls(mock, "GET", CHARGE_DATA_URL)


@pytest.mark.parametrize("status", [400, 404, 500, 503])
async def test_error_status(
    client: MennekesClient, mock: aioresponses, status: int
) -> None:
    """Other error statuses are response errors, not authentication errors."""
    mock.get(CHARGE_DATA_URL, status=status)
    with pytest.raises(ChargerResponseError) as caught:
        await client.get_state()
    assert not isinstance(caught.value, ChargerAuthenticationError)
    assert caught.value.code == status
    assert str(status) in str(caught.value)


async def test_bad_request_on_write(client: MennekesClient, mock: aioresponses) -> None:
    """400 on a write hints at a wrong DevKey or an invalid value."""
    mock.post(CHARGE_DATA_URL, status=400)
    with pytest.raises(ChargerResponseError, match="invalid value"):
        await client.set_current_limit(10)


async def test_timeout(client: MennekesClient, mock: aioresponses) -> None:
    """A time-out from the HTTP layer is a timeout error."""
    mock.get(CHARGE_DATA_URL, timeout=True)
    with pytest.raises(ChargerTimeoutError):
        await client.get_state()


async def test_slow_box_times_out(mock: aioresponses) -> None:
    """A box slower than request_timeout gives a timeout error, quickly."""

    async def slow(url: URL, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(1)
        return CallbackResult(payload=charge_data())  # pragma: no cover

    mock.get(CHARGE_DATA_URL, callback=slow)
    async with aiohttp.ClientSession() as session:
        client = MennekesClient(
            host=HOST, dev_key=DEV_KEY, session=session, request_timeout=0.02
        )
        started = time.monotonic()
        with pytest.raises(ChargerTimeoutError, match=r"0\.02 s"):
            await client.get_state()
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("mock_kwargs", "error"),
    [
        (
            {
                "exception": aiohttp.ClientConnectionError(
                    f"Cannot connect to {CHARGE_DATA_URL}"
                )
            },
            ChargerConnectionError,
        ),
        (
            {"exception": aiohttp.InvalidURL(CHARGE_DATA_URL)},
            ChargerConnectionError,
        ),
        (
            {"exception": OSError(f"Network down for {CHARGE_DATA_URL}")},
            ChargerConnectionError,
        ),
        ({"timeout": True}, ChargerTimeoutError),
        ({"status": 500}, ChargerResponseError),
        ({"status": 403}, ChargerAuthenticationError),
        ({"body": "not json"}, ChargerResponseError),
    ],
)
async def test_dev_key_never_in_errors_or_logs(
    client: MennekesClient,
    mock: aioresponses,
    caplog: pytest.LogCaptureFixture,
    mock_kwargs: dict[str, Any],
    error: type[ChargerError],
) -> None:
    """The DevKey is in every URL but never in an exception or a log line."""
    mock.get(CHARGE_DATA_URL, **mock_kwargs)
    with caplog.at_level(logging.DEBUG), pytest.raises(error) as caught:
        await client.get_state()
    assert DEV_KEY not in str(caught.value)
    assert DEV_KEY not in repr(caught.value)
    # The original error (with the URL) is not chained for tracebacks to print.
    assert caught.value.__cause__ is None
    assert DEV_KEY not in caplog.text
    assert DEV_KEY not in repr(client)


async def test_connection_error_message_is_redacted(
    client: MennekesClient, mock: aioresponses
) -> None:
    """A connection error keeps its useful detail, with the key replaced."""
    mock.get(
        CHARGE_DATA_URL,
        exception=aiohttp.ClientConnectionError(f"Cannot connect to {CHARGE_DATA_URL}"),
    )
    with pytest.raises(ChargerConnectionError) as caught:
        await client.get_state()
    assert "Cannot connect to" in str(caught.value)
    assert "DevKey=**REDACTED**" in str(caught.value)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_not_followed(
    client: MennekesClient, mock: aioresponses, status: int
) -> None:
    """A redirect is an error; the DevKey is not carried to where it points."""
    target = f"http://203.0.113.9/{DEV_KEY}/steal?DevKey={DEV_KEY}"
    mock.get(CHARGE_DATA_URL, status=status, headers={"Location": target})
    mock.get(target, payload=charge_data())
    with pytest.raises(ChargerResponseError) as caught:
        await client.get_state()
    assert DEV_KEY not in str(caught.value)
    assert calls(mock, "GET", target) == []


@pytest.mark.parametrize(
    "dev_key", ["12'tail-7x9q", '12"tail-7x9q', "12 tail-7x9q", "12&tail-7x9q"]
)
async def test_unusual_dev_key_never_in_errors(
    mock: aioresponses, dev_key: str
) -> None:
    """No part of a DevKey with quotes, blanks or '&' shows in an error message."""
    async with aiohttp.ClientSession() as session:
        client = MennekesClient(
            host=HOST, dev_key=dev_key, session=session, request_interval=0
        )
        url = client._url("ChargeData")
        for text in (str(url), url.human_repr(), f"{url.path}?DevKey={dev_key}"):
            mock.get(url, exception=aiohttp.ClientConnectionError(f"Cannot GET {text}"))
            with pytest.raises(ChargerConnectionError) as caught:
                await client.get_state()
            assert "tail-7x9q" not in str(caught.value)
            assert "Cannot GET" in str(caught.value)


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("chunked", [False, True])
async def test_too_large_body_is_refused(chunked: bool) -> None:
    """A body above MAX_BODY_BYTES is refused, with or without a Content-Length."""
    body = b'{"ChgState": "Idle", "x": "' + b" " * MAX_BODY_BYTES + b'"}'

    async def huge(request: web.Request) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 4096):
            await response.write(body[start : start + 4096])
        return response

    app = web.Application()
    app.router.add_get("/MHCP/1.0/ChargeData", huge)
    async with TestServer(app, host="127.0.0.1") as server:
        assert server.port is not None
        async with MennekesClient(
            host="127.0.0.1", port=server.port, dev_key=DEV_KEY
        ) as client:
            with pytest.raises(ChargerResponseError, match="large"):
                await client.get_state()


def test_decoding_refuses_a_body_over_the_cap() -> None:
    """The decoder itself refuses a body larger than MAX_BODY_BYTES."""
    assert decode_json_object(b'{"a": 1}' + b" " * (MAX_BODY_BYTES - 8)) == {"a": 1}
    with pytest.raises(ChargerResponseError, match="large"):
        decode_json_object(b'{"a": 1}' + b" " * (MAX_BODY_BYTES - 7))


async def test_empty_dev_key_leaves_messages_readable(mock: aioresponses) -> None:
    """Without a DevKey, error texts are not garbled by redaction."""
    async with aiohttp.ClientSession() as session:
        client = MennekesClient(host=HOST, dev_key="", session=session)
        url = client._url("ChargeData")
        mock.get(url, exception=aiohttp.ClientConnectionError("Connection refused"))
        with pytest.raises(ChargerConnectionError, match="Connection refused"):
            await client.get_state()


def test_deep_nesting_is_a_response_error(small_stack: SmallStack) -> None:
    """JSON nested too deep for the stack is refused, never a RecursionError."""
    depth = MAX_BODY_BYTES // 2 - 20
    body = ('{"ChgNrg": ' + "[" * depth + "]" * depth + "}").encode()
    with pytest.raises(ChargerResponseError, match="JSON"):
        small_stack(lambda: decode_json_object(body))


@pytest.mark.parametrize("key", ["ChgNrg", "ChgDuration", "ActPwr", "RemoteCurr"])
async def test_integer_too_large_for_a_float(
    client: MennekesClient, mock: aioresponses, key: str
) -> None:
    """A 400-digit integer is a response error naming the field, not OverflowError."""
    body = json.dumps(charge_data()).replace(
        f'"{key}": ', f'"{key}": {"9" * 400}, "_{key}": '
    )
    mock.get(CHARGE_DATA_URL, body=body)
    with pytest.raises(ChargerResponseError, match=key):
        await client.get_state()
    with pytest.raises(ChargerResponseError, match="Sn"):
        parse_dev_info(dev_info(Sn=10**400))


@pytest.mark.parametrize("serial", ["\u001b[31m123", "12\n34", "1" * 65, 10**65, -5])
def test_unusable_serial_number(serial: object) -> None:
    """A serial number (the entry's unique id) must be short printable text."""
    with pytest.raises(ChargerResponseError, match="Sn"):
        parse_dev_info(dev_info(Sn=serial))


async def test_unknown_states_logged_bounded(
    client: MennekesClient, mock: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    """Invented states are logged escaped, short, and only so many times."""
    states = ["\u001b[2J" + "A" * 10_000] + [f"State{n}" for n in range(50)]
    for state in states:
        mock.get(CHARGE_DATA_URL, payload=charge_data(ChgState=state))
        await client.get_state()
    warnings = [r.getMessage() for r in caplog.records if "unknown" in r.getMessage()]
    assert 1 < len(warnings) <= 16
    assert all(len(message) < 200 for message in warnings)
    assert all(message.isprintable() for message in warnings)


# --- Commands ------------------------------------------------------------------


COMMAND_OF = {
    "pause": "Pause",
    "resume": "Continue",
    "stop": "Terminate",
    "start": "Start",
}


def posted_body(mock: aioresponses, url: str) -> dict[str, Any]:
    """Return the JSON body of the one POST to url, checking its headers."""
    (request,) = calls(mock, "POST", url)
    headers = request.kwargs["headers"]
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = json.loads(request.kwargs["data"])
    return body


@pytest.mark.parametrize("permanent", [False, True])
async def test_set_current_limit(
    client: MennekesClient, mock: aioresponses, permanent: bool
) -> None:
    """RemoteCurr is sent with every other key null and then read back."""
    mock.post(CHARGE_DATA_URL)
    mock.get(CHARGE_DATA_URL, payload=charge_data(RemoteCurr=10))
    data = await client.set_current_limit(10, permanent=permanent)
    assert data.remote_current_a == 10
    assert posted_body(mock, CHARGE_DATA_URL) == {
        "Permanent": permanent,
        "RemoteCurr": 10,
        "AutoChg": None,
        "ChgState": None,
        "Uid": None,
    }


async def test_current_limit_applied_on_second_read(
    client: MennekesClient, mock: aioresponses
) -> None:
    """A box that applies the change a moment later is not reported as failing."""
    mock.post(CHARGE_DATA_URL)
    mock.get(CHARGE_DATA_URL, payload=charge_data(RemoteCurr=16))
    mock.get(CHARGE_DATA_URL, payload=charge_data(RemoteCurr=8))
    data = await client.set_current_limit(8)
    assert data.remote_current_a == 8
    assert len(calls(mock, "GET", CHARGE_DATA_URL)) == 2


async def test_refused_current_limit(
    client: MennekesClient, mock: aioresponses
) -> None:
    """A limit the box accepts over HTTP but never applies is a command error."""
    mock.post(CHARGE_DATA_URL)
    mock.get(CHARGE_DATA_URL, payload=charge_data(RemoteCurr=16), repeat=True)
    with pytest.raises(ChargerCommandError, match="10 A"):
        await client.set_current_limit(10)
    assert len(calls(mock, "GET", CHARGE_DATA_URL)) == client.verify_attempts


async def test_verify_waits_between_reads(mock: aioresponses) -> None:
    """Read-backs are spaced by verify_interval."""
    mock.post(CHARGE_DATA_URL)
    mock.get(CHARGE_DATA_URL, payload=charge_data(RemoteCurr=16), repeat=True)
    async with aiohttp.ClientSession() as session:
        client = MennekesClient(
            host=HOST,
            dev_key=DEV_KEY,
            session=session,
            request_interval=0,
            verify_attempts=2,
            verify_interval=0.05,
        )
        started = time.monotonic()
        with pytest.raises(ChargerCommandError):
            await client.set_current_limit(10)
    assert time.monotonic() - started >= 0.05
    assert len(calls(mock, "GET", CHARGE_DATA_URL)) == 2


@pytest.mark.parametrize(
    ("amps", "max_amps"),
    [(5, 32), (0, 32), (-6, 32), (33, 32), (17, 16), (True, 32), (6.5, 32), (16.0, 32)],
)
async def test_current_limit_out_of_range(
    client: MennekesClient, mock: aioresponses, amps: int, max_amps: int
) -> None:
    """Values out of range are refused before any request."""
    with pytest.raises(ValueError, match="Current limit"):
        await client.set_current_limit(amps, max_amps=max_amps)
    assert not mock.requests


@pytest.mark.parametrize(
    ("method", "after", "applied"),
    [
        ("pause", "Paused", True),
        ("pause", "Idle", True),
        ("pause", "Charging", False),
        ("pause", "StandbyAuthorize", False),
        ("resume", "Charging", True),
        ("resume", "StandbyConnect", True),
        ("resume", "Paused", False),
        ("resume", "Warming", False),
        ("resume", "Terminated", False),
        ("resume", "Idle", False),
        ("resume", "Error", False),
        ("resume", "StandbyAuthorize", False),
        ("stop", "Terminated", True),
        ("stop", "Idle", True),
        ("stop", "Charging", False),
        ("stop", "Paused", False),
        ("start", "Charging", True),
        ("start", "StandbyConnect", True),
        ("start", "Idle", False),
        ("start", "Terminated", False),
        ("start", "Error", False),
    ],
)
async def test_charge_commands(
    client: MennekesClient,
    mock: aioresponses,
    method: str,
    after: str,
    applied: bool,
) -> None:
    """Each charge command is sent as documented and verified by its result."""
    command = COMMAND_OF[method]
    mock.post(CHARGE_DATA_URL)
    mock.get(CHARGE_DATA_URL, payload=charge_data(ChgState=after), repeat=True)
    action = getattr(client, method)
    if applied:
        data: MennekesChargeData = await action()
        assert data.chg_state_raw == after
    else:
        with pytest.raises(ChargerCommandError, match=command):
            await action()
    assert posted_body(mock, CHARGE_DATA_URL) == {
        "Permanent": False,
        "RemoteCurr": None,
        "AutoChg": None,
        "ChgState": command,
        "Uid": "00000000" if command == "Start" else None,
    }


@pytest.mark.parametrize("enabled", [True, False])
async def test_set_auto_start(
    client: MennekesClient, mock: aioresponses, enabled: bool
) -> None:
    """AutoChg is written permanently and verified through DevInfo."""
    mock.post(CHARGE_DATA_URL)
    mock.get(DEV_INFO_URL, payload=dev_info(AutoChg=enabled))
    info = await client.set_auto_start(enabled)
    assert info.auto_start is enabled
    assert posted_body(mock, CHARGE_DATA_URL) == {
        "Permanent": True,
        "RemoteCurr": None,
        "AutoChg": enabled,
        "ChgState": None,
        "Uid": None,
    }


async def test_refused_auto_start(client: MennekesClient, mock: aioresponses) -> None:
    """An AutoChg that does not change is a command error."""
    mock.post(CHARGE_DATA_URL)
    mock.get(DEV_INFO_URL, payload=dev_info(AutoChg=True), repeat=True)
    with pytest.raises(ChargerCommandError, match="auto start"):
        await client.set_auto_start(False)


async def test_set_operating_mode(client: MennekesClient, mock: aioresponses) -> None:
    """DevMode is written through POST /DevInfo, every other key null."""
    mock.post(DEV_INFO_URL)
    mock.get(DEV_INFO_URL, payload=dev_info(DevMode="Time"))
    info = await client.set_operating_mode(MennekesDevMode.TIME)
    assert info.dev_mode is MennekesDevMode.TIME
    assert posted_body(mock, DEV_INFO_URL) == {
        "DevName": None,
        "LocTime": None,
        "Summer": None,
        "Tz": None,
        "FixedVehCosts": None,
        "OldVehCosts": None,
        "Battery": None,
        "DevMode": "Time",
    }


async def test_refused_operating_mode(
    client: MennekesClient, mock: aioresponses
) -> None:
    """A DevMode that does not change is a command error."""
    mock.post(DEV_INFO_URL)
    mock.get(DEV_INFO_URL, payload=dev_info(DevMode="Remote"), repeat=True)
    with pytest.raises(ChargerCommandError, match="HomeManager"):
        await client.set_operating_mode(MennekesDevMode.HOME_MANAGER)


async def test_verify_attempts_at_least_one(mock: aioresponses) -> None:
    """A verify_attempts of 0 still reads back once."""
    mock.post(CHARGE_DATA_URL)
    mock.get(CHARGE_DATA_URL, payload=charge_data(ChgState="Paused"))
    async with aiohttp.ClientSession() as session:
        client = MennekesClient(
            host=HOST, dev_key=DEV_KEY, session=session, verify_attempts=0
        )
        data = await client.pause()
    assert data.chg_state is MennekesChgState.PAUSED


# --- Request discipline and life cycle -----------------------------------------------


async def test_requests_are_serialised_and_spaced(mock: aioresponses) -> None:
    """Concurrent calls never overlap, and wait request_interval between them."""
    active = 0
    most_active = 0
    starts: list[float] = []

    async def answer(url: URL, **kwargs: Any) -> CallbackResult:
        nonlocal active, most_active
        active += 1
        most_active = max(most_active, active)
        starts.append(time.monotonic())
        await asyncio.sleep(0.02)
        active -= 1
        return CallbackResult(payload=charge_data())

    mock.get(CHARGE_DATA_URL, callback=answer, repeat=True)
    async with aiohttp.ClientSession() as session:
        client = MennekesClient(
            host=HOST, dev_key=DEV_KEY, session=session, request_interval=0.03
        )
        await asyncio.gather(*(client.get_state() for _ in range(3)))
    assert most_active == 1
    assert len(starts) == 3
    # Each request starts after the previous answer (0.02 s) plus the spacing.
    assert all(
        later - earlier >= 0.045 for earlier, later in itertools.pairwise(starts)
    )


async def test_own_session_created_and_closed(mock: aioresponses) -> None:
    """Without an injected session the client makes one and closes it on exit."""
    mock.get(CHARGE_DATA_URL, payload=charge_data())
    async with MennekesClient(host=HOST, dev_key=DEV_KEY) as client:
        await client.get_state()
        session = client._http.session
        assert session is not None
    assert session.closed
    assert client._http.session is None


async def test_injected_session_left_open(mock: aioresponses) -> None:
    """An injected session belongs to the caller and stays open."""
    mock.get(CHARGE_DATA_URL, payload=charge_data())
    async with aiohttp.ClientSession() as session:
        async with MennekesClient(
            host=HOST, dev_key=DEV_KEY, session=session
        ) as client:
            await client.get_state()
        assert not session.closed
        assert client._http.session is session


@pytest.mark.parametrize(
    "host",
    ["", "  ", "192.0.2.1/evil", "host?DevKey=1", "a#b", "user@host", "a b", "host:80"],
)
def test_host_is_validated(host: str) -> None:
    """A host that would change the URL beyond its host part is refused."""
    with pytest.raises(ValueError, match="Host"):
        MennekesClient(host=host, dev_key=DEV_KEY)


def test_host_is_stripped_and_key_hidden() -> None:
    """Blanks around the host are dropped; repr never shows the DevKey."""
    client = MennekesClient(host=" charger.local ", dev_key=DEV_KEY, port=8080)
    assert client.host == "charger.local"
    assert MennekesClient(host="fe80::1", dev_key=DEV_KEY).host == "fe80::1"
    assert DEV_KEY not in repr(client)
