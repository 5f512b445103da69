"""Switches: charging enabled, and the Mennekes auto start."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.chargers import MennekesCharger, PolledCharger
from .api.model import ConnectorState, Part
from .const import Vendor
from .coordinator import EvseBridgeConfigEntry
from .entity import EvseBridgeControlEntity, async_add_part_entities

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseBridgeSwitchEntityDescription(SwitchEntityDescription):
    """Describes a switch of one connector."""

    is_on_fn: Callable[[ConnectorState], bool | None]
    set_fn: Callable[[PolledCharger, str, bool], Awaitable[None]]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None


def mennekes(charger: PolledCharger) -> MennekesCharger:
    """Return the Mennekes charger behind a Mennekes-only control."""
    if not isinstance(charger, MennekesCharger):  # pragma: no cover - by construction
        msg = "This control exists for Mennekes chargers only"
        raise TypeError(msg)
    return charger


CHARGING_ENABLED = EvseBridgeSwitchEntityDescription(
    key="charging_enabled",
    translation_key="charging_enabled",
    is_on_fn=lambda connector: connector.charging_enabled,
    set_fn=lambda charger, part_id, on: charger.set_charging_enabled(part_id, on),
)

SWITCHES_BY_VENDOR: dict[Vendor, tuple[EvseBridgeSwitchEntityDescription, ...]] = {
    Vendor.CIRCONTROL: (CHARGING_ENABLED,),
    Vendor.MENNEKES: (
        CHARGING_ENABLED,
        EvseBridgeSwitchEntityDescription(
            key="auto_start",
            translation_key="auto_start",
            entity_category=EntityCategory.CONFIG,
            is_on_fn=lambda connector: connector.auto_start,
            set_fn=lambda charger, _, on: mennekes(charger).set_auto_start(on),
        ),
    ),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches of each connector."""
    async_add_part_entities(
        entry, async_add_entities, SWITCHES_BY_VENDOR, EvseBridgeSwitch
    )


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
        await self._async_set(on=True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn the setting off; confirmed by reading the charger back."""
        await self._async_set(on=False)

    async def _async_set(self, *, on: bool) -> None:
        await self._async_command(
            lambda charger: self.entity_description.set_fn(charger, self._part_id, on)
        )
