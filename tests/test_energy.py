"""The energy sensor never shows a false drop or spike, across restarts."""

from homeassistant.core import HomeAssistant, State
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from .conftest import CBID, publish

ENERGY = f"sensor.chargestorm_{CBID.lower()}_evse_1_energy"


def energy_kwh(hass: HomeAssistant) -> float:
    """Return the energy sensor's state."""
    state = hass.states.get(ENERGY)
    assert state is not None
    return float(state.state)


async def test_glitch_to_zero_is_not_shown(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A single 0 reading, or a dip, leaves the total alone."""
    await publish(hass, "evse1", "em", {"energy": 20218145})
    await publish(hass, "evse1", "em", {"energy": 0})
    assert energy_kwh(hass) == pytest.approx(20218.145)
    await publish(hass, "evse1", "em", {"energy": 20218000})
    assert energy_kwh(hass) == pytest.approx(20218.145)
    await publish(hass, "evse1", "em", {"energy": 20218170})
    assert energy_kwh(hass) == pytest.approx(20218.170)


async def test_replaced_meter_is_taken_on(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A lower reading that persists for three messages is a new meter."""
    await publish(hass, "evse1", "em", {"energy": 20218145})
    for reading in (10, 20):
        await publish(hass, "evse1", "em", {"energy": reading})
        assert energy_kwh(hass) == pytest.approx(20218.145)
    await publish(hass, "evse1", "em", {"energy": 30})
    assert energy_kwh(hass) == pytest.approx(0.030)


async def test_restored_total_guards_the_first_reading(
    hass: HomeAssistant, mqtt_mock: object, mock_config_entry: MockConfigEntry
) -> None:
    """After a restart, a first reading of 0 cannot reset the total."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(ENERGY, "20218.145"),
                {"native_value": 20218145.0, "native_unit_of_measurement": "Wh"},
            )
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await publish(hass, "evse1", "em", {"energy": 0})
    assert energy_kwh(hass) == pytest.approx(20218.145)
    await publish(hass, "evse1", "em", {"energy": 20218200})
    assert energy_kwh(hass) == pytest.approx(20218.2)
