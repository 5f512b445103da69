"""Diagnostics for EVSE Bridge, with secrets and identifying data redacted."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PIN, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .backends.ocpp.const import CONF_CHARGE_POINT_ID, CONF_ID_TAGS
from .const import CONF_BASE_TOPIC, CONF_CHARGER_ID
from .coordinator import EvseBridgeConfigEntry, is_charger

TO_REDACT = {
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_CHARGE_POINT_ID,
    CONF_HOST,
    CONF_ID_TAGS,
    CONF_PASSWORD,
    CONF_PIN,
    CONF_USERNAME,
    "ca_file",
    "client_cert",
    "client_key",
    "discovery_keys",
    "portal_id",
    "mac_address",
    "serial_number",
    "title",
    "unique_id",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvseBridgeConfigEntry
) -> dict[str, Any]:
    """Return the entry, the charger's data and how fresh each part is.

    An entry that is not a charger's returns what its kind tells.
    """
    if not is_charger(entry):
        return async_redact_data(
            {"entry": entry.as_dict(), **entry.runtime_data.diagnostics()}, TO_REDACT
        )
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    control = runtime.handle.control
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "charger": async_redact_data(asdict(runtime.handle.info), TO_REDACT),
        "connection": coordinator.connection_diagnostics(),
        "parts": {
            part_id: {
                **async_redact_data(asdict(part), TO_REDACT),
                "available": coordinator.is_part_available(part_id),
                "seconds_since_seen": coordinator.seconds_since_seen(part_id),
                "capabilities": asdict(control.capabilities(part)),
            }
            for part_id, part in coordinator.data.parts.items()
        },
    }
