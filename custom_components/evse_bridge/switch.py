"""Switches: charging enabled, starting on plug-in, and being in service."""

from collections.abc import Awaitable, Callable, Set as AbstractSet
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.control import Capabilities
from .api.model import CONNECTOR_FIELDS, ConnectorState, ConnectorStatus, Part
from .coordinator import EvseBridgeConfigEntry, is_charger
from .entity import EvseBridgeControlEntity, async_add_part_entities
from .hub import ChargerHandle, CommandResult

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseBridgeSwitchEntityDescription(SwitchEntityDescription):
    """Describes a switch of one connector."""

    is_on_fn: Callable[[ConnectorState], bool | None]
    set_fn: Callable[[ChargerHandle, int, bool], Awaitable[CommandResult]]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None
    capable_fn: Callable[[Capabilities], bool]
    reads: AbstractSet[str] | None = CONNECTOR_FIELDS
    """What it shows and its capabilities follow the connector's state."""


SWITCHES: tuple[EvseBridgeSwitchEntityDescription, ...] = (
    EvseBridgeSwitchEntityDescription(
        key="charging_enabled",
        translation_key="charging_enabled",
        is_on_fn=lambda connector: connector.charging_enabled,
        set_fn=lambda handle, number, on: handle.async_set_charging_enabled(number, on),
        capable_fn=lambda capabilities: capabilities.pause_resume,
    ),
    EvseBridgeSwitchEntityDescription(
        key="auto_start",
        translation_key="auto_start",
        entity_category=EntityCategory.CONFIG,
        is_on_fn=lambda connector: connector.auto_start,
        set_fn=lambda handle, number, on: handle.async_set_auto_start(number, on),
        capable_fn=lambda capabilities: capabilities.auto_start,
    ),
    EvseBridgeSwitchEntityDescription(
        key="available",
        translation_key="available",
        entity_category=EntityCategory.CONFIG,
        # Shows the status: one taken out of service during a session stays
        # on until the charger applies it, when the session ends.
        is_on_fn=lambda connector: (
            None
            if connector.status is None
            else connector.status is not ConnectorStatus.UNAVAILABLE
        ),
        set_fn=lambda handle, number, on: handle.async_set_available(number, on),
        capable_fn=lambda capabilities: capabilities.availability,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches each connector's capabilities call for."""
    if not is_charger(entry):
        entry.runtime_data.kind.async_add_entities(
            Platform.SWITCH, entry, async_add_entities
        )
        return
    async_add_part_entities(entry, async_add_entities, SWITCHES, EvseBridgeSwitch)


class EvseBridgeSwitch(EvseBridgeControlEntity, SwitchEntity):
    """A setting of a connector; it shows what the charger reports."""

    entity_description: EvseBridgeSwitchEntityDescription

    @override
    def _shown(self) -> object:
        return self.is_on

    @property
    @override
    def is_on(self) -> bool | None:
        """Return the charger's setting."""
        connector = self.part.connector
        return (
            None if connector is None else self.entity_description.is_on_fn(connector)
        )

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn the setting on; confirmed by reading the charger back."""
        await self._async_command(
            lambda handle, number: self.entity_description.set_fn(handle, number, True)  # noqa: FBT003
        )

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the setting off; confirmed by reading the charger back."""
        await self._async_command(
            lambda handle, number: self.entity_description.set_fn(handle, number, False)  # noqa: FBT003
        )
