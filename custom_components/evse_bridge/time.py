"""Time entities: only entries that are not chargers have them (a site's ready-by)."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvseBridgeConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entry's time entities, as its kind does."""
    entry.runtime_data.kind.async_add_entities(Platform.TIME, entry, async_add_entities)
