"""Fixtures for the MQTT export: chargers in the hub, export entries."""

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.const import CONF_BASE_TOPIC, CONF_TYPE, DOMAIN
from custom_components.evse_bridge.export.const import (
    CONF_BROKER,
    CONF_CONNECTORS,
    CONF_DEVICE_INSTANCE,
    CONF_FORMAT,
    CONF_PORTAL_ID,
    CONF_TOPIC,
    CONF_VICTRON,
    KIND,
)
from tests.conftest import CBID

PORTAL = "c0619ab1f1e2"


def shadow_entry(**settings: object) -> MockConfigEntry:
    """Return a shadow export on Home Assistant's broker."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="MQTT shadow (chargers)",
        data={
            CONF_TYPE: KIND,
            CONF_FORMAT: "shadow",
            CONF_BROKER: "home_assistant",
            CONF_BASE_TOPIC: "chargers",
            CONF_CONNECTORS: [],
            **settings,
        },
        minor_version=2,
    )


def victron_entry(
    connectors: dict[str, tuple[str, int]] | None = None,
) -> MockConfigEntry:
    """Return a Victron export (EVSE 1 by default) on Home Assistant's broker."""
    connectors = connectors or {f"{CBID}/1": ("custom/ev-charger", 100)}
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Victron export ({PORTAL})",
        data={
            CONF_TYPE: KIND,
            CONF_FORMAT: "victron",
            CONF_BROKER: "home_assistant",
            CONF_PORTAL_ID: PORTAL,
            CONF_VICTRON: {
                ref: {CONF_TOPIC: topic, CONF_DEVICE_INSTANCE: instance}
                for ref, (topic, instance) in connectors.items()
            },
        },
        minor_version=2,
    )
