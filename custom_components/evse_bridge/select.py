"""Select entities: a charger's own operating modes."""

from collections.abc import Callable, Set as AbstractSet
from dataclasses import dataclass
from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.control import Capabilities
from .api.model import CONNECTOR_FIELDS, ConnectorState, Part
from .coordinator import EvseBridgeConfigEntry, is_charger
from .entity import EvseBridgeControlEntity, async_add_part_entities

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseBridgeSelectEntityDescription(SelectEntityDescription):
    """Describes a select of one connector."""

    value_fn: Callable[[ConnectorState], str | None]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None
    capable_fn: Callable[[Capabilities], bool]
    reads: AbstractSet[str] | None = CONNECTOR_FIELDS
    """What it shows and its capabilities follow the connector's state."""


OPERATING_MODE = EvseBridgeSelectEntityDescription(
    key="operating_mode",
    translation_key="operating_mode",
    entity_category=EntityCategory.CONFIG,
    value_fn=lambda connector: connector.operating_mode,
    capable_fn=lambda capabilities: bool(capabilities.operating_modes),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the operating mode of each connector that has modes."""
    if not is_charger(entry):
        entry.runtime_data.kind.async_add_entities(
            Platform.SELECT, entry, async_add_entities
        )
        return
    async_add_part_entities(
        entry, async_add_entities, (OPERATING_MODE,), EvseBridgeSelect
    )


class EvseBridgeSelect(EvseBridgeControlEntity, SelectEntity):
    """A choice the charger offers; it shows what the charger reports."""

    entity_description: EvseBridgeSelectEntityDescription

    @property
    @override
    def options(self) -> list[str]:
        """Return the modes the connector has."""
        return list(self.capabilities.operating_modes)

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
            lambda handle, number: handle.async_set_operating_mode(number, option)
        )
