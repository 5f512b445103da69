"""Tests for the config flow of the HTTP chargers (Circontrol, Mennekes)."""

from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PIN,
    CONF_PORT,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerConnectionError,
    ChargerError,
)
from custom_components.evse_bridge.const import CONF_POLL_INTERVAL, DOMAIN

from .conftest import Vendor
from .http_fixtures import (  # noqa: F401 - pytest finds fixtures by name
    DATA,
    SERIAL,
    TITLE,
    charger_fixture,
    create_charger_fixture,
    http_config_entry_fixture,
    http_entry,
    http_platforms_fixture,
    init_http_fixture,
    vendor_fixture,
)

# What the user types: the host with stray spaces around it.
USER_INPUT: dict[Vendor, dict[str, Any]] = {
    Vendor.CIRCONTROL: {
        CONF_HOST: " 192.0.2.20 ",
        CONF_PORT: 80,
        CONF_USERNAME: "admin",
        CONF_PASSWORD: "s3cret",
    },
    Vendor.MENNEKES: {CONF_HOST: " 192.0.2.10 ", CONF_PORT: 25000, CONF_PIN: "1234"},
}
CREDENTIALS: dict[Vendor, dict[str, str]] = {
    Vendor.CIRCONTROL: {CONF_USERNAME: "admin", CONF_PASSWORD: "n3w"},
    Vendor.MENNEKES: {CONF_PIN: "5678"},
}
CREDENTIAL_FIELD = {Vendor.CIRCONTROL: CONF_PASSWORD, Vendor.MENNEKES: CONF_PIN}


async def start_flow(hass: HomeAssistant, vendor: Vendor) -> ConfigFlowResult:
    """Open the flow and pick the charger type from the menu."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": vendor.value}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == vendor.value
    return result


def suggested_values(result: ConfigFlowResult) -> dict[str, Any]:
    """Return the values a form shows pre-filled."""
    schema = result["data_schema"]
    assert schema is not None
    return {
        str(key): key.description["suggested_value"]
        for key in schema.schema
        if key.description and "suggested_value" in key.description
    }


def expected_data(vendor: Vendor) -> dict[str, Any]:
    """Return the entry data stored for USER_INPUT: the host without spaces."""
    user_input = USER_INPUT[vendor]
    return {
        "type": vendor.value,
        **user_input,
        CONF_HOST: user_input[CONF_HOST].strip(),
    }


async def test_user_flow(
    hass: HomeAssistant, vendor: Vendor, create_charger: MagicMock
) -> None:
    """The charger answers; the entry is named after it and loads."""
    result = await start_flow(hass, vendor)
    assert result["errors"] == {}
    assert suggested_values(result) == {
        CONF_PORT: {Vendor.CIRCONTROL: 80, Vendor.MENNEKES: 25000}[vendor]
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], USER_INPUT[vendor]
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == TITLE[vendor]
    assert result["data"] == expected_data(vendor)
    entry = result["result"]
    assert entry.unique_id == SERIAL[vendor]
    create_charger.assert_called_with(hass, expected_data(vendor))
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("vendor", [Vendor.CIRCONTROL])
async def test_circontrol_without_login(
    hass: HomeAssistant, vendor: Vendor, create_charger: MagicMock
) -> None:
    """A wallbox that asks for no login is added with the address alone."""
    result = await start_flow(hass, vendor)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "192.0.2.20", CONF_PORT: 80}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "type": "circontrol",
        CONF_HOST: "192.0.2.20",
        CONF_PORT: 80,
    }


@pytest.mark.parametrize(
    "host", ["http://192.0.2.20", "a/b", "a b", "   ", "x?y", "u@h"]
)
async def test_invalid_host_then_recovery(
    hass: HomeAssistant,
    vendor: Vendor,
    create_charger: MagicMock,
    charger: MagicMock,
    host: str,
) -> None:
    """A URL or path instead of a host is refused without asking the charger."""
    result = await start_flow(hass, vendor)
    user_input = {**USER_INPUT[vendor], CONF_HOST: host}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    # The form keeps what the user typed, to be corrected.
    assert suggested_values(result)[CONF_HOST] == host
    charger.get_info.assert_not_called()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], USER_INPUT[vendor]
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("error", "field", "key"),
    [
        (ChargerConnectionError("timed out"), CONF_HOST, "cannot_connect"),
        (ChargerAuthenticationError("403"), "credentials", "invalid_auth"),
        (ChargerError("not XML"), "base", "not_a_charger"),
        (RuntimeError("bug"), "base", "unknown"),
    ],
    ids=["cannot_connect", "invalid_auth", "not_a_charger", "unknown"],
)
async def test_charger_errors_then_recovery(
    hass: HomeAssistant,
    vendor: Vendor,
    create_charger: MagicMock,
    charger: MagicMock,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    field: str,
    key: str,
) -> None:
    """Each failure shows at the field at fault; once fixed, the entry is made."""
    if field == "credentials":
        field = CREDENTIAL_FIELD[vendor]
    charger.get_info.side_effect = error
    result = await start_flow(hass, vendor)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], USER_INPUT[vendor]
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == vendor.value
    assert result["errors"] == {field: key}
    assert ("Unexpected error while identifying" in caplog.text) is (key == "unknown")
    charger.get_info.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], USER_INPUT[vendor]
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == SERIAL[vendor]


@pytest.mark.parametrize(
    "host",
    [
        "fe80::1%eth0",
        "evse\\garage",
        "[::1",
        "wall\x00box",
        "-wallbox",
        "wallbox..lan",
        "192.0.2.20:80",
        "a" * 254,
    ],
)
async def test_host_the_client_refuses_is_invalid_host(
    hass: HomeAssistant, vendor: Vendor, host: str
) -> None:
    """A host that cannot be part of a URL is an invalid host, not an unknown error.

    The real client factory is used: both clients refuse the host, by the same
    rules, before any request.
    """
    result = await start_flow(hass, vendor)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**USER_INPUT[vendor], CONF_HOST: host}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}


@pytest.mark.usefixtures("create_charger")
@pytest.mark.parametrize("host", ["fd00::5", " [fd00::5] "])
async def test_ipv6_host_is_accepted(
    hass: HomeAssistant, vendor: Vendor, host: str
) -> None:
    """An IPv6 address is a host; it is stored without brackets."""
    result = await start_flow(hass, vendor)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**USER_INPUT[vendor], CONF_HOST: host}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_HOST] == "fd00::5"


async def test_already_configured_updates_the_address(
    hass: HomeAssistant, vendor: Vendor, create_charger: MagicMock
) -> None:
    """The same charger at a new address is not added twice; its entry moves."""
    entry = http_entry(vendor, **{CONF_HOST: "192.0.2.99", CONF_PORT: 8080})
    entry.add_to_hass(hass)
    result = await start_flow(hass, vendor)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], USER_INPUT[vendor]
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == DATA[vendor][CONF_HOST]
    assert entry.data[CONF_PORT] == DATA[vendor][CONF_PORT]
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reauth(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    create_charger: MagicMock,
) -> None:
    """New credentials are checked against the charger, stored, and used."""
    result = await init_http.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {"name": TITLE[vendor]}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CREDENTIALS[vendor]
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_http.data == {**DATA[vendor], **CREDENTIALS[vendor]}
    create_charger.assert_called_with(hass, {**DATA[vendor], **CREDENTIALS[vendor]})
    await hass.async_block_till_done()
    assert init_http.state is ConfigEntryState.LOADED


async def test_reauth_wrong_credentials_then_recovery(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """Refused credentials show at their field and are not stored."""
    charger.get_info.side_effect = ChargerAuthenticationError("403")
    result = await init_http.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CREDENTIALS[vendor]
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CREDENTIAL_FIELD[vendor]: "invalid_auth"}
    assert init_http.data == DATA[vendor]
    charger.get_info.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CREDENTIALS[vendor]
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_http.data == {**DATA[vendor], **CREDENTIALS[vendor]}
    await hass.async_block_till_done()


async def test_reauth_different_charger(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """Credentials that reach another charger do not change the entry."""
    info = charger.get_info.return_value
    charger.get_info.return_value = replace(info, serial_number="OTHER0001")
    result = await init_http.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CREDENTIALS[vendor]
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "different_device"
    assert init_http.data == DATA[vendor]


NEW_ADDRESS = {CONF_HOST: "192.0.2.77", CONF_PORT: 8080}


async def test_reconfigure(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    create_charger: MagicMock,
) -> None:
    """The address can change; the credentials stay, and the entry reloads."""
    result = await init_http.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert suggested_values(result) == {
        CONF_HOST: DATA[vendor][CONF_HOST],
        CONF_PORT: DATA[vendor][CONF_PORT],
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**NEW_ADDRESS, CONF_HOST: " 192.0.2.77"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_http.data == {**DATA[vendor], **NEW_ADDRESS}
    create_charger.assert_called_with(hass, {**DATA[vendor], **NEW_ADDRESS})
    await hass.async_block_till_done()
    assert init_http.state is ConfigEntryState.LOADED


async def test_reconfigure_unreachable_then_recovery(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """An address where nothing answers is refused at the host field."""
    charger.get_info.side_effect = ChargerConnectionError("timed out")
    result = await init_http.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], NEW_ADDRESS
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "cannot_connect"}
    assert suggested_values(result) == NEW_ADDRESS
    assert init_http.data == DATA[vendor]
    charger.get_info.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], NEW_ADDRESS
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def test_reconfigure_to_another_charger(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """Reconfiguring cannot swap the entry to a different charger."""
    info = charger.get_info.return_value
    charger.get_info.return_value = replace(info, serial_number="OTHER0001")
    result = await init_http.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], NEW_ADDRESS
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "different_device"
    assert init_http.data == DATA[vendor]


async def test_options_poll_interval(
    hass: HomeAssistant, vendor: Vendor, init_http: MockConfigEntry
) -> None:
    """The poll interval is an option, applied by reloading the entry."""
    default = {Vendor.CIRCONTROL: 10, Vendor.MENNEKES: 30}[vendor]
    assert init_http.runtime_data.coordinator.update_interval == timedelta(
        seconds=default
    )
    result = await hass.config_entries.options.async_init(init_http.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert suggested_values(result) == {CONF_POLL_INTERVAL: default}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_POLL_INTERVAL: 60}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_http.options == {CONF_POLL_INTERVAL: 60}
    assert init_http.state is ConfigEntryState.LOADED
    assert init_http.runtime_data.coordinator.update_interval == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("vendor", "seconds"),
    [(Vendor.CIRCONTROL, 4), (Vendor.MENNEKES, 14), (Vendor.MENNEKES, 601)],
)
async def test_options_poll_interval_bounds(
    hass: HomeAssistant, vendor: Vendor, init_http: MockConfigEntry, seconds: int
) -> None:
    """Polling faster than the charger bears, or slower than 10 min, is refused."""
    result = await hass.config_entries.options.async_init(init_http.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_POLL_INTERVAL: seconds}
        )
    assert init_http.options == {}
