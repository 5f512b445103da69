"""End to end: the MQTT export over a real mosquitto, a simulated charger and GX.

A Mennekes AMTRON simulator answers over HTTP, Home Assistant's MQTT
integration talks to mosquitto on 127.0.0.1, and the Victron GX stand-in
(simulators/victron_gx.py) reads the driver's JSON and publishes the GX's
settings as Venus OS does. Entries are added through the config flow.
"""

import asyncio
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
import getpass
import ipaddress
import json
from pathlib import Path
import socket
import subprocess
import time
from typing import Any
from unittest.mock import patch

import aiomqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.export import ExportRuntimeData
from custom_components.evse_bridge.export.broker import (
    BrokerSettings,
    OwnBroker,
    ProbeResult,
    probe_broker,
)
from simulators.mennekes import MennekesSimulator
from simulators.victron_gx import VictronGx
from tests.export.conftest import shadow_entry

from .conftest import PIN, Broker, free_port, wait_for

SERIAL = "1234567890"
PART = "connector1"
PORTAL = "c0619ab1f1e2"


@pytest.fixture(autouse=True)
def fast_heartbeat() -> Generator[None]:
    """Publish the driver's JSON every second, so a GX timeout takes seconds."""
    with patch(
        "custom_components.evse_bridge.export.exporter.HEARTBEAT", timedelta(seconds=1)
    ):
        yield


@pytest.fixture
def gx(broker: Broker) -> Generator[VictronGx]:
    """Run the GX stand-in on the broker; its driver gives up after 3 s of silence."""
    stand_in = VictronGx(port=broker.port, portal_id=PORTAL, timeout_s=3, tick_s=0.2)
    stand_in.start()
    yield stand_in
    stand_in.stop()


async def add_entry(hass: HomeAssistant, *steps: dict[str, Any]) -> ConfigEntry:
    """Add an entry through the config flow: the menu choice, then each form."""
    result = await hass.config_entries.flow.async_init(
        "evse_bridge", context={"source": SOURCE_USER}
    )
    for user_input in steps:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def add_mennekes(hass: HomeAssistant, mennekes: MennekesSimulator) -> ConfigEntry:
    """Add the simulated AMTRON."""
    return await add_entry(
        hass,
        {"next_step_id": "mennekes"},
        {"host": "127.0.0.1", "port": mennekes.port, "pin": PIN},
    )


async def collect_retained(
    port: int, topics: str, tls: dict[str, str] | None = None
) -> dict[str, Any]:
    """Connect as a late subscriber; return the retained messages it gets at once."""
    values: dict[str, Any] = {}
    tls_params = aiomqtt.TLSParameters(**tls) if tls else None  # type: ignore[arg-type]
    async with aiomqtt.Client("127.0.0.1", port, tls_params=tls_params) as client:
        await client.subscribe(topics, qos=1)
        try:
            async with asyncio.timeout(1.5):
                async for message in client.messages:
                    if not message.retain:
                        continue  # published live while we listened: not stored
                    payload = bytes(message.payload).decode()
                    values[str(message.topic)] = (
                        json.loads(payload) if payload.startswith("{") else payload
                    )
        except TimeoutError:
            pass
    return values


async def retry(action: Callable[[], object], condition: Callable[[], bool]) -> None:
    """Do something every 2 s until a condition holds."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        action()
        for _ in range(40):
            await asyncio.sleep(0.05)
            if condition():
                return
    pytest.fail(f"timed out waiting for {condition.__name__}")


async def test_gx_sees_the_charger_and_sets_its_current(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    mennekes: MennekesSimulator,
    gx: VictronGx,
) -> None:
    """Power and status on the GX; 10 A set there changes the charger, and stays."""
    charger = await add_mennekes(hass, mennekes)
    await add_entry(
        hass,
        {"next_step_id": "mqtt_export"},
        {"format": "victron", "broker": "home_assistant"},
        {"portal_id": PORTAL, "connectors": [f"{SERIAL}/1"]},
        {"topic": "custom/ev-charger", "device_instance": 100},
    )

    def gx_shows_the_charger() -> bool:
        return gx.dbus.get("/Ac/Power") == 3 * 230 * 16

    await wait_for(gx_shows_the_charger)
    assert gx.dbus["/Status"] == 2  # charging
    assert gx.dbus["/SetCurrent"] == 16
    assert gx.dbus["/Mode"] == 0  # manual

    def charger_follows() -> bool:
        return mennekes.remote_current == 10

    # Home Assistant subscribes a moment after the export asks it to; a change
    # on the GX before that is not seen (and the driver shows 16 A again), so
    # the user sets 10 A again, as on a real GX.
    await retry(lambda: gx.set_current(10), charger_follows)
    await charger.runtime_data.coordinator.async_refresh()
    seen = gx.messages

    def gx_has_new_messages() -> bool:
        return gx.messages >= seen + 3

    await wait_for(gx_has_new_messages)
    assert gx.dbus["/SetCurrent"] == 10  # echoed, not reverted
    assert gx.dbus["/Ac/Power"] == 3 * 230 * 10

    def charger_paused() -> bool:
        return gx.dbus.get("/Status") == 6  # waiting for start

    gx.set_start_stop(0)
    await wait_for(charger_paused)
    assert gx.dbus["/StartStop"] == 0


async def test_offline_charger_leaves_the_gx(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    mennekes: MennekesSimulator,
    gx: VictronGx,
) -> None:
    """A charger that stops answering is no longer published: the GX drops it."""
    charger = await add_mennekes(hass, mennekes)
    await add_entry(
        hass,
        {"next_step_id": "mqtt_export"},
        {"format": "victron", "broker": "home_assistant"},
        {"portal_id": PORTAL, "connectors": [f"{SERIAL}/1"]},
        {"topic": "custom/ev-charger", "device_instance": 100},
    )

    def gx_running() -> bool:
        return gx.running

    await wait_for(gx_running)
    mennekes.faults.status = 500
    await charger.runtime_data.coordinator.async_refresh()
    assert not charger.runtime_data.coordinator.last_update_success

    def gx_dropped_it() -> bool:
        return not gx.running

    await wait_for(gx_dropped_it)
    assert gx.dbus == {}


async def test_shadow_late_subscriber_and_set(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    broker: Broker,
    mennekes: MennekesSimulator,
) -> None:
    """A late subscriber gets every last value at once; ``set`` changes the charger."""
    await add_mennekes(hass, mennekes)
    await add_entry(
        hass,
        {"next_step_id": "mqtt_export"},
        {"format": "shadow", "broker": "home_assistant"},
        {"base_topic": "chargers"},
    )
    prefix = f"chargers/{SERIAL}/{PART}"

    async def all_values() -> dict[str, Any]:
        return await collect_retained(broker.port, "chargers/#")

    values = await all_values()
    assert values["chargers/availability"] == "online"
    assert values[f"chargers/{SERIAL}/availability"] == "online"
    assert values[f"{prefix}/power_w"]["value"] == 3 * 230 * 16
    assert values[f"{prefix}/status"]["value"] == "charging"
    assert f"{prefix}/current_limit_a" not in values  # the box reports none yet
    sampled_at = datetime.fromisoformat(values[f"{prefix}/power_w"]["sampled_at"])
    assert abs(datetime.now(UTC) - sampled_at) < timedelta(minutes=5)

    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.publish(f"{prefix}/current_limit_a/set", "8", qos=1)

    def charger_follows() -> bool:
        return mennekes.remote_current == 8

    await wait_for(charger_follows)

    await hass.async_block_till_done(wait_background_tasks=True)
    values = await all_values()
    assert values[f"{prefix}/current_limit_a"]["value"] == 8
    assert values[f"{prefix}/power_w"]["value"] == 3 * 230 * 8


# --- Own broker: TLS with a client certificate, credentials -----------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _issue(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    server: bool = False,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    """Make a CA, a server certificate for 127.0.0.1 and a client certificate."""
    ca_key = _key()
    ca = _issue("EVSE Bridge test CA", ca_key, None)
    _write(tmp_path / "ca", ca, ca_key)
    for name, server in (("server", True), ("client", False)):
        key = _key()
        _write(
            tmp_path / name, _issue(name, key, (ca.subject, ca_key), server=server), key
        )
    return tmp_path


@pytest.fixture
def tls_broker(socket_enabled: None, certificates: Path) -> Generator[Broker]:
    """Run mosquitto on TLS, requiring a client certificate signed by the CA."""
    port = free_port()
    config = certificates / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        f"cafile {certificates / 'ca.crt'}\n"
        f"certfile {certificates / 'server.crt'}\n"
        f"keyfile {certificates / 'server.key'}\n"
        "require_certificate true\nallow_anonymous true\npersistence false\n"
        # Run as ourselves: as root, mosquitto would switch to its own user,
        # who cannot read the test's files.
        f"user {getpass.getuser()}\n"
    )
    server = Broker(port, config)
    server.start()
    yield server
    server.stop()


async def test_shadow_over_tls_with_client_certificate(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    tls_broker: Broker,
    certificates: Path,
    mennekes: MennekesSimulator,
) -> None:
    """The flow checks the TLS files; the shadow arrives; a dead client is offline."""
    await add_mennekes(hass, mennekes)
    tls = {
        "host": "127.0.0.1",
        "port": tls_broker.port,
        "tls": True,
        "ca_file": str(certificates / "ca.crt"),
    }
    result = await hass.config_entries.flow.async_init(
        "evse_bridge", context={"source": SOURCE_USER}
    )
    for user_input in (
        {"next_step_id": "mqtt_export"},
        {"format": "shadow", "broker": "own"},
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input
        )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], tls)
    assert result["errors"] == {"host": "broker_cannot_connect"}  # no client cert
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], tls | {"client_cert": str(certificates / "missing.crt")}
    )
    assert result["errors"] == {"ca_file": "tls_files"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        tls
        | {
            "client_cert": str(certificates / "client.crt"),
            "client_key": str(certificates / "client.key"),
        },
    )
    assert result["step_id"] == "export_shadow"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_topic": "chargers"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry: ConfigEntry[ExportRuntimeData] = result["result"]

    client_tls = {
        "ca_certs": str(certificates / "ca.crt"),
        "certfile": str(certificates / "client.crt"),
        "keyfile": str(certificates / "client.key"),
    }
    values: dict[str, Any] = {}

    async def shadow_arrived() -> bool:
        # A value that changes meanwhile arrives live: retained only.
        values.update(await collect_retained(tls_broker.port, "chargers/#", client_tls))
        return f"chargers/{SERIAL}/{PART}/power_w" in values

    for _ in range(10):
        if await shadow_arrived():
            break
    assert values[f"chargers/{SERIAL}/{PART}/power_w"]["value"] == 3 * 230 * 16
    assert values["chargers/availability"] == "online"

    # Home Assistant's connection dies without a goodbye: the broker sends the
    # last will; paho reconnects and says online again.
    broker = entry.runtime_data.exporter.broker
    assert isinstance(broker, OwnBroker)
    seen: list[str] = []
    params = aiomqtt.TLSParameters(
        ca_certs=client_tls["ca_certs"],
        certfile=client_tls["certfile"],
        keyfile=client_tls["keyfile"],
    )
    async with aiomqtt.Client("127.0.0.1", tls_broker.port, tls_params=params) as sub:
        await sub.subscribe("chargers/availability", qos=1)
        client = broker._client  # a crash, from outside
        assert client is not None
        sock = client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)
        async with asyncio.timeout(30):
            async for message in sub.messages:
                seen.append(bytes(message.payload).decode())
                if seen[-2:] == ["offline", "online"]:
                    break
    assert "offline" in seen

    assert await hass.config_entries.async_unload(entry.entry_id)
    values = await collect_retained(
        tls_broker.port, "chargers/availability", client_tls
    )
    assert values == {"chargers/availability": "offline"}


@pytest.fixture
def password_broker(socket_enabled: None, tmp_path: Path) -> Generator[Broker]:
    """Run mosquitto that takes one user and no anonymous clients."""
    passwords = tmp_path / "passwords"
    subprocess.run(  # noqa: S603 - fixed arguments
        ["/usr/bin/mosquitto_passwd", "-b", "-c", str(passwords), "bridge", "secret"],
        check=True,
    )
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwords}\npersistence false\nuser {getpass.getuser()}\n"
    )
    server = Broker(port, config)
    server.start()
    yield server
    server.stop()


async def test_refused_credentials_ask_for_new_ones(
    hass: HomeAssistant, password_broker: Broker
) -> None:
    """A broker that refuses the export's login: Home Assistant asks for another."""
    entry = shadow_entry(
        broker="own",
        host="127.0.0.1",
        port=password_broker.port,
        tls=False,
        username="bridge",
        password="changed",  # noqa: S106
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    def reauth_started() -> bool:
        return any(
            flow["context"]["source"] == SOURCE_REAUTH
            for flow in hass.config_entries.flow.async_progress_by_handler(
                "evse_bridge"
            )
        )

    await wait_for(reauth_started)
    [flow] = hass.config_entries.flow.async_progress_by_handler("evse_bridge")
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"username": "bridge", "password": "secret"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data["password"] == "secret"  # noqa: S105
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("password", "expected"),
    [("secret", ProbeResult.OK), ("wrong", ProbeResult.INVALID_AUTH)],
)
def test_probe_credentials(
    password_broker: Broker, password: str, expected: ProbeResult
) -> None:
    """The flow's check tells refused credentials from a working login."""
    settings = BrokerSettings(
        host="127.0.0.1",
        port=password_broker.port,
        username="bridge",
        password=password,
    )
    assert probe_broker(settings, "probe") is expected


def test_probe_nothing_listening(socket_enabled: None) -> None:
    """No broker at the address: cannot connect."""
    settings = BrokerSettings(host="127.0.0.1", port=free_port())
    assert probe_broker(settings, "probe") is ProbeResult.CANNOT_CONNECT


# --- The broker restarts without persistence ---------------------------------------


@pytest.fixture
def quick_reconnect() -> Generator[None]:
    """Let Home Assistant's MQTT and the export's own client retry every second."""
    with (
        patch("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 1),
        patch("custom_components.evse_bridge.export.broker._RECONNECT_DELAY_S", (1, 1)),
    ):
        yield


def broker_steps(choice: str, broker: Broker) -> list[dict[str, Any]]:
    """Return the flow's broker answers: Home Assistant's, or the test broker."""
    if choice == "home_assistant":
        return []
    return [{"host": "127.0.0.1", "port": broker.port, "tls": False}]


@pytest.mark.usefixtures("quick_reconnect")
@pytest.mark.parametrize("choice", ["home_assistant", "own"])
async def test_shadow_restored_after_a_broker_restart(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    broker: Broker,
    mennekes: MennekesSimulator,
    choice: str,
) -> None:
    """A broker that forgot every retained message has the whole shadow again."""
    await add_mennekes(hass, mennekes)
    await add_entry(
        hass,
        {"next_step_id": "mqtt_export"},
        {"format": "shadow", "broker": choice},
        *broker_steps(choice, broker),
        {"base_topic": "chargers"},
    )
    power = f"chargers/{SERIAL}/{PART}/power_w"
    before: dict[str, Any] = {}

    async def shadow_complete() -> bool:
        before.update(await collect_retained(broker.port, "chargers/#"))
        return power in before

    for _ in range(10):
        if await shadow_complete():
            break
    assert before[power]["value"] == 3 * 230 * 16

    # Stopped and started again: it has forgotten every retained message.
    await hass.async_add_executor_job(broker.stop)
    await hass.async_add_executor_job(broker.start)
    after: dict[str, Any] = {}

    async def shadow_back() -> bool:
        # The export may be republishing as we subscribe: retained only.
        after.update(await collect_retained(broker.port, "chargers/#"))
        return power in after and "chargers/availability" in after

    for _ in range(20):
        if await shadow_back():
            break
    assert after["chargers/availability"] == "online"
    assert after[f"chargers/{SERIAL}/availability"] == "online"
    assert after[power] == before[power]  # the same sample, not a new one
    assert after[f"chargers/{SERIAL}/{PART}/status"]["value"] == "charging"


@pytest.mark.usefixtures("quick_reconnect")
@pytest.mark.parametrize("broker_keeps_sessions", [True])
@pytest.mark.parametrize("choice", ["home_assistant", "own"])
async def test_gx_follows_again_after_a_broker_restart(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    broker: Broker,
    mennekes: MennekesSimulator,
    gx: VictronGx,
    choice: str,
) -> None:
    """The driver gets its JSON again, and the GX's settings reach the charger.

    The keepalive is renewed only every hour here: the GX's settings can come
    through after the restart only if the export renews it at reconnection.
    """
    with patch(
        "custom_components.evse_bridge.export.exporter.KEEPALIVE", timedelta(hours=1)
    ):
        await add_mennekes(hass, mennekes)
        await add_entry(
            hass,
            {"next_step_id": "mqtt_export"},
            {"format": "victron", "broker": choice},
            *broker_steps(choice, broker),
            {"portal_id": PORTAL, "connectors": [f"{SERIAL}/1"]},
            {"topic": "custom/ev-charger", "device_instance": 100},
        )

    def gx_shows_the_charger() -> bool:
        return gx.dbus.get("/Ac/Power") == 3 * 230 * 16

    def gx_dropped_it() -> bool:
        return not gx.running

    await wait_for(gx_shows_the_charger)
    await hass.async_add_executor_job(broker.stop)
    await wait_for(gx_dropped_it)  # the driver timed out meanwhile
    await hass.async_add_executor_job(broker.start)
    await wait_for(gx_shows_the_charger)

    def charger_follows() -> bool:
        return mennekes.remote_current == 10

    await retry(lambda: gx.set_current(10), charger_follows)
