"""The Chargestorm's data: pushed over MQTT, with limits read over Modbus."""

from dataclasses import replace
from datetime import datetime, timedelta
import time
from typing import Final, override

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from ...api.ctek import CtekCharger, CtekPayloadError
from ...api.ctek_control import CtekModbusControl
from ...api.errors import ChargerError
from ...api.model import ChargerState, MeterReading, Part, changed_fields
from ...const import CONF_BASE_TOPIC, CONF_CHARGER_ID, DOMAIN, LOGGER
from ...coordinator import ChargerConfigEntry, ChargerCoordinator

# How often to look for parts that stopped publishing; a fraction of the
# shortest stale time, so an entity goes unavailable close to when it should.
STALE_CHECK_INTERVAL: Final = timedelta(seconds=10)
# How often the charging limits are read over Modbus: often enough that a
# limit the CCU forgot in a restart is set again within the report interval.
MODBUS_POLL_INTERVAL: Final = timedelta(seconds=30)


class CtekCoordinator(ChargerCoordinator):
    """Push coordinator for a CTEK Chargestorm publishing over MQTT.

    One subscription covers the charger; each message updates one part (the
    main meter or an EVSE). A part is available while it keeps publishing
    (staleness, checked every STALE_CHECK_INTERVAL) and MQTT is connected.
    With control over Modbus, the charging limits are read every
    MODBUS_POLL_INTERVAL (a limit the CCU forgot is written again) and shown
    in each EVSE's state.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ChargerConfigEntry,
        *,
        stale_after: timedelta,
        control: CtekModbusControl | None,
    ) -> None:
        """Set up the coordinator; nothing is subscribed until first refresh."""
        self.charger = CtekCharger(
            entry.data[CONF_BASE_TOPIC], entry.data[CONF_CHARGER_ID]
        )
        super().__init__(
            hass,
            entry,
            name=f"CTEK {self.charger.charger_id}",
            serial_number=self.charger.charger_id,
            update_interval=None if control is None else MODBUS_POLL_INTERVAL,
        )
        self.control = control
        self._modbus_ok = True
        self.stale_after = stale_after.total_seconds()
        self.mqtt_connected = True
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

    @override
    async def _async_setup(self) -> None:
        """Load the energy totals, then subscribe through Home Assistant's MQTT."""
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="mqtt_unavailable"
            )
        await super()._async_setup()
        entry = self.config_entry
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
        """Read the limits over Modbus, if controlled; MQTT data is pushed."""
        if self.control is not None:
            try:
                await self.control.refresh()
            except ChargerError as err:
                if self._modbus_ok:
                    LOGGER.warning(
                        "Cannot read the charging limits of charger %s: %s",
                        self.serial_number,
                        err,
                    )
                    self._control_availability_changed(available=False)
            else:
                if not self._modbus_ok:
                    LOGGER.info(
                        "Charging limits of charger %s can be read again",
                        self.serial_number,
                    )
                    self._control_availability_changed(available=True)
        self.updated_part = None
        return self._state()

    def _control_availability_changed(self, *, available: bool) -> None:
        # Equal data would not reach the listeners; the controls must hear it.
        self._modbus_ok = available
        self._update_all()

    def _state(self) -> ChargerState:
        if self.control is None:
            return ChargerState(parts=dict(self._parts))
        with_limits = self.control.with_limits
        return ChargerState(
            parts={part_id: with_limits(part) for part_id, part in self._parts.items()}
        )

    @property
    @override
    def control_available(self) -> bool:
        """Return whether the CCU answers over Modbus."""
        return self.control is not None and self._modbus_ok

    @override
    def connection_diagnostics(self) -> dict[str, bool]:
        """Return the connection, MQTT included."""
        return {
            **super().connection_diagnostics(),
            "mqtt_connected": self.mqtt_connected,
        }

    @override
    def is_part_available(self, part_id: str) -> bool:
        """Return whether a part's data is current."""
        last_seen = self._last_seen.get(part_id)
        return (
            self.mqtt_connected
            and last_seen is not None
            and time.monotonic() - last_seen < self.stale_after
        )

    @override
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
        was_available = self.is_part_available(part_id)
        age = self._age(msg.retain, update.timestamp if msg.retain else None)
        self._last_seen[part_id] = time.monotonic() - age
        if part_id in self._stale_parts and age < self.stale_after:
            self._stale_parts.discard(part_id)
            LOGGER.info(
                "%s of charger %s is publishing again", part_id, self.serial_number
            )
            if self.control is not None:
                # Silent, then back: the CCU may have restarted and forgotten
                # the limit.
                self.config_entry.async_create_background_task(
                    self.hass, self.async_request_refresh(), "ctek limits"
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
        # async_set_updated_data would also reschedule polling; this is the
        # hot path of every message.
        self.data = self._state()
        self.last_update_success = True
        self.updated_part = part_id
        # The limits read over Modbus change with polls, which update all.
        self.updated_fields = (
            changed_fields(known, part)
            if was_available == self.is_part_available(part_id)
            else None
        )
        self.async_update_listeners()

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
