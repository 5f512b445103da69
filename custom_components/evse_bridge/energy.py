"""Lifetime energy of every part, kept trustworthy and stored across restarts.

The coordinators pass each new reading through here before anything else sees
it, so entities, statistics and everything that reads a charger's state get
totals that never decrease and never jump (api/energy.py has the rules).
"""

from dataclasses import replace
import time
from typing import Any, Final

from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, restore_state
from homeassistant.helpers.storage import Store

from .api.energy import EnergyCounter, SessionEnergyTotal, max_power_w
from .api.model import ChargerState, Part
from .const import DOMAIN

# Totals change with every reading while charging; writing them to disk once
# a minute (and at unload and shutdown) loses nothing that matters.
STORE_DELAY_S: Final = 60.0
STORE_VERSION: Final = 2
# AC chargers deliver at most 32 A per phase (IEC 62196-2 type 2).
DEFAULT_MAX_CURRENT_A: Final = 32.0
# A station meter (CTEK's mainMeter) covers every connector of the charger,
# and a Chargestorm has up to two; more count once they publish.
MIN_CONNECTORS_PER_STATION: Final = 2


# The units the energy sensor has had in its restore data: Wh, then kWh.
_WH_PER_UNIT: Final[dict[str, int]] = {
    UnitOfEnergy.WATT_HOUR: 1,
    UnitOfEnergy.KILO_WATT_HOUR: 1000,
}


def energy_store_key(entry_id: str) -> str:
    """Return the storage key of an entry's energy totals."""
    return f"{DOMAIN}.{entry_id}.energy"


class _EnergyStore(Store[dict[str, Any]]):
    """Version 1 held only the totals built from sessions, keyed by part."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> dict[str, Any]:
        return {"counters": {}, "sessions": old_data}


class EnergyLedger:
    """The trusted lifetime energy of each part of one charger."""

    def __init__(self, hass: HomeAssistant, entry_id: str, serial_number: str) -> None:
        """Keep the totals of one config entry."""
        self._hass = hass
        self._serial_number = serial_number
        self._store = _EnergyStore(hass, STORE_VERSION, energy_store_key(entry_id))
        self._stored: dict[str, Any] = {"counters": {}, "sessions": {}}
        self._counters: dict[str, EnergyCounter] = {}
        self._sessions: dict[str, SessionEnergyTotal] = {}
        self._save_pending = False

    async def async_load(self) -> None:
        """Read the stored totals; call once before the first reading."""
        stored = await self._store.async_load()
        if isinstance(stored, dict):
            for kind in ("counters", "sessions"):
                if isinstance(stored.get(kind), dict):
                    self._stored[kind] = stored[kind]

    async def async_save(self) -> None:
        """Write the totals now (at unload)."""
        self._save_pending = False
        await self._store.async_save(self._data())

    def trusted(self, state: ChargerState, part: Part, *, from_sessions: bool) -> Part:
        """Return ``part`` with its lifetime energy replaced by the trusted total.

        ``from_sessions``: the charger has no lifetime meter; the total is
        built from the connector's session energy. Each call is one reading.
        """
        meter = part.meter
        if meter is None:
            return part
        limit = self._max_power_w(state, part)
        at = time.time()
        if from_sessions:
            total = self._session_total(part.id, limit)
            connector = part.connector
            energy = total.feed(
                None if connector is None else connector.session_energy_wh,
                None if connector is None else connector.session_duration_s,
                at,
            )
        else:
            counter = self._counter(part.id, limit)
            energy = counter.feed(meter.energy_wh, at)
        self._schedule_save()
        if energy == meter.energy_wh:
            return part  # as read: most readings
        return replace(part, meter=replace(meter, energy_wh=energy))

    @staticmethod
    def _max_power_w(state: ChargerState, part: Part) -> float:
        """Return the most this part's meter can see: its connector, or all."""
        if part.connector is not None:
            return max_power_w(part.connector.max_current_a or DEFAULT_MAX_CURRENT_A)
        connectors = sum(1 for other in state.parts.values() if other.connector)
        return max(connectors, MIN_CONNECTORS_PER_STATION) * max_power_w(
            DEFAULT_MAX_CURRENT_A
        )

    def _counter(self, part_id: str, limit_w: float) -> EnergyCounter:
        counter = self._counters.get(part_id)
        if counter is None:
            stored = self._stored["counters"].get(part_id)
            counter = self._counters[part_id] = (
                EnergyCounter.from_dict(stored, max_power_w=limit_w)
                if stored is not None
                else self._migrated_counter(part_id, limit_w)
            )
        counter.max_power_w = limit_w
        return counter

    def _migrated_counter(self, part_id: str, limit_w: float) -> EnergyCounter:
        """Start from what the energy sensor showed before the totals were stored.

        Earlier versions kept the last accepted reading in the sensor's restore
        data; taking it as the first segment keeps a glitch in the first
        readings after an update out of the statistics too.
        """
        counter = EnergyCounter(max_power_w=limit_w)
        entity_id = er.async_get(self._hass).async_get_entity_id(
            "sensor", DOMAIN, f"{self._serial_number}_{part_id}_energy"
        )
        stored = (
            restore_state.async_get(self._hass).last_states.get(entity_id)
            if entity_id
            else None
        )
        if stored is None or stored.extra_data is None:
            return counter
        data = stored.extra_data.as_dict()
        wh_per_unit = _WH_PER_UNIT.get(str(data.get("native_unit_of_measurement")))
        value = data.get("native_value")
        if wh_per_unit is not None and isinstance(value, int | float):
            value *= wh_per_unit
            at = stored.state.last_reported.timestamp()
            counter = EnergyCounter.from_dict(
                {"total_wh": value, "segments": [[value, value, at]]},
                max_power_w=limit_w,
            )
        return counter

    def _session_total(self, part_id: str, limit_w: float) -> SessionEnergyTotal:
        total = self._sessions.get(part_id)
        if total is None:
            total = self._sessions[part_id] = SessionEnergyTotal.from_dict(
                self._stored["sessions"].get(part_id), max_power_w=limit_w
            )
        total.max_power_w = limit_w
        return total

    def _schedule_save(self) -> None:
        """Write within STORE_DELAY_S of a change, and at shutdown.

        Scheduled once per write: each new schedule would postpone the write
        again, for as long as a charger keeps reporting.
        """
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._data_to_save, STORE_DELAY_S)

    def _data_to_save(self) -> dict[str, Any]:
        self._save_pending = False
        return self._data()

    def _data(self) -> dict[str, Any]:
        return {
            "counters": self._stored["counters"]
            | {part_id: c.as_dict() for part_id, c in self._counters.items()},
            "sessions": self._stored["sessions"]
            | {part_id: s.as_dict() for part_id, s in self._sessions.items()},
        }


async def async_remove_energy(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's stored totals, when the entry is deleted."""
    await Store[dict[str, Any]](
        hass, STORE_VERSION, energy_store_key(entry_id)
    ).async_remove()
