"""Tests for the binary sensors of a Chargestorm EVSE."""

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from .conftest import CBID, publish, publish_documented_burst

PREFIX = f"binary_sensor.chargestorm_{CBID.lower()}_evse_1"


@pytest.fixture
def platforms() -> list[Platform]:
    """Load only the binary sensor platform."""
    return [Platform.BINARY_SENSOR]


async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Each EVSE has three binary sensors; the main meter has none."""
    await publish_documented_burst(hass)
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
    entries = er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
    assert len(entries) == 6


@pytest.mark.parametrize(
    ("code", "connected", "charging", "problem"),
    [
        ("CHRG", STATE_ON, STATE_ON, STATE_OFF),
        ("PAUS", STATE_ON, STATE_OFF, STATE_OFF),
        ("AVAL", STATE_OFF, STATE_OFF, STATE_OFF),
        ("FLTY", STATE_UNKNOWN, STATE_OFF, STATE_ON),
        ("BOGUS", STATE_UNKNOWN, STATE_UNKNOWN, STATE_UNKNOWN),
    ],
)
async def test_states_follow_the_evse(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    code: str,
    connected: str,
    charging: str,
    problem: str,
) -> None:
    """Plugging, charging and faults show as the charger reports them."""
    await publish(hass, "evse1", "status", {"assigned": 0, "state": code})
    assert hass.states.get(f"{PREFIX}_vehicle_connected").state == connected  # type: ignore[union-attr]
    assert hass.states.get(f"{PREFIX}_charging").state == charging  # type: ignore[union-attr]
    assert hass.states.get(f"{PREFIX}_problem").state == problem  # type: ignore[union-attr]


async def test_no_binary_sensors_before_a_status(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An EVSE that has only sent meter data has no status entities yet."""
    await publish(hass, "evse1", "em", {"energy": 1})
    assert hass.states.get(f"{PREFIX}_charging") is None
    await publish(hass, "evse1", "status", {"assigned": 16, "state": "CHRG"})
    assert hass.states.get(f"{PREFIX}_charging").state == STATE_ON  # type: ignore[union-attr]
