"""The central system's websocket server, on aiohttp.

Charge points connect to ``ws://<host>:<port><path>/<charge point id>`` (or
``wss://`` with an SSL context: security profile 2). Before anything else the
id is checked (1-48 characters from OCPP's identifierString set, without the
colon HTTP Basic authentication cannot carry); then the password, if the
integration gives one for the id (security profile 1: user name = id); then
the ``ocpp1.6`` subprotocol, which a client must offer: one that does not is
answered without a subprotocol and closed at once (close code 1002), as OCPP
2.0.1 prescribes (1.6 says nothing).

A charge point has one connection: a second replaces the first. Frames above
``max_frame_bytes`` close the connection (close code 1009); connections and
known charge points are capped, so nothing from the network grows memory
without bound.
"""

import base64
import binascii
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
import hmac
import logging
import re
import ssl
from types import TracebackType
from typing import Final, Self

from aiohttp import hdrs, web

from .charge_point import AdmissionHook, Listener, OcppChargePoint
from .connection import CentralSystemConnection
from .control import OcppControl
from .errors import OcppConnectionError
from .logsafe import OnceLog, clip
from .settings import OcppSettings
from .transactions import TransactionLedger, TransactionStore

__all__ = [
    "DEFAULT_PATH",
    "DEFAULT_PORT",
    "SUBPROTOCOL",
    "OcppServer",
    "PasswordLookup",
    "valid_charge_point_id",
    "valid_path",
]

_LOGGER = logging.getLogger(__package__)

type PasswordLookup = Callable[[str], str | None]
"""Returns the Basic authentication password of a charge point id, or None
when that charge point connects without one."""

DEFAULT_PORT: Final = 9000
"""What chargers and other central systems for Home Assistant use."""
DEFAULT_PATH: Final = "/ocpp"
SUBPROTOCOL: Final = "ocpp1.6"
MAX_FRAME_BYTES: Final = 65536
"""The largest OCPP 1.6 message in practice, a GetConfiguration answer with
every key, stays well below this."""
MAX_CONNECTIONS: Final = 256
"""Open connections: a home has a few charge points, a benchmark 100."""
MAX_CHARGE_POINTS: Final = 512
"""Charge points known (accepted ones are never forgotten); a charge point
nobody accepted is forgotten first when this is reached."""
PING_INTERVAL_S: Final = 30.0
"""Websocket pings find a dead connection; what evcc uses."""
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL_ERROR: Final = 1002
_CHARGE_POINT_ID: Final = re.compile(r"[A-Za-z0-9*\-_=+|@.]{1,48}")
_PATH: Final = re.compile(r"(/[A-Za-z0-9._~\-]+)*")


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """Return user and password of an HTTP Basic Authorization header, if it is one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except binascii.Error, UnicodeDecodeError:
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def valid_charge_point_id(charge_point_id: str) -> bool:
    """Return whether a charge point id may connect."""
    return _CHARGE_POINT_ID.fullmatch(charge_point_id) is not None


def valid_path(path: str) -> bool:
    """Return whether a path prefix can be served: empty, or like /ocpp."""
    return _PATH.fullmatch(path.rstrip("/")) is not None


@dataclass(kw_only=True)
class OcppServer:
    """An OCPP 1.6J central system: serves charge points over websockets."""

    admission: AdmissionHook
    store: TransactionStore
    listener: Listener | None = None
    passwords: PasswordLookup | None = None
    host: str | None = None
    """None listens on every interface (chargers are on the network)."""
    port: int = DEFAULT_PORT
    path: str = DEFAULT_PATH
    ssl_context: ssl.SSLContext | None = None
    settings: OcppSettings = field(default_factory=OcppSettings)
    max_frame_bytes: int = MAX_FRAME_BYTES
    max_connections: int = MAX_CONNECTIONS
    ping_interval_s: float | None = PING_INTERVAL_S

    ledger: TransactionLedger = field(init=False, repr=False)
    _charge_points: dict[str, OcppChargePoint] = field(
        default_factory=dict, init=False, repr=False
    )
    _connections: set[CentralSystemConnection] = field(
        default_factory=set, init=False, repr=False
    )
    _runner: web.AppRunner | None = field(default=None, init=False, repr=False)
    _once: OnceLog = field(
        default_factory=lambda: OnceLog(_LOGGER), init=False, repr=False
    )

    def __post_init__(self) -> None:
        """Refuse a path or port that cannot be served."""
        if not valid_path(self.path):
            msg = f"Path must be empty or like /ocpp, not {self.path!r}"
            raise ValueError(msg)
        self.path = self.path.rstrip("/")
        if not 0 <= self.port <= 0xFFFF:  # noqa: PLR2004 - the highest TCP port
            msg = f"Port must be 0-65535, not {self.port}"
            raise ValueError(msg)
        self.ledger = TransactionLedger(self.store)

    # --- Life cycle ------------------------------------------------------------

    async def start(self) -> None:
        """Load the transactions and listen."""
        await self.ledger.load()
        app = web.Application()
        app.router.add_get(self.path + "/{charge_point_id}", self._serve)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        _LOGGER.info("OCPP central system listening on port %s", self.port)

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for connection in list(self._connections):
            await connection.close(CLOSE_GOING_AWAY, "central system stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start for ``async with``."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    # --- Charge points ---------------------------------------------------------

    @property
    def charge_points(self) -> Mapping[str, OcppChargePoint]:
        """Return the charge points known, by id."""
        return self._charge_points

    def control(self, charge_point_id: str) -> OcppControl:
        """Return the commands of a known charge point."""
        charge_point = self._charge_points.get(charge_point_id)
        if charge_point is None:
            msg = f"Charge point {clip(charge_point_id)} has never connected"
            raise OcppConnectionError(msg)
        return OcppControl(charge_point)

    def _charge_point(self, charge_point_id: str) -> OcppChargePoint | None:
        """Return the charge point of an id, known or new; None when full."""
        known = self._charge_points.get(charge_point_id)
        if known is not None:
            return known
        if len(self._charge_points) >= MAX_CHARGE_POINTS:
            idle = next(
                (
                    key
                    for key, charge_point in self._charge_points.items()
                    if not charge_point.admitted and not charge_point.connected
                ),
                None,
            )
            if idle is None:
                return None
            del self._charge_points[idle]
        charge_point = self._charge_points[charge_point_id] = OcppChargePoint(
            charge_point_id,
            settings=self.settings,
            ledger=self.ledger,
            admission=self.admission,
            listener=self.listener,
        )
        return charge_point

    # --- Connections -----------------------------------------------------------

    def _authorized(self, request: web.Request, charge_point_id: str) -> bool:
        password = None if self.passwords is None else self.passwords(charge_point_id)
        if password is None:
            return True
        given = _basic_credentials(request.headers.get(hdrs.AUTHORIZATION, ""))
        return (
            given is not None
            and given[0] == charge_point_id
            and hmac.compare_digest(given[1].encode(), password.encode())
        )

    def _refuse(self, kind: Hashable, message: str, *args: object) -> None:
        self._once.log(logging.WARNING, kind, "Refused a connection: " + message, *args)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        """Check a connection, then serve it until it closes."""
        charge_point_id = request.match_info["charge_point_id"]
        if not valid_charge_point_id(charge_point_id):
            self._refuse(
                "id", "%s is not a valid charge point id", clip(charge_point_id)
            )
            return web.Response(status=400, text="Invalid charge point id")
        if not self._authorized(request, charge_point_id):
            self._refuse(
                ("auth", charge_point_id),
                "charge point %s gave a wrong or no password",
                clip(charge_point_id),
            )
            return web.Response(
                status=401,
                text="Unauthorized",
                headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="OCPP"'},
            )
        websocket = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,),
            max_msg_size=self.max_frame_bytes,
            heartbeat=self.ping_interval_s,
            compress=False,  # no decompression bombs; OCPP frames are small
        )
        ready = websocket.can_prepare(request)
        if not ready.ok:
            return web.Response(status=400, text="Expected a websocket")
        if ready.protocol != SUBPROTOCOL:
            self._refuse(
                ("subprotocol", charge_point_id),
                "charge point %s did not offer the ocpp1.6 subprotocol",
                clip(charge_point_id),
            )
            refused = web.WebSocketResponse(compress=False)
            await refused.prepare(request)
            await refused.close(code=CLOSE_PROTOCOL_ERROR, message=b"ocpp1.6 required")
            return refused
        charge_point = (
            self._charge_point(charge_point_id)
            if len(self._connections) < self.max_connections
            else None
        )
        if charge_point is None:
            self._refuse("full", "too many charge points connected or known")
            return web.Response(status=503, text="Too many charge points")
        await websocket.prepare(request)
        connection = CentralSystemConnection(charge_point, websocket)
        self._connections.add(connection)
        try:
            await charge_point.attach(connection)
            await connection.serve()
        finally:
            self._connections.discard(connection)
            charge_point.detach(connection)
        return websocket
