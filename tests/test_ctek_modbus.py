"""Controlling a Chargestorm over Modbus TCP: options, entities, failures.

MQTT is mocked (messages come from the simulated CCU); the Modbus server is the
simulator's, on 127.0.0.1, sharing the CCU's state.
"""

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import patch

from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_HOST,
    CONF_PORT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)

from custom_components.evse_bridge.api.ctek_modbus import CtekModbusClient
from custom_components.evse_bridge.const import (
    CONF_API_VERSION,
    CONF_MODBUS,
    CONF_STALE_AFTER,
)
from simulators.ctek import CtekSimulator
from simulators.ctek_modbus import CtekModbusServer
from tests.e2e.conftest import free_port

from .conftest import CBID

PREFIX = f"chargestorm_{CBID.lower()}_evse_1"
LIMIT = f"number.{PREFIX}_current_limit"
ENABLED = f"switch.{PREFIX}_charging_enabled"
POWER = f"sensor.{PREFIX}_power"


@pytest.fixture
async def ccu(socket_enabled: None) -> AsyncIterator[CtekModbusServer]:
    """Serve a Chargestorm's Modbus API; a car charges on EVSE 1."""
    simulator = CtekSimulator(charger_id=CBID)
    simulator.plug_in(1)
    async with CtekModbusServer(simulator=simulator) as server:
        yield server


def modbus_input(port: int, **changes: Any) -> dict[str, Any]:
    """Return what the user enters in the Modbus step."""
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
        CONF_API_VERSION: "1",
        "evse1_unit_id": 1,
        "evse2_unit_id": 2,
        **changes,
    }


async def report(hass: HomeAssistant, server: CtekModbusServer) -> None:
    """Deliver one report round of the simulated CCU over (mocked) MQTT."""
    for topic, payload in server.simulator.all_messages():
        async_fire_mqtt_message(hass, topic, payload)
    await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def enable_control(
    hass: HomeAssistant, entry: MockConfigEntry, server: CtekModbusServer
) -> None:
    """Turn control on in the options, as a user would, and report once."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_STALE_AFTER: 120, CONF_MODBUS: True}
    )
    assert result["step_id"] == "modbus"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], modbus_input(server.port)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await report(hass, server)


async def set_limit(hass: HomeAssistant, amps: float) -> None:
    """Move the current-limit slider."""
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: LIMIT, "value": amps},
        blocking=True,
    )


async def test_control_reaches_the_charger(
    hass: HomeAssistant, init_integration: MockConfigEntry, ccu: CtekModbusServer
) -> None:
    """With control on, each EVSE has a limit and a switch that act on the CCU."""
    await enable_control(hass, init_integration, ccu)
    evse = ccu.simulator.evse(1)
    assert state(hass, LIMIT) == "32.0"
    assert state(hass, ENABLED) == STATE_ON
    await set_limit(hass, 10)
    assert evse.limit_a == 10
    assert state(hass, LIMIT) == "10.0"
    await report(hass, ccu)
    assert float(state(hass, POWER)) == pytest.approx(3 * 230 * 10, rel=0.01)

    await hass.services.async_call(
        "switch", "turn_off", {ATTR_ENTITY_ID: ENABLED}, blocking=True
    )
    assert evse.limit_a == 0
    await report(hass, ccu)
    assert state(hass, ENABLED) == STATE_OFF
    assert state(hass, f"sensor.{PREFIX}_status") == "suspended_evse"
    await hass.services.async_call(
        "switch", "turn_on", {ATTR_ENTITY_ID: ENABLED}, blocking=True
    )
    # Resuming sets the limit that was set before the pause.
    assert evse.limit_a == 10


async def read_limits(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Let the periodic read of the limits (every 30 s) happen."""
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_limit_the_ccu_forgot_is_set_again(
    hass: HomeAssistant, init_integration: MockConfigEntry, ccu: CtekModbusServer
) -> None:
    """A CCU restart forgets the limit; the next read writes it again."""
    await enable_control(hass, init_integration, ccu)
    await set_limit(hass, 8)
    await ccu.reboot()
    assert ccu.simulator.evse(1).limit_a == 32
    await read_limits(hass, init_integration)
    assert ccu.simulator.evse(1).limit_a == 8
    assert state(hass, LIMIT) == "8.0"


async def test_unreachable_modbus_makes_only_the_controls_unavailable(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ccu: CtekModbusServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The meters keep coming over MQTT; the controls wait for Modbus, logged once."""
    await enable_control(hass, init_integration, ccu)
    await ccu.stop()
    for _ in range(3):
        await read_limits(hass, init_integration)
    await report(hass, ccu)
    assert state(hass, LIMIT) == STATE_UNAVAILABLE
    assert state(hass, ENABLED) == STATE_UNAVAILABLE
    assert state(hass, POWER) != STATE_UNAVAILABLE
    assert caplog.text.count("Cannot read the charging limits") == 1
    await ccu.start()
    await read_limits(hass, init_integration)
    assert state(hass, LIMIT) == "32.0"
    assert "can be read again" in caplog.text


async def test_without_control_there_are_no_control_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry, ccu: CtekModbusServer
) -> None:
    """MQTT alone is read-only: no limit, no switch."""
    await report(hass, ccu)
    assert hass.states.get(POWER) is not None
    assert hass.states.get(LIMIT) is None
    assert hass.states.get(ENABLED) is None


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({CONF_HOST: "not a host"}, CONF_HOST, "invalid_host"),
        ({"closed_port": True}, CONF_HOST, "cannot_connect"),
        ({"evse1_unit_id": 5}, "evse1_unit_id", "wrong_unit_id"),
        ({CONF_API_VERSION: "2"}, CONF_API_VERSION, "wrong_api_version"),
        ({"api_disabled": True}, "base", "no_automation_api"),
        ({"evse1_unit_id": 0, "evse2_unit_id": 0}, "base", "no_unit_ids"),
    ],
)
async def test_options_errors_then_recovery(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ccu: CtekModbusServer,
    changes: dict[str, Any],
    field: str,
    error: str,
) -> None:
    """Each set-up mistake is named on its field; correcting it works."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_STALE_AFTER: 120, CONF_MODBUS: True}
    )
    port = free_port() if changes.pop("closed_port", False) else ccu.port
    ccu.faults.api_disabled = changes.pop("api_disabled", False)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], modbus_input(port, **changes)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    ccu.faults.api_disabled = False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], modbus_input(ccu.port)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_MODBUS] is True


async def test_options_unexpected_error(
    hass: HomeAssistant, init_integration: MockConfigEntry, ccu: CtekModbusServer
) -> None:
    """An error nobody foresaw while probing is shown on the form, not raised."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_STALE_AFTER: 120, CONF_MODBUS: True}
    )
    with patch.object(CtekModbusClient, "probe", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], modbus_input(ccu.port)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}


async def test_turning_control_off(
    hass: HomeAssistant, init_integration: MockConfigEntry, ccu: CtekModbusServer
) -> None:
    """Without control again, the controls go away with the next set-up."""
    await enable_control(hass, init_integration, ccu)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_STALE_AFTER: 120, CONF_MODBUS: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.runtime_data.handle.capabilities(1).current_limit is None
