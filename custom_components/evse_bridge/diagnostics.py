"""Diagnostics for EVSE Bridge, with secrets and identifying data redacted."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PIN, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_BASE_TOPIC, CONF_CHARGER_ID
from .coordinator import CtekCoordinator, EvseBridgeConfigEntry

TO_REDACT = {
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PIN,
    CONF_USERNAME,
    "discovery_keys",
    "mac_address",
    "serial_number",
    "title",
    "unique_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvseBridgeConfigEntry
) -> dict[str, Any]:
    """Return the entry, the charger's data and how fresh each part is."""
    coordinator = entry.runtime_data.coordinator
    connection: dict[str, Any] = {
        "last_update_success": coordinator.last_update_success
    }
    if isinstance(coordinator, CtekCoordinator):
        connection["mqtt_connected"] = coordinator.mqtt_connected
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "charger": async_redact_data(asdict(entry.runtime_data.info), TO_REDACT),
        "connection": connection,
        "parts": {
            part_id: {
                **async_redact_data(asdict(part), TO_REDACT),
                "available": coordinator.is_part_available(part_id),
                "seconds_since_seen": coordinator.seconds_since_seen(part_id),
            }
            for part_id, part in coordinator.data.parts.items()
        },
    }
