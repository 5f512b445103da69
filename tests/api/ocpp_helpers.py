"""A central system and simulated charge points on 127.0.0.1, for the OCPP tests."""

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
import logging
from typing import Any

import pytest

from custom_components.evse_bridge.api.model import (
    ChargerInfo,
    ConnectorState,
    MeterReading,
)
from custom_components.evse_bridge.api.ocpp import (
    Admission,
    MemoryTransactionStore,
    OcppChargePoint,
    OcppControl,
    OcppServer,
    OcppSettings,
    OcppSnapshot,
)
from simulators.ocpp import OcppSimulator

WAIT_S = 10.0
"""A safety net for waits that normally end at once: no test measures time."""
PACKAGE_LOGGER = "custom_components.evse_bridge.api.ocpp"
FAST = OcppSettings(response_timeout_s=5.0, verify_timeout_s=5.0)


@dataclass
class Decisions:
    """The admission hook: what the user decided, per charge point id."""

    decided: dict[str, Admission] = field(default_factory=dict)
    asked: list[tuple[str, ChargerInfo | None]] = field(default_factory=list)
    _asked_again: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, charge_point_id: str, info: ChargerInfo | None) -> Admission:
        """Answer for a charge point: pending unless decided."""
        self.asked.append((charge_point_id, info))
        self._asked_again.set()
        return self.decided.get(charge_point_id, Admission.PENDING)

    async def until_asked(self, times: int) -> None:
        """Wait until the hook has been asked this many times in all."""
        async with asyncio.timeout(WAIT_S):
            while len(self.asked) < times:
                self._asked_again.clear()
                await self._asked_again.wait()


@dataclass
class Snapshots:
    """The listener: every snapshot, and a way to wait for one."""

    seen: list[OcppSnapshot] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, snapshot: OcppSnapshot) -> None:
        """Keep a snapshot."""
        self.seen.append(snapshot)
        self._changed.set()

    def latest(self, charge_point_id: str = "CP1") -> OcppSnapshot:
        """Return the newest snapshot of a charge point."""
        return next(
            s for s in reversed(self.seen) if s.charge_point_id == charge_point_id
        )

    async def until(
        self, predicate: Callable[[OcppSnapshot], bool], charge_point_id: str = "CP1"
    ) -> OcppSnapshot:
        """Wait for a snapshot of a charge point that matches."""
        async with asyncio.timeout(WAIT_S):
            while True:
                for snapshot in reversed(self.seen):
                    if snapshot.charge_point_id == charge_point_id:
                        if predicate(snapshot):
                            return snapshot
                        break
                self._changed.clear()
                await self._changed.wait()


def ours(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    """Return the central system's log records at ``level`` or above."""
    return [
        record
        for record in caplog.records
        if record.levelno >= level and record.name.startswith(PACKAGE_LOGGER)
    ]


def logged(caplog: pytest.LogCaptureFixture, text: str) -> int:
    """Return how many of the central system's lines (info or above) say ``text``."""
    return sum(text in record.getMessage() for record in ours(caplog, logging.INFO))


def connector(snapshot: OcppSnapshot, number: int = 1) -> ConnectorState:
    """Return a connector's state from a snapshot."""
    part = snapshot.state.parts[f"connector{number}"]
    assert part.connector is not None
    return part.connector


def meter(snapshot: OcppSnapshot, number: int = 1) -> MeterReading:
    """Return a connector's meter from a snapshot."""
    part = snapshot.state.parts[f"connector{number}"]
    assert part.meter is not None
    return part.meter


@dataclass
class Harness:
    """A running central system, with the hooks the integration would give."""

    server: OcppServer
    decisions: Decisions
    snapshots: Snapshots
    store: MemoryTransactionStore

    def url(self, charge_point_id: str = "CP1", scheme: str = "ws") -> str:
        """Return the URL a charge point connects to."""
        return f"{scheme}://127.0.0.1:{self.server.port}/ocpp/{charge_point_id}"

    def simulator(self, charge_point_id: str = "CP1", **options: Any) -> OcppSimulator:
        """Return a simulated charge point for this server (not connected)."""
        return OcppSimulator(self.url(charge_point_id), **options)

    def charge_point(self, charge_point_id: str = "CP1") -> OcppChargePoint:
        """Return what the server knows of a charge point."""
        return self.server.charge_points[charge_point_id]

    def control(self, charge_point_id: str = "CP1") -> OcppControl:
        """Return the commands of a charge point."""
        return self.server.control(charge_point_id)

    async def accept(self, sim: OcppSimulator) -> None:
        """Boot a connected simulator as the user accepts it, and let set-up finish."""
        self.decisions.decided[sim.charge_point_id] = Admission.ACCEPTED
        if sim.registration is None:
            assert await sim.boot() == "Accepted"
        else:
            self.charge_point(sim.charge_point_id).reconsider()
            await self.control(sim.charge_point_id).request_boot()
        await self.settle(sim)

    async def settle(self, sim: OcppSimulator) -> None:
        """Wait until both sides have finished what they started.

        One exchange may start another (a boot asks for the configuration, which
        asks for meter values): wait until a round passes without a new frame.
        """
        async with asyncio.timeout(WAIT_S):
            frames = -1
            while frames != len(sim.frames):
                frames = len(sim.frames)
                await self.charge_point(sim.charge_point_id).settle()
                await sim.settle()


@contextlib.asynccontextmanager
async def running_harness(**options: Any) -> AsyncIterator[Harness]:
    """Run a central system on a free port of 127.0.0.1."""
    decisions, snapshots = Decisions(), Snapshots()
    store = options.pop("store", None) or MemoryTransactionStore()
    # No websocket pings: aiohttp 3.14 may arm its ping timer again when the
    # peer's close frame arrives after the server closed, and the test plugin
    # fails a test that leaves a timer behind.
    options.setdefault("ping_interval_s", None)
    server = OcppServer(
        admission=decisions,
        store=store,
        listener=snapshots,
        host="127.0.0.1",
        port=0,
        settings=options.pop("settings", FAST),
        **options,
    )
    async with server:
        yield Harness(server, decisions, snapshots, store)


@contextlib.asynccontextmanager
async def accepted_simulator(
    harness: Harness, charge_point_id: str = "CP1", **options: Any
) -> AsyncIterator[OcppSimulator]:
    """Connect a simulated charge point and have it accepted."""
    async with harness.simulator(charge_point_id, **options) as sim:
        await harness.accept(sim)
        yield sim
