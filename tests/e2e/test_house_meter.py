"""The simulated house meter: P1 readings over a real mosquitto, a closed loop."""

from collections.abc import AsyncGenerator, Generator
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from simulators.circontrol import CHARGING, CircontrolSimulator
from simulators.house_meter import (
    HouseMeter,
    MeterPublisher,
    circontrol_load,
    hob,
    main,
    mennekes_load,
    oven,
)
from simulators.mennekes import MennekesSimulator

from .conftest import Broker, free_port, wait_for

TOPICS = [f"dsmr/reading/phase_power_current_l{phase}" for phase in (1, 2, 3)]


class Reader:
    """A plain MQTT client that keeps what the meter publishes, in order."""

    def __init__(self, port: int) -> None:
        """Subscribe to every topic of the broker on ``port``."""
        self.messages: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="reader")
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_connect = lambda client, *_: client.subscribe("#")
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            msg = "could not subscribe"
            raise RuntimeError(msg)

    def _on_message(
        self, _client: object, _data: object, message: mqtt.MQTTMessage
    ) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload.decode()))

    def received(self) -> list[tuple[str, str]]:
        """Return the messages so far."""
        with self._lock:
            return list(self.messages)

    def latest(self) -> dict[str, float]:
        """Return the last value of each topic."""
        return {topic: float(payload) for topic, payload in self.received()}

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def reader(broker: Broker) -> Generator[Reader]:
    """Subscribe to the broker, as Home Assistant's MQTT integration would."""
    client = Reader(broker.port)
    yield client
    client.close()


@pytest.fixture
async def publisher(broker: Broker) -> AsyncGenerator[MeterPublisher]:
    """Connect the meter's MQTT client."""
    client = MeterPublisher("127.0.0.1", broker.port)
    yield client
    client.close()


async def test_publishes_each_phase_and_follows_the_schedule(
    reader: Reader, publisher: MeterPublisher
) -> None:
    """Base load, then an oven on all three phases, then a hob on L1 only."""
    meter = HouseMeter(
        base_a=(1.0, 2.0, 3.0),
        appliances=[oven(every=60, lasts=20, first=10), hob()],
    )
    publisher.publish(meter.reading())

    def three_values() -> bool:
        return len(reader.received()) == 3

    await wait_for(three_values)
    assert reader.received() == [
        (TOPICS[0], "1.0"),
        (TOPICS[1], "2.0"),
        (TOPICS[2], "3.0"),
    ]

    meter.advance(10)  # the oven's first run
    assert meter.currents() == (10.5, 11.5, 12.5)
    meter.advance(20)  # and its end
    assert meter.currents() == (1.0, 2.0, 3.0)
    meter.advance(40)  # the next run, with the hob switched on by hand
    meter.switch("hob", on=True)
    assert meter.currents() == (18.5, 11.5, 12.5)
    meter.switch("oven", on=False)
    assert meter.currents() == (9.0, 2.0, 3.0)
    meter.switch("oven", None)
    assert meter.appliance("oven").is_on(meter.clock)


async def test_follows_a_chargers_current(socket_enabled: None) -> None:
    """A limit sent to a simulated charger shows in the next reading."""
    async with (
        MennekesSimulator(dev_key="1234") as mennekes,
        CircontrolSimulator(phases=1, plugged_in=True) as circontrol,
    ):
        meter = HouseMeter(
            base_a=(1.0, 1.0, 1.0),
            chargers=[mennekes_load(mennekes), circontrol_load(circontrol)],
        )
        assert meter.currents() == (1.0, 1.0, 1.0)
        mennekes.plug_in()  # the car charges at the box's 16 A
        assert meter.currents() == (17.0, 17.0, 17.0)
        mennekes.remote_current = 10
        assert meter.currents() == (11.0, 11.0, 11.0)
        mennekes.car_max_current = 8  # the car takes less than offered
        assert meter.currents() == (9.0, 9.0, 9.0)
        circontrol.plug(1).state = CHARGING  # single-phase, on L1
        circontrol.plug(1).current_reduction = 12
        assert meter.currents() == (21.0, 9.0, 9.0)


async def test_silent_meter_publishes_nothing(
    reader: Reader, publisher: MeterPublisher
) -> None:
    """While silent, no reading is taken or published; then it carries on."""
    meter = HouseMeter()
    meter.silent = True
    assert meter.reading() == []
    meter.silent = False
    publisher.publish(meter.reading())

    def one_reading() -> bool:
        return len(reader.received()) == 3

    await wait_for(one_reading)
    assert len(meter.samples) == 1


async def test_command_line_serves_chargers_behind_the_meter(
    broker: Broker, reader: Reader
) -> None:
    """The standalone meter serves chargers; the AMTRON's car shows in the readings."""
    port = free_port()
    stop = threading.Event()
    runner = threading.Thread(
        target=main,
        args=(
            [
                "--port",
                str(broker.port),
                "--interval",
                "0.1",
                "--mennekes-port",
                str(port),
                "--circontrol-port",
                str(free_port()),
                "--oven-every",
                "0",
                "--hob-every",
                "0",
            ],
            stop,
        ),
    )
    runner.start()
    try:

        def car_charging() -> bool:
            # 16 A on each phase on top of the base load.
            return reader.latest().get(TOPICS[1], 0.0) > 16

        await wait_for(car_charging)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
