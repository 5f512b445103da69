"""Simulated Circontrol CirCarLife wallbox speaking Circutor PowerStudio XML over HTTP.

An independent implementation of ``circontrol-powerstudio.md`` (it does not import the
client): a real aiohttp server with the box's endpoints, XML shapes (values with six
decimals), ``Server: CirCarLife Scada`` banner, ``%20``-only device names, 204 on
forced variables, optional HTTP Basic auth, a state machine on a simulated clock, and
switchable faults. Plug 1 uses the captured names (``EVSE.PLUG``, ``Plug - Mode 3``,
``Plug - Meter``); further plugs use ``EVSE.PLUG<n>``, ``Plug <n> - Mode 3`` and
``Plug <n> - Meter``, which are inferred.

Run it standalone::

    python -m simulators.circontrol --port 8080 --plugs 1 --plugged-in
"""

import argparse
import asyncio
import base64
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
import contextlib
from dataclasses import dataclass, field, fields
import hmac
import html
import math
import re
from types import TracebackType
from typing import Final, Self
from urllib.parse import unquote
import uuid
from xml.sax.saxutils import escape

from aiohttp import web

__all__ = [
    "CircontrolSimulator",
    "SimulatedFaults",
    "SimulatedPlug",
    "main",
    "parse_args",
    "run",
]

# Plug states (table 5.1), kept here so the simulator does not depend on the client.
NO_INIT: Final = -100
DISABLED: Final = -2
ERROR: Final = -1
AVAILABLE: Final = 0
WAITING_ALLOWED_CHARGE: Final = 3
WAITING_POWER: Final = 5
CHARGING: Final = 8
PAUSED: Final = 10
WAITING_VEHICLE_DISCONNECTION: Final = 12
_SESSION_STATES: Final = frozenset({WAITING_POWER, CHARGING, PAUSED})

# Stop reasons (table 5.3).
STOP_NONE: Final = 0
STOP_DISCONNECT: Final = 4
STOP_REMOTE: Final = 5
STOP_DISABLED: Final = 7
STOP_ERROR: Final = 8

MIN_CURRENT_A: Final = 6
MAIN_DEVICE: Final = "47D21F22-D016-44CB-A373-9578B8CE7349"
"""The captured unit's main device GUID, also the first half of each plug id."""
SYSTEM_ID: Final = "1D21F370-1C58-11EC-1C58-11EC8DCB713F"
DEVICE_ID: Final = "56EA2BFF-EEE9-40D8-B208-25A3A86531FE"
SERVER_BANNER: Final = "CirCarLife Scada"
START_TIME: Final = 1_700_000_000.0
"""Simulated clock at start (Unix seconds)."""

_FORCE_VAR = re.compile(
    r"<forceVar>\s*<forceName>(.*?)</forceName>\s*<forceValue>(.*?)</forceValue>\s*"
    r"</forceVar>",
    re.DOTALL | re.IGNORECASE,
)
_CLOSING_TAG = re.compile(rb"</([a-z])")
_ENTITY_BOMB: Final = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n'
        % (level, (b"&lol%d;" % (level - 1) if level > 1 else b"&lol;") * 10)
        for level in range(1, 10)
    )
    + b"]>\n<chargesInfo>&lol9;</chargesInfo>\n"
)
"""A "billion laughs" document: ~3 GB once expanded."""

_HTTP_NO_CONTENT: Final = 204
_HTTP_UNAUTHORIZED: Final = 401


def _value(number: float) -> str:
    """Format a value the PowerStudio way: six decimals (``nan`` stays ``nan``)."""
    return f"{number:.6f}"


@dataclass
class SimulatedFaults:
    """Faults to switch on; each applies to every request until it is cleared."""

    status: int | None = None
    """Answer every request with this HTTP status (e.g. 401, 403, 404, 500)."""
    timeout: bool = False
    """Never answer (until cleared or the server stops)."""
    delay: float = 0.0
    """Answer after this many seconds."""
    invalid_xml: bool = False
    """Serve truncated, malformed XML."""
    mismatched_case_tags: bool = False
    """Close tags in a different case (``</ChargeInfo>``), like a published sample."""
    nan_values: bool = False
    """Report meter values (power, current, voltage, energies) as ``nan``."""
    refuse_commands: bool = False
    """Answer 204 to forced variables but do not apply them."""
    refuse_remote_start: bool = False
    """Ignore ``REMOTE_START``, as a box that wants a tag or an OCPP start might."""
    entity_bomb: bool = False
    """Serve an entity-expansion bomb to every GET."""
    missing_information: bool = False
    """Answer 404 to ``system/information.xml``, as some firmware does."""

    def clear(self) -> None:
        """Switch every fault off."""
        for item in fields(self):
            setattr(self, item.name, item.default)


@dataclass
class SimulatedPlug:
    """State of one simulated plug."""

    number: int
    supported_current: int = 32
    state: int = AVAILABLE
    previous_state: int = AVAILABLE
    state_date: float = START_TIME
    vehicle_connected: bool = False
    out_of_service: bool = False
    enable: bool = True
    current_reduction: float = 32.0
    intensity: float = 32.0
    power_reduction: float = 0.0
    error: int = 0
    lifetime_wh: float = 4_855_390.0
    session_wh: float = 0.0
    charge_id: str = field(default_factory=lambda: str(uuid.uuid4()).upper())
    request_date: float = -1.0
    begin_date: float = -1.0
    end_date: float = -1.0
    charge_time: float = -1.0
    stopped: int = STOP_NONE
    total_charge_time: float = 0.0
    user: str = "00FFFFFFFF"

    @property
    def name(self) -> str:
        """Variable prefix on the EVSE device."""
        return "EVSE.PLUG" if self.number == 1 else f"EVSE.PLUG{self.number}"

    @property
    def mode3(self) -> str:
        """Name of the plug's Mode 3 device."""
        return "Plug - Mode 3" if self.number == 1 else f"Plug {self.number} - Mode 3"

    @property
    def meter(self) -> str:
        """Name of the plug's meter device."""
        return "Plug - Meter" if self.number == 1 else f"Plug {self.number} - Meter"

    @property
    def id(self) -> str:
        """Plug id: main device GUID, a dot, the plug GUID."""
        plug_guid = uuid.uuid5(uuid.NAMESPACE_OID, f"circontrol-plug-{self.number}")
        return f"{MAIN_DEVICE}.{str(plug_guid).upper()}"

    @property
    def disabled(self) -> bool:
        """Whether the plug is out of service or not enabled."""
        return self.out_of_service or not self.enable


class CircontrolSimulator:
    """A simulated CirCarLife wallbox on a real HTTP server.

    The clock only moves with :meth:`advance` (or the background tick of
    :meth:`start_ticking`). ``requests`` counts requests per path and ``request_log``
    keeps each request line's method and raw path, so tests can check encoding.
    """

    def __init__(  # noqa: PLR0913 - every option is a keyword
        self,
        *,
        plugs: int = 1,
        phases: int = 1,
        voltage: float = 230.0,
        supported_current: int = 32,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        plugged_in: bool = False,
        serial_number: str | None = None,
        version: str = "4.2.3",
    ) -> None:
        """Set the simulated box up; call :meth:`start` to serve it."""
        if phases not in {1, 3}:
            msg = "phases must be 1 or 3"
            raise ValueError(msg)
        self.phases = phases
        self.voltage = voltage
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.serial_number = serial_number
        self.version = version
        self.now = START_TIME
        self.plugs = [
            SimulatedPlug(number=number, supported_current=supported_current)
            for number in range(1, plugs + 1)
        ]
        self.faults = SimulatedFaults()
        self.requests: Counter[str] = Counter()
        self.request_log: list[str] = []
        self._runner: web.AppRunner | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._closing = False
        if plugged_in:
            for plug in self.plugs:
                self.plug_in(plug.number)

    # Lifecycle

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Start serving; ``port`` holds the bound port afterwards."""
        app = web.Application(middlewares=[self._middleware])
        app.on_response_prepare.append(self._banner)
        get = {
            "/services/user/devices.xml": self._devices,
            "/services/chargePointsInterface/devices.xml": self._devices,
            "/services/chargePointsInterface/deviceInfo.xml": self._device_info,
            "/services/user/deviceInfo.xml": self._device_info,
            "/services/chargePointsInterface/plugInfo.xml": self._plug_info,
            "/services/chargePointsInterface/plugState.xml": self._plug_state,
            "/services/chargePointsInterface/chargeInfo.xml": self._charge_info,
            "/services/chargePointsInterface/chargeState.xml": self._charge_state,
            "/services/user/values.xml": self._values,
            "/services/devices/deviceState.xml": self._device_state,
            "/services/system/status.xml": self._status,
            "/services/system/information.xml": self._information,
        }
        for path, handler in get.items():
            app.router.add_get(path, handler)
        app.router.add_put("/services/user/forceVariables.xml", self._force_variables)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start_ticking(self, interval: float = 1.0) -> None:
        """Advance the clock by ``interval`` every ``interval`` real seconds."""

        async def tick() -> None:
            while True:
                await asyncio.sleep(interval)
                self.advance(interval)

        self._tick_task = asyncio.create_task(tick())

    async def close(self) -> None:
        """Stop ticking and serving."""
        self._closing = True
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start serving in ``async with``."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        await self.close()

    # Physical world

    def plug(self, number: int = 1) -> SimulatedPlug:
        """Return a plug by number."""
        return self.plugs[number - 1]

    def power_w(self, plug: SimulatedPlug) -> float:
        """Power drawn now: 230 V x min(limit, supported) x phases while charging."""
        return self.voltage * self.current_a(plug) * self.phases

    def current_a(self, plug: SimulatedPlug) -> float:
        """Return the current per phase drawn now."""
        if plug.state != CHARGING:
            return 0.0
        return min(plug.current_reduction, plug.supported_current)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock on; charging plugs count energy and time."""
        if seconds < 0:
            msg = "The clock cannot go back"
            raise ValueError(msg)
        for plug in self.plugs:
            if plug.state == CHARGING:
                energy = self.power_w(plug) * seconds / 3600
                plug.lifetime_wh += energy
                plug.session_wh += energy
                plug.charge_time += seconds
                plug.total_charge_time += seconds
        self.now += seconds

    def plug_in(self, number: int = 1) -> None:
        """Connect a vehicle."""
        plug = self.plug(number)
        plug.vehicle_connected = True
        if plug.state == AVAILABLE:
            self._set_state(plug, WAITING_ALLOWED_CHARGE)

    def unplug(self, number: int = 1) -> None:
        """Disconnect the vehicle, ending any session."""
        plug = self.plug(number)
        plug.vehicle_connected = False
        self._end_session(plug, STOP_DISCONNECT)
        if plug.state not in {DISABLED, ERROR}:
            self._set_state(plug, AVAILABLE)

    def set_error(self, number: int, error: int) -> None:
        """Raise (non-zero bitmask) or clear (0) a plug error."""
        plug = self.plug(number)
        plug.error = error
        if error:
            self._end_session(plug, STOP_ERROR)
            self._set_state(plug, ERROR)
        elif plug.state == ERROR:
            self._set_state(plug, self._idle_state(plug))

    def _set_state(self, plug: SimulatedPlug, state: int) -> None:
        """Change a plug's state, remembering the previous one."""
        if state != plug.state:
            plug.previous_state = plug.state
            plug.state = state
            plug.state_date = self.now

    def _idle_state(self, plug: SimulatedPlug) -> int:
        """State of a plug without a session."""
        if plug.disabled:
            return DISABLED
        return WAITING_ALLOWED_CHARGE if plug.vehicle_connected else AVAILABLE

    def _end_session(self, plug: SimulatedPlug, reason: int) -> None:
        """Close a running session."""
        if plug.state in _SESSION_STATES:
            plug.end_date = self.now
            plug.stopped = reason

    def _charging_state(self, plug: SimulatedPlug) -> int:
        """Charging, or waiting for power when the limit is below 6 A."""
        return CHARGING if plug.current_reduction >= MIN_CURRENT_A else WAITING_POWER

    def _remote_start(self, plug: SimulatedPlug) -> None:
        """Start or resume a charge if a vehicle is connected and the plug enabled."""
        if not plug.vehicle_connected or plug.disabled:
            return
        if plug.state in {WAITING_ALLOWED_CHARGE, WAITING_VEHICLE_DISCONNECTION}:
            plug.charge_id = str(uuid.uuid4()).upper()
            plug.request_date = plug.begin_date = self.now
            plug.end_date = -1.0
            plug.session_wh = 0.0
            plug.charge_time = 0.0
            plug.stopped = STOP_NONE
            self._set_state(plug, self._charging_state(plug))
        elif plug.state == PAUSED:
            self._set_state(plug, self._charging_state(plug))

    def _remote_stop(self, plug: SimulatedPlug) -> None:
        """Stop a running charge; the vehicle stays connected."""
        if plug.state in _SESSION_STATES:
            self._end_session(plug, STOP_REMOTE)
            self._set_state(plug, WAITING_VEHICLE_DISCONNECTION)

    def _update_enabled(self, plug: SimulatedPlug) -> None:
        """Apply OUT_OF_SERVICE / ENABLE."""
        if plug.disabled and plug.state != DISABLED:
            self._end_session(plug, STOP_DISABLED)
            self._set_state(plug, DISABLED)
        elif not plug.disabled and plug.state == DISABLED:
            self._set_state(plug, self._idle_state(plug))

    def _update_current(self, plug: SimulatedPlug, amps: float) -> None:
        """Apply a new current limit; below 6 A the charge waits for power."""
        plug.current_reduction = amps
        if plug.state in {CHARGING, WAITING_POWER}:
            self._set_state(plug, self._charging_state(plug))

    # Variables

    def _meter(self, number: float) -> float:
        """Return a meter value, or nan when that fault is on."""
        return math.nan if self.faults.nan_values else number

    def _device_variables(self) -> dict[str, dict[str, float | str]]:
        """Every device with its variables and current values."""
        evse: dict[str, float | str] = {
            "EVSE.STATUS": 1.0,
            "EVSE.ERROR": 0.0,
            "EVSE.TAG_EX": "-",
        }
        devices: dict[str, dict[str, float | str]] = {
            "CCL1Mini": {"CCL1Mini.STATUS": 1.0},
            "Display": {"Display.STATUS": 1.0, "Display.TEXT": ""},
            "Reader": {"Reader.STATUS": 1.0, "Reader.TAG": 0.0},
            "EVSE": evse,
        }
        for plug in self.plugs:
            power = self.power_w(plug)
            current = self.current_a(plug)
            prefix = plug.name
            evse |= {
                f"{prefix}.STATE": float(plug.state),
                f"{prefix}.ERROR": float(plug.error),
                f"{prefix}.AE": self._meter(plug.lifetime_wh / 1000),
                f"{prefix}.AEP": self._meter(plug.session_wh / 1000),
                f"{prefix}.API": self._meter(power),
                f"{prefix}.AI": self._meter(current),
                f"{prefix}.VI": self._meter(self.voltage),
                f"{prefix}.CC": float(plug.vehicle_connected),
                f"{prefix}.STOPPED": float(plug.stopped),
                f"{prefix}.CHARGE": float(plug.state == CHARGING),
                f"{prefix}.TOTAL_CHARGE_TIME": plug.total_charge_time,
                f"{prefix}.ENABLE": float(plug.enable),
                f"{prefix}.REMOTE_STOP": 0.0,
                f"{prefix}.REMOTE_START": 0.0,
                f"{prefix}.REMOTE_PAUSE": 0.0,
                f"{prefix}.CURRENT_REDUCTION": plug.current_reduction,
                f"{prefix}.TIME": "-",
            }
            devices[plug.mode3] = {
                f"{plug.mode3}.STATE": float(NO_INIT),
                f"{plug.mode3}.EV_CONNECTED": float(plug.vehicle_connected),
                f"{plug.mode3}.RCCC": float(plug.supported_current),
                f"{plug.mode3}.INTENSITY": plug.intensity,
                f"{plug.mode3}.PREDUCTION": plug.power_reduction,
                f"{plug.mode3}.OUT_OF_SERVICE": float(plug.out_of_service),
            }
            devices[plug.meter] = {
                f"{plug.meter}.VI": self._meter(self.voltage),
                f"{plug.meter}.AI": self._meter(current),
                f"{plug.meter}.API": self._meter(power),
                f"{plug.meter}.AE": self._meter(plug.lifetime_wh / 1000),
            }
        return devices

    def _force(self, name: str, value: float) -> None:
        """Apply one forced variable; unknown or read-only variables are ignored."""
        for plug in self.plugs:
            if name == f"{plug.mode3}.OUT_OF_SERVICE":
                plug.out_of_service = value != 0
                self._update_enabled(plug)
            elif name == f"{plug.mode3}.INTENSITY":
                plug.intensity = value
            elif name == f"{plug.mode3}.PREDUCTION":
                plug.power_reduction = value
            elif name.startswith(f"{plug.name}."):
                self._force_evse(plug, name.removeprefix(f"{plug.name}."), value)

    def _force_evse(self, plug: SimulatedPlug, variable: str, value: float) -> None:
        """Apply a forced variable of a plug on the EVSE device."""
        match variable:
            case "ENABLE":
                plug.enable = value != 0
                self._update_enabled(plug)
            case "CURRENT_REDUCTION":
                self._update_current(plug, value)
            case "REMOTE_START" if value and not self.faults.refuse_remote_start:
                self._remote_start(plug)
            case "REMOTE_STOP" if value:
                self._remote_stop(plug)
            case "REMOTE_PAUSE" if value and plug.state == CHARGING:
                self._set_state(plug, PAUSED)
            case _:
                pass

    # HTTP plumbing

    @staticmethod
    async def _banner(_request: web.Request, response: web.StreamResponse) -> None:
        """Add the box's Server banner to every response."""
        response.headers["Server"] = SERVER_BANNER

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Count, authenticate, inject faults, then serve."""
        self.requests[request.path] += 1
        self.request_log.append(f"{request.method} {request.raw_path}")
        faults = self.faults
        # Polled rather than an Event so a test can just flip the attribute.
        while faults.timeout and not self._closing:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if faults.delay:
            await asyncio.sleep(faults.delay)
        if faults.status is not None:
            return web.Response(status=faults.status, text=f"Error {faults.status}")
        if not self._authorised(request):
            return web.Response(
                status=_HTTP_UNAUTHORIZED,
                headers={"WWW-Authenticate": 'Basic realm="CirCarLife"'},
            )
        if faults.entity_bomb and request.method == "GET":
            return self._xml(_ENTITY_BOMB)
        response = await handler(request)
        if (
            isinstance(response, web.Response)
            and response.body
            and (faults.invalid_xml or faults.mismatched_case_tags)
        ):
            body = bytes(response.body)  # type: ignore[arg-type]  # always bytes here
            if faults.mismatched_case_tags:
                body = _CLOSING_TAG.sub(lambda m: b"</" + m[1].upper(), body)
            if faults.invalid_xml:
                body = body[: len(body) // 2] + b"<</"
            response.body = body
        return response

    def _authorised(self, request: web.Request) -> bool:
        """Check HTTP Basic credentials, when the box has some configured."""
        if self.username is None:
            return True
        expected = "Basic " + base64.b64encode(
            f"{self.username}:{self.password or ''}".encode()
        ).decode("ascii")
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    @staticmethod
    def _query(request: web.Request, key: str) -> list[str]:
        """Values of a query parameter, decoded like the box does.

        Only ``%XX`` escapes are decoded; a ``+`` stays a plus sign, so a device name
        encoded with ``+`` addresses no device, as on the real box.
        """
        values = []
        for item in request.rel_url.raw_query_string.split("&"):
            name, _, value = item.partition("=")
            if unquote(name) == key:
                values.append(unquote(value))
        return values

    @staticmethod
    def _xml(body: bytes | str) -> web.Response:
        """Return an XML response."""
        if isinstance(body, str):
            body = body.encode()
        return web.Response(body=body, content_type="text/xml", charset="UTF-8")

    @staticmethod
    def _document(root: str, inner: str) -> web.Response:
        """Return a PowerStudio XML document."""
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        if not inner:
            return CircontrolSimulator._xml(f"{head}<{root}/>\n")
        return CircontrolSimulator._xml(f"{head}<{root}>{inner}</{root}>\n")

    # Endpoints

    async def _devices(self, _request: web.Request) -> web.Response:
        """``devices.xml``: the device names."""
        inner = "".join(f"<id>{escape(name)}</id>" for name in self._device_variables())
        return self._document("devices", inner)

    async def _device_info(self, request: web.Request) -> web.Response:
        """``deviceInfo.xml?id=DEV``: device type and variable names."""
        devices = self._device_variables()
        types = {"EVSE": ("CCL1ENGINE", "CCL1 Engine")}
        inner = ""
        for name in self._query(request, "id"):
            if name not in devices:
                continue
            kind, description = types.get(name, ("MODO3", "M3CD"))
            serial = (
                f"<serialNumber>{escape(self.serial_number)}</serialNumber>"
                if name == "EVSE" and self.serial_number
                else ""
            )
            variables = "".join(
                f"<var>{escape(v)}</var>" for v in sorted(devices[name])
            )
            inner += (
                f"<deviceInfo><id>{escape(name)}</id><type>{kind}</type>"
                f"<typeDescription>{description}</typeDescription>{serial}{variables}"
                "</deviceInfo>"
            )
        return self._document("devicesInfo", inner)

    async def _plug_info(self, _request: web.Request) -> web.Response:
        """``plugInfo.xml``: static plug data."""
        inner = "".join(
            f"<plugInfo><id>{plug.id}</id><name>{plug.name}</name>"
            f"<number>{plug.number}</number><chargeMode>3</chargeMode>"
            "<connectorType>unknown</connectorType>"
            f"<supportedCurrent>{plug.supported_current}</supportedCurrent>"
            f"<EVCommDevice>{plug.mode3}</EVCommDevice><hasCover>F</hasCover>"
            f"<hasLock>T</hasLock><meter>{plug.meter}</meter></plugInfo>"
            for plug in self.plugs
        )
        return self._document("plugsInfo", inner)

    async def _plug_state(self, _request: web.Request) -> web.Response:
        """``plugState.xml``: live plug state."""
        inner = "".join(
            f"<plugState><id>{plug.id}</id><name>{plug.name}</name>"
            f"<number>{plug.number}</number><state>{plug.state}</state>"
            f"<previousState>{plug.previous_state}</previousState>"
            f"<stateDate>{_value(plug.state_date)}</stateDate>"
            f"<error>{plug.error}</error>"
            f"<vehicleConnected>{'T' if plug.vehicle_connected else 'F'}"
            "</vehicleConnected>"
            f"<locked>{'T' if plug.state == CHARGING else 'F'}</locked></plugState>"
            for plug in self.plugs
        )
        return self._document("plugsState", inner)

    async def _charge_info(self, _request: web.Request) -> web.Response:
        """``chargeInfo.xml``: current or last charge per plug (energies in Wh)."""
        inner = "".join(
            f"<chargeInfo><id>{plug.id}</id><name>{plug.name}</name>"
            f"<number>{plug.number}</number><chargeId>{plug.charge_id}</chargeId>"
            f"<state>{plug.state}</state><user>{plug.user}</user>"
            f"<activeEnergy>{_value(self._meter(plug.lifetime_wh))}</activeEnergy>"
            "<partialActiveEnergy>"
            f"{_value(self._meter(plug.session_wh))}</partialActiveEnergy>"
            f"<requestDate>{_value(plug.request_date)}</requestDate>"
            f"<beginDate>{_value(plug.begin_date)}</beginDate>"
            f"<endDate>{_value(plug.end_date)}</endDate>"
            f"<chargeTime>{int(plug.charge_time)}</chargeTime>"
            f"<stopped>{plug.stopped}</stopped></chargeInfo>"
            for plug in self.plugs
        )
        return self._document("chargesInfo", inner)

    async def _charge_state(self, _request: web.Request) -> web.Response:
        """``chargeState.xml``: short session state."""
        inner = "".join(
            f"<chargeState><id>{plug.id}</id><name>{plug.name}</name>"
            f"<number>{plug.number}</number><chargeId>{plug.charge_id}</chargeId>"
            f"<state>{plug.state}</state><chargingPhases>"
            f"{self.phases if plug.state == CHARGING else 0}</chargingPhases>"
            "</chargeState>"
            for plug in self.plugs
        )
        return self._document("chargesState", inner)

    async def _values(self, request: web.Request) -> web.Response:
        """``values.xml?var=DEV.VAR&...`` or ``?id=DEV``: numeric variable values."""
        devices = self._device_variables()
        everything = {k: v for device in devices.values() for k, v in device.items()}
        names = self._query(request, "var")
        for device in self._query(request, "id"):
            names.extend(devices.get(device, {}))
        inner = "".join(
            f"<variable><id>{escape(name)}</id><value>{_value(value)}</value></variable>"
            for name in names
            if isinstance(value := everything.get(name), float)
        )
        return self._document("values", inner)

    async def _device_state(self, request: web.Request) -> web.Response:
        """``deviceState.xml?id=DEV``: every variable of one device."""
        devices = self._device_variables()
        names = self._query(request, "id")
        if not names or names[0] not in devices:
            return self._document("deviceState", "")
        device = names[0]
        inner = f"<id>{SYSTEM_ID}</id><device>{escape(device)}</device>"
        for name, value in devices[device].items():
            text = (
                f"<textValue><value>{_value(value)}</value></textValue>"
                if isinstance(value, float)
                else f"<textStr>{escape(value)}</textStr>"
            )
            inner += f"<variable><id>{escape(name)}</id><text>{text}</text></variable>"
        return self._document("deviceState", inner)

    async def _status(self, _request: web.Request) -> web.Response:
        """``system/status.xml``."""
        return self._document(
            "systemStatus",
            f"<deviceStatus>1</deviceStatus><systemId>{SYSTEM_ID}</systemId>"
            f"<deviceId>{DEVICE_ID}</deviceId><activeEvents>0</activeEvents>",
        )

    async def _information(self, _request: web.Request) -> web.Response:
        """``system/information.xml`` (without the device type icons)."""
        if self.faults.missing_information:
            return web.Response(status=404, text="Not found")
        return self._document(
            "systemInformation",
            f"<name>{SERVER_BANNER}</name><version>{escape(self.version)}</version>"
            "<company>Circontrol</company><splash><version><x>14</x><y>69</y>"
            "<color>4A4236</color></version></splash>"
            f"<mainDevice>{MAIN_DEVICE}</mainDevice><type>8</type>"
            "<olsonTimeZone>UTC</olsonTimeZone>",
        )

    async def _force_variables(self, request: web.Request) -> web.Response:
        """``PUT forceVariables.xml?id=DEV``: force variables of that device; 204.

        Variables of other devices are ignored [V]; so is an unknown device (what the
        real box answers for one is unknown, so the simulator answers 204 and changes
        nothing, which a client catches only by reading back).
        """
        body = await request.text()
        forced = _FORCE_VAR.findall(body)
        if not forced:
            return web.Response(status=400, text="Invalid forceVariables document")
        ids = self._query(request, "id")
        devices = self._device_variables()
        if not self.faults.refuse_commands and ids and ids[0] in devices:
            for raw_name, raw_value in forced:
                name = html.unescape(raw_name.strip())
                if name not in devices[ids[0]]:
                    continue
                try:
                    value = float(raw_value)
                except ValueError:
                    continue
                self._force(name, value)
        return web.Response(status=_HTTP_NO_CONTENT)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.circontrol",
        description="Simulated Circontrol CirCarLife wallbox (PowerStudio XML/HTTP).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (0: any)")
    parser.add_argument("--plugs", type=int, choices=(0, 1, 2), default=1)
    parser.add_argument("--phases", type=int, choices=(1, 3), default=1)
    parser.add_argument("--user", help="require HTTP Basic auth with this user")
    parser.add_argument("--password", help="password for --user")
    parser.add_argument(
        "--plugged-in", action="store_true", help="start with a vehicle connected"
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, ready: asyncio.Event | None = None) -> None:
    """Serve a simulator with a 1 s background tick until cancelled."""
    simulator = CircontrolSimulator(
        plugs=args.plugs,
        phases=args.phases,
        username=args.user,
        password=args.password,
        host=args.host,
        port=args.port,
        plugged_in=args.plugged_in,
    )
    async with simulator:
        simulator.start_ticking(1.0)
        print(f"Circontrol simulator on {simulator.url} (Ctrl-C to stop)")
        (ready or asyncio.Event()).set()
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator from the command line until Ctrl-C."""
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
