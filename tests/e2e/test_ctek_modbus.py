"""End to end: a Chargestorm's limit set from Home Assistant over Modbus TCP.

A real mosquitto and Home Assistant's real MQTT client; the simulated CCU
publishes over MQTT and serves Modbus from the same state. Home Assistant's
number -> Modbus write -> the CCU's ``em`` report shows it -> the sensor shows it.
"""

from collections.abc import AsyncGenerator

from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.const import (
    CONF_API_VERSION,
    CONF_MODBUS,
    CONF_STALE_AFTER,
)
from simulators.ctek import CtekSimulator, MqttPublisher
from simulators.ctek_modbus import CtekModbusServer
from tests.conftest import CBID

from .conftest import Broker, publish_until

PREFIX = f"chargestorm_{CBID.lower()}_evse_1"


@pytest.fixture
async def ccu(broker: Broker) -> AsyncGenerator[tuple[CtekModbusServer, MqttPublisher]]:
    """Run a Chargestorm charging on EVSE 1, publishing and serving Modbus."""
    simulator = CtekSimulator(charger_id=CBID)
    simulator.plug_in(1)
    publisher = MqttPublisher("127.0.0.1", broker.port)
    async with CtekModbusServer(simulator=simulator) as server:
        yield server, publisher
    publisher.close()


async def test_limit_set_in_home_assistant_changes_the_power(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    mock_config_entry: MockConfigEntry,
    ccu: tuple[CtekModbusServer, MqttPublisher],
) -> None:
    """10 A set on the number is what the car then draws, as the meter reports."""
    server, publisher = ccu
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            CONF_STALE_AFTER: 120,
            CONF_MODBUS: True,
            CONF_HOST: "127.0.0.1",
            CONF_PORT: server.port,
            CONF_API_VERSION: "1",
            "evse1_unit_id": 1,
            "evse2_unit_id": 2,
        },
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    def report() -> object:
        return publisher.publish(server.simulator.all_messages())

    def power_w() -> float | None:
        current = hass.states.get(f"sensor.{PREFIX}_power")
        return None if current is None else float(current.state)

    def limit_shown() -> bool:
        return hass.states.get(f"number.{PREFIX}_current_limit") is not None

    await publish_until(hass, report, limit_shown)
    assert power_w() == pytest.approx(3 * 230 * 16, rel=0.02)

    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: f"number.{PREFIX}_current_limit", "value": 10},
        blocking=True,
    )
    assert server.simulator.evse(1).limit_a == 10

    def ten_amperes_drawn() -> bool:
        power = power_w()
        return power is not None and abs(power - 3 * 230 * 10) < 3 * 230 * 0.2

    await publish_until(hass, report, ten_amperes_drawn)
    current = hass.states.get(f"sensor.{PREFIX}_offered_current")
    assert current is not None
    assert float(current.state) == 10
