"""The Energy dashboard's long-term statistics get no false energy.

These tests run Home Assistant's real recorder and statistics compiler: the
sum they check is what the Energy dashboard adds up.
"""

from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)

from .conftest import CBID, publish

ENERGY = f"sensor.chargestorm_{CBID.lower()}_evse_1_energy"
START = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
PERIOD = timedelta(minutes=5)


async def energy_sum_after(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, readings_wh: list[int]
) -> float:
    """Publish one reading per 5-minute period; return the compiled sum in kWh."""
    for index, reading in enumerate(readings_wh):
        freezer.move_to(START + index * PERIOD + timedelta(seconds=30))
        await publish(hass, "evse1", "em", {"energy": reading, "power": 1000})
        await async_wait_recording_done(hass)
    freezer.move_to(START + len(readings_wh) * PERIOD + timedelta(seconds=30))
    for index in range(len(readings_wh)):
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
async def test_glitches_add_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A reading of 0 and a dip, each for one message, leave the sum exact."""
    total = await energy_sum_after(
        hass, freezer, [20_218_145, 0, 20_218_645, 20_218_000, 20_219_145]
    )
    assert total == pytest.approx(1.0)


@pytest.mark.usefixtures("charger")
async def test_without_glitches_same_sum(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The same energy without glitches gives the same sum (the reference)."""
    total = await energy_sum_after(hass, freezer, [20_218_145, 20_218_645, 20_219_145])
    assert total == pytest.approx(1.0)


@pytest.mark.usefixtures("charger")
async def test_replaced_meter_counts_from_zero(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A new meter is taken on after three readings and counted from 0."""
    total = await energy_sum_after(
        hass, freezer, [20_218_145, 20_218_645, 10, 20, 30, 40]
    )
    assert total == pytest.approx(0.5 + 0.040)
