"""Fixtures for EVSE Bridge tests."""

from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
import json
from pathlib import Path
from unittest.mock import Mock, patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from hypothesis import settings
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import (
    MqttMockHAClient,
    MqttMockPahoClient,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.evse_bridge.backends import KINDS
from custom_components.evse_bridge.const import (
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_TYPE,
    DOMAIN,
)

# Hypothesis (tests/api/test_fuzz.py and the property tests). "default": a
# short search in every suite run; "fuzz": the long run, a few minutes, chosen
# with --hypothesis-profile=fuzz. No deadline: timing is for benchmarks. No
# example database: a run leaves no files, and a failure prints how to
# reproduce it.
settings.register_profile(
    "default", max_examples=100, deadline=None, database=None, print_blob=True
)
settings.register_profile("fuzz", settings.get_profile("default"), max_examples=5_000)

CBID = "91728M03W4010406"


class Vendor(StrEnum):
    """The charger makes, as entries name them."""

    CTEK = "ctek"
    CIRCONTROL = "circontrol"
    MENNEKES = "mennekes"


@contextmanager
def only_platforms(vendor: Vendor, platforms: Iterable[Platform]) -> Iterator[None]:
    """Set entries of one make up with only these platforms."""
    with patch.object(type(KINDS[vendor]), "platforms", tuple(platforms)):
        yield


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load integrations from custom_components in every test."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialise Home Assistant objects without volatile ids and times."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def mqtt_client_mock(mqtt_client_mock: MqttMockPahoClient) -> MqttMockPahoClient:
    """Close the mocked socket on disconnect, as paho does.

    Without this the MQTT client's one-second housekeeping timer outlives the
    test when Home Assistant stops.
    """

    def disconnect(*args: object, **kwargs: object) -> int:
        mqtt_client_mock.on_socket_close(
            mqtt_client_mock, None, Mock(fileno=Mock(return_value=-1))
        )
        return 0

    mqtt_client_mock.disconnect.side_effect = disconnect
    return mqtt_client_mock


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default as enabled."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
    ):
        yield


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """Return the config entry of a Chargestorm under the default base topic."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Chargestorm {CBID}",
        unique_id=CBID,
        data={CONF_TYPE: "ctek", CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: CBID},
        minor_version=2,
    )


@pytest.fixture
def platforms() -> list[Platform]:
    """Return the platforms to load; a test module may narrow it."""
    return list(KINDS[Vendor.CTEK].platforms)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    mock_config_entry: MockConfigEntry,
    platforms: list[Platform],
) -> MockConfigEntry:
    """Set up the Chargestorm entry with MQTT mocked."""
    mock_config_entry.add_to_hass(hass)
    with only_platforms(Vendor.CTEK, platforms):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    return mock_config_entry


def ctek_payload(name: str) -> str:
    """Return a CTEK payload from the fixtures."""
    return (FIXTURES / "ctek" / name).read_text()


async def publish(
    hass: HomeAssistant,
    part: str,
    kind: str,
    payload: str | dict[str, object],
    *,
    retain: bool = False,
) -> None:
    """Deliver one message of the charger, as the broker would."""
    if not isinstance(payload, str):
        payload = json.dumps(payload)
    async_fire_mqtt_message(hass, f"CTEK/{CBID}/{part}/{kind}", payload, retain=retain)
    await hass.async_block_till_done()


async def publish_documented_burst(hass: HomeAssistant) -> None:
    """Deliver what a dual Chargestorm publishes: main meter and two EVSEs.

    Meter reports twice: a lifetime energy reading is shown once the next
    report confirms it.
    """
    for _ in range(2):
        await publish(hass, "mainMeter", "em", ctek_payload("em_mainMeter.json"))
        await publish(hass, "evse1", "em", ctek_payload("em_evse1.json"))
        await publish(
            hass, "evse2", "em", {"current": [0, 0, 0], "energy": 812001, "power": 0}
        )
    await publish(hass, "evse1", "status", ctek_payload("status_evse1.json"))
    await publish(hass, "evse1", "meterinfo", ctek_payload("meterinfo_evse1.json"))
    await publish(hass, "evse2", "status", {"assigned": 0, "state": "AVAL"})
