"""Tests for the CTEK push coordinator: availability, logging, dynamic parts."""

from datetime import timedelta
from unittest.mock import Mock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.mqtt import MQTT_CONNECTION_STATE
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.evse_bridge.api.ctek import MAX_PARTS
from custom_components.evse_bridge.const import LOGGER
from custom_components.evse_bridge.coordinator import PartListener

from .conftest import CBID, ctek_payload, publish, publish_documented_burst

POWER = f"sensor.chargestorm_{CBID.lower()}_evse_1_power"
ENERGY = f"sensor.chargestorm_{CBID.lower()}_evse_1_energy"
STATUS = f"sensor.chargestorm_{CBID.lower()}_evse_1_status"
MAIN_POWER = f"sensor.chargestorm_{CBID.lower()}_main_meter_power"


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None
    return current.state


async def test_part_goes_unavailable_when_silent_and_recovers(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A part that stops publishing goes unavailable once, then comes back."""
    await publish_documented_burst(hass)
    freezer.tick(timedelta(seconds=60))
    await publish(hass, "mainMeter", "em", {"energy": 20218200, "power": 10})
    freezer.tick(timedelta(seconds=65))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, POWER) == STATE_UNAVAILABLE
    assert state(hass, MAIN_POWER) == "10.0"
    for _ in range(5):
        freezer.tick(timedelta(seconds=10))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert caplog.text.count("evse1 of charger") == 1
    await publish(hass, "evse1", "em", {"energy": 3105100, "power": 500})
    assert state(hass, POWER) == "500.0"
    assert "evse1 of charger 91728M03W4010406 is publishing again" in caplog.text


async def test_part_back_with_the_same_values_is_available_again(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Values that did not change while a part was silent show again too."""
    await publish_documented_burst(hass)
    freezer.tick(timedelta(seconds=125))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert {state(hass, entity) for entity in (POWER, ENERGY, STATUS)} == {
        STATE_UNAVAILABLE
    }
    await publish(hass, "evse1", "em", ctek_payload("em_evse1.json"))
    assert state(hass, POWER) == "11012.4"
    assert float(state(hass, ENERGY)) == pytest.approx(3105.042)
    assert state(hass, STATUS) == "charging"


async def test_listeners_hear_only_the_fields_they_read(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A message reaches the listeners of the fields it changed, and no other."""
    await publish_documented_burst(hass)
    coordinator = init_integration.runtime_data.coordinator
    power, energy, status, anything = Mock(), Mock(), Mock(), Mock()
    coordinator.async_add_listener(power, PartListener("evse1", {"meter.power_w"}))
    coordinator.async_add_listener(energy, PartListener("evse1", {"meter.energy_wh"}))
    coordinator.async_add_listener(status, PartListener("evse1", {"connector.status"}))
    coordinator.async_add_listener(anything, PartListener("evse1", None))
    await publish(hass, "evse1", "em", {"energy": 3105042, "power": 7})
    assert (power.call_count, energy.call_count, status.call_count) == (1, 0, 0)
    await publish(hass, "evse1", "status", {"assigned": 16, "state": "PAUS"})
    await publish(hass, "mainMeter", "em", {"energy": 20218145, "power": 7})
    assert (power.call_count, energy.call_count, status.call_count) == (1, 0, 1)
    assert anything.call_count == 2
    assert state(hass, STATUS) == "suspended_evse"


async def test_mqtt_disconnect_makes_everything_unavailable(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the broker nothing is current; with it back, data is."""
    await publish_documented_burst(hass)
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    await hass.async_block_till_done()
    assert state(hass, POWER) == STATE_UNAVAILABLE
    assert state(hass, MAIN_POWER) == STATE_UNAVAILABLE
    assert caplog.text.count("MQTT is disconnected") == 1
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done()
    assert state(hass, POWER) == "11012.4"
    assert "MQTT is connected again" in caplog.text


async def test_unusable_messages_logged_once_and_ignored(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Garbage is logged once per topic, changes nothing, and recovery is noted."""
    await publish_documented_burst(hass)
    for payload in ("", '{"energy": 31', "nonsense", "[]"):
        await publish(hass, "evse1", "em", payload)
    assert caplog.text.count("Ignoring unusable message") == 1
    assert state(hass, POWER) == "11012.4"
    await publish(hass, "evse1", "em", {"energy": 3105100, "power": 42})
    assert state(hass, POWER) == "42.0"
    assert "Usable messages again" in caplog.text


async def test_meters_that_appear_later_get_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A new EVSE (evse3) gets its device and entities when it first publishes."""
    await publish_documented_burst(hass)
    assert hass.states.get(f"sensor.chargestorm_{CBID.lower()}_evse_3_power") is None
    await publish(hass, "evse3", "em", {"energy": 10, "power": 3700})
    assert state(hass, f"sensor.chargestorm_{CBID.lower()}_evse_3_power") == "3700.0"


async def test_value_first_reported_later_gets_entity(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A meter whose power is nan at first gets the power sensor once it reports."""
    await publish(hass, "evse2", "em", '{"energy": 10, "power": nan}')
    entity_id = f"sensor.chargestorm_{CBID.lower()}_evse_2_power"
    assert hass.states.get(entity_id) is None
    await publish(hass, "evse2", "em", '{"energy": 10, "power": 1.5}')
    assert state(hass, entity_id) == "1.5"


async def test_old_retained_message_does_not_look_alive(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A retained message from long ago shows data as unavailable."""
    old = (dt_util.utcnow() - timedelta(hours=2)).isoformat()
    await publish(
        hass, "evse1", "em", {"energy": 1, "power": 9, "timestamp": old}, retain=True
    )
    assert state(hass, POWER) == STATE_UNAVAILABLE
    await publish(hass, "evse1", "em", {"energy": 2, "power": 10})
    assert state(hass, POWER) == "10.0"


async def test_recent_retained_message_is_current(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A retained message with a recent time stamp is shown as current."""
    recent = (dt_util.utcnow() - timedelta(seconds=5)).isoformat()
    await publish(
        hass, "evse1", "em", {"energy": 1, "power": 9, "timestamp": recent}, retain=True
    )
    assert state(hass, POWER) == "9.0"


async def test_retained_message_without_time_stamp_is_stale(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A retained message of unknown age does not make the charger look alive."""
    await publish(hass, "evse1", "em", {"energy": 1, "power": 9}, retain=True)
    assert state(hass, POWER) == STATE_UNAVAILABLE


async def test_late_serial_number_reaches_the_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A serial number that arrives after the meter data reaches the device."""
    await publish(hass, "mainMeter", "em", {"energy": 1})
    await publish(hass, "mainMeter", "meterinfo", {"serialno": "ABC123"})
    device = device_registry.async_get_device_by_identifier(
        ("evse_bridge", f"{CBID}_mainMeter"), init_integration.entry_id
    )
    assert device is not None
    assert device.serial_number == "ABC123"
    assert device.name == f"Chargestorm {CBID} main meter"


async def test_other_chargers_are_ignored(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Messages of another charger on the same broker change nothing here."""
    async_fire_mqtt_message(hass, "CTEK/OTHER/evse1/em", '{"energy": 5, "power": 1}')
    await hass.async_block_till_done()
    assert hass.states.get(POWER) is None


async def test_part_serials(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A part's latest serial number is shown; unknown kinds change nothing."""
    await publish(hass, "evse3", "meterinfo", {"serialno": "OLD"})
    await publish(hass, "evse3", "meterinfo", {"serialno": 4711})
    await publish(hass, "evse3", "em", {"energy": 5})
    await publish(hass, "evse3", "em", {"energy": 5})
    await publish(hass, "evse3", "unknown", {"energy": 6})
    device = device_registry.async_get_device_by_identifier(
        ("evse_bridge", f"{CBID}_evse3"), init_integration.entry_id
    )
    assert device is not None
    assert device.name == f"Chargestorm {CBID} EVSE 3"
    assert device.serial_number == "4711"
    state = hass.states.get(f"sensor.chargestorm_{CBID.lower()}_evse_3_energy")
    assert state is not None
    assert state.state == "0.005"


async def test_strangers_cannot_add_devices_or_flood_the_log(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Messages under invented part names, or for too many parts, add nothing.

    Whatever is published under the charger's topic, the devices, the
    remembered bad topics and the warnings stay bounded.
    """
    for number in range(300):
        await publish(hass, f"meter{number}", "em", {"energy": 1, "power": 1})
        await publish(hass, f"evse{number}", "em", "not json")
        await publish(hass, f"evse{number}", "em", {"energy": 1, "power": 1})
    devices = dr.async_entries_for_config_entry(
        device_registry, init_integration.entry_id
    )
    # The charger itself and at most MAX_PARTS parts, all of them EVSEs.
    assert len(devices) == 1 + MAX_PARTS
    part_ids = {
        identifier.removeprefix(f"{CBID}_")
        for device in devices
        for _, identifier in device.identifiers
        if identifier != CBID
    }
    assert part_ids == {f"evse{number}" for number in range(1, MAX_PARTS + 1)}
    coordinator = init_integration.runtime_data.coordinator
    assert len(coordinator._bad_topics) <= 3 * MAX_PARTS
    warnings = [
        record
        for record in caplog.records
        if record.levelname == "WARNING" and record.name.startswith(LOGGER.name)
    ]
    assert len(warnings) <= 3 * MAX_PARTS + 1
    assert all(len(record.getMessage()) < 300 for record in warnings)


async def test_a_failing_listener_does_not_stop_the_others(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error in one entity's update is logged; the other entities update."""
    await publish_documented_burst(hass)
    coordinator = init_integration.runtime_data.coordinator

    def broken() -> None:
        raise RuntimeError

    coordinator.async_add_listener(broken, PartListener("evse1", None))
    await publish(hass, "evse1", "em", {"energy": 3105100, "power": 77})
    assert state(hass, POWER) == "77.0"
    assert "Error updating an entity of evse1" in caplog.text
