"""End to end: a real mosquitto, Home Assistant's real MQTT client, a CCU publisher."""

from collections.abc import AsyncGenerator
import threading

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.ctek import CtekSimulator, MqttPublisher, main
from tests.conftest import CBID

from .conftest import Broker, publish_until, wait_for

PREFIX = f"sensor.chargestorm_{CBID.lower()}"


@pytest.fixture
async def publisher(broker: Broker) -> AsyncGenerator[MqttPublisher]:
    """Connect a plain MQTT client in the role of the charger's CCU."""
    client = MqttPublisher("127.0.0.1", broker.port)
    yield client
    client.close()


@pytest.fixture
async def charger(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set the Chargestorm entry up on the real MQTT integration."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return an entity's state, or None if it does not exist."""
    current = hass.states.get(entity_id)
    return None if current is None else current.state


@pytest.mark.usefixtures("charger")
async def test_documented_payloads_become_entities(
    hass: HomeAssistant, publisher: MqttPublisher
) -> None:
    """What the CCU publishes shows up as devices and entity states."""
    simulator = CtekSimulator(charger_id=CBID)
    simulator.plug_in(1)

    def evse1_charging() -> bool:
        # Lifetime energy is shown once a second report confirms it.
        return state(hass, f"{PREFIX}_evse_1_status") == "charging" and state(
            hass, f"{PREFIX}_main_meter_energy"
        ) not in (None, "unknown")

    await publish_until(
        hass, lambda: publisher.publish(simulator.all_messages()), evse1_charging
    )
    assert float(state(hass, f"{PREFIX}_evse_1_power") or 0) == pytest.approx(
        3 * 230 * 16
    )
    assert float(state(hass, f"{PREFIX}_evse_1_energy") or 0) == pytest.approx(1000.0)
    assert state(hass, f"{PREFIX}_evse_2_status") == "available"
    assert (
        state(hass, f"binary_sensor.chargestorm_{CBID.lower()}_evse_1_charging") == "on"
    )
    assert float(state(hass, f"{PREFIX}_main_meter_energy") or 0) == pytest.approx(
        20218.145
    )

    simulator.advance(30)  # one report interval of the CCU
    await hass.async_add_executor_job(
        publisher.publish, list(simulator.meter_messages())
    )

    def energy_counted() -> bool:
        return float(state(hass, f"{PREFIX}_evse_1_energy") or 0) > 1000.0

    await wait_for(energy_counted)
    assert float(state(hass, f"{PREFIX}_evse_1_energy") or 0) == pytest.approx(
        1000.092, abs=0.001
    )


@pytest.mark.usefixtures("charger")
async def test_broker_restart(
    hass: HomeAssistant, broker: Broker, publisher: MqttPublisher
) -> None:
    """When the broker goes, entities go unavailable; when it is back, so are they."""
    simulator = CtekSimulator(charger_id=CBID)
    power = f"{PREFIX}_main_meter_power"

    def shown() -> bool:
        return state(hass, power) not in (None, STATE_UNAVAILABLE)

    def unavailable() -> bool:
        return state(hass, power) == STATE_UNAVAILABLE

    def report() -> None:
        publisher.publish(simulator.all_messages())

    await publish_until(hass, report, shown)
    await hass.async_add_executor_job(broker.stop)
    await wait_for(unavailable)
    await hass.async_add_executor_job(broker.start)
    # Home Assistant and the CCU both reconnect by themselves.
    await publish_until(hass, report, shown, limit=60)


@pytest.mark.usefixtures("charger")
async def test_standalone_simulator(hass: HomeAssistant, broker: Broker) -> None:
    """The simulator's command line publishes a charging car that HA shows."""
    stop = threading.Event()
    runner = threading.Thread(
        target=main,
        args=(["--port", str(broker.port), "--interval", "0.2"], stop),
    )
    runner.start()
    try:

        def charging() -> bool:
            return state(hass, f"{PREFIX}_evse_1_status") == "charging"

        await wait_for(charging)
    finally:
        stop.set()
        await hass.async_add_executor_job(runner.join)
