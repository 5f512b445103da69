"""Coordinators: where charger data enters Home Assistant."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import time
from typing import override

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api.chargers import ChargerAuthenticationError, ChargerError, PolledCharger
from .api.ctek import CtekCharger, CtekPayloadError
from .api.model import ChargerInfo, ChargerState, MeterReading, Part
from .const import (
    CONF_BASE_TOPIC,
    CONF_CHARGER_ID,
    CONF_POLL_INTERVAL,
    CONF_STALE_AFTER,
    CONF_VENDOR,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_STALE_AFTER,
    DOMAIN,
    LOGGER,
    MAX_BACKOFF,
    STALE_CHECK_INTERVAL,
    Vendor,
)
from .energy import EnergyLedger


@dataclass(kw_only=True)
class EvseBridgeRuntimeData:
    """What a loaded config entry holds."""

    coordinator: CtekCoordinator | PolledCoordinator
    info: ChargerInfo
    charger_device_id: str


type EvseBridgeConfigEntry = ConfigEntry[EvseBridgeRuntimeData]


class CtekCoordinator(DataUpdateCoordinator[ChargerState]):
    """Push coordinator for a CTEK Chargestorm publishing over MQTT.

    One subscription covers the charger; each message updates one part (the
    main meter or an EVSE). A part is available while it keeps publishing
    (staleness, checked every STALE_CHECK_INTERVAL) and MQTT is connected.
    """

    config_entry: EvseBridgeConfigEntry

    def __init__(self, hass: HomeAssistant, entry: EvseBridgeConfigEntry) -> None:
        """Set up the coordinator; nothing is subscribed until first refresh."""
        self.charger = CtekCharger(
            entry.data[CONF_BASE_TOPIC], entry.data[CONF_CHARGER_ID]
        )
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"CTEK {self.charger.charger_id}"
        )
        self.serial_number = self.charger.charger_id
        self.stale_after = timedelta(
            seconds=entry.options.get(
                CONF_STALE_AFTER, DEFAULT_STALE_AFTER.total_seconds()
            )
        ).total_seconds()
        self.mqtt_connected = True
        self.updated_part: str | None = None
        """The part the last update was about; None when it concerns all parts."""
        self._last_seen: dict[str, float] = {}
        self._stale_parts: set[str] = set()
        # Topics whose last payload was unusable, so each is logged once. The
        # charger decodes only the three kinds of at most MAX_PARTS parts,
        # which bounds it whatever strangers publish.
        self._bad_topics: set[str] = set()
        self._serial_numbers: dict[str, str | None] = {}
        self._parts: dict[str, Part] = {}
        """Every part as received, with its trusted lifetime energy."""
        self._raw_meters: dict[str, MeterReading | None] = {}
        """The meter reading of each part as it came, to tell new ones."""
        self.energy = EnergyLedger(hass, entry.entry_id, self.serial_number)

    @override
    async def _async_setup(self) -> None:
        """Load the energy totals, then subscribe through Home Assistant's MQTT."""
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="mqtt_unavailable"
            )
        entry = self.config_entry
        await self.energy.async_load()
        entry.async_on_unload(self.energy.async_save)
        entry.async_on_unload(
            await mqtt.async_subscribe(
                self.hass, self.charger.subscription, self._message_received, qos=0
            )
        )
        entry.async_on_unload(
            mqtt.async_subscribe_connection_status(self.hass, self._connection_changed)
        )
        entry.async_on_unload(
            async_track_time_interval(
                self.hass,
                self._check_stale,
                STALE_CHECK_INTERVAL,
                cancel_on_shutdown=True,
            )
        )

    @override
    async def _async_update_data(self) -> ChargerState:
        """Return what has arrived so far; data is pushed, never fetched."""
        return ChargerState(parts=dict(self._parts))

    def is_part_available(self, part_id: str) -> bool:
        """Return whether a part's data is current."""
        last_seen = self._last_seen.get(part_id)
        return (
            self.mqtt_connected
            and last_seen is not None
            and time.monotonic() - last_seen < self.stale_after
        )

    def seconds_since_seen(self, part_id: str) -> float | None:
        """Return how long ago a part last published."""
        last_seen = self._last_seen.get(part_id)
        return None if last_seen is None else time.monotonic() - last_seen

    @callback
    def _message_received(self, msg: mqtt.ReceiveMessage) -> None:
        try:
            update = self.charger.handle_message(msg.topic, msg.payload)
        except CtekPayloadError as err:
            if msg.topic not in self._bad_topics:
                self._bad_topics.add(msg.topic)
                LOGGER.warning("Ignoring unusable message on %s: %s", msg.topic, err)
            return
        if update is None:
            return
        if self._bad_topics and msg.topic in self._bad_topics:
            self._bad_topics.discard(msg.topic)
            LOGGER.info("Usable messages again on %s", msg.topic)
        part_id = update.part_id
        age = self._age(msg.retain, update.timestamp if msg.retain else None)
        self._last_seen[part_id] = time.monotonic() - age
        if part_id in self._stale_parts and age < self.stale_after:
            self._stale_parts.discard(part_id)
            LOGGER.info(
                "%s of charger %s is publishing again", part_id, self.serial_number
            )
        received = self.charger.state
        part = received.parts[part_id]
        known = self._parts.get(part_id)
        if known is not None and self._raw_meters.get(part_id) is part.meter:
            # Not a meter report: keep the reading already taken.
            part = replace(part, meter=known.meter)
        else:
            self._raw_meters[part_id] = part.meter
            part = self.energy.trusted(received, part, from_sessions=False)
        self._parts[part_id] = part
        serial_number = part.serial_number
        if self._serial_numbers.get(part_id, serial_number) != serial_number:
            self._update_serial_number(part_id, serial_number)
        self._serial_numbers[part_id] = serial_number
        self.updated_part = part_id
        # async_set_updated_data would also reschedule polling, which a push
        # coordinator has none of; this is the hot path of every message.
        self.data = ChargerState(parts=dict(self._parts))
        self.last_update_success = True
        self.async_update_listeners()

    @override
    def async_update_listeners(self) -> None:
        """Call the listeners of the part that changed; all if it is not one part.

        Entities register with their part id as context; listeners without
        one (the platforms adding new entities) hear every update.
        """
        part_id = self.updated_part
        for update_callback, context in list(self._listeners.values()):
            if part_id is None or context is None or context == part_id:
                try:
                    update_callback()
                except Exception:  # noqa: BLE001 - one bad listener must not stop the rest
                    LOGGER.exception("Error updating an entity of %s", part_id)

    def _age(self, retained: bool, timestamp: datetime | None) -> float:  # noqa: FBT001
        """Return how old a message's data is.

        A live message is new. A retained one is as old as the time stamp it
        carries (unknown age counts as stale), so a snapshot the broker kept
        from long ago does not make a dead charger look alive.
        """
        if not retained:
            return 0.0
        if timestamp is None or timestamp.tzinfo is None:
            return self.stale_after
        return max((dt_util.utcnow() - timestamp).total_seconds(), 0.0)

    def _update_serial_number(self, part_id: str, serial_number: str | None) -> None:
        registry = dr.async_get(self.hass)
        if device := registry.async_get_device_by_identifier(
            (DOMAIN, f"{self.serial_number}_{part_id}"), self.config_entry.entry_id
        ):
            registry.async_update_device(device.id, serial_number=serial_number)

    @callback
    def _connection_changed(self, connected: bool) -> None:  # noqa: FBT001
        if connected == self.mqtt_connected:
            return
        self.mqtt_connected = connected
        if connected:
            LOGGER.info(
                "MQTT is connected again; waiting for charger %s", self.serial_number
            )
        else:
            LOGGER.warning(
                "MQTT is disconnected; charger %s is unavailable", self.serial_number
            )
        self._update_all()

    @callback
    def _check_stale(self, _now: datetime) -> None:
        now = time.monotonic()
        newly_stale = {
            part_id
            for part_id, last_seen in self._last_seen.items()
            if now - last_seen >= self.stale_after and part_id not in self._stale_parts
        }
        if not newly_stale:
            return
        for part_id in sorted(newly_stale):
            LOGGER.warning(
                "%s of charger %s has sent nothing for %d s; unavailable until it does",
                part_id,
                self.serial_number,
                self.stale_after,
            )
        self._stale_parts |= newly_stale
        self._update_all()

    def _update_all(self) -> None:
        self.updated_part = None
        self.async_update_listeners()


class PolledCoordinator(DataUpdateCoordinator[ChargerState]):
    """Polling coordinator for a charger with an HTTP API.

    One ``get_state`` per interval (one or two requests, by vendor). After a
    failed poll the interval doubles up to MAX_BACKOFF; the first good poll
    restores it. Lifetime energy goes through the energy ledger; a charger
    that reports session energy only gets a total built from its sessions.
    """

    config_entry: EvseBridgeConfigEntry
    updated_part: str | None = None
    """Every poll concerns all parts."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvseBridgeConfigEntry,
        charger: PolledCharger,
        info: ChargerInfo,
    ) -> None:
        """Poll ``charger`` at the entry's interval."""
        vendor = Vendor(entry.data[CONF_VENDOR])
        self._interval = timedelta(
            seconds=entry.options.get(
                CONF_POLL_INTERVAL, DEFAULT_POLL_INTERVAL[vendor].total_seconds()
            )
        )
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{info.manufacturer} {info.serial_number}",
            update_interval=self._interval,
            always_update=False,
        )
        self.charger = charger
        self.info = info
        self.serial_number = info.serial_number
        self._failures = 0
        self._last_success: float | None = None
        # The AMTRON reports the energy of the current session only.
        self._from_sessions = vendor is Vendor.MENNEKES
        self.energy = EnergyLedger(hass, entry.entry_id, self.serial_number)

    @override
    async def _async_setup(self) -> None:
        """Load the energy totals."""
        await self.energy.async_load()
        self.config_entry.async_on_unload(self.energy.async_save)

    @override
    async def _async_update_data(self) -> ChargerState:
        """Poll the charger once."""
        try:
            state = await self.charger.get_state()
        except ChargerAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except ChargerError as err:
            self._failures += 1
            self.update_interval = min(self._interval * 2**self._failures, MAX_BACKOFF)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        self._failures = 0
        self.update_interval = self._interval
        self._last_success = time.monotonic()
        return ChargerState(
            parts={
                part_id: self.energy.trusted(
                    state, part, from_sessions=self._from_sessions
                )
                for part_id, part in state.parts.items()
            }
        )

    def is_part_available(self, part_id: str) -> bool:
        """Return whether the last poll succeeded and had the part."""
        return self.last_update_success and part_id in self.data.parts

    def seconds_since_seen(self, part_id: str) -> float | None:
        """Return how long ago the last successful poll was."""
        return (
            None
            if self._last_success is None
            else time.monotonic() - self._last_success
        )
