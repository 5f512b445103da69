"""P7's load: many simulated OCPP charge points in one process, each with a car.

Run by ``bench.run`` as its own process, so its CPU is not Home Assistant's::

    python -m bench.ocpp_fleet --url ws://127.0.0.1:9000/ocpp --output f.json

Every charge point connects and boots (it must be accepted already), a car
charges, and every ``interval`` seconds it sends MeterValues at a new current
(the car draws 6-16 A, chosen at random), so each message changes the power
Home Assistant shows. Prints ``started`` when all charge points are accepted;
at the end writes the messages sent, those not answered and the last power
each charge point reported, prints ``done``, and stays connected (so Home
Assistant keeps showing the values) until its standard input closes.
"""

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import json
from pathlib import Path
import random
import sys
import time
from typing import Any

from ocpp.exceptions import OCPPError

from simulators.ocpp import VOLTAGE_V, OcppSimulator

CAR_CURRENTS_A = tuple(range(6, 17))
CONNECT_LIMIT_S = 120.0
"""How long all charge points may take to connect and be accepted."""


def _say(word: str) -> None:
    """Tell the benchmark where the fleet is, on standard output."""
    sys.stdout.write(word + "\n")
    sys.stdout.flush()


def charge_point_ids(count: int) -> list[str]:
    """Return the ids of the fleet's charge points."""
    return [f"P7CP{number:03d}" for number in range(1, count + 1)]


class Member:
    """One charge point of the fleet and what it sent."""

    def __init__(self, url: str, seed: int) -> None:
        """Simulate the charge point at ``url``."""
        self.sim = OcppSimulator(url)
        self.random = random.Random(seed)  # noqa: S311 - load pattern, not security
        self.sent = 0
        self.lost = 0
        self.power_w: float | None = None

    async def start(self) -> None:
        """Connect, boot (accepted), plug a car in."""
        await self.sim.connect()
        if await self.sim.boot() != "Accepted":
            msg = f"{self.sim.charge_point_id} was not accepted"
            raise RuntimeError(msg)
        await self.sim.plug_in()

    async def report(self, seconds: float) -> None:
        """Let ``seconds`` pass at a new current; send the meter values."""
        connector = self.sim.connectors[1]
        connector.car_max_current_a = float(self.random.choice(CAR_CURRENTS_A))
        try:
            await self.sim.advance(seconds)
            await self.sim.send_meter_values(1)
        except ConnectionError, TimeoutError, OCPPError:
            self.lost += 1
        else:
            self.power_w = connector.current_a * VOLTAGE_V * self.sim.phases
        self.sent += 1

    async def run(self, interval: float, until: float, offset: float) -> None:
        """Report every ``interval`` s, from ``offset`` s on, until ``until``."""
        await asyncio.sleep(offset)
        next_at = time.monotonic()
        while next_at + interval <= until:
            next_at += interval
            await asyncio.sleep(max(next_at - time.monotonic(), 0.0))
            await self.report(interval)


async def run(args: argparse.Namespace) -> None:
    """Run the fleet as the arguments say; write what it sent."""
    members = {
        charge_point_id: Member(f"{args.url}/{charge_point_id}", seed)
        for seed, charge_point_id in enumerate(charge_point_ids(args.chargers))
    }
    try:
        async with asyncio.timeout(CONNECT_LIMIT_S):
            await asyncio.gather(*(member.start() for member in members.values()))
        # Set-up (configuration, first meter values) is done before the window.
        await asyncio.gather(*(member.sim.settle() for member in members.values()))
        _say("started")
        until = time.monotonic() + args.duration
        # Spread the charge points over the interval, as real ones would be.
        await asyncio.gather(
            *(
                member.run(args.interval, until, args.interval * number / len(members))
                for number, member in enumerate(members.values())
            )
        )
        await asyncio.gather(*(member.sim.settle() for member in members.values()))
        sent: dict[str, Any] = {
            "messages": sum(member.sent for member in members.values()),
            "unanswered": sum(member.lost for member in members.values()),
            "power_w": {key: member.power_w for key, member in members.items()},
        }
        args.output.write_text(json.dumps(sent))
        _say("done")
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await asyncio.gather(
            *(member.sim.close() for member in members.values()),
            return_exceptions=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench.ocpp_fleet``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="ws://host:port/path")
    parser.add_argument("--chargers", type=int, default=100)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
