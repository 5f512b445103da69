"""EVSE Bridge: local access to smart EV chargers."""

from homeassistant.const import CONF_HOST, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from .api.chargers import ChargerAuthenticationError, ChargerError
from .api.http import base_url
from .api.model import ChargerInfo
from .const import CONF_VENDOR, DOMAIN, Vendor
from .coordinator import (
    CtekCoordinator,
    EvseBridgeConfigEntry,
    EvseBridgeRuntimeData,
    PolledCoordinator,
)
from .energy import async_remove_energy
from .helpers import create_polled_charger

_READ_ONLY = [Platform.BINARY_SENSOR, Platform.SENSOR]
_CONTROLLED = [*_READ_ONLY, Platform.BUTTON, Platform.NUMBER, Platform.SWITCH]
PLATFORMS_BY_VENDOR: dict[Vendor, list[Platform]] = {
    Vendor.CTEK: _READ_ONLY,
    Vendor.CIRCONTROL: _CONTROLLED,
    Vendor.MENNEKES: [*_CONTROLLED, Platform.SELECT],
}


async def async_setup_entry(hass: HomeAssistant, entry: EvseBridgeConfigEntry) -> bool:
    """Set up one charger."""
    vendor = Vendor(entry.data[CONF_VENDOR])
    coordinator: CtekCoordinator | PolledCoordinator
    if vendor is Vendor.CTEK:
        coordinator = CtekCoordinator(hass, entry)
        info = ChargerInfo(
            serial_number=coordinator.serial_number,
            manufacturer="CTEK",
            model="Chargestorm Connected",
        )
        configuration_url = None
    else:
        charger = create_polled_charger(hass, entry.data)
        try:
            info = await charger.get_info()
        except ChargerAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except ChargerError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        coordinator = PolledCoordinator(hass, entry, charger, info)
        configuration_url = base_url(entry.data[CONF_HOST], entry.data[CONF_PORT])
    await coordinator.async_config_entry_first_refresh()
    charger_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, coordinator.serial_number)},
        manufacturer=info.manufacturer,
        model=info.model,
        name=entry.title,
        sw_version=info.firmware_version,
        configuration_url=configuration_url,
    )
    entry.runtime_data = EvseBridgeRuntimeData(
        coordinator=coordinator, info=info, charger_device_id=charger_device.id
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


async def async_remove_entry(hass: HomeAssistant, entry: EvseBridgeConfigEntry) -> None:
    """Delete what the entry stored: its energy totals."""
    await async_remove_energy(hass, entry.entry_id)


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
