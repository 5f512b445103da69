"""Diagnostics for EVSE Bridge, with identifying data redacted."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_BASE_TOPIC, CONF_CHARGER_ID
from .coordinator import EvseBridgeConfigEntry

TO_REDACT = {
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    "discovery_keys",
    "serial_number",
    "title",
    "unique_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvseBridgeConfigEntry
) -> dict[str, Any]:
    """Return the entry, the charger's data and how fresh each part is."""
    coordinator = entry.runtime_data.coordinator
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "mqtt_connected": coordinator.mqtt_connected,
        "parts": {
            part_id: {
                **async_redact_data(asdict(part), TO_REDACT),
                "available": coordinator.is_part_available(part_id),
                "seconds_since_seen": coordinator.seconds_since_seen(part_id),
            }
            for part_id, part in coordinator.data.parts.items()
        },
    }
