"""The MQTT export's config flow, options and reconfiguration, every path."""

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.const import DOMAIN
from custom_components.evse_bridge.export.broker import ProbeResult
from custom_components.evse_bridge.export.flow import parse_ref, ref_text
from custom_components.evse_bridge.hub import ConnectorRef
from tests.conftest import CBID, publish_documented_burst

from .conftest import PORTAL, shadow_entry, victron_entry

pytestmark = pytest.mark.usefixtures("mqtt_mock")

EVSE1 = f"{CBID}/1"
EVSE2 = f"{CBID}/2"
BROKER = {
    "host": "broker.local",
    "port": 8883,
    "username": "bridge",
    "password": "secret",
    "tls": True,
    "ca_file": "/ssl/ca.crt",
    "client_cert": "/ssl/client.crt",
    "client_key": "/ssl/client.key",
}
PROBE = "custom_components.evse_bridge.export.flow.probe_broker"
WAIT_FOR_MQTT = (
    "custom_components.evse_bridge.export.flow.mqtt.async_wait_for_mqtt_client"
)


@pytest.fixture
async def chargestorm(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Load a dual Chargestorm into the hub: connectors 1 and 2."""
    await publish_documented_burst(hass)


@pytest.fixture(autouse=True)
def no_setup() -> Any:
    """Create entries without starting their exporters."""
    with patch(
        "custom_components.evse_bridge.export.ExportKind.async_setup_entry",
        return_value=None,
    ):
        yield


def fields(result: ConfigFlowResult) -> dict[Any, Any]:
    """Return the fields of the form a result shows."""
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


async def start(hass: HomeAssistant, **user_input: str) -> ConfigFlowResult:
    """Pick the export in the menu and answer its first step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "mqtt_export"}
    )
    assert result["step_id"] == "mqtt_export"
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def answer(
    result: ConfigFlowResult, hass: HomeAssistant, **user_input: Any
) -> ConfigFlowResult:
    """Answer the form a result shows."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


@pytest.mark.usefixtures("chargestorm")
async def test_shadow_on_home_assistants_broker(hass: HomeAssistant) -> None:
    """The default: every charger as a shadow on Home Assistant's broker."""
    result = await start(hass, format="shadow", broker="home_assistant")
    assert result["step_id"] == "export_shadow"
    result = await answer(result, hass, base_topic="chargers/#")
    assert result["errors"] == {"base_topic": "invalid_topic"}
    result = await answer(result, hass, base_topic=" /home/chargers/ ")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "MQTT shadow (home/chargers)"
    assert result["data"] == {
        "type": "mqtt_export",
        "format": "shadow",
        "broker": "home_assistant",
        "base_topic": "home/chargers",
        "connectors": [],
    }


@pytest.mark.usefixtures("chargestorm")
async def test_shadow_of_picked_connectors(hass: HomeAssistant) -> None:
    """The connectors offered are the hub's; the picked ones are stored."""
    result = await start(hass, format="shadow", broker="home_assistant")
    options = fields(result)["connectors"].config["options"]
    assert [option["value"] for option in options] == [EVSE1, EVSE2]
    assert options[0]["label"] == f"Chargestorm {CBID}, connector 1"
    result = await answer(result, hass, base_topic="chargers", connectors=[EVSE2])
    assert result["data"]["connectors"] == [EVSE2]


async def test_home_assistants_broker_missing(hass: HomeAssistant) -> None:
    """Without the MQTT integration, Home Assistant's broker cannot be chosen."""
    with patch(WAIT_FOR_MQTT, return_value=False):
        result = await start(hass, format="shadow", broker="home_assistant")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "export_mqtt_not_configured"


@pytest.mark.parametrize(
    ("probe", "errors"),
    [
        (ProbeResult.CANNOT_CONNECT, {"host": "broker_cannot_connect"}),
        (ProbeResult.INVALID_AUTH, {"password": "broker_invalid_auth"}),
        (ProbeResult.TLS_FILES, {"ca_file": "tls_files"}),
        (RuntimeError("boom"), {"base": "unknown"}),
    ],
)
@pytest.mark.usefixtures("chargestorm")
async def test_victron_on_own_broker(
    hass: HomeAssistant, probe: ProbeResult | Exception, errors: dict[str, str]
) -> None:
    """Own broker: checked by connecting; then the GX and each connector's driver."""
    result = await start(hass, format="victron", broker="own")
    assert result["step_id"] == "export_broker"
    with patch(PROBE, side_effect=[probe]):
        result = await answer(result, hass, **BROKER)
    assert result["errors"] == errors
    with patch(PROBE, return_value=ProbeResult.OK) as probed:
        result = await answer(result, hass, **(BROKER | {"username": " bridge "}))
    settings = probed.call_args.args[0]
    assert (settings.host, settings.port, settings.username) == (
        "broker.local",
        8883,
        "bridge",
    )
    assert (settings.tls, settings.client_key) == (True, "/ssl/client.key")

    assert result["step_id"] == "export_victron"
    result = await answer(result, hass, portal_id="a/b", connectors=[])
    assert result["errors"] == {
        "portal_id": "invalid_portal_id",
        "connectors": "no_connectors",
    }
    result = await answer(
        result, hass, portal_id=f" {PORTAL} ", connectors=[EVSE1, EVSE2]
    )
    assert result["step_id"] == "export_victron_connector"
    assert result["description_placeholders"] == {
        "connector": f"Chargestorm {CBID}, connector 1"
    }
    result = await answer(result, hass, topic="custom/+", device_instance=100)
    assert result["errors"] == {"topic": "invalid_topic"}
    result = await answer(result, hass, topic="custom/ev-charger", device_instance=100)
    assert result["step_id"] == "export_victron_connector"
    result = await answer(
        result, hass, topic="custom/ev-charger-2", device_instance=101
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Victron export ({PORTAL})"
    assert result["data"] == {
        "type": "mqtt_export",
        "format": "victron",
        "broker": "own",
        **BROKER,
        "portal_id": PORTAL,
        "victron": {
            EVSE1: {"topic": "custom/ev-charger", "device_instance": 100},
            EVSE2: {"topic": "custom/ev-charger-2", "device_instance": 101},
        },
    }


@pytest.mark.usefixtures("chargestorm")
async def test_victron_suggests_a_topic_and_instance_per_connector(
    hass: HomeAssistant,
) -> None:
    """The second connector's driver gets the next topic and instance."""
    result = await start(hass, format="victron", broker="home_assistant")
    result = await answer(result, hass, portal_id=PORTAL, connectors=[EVSE1, EVSE2])
    result = await answer(result, hass, topic="custom/ev-charger", device_instance=100)
    suggested = {str(key): key.description["suggested_value"] for key in fields(result)}
    assert suggested == {"topic": "custom/ev-charger-2", "device_instance": 101}


async def test_victron_without_chargers(hass: HomeAssistant) -> None:
    """Victron needs a connector to show: none loaded, the flow says so."""
    result = await start(hass, format="victron", broker="home_assistant")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_connectors"


async def test_reconfigure_to_own_broker_and_back(hass: HomeAssistant) -> None:
    """Reconfiguring asks for the broker only; the export's settings stay."""
    entry = shadow_entry(base_topic="home")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "mqtt_export"
    assert list(fields(result)) == ["broker"]
    result = await answer(result, hass, broker="own")
    with patch(PROBE, return_value=ProbeResult.OK):
        result = await answer(result, hass, host="10.0.0.2", port=1883, tls=False)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["host"] == "10.0.0.2"
    assert entry.data["base_topic"] == "home"

    result = await entry.start_reconfigure_flow(hass)
    result = await answer(result, hass, broker="home_assistant")
    assert result["reason"] == "reconfigure_successful"
    assert "host" not in entry.data
    assert entry.data["broker"] == "home_assistant"


async def test_reauth_with_new_credentials(hass: HomeAssistant) -> None:
    """New credentials are checked against the broker, then saved; empty: none."""
    entry = shadow_entry(
        broker="own",
        host="broker.local",
        port=1883,
        tls=False,
        username="bridge",
        password="old",  # noqa: S106
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "export_reauth"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["host"] == "broker.local"
    with patch(PROBE, return_value=ProbeResult.INVALID_AUTH):
        result = await answer(result, hass, username="bridge", password="wrong")  # noqa: S106
    assert result["errors"] == {"password": "broker_invalid_auth"}
    with patch(PROBE, side_effect=RuntimeError("boom")):
        result = await answer(result, hass, username="bridge", password="new")  # noqa: S106
    assert result["errors"] == {"base": "unknown"}
    with patch(PROBE, return_value=ProbeResult.OK) as probed:
        result = await answer(result, hass, username=" evse ", password="new")  # noqa: S106
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    settings = probed.call_args.args[0]
    assert (settings.host, settings.username, settings.password) == (
        "broker.local",
        "evse",
        "new",
    )
    assert entry.data["username"] == "evse"
    assert entry.data["password"] == "new"  # noqa: S105
    assert entry.data["base_topic"] == "chargers"

    result = await entry.start_reauth_flow(hass)
    with patch(PROBE, return_value=ProbeResult.OK):
        result = await answer(result, hass)
    assert result["reason"] == "reauth_successful"
    assert "username" not in entry.data
    assert "password" not in entry.data


@pytest.mark.usefixtures("chargestorm")
async def test_shadow_options(hass: HomeAssistant) -> None:
    """The options change the base topic and the connectors."""
    entry = shadow_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "export_shadow"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"base_topic": "ev", "connectors": [EVSE1]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {"base_topic": "ev", "connectors": [EVSE1]}


@pytest.mark.usefixtures("chargestorm")
async def test_victron_options_keep_each_connectors_driver(hass: HomeAssistant) -> None:
    """A connector added in the options is asked for; the others keep theirs."""
    entry = victron_entry({EVSE1: ("gx/one", 7)})
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "export_victron"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"portal_id": PORTAL, "connectors": [EVSE1, EVSE2]}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"topic": "gx/one", "device_instance": 7}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"topic": "gx/two", "device_instance": 8}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        "portal_id": PORTAL,
        "victron": {
            EVSE1: {"topic": "gx/one", "device_instance": 7},
            EVSE2: {"topic": "gx/two", "device_instance": 8},
        },
    }


async def test_victron_options_of_unloaded_chargers(hass: HomeAssistant) -> None:
    """A connector whose charger is not loaded stays pickable, by its id."""
    entry = victron_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    options = fields(result)["connectors"].config["options"]
    assert options == [{"value": EVSE1, "label": EVSE1}]


@pytest.mark.usefixtures("chargestorm")
async def test_same_export_twice(hass: HomeAssistant) -> None:
    """A second shadow under the same base topic on the same broker is refused."""
    shadow_entry().add_to_hass(hass)
    result = await start(hass, format="shadow", broker="home_assistant")
    result = await answer(result, hass, base_topic="chargers")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "export_already_configured"
    result = await start(hass, format="shadow", broker="home_assistant")
    result = await answer(result, hass, base_topic="garage")
    assert result["type"] is FlowResultType.CREATE_ENTRY


def test_connector_refs_round_trip() -> None:
    """A connector is stored as ``<charger id>/<number>`` and read back."""
    ref = ConnectorRef("AB-12", 2)
    assert ref_text(ref) == "AB-12/2"
    assert parse_ref(ref_text(ref)) == ref
