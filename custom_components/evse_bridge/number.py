"""Number entities: the charge current limit."""

from collections.abc import Callable, Set as AbstractSet
from dataclasses import dataclass
from typing import override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import Platform, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.control import Capabilities
from .api.model import CONNECTOR_FIELDS, ConnectorState, Part
from .const import DOMAIN
from .coordinator import EvseBridgeConfigEntry, is_charger
from .entity import EvseBridgeControlEntity, async_add_part_entities

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class EvseBridgeNumberEntityDescription(NumberEntityDescription):
    """Describes a number of one connector."""

    value_fn: Callable[[ConnectorState], float | None]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None
    capable_fn: Callable[[Capabilities], bool]
    reads: AbstractSet[str] | None = CONNECTOR_FIELDS
    """What it shows and its capabilities follow the connector's state."""


CURRENT_LIMIT = EvseBridgeNumberEntityDescription(
    key="current_limit",
    translation_key="current_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_step=1,
    mode=NumberMode.SLIDER,
    value_fn=lambda connector: connector.current_limit_a,
    capable_fn=lambda capabilities: capabilities.current_limit is not None,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the current limit of each connector that has one."""
    if not is_charger(entry):
        entry.runtime_data.kind.async_add_entities(
            Platform.NUMBER, entry, async_add_entities
        )
        return
    async_add_part_entities(
        entry, async_add_entities, (CURRENT_LIMIT,), EvseBridgeNumber
    )


class EvseBridgeNumber(EvseBridgeControlEntity, NumberEntity):
    """The current per phase a connector may offer the vehicle.

    The range runs from 6 A (the least a vehicle may be offered) to the
    charger's own maximum where it reports one. There is no 0: to pause
    charging, turn the connector's *Charging enabled* switch off. The value
    shown is what the charger reports after the change, not what was asked.
    """

    entity_description: EvseBridgeNumberEntityDescription

    @property
    @override
    def native_min_value(self) -> float:
        """Return the least limit the connector takes (not 0)."""
        current_limit = self.capabilities.current_limit
        return 0.0 if current_limit is None else float(current_limit.min_a)

    @property
    @override
    def native_max_value(self) -> float:
        """Return the charger's maximum."""
        current_limit = self.capabilities.current_limit
        return 0.0 if current_limit is None else float(current_limit.max_a)

    @property
    @override
    def native_value(self) -> float | None:
        """Return the limit the charger reports."""
        connector = self.part.connector
        return (
            None if connector is None else self.entity_description.value_fn(connector)
        )

    @override
    def _shown(self) -> object:
        return (self.native_value, self.native_min_value, self.native_max_value)

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Set the limit; the charger is read back to confirm it."""
        # Home Assistant checks the range but lets nan and fractions through.
        if not value.is_integer():
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="current_not_whole",
                translation_placeholders={"value": str(value)},
            )
        await self._async_command(
            lambda handle, number: handle.async_set_current_limit(number, int(value))
        )
