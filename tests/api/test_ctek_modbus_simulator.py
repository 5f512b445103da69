"""The simulated CCU's Modbus server: its register map, and what MQTT then shows."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
import json
from pathlib import Path
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
import pytest

from custom_components.evse_bridge.api.ctek_modbus import (
    CtekModbusClient,
    CtekModbusProbeResult,
)
from simulators.ctek import DEFAULT_LIMIT_A, CtekSimulator, main
from simulators.ctek_modbus import CtekModbusServer
from tests.e2e.conftest import Broker, free_port

CBID = "CB1"


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow the loopback sockets these tests need."""


# --- The register map, seen with a plain pymodbus client ------------------------------


@pytest.fixture
def simulator() -> CtekSimulator:
    """Return a single Chargestorm with a car charging."""
    charger = CtekSimulator(evses=1)
    charger.plug_in(1)
    return charger


@pytest.fixture
async def raw(simulator: CtekSimulator) -> AsyncGenerator[AsyncModbusTcpClient]:
    """Yield a plain pymodbus client of a running simulated CCU."""
    async with (
        CtekModbusServer(simulator=simulator) as server,
        AsyncModbusTcpClient("127.0.0.1", port=server.port, timeout=2) as client,
    ):
        yield client


async def test_only_the_limit_is_writable(
    raw: AsyncModbusTcpClient, simulator: CtekSimulator
) -> None:
    """Read-only registers refuse writes; the limit takes FC6 only."""
    refused = await raw.write_register(0x1201, 10, device_id=1)
    assert refused.exception_code == ExcCodes.ILLEGAL_ADDRESS
    several = await raw.write_registers(0x1200, [10], device_id=1)
    assert several.exception_code == ExcCodes.ILLEGAL_FUNCTION
    assert simulator.evse(1).limit_a == DEFAULT_LIMIT_A
    written = await raw.write_register(0x1200, 10, device_id=1)
    assert not written.isError()
    assert written.registers == [10]
    assert simulator.evse(1).limit_a == 10


async def test_limit_above_maximum_assignment_is_an_illegal_value(
    raw: AsyncModbusTcpClient, simulator: CtekSimulator
) -> None:
    """The maximum assignment is the most the charger accepts."""
    answer = await raw.write_register(0x1200, simulator.evse(1).assigned_a + 1)
    assert answer.exception_code == ExcCodes.ILLEGAL_VALUE
    assert simulator.evse(1).limit_a == DEFAULT_LIMIT_A


async def test_one_to_five_amperes_pause(
    raw: AsyncModbusTcpClient, simulator: CtekSimulator
) -> None:
    """The CCU stores 1-5 A but treats it as 0."""
    await raw.write_register(0x1200, 5, device_id=1)
    assert (await raw.read_holding_registers(0x1200, device_id=1)).registers == [5]
    assert simulator.evse(1).state == "PAUS"


async def test_registers_outside_the_map(raw: AsyncModbusTcpClient) -> None:
    """Gaps, input registers and other units are not served."""
    for address, count in ((0x1009, 1), (0x1000, 10), (0x1109, 1), (0x1202, 1)):
        answer = await raw.read_holding_registers(address, count=count, device_id=1)
        assert answer.exception_code == ExcCodes.ILLEGAL_ADDRESS, hex(address)
    inputs = await raw.read_input_registers(0x1000, device_id=1)
    assert inputs.exception_code == ExcCodes.ILLEGAL_FUNCTION
    other_unit = await raw.read_holding_registers(0x1000, device_id=2)
    assert other_unit.exception_code == ExcCodes.ILLEGAL_ADDRESS


# --- Modbus in, MQTT out ----------------------------------------------------------


@pytest.fixture
def mosquitto(tmp_path: Path) -> Generator[Broker]:
    """Run a real mosquitto on a free port of 127.0.0.1."""
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
    )
    broker = Broker(port, config)
    broker.start()
    yield broker
    broker.stop()


class Subscriber:
    """A plain MQTT client that keeps the last payload of every topic."""

    def __init__(self, port: int) -> None:
        """Subscribe to everything the charger publishes."""
        self.last: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._client.on_message = self._on_message
        self._client.on_connect = lambda client, *_: client.subscribe(f"CTEK/{CBID}/#")
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(
        self, client: object, userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        with self._lock:
            self.last[message.topic] = json.loads(message.payload)

    def payload(self, part: str, kind: str) -> dict[str, object]:
        """Return the last payload of a topic (empty if none yet)."""
        with self._lock:
            return self.last.get(f"CTEK/{CBID}/{part}/{kind}", {})

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


async def wait_for(condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Wait until a condition holds; fail with its name if it never does."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition.__name__}")
        await asyncio.sleep(0.05)


async def test_limit_written_over_modbus_shows_in_mqtt(mosquitto: Broker) -> None:
    """The command line's charger: 10 A over Modbus, then em and status show it."""
    modbus_port = free_port()
    stop = threading.Event()
    arguments = [
        *("--port", str(mosquitto.port), "--charger-id", CBID, "--evses", "1"),
        *("--interval", "0.1", "--modbus-port", str(modbus_port)),
    ]
    runner = threading.Thread(target=main, args=(arguments, stop))
    subscriber = Subscriber(mosquitto.port)
    runner.start()
    try:
        async with CtekModbusClient(
            host="127.0.0.1", port=modbus_port, request_timeout=1, verify_interval=0
        ) as ctek:

            async def modbus_up() -> bool:
                probe = await ctek.probe(1)
                return probe.result is CtekModbusProbeResult.OK

            deadline = time.monotonic() + 20
            while not await modbus_up():
                assert time.monotonic() < deadline, "no Modbus server"
                await asyncio.sleep(0.1)

            await ctek.set_limit(1, 10)

            def em_at_10_a() -> bool:
                em = subscriber.payload("evse1", "em")
                return em.get("power") == 3 * 230 * 10

            await wait_for(em_at_10_a)
            currents = subscriber.payload("evse1", "em")["current"]
            assert isinstance(currents, list)
            assert currents == pytest.approx([10.0] * 3, abs=0.05)

            def status_charging_at_10_a() -> bool:
                status = subscriber.payload("evse1", "status")
                return status.get("state") == "CHRG" and status.get("assigned") == 10

            await wait_for(status_charging_at_10_a)

            await ctek.set_limit(1, 0)

            def paused() -> bool:
                status = subscriber.payload("evse1", "status")
                em = subscriber.payload("evse1", "em")
                return status.get("state") == "PAUS" and em.get("power") == 0

            await wait_for(paused)

            await ctek.set_limit(1, 10)
            await wait_for(status_charging_at_10_a)
    finally:
        stop.set()
        await asyncio.to_thread(runner.join)
        subscriber.close()
