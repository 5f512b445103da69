"""Repair issues for meter sensors that are gone, unavailable or too slow."""

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.evse_bridge.const import DOMAIN

from .conftest import METER, FakeControl, set_meter
from .helpers import run


def issues(hass: HomeAssistant) -> set[tuple[str, str]]:
    """Return the open issues as (translation key, sensor)."""
    found = set()
    for issue in ir.async_get(hass).issues.values():
        if issue.domain == DOMAIN and issue.translation_key:
            placeholders = issue.translation_placeholders or {}
            found.add((issue.translation_key, placeholders["entity_id"]))
    return found


async def test_unavailable_sensor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """An unavailable phase sensor raises an issue until it reports again."""
    set_meter(hass, 2.0, 2.0, 2.0)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await run(hass, freezer, control, 61)
    assert issues(hass) == set()
    hass.states.async_set(METER[2], "unavailable")
    await run(hass, freezer, control, 0)
    freezer.tick(timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issues(hass) == {("meter_unavailable", METER[2])}
    await run(hass, freezer, control, 6)
    assert issues(hass) == set()


async def test_slow_sensor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """A meter that reports every 15 s is too slow; fast again clears it."""
    set_meter(hass, 2.0, 2.0, 2.0)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await run(hass, freezer, control, 61)
    for _ in range(7):
        freezer.tick(timedelta(seconds=15))
        set_meter(hass, 2.0, 2.0, 2.0)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert issues(hass) == {("meter_slow", entity_id) for entity_id in METER}
    await run(hass, freezer, control, 10)
    assert issues(hass) == set()
    # Silent for a minute: slow as well.
    for _ in range(13):
        freezer.tick(timedelta(seconds=5))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert issues(hass) == {("meter_slow", entity_id) for entity_id in METER}
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    assert issues(hass) == set()


async def test_missing_sensor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """A sensor that does not exist is reported, once the start is over."""
    set_meter(hass, 2.0, 2.0, 2.0)
    hass.states.async_remove(METER[0])
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await run(hass, freezer, control, 0)
    freezer.tick(timedelta(seconds=55))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert issues(hass) == set()
    freezer.tick(timedelta(seconds=10))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    # The other phases, silent for a minute, are slow as well.
    assert issues(hass) == {
        ("meter_unavailable", METER[0]),
        ("meter_slow", METER[1]),
        ("meter_slow", METER[2]),
    }
