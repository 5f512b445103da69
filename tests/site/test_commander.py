"""How set-points reach a connector, whatever it can do."""

import asyncio
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.control import CurrentRange
from custom_components.evse_bridge.api.errors import ChargerConnectionError
from custom_components.evse_bridge.hub import ConnectorRef
from custom_components.evse_bridge.site.commander import Commander

from .conftest import SERIAL, FakeControl

REF = ConnectorRef(SERIAL, 1)


@pytest.fixture
def commander(hass: HomeAssistant, site_entry: MockConfigEntry) -> Commander:
    """Return a commander for the fake connector."""
    return Commander(hass, site_entry, REF)


async def test_zero_amperes_where_the_charger_takes_it(
    hass: HomeAssistant, control: FakeControl, commander: Commander
) -> None:
    """A charger whose 0 A limit pauses gets 0 A."""
    control.range = CurrentRange(min_a=6, max_a=16, zero_pauses=True)
    commander.submit(0)
    await hass.async_block_till_done()
    assert control.commands == [("limit", 0)]
    commander.submit(0)
    await hass.async_block_till_done()
    assert control.commands == [("limit", 0)]


async def test_no_pause_gets_the_least(
    hass: HomeAssistant, control: FakeControl, commander: Commander
) -> None:
    """Neither pause nor 0 A: the minimum; above the maximum: the maximum."""
    control.pause_resume = False
    commander.submit(0)
    await hass.async_block_till_done()
    commander.submit(40)
    await hass.async_block_till_done()
    assert control.commands == [("limit", 6), ("limit", 16)]


async def test_no_current_limit(
    hass: HomeAssistant,
    control: FakeControl,
    commander: Commander,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connector without a current limit can be paused, not set; that is logged."""
    control.range = None
    with caplog.at_level(logging.WARNING):
        commander.submit(0)
        await hass.async_block_till_done()
        commander.submit(10)
        await hass.async_block_till_done()
    assert control.commands == [("enabled", 0)]
    assert "has no current limit" in caplog.text
    assert commander.failed


async def test_newest_set_point_wins(
    hass: HomeAssistant, control: FakeControl, commander: Commander
) -> None:
    """While a command is on its way, later set-points wait; only the newest goes."""
    control.gate = asyncio.Event()
    commander.submit(16)
    await asyncio.sleep(0)
    commander.submit(10)
    commander.submit(8)
    control.gate.set()
    await hass.async_block_till_done()
    assert control.commands == [("limit", 16), ("limit", 8)]
    assert commander.sent == 8


async def test_charger_not_loaded(
    hass: HomeAssistant, control: FakeControl, commander: Commander
) -> None:
    """Nothing is sent to a charger that is not loaded."""
    control.unregister()
    commander.submit(10)
    await hass.async_block_till_done()
    assert commander.sent is None


async def test_fall_back_on_stop(
    hass: HomeAssistant,
    control: FakeControl,
    commander: Commander,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At a stop only a connector that may be above the fallback is commanded."""
    commander.submit(6)
    await hass.async_block_till_done()
    await commander.async_fall_back(6)
    assert control.commands == [("limit", 6)]
    control.fail = ChargerConnectionError("gone")
    with caplog.at_level(logging.WARNING):
        await commander.async_fall_back(0)
    assert "on stop: gone" in caplog.text
    control.unregister()
    await commander.async_fall_back(0)
    assert control.commands == [("limit", 6)]


async def test_a_set_point_the_connector_left_goes_out_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    commander: Commander,
) -> None:
    """A paused connector that shows 10 A or charging again gets its pause again."""
    control.range = CurrentRange(min_a=6, max_a=16, zero_pauses=True)
    commander.submit(0)
    await hass.async_block_till_done()
    control.coordinator.change(current_limit_a=10.0)
    commander.submit(0)  # too soon after the command
    freezer.tick(16)
    commander.submit(0)
    await hass.async_block_till_done()
    assert control.commands == [("limit", 0), ("limit", 0)]
    # A running connector someone paused is resumed.
    control.range = CurrentRange(min_a=6, max_a=16)
    commander.submit(8)
    await hass.async_block_till_done()
    control.coordinator.change(charging_enabled=False)
    freezer.tick(16)
    commander.submit(8)
    await hass.async_block_till_done()
    assert control.commands[2:] == [("limit", 8), ("limit", 8), ("enabled", 1)]
    # Nothing is sent to a charger that is gone.
    control.unregister()
    freezer.tick(16)
    commander.submit(8)
    await hass.async_block_till_done()
    assert len(control.commands) == 5
