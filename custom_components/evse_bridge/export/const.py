"""Settings of an MQTT export entry."""

from datetime import timedelta
from enum import StrEnum
from typing import Final

KIND: Final = "mqtt_export"

CONF_FORMAT: Final = "format"
CONF_BROKER: Final = "broker"
CONF_TLS: Final = "tls"
CONF_CA_FILE: Final = "ca_file"
CONF_CLIENT_CERT: Final = "client_cert"
CONF_CLIENT_KEY: Final = "client_key"
CONF_CONNECTORS: Final = "connectors"
"""Exported connectors as ``<charger id>/<number>``; empty: all, new ones too."""
CONF_PORTAL_ID: Final = "portal_id"
CONF_VICTRON: Final = "victron"
"""Victron: per exported connector, its driver's topic and device instance."""
CONF_TOPIC: Final = "topic"
CONF_DEVICE_INSTANCE: Final = "device_instance"

DEFAULT_PORT: Final = 1883
# dbus-mqtt-ev-charger's default device instance (since its v0.0.4).
DEFAULT_DEVICE_INSTANCE: Final = 100
# A broker that has not answered in this time will not: the flow says so.
CONNECT_TIMEOUT: Final = timedelta(seconds=10)
# paho keeps unsent messages while the broker is away; beyond this many the
# newest are dropped (the shadow's differ and the heartbeat catch up later).
MAX_QUEUED_MESSAGES: Final = 1000
# At unload, the offline states wait this long at most to reach a broker of
# the export's own: paho sends 20 QoS 1 messages at a time and drops the
# rest at disconnect, and a broker that does not acknowledge is not waited on.
STOP_TIMEOUT: Final = timedelta(seconds=5)
# The broker notices a dead Home Assistant (and sends the last will) after
# 1.5 keepalives without a packet.
BROKER_KEEPALIVE_S: Final = 30


class ExportFormat(StrEnum):
    """What the export publishes."""

    VICTRON = "victron"
    """The JSON of Victron's dbus-mqtt-ev-charger driver, per connector."""
    SHADOW = "shadow"
    """One retained topic per value."""


class BrokerChoice(StrEnum):
    """Which broker the export publishes to."""

    HOME_ASSISTANT = "home_assistant"
    """Home Assistant's MQTT integration's broker."""
    OWN = "own"
    """Another broker, with its own connection."""
