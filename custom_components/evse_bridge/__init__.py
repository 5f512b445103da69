"""EVSE Bridge: local access to smart EV chargers."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import CONF_VENDOR, DOMAIN, Vendor
from .coordinator import CtekCoordinator, EvseBridgeConfigEntry, EvseBridgeRuntimeData

PLATFORMS_BY_VENDOR: dict[Vendor, list[Platform]] = {
    Vendor.CTEK: [Platform.BINARY_SENSOR, Platform.SENSOR],
}
MODELS: dict[Vendor, tuple[str, str]] = {
    Vendor.CTEK: ("CTEK", "Chargestorm Connected"),
}


async def async_setup_entry(hass: HomeAssistant, entry: EvseBridgeConfigEntry) -> bool:
    """Set up one charger."""
    vendor = Vendor(entry.data[CONF_VENDOR])
    coordinator = CtekCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    manufacturer, model = MODELS[vendor]
    charger_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, coordinator.serial_number)},
        manufacturer=manufacturer,
        model=model,
        name=entry.title,
    )
    entry.runtime_data = EvseBridgeRuntimeData(
        coordinator=coordinator, charger_device_id=charger_device.id
    )
    await hass.config_entries.async_forward_entry_setups(
        entry, PLATFORMS_BY_VENDOR[vendor]
    )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EvseBridgeConfigEntry) -> bool:
    """Unload one charger."""
    return await hass.config_entries.async_unload_platforms(
        entry, PLATFORMS_BY_VENDOR[Vendor(entry.data[CONF_VENDOR])]
    )


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EvseBridgeConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user remove a part (meter or EVSE) that stopped publishing."""
    coordinator = entry.runtime_data.coordinator
    prefix = f"{coordinator.serial_number}_"
    return any(
        domain == DOMAIN
        and identifier.startswith(prefix)
        and not coordinator.is_part_available(identifier.removeprefix(prefix))
        for domain, identifier in device.identifiers
    )
