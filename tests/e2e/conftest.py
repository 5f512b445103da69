"""Real servers on 127.0.0.1 for end-to-end tests: a mosquitto broker."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
import getpass
from pathlib import Path
import shutil
import socket
import subprocess
import time

from homeassistant.components import mqtt
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.mennekes import MennekesSimulator

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    """A mosquitto process that can be stopped and started again."""

    port: int
    config: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                time.sleep(0.02)
            else:
                return
        msg = f"mosquitto did not start on port {self.port}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Stop the broker, as a broker restart or crash would."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def broker_keeps_sessions() -> bool:
    """Whether ``broker`` keeps sessions across a restart; parametrize to change.

    Retained messages are then kept too, and QoS 0 messages are queued for
    clients with a persistent session while they are away.
    """
    return False


@pytest.fixture
def broker(
    socket_enabled: None, tmp_path: Path, broker_keeps_sessions: bool
) -> Generator[Broker]:
    """Run mosquitto on a free port of 127.0.0.1 (the only host tests may reach)."""
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    persistence = (
        f"persistence true\npersistence_location {tmp_path}/\n"
        "queue_qos0_messages true\n"
        # Run as ourselves: as root, mosquitto would switch to its own user,
        # who cannot write the test's folder.
        f"user {getpass.getuser()}\n"
        if broker_keeps_sessions
        else "persistence false\n"
    )
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n{persistence}"
        # Readings of several topics a second: no delay for the second one.
        "set_tcp_nodelay true\n"
    )
    server = Broker(port, config)
    server.start()
    yield server
    server.stop()


async def wait_for(condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Wait until a condition holds; fail with the condition's name if never."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition.__name__}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant, mock_hass_config: None, broker: Broker
) -> AsyncGenerator[MockConfigEntry]:
    """Set up Home Assistant's real MQTT integration against the broker."""
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={mqtt.CONF_BROKER: "127.0.0.1", CONF_PORT: broker.port},
        # No birth message: its publish would race the unload at teardown.
        options={mqtt.CONF_BIRTH_MESSAGE: {}},
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    def mqtt_connected() -> bool:
        return mqtt.is_connected(hass)

    await wait_for(mqtt_connected)
    yield entry
    assert await hass.config_entries.async_unload(entry.entry_id)


async def publish_until(
    hass: HomeAssistant,
    publish: Callable[[], object],
    condition: Callable[[], bool],
    limit: float = 20.0,
) -> None:
    """Publish again and again, as the CCU does, until a condition holds.

    The first report may come before Home Assistant's subscription reaches
    the broker, exactly as with a real charger.
    """
    deadline = time.monotonic() + limit
    while True:
        await hass.async_add_executor_job(publish)
        for _ in range(4):
            await asyncio.sleep(0.05)
            if condition():
                return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition.__name__}")


PIN = "4711"


@pytest.fixture
async def mennekes(socket_enabled: None) -> AsyncGenerator[MennekesSimulator]:
    """Serve a Mennekes AMTRON with a car plugged in: it charges at once."""
    async with MennekesSimulator(dev_key=PIN) as simulator:
        simulator.plug_in()
        yield simulator
