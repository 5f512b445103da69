"""A simulated house meter: a P1/HAN reader publishing phase currents over MQTT.

It publishes what DSMR-reader publishes for a smart meter's P1 port, one
topic per phase, ``dsmr/reading/phase_power_current_l1`` to ``_l3``, a plain
number of amperes (one decimal) each, every second. What it measures is the
whole house behind the main fuse: a base load, appliances switched on and off
(by a schedule or by hand), and the simulated chargers' current, read from
the simulator objects in the same process. So it closes the loop: a limit
that EVSE Bridge sends to a simulated charger shows in the next reading.
``silent`` stops the readings, as an unplugged reader would.

Run standalone with a Mennekes AMTRON and a Circontrol CirCarLife behind the
meter, an oven that runs 40 s every 2 minutes and a hob that runs now and
then::

    python -m simulators.house_meter --port 1883 --mennekes-port 25000 \
        --circontrol-port 18080
"""

import argparse
import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, field
import socket
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from .circontrol import CircontrolSimulator
from .ctek import Message
from .mennekes import MennekesSimulator

type Amps = tuple[float, float, float]
type Load = Callable[[], Amps]
"""What something draws now, per phase."""

PREFIX = "dsmr/reading"
BASE_LOAD_A: Amps = (1.2, 0.8, 1.6)
"""Fridge, router, standby: what the house draws when nothing runs."""


@dataclass(kw_only=True)
class Appliance:
    """Something in the house that is switched on and off."""

    name: str
    amps: Amps
    every: float | None = None
    """Seconds from one switch-on to the next; None: switched by hand only."""
    lasts: float = 0.0
    """Seconds it runs each time."""
    first: float = 0.0
    """Seconds after the meter's start of the first switch-on."""
    forced: bool | None = None
    """Switched by hand: on or off whatever the schedule says."""

    def is_on(self, clock: float) -> bool:
        """Return whether it runs at ``clock`` (seconds since the start)."""
        if self.forced is not None:
            return self.forced
        if self.every is None or clock < self.first:
            return False
        return (clock - self.first) % self.every < self.lasts


def oven(
    *, every: float | None = None, lasts: float = 0.0, first: float = 0.0
) -> Appliance:
    """Return a three-phase oven: about 9.5 A on each phase (6.5 kW)."""
    return Appliance(
        name="oven", amps=(9.5, 9.5, 9.5), every=every, lasts=lasts, first=first
    )


def hob(
    *, every: float | None = None, lasts: float = 0.0, first: float = 0.0
) -> Appliance:
    """Return a single-phase hob on L1 (two cooking zones): 8 A (1.8 kW)."""
    return Appliance(
        name="hob", amps=(8.0, 0.0, 0.0), every=every, lasts=lasts, first=first
    )


def mennekes_load(simulator: MennekesSimulator) -> Load:
    """Return what a simulated AMTRON's car draws, per phase."""

    def load() -> Amps:
        power = simulator.power_w
        amps = power / simulator.phases / 230.0 if power else 0.0
        return _on_phases(amps, simulator.phases)

    return load


def circontrol_load(simulator: CircontrolSimulator, plug: int = 1) -> Load:
    """Return what a simulated CirCarLife plug's car draws, per phase."""

    def load() -> Amps:
        return _on_phases(simulator.current_a(simulator.plug(plug)), simulator.phases)

    return load


def _on_phases(amps: float, phases: int) -> Amps:
    """Return ``amps`` on L1, or on all three phases."""
    return (amps, amps, amps) if phases == 3 else (amps, 0.0, 0.0)  # noqa: PLR2004


@dataclass(kw_only=True)
class HouseMeter:
    """The grid side of the main fuse, as the P1 port reports it."""

    base_a: Amps = BASE_LOAD_A
    appliances: list[Appliance] = field(default_factory=list)
    chargers: list[Load] = field(default_factory=list)
    prefix: str = PREFIX
    clock: float = 0.0
    """Seconds since the start; moved on by :meth:`advance`."""
    silent: bool = False
    samples: list[tuple[float, Amps]] = field(default_factory=list)
    """Every reading published: (clock, amperes per phase)."""

    def appliance(self, name: str) -> Appliance:
        """Return an appliance by name."""
        return next(item for item in self.appliances if item.name == name)

    def switch(self, name: str, on: bool | None) -> None:  # noqa: FBT001
        """Switch an appliance on or off by hand; None returns it to its schedule."""
        self.appliance(name).forced = on

    def currents(self) -> Amps:
        """Return the current per phase now, as the meter reports it (0.1 A)."""
        loads = [
            self.base_a,
            *(item.amps for item in self.appliances if item.is_on(self.clock)),
        ]
        loads += [charger() for charger in self.chargers]
        l1, l2, l3 = (
            round(sum(load[phase] for load in loads), 1) for phase in range(3)
        )
        return (l1, l2, l3)

    def topic(self, phase: int) -> str:
        """Return the topic of phase 1, 2 or 3."""
        return f"{self.prefix}/phase_power_current_l{phase}"

    def reading(self) -> list[Message]:
        """Take a reading: the messages to publish now (none while silent)."""
        if self.silent:
            return []
        amps = self.currents()
        self.samples.append((self.clock, amps))
        return [
            (self.topic(phase), f"{value:.1f}") for phase, value in enumerate(amps, 1)
        ]

    def advance(self, seconds: float) -> None:
        """Let time pass."""
        self.clock += seconds


class MeterPublisher:
    """The reader's MQTT client: QoS 0, each reading sent at once.

    A P1 reader sends a fresh reading every second; a lost one is replaced
    by the next, so nothing waits for the broker's acknowledgement.
    """

    def __init__(self, host: str, port: int, *, client_id: str = "p1-reader") -> None:
        """Connect to the broker and start the network loop."""
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.connect(host, port)
        # Three small messages a second: without this, Nagle's algorithm holds
        # the second and third back until the first is acknowledged.
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client.loop_start()

    def publish(self, messages: list[Message]) -> None:
        """Send a reading's messages."""
        for topic, payload in messages:
            self._client.publish(topic, payload, qos=0, retain=False)

    def close(self) -> None:
        """Disconnect and stop the network loop."""
        self._client.disconnect()
        self._client.loop_stop()


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.house_meter",
        description="Simulated P1 house meter with chargers behind it (MQTT).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="MQTT broker host")
    parser.add_argument("--port", type=int, default=1883, help="MQTT broker port")
    parser.add_argument("--prefix", default=PREFIX, help="topic prefix")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds")
    parser.add_argument(
        "--mennekes-port", type=int, help="also serve a Mennekes AMTRON here"
    )
    parser.add_argument("--mennekes-pin", default="1234")
    parser.add_argument(
        "--circontrol-port", type=int, help="also serve a Circontrol CirCarLife here"
    )
    parser.add_argument(
        "--oven-every", type=float, default=120.0, help="seconds; 0: never"
    )
    parser.add_argument("--oven-lasts", type=float, default=40.0, help="seconds")
    parser.add_argument(
        "--hob-every", type=float, default=420.0, help="seconds; 0: never"
    )
    parser.add_argument("--hob-lasts", type=float, default=90.0, help="seconds")
    return parser


def appliances(args: argparse.Namespace) -> list[Appliance]:
    """Return the scheduled appliances the command line asks for."""
    found = []
    if args.oven_every:
        found.append(oven(every=args.oven_every, lasts=args.oven_lasts, first=30.0))
    if args.hob_every:
        found.append(hob(every=args.hob_every, lasts=args.hob_lasts, first=200.0))
    return found


async def serve(args: argparse.Namespace, stop: threading.Event) -> None:
    """Serve the chargers asked for and publish a reading every interval."""
    meter = HouseMeter(prefix=args.prefix, appliances=appliances(args))
    async with contextlib.AsyncExitStack() as stack:
        if args.mennekes_port is not None:
            mennekes = MennekesSimulator(
                dev_key=args.mennekes_pin, port=args.mennekes_port
            )
            await stack.enter_async_context(mennekes)
            mennekes.plug_in()
            mennekes.start_ticking()
            meter.chargers.append(mennekes_load(mennekes))
            print(f"Mennekes AMTRON on {mennekes.base_url}", flush=True)
        if args.circontrol_port is not None:
            circontrol = CircontrolSimulator(
                port=args.circontrol_port, phases=3, plugged_in=True
            )
            await stack.enter_async_context(circontrol)
            circontrol.start_ticking()
            meter.chargers.append(circontrol_load(circontrol))
            print(f"Circontrol CirCarLife on {circontrol.url}", flush=True)
        publisher = MeterPublisher(args.host, args.port)
        stack.callback(publisher.close)
        print(
            f"House meter publishing {meter.topic(1)} (and l2, l3) every"
            f" {args.interval} s to {args.host}:{args.port}",
            flush=True,
        )
        await publish_until_stopped(meter, publisher, args.interval, stop)


async def publish_until_stopped(
    meter: HouseMeter,
    publisher: MeterPublisher,
    interval: float,
    stop: threading.Event,
) -> None:
    """Publish a reading every ``interval`` seconds until ``stop`` is set."""
    while not stop.is_set():
        publisher.publish(meter.reading())
        await asyncio.sleep(interval)
        meter.advance(interval)


def main(
    argv: Sequence[str] | None = None, stop: threading.Event | None = None
) -> None:
    """Run the meter until interrupted or ``stop`` is set."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args, stop or threading.Event()))


if __name__ == "__main__":
    main()
