"""Helpers for tests of the OCPP server in Home Assistant, with the simulator."""

import asyncio
from collections.abc import Callable
import socket
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.backends.ocpp.central import (
    OcppCentral,
    async_get_central,
)
from custom_components.evse_bridge.const import CONF_TYPE, DOMAIN
from simulators.ocpp import OcppSimulator

SERVER_OPTIONS: dict[str, Any] = {
    "path": "/ocpp",
    "new_charge_points": "ask",
    "id_tags": "",
    "configure_meter_values": True,
    "certfile": "",
    "keyfile": "",
}


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Wait until a condition holds; fail with the condition's name if never."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition.__name__}")
        await asyncio.sleep(0.02)


async def add_server(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    """Set up the OCPP server entry, listening on a free port of 127.0.0.1."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="OCPP server",
        unique_id="ocpp_server",
        data={CONF_TYPE: "ocpp_server"},
        options={**SERVER_OPTIONS, "port": free_port(), **options},
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # No websocket pings: aiohttp may re-arm a ping timer as a connection
    # closes, which the test harness would take for a lingering timer.
    central(hass).server.ping_interval_s = None
    return entry


def central(hass: HomeAssistant) -> OcppCentral:
    """Return the running central system."""
    running = async_get_central(hass)
    assert running is not None
    return running


def url(hass: HomeAssistant, charge_point_id: str = "CP1") -> str:
    """Return the URL a charge point connects to."""
    server = central(hass).server
    return f"ws://127.0.0.1:{server.port}{server.path}/{charge_point_id}"


def pending_flows(hass: HomeAssistant) -> list[Any]:
    """Return the discovery flows waiting for the user."""
    return list(hass.config_entries.flow.async_progress_by_handler(DOMAIN))


async def accept_flow(
    hass: HomeAssistant, user_input: dict[str, Any] | None = None
) -> ConfigEntry:
    """Accept the charge point in its discovery flow, once it shows."""

    def discovered() -> bool:
        return len(pending_flows(hass)) == 1

    await wait_for(discovered)
    flow = pending_flows(hass)[0]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], user_input or {}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry: ConfigEntry = result["result"]
    return entry


async def accept(
    hass: HomeAssistant, sim: OcppSimulator, user_input: dict[str, Any] | None = None
) -> ConfigEntry:
    """Accept the charge point in its discovery flow; wait until it is in."""
    entry = await accept_flow(hass, user_input)

    def accepted() -> bool:
        return sim.registration == "Accepted"

    await wait_for(accepted)
    assert entry.state is ConfigEntryState.LOADED
    return entry


def entity_id(hass: HomeAssistant, unique_id: str, platform: str = "sensor") -> str:
    """Return the entity id of one of the charger's entities, by unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found
