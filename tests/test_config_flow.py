"""Tests for the EVSE Bridge config flow."""

import asyncio
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_MQTT,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.evse_bridge.backends import KINDS, EntryKind
from custom_components.evse_bridge.config_flow import EvseBridgeConfigFlow
from custom_components.evse_bridge.const import (
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_MODBUS,
    CONF_STALE_AFTER,
    CONF_TYPE,
    DOMAIN,
)

from .conftest import CBID, ctek_payload

pytestmark = pytest.mark.usefixtures("mqtt_mock")

STATUS = ctek_payload("status_evse1.json")


@pytest.fixture(autouse=True)
def short_probe() -> Any:
    """Give up waiting for a silent charger at once."""
    with patch(
        "custom_components.evse_bridge.backends.ctek.flow.PROBE_TIMEOUT",
        timedelta(seconds=0.05),
    ):
        yield


async def start_ctek_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the flow and pick CTEK from the menu."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "ctek",
        "circontrol",
        "mennekes",
        "ocpp_server",
        "ocpp",
        "site",
        "mqtt_export",
    ]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ctek"}
    )


async def configure_while_publishing(
    hass: HomeAssistant,
    flow_id: str,
    user_input: dict[str, Any],
    messages: list[tuple[str, str]],
) -> ConfigFlowResult:
    """Submit a form; the charger publishes while the flow listens."""
    task = asyncio.create_task(
        hass.config_entries.flow.async_configure(flow_id, user_input)
    )
    for _ in range(5):
        await asyncio.sleep(0)
    for topic, payload in messages:
        async_fire_mqtt_message(hass, topic, payload)
    return await task


async def test_user_flow(hass: HomeAssistant) -> None:
    """The charger publishes, and the entry is created."""
    result = await start_ctek_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ctek"
    result = await configure_while_publishing(
        hass,
        result["flow_id"],
        {CONF_BASE_TOPIC: "CTEK/", CONF_CHARGER_ID: CBID},
        [
            (f"CTEK/{CBID}/evse1/em", "garbage"),
            (f"CTEK/{CBID}/evse1/status", STATUS),
            (f"CTEK/{CBID}/evse2/status", STATUS),
        ],
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Chargestorm {CBID}"
    assert result["data"] == {
        CONF_TYPE: "ctek",
        CONF_BASE_TOPIC: "CTEK",
        CONF_CHARGER_ID: CBID,
    }
    assert result["result"].unique_id == CBID


async def test_user_flow_learns_the_charger_id(hass: HomeAssistant) -> None:
    """With the id left empty, the first charger that publishes is taken."""
    result = await start_ctek_flow(hass)
    result = await configure_while_publishing(
        hass,
        result["flow_id"],
        {CONF_BASE_TOPIC: "home/ctek"},
        [("home/ctek/CB42/mainMeter/em", ctek_payload("em_mainMeter.json"))],
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CHARGER_ID] == "CB42"
    assert result["data"][CONF_BASE_TOPIC] == "home/ctek"


async def test_silent_charger_then_recovery(hass: HomeAssistant) -> None:
    """No message in time is an error; once the charger publishes, it works."""
    result = await start_ctek_flow(hass)
    user_input = {CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: CBID}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_data"}
    result = await configure_while_publishing(
        hass, result["flow_id"], user_input, [(f"CTEK/{CBID}/evse1/status", STATUS)]
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("user_input", "field"),
    [
        ({CONF_BASE_TOPIC: "CTEK/#"}, CONF_BASE_TOPIC),
        ({CONF_BASE_TOPIC: "a//b"}, CONF_BASE_TOPIC),
        ({CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: "+"}, CONF_CHARGER_ID),
        ({CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: "a/b"}, CONF_CHARGER_ID),
        ({CONF_BASE_TOPIC: "home\x1bctek"}, CONF_BASE_TOPIC),
        ({CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: "91728\x00M03"}, CONF_CHARGER_ID),
        ({CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: "id\x85id"}, CONF_CHARGER_ID),
        ({CONF_BASE_TOPIC: "a" * 65000, CONF_CHARGER_ID: "b" * 600}, CONF_CHARGER_ID),
    ],
)
async def test_invalid_topics(
    hass: HomeAssistant, user_input: dict[str, str], field: str
) -> None:
    """Wildcards, empty levels, control characters and overlong topics are refused.

    Each at the field at fault; a control character in a subscription would
    make the broker drop Home Assistant's MQTT connection.
    """
    result = await start_ctek_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: "invalid_topic"}


async def test_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The same charger cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    result = await start_ctek_flow(hass)
    result = await configure_while_publishing(
        hass,
        result["flow_id"],
        {CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: CBID},
        [(f"CTEK/{CBID}/evse1/status", STATUS)],
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("mqtt_mock")
async def test_mqtt_discovery(hass: HomeAssistant) -> None:
    """A message on the default topics offers the charger."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=discovery(f"CTEK/{CBID}/evse1/status"),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "mqtt_confirm"
    assert result["description_placeholders"] == {
        "name": f"Chargestorm {CBID}",
        "topic": "CTEK",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_TYPE: "ctek",
        CONF_BASE_TOPIC: "CTEK",
        CONF_CHARGER_ID: CBID,
    }
    assert result["result"].unique_id == CBID


def discovery(topic: str, payload: str = STATUS) -> MqttServiceInfo:
    """Return what MQTT discovery hands the flow."""
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=0,
        retain=False,
        subscribed_topic="CTEK/+/+/meterinfo",
        timestamp=0,
    )


async def test_mqtt_discovery_updates_known_charger(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A known charger found under another base topic gets the new topic."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=discovery(f"site/CTEK/{CBID}/evse2/status"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data[CONF_BASE_TOPIC] == "site/CTEK"


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("CTEK/evse1/status", STATUS),
        (f"CTEK/{CBID}/mainMeter/status", STATUS),
        (f"CTEK/{CBID}/evse1/status", "not json"),
        ("CTEK/+/evse1/status", STATUS),
    ],
)
async def test_mqtt_discovery_invalid(
    hass: HomeAssistant, topic: str, payload: str
) -> None:
    """Messages that are not a Chargestorm's status are not offered."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=discovery(topic, payload)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_mqtt_not_configured(hass: HomeAssistant) -> None:
    """Without the MQTT integration the flow ends with a clear reason."""
    with patch(
        "custom_components.evse_bridge.backends.ctek.flow.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        result = await start_ctek_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_reconfigure(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The base topic can change; the entry reloads with it."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "ctek"
    result = await configure_while_publishing(
        hass,
        result["flow_id"],
        {CONF_BASE_TOPIC: "garage", CONF_CHARGER_ID: CBID},
        [(f"garage/{CBID}/evse1/status", STATUS)],
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_BASE_TOPIC] == "garage"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_reconfigure_to_another_charger(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Reconfiguring cannot swap the entry to a different charger."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await configure_while_publishing(
        hass,
        result["flow_id"],
        {CONF_BASE_TOPIC: "CTEK", CONF_CHARGER_ID: "OTHER"},
        [("CTEK/OTHER/evse1/status", STATUS)],
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "different_device"
    assert mock_config_entry.data[CONF_CHARGER_ID] == CBID


async def test_options(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The stale time is an option, applied by reloading."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_STALE_AFTER: 300, CONF_MODBUS: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {CONF_STALE_AFTER: 300, CONF_MODBUS: False}
    assert init_integration.runtime_data.coordinator.stale_after == 300


class _Display(EntryKind):
    """A kind of entry with no credentials, nothing to reconfigure, no options."""

    key = "display"
    flow = ConfigFlow

    async def async_setup_entry(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Set nothing up."""


@pytest.mark.parametrize("source", ["reauth", "reconfigure"])
async def test_kind_without_the_step_aborts(hass: HomeAssistant, source: str) -> None:
    """A kind that has no such step says so instead of failing."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_TYPE: "display"}, minor_version=2)
    entry.add_to_hass(hass)
    with patch.dict(KINDS, {"display": _Display()}):
        assert not EvseBridgeConfigFlow.async_supports_options_flow(entry)
        if source == "reauth":
            result = await entry.start_reauth_flow(hass)
        else:
            result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == f"{source}_not_supported"


async def test_chargers_have_options(mock_config_entry: MockConfigEntry) -> None:
    """Every charger entry offers its options."""
    assert EvseBridgeConfigFlow.async_supports_options_flow(mock_config_entry)
