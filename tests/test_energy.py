"""The energy sensor never shows a false drop or spike, across restarts."""

from typing import Any

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.evse_bridge.const import DOMAIN
from custom_components.evse_bridge.energy import energy_store_key

from .conftest import CBID, publish

ENERGY = f"sensor.chargestorm_{CBID.lower()}_evse_1_energy"


def energy_kwh(hass: HomeAssistant) -> float | None:
    """Return the energy sensor's state, None while unknown."""
    state = hass.states.get(ENERGY)
    assert state is not None
    return None if state.state == "unknown" else float(state.state)


async def publish_energy(hass: HomeAssistant, *readings: float) -> None:
    """Publish meter reports of EVSE 1, one per reading."""
    for reading in readings:
        await publish(hass, "evse1", "em", {"energy": reading})


async def test_first_reading_is_shown_once_confirmed(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A lone first reading could be a glitch: the next report confirms it."""
    await publish_energy(hass, 20218145)
    assert energy_kwh(hass) is None
    await publish_energy(hass, 20218150)
    assert energy_kwh(hass) == pytest.approx(20218.150)


async def test_glitch_to_zero_and_dip_are_not_shown(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Zeros and a dip leave the total alone; the meter's next rise counts."""
    await publish_energy(hass, 20218145, 20218145, 0, 0, 0, 20218000)
    assert energy_kwh(hass) == pytest.approx(20218.145)
    await publish_energy(hass, 20218170)
    assert energy_kwh(hass) == pytest.approx(20218.170)


async def test_replaced_meter_counts_on_top(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A new meter adds what it measures to the total; its reading is not shown."""
    await publish_energy(hass, 20218145, 20218145, 10, 10, 20)
    assert energy_kwh(hass) == pytest.approx(20218.155)
    await publish_energy(hass, 30)
    assert energy_kwh(hass) == pytest.approx(20218.165)


async def test_total_survives_a_reload_and_guards_the_first_reading(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """After a reload, a first reading of 0 cannot reset the total."""
    await publish_energy(hass, 20218145, 20218145)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await publish_energy(hass, 0)
    assert energy_kwh(hass) == pytest.approx(20218.145)
    await publish_energy(hass, 20218200)
    assert energy_kwh(hass) == pytest.approx(20218.2)


async def test_total_of_an_earlier_version_is_taken_over(
    hass: HomeAssistant, mqtt_mock: object, mock_config_entry: MockConfigEntry
) -> None:
    """The total an earlier version kept in the sensor guards the first readings."""
    mock_config_entry.add_to_hass(hass)
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{CBID}_evse1_energy",
        config_entry=mock_config_entry,
        suggested_object_id=ENERGY.removeprefix("sensor."),
    )
    # As the earlier version left it: shown in kWh.
    registry.async_update_entity_options(
        ENERGY, "sensor.private", {"suggested_unit_of_measurement": "kWh"}
    )
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(ENERGY, "20218.145"),
                {"native_value": 20218145.0, "native_unit_of_measurement": "Wh"},
            )
        ],
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await publish_energy(hass, 0)
    assert energy_kwh(hass) == pytest.approx(20218.145)
    await publish_energy(hass, 20218200)
    assert energy_kwh(hass) == pytest.approx(20218.2)


async def test_deleting_the_entry_deletes_its_totals(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Nothing of a deleted charger stays behind in storage."""
    await publish_energy(hass, 20218145, 20218145)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    key = energy_store_key(init_integration.entry_id)
    assert key in hass_storage
    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
