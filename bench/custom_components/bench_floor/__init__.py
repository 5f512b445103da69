"""The floors of P1: subscriptions through Home Assistant's MQTT integration.

``parse``: the callback parses the JSON and does nothing else, so what Home
Assistant spends per message with it is what the MQTT receive path costs
anyway.

``write``: the callback also writes, with ``hass.states.async_set``, the
states EVSE Bridge's default entities show for the message (a meter's energy
and power; an EVSE's status, CTEK state, offered current, vehicle connected,
charging and problem), each only when it changed, as EVSE Bridge does: the
least any integration that shows these values must do.

Configure with ``bench_floor: {parse: "CTEK/FLOOR1/+/+", write: "CTEK/FLOORW1/+/+"}``.
"""

import json
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.typing import ConfigType

DOMAIN = "bench_floor"

# CTEK state code -> (status, vehicle connected, problem), as EVSE Bridge
# shows them (the Automation interface's section 2.4).
_MEANINGS: dict[str, tuple[str, bool | None, bool]] = {
    "aval": ("available", False, False),
    "conn": ("preparing", True, False),
    "auth": ("preparing", False, False),
    "evrd": ("preparing", True, False),
    "chrg": ("charging", True, False),
    "paus": ("suspended_evse", True, False),
    "ncrq": ("suspended_ev", True, False),
    "suht": ("suspended_evse", True, False),
    "stht": ("finishing", True, False),
    "done": ("finishing", True, False),
    "gone": ("available", False, False),
    "flty": ("faulted", None, True),
    "dsbl": ("unavailable", None, False),
    "invl": ("faulted", None, True),
}
_STATUSES = [
    "available",
    "preparing",
    "charging",
    "suspended_ev",
    "suspended_evse",
    "finishing",
    "unavailable",
    "faulted",
]
# The attributes EVSE Bridge's entities carry, besides their names.
_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "energy": {
        "state_class": "total_increasing",
        "unit_of_measurement": "kWh",
        "device_class": "energy",
    },
    "power": {
        "state_class": "measurement",
        "unit_of_measurement": "W",
        "device_class": "power",
    },
    "status": {"options": _STATUSES, "device_class": "enum"},
    "ctek_status": {"options": list(_MEANINGS), "device_class": "enum"},
    "offered_current": {
        "state_class": "measurement",
        "unit_of_measurement": "A",
        "device_class": "current",
    },
    "vehicle_connected": {"device_class": "plug"},
    "charging": {"device_class": "battery_charging"},
    "problem": {"device_class": "problem"},
}


_BINARY_SENSORS = {"vehicle_connected", "charging", "problem"}


def _on_off(value: bool | None) -> str:  # noqa: FBT001 - a state, not a flag
    return "unknown" if value is None else "on" if value else "off"


class StateWriter:
    """Writes the states of one charger's parts, each only when it changed."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Write nothing yet."""
        self._hass = hass
        self._topics: dict[str, tuple[str, dict[str, str]]] = {}
        self._shown: dict[str, str] = {}
        self._attributes: dict[str, dict[str, Any]] = {}

    def _topic(self, topic: str) -> tuple[str, dict[str, str]]:
        """Return a topic's kind and its part's entity ids, by key."""
        known = self._topics.get(topic)
        if known is None:
            _, charger, part, kind = topic.split("/")
            prefix = f"floor_{charger}_{part}".lower()
            entity_ids = {
                key: f"{'binary_sensor' if key in _BINARY_SENSORS else 'sensor'}"
                f".{prefix}_{key}"
                for key in _ATTRIBUTES
            }
            known = self._topics[topic] = (kind, entity_ids)
        return known

    def _write(self, entity_id: str, key: str, state: str) -> None:
        if self._shown.get(entity_id) == state:
            return
        self._shown[entity_id] = state
        attributes = self._attributes.get(entity_id)
        if attributes is None:
            attributes = {**_ATTRIBUTES[key], "friendly_name": entity_id}
            self._attributes[entity_id] = attributes
        self._hass.states.async_set(entity_id, state, attributes)

    @callback
    def received(self, msg: mqtt.ReceiveMessage) -> None:
        """Parse a message and write the states it changes."""
        data = json.loads(msg.payload)
        kind, ids = self._topic(msg.topic)
        write = self._write
        if kind == "em":
            write(ids["energy"], "energy", str(data["energy"] / 1000))
            write(ids["power"], "power", str(float(data["power"])))
        elif kind == "status":
            code = data["state"].lower()
            status, connected, problem = _MEANINGS[code]
            write(ids["status"], "status", status)
            write(ids["ctek_status"], "ctek_status", code)
            write(
                ids["offered_current"], "offered_current", str(float(data["assigned"]))
            )
            write(ids["vehicle_connected"], "vehicle_connected", _on_off(connected))
            write(ids["charging"], "charging", _on_off(code == "chrg"))
            write(ids["problem"], "problem", _on_off(problem))


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Subscribe to the configured topic filters."""

    @callback
    def parse_only(msg: mqtt.ReceiveMessage) -> None:
        json.loads(msg.payload)

    if not await mqtt.async_wait_for_mqtt_client(hass):
        return False
    topics = config[DOMAIN]
    if "parse" in topics:
        await mqtt.async_subscribe(hass, str(topics["parse"]), parse_only, qos=0)
    if "write" in topics:
        writer = StateWriter(hass)
        await mqtt.async_subscribe(hass, str(topics["write"]), writer.received, qos=0)
    return True
