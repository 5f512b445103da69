"""Sensors: meter readings and connector status."""

from collections.abc import Callable, Set as AbstractSet
from dataclasses import dataclass
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .api.control import Capabilities
from .api.model import ConnectorState, ConnectorStatus, MeterReading, Part, Phases
from .coordinator import EvseBridgeConfigEntry, is_charger
from .entity import EvseBridgeEntity, async_add_part_entities

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvseBridgeSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor of one charger part."""

    value_fn: Callable[[Part], StateType]
    reads: AbstractSet[str] | None = None
    """The fields value_fn and exists_fn read (as in api.model.ALL_FIELDS);
    None: any. The entity is updated only when one of them changes."""
    exists_fn: Callable[[Part], bool] = lambda _: True
    capable_fn: Callable[[Capabilities], bool] = lambda _: True


def connector_value(
    value: Callable[[ConnectorState], StateType],
) -> Callable[[Part], StateType]:
    """Return a value function of a connector's state."""
    return lambda part: None if part.connector is None else value(part.connector)


def _meter_value(
    reading: Callable[[MeterReading], float | None],
) -> Callable[[Part], float | None]:
    return lambda part: None if part.meter is None else reading(part.meter)


def _reported(value_fn: Callable[[Part], StateType]) -> Callable[[Part], bool]:
    """Create the entity once the part reports the value (a meter may lack some)."""
    return lambda part: value_fn(part) is not None


def _phase_sensors(
    field: str,
    phases: Callable[[MeterReading], Phases],
    device_class: SensorDeviceClass,
    unit: str,
    precision: int,
) -> tuple[EvseBridgeSensorEntityDescription, ...]:
    """Describe one sensor per phase; disabled by default, as most are unused.

    ``field``: the meter reading's field, such as ``current_a``.
    """
    quantity = field.rpartition("_")[0]

    def phase_value(phase: int) -> Callable[[Part], float | None]:
        return _meter_value(lambda meter: phases(meter)[phase])

    descriptions = []
    for phase in range(3):
        value_fn = phase_value(phase)
        descriptions.append(
            EvseBridgeSensorEntityDescription(
                key=f"{quantity}_l{phase + 1}",
                translation_key=f"{quantity}_l{phase + 1}",
                device_class=device_class,
                state_class=SensorStateClass.MEASUREMENT,
                native_unit_of_measurement=unit,
                suggested_display_precision=precision,
                entity_registry_enabled_default=False,
                value_fn=value_fn,
                reads=frozenset({f"meter.{field}"}),
                exists_fn=_reported(value_fn),
            )
        )
    return tuple(descriptions)


def _kwh(meter: MeterReading) -> float | None:
    return None if meter.energy_wh is None else meter.energy_wh / 1000


_power = _meter_value(lambda meter: meter.power_w)
_frequency = _meter_value(lambda meter: meter.frequency_hz)

METER_SENSORS: tuple[EvseBridgeSensorEntityDescription, ...] = (
    EvseBridgeSensorEntityDescription(
        key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        # In kWh, the unit it is shown in: Home Assistant converts a value at
        # every write when the two differ, and this one changes with every
        # meter report. Statistics kept in Wh convert on their own.
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_meter_value(_kwh),
        reads=frozenset({"meter.energy_wh"}),
        exists_fn=lambda part: part.meter is not None,
    ),
    EvseBridgeSensorEntityDescription(
        key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=_power,
        reads=frozenset({"meter.power_w"}),
        exists_fn=_reported(_power),
    ),
    *_phase_sensors(
        "current_a",
        lambda meter: meter.current_a,
        SensorDeviceClass.CURRENT,
        UnitOfElectricCurrent.AMPERE,
        2,
    ),
    *_phase_sensors(
        "voltage_v",
        lambda meter: meter.voltage_v,
        SensorDeviceClass.VOLTAGE,
        UnitOfElectricPotential.VOLT,
        1,
    ),
    EvseBridgeSensorEntityDescription(
        key="frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_frequency,
        reads=frozenset({"meter.frequency_hz"}),
        exists_fn=_reported(_frequency),
    ),
)

_offered_current = connector_value(lambda connector: connector.offered_current_a)
_session_energy = connector_value(lambda connector: connector.session_energy_wh)
_session_duration = connector_value(lambda connector: connector.session_duration_s)

CONNECTOR_SENSORS: tuple[EvseBridgeSensorEntityDescription, ...] = (
    EvseBridgeSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=[status.value for status in ConnectorStatus],
        value_fn=connector_value(lambda connector: connector.status),
        reads=frozenset({"connector.status"}),
        exists_fn=lambda part: part.connector is not None,
    ),
    EvseBridgeSensorEntityDescription(
        key="offered_current",
        translation_key="offered_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=0,
        value_fn=_offered_current,
        reads=frozenset({"connector.offered_current_a"}),
        exists_fn=_reported(_offered_current),
    ),
)

SESSION_SENSORS: tuple[EvseBridgeSensorEntityDescription, ...] = (
    EvseBridgeSensorEntityDescription(
        key="session_energy",
        translation_key="session_energy",
        # No state class: a session counter is not for the Energy dashboard,
        # the lifetime Energy sensor is.
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_session_energy,
        reads=frozenset({"connector.session_energy_wh"}),
        exists_fn=_reported(_session_energy),
    ),
    EvseBridgeSensorEntityDescription(
        key="session_duration",
        translation_key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=_session_duration,
        reads=frozenset({"connector.session_duration_s"}),
        exists_fn=_reported(_session_duration),
    ),
)


SENSORS = (*METER_SENSORS, *CONNECTOR_SENSORS, *SESSION_SENSORS)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvseBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add sensors for each part as it appears."""
    if not is_charger(entry):
        entry.runtime_data.kind.async_add_entities(
            Platform.SENSOR, entry, async_add_entities
        )
        return
    async_add_part_entities(
        entry,
        async_add_entities,
        (*SENSORS, *entry.runtime_data.backend.sensors),
        EvseBridgeSensor,
    )


class EvseBridgeSensor(EvseBridgeEntity, SensorEntity):
    """A sensor whose value comes straight from the part's data."""

    entity_description: EvseBridgeSensorEntityDescription

    @override
    def _shown(self) -> object:
        """Take the value the charger reports."""
        self._attr_native_value = self.entity_description.value_fn(self.part)
        return self._attr_native_value
