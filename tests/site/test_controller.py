"""The site controller: the guard acts on each meter sample through the hub."""

import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.errors import ChargerConnectionError

from .conftest import KEY, FakeControl, set_meter
from .helpers import car_amps, run, silence, state

REASON = "sensor.garage_connector_1_smart_charging_reason"
GUARD = "binary_sensor.garage_connector_1_fuse_guard_active"
HEADROOM = "sensor.home_fuse_headroom"


async def setup_site(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Load the site with the meter at 2 A a phase."""
    set_meter(hass, 2.0, 2.0, 2.0)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_charges_then_reduces_when_the_oven_starts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Fast mode reaches the charger's maximum; an oven on L3 cuts it at once."""
    await setup_site(hass, site_entry)
    # Right after a start the meter is not trusted yet: paused.
    assert control.commands == [("enabled", 0)]
    await run(hass, freezer, control, 120)
    assert car_amps(control) == 16
    assert state(hass, REASON).state == "charging"
    assert state(hass, GUARD).state == "off"
    assert state(hass, HEADROOM).state == "2.0"

    control.commands.clear()
    await run(hass, freezer, control, 1, house=(2.0, 2.0, 12.0))
    # 20 A fuse, 0.5 A margin, 12 A of house on L3: 7 A is left for the car.
    assert control.commands == [("limit", 7)]
    reason = state(hass, REASON)
    assert reason.state == "fuse_limited"
    assert reason.attributes["phase"] == "L3"
    assert reason.attributes["limit_a"] == 20
    assert state(hass, GUARD).state == "on"
    await run(hass, freezer, control, 1, house=(2.0, 2.0, 12.0))
    assert state(hass, HEADROOM).state == "1.0"


async def test_silent_meter_pauses_within_one_cycle(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """No meter sample for 10 s: the timer notices and the charger pauses."""
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    control.commands.clear()
    await silence(hass, freezer, 9)
    assert control.commands == []
    await silence(hass, freezer, 6)
    assert control.commands == [("enabled", 0)]
    assert state(hass, REASON).state == "meter_stale"
    assert state(hass, GUARD).state == "on"
    assert state(hass, HEADROOM).state == "unknown"
    # Back with current: the limit goes out, then charging resumes.
    control.commands.clear()
    await run(hass, freezer, control, 120)
    assert control.commands[-2:] == [("limit", 16), ("enabled", 1)]


async def test_safe_current_fallback(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """With the safe-current fallback a silent meter brings the car down to it."""
    hass.config_entries.async_update_entry(
        site_entry,
        options={**site_entry.options, "fallback": "safe_current"},
    )
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    control.commands.clear()
    await silence(hass, freezer, 15)
    assert control.commands == [("limit", 6)]
    assert state(hass, REASON).attributes["limit_a"] == 6


async def test_command_errors_are_logged_once_and_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A charger that refuses is asked again later, and the log says so once."""
    control.fail = ChargerConnectionError("unreachable")
    with caplog.at_level(logging.WARNING):
        await setup_site(hass, site_entry)
        await run(hass, freezer, control, 40)
    assert caplog.text.count("Could not set Garage connector 1 to 0 A") == 1
    control.fail = None
    await run(hass, freezer, control, 30)
    assert control.commands == [("enabled", 0)]
    assert "takes commands again" in caplog.text


async def test_state_survives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Mode and the engine's state come back after the entry reloads."""
    await setup_site(hass, site_entry)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_connector_1_smart_charging", "option": "off"},
        blocking=True,
    )
    await run(hass, freezer, control, 5)
    assert state(hass, REASON).state == "off"
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    await run(hass, freezer, control, 5)
    assert state(hass, "select.garage_connector_1_smart_charging").state == "off"
    assert state(hass, REASON).state == "off"


async def test_a_connector_without_a_meter_counts_what_it_offers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Without the car's current, the offered current is taken as drawn.

    Otherwise the car's own 16 A would look like house load and cut itself.
    """
    control.coordinator.metered = False
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    assert car_amps(control) == 16
    control.commands.clear()
    await run(hass, freezer, control, 10)
    assert control.commands == []
    # A charger leaving the hub with the engine's default limits (6-16 A)
    # leaves the engine as it is.
    engine = site_entry.runtime_data.controller.engine
    control.unregister()
    await run(hass, freezer, control, 1)
    assert site_entry.runtime_data.controller.engine is engine


async def test_home_assistant_stopping_leaves_the_fallback(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """At Home Assistant's stop a charging car is paused: nothing guards it then."""
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    control.commands.clear()
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert control.commands == [("enabled", 0)]


async def test_state_is_stored_and_removed_with_the_site(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """The engine's state is written at unload and deleted with the site."""
    await setup_site(hass, site_entry)
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    key = f"evse_bridge.site.{site_entry.entry_id}"
    assert KEY in hass_storage[key]["data"]["chargers"]
    assert await hass.config_entries.async_remove(site_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_a_polled_charger_is_not_cut_right_after_a_resume(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """The meter sees the resumed car before the charger's next poll does.

    Until the charger reports the car's current again, the site counts the
    current it commanded, not the stale 0 A, so it does not pause the car
    for its own load.
    """
    control.coordinator.poll_s = 10
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    assert car_amps(control) == 16
    # The oven pauses the car; once it is off the car is resumed.
    await run(hass, freezer, control, 3, house=(2.0, 2.0, 16.0))
    assert car_amps(control) == 0
    control.commands.clear()
    await run(hass, freezer, control, 150)
    assert control.commands[:2] == [("limit", 16), ("enabled", 1)]
    assert ("enabled", 0) not in control.commands
    assert car_amps(control) == 16
    assert state(hass, REASON).state == "charging"


async def test_a_set_point_the_charger_left_is_sent_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Someone sets the charger's limit in its app: the site puts its own back.

    Once, not on every meter sample, and the log says so once.
    """
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    assert car_amps(control) == 16
    control.commands.clear()
    with caplog.at_level(logging.WARNING):
        control.coordinator.change(current_limit_a=10.0)
        await run(hass, freezer, control, 20)
        assert control.commands == [("limit", 16)]
        assert car_amps(control) == 16
        # A box that started on its own during a fuse pause is paused again.
        await run(hass, freezer, control, 3, house=(2.0, 2.0, 16.0))
        assert car_amps(control) == 0
        control.commands.clear()
        control.coordinator.change(charging_enabled=True, current_limit_a=16.0)
        await run(hass, freezer, control, 40, house=(2.0, 2.0, 16.0))
    assert control.commands == [("enabled", 0)]
    assert caplog.text.count("not the site's") == 2


async def test_a_charger_that_ignores_the_set_point_is_not_flooded(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A charger that keeps reporting another limit is asked every 15 s at most."""
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    control.commands.clear()

    async def ignore(connector: int, amps: int) -> None:
        control.commands.append(("limit", amps))
        control.coordinator.change(current_limit_a=10.0)

    control.set_current_limit = ignore  # type: ignore[method-assign]
    control.coordinator.change(current_limit_a=10.0)
    with caplog.at_level(logging.WARNING):
        await run(hass, freezer, control, 60)
    assert 3 <= len(control.commands) <= 5
    assert caplog.text.count("not the site's") == 1


async def test_mode_off_sends_the_charger_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Off is hands off: someone else (evcc) drives the charger, the site keeps out.

    Not when its limit changes, not while the meter is silent, not at a stop.
    """
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_connector_1_smart_charging", "option": "off"},
        blocking=True,
    )
    control.commands.clear()
    control.coordinator.change(current_limit_a=10.0)
    await run(hass, freezer, control, 30)
    control.coordinator.change(charging_enabled=False)
    await run(hass, freezer, control, 30)
    await silence(hass, freezer, 15)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert control.commands == []
    reason = state(hass, REASON)
    assert reason.state == "off"
    assert reason.attributes["detail"] == "Off: not controlled"
    assert reason.attributes["current_a"] is None


async def test_mode_off_yields_to_the_fuse(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """When only a charger in mode off can relieve the fuse, the site pauses it."""
    await setup_site(hass, site_entry)
    await run(hass, freezer, control, 120)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.garage_connector_1_smart_charging", "option": "off"},
        blocking=True,
    )
    control.commands.clear()
    await run(hass, freezer, control, 1, house=(2.0, 2.0, 16.0))
    assert control.commands == [("enabled", 0)]
    assert state(hass, REASON).state == "fuse_paused"
    assert state(hass, GUARD).state == "on"
    await run(hass, freezer, control, 10, house=(2.0, 2.0, 16.0))
    # Then it is left alone again: not resumed when the oven is off.
    await run(hass, freezer, control, 200)
    assert control.commands == [("enabled", 0)]
    assert state(hass, REASON).state == "off"
