"""P6: smart charging's reaction, from the meter sample to the command on the wire.

A real Home Assistant runs a site with a 200 A main fuse, a grid meter of three
MQTT sensors (``force_update: true``, as the site's documentation asks) and
ten simulated Mennekes boxes in fast mode. The benchmark publishes the meter
twice a second; every fourth sample an oven on L3 takes one step more, and
each step calls for exactly one cut: one box 1 A lower while any has more than
its 6 A minimum, then one box paused per 6 A. The reaction is the time from
publishing that sample to the box receiving the new set-point (the simulator
logs when each POST arrives). Ten boxes: the engine raises a box only after a
hold, so one box gives eleven cuts, then nothing for many minutes.

The cars wait for authorisation and draw nothing (a box that charges reports
the current it offers as drawn, and a simulated car would follow a cut at
once, before the box's next poll): the meter shows the house alone, and the
cut each step calls for does not depend on how fast a car follows. The path
measured is the same: MQTT, the sensors' states, the engine, the command.
"""

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
import json
import math
import time
from typing import Any

from bench.homes import home, start_all
from bench.tools import (
    CACHE,
    LoopThread,
    Publisher,
    merge_entries,
    mqtt_entry,
    percentile,
)
from devtools.live import INTEGRATION, config_entry
from simulators.mennekes import MennekesSimulator

BOXES = 10
FUSE_A = 200.0
MARGIN_A = 0.5
"""The engine keeps this much of the fuse free (SiteConfig.margin_a)."""
WANT_A = 16
MIN_A = 6
HOUSE_A = 2.0
SAMPLE_S = 0.5
"""A fast P1/HAN reader reports every second; twice as often here."""
SAMPLES_PER_STEP = 4
"""Two seconds a step: the Mennekes client spaces its requests 0.5 s apart (the
box dislikes more), and a command is three requests (POST, the read that
verifies it, the refresh), so a box takes a new set-point every 1.5 s at most;
a quicker cut of the same box waits for that (the newest set-point wins)."""
METER_TOPIC = "p6/meter"
MENNEKES_POLL_S = 15
START_LIMIT_S = 300.0
"""Most time the site may take to bring every box to 16 A after a start."""
SETTLE_S = 70.0
"""After the last raise: the site counts a raised current until the box's
reading catches up, at most a minute (site/const.py EXPECT_MAX)."""
REACTION_LIMIT_S = 5.0


def meter_yaml() -> str:
    """Return the grid meter: three MQTT current sensors on one JSON message."""
    lines = ["mqtt:", "  sensor:"]
    for phase in (1, 2, 3):
        lines.extend(
            [
                f'    - name: "Grid L{phase}"',
                f"      unique_id: p6_grid_l{phase}",
                f'      state_topic: "{METER_TOPIC}"',
                f'      value_template: "{{{{ value_json.l{phase} }}}}"',
                '      unit_of_measurement: "A"',
                "      device_class: current",
                "      state_class: measurement",
                "      force_update: true",
            ]
        )
    return "\n".join(lines) + "\n"


def serial(index: int) -> int:
    """Return box ``index``'s serial number."""
    return 1_000_000_001 + index


def site_entry(serials: list[int]) -> dict[str, Any]:
    """Return the site's entry: the fuse, the MQTT meter, the boxes by priority."""
    entry = config_entry(
        "evse_bridge",
        "Home",
        {"type": "site", "name": "Home"},
        unique_id="site_home",
        options={
            "fuse_a": FUSE_A,
            "phases": "3",
            "voltage_v": 230.0,
            "meter_kind": "current",
            "meter_l1": "sensor.grid_l1",
            "meter_l2": "sensor.grid_l2",
            "meter_l3": "sensor.grid_l3",
            "sign": "import_positive",
            "connectors": [f"{number}:1" for number in serials],
            "fallback": "pause",
            "fallback_current_a": 6.0,
        },
    )
    entry["minor_version"] = 2
    return entry


def mennekes_entry(box: MennekesSimulator) -> dict[str, Any]:
    """Return a box's entry, in the entry format of today (minor version 2)."""
    entry = config_entry(
        "evse_bridge",
        f"AMTRON {box.serial_number}",
        {
            "type": "mennekes",
            "host": "127.0.0.1",
            "port": box.port,
            "pin": box.dev_key,
        },
        unique_id=str(box.serial_number),
        options={"poll_interval": MENNEKES_POLL_S},
    )
    entry["minor_version"] = 2
    return entry


class StampedPosts(list[tuple[str, dict[str, object]]]):
    """A simulator's ``posted`` list that also notes when each POST arrived."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.times: list[float] = []

    def append(self, item: tuple[str, dict[str, object]]) -> None:
        """Note the time (time.monotonic()), then keep the POST."""
        self.times.append(time.monotonic())
        super().append(item)


@dataclass
class Reactions:
    """The cuts the boxes received, in time order."""

    boxes: list[MennekesSimulator]
    seen: list[int] = field(default_factory=list)
    limit: list[object] = field(default_factory=list)
    paused: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Start from what each box has been sent so far."""
        self.seen = [0] * len(self.boxes)
        self.limit = [None] * len(self.boxes)
        self.paused = [False] * len(self.boxes)
        self.cuts()
        # Every box charges at 16 A now: a "Pause" sent before is history.
        self.paused = [False] * len(self.boxes)

    def cuts(self) -> list[float]:
        """Return when cuts arrived since the last call: a lower limit, a pause.

        What the site sends again unchanged (it renews what a box did not
        take: these boxes wait for authorisation, so "Pause" does not stick)
        is not a reaction.
        """
        found = []
        for index, box in enumerate(self.boxes):
            posts = box.posted
            assert isinstance(posts, StampedPosts)  # noqa: S101 - set in __init__
            for at, (_, body) in zip(
                posts.times[self.seen[index] :],
                list(posts)[self.seen[index] :],
                strict=True,
            ):
                limit, command = body.get("RemoteCurr"), body.get("ChgState")
                before = self.limit[index]
                lower = isinstance(limit, int) and (
                    not isinstance(before, int) or limit < before
                )
                pause = command == "Pause" and not self.paused[index]
                if lower or pause:
                    found.append(at)
                if limit is not None:
                    self.limit[index] = limit
                if command is not None:
                    self.paused[index] = command == "Pause"
            self.seen[index] = len(posts)
        return sorted(found)


def steps() -> list[float]:
    """Return the oven's L3 levels: each calls for exactly one cut."""
    # L3's house current at which the fuse leaves exactly 16 A to every box.
    full = FUSE_A - MARGIN_A - BOXES * WANT_A
    levels = [full + amps for amps in range(1, BOXES * (WANT_A - MIN_A) + 1)]
    top = levels[-1]
    levels.extend(top + MIN_A * count for count in range(1, BOXES + 1))
    return levels


class ReactionBench:
    """The boxes, Home Assistant with the site, and the meter's publisher."""

    def __init__(
        self,
        stack: ExitStack,
        publisher: Publisher,
        mqtt_port: int,
        log: Callable[[str], None],
    ) -> None:
        """Start the boxes and Home Assistant; publish with ``publisher``.

        The benchmark's own publisher: a second MQTT client with its client id
        would take turns with it on the broker, each connection closing the
        other's, and hold messages back for up to a second.
        """
        self.log = log
        loop = LoopThread()
        stack.callback(loop.close)
        self.boxes = [
            MennekesSimulator(serial_number=serial(index), auto_start=False)
            for index in range(BOXES)
        ]
        for box in self.boxes:
            box.posted = StampedPosts()

        async def start() -> None:
            for box in self.boxes:
                await box.start()
                box.plug_in()
                box.start_ticking(1.0)

        async def stop() -> None:
            for box in self.boxes:
                await box.stop()

        loop.run(start())
        stack.callback(lambda: loop.run(stop()))
        site = home("p6-site", extra_yaml=meter_yaml(), components=[INTEGRATION])
        # A fresh engine: no pauses or plans of an earlier run.
        for path in (site.config_dir / ".storage").glob("evse_bridge.site.*"):
            path.unlink()
        merge_entries(
            site,
            [
                mqtt_entry(mqtt_port),
                *map(mennekes_entry, self.boxes),
                site_entry([box.serial_number for box in self.boxes]),
            ],
        )
        self.samples: list[tuple[float, float]] = []
        self.publisher = publisher
        log(f"P6: starting Home Assistant with a site and {BOXES} Mennekes boxes")
        start_all(stack, [site])

    def sample(self, l3: float) -> float:
        """Publish one meter sample; return when (time.monotonic())."""
        sent = time.monotonic()
        self.publisher.publish(
            METER_TOPIC, json.dumps({"l1": HOUSE_A, "l2": HOUSE_A, "l3": l3})
        )
        self.samples.append((sent, l3))
        return sent

    def warm_up(self) -> None:
        """Feed the meter until the site has every box at 16 A, then settle."""
        deadline = time.monotonic() + START_LIMIT_S
        while any(box.remote_current != WANT_A for box in self.boxes):
            if time.monotonic() > deadline:
                msg = "P6: the site did not bring every box to 16 A"
                raise RuntimeError(msg)
            self.sample(HOUSE_A)
            time.sleep(SAMPLE_S)
        self.log(f"P6: every box at {WANT_A} A; settling for {SETTLE_S:g} s")
        for _ in range(int(SETTLE_S / SAMPLE_S)):
            self.sample(HOUSE_A)
            time.sleep(SAMPLE_S)

    def step(self, level: float, reactions: Reactions) -> float | None:
        """Take the oven to ``level``; return the reaction time, None if none."""
        sent = self.sample(level)
        found: list[float] = []
        for index in range(1, SAMPLES_PER_STEP + 1):
            while time.monotonic() < sent + index * SAMPLE_S:
                time.sleep(0.005)
                found.extend(reactions.cuts())
            if index < SAMPLES_PER_STEP:
                self.sample(level)
        while not found and time.monotonic() < sent + REACTION_LIMIT_S:
            time.sleep(0.005)
            found.extend(reactions.cuts())
        return found[0] - sent if found else None

    def posts(self) -> list[StampedPosts]:
        """Return each box's POSTs."""
        posts = [box.posted for box in self.boxes]
        return [item for item in posts if isinstance(item, StampedPosts)]

    def ramp(self) -> dict[str, Any]:
        """Step the oven up; return the figures."""
        reactions = Reactions(self.boxes)
        start = len(self.samples)
        levels = steps()
        self.log(f"P6: {len(levels)} oven steps, a meter sample every {SAMPLE_S} s")
        results = [self.step(level, reactions) for level in levels]
        latencies = [value for value in results if value is not None]
        (CACHE / "p6-timeline.json").write_text(
            json.dumps(
                {
                    "samples": self.samples[start:],
                    "posts": [
                        [at, body]
                        for posts in self.posts()
                        for at, (_, body) in zip(posts.times, posts, strict=True)
                    ],
                }
            )
        )
        return {
            "p6_reactions": len(latencies),
            "p6_missed": len(results) - len(latencies),
            "p6_boxes": BOXES,
            "p6_reaction_p50_ms": round(1000 * percentile(latencies, 0.5), 1),
            "p6_reaction_p99_ms": round(1000 * percentile(latencies, 0.99), 1),
            "p6_reaction_max_ms": round(1000 * max(latencies, default=math.nan), 1),
        }


def run_p6(
    stack: ExitStack, publisher: Publisher, mqtt_port: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Start everything, warm up, ramp the oven, return the figures."""
    bench = ReactionBench(stack, publisher, mqtt_port, log)
    bench.warm_up()
    return bench.ramp()
