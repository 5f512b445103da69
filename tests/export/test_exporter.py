"""The exporters on Home Assistant's MQTT (mocked): what goes out, what comes back."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.diagnostics import REDACTED
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.evse_bridge.api.errors import (
    ChargerCommandError,
    ChargerConnectionError,
)
from custom_components.evse_bridge.api.model import ConnectorState, Part
from custom_components.evse_bridge.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.evse_bridge.export.exporter import ShadowExporter
from custom_components.evse_bridge.hub import ConnectorRef
from tests.conftest import Vendor
from tests.http_fixtures import (
    MENNEKES_SERIAL,
    charger_fixture,
    create_charger_fixture,
    http_config_entry_fixture,
    http_platforms_fixture,
    init_http_fixture,
    mennekes_info,
    mennekes_state,
    setup_entry,
    with_connector,
    with_meter,
)

from .conftest import PORTAL, shadow_entry, victron_entry

__all__ = [
    "charger_fixture",
    "create_charger_fixture",
    "http_config_entry_fixture",
    "http_platforms_fixture",
    "init_http_fixture",
]

SERIAL = MENNEKES_SERIAL
PART = "connector1"
N = f"N/{PORTAL}/evcharger/100"

CONNECTOR = ConnectorState()

type Message = tuple[str, str, int, bool]


@pytest.fixture(name="vendor")
def mennekes_only() -> Vendor:
    """Export a Mennekes AMTRON: it has a current limit and pause/resume."""
    return Vendor.MENNEKES


@pytest.fixture(name="http_platforms")
def no_platforms() -> list[Any]:
    """Load no platform: the charger's entities are not what is tested here."""
    return []


def messages(mqtt_mock: MqttMockHAClient) -> Iterator[Message]:
    """Yield every message published so far."""
    for call in mqtt_mock.async_publish.call_args_list:
        topic, payload, qos, retain = call.args
        yield topic, payload, qos, retain


def last_values(mqtt_mock: MqttMockHAClient) -> dict[str, Any]:
    """Return the last payload per topic, decoded where it is JSON."""
    values: dict[str, Any] = {}
    for topic, payload, _, _ in messages(mqtt_mock):
        try:
            values[topic] = json.loads(payload)
        except ValueError:
            values[topic] = payload
    return values


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up an export entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def poll(hass: HomeAssistant, init_http: MockConfigEntry) -> None:
    """Poll the charger now."""
    await init_http.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)


async def command(hass: HomeAssistant, topic: str, payload: str) -> None:
    """Deliver a message to the export and let its command run."""
    async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done(wait_background_tasks=True)


# --- Shadow ----------------------------------------------------------------------


async def test_shadow_values_retained_and_changed_only(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """Each value once, retained, with its time; later only what changed."""
    await set_up(hass, shadow_entry())
    values = last_values(mqtt_mock)
    assert values["chargers/availability"] == "online"
    assert values[f"chargers/{SERIAL}/availability"] == "online"
    power = values[f"chargers/{SERIAL}/{PART}/power_w"]
    assert power["value"] == 6900
    assert power["sampled_at"].endswith("+00:00")
    assert values[f"chargers/{SERIAL}/{PART}/status"]["value"] == "charging"
    assert values[f"chargers/{SERIAL}/{PART}/current_limit_a"]["value"] == 10
    assert all(retain and qos == 1 for _, _, qos, retain in messages(mqtt_mock))

    mqtt_mock.async_publish.reset_mock()
    await poll(hass, init_http)
    assert list(messages(mqtt_mock)) == []

    charger.get_state.return_value = with_meter(mennekes_state(), PART, power_w=7000.0)
    await poll(hass, init_http)
    assert [topic for topic, *_ in messages(mqtt_mock)] == [
        f"chargers/{SERIAL}/{PART}/power_w"
    ]


async def test_shadow_of_other_connectors_only(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, init_http: MockConfigEntry
) -> None:
    """A charger not picked is not exported."""
    await set_up(hass, shadow_entry(connectors=["another/1"]))
    assert set(last_values(mqtt_mock)) == {"chargers/availability"}


async def test_shadow_availability(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """A charger that stops answering, is unloaded, or an export that stops: offline."""
    entry = shadow_entry()
    await set_up(hass, entry)
    charger.get_state.side_effect = ChargerConnectionError("gone")
    await poll(hass, init_http)
    assert last_values(mqtt_mock)[f"chargers/{SERIAL}/availability"] == "offline"
    charger.get_state.side_effect = None
    await poll(hass, init_http)
    assert last_values(mqtt_mock)[f"chargers/{SERIAL}/availability"] == "online"

    await hass.config_entries.async_unload(init_http.entry_id)
    await hass.async_block_till_done()
    assert last_values(mqtt_mock)[f"chargers/{SERIAL}/availability"] == "offline"
    mqtt_mock.async_publish.reset_mock()
    assert await hass.config_entries.async_setup(init_http.entry_id)
    await hass.async_block_till_done()
    assert last_values(mqtt_mock)[f"chargers/{SERIAL}/availability"] == "online"

    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    values = last_values(mqtt_mock)
    assert values["chargers/availability"] == "offline"
    assert values[f"chargers/{SERIAL}/availability"] == "offline"
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_shadow_set_commands(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``set`` topics change the charger through the hub; out of range is refused."""
    await set_up(hass, shadow_entry())
    base = f"chargers/{SERIAL}/{PART}"
    await command(hass, f"{base}/current_limit_a/set", "10")
    charger.set_current_limit.assert_awaited_once_with(1, 10)
    await command(hass, f"{base}/charging_enabled/set", "OFF")
    charger.set_charging_enabled.assert_awaited_once_with(1, False)

    charger.set_current_limit.reset_mock()
    for _ in range(2):
        await command(hass, f"{base}/current_limit_a/set", '{"value": 99}')
    charger.set_current_limit.assert_not_called()
    assert caplog.text.count("99 A is outside 6-") == 1

    await command(hass, f"chargers/{SERIAL}/elsewhere/current_limit_a/set", "10")
    await command(hass, f"chargers/{SERIAL}/{PART}/power_w/set", "10")
    charger.set_current_limit.assert_not_called()


async def test_shadow_command_that_fails(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A command the charger does not carry out is logged; the export goes on."""
    await set_up(hass, shadow_entry())
    charger.set_charging_enabled.side_effect = ChargerCommandError("not applied")
    await command(hass, f"chargers/{SERIAL}/{PART}/charging_enabled/set", "true")
    assert "could not resume AMTRON 1234567890 connector 1: not applied" in caplog.text


# --- Victron ---------------------------------------------------------------------


def driver_messages(mqtt_mock: MqttMockHAClient) -> list[dict[str, Any]]:
    """Return the JSON messages published to the driver's topic."""
    return [
        json.loads(payload)
        for topic, payload, qos, retain in messages(mqtt_mock)
        if topic == "custom/ev-charger" and qos == 0 and not retain
    ]


async def test_victron_json_heartbeat_and_keepalive(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The driver's JSON at once and every 10 s; the GX's keepalive every 30 s."""
    await set_up(hass, victron_entry({f"{SERIAL}/1": ("custom/ev-charger", 100)}))
    [payload] = driver_messages(mqtt_mock)
    assert payload["Ac"]["Power"] == 6900
    assert payload["Status"] == 2
    assert payload["SetCurrent"] == 10
    assert payload["StartStop"] == 1
    assert payload["Mode"] == 0
    assert payload["Model"]
    keepalives = [m for m in messages(mqtt_mock) if m[0] == f"R/{PORTAL}/keepalive"]
    assert len(keepalives) == 1
    subscribed = {call.args[0] for call in mqtt_mock.async_subscribe.call_args_list}
    assert {f"{N}/SetCurrent", f"{N}/StartStop", f"{N}/Mode"} <= subscribed

    for _ in range(30):
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert len(driver_messages(mqtt_mock)) == 4
    keepalives = [m for m in messages(mqtt_mock) if m[0] == f"R/{PORTAL}/keepalive"]
    assert len(keepalives) == 2


async def test_victron_stops_for_an_unavailable_charger(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Nothing is published while the charger is unreachable: the GX times out."""
    await set_up(hass, victron_entry({f"{SERIAL}/1": ("custom/ev-charger", 100)}))
    charger.get_state.side_effect = ChargerConnectionError("gone")
    await poll(hass, init_http)
    mqtt_mock.async_publish.reset_mock()
    for _ in range(25):
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert driver_messages(mqtt_mock) == []

    await hass.config_entries.async_unload(init_http.entry_id)
    await hass.async_block_till_done()
    assert driver_messages(mqtt_mock) == []


async def test_victron_write_back(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """The GX's SetCurrent and StartStop reach the charger; our own echo does not."""
    await set_up(hass, victron_entry({f"{SERIAL}/1": ("custom/ev-charger", 100)}))

    def follow(connector: int, amps: int) -> None:
        charger.get_state.return_value = with_connector(
            mennekes_state(), PART, current_limit_a=float(amps)
        )

    charger.set_current_limit.side_effect = follow
    await command(hass, f"{N}/SetCurrent", '{"value": 10}')  # our own value
    charger.set_current_limit.assert_not_called()
    await command(hass, f"{N}/SetCurrent", '{"value": 12}')
    charger.set_current_limit.assert_awaited_once_with(1, 12)
    assert driver_messages(mqtt_mock)[-1]["SetCurrent"] == 12
    await command(hass, f"{N}/SetCurrent", '{"value": 12}')  # the echo
    charger.set_current_limit.assert_awaited_once()

    await command(hass, f"{N}/StartStop", '{"value": 0}')
    charger.set_charging_enabled.assert_awaited_once_with(1, False)
    await command(hass, f"{N}/Mode", '{"value": 1}')
    assert driver_messages(mqtt_mock)[-1]["Mode"] == 0


# --- Home Assistant's broker restarted ---------------------------------------------


def reconnect(hass: HomeAssistant) -> None:
    """Tell the export that Home Assistant's MQTT lost its broker and is back."""
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)


async def test_shadow_restored_after_the_broker_restarted(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """Every retained message again, as last published; then only changes."""
    await set_up(hass, shadow_entry())
    charger.get_state.return_value = with_meter(mennekes_state(), PART, power_w=7000.0)
    await poll(hass, init_http)
    before = last_values(mqtt_mock)
    mqtt_mock.async_publish.reset_mock()

    reconnect(hass)
    await hass.async_block_till_done()
    assert last_values(mqtt_mock) == before  # the same sample times too
    assert len(list(messages(mqtt_mock))) == len(before)
    assert all(retain and qos == 1 for _, _, qos, retain in messages(mqtt_mock))

    mqtt_mock.async_publish.reset_mock()
    await poll(hass, init_http)
    assert list(messages(mqtt_mock)) == []


async def test_shadow_restores_an_offline_charger_as_offline(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """A charger that was offline before the restart is offline after it."""
    await set_up(hass, shadow_entry())
    charger.get_state.side_effect = ChargerConnectionError("gone")
    await poll(hass, init_http)
    mqtt_mock.async_publish.reset_mock()
    reconnect(hass)
    await hass.async_block_till_done()
    values = last_values(mqtt_mock)
    assert values["chargers/availability"] == "online"
    assert values[f"chargers/{SERIAL}/availability"] == "offline"


async def test_victron_keepalive_and_json_at_once_after_the_broker_restarted(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
) -> None:
    """The GX's keepalive and the driver's JSON go out at once, not in 30 s."""
    await set_up(hass, victron_entry({f"{SERIAL}/1": ("custom/ev-charger", 100)}))
    [payload] = driver_messages(mqtt_mock)
    mqtt_mock.async_publish.reset_mock()
    reconnect(hass)
    await hass.async_block_till_done()
    assert [m[0] for m in messages(mqtt_mock)] == [
        f"R/{PORTAL}/keepalive",
        "custom/ev-charger",
    ]
    assert driver_messages(mqtt_mock) == [payload]


async def test_no_restore_after_the_export_stopped(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, init_http: MockConfigEntry
) -> None:
    """An unloaded export publishes nothing when Home Assistant reconnects."""
    entry = shadow_entry()
    await set_up(hass, entry)
    await hass.config_entries.async_unload(entry.entry_id)
    mqtt_mock.async_publish.reset_mock()
    reconnect(hass)
    await hass.async_block_till_done()
    assert list(messages(mqtt_mock)) == []


# --- What is exported -------------------------------------------------------------


async def test_only_the_picked_connectors_and_their_meters(hass: HomeAssistant) -> None:
    """A meter goes with its charger's picked connectors; other connectors stay home."""
    exporter = ShadowExporter(
        hass, MagicMock(), frozenset({ConnectorRef("a", 1)}), "chargers"
    )
    meter = Part(id="mainMeter")
    assert exporter.is_exported("a", meter)
    assert not exporter.is_exported("b", meter)
    assert exporter.is_exported("a", Part(id="evse1", number=1, connector=CONNECTOR))
    assert not exporter.is_exported(
        "a", Part(id="evse2", number=2, connector=CONNECTOR)
    )


async def test_shadow_of_a_charger_whose_id_is_no_topic_level(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    http_config_entry: MockConfigEntry,
    create_charger: MagicMock,
    charger: MagicMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A charger id with a wildcard is not exported, and said so once."""
    charger.get_info.return_value = replace(mennekes_info(), serial_number="box+1")
    http_config_entry.add_to_hass(hass)
    await setup_entry(hass, http_config_entry, [])
    await set_up(hass, shadow_entry())
    await poll(hass, http_config_entry)
    assert set(last_values(mqtt_mock)) == {"chargers/availability"}
    assert caplog.text.count("Not exporting box+1") == 1
    await hass.config_entries.async_unload(http_config_entry.entry_id)


async def test_shadow_commands_for_connectors_not_exported(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """Commands reach only exported connectors of loaded chargers."""
    await set_up(hass, shadow_entry(connectors=[f"{SERIAL}/2"]))
    await command(hass, f"chargers/{SERIAL}/{PART}/current_limit_a/set", "10")
    await command(hass, f"chargers/gone/{PART}/current_limit_a/set", "10")
    charger.set_current_limit.assert_not_called()


async def test_victron_command_after_the_charger_left(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """A GX setting for a charger that was unloaded meanwhile changes nothing."""
    await set_up(hass, victron_entry({f"{SERIAL}/1": ("custom/ev-charger", 100)}))
    await hass.config_entries.async_unload(init_http.entry_id)
    await command(hass, f"{N}/SetCurrent", '{"value": 12}')
    charger.set_current_limit.assert_not_called()


async def test_export_entry_diagnostics(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """An export entry's diagnostics show its settings, credentials redacted."""
    entry = shadow_entry(username="bridge", password="hunter2")  # noqa: S106
    await set_up(hass, entry)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    data = diagnostics["entry"]["data"]
    assert data["username"] == data["password"] == REDACTED
    assert data["format"] == "shadow"


async def test_own_broker_with_a_missing_tls_file(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """A TLS file gone since the flow checked it: set-up is retried later."""
    entry = shadow_entry(
        broker="own",
        host="127.0.0.1",
        port=8883,
        tls=True,
        ca_file=str(tmp_path / "gone.crt"),
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert "TLS file" in entry.reason


async def test_home_assistants_broker_missing(hass: HomeAssistant) -> None:
    """Without Home Assistant's MQTT, set-up is retried later."""
    entry = shadow_entry()
    entry.add_to_hass(hass)
    with patch(
        "custom_components.evse_bridge.export.broker.mqtt.async_wait_for_mqtt_client",
        return_value=False,
    ):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
