"""Buttons: start and stop a charging session."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.chargers import PolledCharger
from .api.model import Part
from .const import Vendor
from .coordinator import EvseBridgeConfigEntry
from .entity import EvseBridgeControlEntity, async_add_part_entities

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseBridgeButtonEntityDescription(ButtonEntityDescription):
    """Describes a button of one connector."""

    press_fn: Callable[[PolledCharger, str], Awaitable[None]]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None


SESSION_BUTTONS: tuple[EvseBridgeButtonEntityDescription, ...] = (
    EvseBridgeButtonEntityDescription(
        key="start_charging",
        translation_key="start_charging",
        press_fn=lambda charger, part_id: charger.start_charging(part_id),
    ),
    EvseBridgeButtonEntityDescription(
        key="stop_charging",
        translation_key="stop_charging",
        press_fn=lambda charger, part_id: charger.stop_charging(part_id),
    ),
)

BUTTONS_BY_VENDOR: dict[Vendor, tuple[EvseBridgeButtonEntityDescription, ...]] = {
    Vendor.CIRCONTROL: SESSION_BUTTONS,
    Vendor.MENNEKES: SESSION_BUTTONS,
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the session buttons of each connector."""
    async_add_part_entities(
        entry, async_add_entities, BUTTONS_BY_VENDOR, EvseBridgeButton
    )


class EvseBridgeButton(EvseBridgeControlEntity, ButtonEntity):
    """Starts or stops a session; fails if the charger does not follow."""

    entity_description: EvseBridgeButtonEntityDescription

    @override
    async def async_press(self) -> None:
        """Send the command."""
        await self._async_command(
            lambda charger: self.entity_description.press_fn(charger, self._part_id)
        )
