"""The Energy dashboard's long-term statistics get no false energy.

These tests run Home Assistant's real recorder and statistics compiler: the
sum they check is what the Energy dashboard adds up. Each pattern is fed once
straight and once with Home Assistant's entry reloaded in the middle of it
(the stored totals are written at unload and read at set-up, as at a restart).
"""

from dataclasses import replace
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import validate_statistics
from homeassistant.const import Platform, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.evse_bridge import sensor

from .conftest import CBID, Vendor, only_platforms, publish

ENERGY = f"sensor.chargestorm_{CBID.lower()}_evse_1_energy"
START = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
PERIOD = timedelta(minutes=5)
R = 10_000_000  # a 10 MWh register

# One entry per 5-minute period: an energy payload, or None for no message;
# the period before which the entry is reloaded (in the glitch, the outage or
# the new meter's confirmation); the energy delivered in kWh. The first
# reading is shown once the second confirms it: the sum counts from there.
type Readings = list[str | int | None]
PATTERNS: dict[str, tuple[Readings, int, float]] = {
    "zeros": ([R, R + 100, 0, 0, 0, R + 200, R + 300, R + 400], 4, 0.3),
    "huge values": ([R, R + 100, *[int(1e12)] * 3, R + 200], 4, 0.1),
    "absurd values in range": ([R, R + 100, *[int(5e9)] * 3, R + 200], 4, 0.1),
    "negative and infinite": ([R, R + 100, -5, "inf", "-inf", "nan", R + 200], 4, 0.1),
    "dip": ([R, R + 100, R + 50, R + 50, R + 50, R + 150], 4, 0.05),
    "long outage": ([R, R + 100, *[None] * 24, R + 20_100, R + 20_200], 27, 20.1),
    "lone spike after an outage": (
        [R, R + 100, *[None] * 24, R + 40_000, R + 10_100, R + 10_200, R + 10_300],
        27,
        10.2,
    ),
    # Swapped with the charger off: the new meter reads 5 Wh, then charges.
    "replaced meter": ([R, R + 100, 5, 5, 5, 105, 205, 305], 5, 0.3),
}


async def energy_sum_after(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    readings: Readings,
    reload_at: int | None,
) -> float:
    """Publish one reading per 5-minute period; return the compiled sum in kWh."""
    for index, reading in enumerate(readings):
        freezer.move_to(START + index * PERIOD + timedelta(seconds=30))
        if index == reload_at:
            assert await hass.config_entries.async_reload(entry.entry_id)
        if reading is not None:
            await publish(hass, "evse1", "em", f'{{"energy": {reading}, "power": 1}}')
        await async_wait_recording_done(hass)
    freezer.move_to(START + len(readings) * PERIOD + timedelta(seconds=30))
    for index in range(len(readings)):
        do_adhoc_statistics(hass, start=START + index * PERIOD)
    await async_wait_recording_done(hass)
    statistics = await hass.async_add_executor_job(
        lambda: statistics_during_period(
            hass, START, None, {ENERGY}, "5minute", None, {"sum"}
        )
    )
    return float(statistics[ENERGY][-1]["sum"])


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_db_url: str, enable_custom_integrations: None
) -> None:
    """Prepare the recorder's database before Home Assistant starts."""


@pytest.fixture
async def charger(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
) -> None:
    """Set the charger up with the recorder running."""
    freezer.move_to(START)


@pytest.mark.usefixtures("charger")
@pytest.mark.parametrize("reload", [False, True], ids=["straight", "reloaded"])
@pytest.mark.parametrize("pattern", PATTERNS)
async def test_sum_is_the_energy_delivered(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    pattern: str,
    reload: bool,
) -> None:
    """Whatever the meter sends, the long-term sum is what was delivered."""
    readings, reload_at, delivered_kwh = PATTERNS[pattern]
    total = await energy_sum_after(
        hass, freezer, init_integration, readings, reload_at if reload else None
    )
    assert total == pytest.approx(delivered_kwh)


# The energy sensor as versions up to 0.1.0 described it: in Wh, shown in kWh.
WH_ENERGY = replace(
    sensor.METER_SENSORS[0],
    native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
    suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    value_fn=lambda part: None if part.meter is None else part.meter.energy_wh,
)


async def publish_periods(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, readings: dict[int, int]
) -> None:
    """Publish one reading per 5-minute period; compile each period's statistics."""
    for index, reading in readings.items():
        freezer.move_to(START + index * PERIOD + timedelta(seconds=30))
        await publish(hass, "evse1", "em", f'{{"energy": {reading}, "power": 1}}')
        await async_wait_recording_done(hass)
        freezer.move_to(START + (index + 1) * PERIOD + timedelta(seconds=30))
        do_adhoc_statistics(hass, start=START + index * PERIOD)
        await async_wait_recording_done(hass)


@pytest.mark.parametrize(
    ("shown_in", "delivered"),
    [(None, 0.5), (UnitOfEnergy.WATT_HOUR, 500)],
    ids=["kwh", "wh chosen by the user"],
)
async def test_statistics_continue_after_the_energy_unit_changed(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mqtt_mock: MqttMockHAClient,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    shown_in: UnitOfEnergy | None,
    delivered: float,
) -> None:
    """An install whose energy sensor counted in Wh keeps its statistics going.

    The sensor's own unit became kWh. Whether the user kept the kWh it was
    shown in or chose Wh, the sum goes on in that unit without a jump after
    the update, and the recorder finds nothing wrong with the statistics.
    """
    freezer.move_to(START)
    mock_config_entry.add_to_hass(hass)
    entry_id = mock_config_entry.entry_id
    readings = {index: R + 100 * index for index in range(7)}
    with only_platforms(Vendor.CTEK, [Platform.SENSOR]):
        with patch.object(sensor, "SENSORS", (WH_ENERGY, *sensor.SENSORS[1:])):
            assert await hass.config_entries.async_setup(entry_id)
            await publish_periods(hass, freezer, {0: readings.pop(0)})
            if shown_in is not None:
                entity_registry.async_update_entity_options(
                    ENERGY, "sensor", {"unit_of_measurement": shown_in}
                )
            await publish_periods(hass, freezer, {1: readings.pop(1)})
            await publish_periods(hass, freezer, {2: readings.pop(2)})
            assert await hass.config_entries.async_unload(entry_id)
        # The update, as Home Assistant restarts with it.
        assert await hass.config_entries.async_setup(entry_id)
        await publish_periods(hass, freezer, readings)
    state = hass.states.get(ENERGY)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == (shown_in or "kWh")
    statistics = await hass.async_add_executor_job(
        lambda: statistics_during_period(
            hass, START, None, {ENERGY}, "5minute", None, {"sum"}
        )
    )
    # From the first reading shown (the second, which confirms it), 100 Wh a
    # period, with the update after the third.
    assert [row["sum"] for row in statistics[ENERGY]] == pytest.approx(
        [delivered / 5 * index for index in range(6)]
    )
    issues = await hass.async_add_executor_job(validate_statistics, hass)
    assert not issues
