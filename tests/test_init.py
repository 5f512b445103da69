"""Tests for setting up, unloading and removing parts of a charger."""

from datetime import timedelta
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.evse_bridge.const import DOMAIN

from .conftest import CBID, publish, publish_documented_burst


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The entry loads, and unloads cleanly with its subscription."""
    await publish_documented_burst(hass)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    await publish(hass, "evse1", "em", {"energy": 1, "power": 5})
    state = hass.states.get(f"sensor.chargestorm_{CBID.lower()}_evse_1_power")
    assert state is not None
    assert state.state == "unavailable"


async def test_setup_retries_without_mqtt(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Without a usable MQTT integration, set-up is retried later."""
    mock_config_entry.add_to_hass(hass)
    with patch(
        "custom_components.evse_bridge.backends.ctek.coordinator.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason == "The MQTT integration is not available"


async def remove_device(
    hass: HomeAssistant, ws_client: WebSocketGenerator, device_id: str, entry_id: str
) -> bool:
    """Ask to remove a device from the entry, as the device page does."""
    assert await async_setup_component(hass, "config", {})
    client = await ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry_id,
            "device_id": device_id,
        }
    )
    response = await client.receive_json()
    return bool(response["success"])


async def test_only_silent_parts_can_be_removed(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A part that still publishes stays; a silent one may be deleted."""
    await publish_documented_burst(hass)
    entry_id = init_integration.entry_id
    evse2 = device_registry.async_get_device_by_identifier(
        ("evse_bridge", f"{CBID}_evse2"), entry_id
    )
    charger = device_registry.async_get_device_by_identifier(
        ("evse_bridge", CBID), entry_id
    )
    assert evse2 is not None
    assert charger is not None
    assert not await remove_device(hass, hass_ws_client, evse2.id, entry_id)
    freezer.tick(timedelta(minutes=10))
    assert not await remove_device(hass, hass_ws_client, charger.id, entry_id)
    assert await remove_device(hass, hass_ws_client, evse2.id, entry_id)
    assert device_registry.async_get(evse2.id) is None


@pytest.mark.parametrize("platforms", [[]])
async def test_platform_list_is_per_vendor(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A vendor without platforms still loads (the list drives forwarding)."""
    assert init_integration.state is ConfigEntryState.LOADED


async def test_entry_of_an_earlier_version_is_migrated(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    """Entries of version 1.1 kept their kind under "vendor"; 1.2 under "type"."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Chargestorm {CBID}",
        unique_id=CBID,
        data={"vendor": "ctek", "base_topic": "CTEK", "charger_id": CBID},
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 2
    assert entry.data == {"type": "ctek", "base_topic": "CTEK", "charger_id": CBID}


async def test_entry_of_a_later_version_is_refused(
    hass: HomeAssistant, mqtt_mock: object
) -> None:
    """A downgrade cannot read what a later version wrote."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=CBID, data={"type": "ctek"}, version=2
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
