"""The site as a kind of entry: its set-up, its options and its entities."""

from dataclasses import dataclass
from typing import Any, override

from homeassistant.config_entries import ConfigEntry, OptionsFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from ..backends.base import EntryKind
from ..coordinator import EntryRuntimeData, EvseBridgeConfigEntry
from .config import SiteSetup
from .const import SITE
from .controller import SiteController
from .entities import ENTITIES, HEADROOM, HeadroomSensor, async_when_devices_exist
from .flow import SiteFlow, SiteOptionsFlow


@dataclass(kw_only=True)
class SiteRuntimeData(EntryRuntimeData):
    """What a loaded site holds: its controller."""

    controller: SiteController

    @property
    @override
    def kind(self) -> EntryKind:
        """Return the site kind."""
        return KIND

    @override
    def diagnostics(self) -> dict[str, Any]:
        """Return the site's settings, the engine's last decision and state."""
        return self.controller.diagnostics()


class SiteKind(EntryKind):
    """A main fuse with its meter, prices and solar, driving chargers."""

    key = SITE
    flow = SiteFlow
    platforms = (
        Platform.BINARY_SENSOR,
        Platform.NUMBER,
        Platform.SELECT,
        Platform.SENSOR,
        Platform.TIME,
    )
    reconfigure_step = "site_reconfigure"

    @override
    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Start the controller; it follows the meter from now on."""
        controller = SiteController(
            hass, entry, SiteSetup.from_entry(entry.data, entry.options)
        )
        entry.runtime_data = SiteRuntimeData(controller=controller)
        await controller.async_start()

    @override
    def options_flow(self, entry: ConfigEntry) -> OptionsFlow:
        """Return the site's options flow: every setting."""
        return SiteOptionsFlow()

    @override
    def async_add_entities(
        self,
        platform: Platform,
        entry: EvseBridgeConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        """Add each managed connector's entities of ``platform``."""
        runtime = entry.runtime_data
        assert isinstance(runtime, SiteRuntimeData)  # noqa: S101 - only sites get here
        controller = runtime.controller
        if platform is Platform.SENSOR:
            async_add_entities([HeadroomSensor(controller, HEADROOM)])

        @callback
        def add(keys: list[str]) -> None:
            async_add_entities(
                factory(controller, key, description)
                for factory, description in ENTITIES[platform]
                for key in keys
            )

        async_when_devices_exist(controller.hass, entry, list(controller.keys), add)


KIND = SiteKind()
