"""A stand-in for a Victron GX: the dbus-mqtt-ev-charger driver plus Venus OS's broker.

It behaves as the protocol notes (victron-dbus-mqtt-ev-charger.md) say the
real pair does, and shares no code with the export:

* the driver subscribes to one topic, accepts a JSON object only with
  ``Ac.Power``, keeps the known keys with str/int/float values (``null``,
  lists and unknown keys are dropped), and once a second writes every cached
  value to the D-Bus if a message arrived since the last tick;
* it waits for its first message, and exits (the device disappears from the
  D-Bus) when no message arrived for ``timeout_s``;
* settings changed on the GX (``set_current``, ``set_start_stop``,
  ``set_mode``) change the D-Bus only: the driver's cache keeps the old value
  and the next message's tick writes it back, unless the message carries the
  new one;
* Venus OS publishes D-Bus changes as ``N/<portal>/evcharger/<instance>/<path>``
  ``{"value": ...}`` (never retained) while a keepalive on
  ``R/<portal>/keepalive`` is younger than ``keepalive_s``; an empty
  keepalive asks for a full republish, and a device that disappears
  publishes an empty payload per path; a restarted broker has forgotten
  every keepalive (modelled as: each new connection forgets it).

Venus OS takes a keepalive whoever connects first after a broker restart;
this stand-in is a client that could miss one sent before it is back, so it
keeps a persistent session (subscriptions at QoS 1): a test broker with
persistence and ``queue_qos0_messages`` keeps such messages for it.

Here the driver and the GX's broker share one broker. Run it standalone::

    python -m simulators.victron_gx --port 1883 --portal-id c0619ab1f1e2
"""

import argparse
from collections.abc import Mapping
import contextlib
import json
import threading
import time
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

type DbusValue = str | int | float

# The keys the driver knows, as D-Bus paths.
KNOWN_PATHS: Final = frozenset(
    {
        "/Ac/Power",
        "/Ac/L1/Power",
        "/Ac/L2/Power",
        "/Ac/L3/Power",
        "/Ac/Energy/Forward",
        "/Current",
        "/MaxCurrent",
        "/SetCurrent",
        "/AutoStart",
        "/ChargingTime",
        "/EnableDisplay",
        "/Mode",
        "/StartStop",
        "/Status",
        "/Model",
        "/Role",
    }
)
# What the driver registers before any message says otherwise.
INITIAL_VALUES: Final[dict[str, DbusValue]] = {
    "/StartStop": 1,
    "/Mode": 1,
    "/AutoStart": 0,
    "/EnableDisplay": 1,
}


def flatten(payload: Mapping[str, Any], prefix: str = "") -> dict[str, DbusValue]:
    """Return the known D-Bus paths of a JSON object, as the driver reads them."""
    values: dict[str, DbusValue] = {}
    for key, value in payload.items():
        path = f"{prefix}/{key}"
        if isinstance(value, dict):
            values.update(flatten(value, path))
        elif isinstance(value, str | int | float) and path in KNOWN_PATHS:
            values[path] = value
    return values


class VictronGx:
    """One driver install and the GX's MQTT notifications, on one broker."""

    def __init__(  # noqa: PLR0913 - the driver's config.ini
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        portal_id: str,
        instance: int = 100,
        topic: str = "custom/ev-charger",
        timeout_s: float = 60.0,
        keepalive_s: float = 60.0,
        tick_s: float = 1.0,
    ) -> None:
        """Describe the GX; ``start`` connects it."""
        self.portal_id = portal_id
        self.instance = instance
        self.topic = topic
        self.timeout_s = timeout_s
        self.keepalive_s = keepalive_s
        self.tick_s = tick_s
        self.messages = 0
        """Valid messages the driver took."""
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._cache: dict[str, DbusValue] = {}
        self._dbus: dict[str, DbusValue] = {}
        self._running = False
        self._new_data = False
        self._last_message = 0.0
        self._keepalive_until = 0.0
        self._stop = threading.Event()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"gx-{portal_id}-{instance}",
            clean_session=False,
        )
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._ticker = threading.Thread(target=self._tick_loop, daemon=True)

    @property
    def running(self) -> bool:
        """Return whether the driver runs (it had a message and did not time out)."""
        with self._lock:
            return self._running

    @property
    def dbus(self) -> dict[str, DbusValue]:
        """Return the device's D-Bus values (empty while the driver is not running)."""
        with self._lock:
            return dict(self._dbus)

    def start(self) -> None:
        """Connect, subscribe and start ticking."""
        self._client.connect(self._host, self._port)
        self._client.loop_start()
        self._ticker.start()

    def stop(self) -> None:
        """Disconnect and stop."""
        self._stop.set()
        self._ticker.join()
        self._client.disconnect()
        self._client.loop_stop()

    def set_current(self, amps: float) -> None:
        """Set the charge current on the GX's screen."""
        self._write("/SetCurrent", amps)

    def set_start_stop(self, value: int) -> None:
        """Press start (1) or stop (0) on the GX's screen."""
        self._write("/StartStop", value)

    def set_mode(self, value: int) -> None:
        """Choose Manual (0), Automatic (1) or Scheduled (2) on the GX's screen."""
        self._write("/Mode", value)

    def _write(self, path: str, value: DbusValue) -> None:
        """Write a D-Bus value as the GUI does: the driver accepts, caches nothing."""
        with self._lock:
            if not self._running:
                return
            self._dbus[path] = value
            self._notify(path, value)

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        _reason_code: object,
        _properties: object,
    ) -> None:
        with self._lock:
            self._keepalive_until = 0.0
        client.subscribe(self.topic, qos=1)
        client.subscribe(f"R/{self.portal_id}/keepalive", qos=1)

    def _on_message(
        self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage
    ) -> None:
        now = time.monotonic()
        with self._lock:
            if msg.topic == self.topic:
                self._driver_message(msg.payload, now)
            else:
                self._keepalive(msg.payload, now)

    def _driver_message(self, payload: bytes, now: float) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if not isinstance(data, dict) or not isinstance(
            (data.get("Ac") or {}).get("Power"), int | float
        ):
            return  # the driver ignores a message without Ac.Power
        self._cache.update(flatten(data))
        self.messages += 1
        self._last_message = now
        self._new_data = True
        if not self._running:
            self._running = True
            self._dbus = dict(INITIAL_VALUES)
            for path, value in self._dbus.items():
                self._notify(path, value)

    def _keepalive(self, payload: bytes, now: float) -> None:
        self._keepalive_until = now + self.keepalive_s
        if not payload:
            for path, value in self._dbus.items():
                self._notify(path, value)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            with self._lock:
                self._tick(time.monotonic())

    def _tick(self, now: float) -> None:
        if not self._running:
            return
        if self.timeout_s and now - self._last_message > self.timeout_s:
            # The driver exits; its service leaves the D-Bus.
            for path in self._dbus:
                self._notify(path, None)
            self._running = False
            self._dbus.clear()
            self._cache.clear()
            return
        if self._new_data:
            self._new_data = False
            for path, value in self._cache.items():
                if self._dbus.get(path) != value:
                    self._dbus[path] = value
                    self._notify(path, value)

    def _notify(self, path: str, value: DbusValue | None) -> None:
        """Publish a D-Bus change as Venus OS does, while a keepalive is fresh."""
        if time.monotonic() >= self._keepalive_until:
            return
        payload = "" if value is None else json.dumps({"value": value})
        self._client.publish(
            f"N/{self.portal_id}/evcharger/{self.instance}{path}", payload
        )


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in until interrupted, printing the D-Bus every few seconds."""
    parser = argparse.ArgumentParser(description="Victron GX stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--portal-id", required=True)
    parser.add_argument("--instance", type=int, default=100)
    parser.add_argument("--topic", default="custom/ev-charger")
    args = parser.parse_args(argv)
    gx = VictronGx(
        host=args.host,
        port=args.port,
        portal_id=args.portal_id,
        instance=args.instance,
        topic=args.topic,
    )
    gx.start()
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(5)
            print(json.dumps(gx.dbus, sort_keys=True), flush=True)
    gx.stop()


if __name__ == "__main__":
    main()
