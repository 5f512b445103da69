"""A simulated OCPP 1.6J charge point, on the ocpp library's own ChargePoint.

The charge point side of the protocol comes from the ``ocpp`` library
(mobilityhouse): its ChargePoint class, used as a client over aiohttp's
websocket client, frames and validates every message. It shares no code with
the central system in ``custom_components``, so a misreading of the protocol
on one side shows up as a failing test.

The simulated charge point boots, reports its connectors, lets a car plug in
and charge, and sends meter values that follow the charging profiles it was
given: a lower limit lowers current and power, a limit below 6 A pauses
(SuspendedEVSE), an expired profile stops counting. It honours
ChangeAvailability (Unavailable starts no session, Scheduled while one runs;
kept across a reset), RemoteStart/StopTransaction, Reset (down, up, boot
again), TriggerMessage, Get/ChangeConfiguration, Set/ClearChargingProfile and
GetCompositeSchedule; MeterValuesSampledData chooses what it measures. It
misbehaves on demand (``sim.faults``, ``send_raw``, ``call_unchecked``): bad
frames, schema violations, refused or ignored commands, CALLERRORs, silence,
reconnect loops, and transaction messages queued while offline and sent on
reconnection.

Run standalone::

    python -m simulators.ocpp --url ws://127.0.0.1:9000/ocpp/CP1 --plugged-in
"""

import argparse
import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import json
import logging
import ssl
from types import TracebackType
from typing import Any, Final, Self, cast
from urllib.parse import urlsplit
import uuid

import aiohttp
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    ChargePointErrorCode,
    ChargePointStatus,
    ChargingProfileStatus,
    ClearChargingProfileStatus,
    ConfigurationStatus,
    GetCompositeScheduleStatus,
    Measurand,
    MessageTrigger,
    Reason,
    RegistrationStatus,
    RemoteStartStopStatus,
    ResetStatus,
    TriggerMessageStatus,
)

_LOGGER = logging.getLogger(__name__)

VOLTAGE_V: Final = 230.0
MIN_CURRENT_A: Final = 6.0
"""IEC 61851: below this a car cannot charge; a lower limit pauses."""
BATTERY_WH: Final = 60_000.0
LOCAL_ID_TAG: Final = "SIMULATED"
"""The id tag of a session started by plugging in (free charging)."""
FRAME_LOG_SIZE: Final = 200
DEFAULT_SAMPLED_DATA: Final = "Energy.Active.Import.Register"
"""OCPP's default: the energy register only, until the central system asks."""


def _handles[F: Callable[..., object]](action: Action) -> Callable[[F], F]:
    return cast("Callable[[F], F]", on(action))


def _then[F: Callable[..., object]](action: Action) -> Callable[[F], F]:
    return cast("Callable[[F], F]", after(action))


def _ocpp_time(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _call_error(code: str) -> OCPPError:
    """Return the library's exception for a CALLERROR code."""
    for error in OCPPError.__subclasses__():
        if getattr(error, "code", None) == code:
            return error(description="simulated fault")
    msg = f"No OCPP error has the code {code}"
    raise ValueError(msg)


@dataclass
class OcppFaults:
    """Switchable misbehaviour; the defaults are a healthy charge point."""

    refuse: set[str] = field(default_factory=set)
    """Actions answered with Rejected (or NotSupported where that is the word)."""
    ignore: set[str] = field(default_factory=set)
    """Actions answered Accepted but not carried out."""
    call_errors: dict[str, str] = field(default_factory=dict)
    """Actions answered with a CALLERROR of this code."""
    silent: set[str] = field(default_factory=set)
    """Actions never answered."""

    def clear(self) -> None:
        """Make the charge point healthy again."""
        self.refuse.clear()
        self.ignore.clear()
        self.call_errors.clear()
        self.silent.clear()


@dataclass(kw_only=True)
class SimulatedConnector:
    """One connector, with a car that may be plugged in."""

    connector_id: int
    energy_wh: float = 1_000_000.0
    """The lifetime register."""
    plugged_in: bool = False
    available: bool = True
    unavailable_after_session: bool = False
    transaction_id: int | None = None
    """Negative while the StartTransaction waits in the offline queue."""
    transaction_started: datetime | None = None
    start_waiting: str | None = None
    """The id tag of a remote start waiting for a car."""
    car_max_current_a: float = 16.0
    soc_percent: float = 40.0
    current_a: float = 0.0
    status: ChargePointStatus = ChargePointStatus.available
    reported_status: ChargePointStatus | None = None


class _Link:
    """aiohttp's websocket as the library's connection."""

    def __init__(
        self,
        websocket: aiohttp.ClientWebSocketResponse,
        frames: deque[Any],
        arrived: asyncio.Event,
    ) -> None:
        self._websocket = websocket
        self._frames = frames
        self._arrived = arrived

    async def recv(self) -> str:
        message = await self._websocket.receive()
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionResetError(str(message.type))
        with contextlib.suppress(ValueError):
            self._frames.append(json.loads(message.data))
            self._arrived.set()
        return cast("str", message.data)

    async def send(self, message: str) -> None:
        await self._websocket.send_str(message)


class _Protocol(ChargePoint):
    """The library's ChargePoint, answering the central system for the simulator."""

    def __init__(self, simulator: OcppSimulator, link: _Link) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            simulator.charge_point_id,
            link,
            response_timeout=simulator.response_timeout,
            logger=_LOGGER,
        )
        self.sim = simulator

    async def route_message(self, raw_msg: str) -> None:
        """Leave the calls the faults silence unanswered."""
        with contextlib.suppress(ValueError, TypeError, IndexError):
            frame = json.loads(raw_msg)
            if frame[0] == 2 and frame[2] in self.sim.faults.silent:  # noqa: PLR2004 - CALL
                return
        await super().route_message(raw_msg)  # type: ignore[no-untyped-call]

    def _fault(self, action: str) -> None:
        if action in self.sim.faults.call_errors:
            raise _call_error(self.sim.faults.call_errors[action])

    def _refused(self, action: str) -> bool:
        self._fault(action)
        return action in self.sim.faults.refuse

    def _carry_out(self, action: str) -> bool:
        return action not in self.sim.faults.ignore

    # --- Configuration -----------------------------------------------------------

    @_handles(Action.get_configuration)
    def on_get_configuration(
        self, key: list[str] | None = None
    ) -> call_result.GetConfiguration:
        """Return the keys asked for, or all."""
        self._fault(Action.get_configuration)
        known = self.sim.configuration
        wanted = key if key is not None else list(known)
        return call_result.GetConfiguration(
            configuration_key=[
                {"key": name, "readonly": known[name][1], "value": known[name][0]}
                for name in wanted
                if name in known
            ],
            unknown_key=[name for name in wanted if name not in known] or None,
        )

    @_handles(Action.change_configuration)
    def on_change_configuration(
        self, key: str, value: str
    ) -> call_result.ChangeConfiguration:
        """Take a writable key with a valid value."""
        if self._refused(Action.change_configuration):
            return call_result.ChangeConfiguration(status=ConfigurationStatus.rejected)
        if key not in self.sim.configuration:
            return call_result.ChangeConfiguration(
                status=ConfigurationStatus.not_supported
            )
        if self.sim.configuration[key][1] or not self.sim.valid_setting(key, value):
            return call_result.ChangeConfiguration(status=ConfigurationStatus.rejected)
        if self._carry_out(Action.change_configuration):
            self.sim.configuration[key] = (value, False)
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)

    # --- Smart charging ----------------------------------------------------------

    @_handles(Action.set_charging_profile)
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> call_result.SetChargingProfile:
        """Install a profile; a TxProfile needs a running transaction."""
        connector = self.sim.connectors.get(connector_id)
        purpose = cs_charging_profiles["charging_profile_purpose"]
        if (
            self._refused(Action.set_charging_profile)
            or (connector_id and connector is None)
            or (purpose == "ChargePointMaxProfile" and connector_id)
            or (
                purpose == "TxProfile"
                and (connector is None or connector.transaction_id is None)
            )
        ):
            return call_result.SetChargingProfile(status=ChargingProfileStatus.rejected)
        if self._carry_out(Action.set_charging_profile):
            self.sim.install_profile(connector_id, cs_charging_profiles)
        return call_result.SetChargingProfile(status=ChargingProfileStatus.accepted)

    @_then(Action.set_charging_profile)
    def after_set_charging_profile(self, **_: object) -> None:
        """Report what the new limit changed."""
        self.sim.spawn(self.sim.report_changes())

    @_handles(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,  # noqa: A002 - the message's field
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
    ) -> call_result.ClearChargingProfile:
        """Remove the profiles that match every filter given."""
        self._fault(Action.clear_charging_profile)
        if not self._carry_out(Action.clear_charging_profile):
            return call_result.ClearChargingProfile(
                status=ClearChargingProfileStatus.accepted
            )
        removed = self.sim.clear_profiles(
            profile_id=id,
            connector_id=connector_id,
            purpose=charging_profile_purpose,
            stack_level=stack_level,
        )
        status = (
            ClearChargingProfileStatus.accepted
            if removed
            else ClearChargingProfileStatus.unknown
        )
        return call_result.ClearChargingProfile(status=status)

    @_then(Action.clear_charging_profile)
    def after_clear_charging_profile(self, **_: object) -> None:
        """Report what the change of limit changed."""
        self.sim.spawn(self.sim.report_changes())

    @_handles(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None
    ) -> call_result.GetCompositeSchedule:
        """Give the limit in force now, as a one-period schedule."""
        if self._refused(Action.get_composite_schedule) or (
            connector_id not in self.sim.connectors
        ):
            return call_result.GetCompositeSchedule(
                status=GetCompositeScheduleStatus.rejected
            )
        limit = self.sim.limit_a(connector_id)
        unit = charging_rate_unit or "A"
        if unit == "W":
            limit *= VOLTAGE_V * self.sim.phases
        return call_result.GetCompositeSchedule(
            status=GetCompositeScheduleStatus.accepted,
            connector_id=connector_id,
            schedule_start=_ocpp_time(self.sim.now()),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": unit,
                "charging_schedule_period": [
                    {"start_period": 0, "limit": round(limit, 1)}
                ],
            },
        )

    # --- Sessions ----------------------------------------------------------------

    @_handles(Action.remote_start_transaction)
    def on_remote_start_transaction(
        self, id_tag: str, connector_id: int | None = None, **_: object
    ) -> call_result.RemoteStartTransaction:
        """Accept a start on a free, available connector."""
        connector = self.sim.free_connector(connector_id)
        if self._refused(Action.remote_start_transaction) or connector is None:
            return call_result.RemoteStartTransaction(
                status=RemoteStartStopStatus.rejected
            )
        if self._carry_out(Action.remote_start_transaction):
            connector.start_waiting = id_tag
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @_then(Action.remote_start_transaction)
    def after_remote_start_transaction(self, **_: object) -> None:
        """Start the waiting session if a car is there."""
        self.sim.spawn(self.sim.start_waiting_sessions())

    @_handles(Action.remote_stop_transaction)
    def on_remote_stop_transaction(
        self, transaction_id: int
    ) -> call_result.RemoteStopTransaction:
        """Accept a stop of a running transaction."""
        connector = self.sim.connector_of(transaction_id)
        if self._refused(Action.remote_stop_transaction) or connector is None:
            return call_result.RemoteStopTransaction(
                status=RemoteStartStopStatus.rejected
            )
        if self._carry_out(Action.remote_stop_transaction):
            self.sim.spawn(
                self.sim.stop_transaction(connector.connector_id, Reason.remote)
            )
        return call_result.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

    # --- Availability, reset, triggers -------------------------------------------

    @_handles(Action.change_availability)
    def on_change_availability(
        self,
        connector_id: int,
        type: str,  # noqa: A002 - the message's field
    ) -> call_result.ChangeAvailability:
        """Change availability; one with a running transaction waits for its end."""
        if self._refused(Action.change_availability) or (
            connector_id and connector_id not in self.sim.connectors
        ):
            return call_result.ChangeAvailability(status=AvailabilityStatus.rejected)
        targets = self.sim.targets(connector_id)
        available = type == "Operative"
        if not available and any(c.transaction_id is not None for c in targets):
            for connector in targets:
                connector.unavailable_after_session = True
            return call_result.ChangeAvailability(status=AvailabilityStatus.scheduled)
        if self._carry_out(Action.change_availability):
            if connector_id == 0:
                self.sim.station_available = available
            for connector in targets:
                connector.available = available
                connector.unavailable_after_session = False
        return call_result.ChangeAvailability(status=AvailabilityStatus.accepted)

    @_then(Action.change_availability)
    def after_change_availability(self, **_: object) -> None:
        """Report the new statuses; a car that waited starts charging."""
        self.sim.spawn(self.sim.start_waiting_sessions())

    @_handles(Action.reset)
    def on_reset(self, type: str) -> call_result.Reset:  # noqa: A002 - the message's field
        """Accept a reset."""
        if self._refused(Action.reset):
            return call_result.Reset(status=ResetStatus.rejected)
        return call_result.Reset(status=ResetStatus.accepted)

    @_then(Action.reset)
    def after_reset(self, type: str) -> None:  # noqa: A002 - the message's field
        """Stop the sessions, drop the connection and boot again."""
        if self._carry_out(Action.reset) and Action.reset not in self.sim.faults.refuse:
            reason = Reason.hard_reset if type == "Hard" else Reason.soft_reset
            self.sim.spawn(self.sim.restart(reason))

    @_handles(Action.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None
    ) -> call_result.TriggerMessage:
        """Accept the messages this charge point can send on request."""
        if self._refused(Action.trigger_message) or requested_message not in {
            MessageTrigger.boot_notification,
            MessageTrigger.heartbeat,
            MessageTrigger.meter_values,
            MessageTrigger.status_notification,
        }:
            return call_result.TriggerMessage(status=TriggerMessageStatus.rejected)
        return call_result.TriggerMessage(status=TriggerMessageStatus.accepted)

    @_then(Action.trigger_message)
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None
    ) -> None:
        """Send what was asked for."""
        if self._refused(Action.trigger_message) or not self._carry_out(
            Action.trigger_message
        ):
            return
        senders: dict[str, Callable[[], Coroutine[Any, Any, object]]] = {
            MessageTrigger.boot_notification: self.sim.boot,
            MessageTrigger.heartbeat: self.sim.heartbeat,
            MessageTrigger.meter_values: lambda: self.sim.send_meter_values(
                connector_id
            ),
            MessageTrigger.status_notification: lambda: self.sim.send_status(
                connector_id
            ),
        }
        if requested_message in senders:
            self.sim.spawn(senders[requested_message]())


class OcppSimulator:
    """A simulated charge point that connects to a central system."""

    def __init__(  # noqa: PLR0913 - every option is a keyword
        self,
        url: str,
        *,
        connectors: int = 1,
        phases: int = 3,
        max_current_a: float = 32.0,
        vendor: str = "EVSE Bridge",
        model: str = "Simulated CP",
        serial_number: str = "SIM-0001",
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        subprotocols: Sequence[str] = ("ocpp1.6",),
        response_timeout: float = 10.0,
    ) -> None:
        """Connect to ``url`` (``ws://host:port/path/<charge point id>``) when asked."""
        self.url = url
        self.charge_point_id = urlsplit(url).path.rsplit("/", 1)[-1]
        self.phases = phases
        self.max_current_a = max_current_a
        self.vendor, self.model, self.serial_number = vendor, model, serial_number
        self.password = password
        self.ssl_context = ssl_context
        self.subprotocols = tuple(subprotocols)
        self.response_timeout = response_timeout
        self.connectors = {
            number: SimulatedConnector(connector_id=number)
            for number in range(1, connectors + 1)
        }
        self.configuration: dict[str, tuple[str, bool]] = {
            "HeartbeatInterval": ("300", False),
            "MeterValueSampleInterval": ("60", False),
            "MeterValuesSampledData": (DEFAULT_SAMPLED_DATA, False),
            "MeterValuesSampledDataMaxLength": ("8", True),
            "NumberOfConnectors": (str(connectors), True),
            "ChargeProfileMaxStackLevel": ("5", True),
            "SupportedFeatureProfiles": ("Core,SmartCharging,RemoteTrigger", True),
        }
        self.faults = OcppFaults()
        self.station_available = True
        self.reported_station: ChargePointStatus | None = None
        self.profiles: list[tuple[int, dict[str, Any]]] = []
        """Installed charging profiles: (connector id, profile)."""
        self.registration: str | None = None
        """The status of the last BootNotification."""
        self.boot_interval = 0
        """The interval the last BootNotification answer gave."""
        self.accepted = asyncio.Event()
        """Set once a BootNotification was accepted."""
        self.boots = 0
        self.frames: deque[Any] = deque(maxlen=FRAME_LOG_SIZE)
        """Frames received from the central system, parsed."""
        self._arrived = asyncio.Event()
        self.offline_queue: list[tuple[str, dict[str, Any]]] = []
        """Transaction messages kept while offline: (action, payload)."""
        self.clock_offset = timedelta(0)
        self._session: aiohttp.ClientSession | None = None
        self._websocket: aiohttp.ClientWebSocketResponse | None = None
        self._protocol: _Protocol | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._next_local_id = -1
        self._assigned: dict[int, int] = {}
        self.offline = False
        self.restarting = False
        """Set while a Reset takes the charge point down and up again."""

    # --- Clock and connection ---------------------------------------------------

    def now(self) -> datetime:
        """Return the simulated time: real time moved on by ``advance``."""
        return datetime.now(UTC) + self.clock_offset

    @property
    def connected(self) -> bool:
        """Return whether the websocket is open."""
        return (
            self._websocket is not None
            and not self._websocket.closed
            and self._reader is not None
            and not self._reader.done()
        )

    async def connect(self) -> None:
        """Open the websocket; raise aiohttp's errors if the server refuses."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = (
            {
                "Authorization": aiohttp.encode_basic_auth(
                    self.charge_point_id, self.password
                )
            }
            if self.password is not None
            else {}
        )
        websocket = await self._session.ws_connect(
            self.url,
            protocols=self.subprotocols,
            headers=headers,
            ssl=self.ssl_context if self.ssl_context is not None else True,
            autoping=True,
        )
        self._websocket = websocket
        self._protocol = _Protocol(self, _Link(websocket, self.frames, self._arrived))
        self._reader = asyncio.create_task(self._read(self._protocol))
        self.offline = False

    async def _read(self, protocol: _Protocol) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await protocol.start()  # type: ignore[no-untyped-call]

    async def wait_disconnected(self) -> int | None:
        """Wait until the connection has closed; return its close code."""
        if self._reader is not None:
            await self._reader
        return None if self._websocket is None else self._websocket.close_code

    async def disconnect(self) -> None:
        """Close the websocket (the network or the charge point went away)."""
        websocket, self._websocket = self._websocket, None
        if websocket is not None:
            await websocket.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None

    async def close(self) -> None:
        """Disconnect and stop everything."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.disconnect()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        """Connect, for ``async with``."""
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close."""
        await self.close()

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Run work in the background (after an answer was sent).

        Work that fails because the connection went away is dropped, as a real
        charge point would drop it.
        """

        async def guarded() -> None:
            try:
                await work
            except (
                ConnectionError,
                TimeoutError,
                OCPPError,
                aiohttp.ClientError,
            ) as err:
                _LOGGER.debug(
                    "Background work of %s failed: %r", self.charge_point_id, err
                )

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # Cancelled before it ran (the charge point closing): close the work,
        # which never started, so it is not reported as never awaited.
        task.add_done_callback(lambda _: work.close())

    async def settle(self) -> None:
        """Wait until the background work has finished."""
        # Only tasks still running: a finished one leaves the set a moment later.
        while running := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*running, return_exceptions=True)

    async def _call(self, payload: object, **options: bool) -> Any:
        """Send a request and return the answer; fail when the connection closes."""
        if self._protocol is None or self._reader is None or not self.connected:
            msg = "The simulated charge point is not connected"
            raise ConnectionError(msg)
        answer = asyncio.ensure_future(
            self._protocol.call(payload, suppress=False, **options)  # type: ignore[no-untyped-call]
        )
        try:
            await asyncio.wait(
                {answer, self._reader}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not answer.done():
                answer.cancel()
        # A cancelled answer is done only once the loop has run it again.
        if not answer.done() or answer.cancelled():
            msg = "The connection closed before the answer came"
            raise ConnectionError(msg)
        return answer.result()

    # --- Messages to the central system -----------------------------------------

    async def boot(self) -> str:
        """Send a BootNotification; report the connectors once accepted."""
        answer = await self._call(
            call.BootNotification(
                charge_point_vendor=self.vendor,
                charge_point_model=self.model,
                charge_point_serial_number=self.serial_number,
                firmware_version="1.0.0",
            )
        )
        self.boots += 1
        self.registration = answer.status
        self.boot_interval = int(answer.interval)
        if answer.status == RegistrationStatus.accepted:
            self.accepted.set()
            await self.send_status()
        return cast("str", answer.status)

    async def heartbeat(self) -> None:
        """Send a Heartbeat."""
        await self._call(call.Heartbeat())

    async def send_status(self, connector_id: int | None = None) -> None:
        """Send StatusNotification for the station (0) and every connector, or one."""
        if connector_id in {None, 0}:
            await self._send_station_status()
        for connector in self.targets(connector_id or 0):
            connector.status = self._status(connector)
            await self._call(
                call.StatusNotification(
                    connector_id=connector.connector_id,
                    error_code=ChargePointErrorCode.no_error,
                    status=connector.status,
                    timestamp=_ocpp_time(self.now()),
                )
            )
            connector.reported_status = connector.status

    @property
    def station_status(self) -> ChargePointStatus:
        """Return the status of connector 0, the whole station."""
        if self.station_available:
            return ChargePointStatus.available
        return ChargePointStatus.unavailable

    async def _send_station_status(self) -> None:
        self.reported_station = self.station_status
        await self._call(
            call.StatusNotification(
                connector_id=0,
                error_code=ChargePointErrorCode.no_error,
                status=self.station_status,
                timestamp=_ocpp_time(self.now()),
            )
        )

    async def report_changes(self) -> None:
        """Send StatusNotification for what changed: the station, each connector."""
        if self.station_status != self.reported_station and self.connected:
            await self._send_station_status()
        for connector in self.connectors.values():
            status = self._status(connector)
            if status != connector.reported_status and self.connected:
                connector.status = status
                await self.send_status(connector.connector_id)

    async def send_meter_values(self, connector_id: int | None = None) -> None:
        """Send MeterValues of one connector, or of every connector."""
        for connector in self.targets(connector_id or 0):
            await self._transaction_message(
                Action.meter_values,
                {
                    "connector_id": connector.connector_id,
                    "transaction_id": connector.transaction_id,
                    "meter_value": [self._meter_value(connector)],
                },
            )

    async def _transaction_message(self, action: str, payload: dict[str, Any]) -> Any:
        """Send a transaction message, or queue it while offline."""
        if self.offline or not self.connected:
            self.offline_queue.append((action, payload))
            return None
        fields = {
            key: value
            for key, value in self._with_assigned_ids(payload).items()
            if not key.startswith("_") and value is not None
        }
        message = getattr(call, action)(**fields)
        return await self._call(message)

    def _with_assigned_ids(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Replace a local transaction id by the one the central system gave."""
        local = payload.get("transaction_id")
        if isinstance(local, int) and local in self._assigned:
            return payload | {"transaction_id": self._assigned[local]}
        return payload

    def _meter_value(self, connector: SimulatedConnector) -> dict[str, Any]:
        sampled = self.configuration["MeterValuesSampledData"][0].split(",")
        values: list[dict[str, Any]] = []
        power = connector.current_a * VOLTAGE_V * self.phases
        for measurand in sampled:
            if measurand == Measurand.energy_active_import_register:
                values.append(
                    {
                        "value": f"{connector.energy_wh:.0f}",
                        "measurand": measurand,
                        "unit": "Wh",
                    }
                )
            elif measurand == Measurand.power_active_import:
                values.append(
                    {
                        "value": f"{power / 1000:.3f}",
                        "measurand": measurand,
                        "unit": "kW",
                    }
                )
            elif measurand == Measurand.current_import:
                values.extend(
                    {
                        "value": f"{connector.current_a:.1f}",
                        "measurand": measurand,
                        "phase": phase,
                        "unit": "A",
                    }
                    for phase in ("L1", "L2", "L3")[: self.phases]
                )
            elif measurand == Measurand.voltage:
                values.extend(
                    {
                        "value": f"{VOLTAGE_V:.1f}",
                        "measurand": measurand,
                        "phase": phase,
                        "unit": "V",
                    }
                    for phase in ("L1-N", "L2-N", "L3-N")[: self.phases]
                )
            elif measurand == Measurand.current_offered:
                values.append(
                    {
                        "value": f"{self.offered_a(connector):.1f}",
                        "measurand": measurand,
                        "unit": "A",
                    }
                )
            elif measurand == Measurand.soc and connector.plugged_in:
                values.append(
                    {
                        "value": f"{connector.soc_percent:.0f}",
                        "measurand": measurand,
                        "location": "EV",
                        "unit": "Percent",
                    }
                )
        return {"timestamp": _ocpp_time(self.now()), "sampled_value": values}

    # --- The car and the sessions -----------------------------------------------

    def targets(self, connector_id: int) -> list[SimulatedConnector]:
        """Return one connector, or all for connector 0."""
        if connector_id == 0:
            return list(self.connectors.values())
        return (
            [self.connectors[connector_id]] if connector_id in self.connectors else []
        )

    def free_connector(self, connector_id: int | None) -> SimulatedConnector | None:
        """Return the connector a remote start may use, if any."""
        candidates = self.targets(connector_id or 0)
        return next(
            (c for c in candidates if c.available and c.transaction_id is None), None
        )

    def connector_of(self, transaction_id: int) -> SimulatedConnector | None:
        """Return the connector running a transaction."""
        for connector in self.connectors.values():
            local = connector.transaction_id
            if local is not None and transaction_id in {
                local,
                self._assigned.get(local),
            }:
                return connector
        return None

    async def plug_in(self, connector_id: int = 1, *, start: bool = True) -> None:
        """Connect a car; start a session (free charging), or a remote start waiting."""
        connector = self.connectors[connector_id]
        connector.plugged_in = True
        if start and connector.start_waiting is None:
            connector.start_waiting = LOCAL_ID_TAG
        await self.start_waiting_sessions()
        await self.report_changes()

    async def unplug(self, connector_id: int = 1) -> None:
        """Disconnect the car; a running session stops."""
        connector = self.connectors[connector_id]
        connector.plugged_in = False
        if connector.transaction_id is not None:
            await self.stop_transaction(connector_id, Reason.ev_disconnected)
        await self.report_changes()

    async def start_waiting_sessions(self) -> None:
        """Start the sessions whose car is plugged in, on connectors in service."""
        for connector in self.connectors.values():
            id_tag = connector.start_waiting
            if (
                id_tag is None
                or not connector.plugged_in
                or not connector.available
                or connector.transaction_id is not None
            ):
                continue
            connector.start_waiting = None
            local = self._next_local_id
            self._next_local_id -= 1
            connector.transaction_id = local
            connector.transaction_started = self.now()
            self._update(connector)
            answer = await self._transaction_message(
                Action.start_transaction,
                {
                    "connector_id": connector.connector_id,
                    "id_tag": id_tag,
                    "meter_start": round(connector.energy_wh),
                    "timestamp": _ocpp_time(self.now()),
                    "_local_id": local,
                },
            )
            if answer is not None:
                self._assigned[local] = answer.transaction_id
        await self.report_changes()

    async def stop_transaction(self, connector_id: int, reason: str) -> None:
        """End the session on a connector."""
        connector = self.connectors[connector_id]
        local = connector.transaction_id
        if local is None:
            return
        connector.transaction_id = None
        connector.current_a = 0.0
        if connector.unavailable_after_session:
            connector.available = False
            connector.unavailable_after_session = False
        self.profiles = [
            (number, profile)
            for number, profile in self.profiles
            if profile["charging_profile_purpose"] != "TxProfile"
            or number != connector_id
        ]
        await self._transaction_message(
            Action.stop_transaction,
            {
                "transaction_id": local,
                "meter_stop": round(connector.energy_wh),
                "timestamp": _ocpp_time(self.now()),
                "reason": reason,
            },
        )
        await self.report_changes()

    async def restart(self, reason: str) -> None:
        """Reset: stop the sessions, drop the connection, connect and boot again.

        Availability is kept, as OCPP requires across a reboot.
        """
        self.restarting = True
        try:
            for connector in self.connectors.values():
                await self.stop_transaction(connector.connector_id, reason)
            self.profiles = []
            await self.disconnect()
            await self.connect()
            await self.boot()
        finally:
            self.restarting = False

    # --- Charging profiles ---------------------------------------------------------

    def install_profile(self, connector_id: int, profile: dict[str, Any]) -> None:
        """Install a profile, replacing one of its id, or stack level and purpose."""
        self.profiles = [
            (number, kept)
            for number, kept in self.profiles
            if kept["charging_profile_id"] != profile["charging_profile_id"]
            and not (
                number == connector_id
                and kept["stack_level"] == profile["stack_level"]
                and kept["charging_profile_purpose"]
                == profile["charging_profile_purpose"]
            )
        ]
        self.profiles.append((connector_id, profile))
        for connector in self.connectors.values():
            self._update(connector)

    def clear_profiles(
        self,
        *,
        profile_id: int | None,
        connector_id: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> bool:
        """Remove the profiles that match; return whether any did."""

        def matches(number: int, profile: dict[str, Any]) -> bool:
            if profile_id is not None:
                return bool(profile["charging_profile_id"] == profile_id)
            return (
                (connector_id is None or number == connector_id)
                and (purpose is None or profile["charging_profile_purpose"] == purpose)
                and (stack_level is None or profile["stack_level"] == stack_level)
            )

        kept = [(n, p) for n, p in self.profiles if not matches(n, p)]
        removed = len(kept) < len(self.profiles)
        self.profiles = kept
        for connector in self.connectors.values():
            self._update(connector)
        return removed

    def _profile_limit(
        self, profile: dict[str, Any], started: datetime | None
    ) -> float | None:
        """Return a profile's limit now in amperes, or None if it is not in force."""
        now = self.now()
        valid_from = _parse_time(profile.get("valid_from"))
        valid_to = _parse_time(profile.get("valid_to"))
        if (valid_from and now < valid_from) or (valid_to and now >= valid_to):
            return None
        schedule = profile["charging_schedule"]
        start = _parse_time(schedule.get("start_schedule"))
        if profile["charging_profile_kind"] == "Relative" or start is None:
            start = started or now
        elapsed = (now - start).total_seconds()
        limit: float | None = None
        for period in schedule["charging_schedule_period"]:
            if period["start_period"] <= elapsed:
                limit = float(period["limit"])
        if limit is not None and schedule["charging_rate_unit"] == "W":
            limit /= VOLTAGE_V * self.phases
        return limit

    def limit_a(self, connector_id: int) -> float:
        """Return the current the profiles allow on a connector now."""
        connector = self.connectors[connector_id]
        found: dict[str, tuple[int, float]] = {}
        for number, profile in self.profiles:
            purpose = profile["charging_profile_purpose"]
            if number not in {0, connector_id} or (
                purpose == "TxProfile" and number != connector_id
            ):
                continue
            limit = self._profile_limit(profile, connector.transaction_started)
            if limit is None:
                continue
            # Higher stack levels win; a connector's own profile beats connector 0's.
            rank = profile["stack_level"] * 2 + (1 if number else 0)
            if purpose not in found or rank > found[purpose][0]:
                found[purpose] = (rank, limit)
        limits = [self.max_current_a]
        for purpose in ("TxProfile", "TxDefaultProfile"):
            if purpose in found and (
                purpose != "TxProfile" or connector.transaction_id is not None
            ):
                limits.append(found[purpose][1])
                break
        if "ChargePointMaxProfile" in found:
            limits.append(found["ChargePointMaxProfile"][1])
        return min(limits)

    def offered_a(self, connector: SimulatedConnector) -> float:
        """Return the current offered to the car: 0 below 6 A or when not charging."""
        if not connector.available or connector.transaction_id is None:
            return 0.0
        limit = self.limit_a(connector.connector_id)
        return limit if limit >= MIN_CURRENT_A else 0.0

    def _update(self, connector: SimulatedConnector) -> None:
        wants = connector.plugged_in and connector.soc_percent < 100  # noqa: PLR2004 - full
        connector.current_a = (
            min(self.offered_a(connector), connector.car_max_current_a)
            if wants
            else 0.0
        )

    def _status(self, connector: SimulatedConnector) -> ChargePointStatus:
        if not connector.available:
            return ChargePointStatus.unavailable
        if not connector.plugged_in:
            return ChargePointStatus.available
        if connector.transaction_id is None:
            return (
                ChargePointStatus.preparing
                if connector.start_waiting
                else ChargePointStatus.finishing
            )
        self._update(connector)
        if connector.current_a > 0:
            return ChargePointStatus.charging
        if self.offered_a(connector) == 0:
            return ChargePointStatus.suspended_evse
        return ChargePointStatus.suspended_ev

    def valid_setting(self, key: str, value: str) -> bool:
        """Return whether a configuration value is one this charge point takes."""
        if key == "MeterValuesSampledData":
            supported = {
                Measurand.energy_active_import_register,
                Measurand.power_active_import,
                Measurand.current_import,
                Measurand.voltage,
                Measurand.current_offered,
                Measurand.soc,
            }
            items = value.split(",")
            return len(items) <= int(
                self.configuration["MeterValuesSampledDataMaxLength"][0]
            ) and all(item in supported for item in items)
        if key in {"MeterValueSampleInterval", "HeartbeatInterval"}:
            return value.isdigit()
        return True

    # --- Time ----------------------------------------------------------------------

    async def advance(self, seconds: float) -> None:
        """Let simulated time pass: the cars charge at the current allowed."""
        for connector in self.connectors.values():
            self._update(connector)
        self.clock_offset += timedelta(seconds=seconds)
        for connector in self.connectors.values():
            energy = connector.current_a * VOLTAGE_V * self.phases * seconds / 3600
            connector.energy_wh += energy
            connector.soc_percent = min(
                100.0, connector.soc_percent + 100 * energy / BATTERY_WH
            )
            self._update(connector)
        if self.connected:
            await self.report_changes()

    async def tick(self, seconds: float) -> None:
        """Advance time and send the meter values of every connector."""
        await self.advance(seconds)
        await self.send_meter_values()

    # --- Misbehaviour ----------------------------------------------------------------

    async def send_raw(self, frame: str | bytes) -> None:
        """Send a frame as it is, OCPP or not."""
        if self._websocket is None:
            msg = "The simulated charge point is not connected"
            raise ConnectionError(msg)
        if isinstance(frame, bytes):
            await self._websocket.send_bytes(frame)
        else:
            await self._websocket.send_str(frame)

    async def call_unchecked(self, action: str, payload: dict[str, Any]) -> Any:
        """Send a request without checking it against the schema; return the answer.

        The central system's CALLERROR comes back as the library's OCPPError.
        """
        message = getattr(call, action)(**payload)
        return await self._call(message, skip_schema_validation=True)

    async def send_call(self, action: str, payload: object) -> list[Any]:
        """Send a CALL frame with any payload, as it is; return the answer frame."""
        unique_id = f"raw-{uuid.uuid4().hex[:16]}"
        await self.send_raw(json.dumps([2, unique_id, action, payload]))
        return cast(
            "list[Any]",
            await self.wait_frame(
                lambda frame: (
                    isinstance(frame, list)
                    and frame[:2] in ([3, unique_id], [4, unique_id])
                )
            ),
        )

    async def wait_frame(
        self, predicate: Callable[[Any], bool], within: float = 5.0
    ) -> Any:
        """Return the first frame received that matches, waiting for it."""
        async with asyncio.timeout(within):
            while True:
                self._arrived.clear()
                for frame in self.frames:
                    if predicate(frame):
                        return frame
                await self._arrived.wait()

    async def go_offline(self) -> None:
        """Lose the connection and keep transaction messages from now on."""
        self.offline = True
        await self.disconnect()

    async def go_online(self) -> None:
        """Connect again (without booting) and send the queued messages in order."""
        await self.connect()
        queue, self.offline_queue = self.offline_queue, []
        for action, payload in queue:
            answer = await self._transaction_message(action, payload)
            if action == Action.start_transaction and answer is not None:
                self._assigned[payload["_local_id"]] = answer.transaction_id
        await self.send_status()


# --- Command line ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.ocpp",
        description="Simulated OCPP 1.6J charge point (a websocket client).",
    )
    parser.add_argument(
        "--url",
        default="ws://127.0.0.1:9000/ocpp/SIMULATED-CP",
        help="the central system's URL, ending in the charge point id",
    )
    parser.add_argument("--password", default=None, help="HTTP Basic password")
    parser.add_argument("--cafile", default=None, help="CA to trust for wss://")
    parser.add_argument("--connectors", type=int, default=1)
    parser.add_argument("--max-current", type=float, default=32.0, help="A")
    parser.add_argument(
        "--plugged-in", action="store_true", help="connect a car once accepted"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between meter values (default: MeterValueSampleInterval)",
    )
    parser.add_argument(
        "--retry", type=float, default=5.0, help="seconds before connecting again"
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="stop after this many seconds"
    )
    return parser


def _simulator(args: argparse.Namespace) -> OcppSimulator:
    context = None
    if args.cafile is not None:
        context = ssl.create_default_context(cafile=args.cafile)
    return OcppSimulator(
        args.url,
        connectors=args.connectors,
        max_current_a=args.max_current,
        password=args.password,
        ssl_context=context,
    )


async def _connection(sim: OcppSimulator, args: argparse.Namespace) -> None:
    """Live through one connection: boot until accepted, then charge and report."""
    try:
        await sim.connect()
    except (aiohttp.ClientError, OSError) as err:
        print(f"Cannot connect to {sim.url}: {err}", flush=True)
        return
    print(f"Connected to {sim.url}", flush=True)
    try:
        while await sim.boot() != RegistrationStatus.accepted:
            print(f"Boot {sim.registration}; trying again", flush=True)
            # Boot again after the interval, or sooner when asked to.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(sim.boot_interval):
                    await sim.accepted.wait()
            if sim.accepted.is_set():
                break
        if args.plugged_in and not sim.connectors[1].plugged_in:
            await sim.plug_in()
        while sim.connected or sim.restarting:
            interval = args.interval or float(
                sim.configuration["MeterValueSampleInterval"][0]
            )
            await asyncio.sleep(interval)
            try:
                await sim.tick(interval)
            except ConnectionError:
                if not sim.restarting:
                    raise
                # A reset took the connection down: it reconnects and boots.
    except (ConnectionError, TimeoutError, OCPPError) as err:
        print(f"Connection lost: {err!r}", flush=True)
    await sim.disconnect()


async def run(args: argparse.Namespace) -> None:
    """Run a simulated charge point as the parsed arguments say, until done."""
    sim = _simulator(args)
    try:
        async with asyncio.timeout(args.duration):
            while True:
                await _connection(sim, args)
                await asyncio.sleep(args.retry)
    except TimeoutError:
        pass
    finally:
        await sim.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.ocpp``."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
