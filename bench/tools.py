"""Building blocks of the benchmarks: message streams, probes, processes."""

import asyncio
from collections import Counter
from collections.abc import Coroutine, Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import random
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Self
import urllib.error
import urllib.request

import aiohttp
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devtools.live import ROOT, HomeAssistant, config_entry

BENCH = Path(__file__).resolve().parent
BENCH_COMPONENTS = BENCH / "custom_components"
CACHE = ROOT / ".cache" / "bench"
# What every benchmarked Home Assistant loads besides MQTT: the REST and
# websocket APIs to observe it, onboarding for a user. No recorder, history or
# frontend, as in QUALITY.md's reference measurements: they cost the same in
# every configuration and only add noise.
INTEGRATIONS = ("api", "websocket_api", "onboarding")
USERNAME = "bench"
PASSWORD = "evse-bridge-bench"  # noqa: S105 - a local benchmark instance
METERS = ("mainMeter", "evse1", "evse2")
EVSES = ("evse1", "evse2")
POWER_OFFSET = 1000.5
"""A meter message's power is POWER_OFFSET + its sequence number: unique."""
STATUS_EVERY = 10
"""Every tenth message of a P1 stream is an EVSE status, the rest meter data."""
TIMESTAMP = "2026-01-01T00:00:00Z"

type Message = tuple[str, str, str]
"""(part, kind, JSON payload); the topic is ``<base>/<charger>/<part>/<kind>``."""


# --- Message streams ---------------------------------------------------------


@dataclass
class CtekStream:
    """Deterministic CTEK messages: ``em`` per meter, ``status`` per EVSE."""

    seed: int = 7
    start_wh: int = 20_218_145
    sequence: int = 0
    energy: dict[str, int] = field(init=False)
    _random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        """Seed the generator."""
        self._random = random.Random(self.seed)  # noqa: S311 - not cryptography
        self.energy = {
            part: self.start_wh + 1_000_000 * number
            for number, part in enumerate(METERS)
        }

    def em(self, part: str) -> tuple[Message, float]:
        """Return one meter message and its (unique) power."""
        rnd = self._random
        self.energy[part] += rnd.randint(1, 30)
        power = POWER_OFFSET + self.sequence
        self.sequence += 1
        payload = {
            "current": [round(rnd.uniform(0, 16), 3) for _ in range(3)],
            "energy": self.energy[part],
            "frequency": 50,
            "power": power,
            "timestamp": TIMESTAMP,
            "voltage": [round(rnd.uniform(225, 245), 1) for _ in range(3)],
        }
        return (part, "em", json.dumps(payload)), power

    def status(self, part: str) -> tuple[Message, tuple[str, int]]:
        """Return one EVSE status message and its (state, assigned current)."""
        rnd = self._random
        state = rnd.choice(["CHRG", "PAUS", "EVRD"])
        assigned = rnd.choice([6, 10, 16])
        payload = {"assigned": assigned, "state": state, "timestamp": TIMESTAMP}
        return (part, "status", json.dumps(payload)), (state, assigned)

    def mixed(self, count: int) -> list[Message]:
        """Return ``count`` messages: meters in turn, an EVSE status every tenth."""
        messages = []
        for index in range(count):
            if index % STATUS_EVERY == STATUS_EVERY - 1:
                part = EVSES[(index // STATUS_EVERY) % len(EVSES)]
                messages.append(self.status(part)[0])
            else:
                messages.append(self.em(METERS[index % len(METERS)])[0])
        return messages


def topic(base: str, charger_id: str, message: Message) -> str:
    """Return the topic a message is published on."""
    part, kind, _ = message
    return f"{base}/{charger_id}/{part}/{kind}"


class Publisher:
    """A paho client on the benchmark's broker that publishes at a steady rate."""

    def __init__(self, port: int) -> None:
        """Connect and start the network loop."""
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench")
        self._client.max_queued_messages_set(0)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def publish(self, topic_: str, payload: str) -> None:
        """Publish one message (QoS 0, not retained)."""
        self._client.publish(topic_, payload, qos=0)

    def run(
        self,
        messages: Sequence[tuple[str, str]],
        rate: float,
        *,
        sent: list[float] | None = None,
    ) -> float:
        """Publish (topic, payload) pairs at ``rate`` per second; return seconds.

        ``sent`` receives each message's publish time (time.monotonic()).
        """
        start = time.monotonic()
        for index, (topic_, payload) in enumerate(messages):
            if sent is not None:
                sent.append(time.monotonic())
            self._client.publish(topic_, payload, qos=0)
            delay = start + (index + 1) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.flush()
        return time.monotonic() - start

    def flush(self) -> None:
        """Wait until the broker has everything published so far."""
        self._client.publish("bench/flush", b"", qos=1).wait_for_publish(timeout=30)

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


# --- Process probes ----------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Return a process's resident memory in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class CpuWindow:
    """CPU a process spent on a load, with its idle rate subtracted."""

    idle_per_s: float
    gross_s: float
    wall_s: float

    @property
    def net_s(self) -> float:
        """Return the CPU seconds the load cost."""
        return max(self.gross_s - self.idle_per_s * self.wall_s, 0.0)


@dataclass(frozen=True)
class CpuSample:
    """CPU time of each thread of a process at one moment, from its scheduler.

    Nanoseconds, where ``/proc/PID/stat`` counts 10 ms ticks: a P1 window
    costs Home Assistant a few hundred ms, so ticks alone would make rounds
    differ by several percent.
    """

    wall: float
    threads: dict[int, int]

    @classmethod
    def take(cls, pid: int) -> Self:
        """Read every thread's CPU time now."""
        threads = {}
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                threads[int(task.name)] = int(
                    (task / "schedstat").read_text().split()[0]
                )
            except FileNotFoundError, ProcessLookupError:
                continue  # the thread ended while we looked
        return cls(time.monotonic(), threads)

    def cpu_since(self, earlier: CpuSample) -> float:
        """Return the CPU seconds the process used since an earlier sample.

        A thread that started in between counts from zero; one that ended
        in between is lost (Home Assistant's threads live as long as it).
        """
        return (
            sum(
                now - earlier.threads.get(thread, 0)
                for thread, now in self.threads.items()
            )
            / 1e9
        )


def idle_rate(pid: int, seconds: float) -> float:
    """Return the CPU seconds per second a process uses while nothing happens."""
    before = CpuSample.take(pid)
    time.sleep(seconds)
    after = CpuSample.take(pid)
    return after.cpu_since(before) / (after.wall - before.wall)


def split_cores() -> tuple[set[int], set[int]]:
    """Return the cores for Home Assistant and those for the load generator.

    Home Assistant gets the last core this process may use; the broker, the
    publisher and this process the others, so that they never take turns on
    Home Assistant's core. With a single core both share it.
    """
    cores = os.sched_getaffinity(0)
    if len(cores) < 2:  # noqa: PLR2004 - one for each side
        return cores, cores
    last = max(cores)
    return {last}, cores - {last}


def pin_threads(pid: int, cores: set[int]) -> None:
    """Keep every thread of a process on some cores; threads it starts inherit it."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), cores)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return a percentile by nearest rank (values need not be sorted)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """Return the median, NaN for none."""
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> float:
    """Return the range of values relative to their median (0.1: 10 %)."""
    middle = median(values)
    if not values or not middle:
        return float("nan")
    return round((max(values) - min(values)) / middle, 4)


# --- Home Assistant ----------------------------------------------------------


@dataclass
class BenchHomeAssistant(HomeAssistant):
    """Home Assistant without the frontend: ready when bootstrap is done."""

    cores: set[int] | None = None
    """The cores its threads run on once it has started; None: any."""

    def start(self, *, limit: float = 240.0, output: int | None = None) -> Self:
        """Start ``hass -c``, create or log in the user, wait until RUNNING."""
        lock = self.config_dir / ".ha_run.lock"
        if lock.exists():
            lock.unlink()
        log = (self.config_dir / "bench-stdout.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - fixed program and arguments
            [sys.executable, "-m", "homeassistant", "-c", str(self.config_dir)],
            stdout=output if output is not None else log,
            stderr=subprocess.STDOUT,
            # Neither the project on the path (PYTHONPATH, or the working
            # folder, which ``-m`` adds): its custom_components folder would
            # hide the configuration's, which links the bench's integrations.
            env={
                key: value for key, value in os.environ.items() if key != "PYTHONPATH"
            },
            cwd=self.config_dir,
        )
        log.close()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = (
                    f"Home Assistant in {self.config_dir} exited with "
                    f"{self.process.returncode}; see its home-assistant.log"
                )
                raise RuntimeError(msg)
            try:
                if self.token is None:
                    self.onboard(USERNAME, PASSWORD)
                running = self.request("GET", "/api/config")["state"] == "RUNNING"
            except urllib.error.URLError, OSError, KeyError, TypeError:
                running = False
            if running:
                if self.cores is not None:
                    pin_threads(self.process.pid, self.cores)
                return self
            time.sleep(0.5)
        msg = f"Home Assistant in {self.config_dir} was not running within {limit} s"
        raise TimeoutError(msg)

    @property
    def pid(self) -> int:
        """Return the process id."""
        if self.process is None:
            msg = "Home Assistant is not running"
            raise RuntimeError(msg)
        return self.process.pid

    def stop(self) -> None:
        """Stop Home Assistant; the token dies with it."""
        super().stop()
        self.token = None

    def call_service(self, domain: str, service: str, data: dict[str, Any]) -> None:
        """Call a service through the REST API."""
        self.request("POST", f"/api/services/{domain}/{service}", data)

    def ws_url(self) -> str:
        """Return the websocket API's address."""
        return f"ws://127.0.0.1:{self.port}/api/websocket"


def mqtt_entry(port: int) -> dict[str, Any]:
    """Return the MQTT integration's entry for the benchmark's broker."""
    return config_entry("mqtt", "Mosquitto", {"broker": "127.0.0.1", "port": port})


def ctek_entry(
    charger_id: str, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return an EVSE Bridge entry for a CTEK charger under base topic CTEK."""
    return config_entry(
        "evse_bridge",
        f"Chargestorm {charger_id}",
        {"vendor": "ctek", "base_topic": "CTEK", "charger_id": charger_id},
        unique_id=charger_id,
        options=options,
    )


def merge_entries(
    home_assistant: HomeAssistant, wanted: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store the wanted config entries, keeping the ids of those already stored.

    Reusing a configuration folder keeps its entities; only data (ports),
    options and the data's version change between runs: the wanted data is
    in the version it is written in, and Home Assistant migrates it again
    (kept at the migrated version, a second run's data went unmigrated).
    Return the stored entries.
    """
    path = home_assistant.config_dir / ".storage" / "core.config_entries"
    stored: dict[tuple[str, str | None], dict[str, Any]] = {}
    if path.exists():
        for entry in json.loads(path.read_text())["data"]["entries"]:
            stored[entry["domain"], entry["unique_id"]] = entry
    entries = []
    for entry in wanted:
        old = stored.get((entry["domain"], entry["unique_id"]))
        if old is not None:
            entry = {  # noqa: PLW2901
                **old,
                **{key: entry[key] for key in ("data", "options", "minor_version")},
            }
        entries.append(entry)
    home_assistant.write_config_entries(entries)
    return entries


# --- Websocket API -----------------------------------------------------------


class Websocket:
    """An authenticated connection to Home Assistant's websocket API."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        """Remember where to connect; use ``async with``."""
        self._session = session
        self._url = url
        self._token = token
        self._id = 0
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> Self:
        """Connect and authenticate."""
        self.socket = await self._session.ws_connect(self._url, max_msg_size=0)
        await self.socket.receive_json()  # auth_required
        await self.socket.send_json({"type": "auth", "access_token": self._token})
        answer = await self.socket.receive_json()
        if answer.get("type") != "auth_ok":
            msg = f"websocket authentication failed: {answer}"
            raise RuntimeError(msg)
        return self

    async def __aexit__(self, *_: object) -> None:
        """Close the connection."""
        if self.socket is not None:
            await self.socket.close()

    async def command(self, message: dict[str, Any]) -> Any:
        """Send a command and return its result (events in between are dropped)."""
        assert self.socket is not None  # noqa: S101 - entered
        self._id += 1
        await self.socket.send_json({**message, "id": self._id})
        while True:
            answer = await self.socket.receive_json(timeout=30)
            if answer.get("id") == self._id and answer.get("type") == "result":
                if not answer.get("success"):
                    msg = f"{message['type']} failed: {answer.get('error')}"
                    raise RuntimeError(msg)
                return answer.get("result")

    async def events(self) -> Any:
        """Return the next message (an event of a subscription)."""
        assert self.socket is not None  # noqa: S101 - entered
        return await self.socket.receive_json()


async def ws_command(
    home_assistant: BenchHomeAssistant, message: dict[str, Any]
) -> Any:
    """Run one websocket command and return its result."""
    assert home_assistant.token is not None  # noqa: S101 - started
    async with (
        aiohttp.ClientSession() as session,
        Websocket(session, home_assistant.ws_url(), home_assistant.token) as ws,
    ):
        return await ws.command(message)


# --- Simulators in a background event loop -----------------------------------


class LoopThread:
    """An asyncio event loop in a daemon thread, for the HTTP simulators."""

    def __init__(self) -> None:
        """Start the loop."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run[T](self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine in the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


class TimedCounter(Counter[str]):
    """A Counter of requests that also logs when each one came."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self.log: list[tuple[float, str]] = []

    def __setitem__(self, key: str, value: int) -> None:
        """Count, and log the time of the increment."""
        if value > self.get(key, 0):
            self.log.append((time.monotonic(), key))
        super().__setitem__(key, value)

    def between(self, start: float, end: float) -> list[tuple[float, str]]:
        """Return the requests logged in a time window."""
        return [item for item in self.log if start <= item[0] < end]


def cycles(times: Iterator[float] | Sequence[float], gap: float = 1.0) -> int:
    """Return how many bursts of requests (poll cycles) the times form."""
    count = 0
    last: float | None = None
    for moment in sorted(times):
        if last is None or moment - last > gap:
            count += 1
        last = moment
    return count
