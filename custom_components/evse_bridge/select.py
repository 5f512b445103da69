"""Select entities: the Mennekes operating mode."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.chargers import MENNEKES_MODES, PolledCharger
from .api.model import ConnectorState, Part
from .const import Vendor
from .coordinator import EvseBridgeConfigEntry
from .entity import EvseBridgeControlEntity, async_add_part_entities
from .switch import mennekes

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseBridgeSelectEntityDescription(SelectEntityDescription):
    """Describes a select of one connector."""

    value_fn: Callable[[ConnectorState], str | None]
    set_fn: Callable[[PolledCharger, str], Awaitable[None]]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None


SELECTS_BY_VENDOR: dict[Vendor, tuple[EvseBridgeSelectEntityDescription, ...]] = {
    Vendor.MENNEKES: (
        EvseBridgeSelectEntityDescription(
            key="operating_mode",
            translation_key="operating_mode",
            entity_category=EntityCategory.CONFIG,
            options=list(MENNEKES_MODES),
            value_fn=lambda connector: connector.operating_mode,
            set_fn=lambda charger, mode: mennekes(charger).set_operating_mode(mode),
        ),
    ),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the selects of each connector."""
    async_add_part_entities(
        entry, async_add_entities, SELECTS_BY_VENDOR, EvseBridgeSelect
    )


class EvseBridgeSelect(EvseBridgeControlEntity, SelectEntity):
    """A choice the charger offers; it shows what the charger reports."""

    entity_description: EvseBridgeSelectEntityDescription

    @override
    def _shown(self) -> object:
        return self.current_option

    @property
    @override
    def current_option(self) -> str | None:
        """Return the charger's current choice."""
        connector = self.part.connector
        return (
            None if connector is None else self.entity_description.value_fn(connector)
        )

    @override
    async def async_select_option(self, option: str) -> None:
        """Choose an option; confirmed by reading the charger back."""
        await self._async_command(
            lambda charger: self.entity_description.set_fn(charger, option)
        )
