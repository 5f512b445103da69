"""An OCPP charger's data: pushed by the central system, snapshot by snapshot."""

from dataclasses import replace
from datetime import datetime
import time
from typing import Final, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_time_interval

from ...api.model import ChargerInfo, ChargerState, MeterReading, Part
from ...api.ocpp import Admission, OcppSnapshot
from ...const import DOMAIN
from ...coordinator import ChargerConfigEntry, ChargerCoordinator
from .central import OcppCentral
from .const import RENEW_INTERVAL
from .control import OcppChargerControl

_CONNECTOR_PREFIX: Final = "connector"


def _number(part_id: str) -> int:
    """Return the connector number of a part id (0: the station's meter)."""
    suffix = part_id.removeprefix(_CONNECTOR_PREFIX)
    return int(suffix) if part_id != suffix and suffix.isdigit() else 0


class OcppCoordinator(ChargerCoordinator):
    """Push coordinator of one charge point on the central system.

    The charge point is available while it is connected and accepted (the
    server's websocket pings find a dead connection within a minute). Each
    new meter reading goes through the energy ledger, so a register that
    resets or jumps never reaches the statistics. Limits set from Home
    Assistant are renewed every RENEW_INTERVAL and on reconnection.
    """

    def __init__(  # noqa: PLR0913 - what following a charge point needs, by keyword
        self,
        hass: HomeAssistant,
        entry: ChargerConfigEntry,
        *,
        central: OcppCentral,
        charge_point_id: str,
        serial_number: str,
        control: OcppChargerControl,
    ) -> None:
        """Follow ``charge_point_id``; nothing is subscribed until first refresh."""
        super().__init__(
            hass, entry, name=f"OCPP {charge_point_id}", serial_number=serial_number
        )
        self.central = central
        self.charge_point_id = charge_point_id
        self.control = control
        self.connected = False
        self._parts: dict[str, Part] = {}
        self._raw_meters: dict[str, MeterReading | None] = {}
        self._last_seen: float | None = None
        self._device_info: ChargerInfo | None = None
        """The identity last written to the charger's device."""

    @override
    async def _async_setup(self) -> None:
        """Load the energy totals, then follow the charge point."""
        await super()._async_setup()
        entry = self.config_entry
        entry.async_on_unload(self.central.subscribe(self.charge_point_id, self))
        entry.async_on_unload(
            async_track_time_interval(
                self.hass, self._renew, RENEW_INTERVAL, cancel_on_shutdown=True
            )
        )

    @override
    async def _async_update_data(self) -> ChargerState:
        """Return what the charge point last reported (its data is pushed)."""
        self.updated_part = None
        return self._state()

    def _state(self) -> ChargerState:
        """Return the parts, charging disabled on the connectors paused here."""
        return ChargerState(
            parts={
                part_id: part
                if part.connector is None or part.number not in self.control.paused
                else replace(
                    part, connector=replace(part.connector, charging_enabled=False)
                )
                for part_id, part in self._parts.items()
            }
        )

    @property
    @override
    def control_available(self) -> bool:
        """Return whether the charge point is connected and accepted."""
        return self.connected

    @override
    def connection_diagnostics(self) -> dict[str, bool]:
        """Return the connection, the websocket's included."""
        return {**super().connection_diagnostics(), "connected": self.connected}

    @override
    def is_part_available(self, part_id: str) -> bool:
        """Return whether the charge point is connected and reported the part."""
        return self.connected and part_id in self._parts

    @override
    def seconds_since_seen(self, part_id: str) -> float | None:
        """Return how long ago the charge point last reported anything."""
        if self._last_seen is None or part_id not in self._parts:
            return None
        return time.monotonic() - self._last_seen

    @callback
    def snapshot_received(self, snapshot: OcppSnapshot) -> None:
        """Take what the charge point reports now."""
        was_connected = self.connected
        self.connected = snapshot.connected and snapshot.admission is Admission.ACCEPTED
        for part_id, received in snapshot.state.parts.items():
            self._parts[part_id] = self._part(snapshot, part_id, received)
        self._last_seen = time.monotonic()
        if snapshot.info is not None and snapshot.info != self._device_info:
            self._update_device(snapshot.info)
        self.data = self._state()
        self.last_update_success = True
        self.updated_part = None
        self.async_update_listeners()
        if (
            self.connected
            and not was_connected
            and (self.control.limits or self.control.paused)
        ):
            # It may have restarted and forgotten the profile.
            self.config_entry.async_create_background_task(
                self.hass, self.control.async_renew(), "ocpp renew limits"
            )

    def _part(self, snapshot: OcppSnapshot, part_id: str, received: Part) -> Part:
        number = _number(part_id)
        connector = received.connector
        if connector is not None:
            connector = replace(
                connector, soc_percent=snapshot.soc_percent.get(part_id)
            )
        part = replace(received, number=number, connector=connector)
        known = self._parts.get(part_id)
        if known is not None and self._raw_meters.get(part_id) == received.meter:
            # No new reading: keep the one already taken.
            return replace(part, meter=known.meter)
        self._raw_meters[part_id] = received.meter
        return self.energy.trusted(snapshot.state, part, from_sessions=False)

    def _update_device(self, info: ChargerInfo) -> None:
        """Show the identity from the BootNotification on the charger's device."""
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, self.serial_number), self.config_entry.entry_id
        )
        if device is None:
            return  # not created yet: the next snapshot writes it
        registry.async_update_device(
            device.id,
            manufacturer=info.manufacturer,
            model=info.model,
            serial_number=info.serial_number,
            sw_version=info.firmware_version,
        )
        self._device_info = info

    @callback
    def server_stopped(self) -> None:
        """Show the charge point unavailable: the server is gone."""
        self.connected = False
        self.updated_part = None
        self.async_update_listeners()

    async def _renew(self, _now: datetime) -> None:
        if self.connected:
            await self.control.async_renew()
