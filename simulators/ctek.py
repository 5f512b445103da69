"""Simulated CTEK Chargestorm: publishes the Automation interface over MQTT.

The charger model keeps state (a car plugs in, charges at the current the
station assigns, the meters count up) and renders the documented topics and
payloads: ``<base>/<CBID>/{mainMeter,evseN}/{em,status,meterinfo}``. A plain
paho-mqtt client publishes them, as the charger's CCU would. With
``--modbus-port`` the same model also serves the Modbus TCP automation API
(``simulators.ctek_modbus``): a charging limit written there changes what is
published here.

Run one standalone::

    python -m simulators.ctek --port 1883 --charger-id 91728M03W4010406 \
        --modbus-port 5020
"""

import argparse
import asyncio
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import random
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .ctek_modbus import CtekModbusServer

type Message = tuple[str, str]

PHASES = 3
NOMINAL_VOLTAGE = 230.0
# The house side of the main meter: the CCU itself and its display.
STATION_BASE_LOAD_W = 12.0
MIN_CURRENT_A = 6
# The Modbus charging limit before one is written and after a restart: the
# outlet's rating, so no limit at all.
DEFAULT_LIMIT_A = 32


@dataclass(kw_only=True)
class SimulatedEvse:
    """One outlet of the station, with a car that may be plugged in."""

    number: int
    energy_wh: float = 0.0
    assigned_a: int = 16
    """What the station assigns (load balancing, schedule); 0 pauses.

    Modbus reads it as the maximum assignment.
    """
    limit_a: int = DEFAULT_LIMIT_A
    """Charging limit written over Modbus; 0-5 pause."""
    car_connected: bool = False
    car_max_a: float = 16.0
    car_full: bool = False
    serial_number: str = ""

    @property
    def state(self) -> str:
        """Return the EVSE state code the CCU would publish."""
        if not self.car_connected:
            return "AVAL"
        if not self.offered_a:
            return "PAUS"
        if self.car_full:
            return "NCRQ"
        return "CHRG"

    @property
    def offered_a(self) -> int:
        """Return what the outlet offers: the assignment capped by the limit.

        Less than 6 A is nothing.
        """
        offered = min(self.assigned_a, self.limit_a)
        return offered if offered >= MIN_CURRENT_A else 0

    @property
    def current_a(self) -> float:
        """Return the current per phase the car draws."""
        if self.state != "CHRG":
            return 0.0
        return min(float(self.offered_a), self.car_max_a)

    @property
    def voltage_v(self) -> float:
        """Return the phase voltage without the noise ``em`` messages add."""
        return NOMINAL_VOLTAGE

    @property
    def power_w(self) -> float:
        """Return the power the car draws."""
        return PHASES * self.voltage_v * self.current_a


@dataclass(kw_only=True)
class CtekSimulator:
    """A Chargestorm Connected with a main meter and ``evses`` outlets."""

    base_topic: str = "CTEK"
    charger_id: str = "91728M03W4010406"
    evses: int = 2
    main_meter_wh: float = 20_218_145.0
    seed: int = 7
    clock: float = 0.0
    outlets: list[SimulatedEvse] = field(init=False)

    def __post_init__(self) -> None:
        """Create the outlets."""
        self._random = random.Random(self.seed)
        self.outlets = [
            SimulatedEvse(
                number=number,
                energy_wh=1_000_000.0 * number,
                serial_number=f"27227{number}U",
            )
            for number in range(1, self.evses + 1)
        ]

    def evse(self, number: int) -> SimulatedEvse:
        """Return outlet ``number`` (1-based)."""
        return self.outlets[number - 1]

    def plug_in(self, number: int, *, car_max_a: float = 16.0) -> None:
        """Connect a car to an outlet."""
        outlet = self.evse(number)
        outlet.car_connected, outlet.car_max_a, outlet.car_full = True, car_max_a, False

    def unplug(self, number: int) -> None:
        """Disconnect the car."""
        self.evse(number).car_connected = False

    def reboot(self) -> None:
        """Restart the CCU: it forgets the charging limits written over Modbus."""
        for outlet in self.outlets:
            outlet.limit_a = DEFAULT_LIMIT_A

    def advance(self, seconds: float) -> None:
        """Let time pass: charging cars draw energy through the meters."""
        self.clock += seconds
        for outlet in self.outlets:
            outlet.energy_wh += outlet.power_w * seconds / 3600
        self.main_meter_wh += self.main_power_w * seconds / 3600

    def _voltages(self) -> list[float]:
        return [
            round(NOMINAL_VOLTAGE + self._random.uniform(-4, 6), 1)
            for _ in range(PHASES)
        ]

    @property
    def main_power_w(self) -> float:
        """Return what the whole station draws."""
        return STATION_BASE_LOAD_W + sum(outlet.power_w for outlet in self.outlets)

    def _topic(self, part: str, kind: str) -> str:
        return f"{self.base_topic}/{self.charger_id}/{part}/{kind}"

    def _em(self, energy_wh: float, power_w: float, current_a: float) -> str:
        currents = [
            round(current_a + self._random.uniform(-0.05, 0.05), 3)
            for _ in range(PHASES)
        ]
        return json.dumps(
            {
                "current": [max(value, 0.0) for value in currents],
                "energy": int(energy_wh),
                "frequency": 50,
                "power": round(power_w, 1),
                "timestamp": self.timestamp(),
                "voltage": self._voltages(),
            }
        )

    @staticmethod
    def timestamp() -> str:
        """Return the CCU's time stamp format."""
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def meter_messages(self) -> Iterator[Message]:
        """Yield one ``em`` message per meter."""
        main_current = self.main_power_w / (PHASES * NOMINAL_VOLTAGE)
        yield (
            self._topic("mainMeter", "em"),
            self._em(self.main_meter_wh, self.main_power_w, main_current),
        )
        for outlet in self.outlets:
            yield (
                self._topic(f"evse{outlet.number}", "em"),
                self._em(outlet.energy_wh, outlet.power_w, outlet.current_a),
            )

    def status_messages(self) -> Iterator[Message]:
        """Yield one ``status`` message per outlet."""
        for outlet in self.outlets:
            payload = {
                "assigned": outlet.offered_a if outlet.state == "CHRG" else 0,
                "state": outlet.state,
                "timestamp": self.timestamp(),
            }
            yield self._topic(f"evse{outlet.number}", "status"), json.dumps(payload)

    def meterinfo_messages(self) -> Iterator[Message]:
        """Yield one ``meterinfo`` message per outlet (the main meter sends none)."""
        for outlet in self.outlets:
            payload = json.dumps({"serialno": outlet.serial_number})
            yield self._topic(f"evse{outlet.number}", "meterinfo"), payload

    def all_messages(self) -> list[Message]:
        """Return what the CCU publishes in one report round."""
        return [
            *self.meterinfo_messages(),
            *self.status_messages(),
            *self.meter_messages(),
        ]


class MqttPublisher:
    """A plain MQTT client that publishes as the CCU does."""

    def __init__(
        self, host: str, port: int, *, client_id: str = "ctek-ccu-sim"
    ) -> None:
        """Connect to the broker and start the network loop."""
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.connect(host, port)
        self._client.loop_start()

    def publish(self, messages: list[Message], *, retain: bool = False) -> bool:
        """Publish messages and wait until the broker has them.

        Return False when the broker cannot be reached: like the CCU, the
        publisher drops the report and reconnects in the background.
        """
        try:
            for info in [
                self._client.publish(topic, payload, qos=1, retain=retain)
                for topic, payload in messages
            ]:
                info.wait_for_publish(timeout=10)
        except RuntimeError, ValueError:
            return False
        return True

    def close(self) -> None:
        """Disconnect and stop the network loop."""
        self._client.disconnect()
        self._client.loop_stop()


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(description="Simulated CTEK Chargestorm (MQTT)")
    parser.add_argument("--host", default="127.0.0.1", help="MQTT broker host")
    parser.add_argument("--port", type=int, default=1883, help="MQTT broker port")
    parser.add_argument("--base-topic", default="CTEK")
    parser.add_argument("--charger-id", default="91728M03W4010406")
    parser.add_argument("--evses", type=int, default=2)
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between reports"
    )
    parser.add_argument(
        "--cars", type=int, default=1, help="EVSEs (from EVSE 1) with a car charging"
    )
    parser.add_argument(
        "--modbus-port",
        type=int,
        default=None,
        help="also serve the Modbus TCP automation API on this port of 127.0.0.1",
    )
    parser.add_argument(
        "--modbus-api", type=int, choices=(1, 2), default=1, help="automation API"
    )
    return parser


async def serve(args: argparse.Namespace, stop: threading.Event) -> None:
    """Publish a report every interval, and serve Modbus if asked, until stopped."""
    simulator = CtekSimulator(
        base_topic=args.base_topic, charger_id=args.charger_id, evses=args.evses
    )
    for number in range(1, min(args.cars, args.evses) + 1):
        simulator.plug_in(number)
    publisher = MqttPublisher(args.host, args.port, client_id=f"ctek-{args.charger_id}")
    print(
        f"CTEK simulator {args.charger_id} publishing to {args.host}:{args.port}",
        flush=True,
    )
    try:
        async with contextlib.AsyncExitStack() as stack:
            if args.modbus_port is not None:
                server = CtekModbusServer(
                    simulator=simulator, port=args.modbus_port, api=args.modbus_api
                )
                await stack.enter_async_context(server)
                print(
                    f"Modbus TCP automation API v{args.modbus_api} on"
                    f" 127.0.0.1:{server.port} (unit id n = EVSE n)",
                    flush=True,
                )
            while not stop.is_set():
                await asyncio.to_thread(publisher.publish, simulator.all_messages())
                await asyncio.to_thread(stop.wait, args.interval)
                simulator.advance(args.interval)
    finally:
        stop.set()  # ends a wait still running in its thread
        publisher.close()


def main(argv: list[str] | None = None, stop: threading.Event | None = None) -> None:
    """Run the simulator until interrupted or ``stop`` is set."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args, stop or threading.Event()))


if __name__ == "__main__":
    main()
