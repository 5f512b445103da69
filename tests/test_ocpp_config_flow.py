"""The OCPP server's config and options flow, and the charge point's discovery flow."""

from pathlib import Path
import socket
from typing import Any

from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.evse_bridge.const import DOMAIN

from .api.test_ocpp_server import self_signed_certificate
from .ocpp_ha import SERVER_OPTIONS, add_server, free_port

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def open_menu_option(hass: HomeAssistant, option: str) -> Any:
    """Open the flow and pick an option of the menu."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert "ocpp_server" in result["menu_options"]
    assert "ocpp" in result["menu_options"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": option}
    )


def form_input(**changes: Any) -> dict[str, Any]:
    """Return what a user enters in the server form."""
    return {**SERVER_OPTIONS, "port": free_port(), **changes}


async def test_server_created_and_only_once(hass: HomeAssistant) -> None:
    """The form has defaults; the server starts; a second one is refused."""
    result = await open_menu_option(hass, "ocpp_server")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ocpp_server"
    user_input = form_input(path="/ocpp/", id_tags="card1, card2")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "OCPP server"
    assert result["data"] == {"type": "ocpp_server"}
    assert result["options"]["port"] == user_input["port"]
    assert result["options"]["id_tags"] == "card1, card2"
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED

    result = await open_menu_option(hass, "ocpp_server")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"path": "/o c/"}, {"path": "invalid_path"}),
        ({"id_tags": "A" * 21}, {"id_tags": "invalid_id_tags"}),
        ({"certfile": "/x/cert.pem"}, {"keyfile": "tls_needs_both"}),
        ({"keyfile": "/x/key.pem"}, {"certfile": "tls_needs_both"}),
        (
            {"certfile": "/nonexistent/c.pem", "keyfile": "/nonexistent/k.pem"},
            {"certfile": "invalid_certificate"},
        ),
    ],
)
async def test_server_form_errors_then_recovery(
    hass: HomeAssistant, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each bad field is named; correcting it creates the server."""
    result = await open_menu_option(hass, "ocpp_server")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(**changes)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input()
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_server_port_in_use(hass: HomeAssistant) -> None:
    """A port something else listens on is refused on the form, before set-up."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await open_menu_option(hass, "ocpp_server")
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(port=port)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"port": "port_in_use"}


async def test_server_with_certificate(hass: HomeAssistant, tmp_path: Path) -> None:
    """Certificate files that load give a wss:// server."""
    cert, key = self_signed_certificate(tmp_path)
    result = await open_menu_option(hass, "ocpp_server")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(certfile=str(cert), keyfile=str(key))
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await open_menu_option(hass, "ocpp")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "ocpp_connect_charger"
    assert result["description_placeholders"]["url"].startswith("wss://")


async def test_options_change_the_server(hass: HomeAssistant) -> None:
    """The options show the settings, refuse bad ones and restart the server."""
    entry = await add_server(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ocpp_server"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_input(path="bad path")
    )
    assert result["errors"] == {"path": "invalid_path"}
    new_input = form_input(new_charge_points="refuse")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], new_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["new_charge_points"] == "refuse"
    assert entry.runtime_data.central.server.port == new_input["port"]

    # The port the server listens on itself is not "in use".
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**new_input, "id_tags": "card1"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_charger_menu_option_explains(hass: HomeAssistant) -> None:
    """A charge point is not added by hand: first the server, then it connects."""
    result = await open_menu_option(hass, "ocpp")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "ocpp_server_first"
    await add_server(hass, path="/ocpp")
    result = await open_menu_option(hass, "ocpp")
    assert result["reason"] == "ocpp_connect_charger"
    url = result["description_placeholders"]["url"]
    assert url.startswith("ws://")
    assert url.endswith("/ocpp/<charge point id>")


DISCOVERED = {"charge_point_id": "CP7", "manufacturer": "ACME", "model": "Box"}


async def discover(hass: HomeAssistant, data: dict[str, Any]) -> Any:
    """Start the discovery flow of a charge point, as the server does."""
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=data
    )


@pytest.mark.parametrize(
    ("user_input", "data"),
    [
        ({}, {}),
        ({"password": ""}, {}),
        ({"password": "s3cret-s3cret-16"}, {"password": "s3cret-s3cret-16"}),
    ],
)
async def test_discovery_confirmed(
    hass: HomeAssistant, user_input: dict[str, str], data: dict[str, str]
) -> None:
    """Confirming creates the charger's entry, with a password if one was given."""
    result = await discover(hass, DISCOVERED)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ocpp_confirm"
    assert result["description_placeholders"] == {
        "id": "CP7",
        "manufacturer": "ACME",
        "model": "Box",
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "CP7"
    assert result["result"].unique_id == "ocpp:CP7"
    assert result["data"] == {"type": "ocpp", **DISCOVERED, **data}
    await hass.async_block_till_done()
    # No server: the charger waits for it.
    assert result["result"].state is ConfigEntryState.SETUP_RETRY

    result = await discover(hass, DISCOVERED)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_discovery_of_an_invalid_id(hass: HomeAssistant) -> None:
    """An id the server would never let in is no charger."""
    result = await discover(hass, {**DISCOVERED, "charge_point_id": "a b"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_charge_point_id"


async def test_discovered_make_and_model_are_plain_text(hass: HomeAssistant) -> None:
    """What the charge point says about itself cannot put a link in the dialog."""
    result = await discover(
        hass, {**DISCOVERED, "manufacturer": "[x](http://e.vil)", "model": "<b>M-1</b>"}
    )
    assert result["description_placeholders"]["manufacturer"] == "x(http//e.vil)"
    assert result["description_placeholders"]["model"] == "bM-1/b"
