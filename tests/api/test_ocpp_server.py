"""The OCPP central system and the simulated charge point on 127.0.0.1: who gets in.

Admission, charge point ids, subprotocol, Basic authentication, TLS, one
connection per id, and the caps on frames and connections.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import ipaddress
import logging
from pathlib import Path
import ssl

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.exceptions import OCPPError, SecurityError
import pytest

from custom_components.evse_bridge.api.model import ConnectorStatus
from custom_components.evse_bridge.api.ocpp import (
    Admission,
    OcppConnectionError,
    OcppServer,
    valid_charge_point_id,
)
from custom_components.evse_bridge.api.ocpp.server import MAX_CHARGE_POINTS

from .ocpp_helpers import (
    Harness,
    accepted_simulator,
    connector,
    logged,
    ours,
    running_harness,
)

PASSWORD = "correct-horse-battery"  # noqa: S105 - a test password


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow the loopback sockets these end-to-end tests need."""


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """Run a central system on a free port."""
    async with running_harness() as running:
        yield running


# --- Admission ------------------------------------------------------------------------


async def test_pending_until_accepted(harness: Harness) -> None:
    """A new charge point is pending, refused everything, then accepted on request."""
    async with harness.simulator() as sim:
        assert await sim.boot() == "Pending"
        assert sim.boot_interval == harness.server.settings.retry_interval_s
        snapshot = harness.snapshots.latest()
        assert snapshot.admission is Admission.PENDING
        assert snapshot.info is not None
        assert (snapshot.info.manufacturer, snapshot.info.model) == (
            "EVSE Bridge",
            "Simulated CP",
        )
        assert ("CP1", snapshot.info) in harness.decisions.asked
        for action, payload in (
            ("Heartbeat", {}),
            (
                "StatusNotification",
                {"connector_id": 1, "error_code": "NoError", "status": "Available"},
            ),
        ):
            with pytest.raises(OCPPError) as refused:
                await sim.call_unchecked(action, payload)
            assert isinstance(refused.value, SecurityError)
        assert "connector1" not in harness.snapshots.latest().state.parts
        with pytest.raises(OcppConnectionError, match="not accepted"):
            await harness.control().set_current_limit(1, 10)

        await harness.accept(sim)

        assert sim.registration == "Accepted"
        assert sim.boot_interval == harness.server.settings.heartbeat_interval_s
        snapshot = harness.snapshots.latest()
        assert snapshot.admission is Admission.ACCEPTED
        assert connector(snapshot).status is ConnectorStatus.AVAILABLE
        # The set-up asked for the measurands the model shows.
        assert sim.configuration["MeterValuesSampledData"][0].split(",") == list(
            harness.server.settings.measurands
        )


async def test_rejected_charge_point(harness: Harness) -> None:
    """A charge point the user refused gets Rejected and no access."""
    harness.decisions.decided["CP1"] = Admission.REJECTED
    async with harness.simulator() as sim:
        assert await sim.boot() == "Rejected"
        with pytest.raises(OCPPError) as refused:
            await sim.call_unchecked("Heartbeat", {})
        assert isinstance(refused.value, SecurityError)
        assert harness.snapshots.latest().admission is Admission.REJECTED


async def test_accepted_charge_point_reconnects_without_booting(
    harness: Harness,
) -> None:
    """After a network drop the charge point is served again, with its state."""
    async with accepted_simulator(harness) as sim:
        await sim.plug_in()
        await sim.tick(60)
        await harness.settle(sim)
        before = harness.snapshots.latest()
        await sim.disconnect()
        await harness.snapshots.until(lambda snapshot: not snapshot.connected)
        assert harness.snapshots.latest().state == before.state

        await sim.connect()
        await sim.tick(60)
        await harness.settle(sim)

        snapshot = harness.snapshots.latest()
        assert snapshot.connected
        assert snapshot.info == before.info
        assert connector(snapshot).status is ConnectorStatus.CHARGING
        # Asked for its configuration again on the new connection.
        asked = [
            frame
            for frame in sim.frames
            if frame[0] == 2 and frame[2] == "GetConfiguration"
        ]
        assert len(asked) == 2


async def test_second_connection_replaces_the_first(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """One connection per charge point id: the newest wins, logged once."""
    async with accepted_simulator(harness) as first:
        replacements = [harness.simulator() for _ in range(3)]
        try:
            previous = first
            for sim in replacements:
                await sim.connect()
                await sim.heartbeat()
                await previous.wait_disconnected()
                assert not previous.connected
                assert sim.connected
                previous = sim
            assert replacements[-1].connected
            assert len(harness.server._connections) == 1
            await replacements[-1].tick(10)
            await harness.settle(replacements[-1])
            assert harness.snapshots.latest().connected
        finally:
            for sim in replacements:
                await sim.close()
    assert logged(caplog, "the new connection replaces the old one") == 1


async def test_reconnect_loop_grows_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A charge point that reconnects in a loop keeps one record, one connection."""
    async with accepted_simulator(harness) as sim:
        await sim.plug_in()
        for _ in range(25):
            await sim.disconnect()
            await sim.connect()
            await sim.tick(10)
        await harness.settle(sim)
        charge_point = harness.charge_point()
        assert list(harness.server.charge_points) == ["CP1"]
        assert len(harness.server._connections) == 1
        assert len(charge_point.records) == 2  # the station and connector 1
        assert not charge_point._tasks
        assert connector(harness.snapshots.latest()).charging
    assert len(ours(caplog, logging.WARNING)) <= 1


# --- Who may connect ------------------------------------------------------------------


@pytest.mark.parametrize(
    "charge_point_id",
    ["a" * 49, "bad%20id", "CP:1", "%C3%A4ble", "CP%0A1", "CP%1B%5B31m"],
)
async def test_invalid_charge_point_ids_are_refused(
    harness: Harness, charge_point_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An id that is too long or has other characters gets HTTP 400, and no record."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                harness.url(charge_point_id), protocols=("ocpp1.6",)
            )
    assert refused.value.status == 400
    assert not harness.server.charge_points
    messages = [record.getMessage() for record in ours(caplog, logging.INFO)]
    assert logged(caplog, "not a valid charge point id") == 1
    assert not any("\n" in message or "\x1b" in message for message in messages)


def test_valid_charge_point_ids() -> None:
    """OCPP's identifier characters, up to 48 of them, make an id."""
    assert valid_charge_point_id("CP-01_a*=+|@.")
    assert valid_charge_point_id("x" * 48)
    assert not valid_charge_point_id("")


async def test_the_ocpp16_subprotocol_is_required(harness: Harness) -> None:
    """A client offering no ocpp1.6 is closed at once (1002); one that does gets it."""
    for offered in ((), ("ocpp2.0.1",)):
        async with harness.simulator(subprotocols=offered) as sim:
            assert sim._websocket is not None
            assert sim._websocket.protocol is None
            assert await sim.wait_disconnected() == 1002
    assert not harness.server.charge_points
    async with harness.simulator(subprotocols=("ocpp2.0.1", "ocpp1.6")) as sim:
        assert sim._websocket is not None
        assert sim._websocket.protocol == "ocpp1.6"
        assert await sim.boot() == "Pending"


async def test_not_a_websocket(harness: Harness) -> None:
    """A plain HTTP request gets 400."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(harness.url(scheme="http")) as response,
    ):
        assert response.status == 400


async def test_basic_authentication() -> None:
    """With a password for the id, only that password gets in (profile 1)."""
    async with running_harness(
        passwords=lambda charge_point_id: PASSWORD if charge_point_id == "CP1" else None
    ) as harness:
        for password in (None, "wrong-password-here", "", "a:b"):
            sim = harness.simulator(password=password)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await sim.connect()
            await sim.close()
            assert refused.value.status == 401
            assert refused.value.headers is not None
            assert refused.value.headers["WWW-Authenticate"].startswith("Basic")
        async with harness.simulator(password=PASSWORD) as sim:
            assert await sim.boot() == "Pending"
        # Another id has no password: it connects without one.
        async with harness.simulator("CP2") as other:
            assert await other.boot() == "Pending"


async def test_basic_authentication_user_is_the_id() -> None:
    """The user name must be the charge point id itself."""
    async with (
        running_harness(passwords=lambda _: PASSWORD) as harness,
        aiohttp.ClientSession() as session,
    ):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                harness.url(),
                protocols=("ocpp1.6",),
                headers={"Authorization": aiohttp.encode_basic_auth("CP2", PASSWORD)},
            )
        assert refused.value.status == 401
        for header in ("Basic !!!not-base64", "Bearer token", "Basic bm9jb2xvbg=="):
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(
                    harness.url(),
                    protocols=("ocpp1.6",),
                    headers={"Authorization": header},
                )


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a throwaway certificate for 127.0.0.1 and its key; return both paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = folder / "cert.pem", folder / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_path, key_path


async def test_tls(tmp_path: Path) -> None:
    """With the user's certificate the server speaks wss:// only (profile 2)."""
    certificate, key = self_signed_certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(certificate, key)
    client_context = ssl.create_default_context(cafile=str(certificate))
    # asyncio reports a failed TLS handshake on the server (with a traceback)
    # only in debug mode, which Home Assistant's test plugin turns on. (The
    # plain client's failure is reported before the client sees it; a client
    # that distrusts the certificate would race the end of the test.)
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(False)
    try:
        async with running_harness(ssl_context=server_context) as harness:
            sim = harness.simulator(ssl_context=client_context)
            sim.url = harness.url(scheme="wss")
            async with sim:
                assert await sim.boot() == "Pending"
            plain = harness.simulator()
            with pytest.raises(aiohttp.ClientError):
                await plain.connect()
            await plain.close()
    finally:
        loop.set_debug(debug)


# --- Caps -----------------------------------------------------------------------------


async def test_frames_above_the_cap_close_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A frame above the size cap closes the connection (1009), logged once."""
    async with (
        running_harness(max_frame_bytes=2048) as harness,
        accepted_simulator(harness) as sim,
    ):
        for _ in range(2):
            await sim.send_raw("[" + " " * 4096 + "]")
            assert await sim.wait_disconnected() == 1009
            await sim.disconnect()
            await sim.connect()
        await sim.heartbeat()
    assert logged(caplog, "frame above the size limit") == 1


async def test_connections_are_capped() -> None:
    """Beyond the connection cap a charge point gets 503."""
    async with running_harness(max_connections=1) as harness:
        async with harness.simulator("CP1") as first:
            assert await first.boot() == "Pending"
            second = harness.simulator("CP2")
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await second.connect()
            await second.close()
            assert refused.value.status == 503
        assert list(harness.server.charge_points) == ["CP1"]


async def test_unaccepted_charge_points_are_forgotten_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Known charge points are capped; accepted ones are never forgotten."""
    monkeypatch.setattr(
        "custom_components.evse_bridge.api.ocpp.server.MAX_CHARGE_POINTS", 2
    )
    async with (
        running_harness() as harness,
        accepted_simulator(harness, "KEEP") as kept,
    ):
        for name in ("A", "B", "C"):
            async with harness.simulator(name) as sim:
                await sim.boot()
        assert set(harness.server.charge_points) == {"KEEP", "C"}
        async with harness.simulator("D") as busy:
            await busy.boot()
            blocked = harness.simulator("E")
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await blocked.connect()
            await blocked.close()
            assert refused.value.status == 503
        assert kept.connected
    assert MAX_CHARGE_POINTS > 2


async def test_server_arguments() -> None:
    """A path or port that cannot be served is refused before listening."""
    for options in ({"path": "ocpp"}, {"path": "/a b"}, {"port": 70000}):
        with pytest.raises(ValueError, match="must be"):
            OcppServer(admission=lambda *_: Admission.PENDING, store=None, **options)  # type: ignore[arg-type]
    server = OcppServer(
        admission=lambda *_: Admission.PENDING,
        store=None,  # type: ignore[arg-type]
        path="/",
    )
    assert server.path == ""


async def test_root_path_and_unknown_paths() -> None:
    """With an empty path the id is the whole path; anything else is not found."""
    async with running_harness(path="") as harness:
        sim = harness.simulator()
        sim.url = f"ws://127.0.0.1:{harness.server.port}/CP1"
        async with sim:
            assert await sim.boot() == "Pending"
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
                await session.ws_connect(
                    f"ws://127.0.0.1:{harness.server.port}/ocpp/x/CP1",
                    protocols=("ocpp1.6",),
                )
        assert missing.value.status == 404


async def test_port_in_use() -> None:
    """A port in use fails start with OSError, and leaves nothing running."""
    async with running_harness() as harness:
        clash = OcppServer(
            admission=lambda *_: Admission.PENDING,
            store=harness.store,
            host="127.0.0.1",
            port=harness.server.port,
        )
        with pytest.raises(OSError, match="address"):
            await clash.start()
        await clash.stop()


async def test_control_of_unknown_charge_point(harness: Harness) -> None:
    """Commands to an id that never connected fail with the package's error."""
    with pytest.raises(OcppConnectionError, match="never connected"):
        harness.server.control("NOPE")
