"""EVSE Bridge: local access to smart EV chargers."""

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .backends import KINDS
from .const import CONF_TYPE, CONF_VENDOR, DOMAIN
from .coordinator import EvseBridgeConfigEntry, is_charger
from .energy import async_remove_energy
from .site.const import SITE
from .site.controller import async_remove_site


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Set up an entry as its kind does, then its platforms."""
    kind = KINDS[entry.data[CONF_TYPE]]
    await kind.async_setup_entry(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, kind.platforms)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload an entry's platforms; its kind's clean-up runs on unload."""
    return await hass.config_entries.async_unload_platforms(
        entry, KINDS[entry.data[CONF_TYPE]].platforms
    )


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry up to the current version of its data.

    1.1 -> 1.2: the kind of entry moved from ``vendor`` to ``type``, since not
    every entry is a charger.
    """
    if entry.minor_version < 2:  # noqa: PLR2004
        data = {**entry.data}
        data[CONF_TYPE] = data.pop(CONF_VENDOR)
        hass.config_entries.async_update_entry(entry, data=data, minor_version=2)
    return True


async def async_remove_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete what the entry stored: a charger's energy totals, a site's state."""
    if entry.data[CONF_TYPE] == SITE:
        await async_remove_site(hass, entry.entry_id)
    else:
        await async_remove_energy(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EvseBridgeConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user remove a part (meter or EVSE) that stopped publishing."""
    if not is_charger(entry):
        return False
    coordinator = entry.runtime_data.coordinator
    prefix = f"{coordinator.serial_number}_"
    return any(
        domain == DOMAIN
        and identifier.startswith(prefix)
        and not coordinator.is_part_available(identifier.removeprefix(prefix))
        for domain, identifier in device.identifiers
    )
