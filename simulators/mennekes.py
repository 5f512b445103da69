"""A simulated Mennekes AMTRON Xtra/Premium speaking MHCP (JSON over HTTP).

An independent implementation of the MHCP protocol notes (mennekes-mhcp.md):
it shares no code with the client, so a misreading of the protocol on one side
shows up as a failing test. It serves ``GET``/``POST`` ``/MHCP/1.0/DevInfo``
and ``/MHCP/1.0/ChargeData`` with the documented field names, types and status
codes, runs a small charging state machine on a simulated clock and can be
told to misbehave (``sim.faults``).

Behaviour the documentation does not state, chosen here and marked [I] in the
protocol notes: a RemoteCurr below 6 A or above the box limit is accepted with
HTTP 200 and ignored; Start without a vehicle waits in ``StandbyConnect``;
outside Remote mode the box offers its full current.

Run standalone: ``python -m simulators.mennekes --port 25000 --dev-key 1234``.
"""

import argparse
import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
import contextlib
from dataclasses import dataclass, field
import json
import math
from types import TracebackType
from typing import Final, Self

from aiohttp import web

BASE_PATH: Final = "/MHCP/1.0"
DEFAULT_PORT: Final = 25000
VOLTAGE_V: Final = 230.0
MIN_REMOTE_CURRENT_A: Final = 6
START_UID: Final = "00000000"
"""The only Uid with which ``ChgState: Start`` works."""

IDLE: Final = "Idle"
STANDBY_AUTHORIZE: Final = "StandbyAuthorize"
STANDBY_CONNECT: Final = "StandbyConnect"
CHARGING: Final = "Charging"
PAUSED: Final = "Paused"
TERMINATED: Final = "Terminated"
ERROR: Final = "Error"

DEV_MODES: Final = frozenset({"Remote", "HomeManager", "Time"})
CHARGE_COMMANDS: Final = frozenset({"Start", "Pause", "Continue", "Terminate"})
# (key, accepted JSON types) of POST /DevInfo; LocTime is documented as a string.
_DEV_INFO_KEYS: Final[tuple[tuple[str, tuple[type, ...]], ...]] = (
    ("DevName", (str,)),
    ("LocTime", (str, int)),
    ("Summer", (bool,)),
    ("Tz", (int,)),
    ("FixedVehCosts", (int, float)),
    ("OldVehCosts", (int, float)),
    ("Battery", (int, float)),
    ("DevMode", (str,)),
)


class BadRequestError(Exception):
    """A request body the box would answer with HTTP 400."""


@dataclass
class MennekesFaults:
    """Switchable misbehaviour; the defaults are a healthy box."""

    status: int | None = None
    """Answer every request with this HTTP status and an empty body."""
    timeout: bool = False
    """Never answer (until the fault is cleared or the simulator stops)."""
    delay: float = 0.0
    """Answer this many seconds late."""
    malformed: bool = False
    """Send truncated JSON on reads."""
    refuse_commands: bool = False
    """Answer 200 to writes but do not apply them."""
    missing_fields: set[str] = field(default_factory=set)
    """Leave these keys out of every read."""
    unknown_state: str | None = None
    """Report this string as ``ChgState``."""

    def clear(self) -> None:
        """Make the box healthy again."""
        self.status = None
        self.timeout = False
        self.delay = 0.0
        self.malformed = False
        self.refuse_commands = False
        self.missing_fields = set()
        self.unknown_state = None


def _optional(body: dict[str, object], key: str, types: tuple[type, ...]) -> object:
    """Return a body value that is null or of the given JSON types, else 400."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in types:
        msg = f"{key} has the wrong type"
        raise BadRequestError(msg)
    if not isinstance(value, types):
        msg = f"{key} has the wrong type"
        raise BadRequestError(msg)
    return value


class MennekesSimulator:
    """One simulated AMTRON box with an HTTP server and a simulated clock."""

    def __init__(  # noqa: PLR0913 - every argument is a documented box property
        self,
        *,
        dev_key: str = "1234",
        host: str = "127.0.0.1",
        port: int = 0,
        serial_number: int = 1234567890,
        item_number: str = "1344201",
        phases: int = 3,
        box_max_current: int = 16,
        car_max_current: int = 16,
        auto_start: bool = True,
        dev_mode: str = "Remote",
        clock: float = 1_703_263_828.0,
    ) -> None:
        """Configure the box; call :meth:`start` to serve it."""
        self.dev_key = dev_key
        self.host = host
        self._requested_port = port
        self.serial_number = serial_number
        self.item_number = item_number
        self.dev_name = "Wall-e"
        self.phases = phases
        self.box_max_current = box_max_current
        self.car_max_current = car_max_current
        self.clock = clock
        self.battery_wh = 5000
        self.tz_minutes = 60
        self.summer = False
        self.fixed_vehicle_costs = 0
        self.old_vehicle_costs = 0
        # Settings: the live value and the value persisted ("Permanent").
        self.auto_start = auto_start
        self.dev_mode = dev_mode
        self.remote_current = 0
        self._persisted: dict[str, object] = {"AutoChg": auto_start, "RemoteCurr": 0}
        # Session.
        self.chg_state = IDLE
        self.plugged_in = False
        self.error_code = 0
        self.session_energy_wh = 0.0
        self.session_duration_s = 0.0
        # Observation for tests.
        self.faults = MennekesFaults()
        self.requests: Counter[str] = Counter()
        """Requests per ``"<METHOD> <endpoint>"``, such as ``"GET ChargeData"``."""
        self.posted: list[tuple[str, dict[str, object]]] = []
        """Every accepted POST body, with its endpoint."""
        self.in_flight = 0
        self.max_in_flight = 0
        """Most requests ever handled at once; 1 for a well-behaved client."""
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._release = asyncio.Event()

    # --- Server --------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (known once started)."""
        if self._port is None:
            msg = "The simulator is not running"
            raise RuntimeError(msg)
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port/MHCP/1.0``."""
        return f"http://{self.host}:{self.port}{BASE_PATH}"

    def make_app(self) -> web.Application:
        """Return the aiohttp application serving the MHCP endpoints."""
        app = web.Application()
        for endpoint in ("DevInfo", "ChargeData"):
            handler = self._handler(endpoint)
            app.router.add_get(f"{BASE_PATH}/{endpoint}", handler)
            app.router.add_post(f"{BASE_PATH}/{endpoint}", handler)
        return app

    async def start(self) -> None:
        """Start serving HTTP."""
        self._release = asyncio.Event()
        runner = web.AppRunner(
            self.make_app(),
            handler_cancellation=True,
            shutdown_timeout=0.5,
            access_log=None,  # a line per poll says nothing; it fails on a frozen clock
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        server = site._server  # noqa: SLF001 - aiohttp exposes no bound port
        assert isinstance(server, asyncio.Server)  # noqa: S101 - TCPSite's server
        self._port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop ticking and serving; release requests held by a timeout fault."""
        self.stop_ticking()
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tick_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None

    async def __aenter__(self) -> Self:
        """Start serving for ``async with``."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving."""
        await self.stop()

    def start_ticking(self, interval: float = 1.0) -> None:
        """Advance the clock in real time, every ``interval`` seconds."""
        if self._tick_task is None:
            self._tick_task = asyncio.create_task(self._tick(interval))

    def stop_ticking(self) -> None:
        """Stop advancing the clock in real time."""
        if self._tick_task is not None:
            self._tick_task.cancel()

    async def _tick(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            self.advance(now - last)
            last = now

    def _handler(
        self, endpoint: str
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests[f"{request.method} {endpoint}"] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                return await self._answer(request, endpoint)
            finally:
                self.in_flight -= 1

        return handle

    async def _answer(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        faults = self.faults
        if faults.timeout:
            await self._hold()
            return web.Response(status=503)
        if faults.delay:
            await asyncio.sleep(faults.delay)
        if faults.status is not None:
            return web.Response(status=faults.status)
        is_get = request.method == "GET"
        if request.query.get("DevKey") != self.dev_key:
            return web.Response(status=403 if is_get else 401)
        if is_get:
            return self._read(endpoint)
        return await self._write(request, endpoint)

    async def _hold(self) -> None:
        """Hold an answer until the timeout fault is cleared or the server stops."""
        # A plain flag that tests flip, so poll it rather than wait on an event.
        while self.faults.timeout and not self._release.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    async def _write(self, request: web.Request, endpoint: str) -> web.Response:
        # "The web server answers HTTP 500 if the headers are not set properly."
        accept = request.headers.get("Accept", "")
        content_type = request.headers.get("Content-Type", "")
        if "application/json" not in accept or not content_type.startswith(
            "application/json"
        ):
            return web.Response(status=500)
        try:
            body = json.loads(await request.text())
            if not isinstance(body, dict):
                msg = "body is not an object"
                raise BadRequestError(msg)  # noqa: TRY301 - one 400 path for all
            apply = (
                self._parse_dev_info_post(body)
                if endpoint == "DevInfo"
                else self._parse_charge_data_post(body)
            )
        except ValueError, BadRequestError:
            return web.Response(status=400)
        self.posted.append((endpoint, body))
        if not self.faults.refuse_commands:
            apply()
        return web.Response(status=200)

    def _read(self, endpoint: str) -> web.Response:
        payload = self.dev_info() if endpoint == "DevInfo" else self.charge_data()
        for key in self.faults.missing_fields:
            payload.pop(key, None)
        text = json.dumps(payload)
        if self.faults.malformed:
            text = text[: len(text) // 2]
        return web.Response(text=text, content_type="application/json")

    # --- Payloads ------------------------------------------------------------

    def _reported_state(self) -> str:
        return self.faults.unknown_state or self.chg_state

    def dev_info(self) -> dict[str, object]:
        """Return the ``GET /DevInfo`` object, field for field as documented."""
        return {
            "DevName": self.dev_name,
            "LocTime": int(self.clock),
            "Summer": self.summer,
            "Tz": self.tz_minutes,
            "ItemNo": self.item_number,
            "Sn": self.serial_number,
            "Hcc3": "HCC3 V1.13",
            "Hmi": "SW:1.8 HW:0x3 SN:0xa",
            "Rfid": None,
            "Wifi": "BA 1.1.9",
            "FixedVehCosts": self.fixed_vehicle_costs,
            "OldVehCosts": self.old_vehicle_costs,
            "Color": 0,
            "DevMode": self.dev_mode,
            "ChgState": self._reported_state(),
            "WifiOn": True,
            "AutoChg": self.auto_start,
            "ChgContinue": True,
            "Err": self.error_code,
            "Battery": self.battery_wh,
            "Phases": self.phases,
            "Cable": True,
            "Auth": False,
            "DsoEnabled": False,
            "EmEnabled": self.dev_mode == "HomeManager",
            "MaxCurr": 0,
            "MaxPwr": 0,
            "MaxCurrWb": self.box_max_current,
        }

    def charge_data(self) -> dict[str, object]:
        """Return the ``GET /ChargeData`` object, ``T*`` copies included."""
        configuration: dict[str, object] = {
            "MaxCurrT1": 0,
            "BeginH_T1": 4,
            "BeginM_T1": 30,
            "PriceT1": 270,
            "MaxCurrT2": 0,
            "BeginH_T2": 22,
            "BeginM_T2": 0,
            "PriceT2": 200,
            "RemoteCurr": self.remote_current,
            "SolarPrice": 0,
            "ExcessNrg": True,
        }
        return {
            "ChgState": self._reported_state(),
            "Tariff": "T1",
            "Price": 270,
            "Uid": "",
            "ChgDuration": int(self.session_duration_s),
            "ChgNrg": int(self.session_energy_wh),
            "NrgDemand": 0,
            "Solar": 0,
            "EmTime": 1440,
            "RemTime": 1440,
            "ActPwr": round(self.power_w),
            "ActCurr": self.offered_current if self.chg_state == CHARGING else 0,
            **configuration,
            **{f"T{key}": value for key, value in configuration.items()},
            "HCCP": self._control_pilot(),
        }

    def _control_pilot(self) -> str:
        # [I] IEC 61851 letters: A = no vehicle, B = connected, C = charging.
        if not self.plugged_in:
            return "A11"
        return "C2" if self.chg_state == CHARGING else "B1"

    # --- Physics -------------------------------------------------------------

    @property
    def offered_current(self) -> int:
        """Current per phase the box offers while charging."""
        if self.dev_mode == "Remote" and self.remote_current >= MIN_REMOTE_CURRENT_A:
            return self.remote_current
        return self.box_max_current

    @property
    def power_w(self) -> float:
        """Charging power: phases x 230 V x min(offered current, car maximum)."""
        if self.chg_state != CHARGING:
            return 0.0
        return self.phases * VOLTAGE_V * min(self.offered_current, self.car_max_current)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock on; a running session counts up."""
        if seconds < 0 or not math.isfinite(seconds):
            msg = "Time only moves forward"
            raise ValueError(msg)
        if self.chg_state == CHARGING:
            self.session_energy_wh += self.power_w * seconds / 3600
            self.session_duration_s += seconds
        self.clock += seconds

    # --- Vehicle and box events ----------------------------------------------

    def _begin_session(self) -> None:
        # [I] the last session's values stay while idle and reset here.
        self.session_energy_wh = 0.0
        self.session_duration_s = 0.0
        self.chg_state = CHARGING

    def plug_in(self) -> None:
        """Connect a vehicle; with AutoChg (or a pending Start) it charges."""
        self.plugged_in = True
        if self.chg_state == ERROR:
            return
        if self.chg_state == STANDBY_CONNECT or self.auto_start:
            self._begin_session()
        else:
            self.chg_state = STANDBY_AUTHORIZE

    def unplug(self) -> None:
        """Disconnect the vehicle; the session's values stay readable."""
        self.plugged_in = False
        if self.chg_state != ERROR:
            self.chg_state = IDLE

    def set_error(self, code: int) -> None:
        """Raise an HCC3 error code (``Err``); 0 clears it."""
        self.error_code = code
        if code:
            self.chg_state = ERROR
        elif self.chg_state == ERROR:
            self.chg_state = STANDBY_AUTHORIZE if self.plugged_in else IDLE

    def reboot(self) -> None:
        """Power-cycle: settings sent with ``Permanent: false`` are lost."""
        self.auto_start = bool(self._persisted["AutoChg"])
        remote = self._persisted["RemoteCurr"]
        assert isinstance(remote, int)  # noqa: S101 - only ints are persisted
        self.remote_current = remote
        if self.chg_state != ERROR:
            self.chg_state = STANDBY_AUTHORIZE if self.plugged_in else IDLE

    # --- Commands ------------------------------------------------------------

    def _parse_charge_data_post(self, body: dict[str, object]) -> Callable[[], None]:
        """Validate a ``POST /ChargeData`` body; return what applying it does."""
        permanent = body.get("Permanent")
        if not isinstance(permanent, bool):
            msg = "Permanent is required"
            raise BadRequestError(msg)
        remote = _optional(body, "RemoteCurr", (int,))
        auto = _optional(body, "AutoChg", (bool,))
        command = _optional(body, "ChgState", (str,))
        uid = _optional(body, "Uid", (str,))
        if command is not None and command not in CHARGE_COMMANDS:
            msg = "unknown ChgState command"
            raise BadRequestError(msg)

        def apply() -> None:
            if isinstance(remote, int) and (
                MIN_REMOTE_CURRENT_A <= remote <= self.box_max_current
            ):
                self.remote_current = remote
                if permanent:
                    self._persisted["RemoteCurr"] = remote
            if isinstance(auto, bool):
                self.auto_start = auto
                if permanent:
                    self._persisted["AutoChg"] = auto
            if isinstance(command, str):
                self._command(command, uid)

        return apply

    def _command(self, command: str, uid: object) -> None:
        state = self.chg_state
        if command == "Pause" and state == CHARGING:
            self.chg_state = PAUSED
        elif command == "Continue" and state == PAUSED:
            self.chg_state = CHARGING
        elif command == "Terminate" and state in {
            CHARGING,
            PAUSED,
            STANDBY_AUTHORIZE,
            STANDBY_CONNECT,
        }:
            self.chg_state = TERMINATED if self.plugged_in else IDLE
        elif command == "Start" and uid == START_UID:
            if not self.plugged_in and state == IDLE:
                self.chg_state = STANDBY_CONNECT
            elif self.plugged_in and state in {STANDBY_AUTHORIZE, TERMINATED}:
                self._begin_session()

    def _parse_dev_info_post(self, body: dict[str, object]) -> Callable[[], None]:
        """Validate a ``POST /DevInfo`` body; return what applying it does."""
        values = {key: _optional(body, key, types) for key, types in _DEV_INFO_KEYS}
        if values["DevMode"] is not None and values["DevMode"] not in DEV_MODES:
            msg = "unknown DevMode"
            raise BadRequestError(msg)
        if isinstance(values["LocTime"], str) and not values["LocTime"].isdigit():
            msg = "LocTime is not a Unix time"
            raise BadRequestError(msg)

        def apply() -> None:
            if isinstance(mode := values["DevMode"], str):
                self.dev_mode = mode
            if isinstance(name := values["DevName"], str):
                self.dev_name = name
            if isinstance(battery := values["Battery"], int | float):
                self.battery_wh = int(battery)
            if isinstance(loc_time := values["LocTime"], str | int):
                self.clock = float(loc_time)
            if isinstance(summer := values["Summer"], bool):
                self.summer = summer
            if isinstance(tz := values["Tz"], int):
                self.tz_minutes = tz

        return apply


# --- Command line ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.mennekes",
        description="Simulated Mennekes AMTRON (MHCP JSON over HTTP).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dev-key", default="1234", help="the app PIN (DevKey)")
    parser.add_argument(
        "--plugged-in", action="store_true", help="start with a vehicle connected"
    )
    parser.add_argument("--max-current", type=int, default=16, help="box limit (A)")
    parser.add_argument("--car-max-current", type=int, default=16, help="car limit (A)")
    parser.add_argument("--tick", type=float, default=1.0, help="clock step (s)")
    parser.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds"
    )
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Run a simulator as the parsed arguments say, until cancelled or done."""
    simulator = MennekesSimulator(
        dev_key=args.dev_key,
        host=args.host,
        port=args.port,
        box_max_current=args.max_current,
        car_max_current=args.car_max_current,
    )
    async with simulator:
        if args.plugged_in:
            simulator.plug_in()
        simulator.start_ticking(args.tick)
        print(
            f"Mennekes MHCP simulator on {simulator.base_url} (Ctrl-C stops)",
            flush=True,
        )
        if args.duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(args.duration)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.mennekes``."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
