"""Number entities: the charge current limit."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api.chargers import PolledCharger
from .api.model import ConnectorState, Part
from .const import DOMAIN, Vendor
from .coordinator import EvseBridgeConfigEntry
from .entity import EvseBridgeControlEntity, async_add_part_entities

PARALLEL_UPDATES = 1

# IEC 61851: a vehicle may not be offered less than 6 A.
MIN_CURRENT_A = 6
# When the charger does not say: the 32 A most wallboxes are built for.
DEFAULT_MAX_CURRENT_A = 32


@dataclass(frozen=True, kw_only=True)
class EvseBridgeNumberEntityDescription(NumberEntityDescription):
    """Describes a number of one connector."""

    value_fn: Callable[[ConnectorState], float | None]
    set_fn: Callable[[PolledCharger, str, int], Awaitable[None]]
    exists_fn: Callable[[Part], bool] = lambda part: part.connector is not None


CURRENT_LIMIT = EvseBridgeNumberEntityDescription(
    key="current_limit",
    translation_key="current_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_step=1,
    mode=NumberMode.SLIDER,
    value_fn=lambda connector: connector.current_limit_a,
    set_fn=lambda charger, part_id, amps: charger.set_current_limit(part_id, amps),
)

NUMBERS_BY_VENDOR: dict[Vendor, tuple[EvseBridgeNumberEntityDescription, ...]] = {
    Vendor.CIRCONTROL: (CURRENT_LIMIT,),
    Vendor.MENNEKES: (CURRENT_LIMIT,),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the current limit of each connector."""
    async_add_part_entities(
        entry, async_add_entities, NUMBERS_BY_VENDOR, EvseBridgeNumber
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
    def _connector(self) -> ConnectorState:
        # exists_fn created the entity only for a part with a connector.
        connector = self.part.connector
        return connector if connector is not None else ConnectorState()

    @property
    @override
    def native_min_value(self) -> float:
        """Return the charger's minimum, at least 6 A."""
        return max(self._connector.min_current_a or MIN_CURRENT_A, MIN_CURRENT_A)

    @property
    @override
    def native_max_value(self) -> float:
        """Return the charger's maximum."""
        return self._connector.max_current_a or DEFAULT_MAX_CURRENT_A

    @property
    @override
    def native_value(self) -> float | None:
        """Return the limit the charger reports."""
        return self.entity_description.value_fn(self._connector)

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
            lambda charger: self.entity_description.set_fn(
                charger, self._part_id, int(value)
            )
        )
