"""Tests for the sensors of a Chargestorm."""

from homeassistant.const import STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from .conftest import CBID, publish, publish_documented_burst


@pytest.fixture
def platforms() -> list[Platform]:
    """Load only the sensor platform."""
    return [Platform.SENSOR]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every sensor of a documented burst, attached to its part's device."""
    await publish_documented_burst(hass)
    entries = er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
    sensors = [entry for entry in entries if entry.domain == "sensor"]
    assert len(sensors) == 9 + 12 + 8
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
    entry_id = init_integration.entry_id
    charger = device_registry.async_get_device_by_identifier(
        ("evse_bridge", CBID), entry_id
    )
    assert charger is not None
    for entry in entries:
        assert entry.device_id is not None
        device = device_registry.async_get(entry.device_id)
        assert isinstance(device, dr.DeviceEntry)
        assert device.via_device_id == charger.id
    evse1 = device_registry.async_get_device_by_identifier(
        ("evse_bridge", f"{CBID}_evse1"), entry_id
    )
    assert evse1 is not None
    assert evse1.serial_number == "272274U"
    assert evse1.name == f"Chargestorm {CBID} EVSE 1"


async def test_defaults_show_the_main_values(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Energy, power and status are on; per-phase values are opt-in."""
    await publish_documented_burst(hass)
    prefix = f"sensor.chargestorm_{CBID.lower()}"
    state = hass.states.get(f"{prefix}_evse_1_energy")
    assert state is not None
    assert float(state.state) == pytest.approx(3105.042)
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert state.attributes["state_class"] == "total_increasing"
    power = hass.states.get(f"{prefix}_evse_1_power")
    assert power is not None
    assert power.state == "11012.4"
    status = hass.states.get(f"{prefix}_evse_1_status")
    assert status is not None
    assert status.state == "charging"
    ctek = hass.states.get(f"{prefix}_evse_1_ctek_state")
    assert ctek is not None
    assert ctek.state == "chrg"
    assert hass.states.get(f"{prefix}_evse_1_current_l1") is None
    main = hass.states.get(f"{prefix}_main_meter_energy")
    assert main is not None
    assert float(main.state) == pytest.approx(20218.145)
    assert hass.states.get(f"{prefix}_main_meter_status") is None


async def test_values_follow_messages(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A new message shows at once; a nan value shows as unknown."""
    await publish_documented_burst(hass)
    entity_id = f"sensor.chargestorm_{CBID.lower()}_evse_1_power"
    await publish(hass, "evse1", "em", '{"energy": 3105100, "power": 7400.5}')
    assert hass.states.get(entity_id).state == "7400.5"  # type: ignore[union-attr]
    await publish(hass, "evse1", "em", '{"energy": 3105100, "power": nan}')
    assert hass.states.get(entity_id).state == STATE_UNKNOWN  # type: ignore[union-attr]


async def test_unknown_state_code_shows_unknown(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An undocumented state code leaves both status sensors unknown."""
    await publish_documented_burst(hass)
    await publish(hass, "evse1", "status", {"assigned": 10, "state": "WHAT"})
    prefix = f"sensor.chargestorm_{CBID.lower()}_evse_1"
    assert hass.states.get(f"{prefix}_status").state == STATE_UNKNOWN  # type: ignore[union-attr]
    assert hass.states.get(f"{prefix}_ctek_state").state == STATE_UNKNOWN  # type: ignore[union-attr]
    assert hass.states.get(f"{prefix}_offered_current").state == "10.0"  # type: ignore[union-attr]
