"""Reading the grid meter from the user's sensors."""

from typing import Any

from homeassistant.core import HomeAssistant
import pytest

from custom_components.evse_bridge.site.config import SiteSetup
from custom_components.evse_bridge.site.meter import read_meter, read_power_w

from .conftest import METER, SITE_OPTIONS


def setup_of(**changes: Any) -> SiteSetup:
    """Return the test site with some options changed."""
    return SiteSetup.from_entry({"name": "Home"}, {**SITE_OPTIONS, **changes})


def report(hass: HomeAssistant, values: dict[str, tuple[str, str]]) -> None:
    """Set sensors to (state, unit)."""
    for entity_id, (value, unit) in values.items():
        hass.states.async_set(entity_id, value, {"unit_of_measurement": unit})


async def test_currents_in_any_unit(hass: HomeAssistant) -> None:
    """Amperes and milliamperes are both read as amperes."""
    report(
        hass, {METER[0]: ("5", "A"), METER[1]: ("6500", "mA"), METER[2]: ("-1", "A")}
    )
    sample = read_meter(hass, setup_of())
    assert sample is not None
    assert sample.grid_a == (5.0, 6.5, -1.0)
    assert sample.at == hass.states.get(METER[0]).last_reported_timestamp  # type: ignore[union-attr]


async def test_import_negative(hass: HomeAssistant) -> None:
    """A meter that signs import negative is turned around."""
    report(hass, {METER[0]: ("-5", "A"), METER[1]: ("-6", "A"), METER[2]: ("1", "A")})
    sample = read_meter(hass, setup_of(sign="import_negative"))
    assert sample is not None
    assert sample.grid_a == (5.0, 6.0, -1.0)


@pytest.mark.parametrize(("grid", "expected"), [("-2.5", -1.0), ("2.5", 1.0)])
async def test_unsigned_currents_take_the_grid_powers_direction(
    hass: HomeAssistant, grid: str, expected: float
) -> None:
    """Unsigned phase currents are export when the grid power says so."""
    report(
        hass,
        {
            METER[0]: ("4", "A"),
            METER[1]: ("4", "A"),
            METER[2]: ("4", "A"),
            "sensor.grid": (grid, "kW"),
        },
    )
    sample = read_meter(hass, setup_of(grid_power="sensor.grid"))
    assert sample is not None
    assert sample.grid_a == (4.0 * expected,) * 3
    assert read_power_w(hass, "sensor.grid") == float(grid) * 1000


async def test_power_per_phase(hass: HomeAssistant) -> None:
    """Power sensors are divided by the measured voltage, or the nominal one."""
    report(
        hass, {METER[0]: ("2300", "W"), METER[1]: ("1.15", "kW"), METER[2]: ("0", "W")}
    )
    power = setup_of(meter_kind="power")
    sample = read_meter(hass, power)
    assert sample is not None
    assert sample.grid_a == (10.0, 5.0, 0.0)
    report(hass, {"sensor.voltage": ("250", "V")})
    sample = read_meter(
        hass, setup_of(meter_kind="power", meter_voltage="sensor.voltage")
    )
    assert sample is not None
    assert sample.grid_a == (9.2, 4.6, 0.0)


async def test_one_phase(hass: HomeAssistant) -> None:
    """A single-phase site reads L1 only."""
    report(hass, {METER[0]: ("7", "A")})
    sample = read_meter(hass, setup_of(phases="1"))
    assert sample is not None
    assert sample.grid_a == (7.0, 0.0, 0.0)


@pytest.mark.parametrize("value", ["unavailable", "unknown", "abc", "nan"])
async def test_no_sample_without_every_phase(hass: HomeAssistant, value: str) -> None:
    """A phase without a number means no sample (the meter ages into stale)."""
    report(hass, {METER[0]: ("5", "A"), METER[1]: ("5", "A"), METER[2]: (value, "A")})
    assert read_meter(hass, setup_of()) is None
    hass.states.async_remove(METER[2])
    assert read_meter(hass, setup_of()) is None
    assert read_power_w(hass, None) is None
