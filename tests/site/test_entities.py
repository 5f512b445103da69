"""The entities of a managed connector: the owner's choices and the site's answers."""

from datetime import UTC, datetime
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.control import CurrentRange
from custom_components.evse_bridge.api.model import ChargerInfo
from custom_components.evse_bridge.const import DOMAIN
from custom_components.evse_bridge.hub import ChargerHandle, async_get_hub
from custom_components.evse_bridge.smart import PriceSlot

from .conftest import SERIAL, FakeControl, set_meter
from .helpers import car_amps, run, state

PREFIX = "garage_connector_1"
MODE = f"select.{PREFIX}_smart_charging"
TARGET = f"number.{PREFIX}_target_energy"
READY_BY = f"time.{PREFIX}_ready_by"
REASON = f"sensor.{PREFIX}_smart_charging_reason"
PLAN = f"sensor.{PREFIX}_planned_start"
START = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)


def hour(at: int) -> float:
    """Return hour ``at`` after START's midnight, as a timestamp."""
    return START.replace(hour=0).timestamp() + at * 3600


# Expensive all night but for 03:00-05:00.
PRICES = tuple(
    PriceSlot(
        start=hour(h),
        end=hour(h + 1),
        import_price=0.1 if h in (27, 28) else 1.5,
        export_price=0.05,
    )
    for h in range(20, 32)
)


async def load(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Load the site, the meter at 2 A a phase."""
    set_meter(hass, 2.0, 2.0, 2.0)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_entities_sit_on_the_connector_device(
    hass: HomeAssistant, control: FakeControl, site_entry: MockConfigEntry
) -> None:
    """Each entity is on the charger's connector device, with a stable unique id."""
    await load(hass, site_entry)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{SERIAL}_connector1"), control.coordinator.config_entry.entry_id
    )
    assert device is not None
    entities = [
        entity
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), site_entry.entry_id
        )
        if entity.entity_id != "sensor.home_fuse_headroom"
    ]
    assert sorted(entity.entity_id for entity in entities) == sorted(
        [
            MODE,
            TARGET,
            READY_BY,
            REASON,
            PLAN,
            f"binary_sensor.{PREFIX}_fuse_guard_active",
        ]
    )
    assert {entity.device_id for entity in entities} == {device.id}
    assert state(hass, MODE).state == "fast"
    assert state(hass, TARGET).state == "0.0"
    assert state(hass, READY_BY).state == "07:00:00"


async def test_cheapest_mode_plans_the_cheap_hours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Target, ready-by and prices give a plan that waits for the cheap hours."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(START)
    hass.config_entries.async_update_entry(
        site_entry, options={**site_entry.options, "price": "sensor.price"}
    )
    with patch(
        "custom_components.evse_bridge.site.controller.async_read_prices",
        return_value=PRICES,
    ):
        await load(hass, site_entry)
        for domain, service, entity_id, data in (
            ("number", "set_value", TARGET, {"value": 10}),
            ("time", "set_value", READY_BY, {"time": "07:00:00"}),
            ("select", "select_option", MODE, {"option": "cheapest"}),
        ):
            await hass.services.async_call(
                domain, service, {"entity_id": entity_id, **data}, blocking=True
            )
        await run(hass, freezer, control, 60)
        plan = state(hass, PLAN)
        assert plan.state == "2026-12-03T03:00:00+00:00"
        # The plan, mode and target survive a restart.
        assert await hass.config_entries.async_reload(site_entry.entry_id)
        await hass.async_block_till_done()
        assert state(hass, PLAN).state == "2026-12-03T03:00:00+00:00"
        assert state(hass, MODE).state == "cheapest"
    assert plan.attributes["slots"][0]["start"] == "2026-12-03T03:00:00+00:00"
    assert plan.attributes["expected_cost"] == pytest.approx(1.0, abs=0.1)
    assert plan.attributes["feasible"] is True
    assert state(hass, REASON).state == "waiting_for_slot"
    assert car_amps(control) == 0
    assert state(hass, TARGET).state == "10.0"


async def test_window_mode_waits_for_the_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Window mode charges in the fixed window, 01:00-05:00 (across midnight too)."""
    await hass.config.async_set_time_zone("UTC")
    freezer.move_to(START)
    hass.config_entries.async_update_entry(
        site_entry,
        options={
            **site_entry.options,
            "window_start": "23:00:00",
            "window_end": "05:00:00",
        },
    )
    await load(hass, site_entry)
    await hass.services.async_call(
        "number", "set_value", {"entity_id": TARGET, "value": 10}, blocking=True
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": MODE, "option": "window"},
        blocking=True,
    )
    await run(hass, freezer, control, 60)
    assert state(hass, PLAN).state == "2026-12-02T23:00:00+00:00"
    assert state(hass, REASON).state == "waiting_for_slot"


async def test_choices_survive_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """Target and ready-by come back after a reload."""
    await load(hass, site_entry)
    await hass.services.async_call(
        "number", "set_value", {"entity_id": TARGET, "value": 12.5}, blocking=True
    )
    await hass.services.async_call(
        "time", "set_value", {"entity_id": READY_BY, "time": "06:30:00"}, blocking=True
    )
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, TARGET).state == "12.5"
    assert state(hass, READY_BY).state == "06:30:00"
    controller = site_entry.runtime_data.controller
    assert controller.settings[f"{SERIAL}:1"].target_kwh == 12.5


async def test_the_chargers_limits_are_used(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    site_entry: MockConfigEntry,
) -> None:
    """A charger loaded after the site still gets its own limits (here 10 A)."""
    control.unregister()
    await load(hass, site_entry)
    # Not loaded: its entities wait for it rather than sit on another device.
    assert hass.states.get(MODE) is None
    control.range = CurrentRange(min_a=6, max_a=10)
    async_get_hub(hass).async_register(
        ChargerHandle(
            entry=control.coordinator.config_entry,
            info=ChargerInfo(serial_number=SERIAL, manufacturer="Test"),
            coordinator=control.coordinator,
            control=control,
        )
    )
    await hass.async_block_till_done()
    mode = er.async_get(hass).async_get(MODE)
    assert mode is not None
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{SERIAL}_connector1"), control.coordinator.config_entry.entry_id
    )
    assert device is not None
    assert mode.device_id == device.id
    await run(hass, freezer, control, 120)
    assert car_amps(control) == 10


async def test_entities_come_when_the_connector_device_does(
    hass: HomeAssistant, control: FakeControl, site_entry: MockConfigEntry
) -> None:
    """A charger whose connector device is made after the site loaded gets them."""
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier(
        (DOMAIN, f"{SERIAL}_connector1"), control.coordinator.config_entry.entry_id
    )
    assert device is not None
    registry.async_remove_device(device.id)
    await load(hass, site_entry)
    assert hass.states.get(MODE) is None
    device = registry.async_get_or_create(
        config_entry_id=control.coordinator.config_entry.entry_id,
        identifiers={(DOMAIN, f"{SERIAL}_connector1")},
        name="Garage connector 1",
    )
    await hass.async_block_till_done()
    mode = er.async_get(hass).async_get(MODE)
    assert mode is not None
    assert mode.device_id == device.id
    assert state(hass, MODE).state == "fast"
