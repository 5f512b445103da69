"""The exporters: follow the hub's chargers and publish them over MQTT.

An exporter follows every charger in the hub (added, changed, removed) and
publishes the exported ones with the sans-IO layers of ``api/shadow.py``
and ``api/victron.py``; commands that come back go through the hub's
capability commands, so a charger without a capability is exported
read-only, and a command that fails leaves the charger as it was.
"""

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
import time
from typing import Final, override

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from ..api.errors import ChargerError
from ..api.model import Part
from ..api.shadow import (
    OFFLINE,
    ONLINE,
    CurrentRange as ShadowRange,
    SetChargingEnabled,
    SetCurrentLimit,
    ShadowCommand,
    ShadowCommands,
    ShadowControls,
    ShadowDiffer,
    ShadowTopicError,
    availability_topic,
    charger_availability_topic,
)
from ..api.victron import (
    HEARTBEAT_S,
    KEEPALIVE_INTERVAL_S,
    KEEPALIVE_PAYLOAD,
    SET_CURRENT,
    PublishSchedule,
    VictronCommand,
    VictronMode,
    VictronPayload,
    VictronSetCurrent,
    VictronStartStop,
    VictronWriteBack,
    build_payload,
    payload_json,
)
from ..const import DOMAIN, LOGGER
from ..hub import ChargerHandle, ConnectorRef, async_get_hub
from .broker import ExportBroker

# Retained shadow values must reach the broker: at least once.
SHADOW_QOS: Final = 1
# The driver reads the latest JSON only; the next one follows within seconds.
VICTRON_QOS: Final = 0
# How often due heartbeats are looked for: the schedule says which are due.
TICK: Final = timedelta(seconds=1)
KEEPALIVE: Final = timedelta(seconds=KEEPALIVE_INTERVAL_S)
# The driver exits after 60 s without a message (api/victron.py).
HEARTBEAT: Final = timedelta(seconds=HEARTBEAT_S)
# Victron's mode is ours to report: EVSE Bridge has no automatic mode the GX
# could switch on, so the GX shows Manual, and a change of mode on the GX is
# not applied (the next message shows Manual again).
EXPORTED_MODE: Final = VictronMode.MANUAL


class Exporter(ABC):
    """Follow the hub's chargers; publish the exported ones."""

    def __init__(
        self,
        hass: HomeAssistant,
        broker: ExportBroker,
        connectors: frozenset[ConnectorRef] | None,
    ) -> None:
        """Export ``connectors`` (None: all, new ones included) to ``broker``."""
        self.hass = hass
        self.broker = broker
        self._connectors = connectors
        self._hub = async_get_hub(hass)
        self._followed: dict[str, tuple[ChargerHandle, CALLBACK_TYPE]] = {}
        self._unsubscribe: list[CALLBACK_TYPE] = []

    async def async_start(self) -> None:
        """Connect, then follow the hub."""
        await self.broker.async_start(self._connected)
        await self._async_started()
        self._unsubscribe.append(self._hub.async_add_listener(self._sync))
        self._sync()

    async def async_stop(self) -> None:
        """Stop following, say goodbye and disconnect."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for _, unlisten in self._followed.values():
            unlisten()
        followed = list(self._followed)
        self._followed.clear()
        self._stopping(followed)
        await self.broker.async_stop()

    def is_exported(self, charger_id: str, part: Part) -> bool:
        """Return whether a part is exported (a meter: with any of its connectors)."""
        if self._connectors is None:
            return True
        if part.connector is None:
            return self.exports_charger(charger_id)
        return ConnectorRef(charger_id, part.number) in self._connectors

    def exports_charger(self, charger_id: str) -> bool:
        """Return whether any part of a charger is exported."""
        return self._connectors is None or any(
            ref.charger_id == charger_id for ref in self._connectors
        )

    def handle(self, charger_id: str) -> ChargerHandle | None:
        """Return a followed charger."""
        followed = self._followed.get(charger_id)
        return None if followed is None else followed[0]

    @callback
    def _sync(self) -> None:
        """Follow the chargers the hub has now, and only those."""
        chargers = self._hub.chargers
        for charger_id, (handle, unlisten) in list(self._followed.items()):
            if chargers.get(charger_id) is not handle:
                unlisten()
                del self._followed[charger_id]
                self._charger_removed(charger_id)
        for charger_id, handle in chargers.items():
            if charger_id not in self._followed:
                self._followed[charger_id] = (
                    handle,
                    handle.async_add_listener(partial(self._changed, handle)),
                )
                self._changed(handle)

    @callback
    def _changed(self, handle: ChargerHandle) -> None:
        self._charger_changed(handle)

    async def _async_started(self) -> None:  # noqa: B027 - a hook, empty here
        """Publish and subscribe what the format needs before any charger."""

    @abstractmethod
    def _connected(self, reconnected: bool) -> None:  # noqa: FBT001
        """Publish again what the broker may not have (it reconnected if True)."""

    @abstractmethod
    def _charger_changed(self, handle: ChargerHandle) -> None:
        """Publish what changed on a charger."""

    @abstractmethod
    def _charger_removed(self, charger_id: str) -> None:
        """Handle a charger that left the hub (its entry was unloaded)."""

    def _stopping(self, charger_ids: Iterable[str]) -> None:  # noqa: B027 - a hook
        """Publish what a stopping export leaves behind."""

    def _run(self, target: Callable[[], Awaitable[object]], what: str) -> None:
        """Run a command on a charger; log (never raise) when it fails."""

        async def run() -> None:
            try:
                await target()
            except (ChargerError, ValueError) as err:
                LOGGER.warning("The export could not %s: %s", what, err)

        self.hass.async_create_background_task(run(), f"{DOMAIN} export command")


class ShadowExporter(Exporter):
    """Retained per-value topics, availability and ``set`` commands."""

    def __init__(
        self,
        hass: HomeAssistant,
        broker: ExportBroker,
        connectors: frozenset[ConnectorRef] | None,
        base_topic: str,
    ) -> None:
        """Publish under ``base_topic`` (normalized, valid)."""
        super().__init__(hass, broker, connectors)
        self._differ = ShadowDiffer(base_topic)
        self._commands = ShadowCommands(base_topic)
        self._online: dict[str, bool] = {}
        self._bad_ids: set[str] = set()

    @property
    def availability_topic(self) -> str:
        """The export's availability topic (also the own broker's last will)."""
        return availability_topic(self._differ.base_topic)

    @override
    async def _async_started(self) -> None:
        """Say online; listen for commands."""
        self._publish(self.availability_topic, ONLINE)
        await self.broker.async_subscribe(self._commands.subscription, self._command)

    @override
    @callback
    def _connected(self, reconnected: bool) -> None:
        """Restore every retained message after a lost connection.

        A broker without persistence forgets retained messages when it
        restarts; the shadow publishes only changes, so without this its
        topics would stay empty until each value changed again. The values go
        out as last published, sample times unchanged.
        """
        if not reconnected:
            return  # what was published before is in paho's queue
        self._publish(self.availability_topic, ONLINE)
        for charger_id, online in self._online.items():
            self._publish(
                charger_availability_topic(self._differ.base_topic, charger_id),
                ONLINE if online else OFFLINE,
            )
        for message in self._differ.retained():
            self._publish(message.topic, message.payload)

    @override
    def _charger_changed(self, handle: ChargerHandle) -> None:
        """Publish the charger's availability and changed values."""
        charger_id = handle.charger_id
        if not self.exports_charger(charger_id):
            return
        online = handle.coordinator.last_update_success
        if not self._set_online(charger_id, online=online) or not online:
            return
        sampled_at = dt_util.utcnow()
        for part in handle.state.parts.values():
            if self.is_exported(charger_id, part) and handle.is_available(part):
                self._publish_part(charger_id, part, sampled_at)

    def _publish_part(self, charger_id: str, part: Part, sampled_at: datetime) -> None:
        try:
            messages = self._differ.changes(charger_id, part, sampled_at)
        except ShadowTopicError as err:
            self._log_bad_id(f"{charger_id}/{part.id}", err)
            return
        for message in messages:
            self._publish(message.topic, message.payload)

    @override
    def _charger_removed(self, charger_id: str) -> None:
        """Show the charger offline; its last values stay."""
        if charger_id in self._online:
            self._set_online(charger_id, online=False)
            del self._online[charger_id]

    @override
    def _stopping(self, charger_ids: Iterable[str]) -> None:
        """Show every charger, and the export, offline."""
        for charger_id in charger_ids:
            if charger_id in self._online:
                self._set_online(charger_id, online=False)
        self._publish(self.availability_topic, OFFLINE)

    def _set_online(self, charger_id: str, *, online: bool) -> bool:
        """Publish a charger's availability if it changed; False for a bad id."""
        if self._online.get(charger_id) is online:
            return True
        try:
            topic = charger_availability_topic(self._differ.base_topic, charger_id)
        except ShadowTopicError as err:
            self._log_bad_id(charger_id, err)
            return False
        self._online[charger_id] = online
        self._publish(topic, ONLINE if online else OFFLINE)
        return True

    def _publish(self, topic: str, payload: str) -> None:
        self.broker.publish(topic, payload, qos=SHADOW_QOS, retain=True)

    def _log_bad_id(self, charger_id: str, err: ShadowTopicError) -> None:
        if charger_id not in self._bad_ids:
            self._bad_ids.add(charger_id)
            LOGGER.warning("Not exporting %s: %s", charger_id, err)

    @callback
    def _command(self, topic: str, payload: bytes) -> None:
        """Apply a command from a ``set`` topic through the hub."""
        command = self._commands.parse(topic, payload, self._controls)
        if isinstance(command, SetCurrentLimit | SetChargingEnabled):
            self._apply(command)

    def _controls(self, charger_id: str, part_id: str) -> ShadowControls | None:
        """Return what an exported connector lets the shadow change."""
        handle = self.handle(charger_id)
        part = None if handle is None else handle.state.parts.get(part_id)
        if handle is None or part is None or part.connector is None:
            return None
        if not self.is_exported(charger_id, part):
            return None
        capabilities = handle.capabilities(part.number)
        limit = capabilities.current_limit
        return ShadowControls(
            current_range=None
            if limit is None
            else ShadowRange(limit.min_a, limit.max_a),
            charging_enabled=capabilities.pause_resume,
        )

    def _apply(self, command: ShadowCommand) -> None:
        handle = self.handle(command.charger_id)
        part = None if handle is None else handle.state.parts.get(command.part_id)
        if handle is None or part is None:
            return
        number = part.number
        if isinstance(command, SetCurrentLimit):
            amps = command.amps
            self._run(
                partial(handle.async_set_current_limit, number, amps),
                f"set {handle.name} connector {number} to {amps} A",
            )
        else:
            enabled = command.enabled
            self._run(
                partial(handle.async_set_charging_enabled, number, enabled),
                f"{'resume' if enabled else 'pause'} {handle.name} connector {number}",
            )


@dataclass(kw_only=True)
class VictronConnector:
    """One connector exported to one dbus-mqtt-ev-charger driver."""

    ref: ConnectorRef
    topic: str
    write_back: VictronWriteBack
    schedule: PublishSchedule = field(
        default_factory=lambda: PublishSchedule(heartbeat_s=HEARTBEAT.total_seconds())
    )


class VictronExporter(Exporter):
    """The driver's JSON per connector, and the GX's settings applied back."""

    def __init__(
        self,
        hass: HomeAssistant,
        broker: ExportBroker,
        portal_id: str,
        connectors: dict[ConnectorRef, tuple[str, int]],
    ) -> None:
        """Export each connector to its (topic, device instance)."""
        super().__init__(hass, broker, frozenset(connectors))
        self._victron = [
            VictronConnector(
                ref=ref,
                topic=topic,
                write_back=VictronWriteBack(portal_id=portal_id, instance=instance),
            )
            for ref, (topic, instance) in sorted(connectors.items())
        ]
        self._keepalive_topic = self._victron[0].write_back.keepalive_topic

    @override
    async def _async_started(self) -> None:
        """Listen to the GX's notifications, keep them coming, and tick."""
        for connector in self._victron:
            for topic in connector.write_back.subscriptions:
                await self.broker.async_subscribe(
                    topic, partial(self._notification, connector)
                )
        self._keepalive()
        self._unsubscribe.append(
            async_track_time_interval(
                self.hass, self._keepalive, KEEPALIVE, name=f"{DOMAIN} keepalive"
            )
        )
        self._unsubscribe.append(
            async_track_time_interval(
                self.hass, self._tick, TICK, name=f"{DOMAIN} heartbeat"
            )
        )

    @callback
    def _keepalive(self, _now: datetime | None = None) -> None:
        """Renew Venus OS's notifications (they stop 60 s after the last)."""
        self.broker.publish(
            self._keepalive_topic, KEEPALIVE_PAYLOAD, qos=VICTRON_QOS, retain=False
        )

    @override
    @callback
    def _connected(self, reconnected: bool) -> None:
        """Renew the keepalive and send each payload at once.

        A restarted Venus OS broker has forgotten the keepalive, and
        messages sent while the connection was down were dropped (QoS 0):
        without this the GX's settings would be lost for up to a keepalive
        interval and the driver would wait for the next heartbeat.
        """
        self._keepalive()
        now = time.monotonic()
        for connector in self._victron:
            if (payload := connector.schedule.republish(now)) is not None:
                self._send(connector, payload)

    @callback
    def _tick(self, _now: datetime) -> None:
        """Publish the heartbeats that are due."""
        now = time.monotonic()
        for connector in self._victron:
            if (payload := connector.schedule.tick(now)) is not None:
                self._send(connector, payload)

    @override
    def _charger_changed(self, handle: ChargerHandle) -> None:
        """Publish the charger's exported connectors if they changed."""
        for connector in self._victron:
            if connector.ref.charger_id == handle.charger_id:
                self._update(connector, handle)

    @override
    def _charger_removed(self, charger_id: str) -> None:
        """Stop publishing the charger: the GX shows it disconnected."""
        for connector in self._victron:
            if connector.ref.charger_id == charger_id:
                self._update(connector, None)

    def _update(
        self, connector: VictronConnector, handle: ChargerHandle | None
    ) -> None:
        number = connector.ref.connector
        part = None if handle is None else handle.connector(number)
        payload = None
        if handle is not None and part is not None and handle.is_available(part):
            capabilities = handle.capabilities(number)
            limit = capabilities.current_limit
            write_back = connector.write_back
            write_back.current_range = (
                None if limit is None else (limit.min_a, limit.max_a)
            )
            write_back.can_start_stop = capabilities.pause_resume
            payload = build_payload(part, info=handle.info, mode=EXPORTED_MODE)
            if payload is not None and limit is not None:
                # No limit reported: the charger offers up to its maximum. The
                # GX can set a current only on a path we publish.
                payload.setdefault(SET_CURRENT, limit.max_a)
        if (due := connector.schedule.update(payload, time.monotonic())) is not None:
            self._send(connector, due)

    def _send(self, connector: VictronConnector, payload: VictronPayload) -> None:
        self.broker.publish(
            connector.topic, payload_json(payload), qos=VICTRON_QOS, retain=False
        )
        connector.write_back.published(payload)

    @callback
    def _notification(
        self, connector: VictronConnector, topic: str, payload: bytes
    ) -> None:
        """Apply a setting changed on the GX (echoes are dropped by write_back)."""
        command = connector.write_back.handle_message(topic, payload)
        if command is not None and (handle := self.handle(connector.ref.charger_id)):
            self._apply(handle, connector.ref.connector, command)

    def _apply(
        self, handle: ChargerHandle, number: int, command: VictronCommand
    ) -> None:
        if isinstance(command, VictronSetCurrent):
            amps = command.amps
            self._run(
                partial(handle.async_set_current_limit, number, amps),
                f"set {handle.name} connector {number} to {amps} A from the GX",
            )
        elif isinstance(command, VictronStartStop):
            enabled = command.enabled
            self._run(
                partial(handle.async_set_charging_enabled, number, enabled),
                f"{'start' if enabled else 'stop'} {handle.name} connector {number}"
                " from the GX",
            )
