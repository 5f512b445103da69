"""scripts/bench: QUALITY.md section 2 (P1 to P7) against real servers.

Everything runs on 127.0.0.1: one mosquitto broker, Home Assistant processes
with their own folders under .cache/bench (reused between runs), and the
simulators. Prints a markdown table and writes bench-results.json in the
current directory.
"""

import argparse
import asyncio
from contextlib import ExitStack
from dataclasses import dataclass, field
import io
import json
import math
import os
from pathlib import Path
import pstats
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import aiohttp

from bench import payloads, spy
from bench.homes import (
    FLOOR,
    enable_all_entities,
    entity_registry,
    forget_energy,
    home,
    start_all,
    yaml_baseline,
    yaml_sensor_count,
)
from bench.ocpp_fleet import charge_point_ids
from bench.reaction import run_p6
from bench.tools import (
    CACHE,
    EVSES,
    METERS,
    POWER_OFFSET,
    BenchHomeAssistant,
    CpuSample,
    CpuWindow,
    CtekStream,
    LoopThread,
    Publisher,
    TimedCounter,
    Websocket,
    ctek_entry,
    cycles,
    idle_rate,
    median,
    merge_entries,
    mqtt_entry,
    percentile,
    pin_threads,
    rss_mb,
    split_cores,
    spread,
    topic,
    ws_command,
)
from devtools.live import INTEGRATION, ROOT, Mosquitto, config_entry, free_port
from simulators.circontrol import MAIN_DEVICE, CircontrolSimulator
from simulators.mennekes import MennekesSimulator

BASE = "CTEK"
DRAIN_S = 1.5
"""How long Home Assistant gets after the last message, within the window."""
P1_CONFIGS = (
    ("yaml", "YAML1"),
    ("floor", "FLOOR1"),
    ("floor_writes", "FLOORW1"),
    ("bridge", "BRIDGE1"),
    ("bridge_all", "ALL1"),
)
"""P1's configurations and the charger id (topic level) each listens to."""
P1_NAMES = tuple(name for name, _ in P1_CONFIGS)
P1_RATIOS = (
    ("p1_ratio_yaml", "bridge", "yaml"),
    ("p1_ratio_floor", "bridge", "floor"),
    ("p1_ratio_floor_writes", "bridge", "floor_writes"),
    ("p1_ratio_yaml_all", "bridge_all", "yaml"),
    ("p1_ratio_floor_all", "bridge_all", "floor"),
)
"""Result key, numerator and denominator of each P1 ratio."""
CTEK_CALLBACK_FILE = "evse_bridge/backends/ctek/coordinator.py"
"""Where the CTEK message callback (``_message_received``) is defined."""
QUIET_PART_S = 3600
"""EVSE Bridge's "Unavailable after" in P1, its maximum: a configuration's
parts are silent for minutes while the others are measured, and turning
unavailable then would write states that belong to no message."""
HA_PAYLOAD_REPETITIONS = 3
"""Each crafted payload is sent this often to Home Assistant; least kept."""
SPY_START_S = 1.0
"""Time py-spy gets to attach before the messages start."""
SETTLE_S = 0.2
"""How often to look whether Home Assistant has finished with a payload."""
BUSY_SHARE = 0.05
"""Above its idle rate by this share of a core, Home Assistant is still busy."""
SETTLE_LIMIT_S = 60.0
"""Longest wait for Home Assistant to finish with one payload."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line options; --quick changes the defaults."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="short durations, for a smoke run"
    )
    parser.add_argument(
        "--only",
        default="p1,p2,p3,p4,p5,p6,p7",
        help="comma-separated benchmarks to run (default: all)",
    )
    parser.add_argument("--messages", type=int, help="P1 messages per measurement")
    parser.add_argument(
        "--rate", type=float, default=100.0, help="messages/s: P2, P1 per configuration"
    )
    parser.add_argument("--rounds", type=int, help="P1 rounds (median reported)")
    parser.add_argument(
        "--warmup-messages", type=int, help="P1 messages per configuration, not counted"
    )
    parser.add_argument(
        "--payload-repetitions",
        type=int,
        default=5,
        help="timings of each crafted payload in the parser (least kept)",
    )
    parser.add_argument("--idle-seconds", type=float, help="idle baseline per load")
    parser.add_argument("--latency-messages", type=int, help="P2 messages")
    parser.add_argument("--chargers", type=int, default=50, help="P3 chargers")
    parser.add_argument("--load-seconds", type=float, help="P3 load duration")
    parser.add_argument("--soak-minutes", type=float, help="P3 soak duration")
    parser.add_argument(
        "--ocpp-chargers", type=int, default=100, help="P7 OCPP charge points"
    )
    parser.add_argument(
        "--ocpp-minutes", type=float, help="P7 duration (each sends every 10 s)"
    )
    parser.add_argument("--poll-seconds", type=float, help="P4 healthy window")
    parser.add_argument("--fail-seconds", type=float, help="P4 failing window")
    parser.add_argument(
        "--profile-messages", type=int, help="messages under cProfile per config"
    )
    parser.add_argument(
        "--sample-messages", type=int, help="messages sampled by py-spy per config"
    )
    parser.add_argument(
        "--output", type=Path, default=Path("bench-results.json"), help="results file"
    )
    args = parser.parse_args(argv)
    defaults: dict[str, float] = (
        {
            "messages": 500,
            "rounds": 3,
            "warmup_messages": 200,
            "idle_seconds": 3,
            "latency_messages": 400,
            "load_seconds": 20,
            "soak_minutes": 1,
            "ocpp_minutes": 1,
            "poll_seconds": 30,
            "fail_seconds": 45,
            "profile_messages": 500,
            "sample_messages": 600,
        }
        if args.quick
        else {
            "messages": 1500,
            "rounds": 7,
            "warmup_messages": 500,
            "idle_seconds": 5,
            "latency_messages": 1500,
            "load_seconds": 60,
            "soak_minutes": 10,
            "ocpp_minutes": 5,
            "poll_seconds": 60,
            "fail_seconds": 120,
            "profile_messages": 1500,
            "sample_messages": 3000,
        }
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, type(value)(value))
    args.only = {item.strip().lower() for item in args.only.split(",")}
    return args


@dataclass
class Config:
    """One P1 configuration: a Home Assistant and the charger id it listens to."""

    name: str
    home: BenchHomeAssistant
    charger_id: str
    stream: CtekStream = field(default_factory=CtekStream)
    per_message_ms: list[float] = field(default_factory=list)
    entities: int = 0
    writes_per_message: float = math.nan

    def messages(self, count: int) -> list[tuple[str, str]]:
        """Return the next ``count`` messages of this configuration's stream."""
        return [
            (topic(BASE, self.charger_id, message), message[2])
            for message in self.stream.mixed(count)
        ]


class Bench:
    """Runs the benchmarks and collects their figures."""

    def __init__(self, args: argparse.Namespace, stack: ExitStack) -> None:
        """Start the broker and the publisher."""
        self.args = args
        self.stack = stack
        self.results: dict[str, Any] = {}
        self.profiles: dict[str, list[str]] = {}
        self.fleet = Fleet([])
        self.counters: dict[str, TimedCounter] = {}
        self.ha_cores, self.load_cores = split_cores()
        self.mqtt_port = free_port()
        self.broker = Mosquitto(self.mqtt_port, CACHE / "mosquitto").start()
        stack.callback(self.broker.stop)
        self.publisher = Publisher(self.mqtt_port)
        stack.callback(self.publisher.close)

    def log(self, text: str) -> None:
        """Tell the user what runs now."""
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
        sys.stderr.flush()

    # --- P1 and P2 -----------------------------------------------------------

    def p1_p2(self) -> None:
        """MQTT cost against the baselines, then publish-to-state latency."""
        with ExitStack() as stack:
            configs = self._p1_start(stack)
            self._pin_load(self.load_cores)
            try:
                self._p1_measure(configs)
                self._p1_profile(configs)
            finally:
                # Only P1 compares CPU time; latency (P2) and the rest are
                # measured with every process free to use any core.
                self._pin_load(self.ha_cores | self.load_cores)
                for config in configs:
                    pin_threads(config.home.pid, self.ha_cores | self.load_cores)
            if "p2" in self.args.only:
                self._p2(configs)
            bridge = next(config for config in configs if config.name == "bridge")
            self._p1_worst_payloads(bridge.home)

    def _pin_load(self, cores: set[int]) -> None:
        """Keep the load generator (this process and the broker) on some cores."""
        pin_threads(os.getpid(), cores)
        if self.broker.process is not None:
            pin_threads(self.broker.process.pid, cores)

    def _p1_start(self, stack: ExitStack) -> list[Config]:
        """Start one Home Assistant per P1 configuration, all on the same core."""
        self.log("P1: starting five Home Assistants (YAML, two floors, EVSE Bridge)")
        quiet = {"stale_after": QUIET_PART_S}
        floor = f"bench_floor:\n  parse: {BASE}/FLOOR1/+/+\n"
        floor_writes = f"bench_floor:\n  write: {BASE}/FLOORW1/+/+\n"
        homes = {
            "yaml": home(
                "p1-yaml", extra_yaml=yaml_baseline(BASE, "YAML1"), cores=self.ha_cores
            ),
            "floor": home(
                "p1-floor", components=[FLOOR], extra_yaml=floor, cores=self.ha_cores
            ),
            "floor_writes": home(
                "p1-floor-writes",
                components=[FLOOR],
                extra_yaml=floor_writes,
                cores=self.ha_cores,
            ),
            "bridge": home("p1-bridge", components=[INTEGRATION], cores=self.ha_cores),
            "bridge_all": home(
                "p1-bridge-all", components=[INTEGRATION], cores=self.ha_cores
            ),
        }
        for name in ("yaml", "floor", "floor_writes"):
            merge_entries(homes[name], [mqtt_entry(self.mqtt_port)])
        merge_entries(
            homes["bridge"],
            [
                mqtt_entry(self.mqtt_port),
                ctek_entry("BRIDGE1", quiet),
                ctek_entry(payloads.CHARGER_ID),
            ],
        )
        all_home = homes["bridge_all"]
        all_entry = merge_entries(
            all_home, [mqtt_entry(self.mqtt_port), ctek_entry("ALL1", quiet)]
        )[1]
        registry = entity_registry(all_home)
        configs = [
            Config(name, homes[name], charger_id) for name, charger_id in P1_CONFIGS
        ]
        for name in ("bridge", "bridge_all"):
            forget_energy(homes[name])
        start_all(stack, homes.values())
        if not registry or any(entity["disabled_by"] for entity in registry):
            self.log("P1: enabling every entity of the ALL1 charger (one restart)")
            self._warm_up(configs)
            all_home.stop()
            enable_all_entities(all_home, all_entry["entry_id"])
            all_home.start()
        self._warm_up(configs)
        for config in configs:
            if config.name == "yaml":
                config.entities = yaml_sensor_count()
            elif config.name != "floor":
                marker = f"_{config.charger_id.lower()}_"
                states = config.home.states()
                config.entities = sum(marker in entity_id for entity_id in states)
        self.results["p1_floor_ha_rss_mb"] = round(rss_mb(homes["floor"].pid), 1)
        return configs

    def _warm_up(self, configs: list[Config]) -> None:
        """Publish a few of each message, so that every entity exists.

        From each configuration's own stream, which the measurement goes on
        with: its meters count on as a charger's do. (Lower totals, then the
        stream's, looked like a meter replaced before every run, a state the
        energy guard then kept EVSE Bridge in for the whole measurement.)
        """
        for config in configs:
            self.publisher.run(config.messages(40), 400)
        time.sleep(3)

    def _p1_measure(self, configs: list[Config]) -> None:
        """Measure in rounds, each feeding every configuration at once.

        Each configuration's Home Assistant gets its own stream at the P1
        rate, all in the same window, interleaved message by message: what
        else the machine runs then slows them alike, and cancels in the
        ratios. Each round starts with a full garbage collection in each and
        measures their idle CPU, which is subtracted; a first window warms
        caches and code paths up and is not counted.
        """
        args = self.args
        self.log(f"P1: warm-up, {args.warmup_messages} messages per configuration")
        self._p1_window(configs, args.warmup_messages, dict.fromkeys(P1_NAMES, 0.0))
        idle_rates = []
        for round_number in range(args.rounds):
            for config in configs:
                config.home.call_service("bench_probe", "collect", {})
            idle = self._idle_rates(configs)
            idle_rates.append(idle)
            per_message = self._p1_window(configs, args.messages, idle)
            for config in configs:
                config.per_message_ms.append(per_message[config.name])
            self.log(
                f"P1 round {round_number + 1}/{args.rounds}, ms/message: "
                + ", ".join(f"{name} {ms:.4f}" for name, ms in per_message.items())
            )
        self._p1_results(configs, idle_rates)

    def _idle_rates(self, configs: list[Config]) -> dict[str, float]:
        """Return each Home Assistant's idle CPU per second, all measured at once."""
        before = {config.name: CpuSample.take(config.home.pid) for config in configs}
        time.sleep(self.args.idle_seconds)
        rates = {}
        for config in configs:
            after = CpuSample.take(config.home.pid)
            earlier = before[config.name]
            rates[config.name] = after.cpu_since(earlier) / (after.wall - earlier.wall)
        return rates

    def _p1_window(
        self, configs: list[Config], count: int, idle: dict[str, float]
    ) -> dict[str, float]:
        """Feed every configuration ``count`` messages; return CPU ms per message."""
        streams = [config.messages(count) for config in configs]
        interleaved = [
            message for group in zip(*streams, strict=True) for message in group
        ]
        before = {config.name: CpuSample.take(config.home.pid) for config in configs}
        self.publisher.run(interleaved, self.args.rate * len(configs))
        time.sleep(DRAIN_S)
        per_message = {}
        for config in configs:
            after = CpuSample.take(config.home.pid)
            earlier = before[config.name]
            net = after.cpu_since(earlier) - idle[config.name] * (
                after.wall - earlier.wall
            )
            per_message[config.name] = 1000 * max(net, 0.0) / count
        return per_message

    def _p1_results(
        self, configs: list[Config], idle_rates: list[dict[str, float]]
    ) -> None:
        """Medians and spreads of each configuration and of each ratio.

        A ratio is taken within each round (its configurations ran in the
        same window) and its median over the rounds reported.
        """
        args = self.args
        results = self.results
        results.update(
            p1_messages=args.messages,
            p1_rate=args.rate,
            p1_rounds=args.rounds,
            p1_warmup_messages=args.warmup_messages,
            p1_cores={
                "home_assistant": sorted(self.ha_cores),
                "load": sorted(self.load_cores),
            },
            p1_idle_ms_per_s={
                name: [round(1000 * rates[name], 2) for rates in idle_rates]
                for name in P1_NAMES
            },
        )
        by_name = {config.name: config for config in configs}
        for name, config in by_name.items():
            rounds = config.per_message_ms
            results[f"p1_{name}_ms"] = round(median(rounds), 4)
            results[f"p1_{name}_ms_spread"] = spread(rounds)
            results[f"p1_{name}_ms_rounds"] = [round(value, 4) for value in rounds]
            results[f"p1_{name}_entities"] = config.entities
        for key, numerator, denominator in P1_RATIOS:
            ratios = [
                above / below
                for above, below in zip(
                    by_name[numerator].per_message_ms,
                    by_name[denominator].per_message_ms,
                    strict=True,
                )
                if below > 0
            ]
            results[key] = round(median(ratios), 3)
            results[f"{key}_spread"] = spread(ratios)
            results[f"{key}_rounds"] = [round(ratio, 3) for ratio in ratios]

    def _p1_profile(self, configs: list[Config]) -> None:
        """Profile each configuration under the P1 stream: writes, hot spots."""
        count = self.args.profile_messages
        for config in configs:
            self.log(f"P1: profiling {config.name} ({count} messages)")
            path = config.home.config_dir / f"bench-{config.name}.prof"
            path.unlink(missing_ok=True)
            messages = config.messages(count)
            config.home.call_service("bench_probe", "start", {})
            before = CpuSample.take(config.home.pid)
            self.publisher.run(messages, self.args.rate)
            time.sleep(DRAIN_S)
            config.home.call_service("bench_probe", "stop", {"path": str(path)})
            cpu = CpuSample.take(config.home.pid).cpu_since(before)
            stats = pstats.Stats(str(path), stream=io.StringIO())
            writes = _calls(stats, "homeassistant/core.py", "async_set_internal")
            config.writes_per_message = writes / count
            self.results[f"p1_{config.name}_state_writes_per_message"] = round(
                config.writes_per_message, 2
            )
            if config.name.startswith("bridge"):
                callback = _cumulative(stats, CTEK_CALLBACK_FILE, "_message_received")
                self.results[f"p1_{config.name}_callback_cpu_share"] = round(
                    callback / cpu, 3
                )
                self.results[f"p1_{config.name}_callback_ms"] = round(
                    1000 * callback / count, 4
                )
        for config in configs:
            if config.name != "floor":
                self._p1_sample(config)

    def _p1_sample(self, config: Config) -> None:
        """Sample one configuration with py-spy: where its CPU goes per message."""
        count = self.args.sample_messages
        self.log(f"P1: sampling {config.name} with py-spy ({count} messages)")
        pid = config.home.pid
        path = config.home.config_dir / f"bench-{config.name}.spy"
        path.unlink(missing_ok=True)
        messages = config.messages(count)
        seconds = count / self.args.rate + DRAIN_S
        idle = idle_rate(pid, self.args.idle_seconds)
        sampler = spy.record(pid, SPY_START_S + seconds, path)
        try:
            time.sleep(SPY_START_S)
            before = CpuSample.take(pid)
            self.publisher.run(messages, self.args.rate)
            time.sleep(DRAIN_S)
            after = CpuSample.take(pid)
        finally:
            sampler.wait(timeout=seconds + 60)
        net = after.cpu_since(before) - idle * (after.wall - before.wall)
        ms_per_message = 1000 * max(net, 0.0) / count
        if path.exists():
            self.profiles[config.name] = spy.Samples.read(path).table(
                ms_per_message, 30
            )

    def _p1_worst_payloads(self, home_assistant: BenchHomeAssistant) -> None:
        """Time every crafted payload in the parser, then through Home Assistant."""
        args = self.args
        crafted = payloads.adversarial_payloads()
        self.log(f"P1: {len(crafted)} crafted payloads at the size cap, parser alone")
        timings = {
            payload.name: payloads.time_handling(payload, args.payload_repetitions)
            for payload in crafted
        }
        worst = max(timings, key=lambda name: timings[name].ms)
        self.results.update(
            p1_worst_payload_ms=round(timings[worst].ms, 3),
            p1_worst_payload=worst,
            p1_worst_payload_bytes=len(crafted[0].text.encode()),
            p1_payloads={
                name: {"ms": round(timing.ms, 3), "outcome": timing.outcome}
                for name, timing in timings.items()
            },
        )
        self.log("P1: the same payloads through Home Assistant")
        pid = home_assistant.pid
        idle = idle_rate(pid, self.args.idle_seconds)
        through: dict[str, float] = {}
        for payload in crafted:
            costs = []
            for _ in range(HA_PAYLOAD_REPETITIONS):
                before = CpuSample.take(pid)
                self.publisher.publish(payloads.topic_of(payload), payload.text)
                self.publisher.flush()
                after = _settled(pid, idle)
                costs.append(
                    after.cpu_since(before) - idle * (after.wall - before.wall)
                )
            through[payload.name] = 1000 * max(min(costs), 0.0)
            self.results["p1_payloads"][payload.name]["ha_ms"] = round(
                through[payload.name], 2
            )
        worst_ha = max(through, key=lambda name: through[name])
        self.results.update(
            p1_worst_payload_ha_ms=round(through[worst_ha], 2),
            p1_worst_payload_ha=worst_ha,
        )

    def _p2(self, configs: list[Config]) -> None:
        args = self.args
        for config in configs:
            if config.name not in {"bridge", "yaml"}:
                continue
            self.log(f"P2: latency of {config.name} ({args.latency_messages} messages)")
            entity_id = (
                "sensor.mainmeter_power"
                if config.name == "yaml"
                else f"sensor.chargestorm_{config.charger_id.lower()}_main_meter_power"
            )
            latencies, lost = asyncio.run(
                self._latency(config, entity_id, config.messages(args.latency_messages))
            )
            prefix = "p2" if config.name == "bridge" else "p2_yaml"
            self.results[f"{prefix}_p50_ms"] = round(
                1000 * percentile(latencies, 0.5), 2
            )
            self.results[f"{prefix}_p99_ms"] = round(
                1000 * percentile(latencies, 0.99), 2
            )
            self.results[f"{prefix}_samples"] = len(latencies)
            self.results[f"{prefix}_lost"] = lost

    async def _latency(
        self, config: Config, entity_id: str, messages: list[tuple[str, str]]
    ) -> tuple[list[float], int]:
        """Publish at the P2 rate; time each main meter power until its state."""
        home_assistant = config.home
        assert home_assistant.token is not None  # noqa: S101 - started
        sent: dict[int, float] = {}
        received: dict[int, float] = {}
        async with (
            aiohttp.ClientSession() as session,
            Websocket(session, home_assistant.ws_url(), home_assistant.token) as ws,
        ):
            await ws.command({"type": "subscribe_entities", "entity_ids": [entity_id]})

            async def read() -> None:
                while True:
                    message = await ws.events()
                    change = message.get("event", {}).get("c", {}).get(entity_id)
                    if change and "s" in change.get("+", {}):
                        now = time.monotonic()
                        try:
                            value = float(change["+"]["s"])
                        except ValueError:
                            continue
                        received.setdefault(round(value - POWER_OFFSET), now)

            reader = asyncio.create_task(read())
            loop = asyncio.get_running_loop()
            start = loop.time()
            for index, (topic_, payload) in enumerate(messages):
                if "/mainMeter/em" in topic_:
                    sequence = round(json.loads(payload)["power"] - POWER_OFFSET)
                    sent[sequence] = time.monotonic()
                self.publisher.publish(topic_, payload)
                await asyncio.sleep(
                    max(0.0, start + (index + 1) / self.args.rate - loop.time())
                )
            await asyncio.sleep(2)
            reader.cancel()
        latencies = [received[key] - sent[key] for key in sent if key in received]
        return latencies, len(sent) - len(latencies)

    # --- P3 ----------------------------------------------------------------

    def p3_start(self, stack: ExitStack) -> tuple[BenchHomeAssistant, list[str]]:
        """Start a Home Assistant with ``--chargers`` CTEK chargers."""
        chargers = [f"SC{number:02d}" for number in range(1, self.args.chargers + 1)]
        self.log(f"P3: starting Home Assistant with {len(chargers)} chargers")
        scale = home("p3-scale", components=[INTEGRATION])
        merge_entries(scale, [mqtt_entry(self.mqtt_port), *map(ctek_entry, chargers)])
        # The same Home Assistant without chargers: the memory baseline.
        base = home("p3-base")
        merge_entries(base, [mqtt_entry(self.mqtt_port)])
        with ExitStack() as base_stack:
            start_all(base_stack, [base])
            self.results["p3_base_rss_mb"] = round(rss_mb(base.pid), 1)
        start_all(stack, [scale])
        return scale, chargers

    def p3(self, scale: BenchHomeAssistant, chargers: list[str]) -> None:
        """Load, responsiveness, lost messages, memory; then the soak."""
        args = self.args
        fleet = self.fleet = Fleet(chargers)
        for _ in range(3):
            self.publisher.run(fleet.report(), 1000)
        self._wait_for_entities(scale, fleet)
        pid = scale.pid
        rss_before = rss_mb(pid)
        idle = idle_rate(pid, args.idle_seconds)
        self.log(
            f"P3: {len(chargers)} chargers report every second "
            f"for {args.load_seconds:.0f} s"
        )
        api_latencies: list[float] = []
        stop = threading.Event()
        prober = threading.Thread(
            target=_probe_api, args=(scale, api_latencies, stop), daemon=True
        )
        before = CpuSample.take(pid)
        start = before.wall
        prober.start()
        messages = 0
        while time.monotonic() - start < args.load_seconds:
            report = fleet.report()
            messages += len(report)
            self.publisher.run(report, len(report))
        stop.set()
        prober.join(timeout=35)
        time.sleep(DRAIN_S)
        after = CpuSample.take(pid)
        window = CpuWindow(idle, after.cpu_since(before), after.wall - before.wall)
        time.sleep(2)
        lost = fleet.lost(scale.states())
        rss_after = rss_mb(pid)
        base_rss = self.results["p3_base_rss_mb"]
        results = self.results
        results.update(
            p3_chargers=len(chargers),
            p3_messages=messages,
            p3_messages_per_s=round(messages / window.wall_s, 1),
            p3_lost_messages=lost,
            p3_ha_cpu_percent=round(100 * window.net_s / window.wall_s, 1),
            p3_ms_per_message=round(1000 * window.net_s / messages, 4),
            p3_api_p50_ms=round(1000 * percentile(api_latencies, 0.5), 1),
            p3_api_max_ms=round(1000 * max(api_latencies, default=math.nan), 1),
            p3_rss_mb=round(rss_after, 1),
            p3_rss_load_growth_mb=round(rss_after - rss_before, 1),
        )
        results["p3_rss_per_charger_mb"] = round(
            (rss_after - base_rss) / len(chargers), 2
        )
        self._p3_share(scale, fleet)

    def _wait_for_entities(self, scale: BenchHomeAssistant, fleet: Fleet) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            states = scale.states()
            if all(entity in states for entity in fleet.power_entities()):
                return
            self.publisher.run(fleet.report(), 1000)
            time.sleep(2)
        msg = "P3: the chargers' entities did not appear within 120 s"
        raise TimeoutError(msg)

    def _p3_share(self, scale: BenchHomeAssistant, fleet: Fleet) -> None:
        """Profile a short load: the integration's share of Home Assistant's CPU."""
        seconds = max(5, round(self.args.load_seconds / 4))
        path = scale.config_dir / "bench-scale.prof"
        path.unlink(missing_ok=True)
        scale.call_service("bench_probe", "start", {})
        before = CpuSample.take(scale.pid)
        for _ in range(seconds):
            report = fleet.report()
            self.publisher.run(report, len(report))
        time.sleep(DRAIN_S)
        scale.call_service("bench_probe", "stop", {"path": str(path)})
        cpu = CpuSample.take(scale.pid).cpu_since(before)
        stats = pstats.Stats(str(path), stream=io.StringIO())
        callback = _cumulative(stats, CTEK_CALLBACK_FILE, "_message_received")
        self.results["p3_integration_cpu_share"] = round(callback / cpu, 3)

    def p3_soak(self, scale: BenchHomeAssistant, chargers: list[str]) -> None:
        """Keep the chargers reporting; sample Home Assistant's memory."""
        fleet = self.fleet
        minutes = self.args.soak_minutes
        self.log(f"P3: soak, {minutes:g} minutes")
        samples: list[tuple[float, float]] = []
        start = time.monotonic()
        last_sample = -math.inf
        while time.monotonic() - start < 60 * minutes:
            now = time.monotonic()
            if now - last_sample >= 10:  # noqa: PLR2004 - seconds between samples
                samples.append((now - start, rss_mb(scale.pid)))
                last_sample = now
            report = fleet.report()
            self.publisher.run(report, len(report))
        samples.append((time.monotonic() - start, rss_mb(scale.pid)))
        time.sleep(3)
        first = median([rss for _, rss in samples[:3]])
        last = median([rss for _, rss in samples[-3:]])
        self.results.update(
            p3_soak_minutes=minutes,
            p3_rss_growth_mb=round(last - first, 1),
            p3_rss_samples_mb=[round(rss, 1) for _, rss in samples],
            p3_soak_lost_messages=fleet.lost(scale.states()),
        )

    # --- P4 and P5 -----------------------------------------------------------

    def p4_p5_start(
        self, stack: ExitStack
    ) -> tuple[BenchHomeAssistant, CircontrolSimulator, MennekesSimulator]:
        """Start the HTTP simulators and Home Assistant with three chargers."""
        loop = LoopThread()
        stack.callback(loop.close)
        circontrol = CircontrolSimulator(plugged_in=True)
        mennekes = MennekesSimulator(dev_key="1234")

        async def start() -> None:
            await circontrol.start()
            circontrol.start_ticking(1.0)
            await mennekes.start()
            mennekes.plug_in()
            mennekes.start_ticking(1.0)

        async def stop() -> None:
            await circontrol.close()
            await mennekes.stop()

        loop.run(start())
        stack.callback(lambda: loop.run(stop()))
        self.counters = {"circontrol": TimedCounter(), "mennekes": TimedCounter()}
        circontrol.requests = self.counters["circontrol"]
        mennekes.requests = self.counters["mennekes"]
        polled = home("p45-polled", components=[INTEGRATION])
        merge_entries(
            polled,
            [
                mqtt_entry(self.mqtt_port),
                ctek_entry("P5CB1"),
                config_entry(
                    "evse_bridge",
                    f"CirCarLife {MAIN_DEVICE[-8:]}",
                    {
                        "vendor": "circontrol",
                        "host": "127.0.0.1",
                        "port": circontrol.port,
                    },
                    unique_id=MAIN_DEVICE,
                    options={"poll_interval": CIRCONTROL_POLL_S},
                ),
                config_entry(
                    "evse_bridge",
                    "AMTRON 1234567890",
                    {
                        "vendor": "mennekes",
                        "host": "127.0.0.1",
                        "port": mennekes.port,
                        "pin": "1234",
                    },
                    unique_id="1234567890",
                    options={"poll_interval": MENNEKES_POLL_S},
                ),
            ],
        )
        self.log("P5: starting Home Assistant with CTEK, Circontrol and Mennekes")
        start_all(stack, [polled])
        return polled, circontrol, mennekes

    def p5(self, polled: BenchHomeAssistant) -> None:
        """Measure what EVSE Bridge adds to start-up, as Home Assistant timed it."""
        timings = {
            item["domain"]: item["seconds"]
            for item in asyncio.run(
                ws_command(polled, {"type": "integration/setup_info"})
            )
        }
        self.results["p5_setup_ms"] = round(
            1000 * timings.get("evse_bridge", math.nan), 1
        )
        self.results["p5_mqtt_setup_ms"] = round(
            1000 * timings.get("mqtt", math.nan), 1
        )
        self.results["p5_chargers"] = 3

    def p4(self, circontrol: CircontrolSimulator, mennekes: MennekesSimulator) -> None:
        """Count requests per poll cycle, then the request rate while boxes fail."""
        args = self.args
        simulators: dict[str, tuple[Any, TimedCounter]] = {
            "circontrol": (circontrol, self.counters["circontrol"]),
            "mennekes": (mennekes, self.counters["mennekes"]),
        }
        time.sleep(1)
        healthy_start = time.monotonic()
        time.sleep(args.poll_seconds)
        failing_start = time.monotonic()
        for simulator, _ in simulators.values():
            simulator.faults.status = 500
        time.sleep(args.fail_seconds)
        failing_end = time.monotonic()
        for simulator, _ in simulators.values():
            simulator.faults.clear()
        per_cycle: dict[str, float] = {}
        for name, (_, counter) in simulators.items():
            healthy = counter.between(healthy_start, failing_start)
            failing = counter.between(failing_start, failing_end)
            count = cycles([moment for moment, _ in healthy])
            per_cycle[name] = round(len(healthy) / count, 2) if count else math.nan
            self.results[f"p4_{name}_requests_per_cycle"] = per_cycle[name]
            self.results[f"p4_{name}_requests_per_min_healthy"] = round(
                60 * len(healthy) / args.poll_seconds, 1
            )
            self.results[f"p4_{name}_requests_per_min_failing"] = round(
                60 * len(failing) / args.fail_seconds, 1
            )
            self.results[f"p4_{name}_requests_by_endpoint"] = dict(
                sorted(
                    {
                        key: sum(1 for _, other in healthy if other == key)
                        for _, key in healthy
                    }.items()
                )
            )
        self.results["p4_requests_per_cycle"] = per_cycle
        self.results["p4_mennekes_max_in_flight"] = mennekes.max_in_flight
        self.results["p4_poll_intervals_s"] = {
            "circontrol": CIRCONTROL_POLL_S,
            "mennekes": MENNEKES_POLL_S,
        }

    # --- P7 ----------------------------------------------------------------

    def p7(self, stack: ExitStack) -> None:
        """OCPP charge points sending MeterValues: lost messages, CPU, the API."""
        args = self.args
        ids = charge_point_ids(args.ocpp_chargers)
        port = free_port()
        ocpp = home("p7-ocpp", components=[INTEGRATION])
        merge_entries(
            ocpp,
            [
                mqtt_entry(self.mqtt_port),
                ocpp_server_entry(port),
                *map(ocpp_charger_entry, ids),
            ],
        )
        self.log(f"P7: starting Home Assistant with {len(ids)} OCPP charge points")
        start_all(stack, [ocpp])
        pid = ocpp.pid
        idle = idle_rate(pid, args.idle_seconds)
        output = CACHE / "p7-fleet.json"
        output.unlink(missing_ok=True)
        fleet = subprocess.Popen(  # noqa: S603 - our own fixed command
            [
                sys.executable,
                "-m",
                "bench.ocpp_fleet",
                "--url",
                f"ws://127.0.0.1:{port}/ocpp",
                "--chargers",
                str(len(ids)),
                "--interval",
                str(P7_INTERVAL_S),
                "--duration",
                str(60 * args.ocpp_minutes),
                "--output",
                str(output),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(fleet.kill)
        assert fleet.stdin is not None  # noqa: S101 - piped above
        assert fleet.stdout is not None  # noqa: S101 - piped above
        if fleet.stdout.readline().strip() != "started":
            msg = "P7: the charge points did not all connect and get accepted"
            raise RuntimeError(msg)
        self.log(
            f"P7: {len(ids)} charge points send MeterValues every"
            f" {P7_INTERVAL_S} s for {args.ocpp_minutes:g} min"
        )
        api_latencies: list[float] = []
        stop = threading.Event()
        prober = threading.Thread(
            target=_probe_api, args=(ocpp, api_latencies, stop), daemon=True
        )
        before = CpuSample.take(pid)
        prober.start()
        fleet.stdout.readline()  # "done": every charge point has sent its last
        stop.set()
        prober.join(timeout=35)
        after = CpuSample.take(pid)
        sent = json.loads(output.read_text())
        time.sleep(DRAIN_S)
        states = ocpp.states()  # while the charge points are still connected
        fleet.stdin.close()
        fleet.wait(timeout=60)
        shown_wrong = sum(
            power is None
            or not _equal(
                states.get(f"sensor.{key.lower()}_connector_1_power", {}).get("state"),
                power,
            )
            for key, power in sent["power_w"].items()
        )
        window = CpuWindow(idle, after.cpu_since(before), after.wall - before.wall)
        self.results.update(
            p7_ocpp_chargers=len(ids),
            p7_ocpp_minutes=args.ocpp_minutes,
            p7_ocpp_messages=sent["messages"],
            p7_ocpp_unanswered=sent["unanswered"],
            p7_ocpp_shown_wrong=shown_wrong,
            p7_ocpp_lost_messages=sent["unanswered"] + shown_wrong,
            p7_ocpp_ha_cpu_percent=round(100 * window.net_s / window.wall_s, 1),
            p7_ocpp_cpu_ms_per_message=round(1000 * window.net_s / sent["messages"], 3),
            p7_api_p50_ms=round(1000 * percentile(api_latencies, 0.5), 1),
            p7_api_p99_ms=round(1000 * percentile(api_latencies, 0.99), 1),
        )


CIRCONTROL_POLL_S = 5
MENNEKES_POLL_S = 15
P7_INTERVAL_S = 10
"""How often each OCPP charge point sends MeterValues."""


def ocpp_server_entry(port: int) -> dict[str, Any]:
    """Return the OCPP server's entry, listening on ``port``."""
    entry = config_entry(
        "evse_bridge",
        "OCPP server",
        {"type": "ocpp_server"},
        unique_id="ocpp_server",
        options={
            "port": port,
            "path": "/ocpp",
            "new_charge_points": "refuse",
            "id_tags": "",
            "configure_meter_values": True,
            "certfile": "",
            "keyfile": "",
        },
    )
    return {**entry, "minor_version": 2}


def ocpp_charger_entry(charge_point_id: str) -> dict[str, Any]:
    """Return the entry of an accepted OCPP charge point."""
    entry = config_entry(
        "evse_bridge",
        charge_point_id,
        {
            "type": "ocpp",
            "charge_point_id": charge_point_id,
            "manufacturer": "EVSE Bridge",
            "model": "Simulated CP",
        },
        unique_id=f"ocpp:{charge_point_id}",
    )
    return {**entry, "minor_version": 2}


class Fleet:
    """Simulated chargers that report once a second; remembers what they sent."""

    def __init__(self, chargers: list[str], seed: int = 0) -> None:
        """One deterministic stream per charger."""
        self.streams = {
            charger: CtekStream(seed=seed + number)
            for number, charger in enumerate(chargers)
        }
        self.power: dict[tuple[str, str], float] = {}
        self.status: dict[tuple[str, str], tuple[str, int]] = {}

    def report(self) -> list[tuple[str, str]]:
        """Return one report of every charger: each meter's em, each EVSE's status."""
        messages = []
        for charger, stream in self.streams.items():
            for part in METERS:
                message, power = stream.em(part)
                self.power[charger, part] = power
                messages.append((topic(BASE, charger, message), message[2]))
            for part in EVSES:
                message, status = stream.status(part)
                self.status[charger, part] = status
                messages.append((topic(BASE, charger, message), message[2]))
        return messages

    @staticmethod
    def entity(charger: str, part: str, key: str) -> str:
        """Return the entity id of a part's sensor."""
        slug = "main_meter" if part == "mainMeter" else f"evse_{part[4:]}"
        return f"sensor.chargestorm_{charger.lower()}_{slug}_{key}"

    def power_entities(self) -> list[str]:
        """Return every meter's power sensor."""
        return [
            self.entity(charger, part, "power")
            for charger in self.streams
            for part in METERS
        ]

    def lost(self, states: dict[str, dict[str, Any]]) -> int:
        """Return how many sensors do not show the last value sent."""
        lost = 0
        for (charger, part), power in self.power.items():
            state = states.get(self.entity(charger, part, "power"), {}).get("state")
            lost += not _equal(state, power)
        for (charger, part), (code, assigned) in self.status.items():
            state = states.get(self.entity(charger, part, "ctek_state"), {})
            offered = states.get(self.entity(charger, part, "offered_current"), {})
            lost += state.get("state") != code.lower()
            lost += not _equal(offered.get("state"), assigned)
        return lost


def _equal(state: object, value: float) -> bool:
    try:
        return math.isclose(float(str(state)), value, abs_tol=1e-6)
    except ValueError:
        return False


def _probe_api(
    home_assistant: BenchHomeAssistant, latencies: list[float], stop: threading.Event
) -> None:
    """Time GET /api/ twice a second until stopped: is Home Assistant responsive."""
    while not stop.is_set():
        start = time.monotonic()
        home_assistant.request("GET", "/api/")
        latencies.append(time.monotonic() - start)
        stop.wait(0.5)


type StatsKey = tuple[str, int, str]


def _entries(stats: pstats.Stats) -> dict[StatsKey, tuple[int, int, float, float]]:
    raw: dict[StatsKey, tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    return {key: value[:4] for key, value in raw.items()}


def _calls(stats: pstats.Stats, file_suffix: str, function: str) -> int:
    return sum(
        value[1]
        for (file, _, name), value in _entries(stats).items()
        if file.endswith(file_suffix) and name == function
    )


def _cumulative(stats: pstats.Stats, file_suffix: str, function: str) -> float:
    return sum(
        value[3]
        for (file, _, name), value in _entries(stats).items()
        if file.endswith(file_suffix) and name == function
    )


def _settled(pid: int, idle: float) -> CpuSample:
    """Wait until a process is back to its idle rate; return a sample then."""
    deadline = time.monotonic() + SETTLE_LIMIT_S
    time.sleep(SETTLE_S)
    previous = CpuSample.take(pid)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)
        now = CpuSample.take(pid)
        busy = now.cpu_since(previous) / (now.wall - previous.wall)
        if busy <= idle + BUSY_SHARE:
            return now
        previous = now
    return previous


# --- Report --------------------------------------------------------------------

ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("P1", "YAML sensors, ms HA CPU/message", "p1_yaml_ms", ""),
    ("P1", "floor: parse only, ms/message", "p1_floor_ms", ""),
    ("P1", "floor: parse, write the same states, ms/message", "p1_floor_writes_ms", ""),
    ("P1", "EVSE Bridge defaults, ms/message", "p1_bridge_ms", ""),
    ("P1", "EVSE Bridge all entities, ms/message", "p1_bridge_all_ms", ""),
    ("P1", "defaults / floor with writes", "p1_ratio_floor_writes", "<= 1.2"),
    ("P1", "all entities / YAML", "p1_ratio_yaml_all", "<= 0.7"),
    ("P1", "defaults / YAML", "p1_ratio_yaml", ""),
    ("P1", "defaults / parse-only floor", "p1_ratio_floor", ""),
    ("P1", "all entities / parse-only floor", "p1_ratio_floor_all", ""),
    ("P1", "entities: YAML / defaults / all", "p1_entities", ""),
    ("P1", "state writes/message: YAML / floor / defaults / all", "p1_writes", ""),
    ("P1", "worst crafted payload (16 KiB), parser, ms", "p1_worst_payload_ms", "<= 5"),
    ("P1", "... through Home Assistant, ms CPU", "p1_worst_payload_ha_ms", ""),
    ("P2", "publish to state p50, ms", "p2_p50_ms", ""),
    ("P2", "publish to state p99, ms", "p2_p99_ms", "< 50"),
    ("P2", "YAML sensors p50 / p99, ms", "p2_yaml", ""),
    ("P3", "chargers (meters)", "p3_chargers", "50"),
    ("P3", "messages/s during the load", "p3_messages_per_s", ""),
    ("P3", "lost (final state != last sent)", "p3_lost_messages", "0"),
    ("P3", "HA CPU during the load, % of a core", "p3_ha_cpu_percent", ""),
    ("P3", "EVSE Bridge callback share of HA CPU", "p3_integration_cpu_share", ""),
    ("P3", "GET /api/ under load p50 / max, ms", "p3_api", ""),
    ("P3", "HA RSS, MB / per charger vs no chargers", "p3_rss", ""),
    ("P3", "RSS growth over the soak, MB", "p3_rss_growth_mb", "~0"),
    ("P4", "Circontrol requests/poll cycle", "p4_circontrol_requests_per_cycle", "2"),
    ("P4", "Mennekes requests/poll cycle", "p4_mennekes_requests_per_cycle", "1"),
    ("P4", "Circontrol requests/min healthy / failing", "p4_circontrol_rate", "drops"),
    ("P4", "Mennekes requests/min healthy / failing", "p4_mennekes_rate", "drops"),
    ("P5", "EVSE Bridge setup, 3 chargers, ms", "p5_setup_ms", ""),
    ("P6", "meter sample to command on the wire p50, ms", "p6_reaction_p50_ms", ""),
    ("P6", "... p99, ms", "p6_reaction_p99_ms", "<= 1000"),
    ("P6", "reactions measured / missed", "p6_counts", ">= 100 / 0"),
    ("P7", "OCPP charge points (MeterValues every 10 s)", "p7_ocpp_chargers", "100"),
    ("P7", "MeterValues sent", "p7_ocpp_messages", ""),
    ("P7", "lost (unanswered or not shown)", "p7_ocpp_lost_messages", "0"),
    ("P7", "HA CPU, ms/MeterValues", "p7_ocpp_cpu_ms_per_message", ""),
    ("P7", "GET /api/ under load p50 / p99, ms", "p7_api", ""),
)


def _value(results: dict[str, Any], key: str) -> str:
    def get(name: str) -> str:
        value = results.get(name)
        return "-" if value is None else str(value)

    combined = {
        "p1_entities": (
            "p1_yaml_entities",
            "p1_bridge_entities",
            "p1_bridge_all_entities",
        ),
        "p1_writes": (
            "p1_yaml_state_writes_per_message",
            "p1_floor_writes_state_writes_per_message",
            "p1_bridge_state_writes_per_message",
            "p1_bridge_all_state_writes_per_message",
        ),
        "p2_yaml": ("p2_yaml_p50_ms", "p2_yaml_p99_ms"),
        "p3_api": ("p3_api_p50_ms", "p3_api_max_ms"),
        "p7_api": ("p7_api_p50_ms", "p7_api_p99_ms"),
        "p6_counts": ("p6_reactions", "p6_missed"),
        "p3_rss": ("p3_rss_mb", "p3_rss_per_charger_mb"),
        "p4_circontrol_rate": (
            "p4_circontrol_requests_per_min_healthy",
            "p4_circontrol_requests_per_min_failing",
        ),
        "p4_mennekes_rate": (
            "p4_mennekes_requests_per_min_healthy",
            "p4_mennekes_requests_per_min_failing",
        ),
    }
    if key in combined:
        return " / ".join(get(name) for name in combined[key])
    if f"{key}_spread" in results:
        # The rounds' range relative to their median.
        return f"{get(key)} (range {100 * results[f'{key}_spread']:.1f} %)"
    return get(key)


def table(results: dict[str, Any]) -> str:
    """Return the results as a markdown table."""
    lines = ["| | Figure | Value | Target |", "|---|---|---|---|"]
    lines.extend(
        f"| {bench} | {label} | {_value(results, key)} | {target} |"
        for bench, label, key, target in ROWS
        if bench.lower() in results.get("benchmarks", [])
    )
    return "\n".join(lines)


def run(args: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    """Run the selected benchmarks; return the figures."""
    bench = Bench(args, stack)
    bench.results["benchmarks"] = sorted(args.only)
    if args.only & {"p1", "p2"}:
        bench.p1_p2()
    polled_stack = stack.enter_context(ExitStack())
    p4_thread: threading.Thread | None = None
    if args.only & {"p4", "p5"}:
        polled, circontrol, mennekes = bench.p4_p5_start(polled_stack)
        if "p5" in args.only:
            bench.p5(polled)
        if "p4" in args.only:
            bench.log("P4: counting poll requests (in the background)")
            p4_thread = threading.Thread(
                target=bench.p4, args=(circontrol, mennekes), daemon=True
            )
            p4_thread.start()
    if "p3" in args.only:
        with ExitStack() as p3_stack:
            scale, chargers = bench.p3_start(p3_stack)
            bench.p3(scale, chargers)
            bench.p3_soak(scale, chargers)
    if "p6" in args.only:
        with ExitStack() as p6_stack:
            bench.results.update(
                run_p6(p6_stack, bench.publisher, bench.mqtt_port, bench.log)
            )
    if "p7" in args.only:
        with ExitStack() as p7_stack:
            bench.p7(p7_stack)
    if p4_thread is not None:
        p4_thread.join(timeout=args.poll_seconds + args.fail_seconds + 60)
    polled_stack.close()
    bench.results["profiles"] = bench.profiles
    return bench.results


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks, print the table, write the results file."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    args = parse_args(argv)
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with ExitStack() as stack:
        results = run(args, stack)
    results["duration_s"] = round(time.monotonic() - started, 1)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    out = sys.stdout
    for name, lines in results["profiles"].items():
        out.write(f"\nWhere {name}'s Home Assistant spends CPU (P1 stream, py-spy):\n")
        out.write("\n".join(lines) + "\n")
    out.write(f"\n{table(results)}\n")
    out.write(
        f"\nWritten to {args.output.resolve()} in {results['duration_s']:.0f} s\n"
    )
