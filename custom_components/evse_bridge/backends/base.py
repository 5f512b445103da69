"""What a backend declares, and the set-up every charger shares."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from homeassistant.config_entries import ConfigEntry, ConfigFlow, OptionsFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from ..api.control import ChargerControl
from ..api.model import ChargerInfo
from ..const import DOMAIN
from ..coordinator import (
    ChargerConfigEntry,
    ChargerCoordinator,
    ChargerRuntimeData,
    EvseBridgeConfigEntry,
)
from ..hub import ChargerHandle, async_get_hub

if TYPE_CHECKING:
    from ..sensor import EvseBridgeSensorEntityDescription

CHARGER_PLATFORMS: tuple[Platform, ...] = (
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
)


class EntryKind(ABC):
    """One kind of config entry: a charger make, or another part of the product.

    ``key`` is the entry's ``type`` and the option of the user step's menu;
    ``flow`` is a ConfigFlow mixin with the kind's steps, the first of them
    ``async_step_<key>``.
    """

    key: ClassVar[str]
    flow: ClassVar[type[ConfigFlow]]
    platforms: ClassVar[tuple[Platform, ...]] = ()
    reauth_step: ClassVar[str | None] = None
    """The flow's step that asks for credentials again, if the kind has any."""
    reconfigure_step: ClassVar[str | None] = None

    @abstractmethod
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Set an entry up; raise ConfigEntryNotReady and the like on failure."""

    def options_flow(self, entry: ConfigEntry) -> OptionsFlow | None:
        """Return the kind's options flow, if it has options."""
        return None

    def async_add_entities(
        self,
        platform: Platform,
        entry: EvseBridgeConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        """Add the entities of an entry that is not a charger's, per platform.

        A kind that lists platforms adds its entities here (a charger's come
        from the platforms themselves, by description and capability).
        """
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Charger:
    """What a backend builds for one loaded charger."""

    info: ChargerInfo
    coordinator: ChargerCoordinator
    control: ChargerControl
    configuration_url: str | None = None


class ChargerBackend(EntryKind):
    """A charger make: how to build its charger, and what is specific to it."""

    platforms = CHARGER_PLATFORMS
    connector_device: ClassVar[str]
    """Translation key of a connector's device: ``evse``, ``plug``, ..."""
    connector_model: ClassVar[str]
    """What the make calls a connector, shown as its device's model."""
    sensors: ClassVar[tuple[EvseBridgeSensorEntityDescription, ...]] = ()
    """Sensors only this make has, besides everyone's."""

    @abstractmethod
    async def async_create(
        self, hass: HomeAssistant, entry: ChargerConfigEntry
    ) -> Charger:
        """Build the charger of an entry; raise ConfigEntryNotReady if unreachable."""

    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Build the charger, read it once, and register it in the hub."""
        charger = await self.async_create(hass, entry)
        await charger.coordinator.async_config_entry_first_refresh()
        device = dr.async_get(hass).async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, charger.info.serial_number)},
            manufacturer=charger.info.manufacturer,
            model=charger.info.model,
            name=entry.title,
            sw_version=charger.info.firmware_version,
            configuration_url=charger.configuration_url,
        )
        handle = ChargerHandle(
            entry=entry,
            info=charger.info,
            coordinator=charger.coordinator,
            control=charger.control,
        )
        entry.runtime_data = ChargerRuntimeData(
            backend=self,
            coordinator=charger.coordinator,
            handle=handle,
            charger_device_id=device.id,
        )
        entry.async_on_unload(async_get_hub(hass).async_register(handle))
