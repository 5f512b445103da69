"""Fixtures of the site tests: a fake charger in the hub and a meter of states."""

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any, override

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.control import (
    Capabilities,
    ChargerControl,
    CurrentRange,
)
from custom_components.evse_bridge.api.model import (
    ChargerInfo,
    ChargerState,
    ConnectorState,
    MeterReading,
    Part,
)
from custom_components.evse_bridge.const import CONF_TYPE, DOMAIN
from custom_components.evse_bridge.coordinator import (
    ChargerConfigEntry,
    ChargerCoordinator,
)
from custom_components.evse_bridge.hub import ChargerHandle, async_get_hub
from custom_components.evse_bridge.site.const import SITE

SERIAL = "FAKE0001"
KEY = f"{SERIAL}:1"
METER = ("sensor.grid_l1", "sensor.grid_l2", "sensor.grid_l3")

SITE_OPTIONS: dict[str, Any] = {
    "fuse_a": 20.0,
    "phases": "3",
    "voltage_v": 230.0,
    "meter_kind": "current",
    "meter_l1": METER[0],
    "meter_l2": METER[1],
    "meter_l3": METER[2],
    "sign": "import_positive",
    "connectors": [KEY],
    "fallback": "pause",
    "fallback_current_a": 6.0,
}


class FakeControl(ChargerControl):
    """A charger that takes 6-16 A and pause/resume, and records each command."""

    def __init__(self, coordinator: FakeCoordinator) -> None:
        """Command ``coordinator``'s connector."""
        self.coordinator = coordinator
        self.commands: list[tuple[str, int]] = []
        self.fail: Exception | None = None
        self.range: CurrentRange | None = CurrentRange(min_a=6, max_a=16)
        self.gate: asyncio.Event | None = None
        """While set, commands wait for it (a slow charger)."""
        self.pause_resume = True
        self.unregister: Callable[[], None] = lambda: None

    @override
    def capabilities(self, part: Part) -> Capabilities:
        return Capabilities(current_limit=self.range, pause_resume=self.pause_resume)

    @override
    async def set_current_limit(self, connector: int, amps: int) -> None:
        await self._check()
        self.commands.append(("limit", amps))
        self.coordinator.change(current_limit_a=float(amps))

    @override
    async def set_charging_enabled(self, connector: int, enabled: bool) -> None:
        await self._check()
        self.commands.append(("enabled", int(enabled)))
        self.coordinator.change(charging_enabled=enabled)

    async def _check(self) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail


class FakeCoordinator(ChargerCoordinator):
    """A charger whose state the test sets."""

    def __init__(self, hass: HomeAssistant, entry: ChargerConfigEntry) -> None:
        """Start with a car plugged in, drawing nothing."""
        super().__init__(hass, entry, name="fake", serial_number=SERIAL)
        self.data = ChargerState(
            parts={
                "connector1": Part(
                    id="connector1",
                    number=1,
                    meter=MeterReading(current_a=(0.0, 0.0, 0.0)),
                    connector=ConnectorState(
                        vehicle_connected=True,
                        charging_enabled=True,
                        session_energy_wh=0.0,
                    ),
                )
            }
        )

    def change(self, **changes: Any) -> None:
        """Change the connector's state."""
        part = self.data.parts["connector1"]
        assert part.connector is not None
        self.data = ChargerState(
            parts={
                "connector1": replace(
                    part, connector=replace(part.connector, **changes)
                )
            }
        )

    metered = True
    """False: the connector reports what it offers, not what the car draws."""
    poll_s: float | None = None
    """Set: a polled charger, whose car current is read only this often."""
    read_at = 0.0

    def draw(self, *amps: float) -> None:
        """Let the car draw ``amps`` per phase (seen at the next poll, if polled)."""
        now = dt_util.utcnow().timestamp()
        if self.poll_s is not None and now - self.read_at < self.poll_s:
            return
        self.read_at = now
        part = self.data.parts["connector1"]
        if not self.metered:
            self.change(charging=amps[0] > 0, offered_current_a=amps[0])
            part = self.data.parts["connector1"]
            self.data = ChargerState(parts={"connector1": replace(part, meter=None)})
            return
        self.data = ChargerState(
            parts={
                "connector1": replace(
                    part, meter=MeterReading(current_a=(amps[0], amps[1], amps[2]))
                )
            }
        )

    @override
    async def _async_update_data(self) -> ChargerState:
        return self.data

    @override
    def is_part_available(self, part_id: str) -> bool:
        return part_id in self.data.parts

    @override
    def seconds_since_seen(self, part_id: str) -> float | None:
        if self.poll_s is None:
            return 0.0
        return dt_util.utcnow().timestamp() - self.read_at


@pytest.fixture
async def control(hass: HomeAssistant) -> FakeControl:
    """Put a fake charger with one connector into the hub."""
    # Not an EVSE Bridge entry: Home Assistant would try to set it up.
    entry = MockConfigEntry(domain="test", unique_id=SERIAL, title="Garage")
    entry.add_to_hass(hass)
    coordinator = FakeCoordinator(hass, entry)
    fake = FakeControl(coordinator)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, f"{SERIAL}_connector1")},
        name="Garage connector 1",
    )
    fake.unregister = async_get_hub(hass).async_register(
        ChargerHandle(
            entry=entry,
            info=ChargerInfo(serial_number=SERIAL, manufacturer="Test"),
            coordinator=coordinator,
            control=fake,
        )
    )
    return fake


def set_meter(hass: HomeAssistant, *amps: float, unit: str = "A") -> None:
    """Report one meter sample (every phase, even unchanged ones)."""
    for entity_id, value in zip(METER, amps, strict=True):
        hass.states.async_set(
            entity_id,
            str(value),
            {"unit_of_measurement": unit, "device_class": "current"},
        )


@pytest.fixture
def site_entry(hass: HomeAssistant) -> MockConfigEntry:
    """Return a site of 20 A on three phases driving the fake charger."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=f"{SITE}_home",
        data={CONF_TYPE: SITE, "name": "Home"},
        options=SITE_OPTIONS,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    return entry
