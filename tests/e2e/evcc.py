"""A double of evcc's Home Assistant charger (``template: homeassistant``).

It does what evcc's ``charger/homeassistant.go`` and
``util/homeassistant/connection.go`` do, over Home Assistant's REST API with a
long-lived access token: read entity states with ``GET /api/states/<entity>``
(``unknown`` and ``unavailable`` are "not available"), map the status entity to
IEC 61851 A/B/C, read ``enabled`` as a boolean, switch with
``<domain>.turn_on``/``turn_off`` on the ``enable`` entity and set the current
with ``number.set_value`` on the ``maxcurrent`` entity.
"""

from dataclasses import dataclass
from typing import Any

import aiohttp

# evcc's chargeStatusMap, by status letter.
_STATUS = {
    "C": {"c", "charging", "on", "true", "active", "1"},
    "B": {
        "b",
        "connected",
        "ready",
        "plugged",
        "charging_completed",
        "initialising",
        "preparing",
        "2",
        "no_power",
        "complete",
        "stopped",
        "starting",
    },
    "A": {
        "a",
        "disconnected",
        "off",
        "none",
        "unavailable",
        "unknown",
        "notreadyforcharging",
        "not_plugged",
        "0",
    },
}
_TRUE = {"on", "true", "1", "active", "yes"}
_FALSE = {"off", "false", "0", "inactive", "no"}


class NotAvailableError(Exception):
    """The entity is ``unknown`` or ``unavailable`` (evcc's api.ErrNotAvailable)."""


@dataclass(kw_only=True)
class EvccCharger:
    """One evcc charger of ``type: homeassistant``, as its yaml configures it."""

    session: aiohttp.ClientSession
    uri: str
    token: str
    status: str
    enabled: str
    enable: str
    maxcurrent: str
    power: str | None = None
    energy: str | None = None

    async def _state(self, entity: str) -> str:
        async with self.session.get(
            f"{self.uri}/api/states/{entity}", headers=self._headers
        ) as response:
            response.raise_for_status()
            state: str = (await response.json())["state"]
        if state in ("unknown", "unavailable"):
            raise NotAvailableError(entity)
        return state

    async def _call(self, domain: str, service: str, data: dict[str, Any]) -> None:
        async with self.session.post(
            f"{self.uri}/api/services/{domain}/{service}",
            json=data,
            headers=self._headers,
        ) as response:
            response.raise_for_status()

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def charge_status(self) -> str:
        """Return "A" (no car), "B" (connected) or "C" (charging)."""
        state = (await self._state(self.status)).strip().lower()
        for letter, states in _STATUS.items():
            if state in states:
                return letter
        msg = f"unknown charge status: {state}"
        raise ValueError(msg)

    async def is_enabled(self) -> bool:
        """Return whether the charger may charge."""
        state = (await self._state(self.enabled)).lower()
        if state in _TRUE | _FALSE:
            return state in _TRUE
        msg = f"invalid boolean state '{state}' for entity {self.enabled}"
        raise ValueError(msg)

    async def set_enabled(self, enable: bool) -> None:
        """Enable or disable charging."""
        domain = self.enable.split(".", 1)[0]
        service = "turn_on" if enable else "turn_off"
        await self._call(domain, service, {"entity_id": self.enable})

    async def set_max_current(self, current: int) -> None:
        """Set the charging current (A)."""
        await self._call(
            "number", "set_value", {"entity_id": self.maxcurrent, "value": current}
        )

    async def current_power(self) -> float:
        """Return the charging power (W)."""
        assert self.power is not None
        return float(await self._state(self.power))

    async def total_energy(self) -> float:
        """Return the meter's energy (kWh)."""
        assert self.energy is not None
        return float(await self._state(self.energy))
