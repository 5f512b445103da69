"""Buttons: start and stop a charging session, restart the charger."""

from collections.abc import Awaitable, Callable, Set as AbstractSet
from dataclasses import dataclass
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.control import Capabilities
from .api.model import CONNECTOR_FIELDS, Part
from .coordinator import EvseBridgeConfigEntry, is_charger
from .entity import (
    EvseBridgeChargerEntity,
    EvseBridgeControlEntity,
    async_add_charger_entities,
    async_add_part_entities,
    translated_errors,
)
from .hub import ChargerHandle, CommandResult

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseBridgeButtonEntityDescription(ButtonEntityDescription):
    """Describes a button of one connector."""

    press_fn: Callable[[ChargerHandle, int], Awaitable[CommandResult]]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None
    capable_fn: Callable[[Capabilities], bool] = lambda capabilities: (
        capabilities.start_stop
    )
    reads: AbstractSet[str] | None = CONNECTOR_FIELDS
    """What it shows and its capabilities follow the connector's state."""


BUTTONS: tuple[EvseBridgeButtonEntityDescription, ...] = (
    EvseBridgeButtonEntityDescription(
        key="start_charging",
        translation_key="start_charging",
        press_fn=lambda handle, number: handle.async_start_charging(number),
    ),
    EvseBridgeButtonEntityDescription(
        key="stop_charging",
        translation_key="stop_charging",
        press_fn=lambda handle, number: handle.async_stop_charging(number),
    ),
)


@dataclass(frozen=True, kw_only=True)
class EvseBridgeChargerButtonEntityDescription(ButtonEntityDescription):
    """Describes a button of the whole charger."""

    press_fn: Callable[[ChargerHandle], Awaitable[CommandResult]]
    capable_fn: Callable[[ChargerHandle], bool]


CHARGER_BUTTONS: tuple[EvseBridgeChargerButtonEntityDescription, ...] = (
    EvseBridgeChargerButtonEntityDescription(
        key="restart",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        press_fn=lambda handle: handle.async_restart(),
        capable_fn=lambda handle: handle.can_restart,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the session buttons of each connector, and the charger's restart."""
    if not is_charger(entry):
        entry.runtime_data.kind.async_add_entities(
            Platform.BUTTON, entry, async_add_entities
        )
        return
    async_add_part_entities(entry, async_add_entities, BUTTONS, EvseBridgeButton)
    async_add_charger_entities(
        entry, async_add_entities, CHARGER_BUTTONS, EvseBridgeChargerButton
    )


class EvseBridgeButton(EvseBridgeControlEntity, ButtonEntity):
    """Starts or stops a session; fails if the charger does not follow."""

    entity_description: EvseBridgeButtonEntityDescription

    @override
    async def async_press(self) -> None:
        """Send the command."""
        await self._async_command(self.entity_description.press_fn)


class EvseBridgeChargerButton(EvseBridgeChargerEntity, ButtonEntity):
    """Restarts the whole charger; fails if it refuses or does not go down."""

    entity_description: EvseBridgeChargerButtonEntityDescription

    @override
    async def async_press(self) -> None:
        """Send the command."""
        with translated_errors():
            await self.entity_description.press_fn(self._handle)
