"""Diagnostics of a site, and the readers it calls."""

from datetime import timedelta
import logging
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.evse_bridge.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.evse_bridge.smart import PriceSlot, PvSlot

from .conftest import KEY, FakeControl, set_meter
from .helpers import run

PRICES = (PriceSlot(start=0.0, end=900.0, import_price=1.0, export_price=0.5),)


async def later(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, *, minutes: int
) -> None:
    """Let time pass a minute at a time."""
    for _ in range(minutes):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


async def test_diagnostics(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Diagnostics show the settings, the decision, the commands and the engine."""
    set_meter(hass, 2.0, 2.0, 2.0)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await run(hass, freezer, control, 3)
    data = await async_get_config_entry_diagnostics(hass, site_entry)
    assert data["entry"]["title"] == "**REDACTED**"
    assert data["settings"][KEY] == {
        "mode": "fast",
        "target_kwh": None,
        "ready_by": "07:00:00",
    }
    assert data["decision"]["meter_fresh"] is False
    assert data["commands"][KEY] == {"wanted": 0, "sent": 0, "failed": False}
    assert data["engine"]["chargers"][KEY]["set_a"] == 0


async def test_forecast_read_and_reader_failure_logged_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reader that fails is logged once and asked every minute until it works."""
    hass.config_entries.async_update_entry(
        site_entry,
        options={**site_entry.options, "price": "sensor.p", "pv_forecast": "sensor.f"},
    )
    forecast = (PvSlot(start=0.0, end=900.0, power_w=1000.0),)
    failing = AsyncMock(side_effect=RuntimeError("broken"))
    with (
        patch(
            "custom_components.evse_bridge.site.controller.async_read_prices", failing
        ),
        patch(
            "custom_components.evse_bridge.site.controller.async_read_pv_forecast",
            AsyncMock(return_value=forecast),
        ),
        caplog.at_level(logging.WARNING),
    ):
        set_meter(hass, 2.0, 2.0, 2.0)
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        await later(hass, freezer, minutes=35)
        # Without prices they are asked for every minute.
        assert failing.await_count >= 35
        assert caplog.text.count("Could not read the prices") == 1
        failing.side_effect = None
        failing.return_value = PRICES
        await later(hass, freezer, minutes=1)
        failing.reset_mock()
        # With prices, only at every quarter hour.
        await later(hass, freezer, minutes=30)
        assert failing.await_count == 2
    controller = site_entry.runtime_data.controller
    assert controller.pv_forecast == forecast
    assert controller.prices == PRICES
