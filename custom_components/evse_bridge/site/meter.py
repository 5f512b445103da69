"""The grid meter: one signed sample per phase from the user's sensors."""

import math

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.unit_conversion import (
    BaseUnitConverter,
    ElectricCurrentConverter,
    ElectricPotentialConverter,
    PowerConverter,
)

from ..smart import MeterSample
from .config import SiteSetup
from .const import MeterKind, Sign


def usable(state: State | None) -> bool:
    """Return whether a sensor has a value."""
    return state is not None and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)


def _value(
    state: State | None, converter: type[BaseUnitConverter], unit: str
) -> float | None:
    """Return a sensor's number in ``unit``; None if it has none."""
    if state is None or not usable(state):
        return None
    try:
        value = float(state.state)
        source = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or unit
        value = converter.convert(value, source, unit)
    except ValueError, HomeAssistantError:
        return None
    return value if math.isfinite(value) else None


def read_power_w(hass: HomeAssistant, entity_id: str | None) -> float | None:
    """Return a power sensor's value in W."""
    if entity_id is None:
        return None
    return _value(hass.states.get(entity_id), PowerConverter, UnitOfPower.WATT)


def read_meter(hass: HomeAssistant, setup: SiteSetup) -> MeterSample | None:
    """Return the grid current per phase, import positive; None if unreadable.

    The sample is as old as its oldest phase: one silent phase sensor makes
    the whole meter stale. Meters that report unsigned currents (most P1
    readers) take their direction from the grid power sensor, if there is one.
    """
    states = [hass.states.get(entity_id) for entity_id in setup.meter]
    if setup.meter_kind is MeterKind.CURRENT:
        values = [
            _value(state, ElectricCurrentConverter, UnitOfElectricCurrent.AMPERE)
            for state in states
        ]
    else:
        voltage = setup.voltage_v
        if setup.meter_voltage is not None:
            voltage = (
                _value(
                    hass.states.get(setup.meter_voltage),
                    ElectricPotentialConverter,
                    UnitOfElectricPotential.VOLT,
                )
                or voltage
            )
        values = [
            None if power is None else power / voltage
            for power in (
                _value(state, PowerConverter, UnitOfPower.WATT) for state in states
            )
        ]
    currents = [value for value in values if value is not None]
    if len(currents) != len(values):
        return None
    sign = -1.0 if setup.sign is Sign.IMPORT_NEGATIVE else 1.0
    signed = [value * sign for value in currents]
    grid_w = read_power_w(hass, setup.grid_power)
    if grid_w is not None and grid_w * sign < 0 and min(signed) >= 0:
        signed = [-value for value in signed]
    padded = [*signed, 0.0, 0.0][:3]
    return MeterSample(
        at=min(state.last_reported_timestamp for state in states if state),
        grid_a=(padded[0], padded[1], padded[2]),
    )
