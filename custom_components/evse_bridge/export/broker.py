"""Where the export publishes: Home Assistant's MQTT, or a broker of its own.

ExportBroker is the little the exporters need: publish (never blocking, never
raising), subscribe, start and stop, and a call on every connection so that
they can publish again what a restarted broker forgot. HaBroker goes through
Home Assistant's MQTT integration; OwnBroker runs paho-mqtt in its own
thread with a last will and a bounded queue of unsent messages. probe_broker
checks settings in the config flow by connecting once (blocking: run it in
the executor).
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
import contextlib
from dataclasses import dataclass
from enum import StrEnum
import logging
import ssl
import time
from typing import Any, Final, override

from homeassistant.components import mqtt
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from paho.mqtt.client import (
    MQTT_ERR_QUEUE_SIZE,
    MQTT_ERR_SUCCESS,
    Client,
    ConnectFlags,
    DisconnectFlags,
    MQTTMessage,
    MQTTMessageInfo,
    topic_matches_sub,
)
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ..const import DOMAIN
from .const import (
    BROKER_KEEPALIVE_S,
    CONF_CA_FILE,
    CONF_CLIENT_CERT,
    CONF_CLIENT_KEY,
    CONF_TLS,
    CONNECT_TIMEOUT,
    DEFAULT_PORT,
    MAX_QUEUED_MESSAGES,
    STOP_TIMEOUT,
)

_LOGGER = logging.getLogger(__package__)

type MessageCallback = Callable[[str, bytes], None]
type ConnectCallback = Callable[[bool], None]
"""Called in the event loop on each connection: True when one was lost before."""

# MQTT 5 reason codes (paho maps MQTT 3.1.1's 4 and 5 to them).
_BAD_CREDENTIALS: Final = frozenset({134, 135})
# Seconds between reconnection attempts: paho doubles from the first to the last.
_RECONNECT_DELAY_S: Final = (1, 60)


@dataclass(frozen=True, kw_only=True)
class BrokerSettings:
    """How to reach a broker of the export's own."""

    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    """The CA that signed the broker's certificate; None: the system's CAs."""
    client_cert: str | None = None
    client_key: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BrokerSettings:
        """Read the settings of an entry (or a flow's input)."""
        return cls(
            host=config[CONF_HOST],
            port=int(config.get(CONF_PORT, DEFAULT_PORT)),
            username=config.get(CONF_USERNAME) or None,
            password=config.get(CONF_PASSWORD) or None,
            tls=bool(config.get(CONF_TLS)),
            ca_file=config.get(CONF_CA_FILE) or None,
            client_cert=config.get(CONF_CLIENT_CERT) or None,
            client_key=config.get(CONF_CLIENT_KEY) or None,
        )


class ProbeResult(StrEnum):
    """What connecting to a broker once showed; values are the flow's errors."""

    OK = "ok"
    CANNOT_CONNECT = "broker_cannot_connect"
    INVALID_AUTH = "broker_invalid_auth"
    TLS_FILES = "tls_files"
    """A CA, certificate or key file is missing or unusable."""


class TlsFilesError(Exception):
    """A CA, certificate or key file is missing or unusable."""


def make_client(settings: BrokerSettings, client_id: str) -> Client:
    """Return a paho client for the settings (reads the TLS files: blocking)."""
    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        try:
            client.tls_set(
                ca_certs=settings.ca_file,
                certfile=settings.client_cert,
                keyfile=settings.client_key,
            )
        except (OSError, ssl.SSLError, ValueError) as err:
            raise TlsFilesError(str(err)) from err
    client.connect_timeout = CONNECT_TIMEOUT.total_seconds()
    return client


def probe_broker(settings: BrokerSettings, client_id: str) -> ProbeResult:
    """Connect once and say how it went (blocking)."""
    try:
        client = make_client(settings, client_id)
    except TlsFilesError:
        return ProbeResult.TLS_FILES
    answers: list[ReasonCode] = []

    def on_connect(
        _client: Client,
        _userdata: object,
        _flags: ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        answers.append(reason_code)

    client.on_connect = on_connect
    try:
        client.connect(settings.host, settings.port, BROKER_KEEPALIVE_S)
        deadline = time.monotonic() + CONNECT_TIMEOUT.total_seconds()
        while not answers and time.monotonic() < deadline:
            if client.loop(timeout=0.1) != MQTT_ERR_SUCCESS:
                break  # the broker closed the connection
    except OSError:  # also ssl.SSLError and socket timeouts
        return ProbeResult.CANNOT_CONNECT
    finally:
        client.disconnect()
    if not answers:
        return ProbeResult.CANNOT_CONNECT
    if answers[0].is_failure:
        if answers[0].value in _BAD_CREDENTIALS:
            return ProbeResult.INVALID_AUTH
        return ProbeResult.CANNOT_CONNECT
    return ProbeResult.OK


def _wait_until_sent(info: MQTTMessageInfo) -> None:
    """Wait (blocking) for a message, so for those queued before it too."""
    # ValueError, RuntimeError: never queued, or the connection went.
    with contextlib.suppress(ValueError, RuntimeError):
        info.wait_for_publish(STOP_TIMEOUT.total_seconds())


class ExportBroker(ABC):
    """The MQTT connection of one export."""

    @abstractmethod
    async def async_start(self, on_connect: ConnectCallback) -> None:
        """Connect (or make sure the connection is there).

        ``on_connect`` is called on every later connection, with True when
        the connection was lost before: the broker may have restarted and
        forgotten retained messages, and the messages of the outage are lost.
        """

    @abstractmethod
    async def async_stop(self) -> None:
        """Unsubscribe and disconnect after publishing what was queued."""

    @abstractmethod
    def publish(self, topic: str, payload: str, *, qos: int, retain: bool) -> None:
        """Queue a message; never blocks, never raises."""

    @abstractmethod
    async def async_subscribe(self, topic: str, on_message: MessageCallback) -> None:
        """Call ``on_message(topic, payload)`` in the event loop for every message."""


class HaBroker(ExportBroker):
    """Home Assistant's MQTT integration's connection."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Publish through ``hass``'s MQTT integration."""
        self._hass = hass
        self._unsubscribe: list[Callable[[], None]] = []

    @override
    async def async_start(self, on_connect: ConnectCallback) -> None:
        """Wait for the MQTT integration; ConfigEntryNotReady if it is not there."""
        if not await mqtt.async_wait_for_mqtt_client(self._hass):
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="mqtt_unavailable"
            )

        @callback
        def connection_changed(connected: bool) -> None:  # noqa: FBT001 - HA's API
            # Home Assistant connected before the export started; any
            # connection it reports now follows a lost one.
            if connected:
                on_connect(True)  # noqa: FBT003 - the callback's one argument

        self._unsubscribe.append(
            mqtt.async_subscribe_connection_status(self._hass, connection_changed)
        )

    @override
    async def async_stop(self) -> None:
        """Drop the subscriptions; the connection is Home Assistant's."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    @override
    @callback
    def publish(self, topic: str, payload: str, *, qos: int, retain: bool) -> None:
        """Hand the message to Home Assistant's MQTT client."""
        # Started eagerly: the messages reach the client in the order given.
        self._hass.async_create_task(
            self._async_publish(topic, payload, qos=qos, retain=retain),
            f"{DOMAIN} export publish",
            eager_start=True,
        )

    async def _async_publish(
        self, topic: str, payload: str, *, qos: int, retain: bool
    ) -> None:
        try:
            await mqtt.async_publish(self._hass, topic, payload, qos=qos, retain=retain)
        except Exception:
            _LOGGER.debug("Could not publish to %s", topic, exc_info=True)

    @override
    async def async_subscribe(self, topic: str, on_message: MessageCallback) -> None:
        """Subscribe through Home Assistant's MQTT integration."""

        @callback
        def received(message: mqtt.ReceiveMessage) -> None:
            payload = message.payload
            on_message(
                message.topic,
                payload.encode() if isinstance(payload, str) else bytes(payload),
            )

        self._unsubscribe.append(
            await mqtt.async_subscribe(
                self._hass, topic, received, qos=0, encoding=None
            )
        )


class OwnBroker(ExportBroker):
    """A broker of the export's own: paho-mqtt in its thread, with a last will.

    paho reconnects by itself; subscriptions are renewed on every connection.
    Messages wait in paho's queue while the broker is away, at most
    MAX_QUEUED_MESSAGES of them (the loss is logged once per outage).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        settings: BrokerSettings,
        *,
        client_id: str,
        will: tuple[str, str, str] | None = None,
        on_auth_failed: Callable[[], None] | None = None,
    ) -> None:
        """Connect with ``settings``.

        ``on_auth_failed`` is called in the event loop when the broker refuses
        the credentials; the export then stops trying until it is set up again.

        ``will`` is (topic, payload on every connection, last will's payload):
        the broker publishes the last will, retained, when Home Assistant
        vanishes without disconnecting; each new connection replaces it.
        """
        self._hass = hass
        self._settings = settings
        self._client_id = client_id
        self._will = will
        self._on_auth_failed = on_auth_failed
        self._client: Client | None = None
        self._subscriptions: dict[str, MessageCallback] = {}
        self._on_connect_callback: ConnectCallback | None = None
        self._last_publish: MQTTMessageInfo | None = None
        self._connected = False
        self._was_connected = False
        self._lost_logged = False
        self._full_logged = False

    @override
    async def async_start(self, on_connect: ConnectCallback) -> None:
        """Start connecting in paho's thread (TLS files are read in the executor).

        The first connection comes after this returns: ``on_connect`` is
        called for it too (with False), since messages published before it
        with QoS 0 were dropped.
        """
        self._on_connect_callback = on_connect
        try:
            self._client = await self._hass.async_add_executor_job(
                make_client, self._settings, self._client_id
            )
        except TlsFilesError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="tls_files",
                translation_placeholders={"error": str(err)},
            ) from err
        client = self._client
        if self._will is not None:
            client.will_set(self._will[0], self._will[2], qos=1, retain=True)
        client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        client.reconnect_delay_set(*_RECONNECT_DELAY_S)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.connect_async(
            self._settings.host, self._settings.port, BROKER_KEEPALIVE_S
        )
        client.loop_start()

    @override
    async def async_stop(self) -> None:
        """Disconnect after what was queued, and end paho's thread."""
        if (client := self._client) is None:
            return
        self._client = None
        if self._connected and (last := self._last_publish) is not None:
            await self._hass.async_add_executor_job(_wait_until_sent, last)
        client.disconnect()
        await self._hass.async_add_executor_job(client.loop_stop)

    @override
    def publish(self, topic: str, payload: str, *, qos: int, retain: bool) -> None:
        """Queue a message in paho (dropped, logged once, when the queue is full)."""
        if self._client is None:
            return
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        self._last_publish = info
        if info.rc == MQTT_ERR_QUEUE_SIZE and not self._full_logged:
            self._full_logged = True
            _LOGGER.warning(
                "The export's queue for %s is full; newer messages are dropped",
                self._settings.host,
            )

    @override
    async def async_subscribe(self, topic: str, on_message: MessageCallback) -> None:
        """Subscribe now if connected, and on every connection."""
        self._subscriptions[topic] = on_message
        if self._client is not None and self._connected:
            self._client.subscribe(topic, qos=0)

    def _on_connect(
        self,
        client: Client,
        _userdata: object,
        _flags: ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        """Renew the subscriptions (in paho's thread)."""
        if reason_code.is_failure:
            if reason_code.value in _BAD_CREDENTIALS and self._on_auth_failed:
                _LOGGER.warning(
                    "The broker %s refused the export's credentials (%s)",
                    self._settings.host,
                    reason_code,
                )
                self._lost_logged = True  # and not "reconnecting" as well
                client.disconnect()  # the same login would be refused again
                self._hass.loop.call_soon_threadsafe(self._auth_failed)
                return
            self._log_lost(str(reason_code))
            return
        self._connected = True
        self._full_logged = False
        if self._lost_logged:
            self._lost_logged = False
            _LOGGER.info("The export is connected to %s again", self._settings.host)
        if self._will is not None:
            client.publish(self._will[0], self._will[1], qos=1, retain=True)
        for topic in list(self._subscriptions):
            client.subscribe(topic, qos=0)
        self._hass.loop.call_soon_threadsafe(self._call_on_connect, self._was_connected)
        self._was_connected = True

    @callback
    def _auth_failed(self) -> None:
        if self._client is not None and self._on_auth_failed is not None:
            self._on_auth_failed()

    @callback
    def _call_on_connect(self, reconnected: bool) -> None:  # noqa: FBT001
        if self._client is not None and self._on_connect_callback is not None:
            self._on_connect_callback(reconnected)

    def _on_disconnect(
        self,
        _client: Client,
        _userdata: object,
        _flags: DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        """Log a lost connection once (in paho's thread); paho reconnects."""
        self._connected = False
        if self._client is not None:
            self._log_lost(str(reason_code))

    def _log_lost(self, reason: str) -> None:
        if not self._lost_logged:
            self._lost_logged = True
            _LOGGER.warning(
                "The export lost its broker %s (%s); reconnecting",
                self._settings.host,
                reason,
            )

    def _on_message(self, _client: Client, _userdata: object, msg: MQTTMessage) -> None:
        """Hand a message to the event loop (from paho's thread)."""
        self._hass.loop.call_soon_threadsafe(self._dispatch, msg.topic, msg.payload)

    @callback
    def _dispatch(self, topic: str, payload: bytes) -> None:
        for subscription, on_message in list(self._subscriptions.items()):
            if topic_matches_sub(subscription, topic):
                on_message(topic, payload)
