"""Binary sensors: vehicle connected, charging, problem."""

from collections.abc import Callable, Set as AbstractSet
from dataclasses import dataclass
from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.control import Capabilities
from .api.model import ConnectorState, Part
from .coordinator import EvseBridgeConfigEntry, is_charger
from .entity import EvseBridgeEntity, async_add_part_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvseBridgeBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a binary sensor of one connector."""

    is_on_fn: Callable[[ConnectorState], bool | None]
    reads: AbstractSet[str] | None = None
    """The fields is_on_fn reads; None: any (see the sensors' description)."""
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None
    capable_fn: Callable[[Capabilities], bool] = lambda _: True


CONNECTOR_BINARY_SENSORS: tuple[EvseBridgeBinarySensorEntityDescription, ...] = (
    EvseBridgeBinarySensorEntityDescription(
        key="vehicle_connected",
        translation_key="vehicle_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda connector: connector.vehicle_connected,
        reads=frozenset({"connector.vehicle_connected"}),
    ),
    EvseBridgeBinarySensorEntityDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda connector: connector.charging,
        reads=frozenset({"connector.charging"}),
    ),
    EvseBridgeBinarySensorEntityDescription(
        key="problem",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda connector: connector.problem,
        reads=frozenset({"connector.problem"}),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add binary sensors for each connector as it appears."""
    if not is_charger(entry):
        entry.runtime_data.kind.async_add_entities(
            Platform.BINARY_SENSOR, entry, async_add_entities
        )
        return
    async_add_part_entities(
        entry, async_add_entities, CONNECTOR_BINARY_SENSORS, EvseBridgeBinarySensor
    )


class EvseBridgeBinarySensor(EvseBridgeEntity, BinarySensorEntity):
    """A yes/no fact about a connector."""

    entity_description: EvseBridgeBinarySensorEntityDescription

    @override
    def _shown(self) -> object:
        """Take the fact, or None when the charger does not say."""
        connector = self.part.connector
        self._attr_is_on = (
            None if connector is None else self.entity_description.is_on_fn(connector)
        )
        return self._attr_is_on
