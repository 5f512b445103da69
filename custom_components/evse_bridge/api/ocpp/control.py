"""Commands to a charge point, each read back; and its set-up once accepted.

Every command is vendor-neutral and addressed by connector number. It raises
OcppRejectedError when the charge point refuses it, OcppCommandError when
the charge point accepts it but reading back shows no effect, and the other
OcppError subclasses when there is no answer. One command runs at a time per
charge point, from sending to read-back.

The current limit is a TxDefaultProfile of our own id per connector, Absolute,
with one period, at the stack level the settings give (by default the charge
point's ChargeProfileMaxStackLevel) and a ``validTo``: the caller renews it,
so when Home Assistant stops, the profile expires and the charger goes back to
its own default. A pause is the same profile with 0 A.
"""

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
import logging
import math
from typing import Final, NoReturn

from ocpp.v16 import call, call_result
from ocpp.v16.datatypes import ChargingProfile, ChargingSchedule, ChargingSchedulePeriod
from ocpp.v16.enums import (
    AvailabilityStatus,
    AvailabilityType,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    ChargingProfileStatus,
    ChargingRateUnitType,
    ConfigurationStatus,
    GetCompositeScheduleStatus,
    MessageTrigger,
    RemoteStartStopStatus,
    ResetStatus,
    ResetType,
    TriggerMessageStatus,
)

from .charge_point import MAX_CONFIGURATION_KEYS, OcppChargePoint
from .clock import ocpp_datetime, utc_now
from .errors import (
    OcppCallError,
    OcppCommandError,
    OcppConnectionError,
    OcppRejectedError,
)
from .logsafe import clip
from .neutral import in_service
from .rpc import OcppRpc
from .settings import MAX_CONNECTORS
from .transactions import Transaction

__all__ = [
    "DEFAULT_PROFILE_VALIDITY",
    "MAX_CURRENT_A",
    "PROFILE_ID_BASE",
    "AvailabilityChange",
    "OcppControl",
]

PROFILE_ID_BASE: Final = 4200
"""Our profile id is this plus the connector number: sending it again replaces
our profile and no other (profile ids are scoped to the whole charge point)."""
DEFAULT_PROFILE_VALIDITY: Final = timedelta(minutes=10)
"""How long a limit holds unless renewed: a Home Assistant that stops leaves
the charger on its own default within this."""
START_SLACK: Final = timedelta(minutes=1)
"""The schedule starts this long before now, so a charge point whose clock is
a little behind ours applies it at once."""
MAX_CURRENT_A: Final = 80.0
"""The most any AC connector carries (IEC 62196-2, single phase)."""
COMPOSITE_DURATION_S: Final = 60
"""Length of the composite schedule asked for: only its first period counts."""
LIMIT_TOLERANCE_A: Final = 0.05
"""Limits travel with one decimal."""
_MEASURANDS_KEY: Final = "MeterValuesSampledData"
_MEASURANDS_MAX_KEY: Final = "MeterValuesSampledDataMaxLength"
_INTERVAL_KEY: Final = "MeterValueSampleInterval"
_CONNECTORS_KEY: Final = "NumberOfConnectors"
_STACK_LEVEL_KEY: Final = "ChargeProfileMaxStackLevel"


class AvailabilityChange(StrEnum):
    """What became of an availability change."""

    APPLIED = "applied"
    """The connector reports the new availability."""
    SCHEDULED = "scheduled"
    """It takes effect when the running transaction ends."""


def _connector(connector_id: int, *, station: bool) -> int:
    lowest = 0 if station else 1
    if (
        isinstance(connector_id, bool)
        or not isinstance(connector_id, int)
        or not lowest <= connector_id <= MAX_CONNECTORS
    ):
        msg = f"Connector must be {lowest}-{MAX_CONNECTORS}, not {connector_id}"
        raise ValueError(msg)
    return connector_id


def _amps(amps: float) -> float:
    if (
        isinstance(amps, bool)
        or not isinstance(amps, int | float)
        or not math.isfinite(amps)
        or not 0 <= amps <= MAX_CURRENT_A
    ):
        msg = f"Current limit must be 0-{MAX_CURRENT_A} A, not {amps}"
        raise ValueError(msg)
    return round(float(amps), 1)


def _first_limit(schedule: object) -> float | None:
    """Return the first limit of a composite schedule in amperes, if it has one."""
    if not isinstance(schedule, dict) or schedule.get("charging_rate_unit") != "A":
        return None
    periods = schedule.get("charging_schedule_period") or []
    limits = [
        float(period["limit"])
        for period in periods
        if isinstance(period, dict) and period.get("start_period") == 0
    ]
    return limits[0] if limits else None


class OcppControl:
    """Commands to one charge point (build one whenever needed: it keeps no state)."""

    def __init__(self, charge_point: OcppChargePoint) -> None:
        """Control ``charge_point``."""
        self._cp = charge_point

    @property
    def _timeout(self) -> float:
        return self._cp.settings.verify_timeout_s

    def _fail_refused(self, action: str, status: str) -> NoReturn:
        msg = f"Charge point {clip(self._cp.id)} refused {action} ({status})"
        raise OcppRejectedError(msg, status=status)

    def _fail_not_done(self, what: str) -> NoReturn:
        msg = (
            f"Charge point {clip(self._cp.id)} accepted {what} but did not carry it out"
        )
        raise OcppCommandError(msg)

    # --- Current ---------------------------------------------------------------

    async def set_current_limit(
        self,
        connector_id: int,
        amps: float,
        *,
        valid_for: timedelta = DEFAULT_PROFILE_VALIDITY,
    ) -> float | None:
        """Limit a connector's current (0 pauses); connector 0 limits all.

        Return the limit read back: the composite schedule's, or (if the charge
        point has none to give) the current it offers in its next meter values;
        None if it reports neither.
        """
        _connector(connector_id, station=True)
        limit = _amps(amps)
        if valid_for <= timedelta(0):
            msg = "The limit must be valid for some time"
            raise ValueError(msg)
        async with self._cp.command_lock:
            return await self._set_limit(connector_id, limit, valid_for)

    async def _set_limit(
        self, connector_id: int, limit: float, valid_for: timedelta
    ) -> float | None:
        connection = self._cp.require_connection()
        now = utc_now()
        profile = ChargingProfile(
            charging_profile_id=PROFILE_ID_BASE + connector_id,
            stack_level=self._stack_level(),
            charging_profile_purpose=ChargingProfilePurposeType.tx_default_profile,
            charging_profile_kind=ChargingProfileKindType.absolute,
            valid_to=ocpp_datetime(now + valid_for),
            charging_schedule=ChargingSchedule(
                charging_rate_unit=ChargingRateUnitType.amps,
                start_schedule=ocpp_datetime(now - START_SLACK),
                charging_schedule_period=[
                    ChargingSchedulePeriod(start_period=0, limit=limit)
                ],
            ),
        )
        answer = await connection.request(
            call.SetChargingProfile(
                connector_id=connector_id, cs_charging_profiles=profile
            ),
            call_result.SetChargingProfile,
        )
        if answer.status != ChargingProfileStatus.accepted:
            self._fail_refused("a current limit", answer.status)
        read = await self._read_limit(
            connection,
            connector_id,
            lambda value: abs(value - limit) <= LIMIT_TOLERANCE_A,
            lambda offered: offered <= limit + LIMIT_TOLERANCE_A,
            f"a limit of {limit} A",
        )
        self._cp.record(connector_id).limit_a = read
        self._cp.changed()
        return read

    def _stack_level(self) -> int:
        if self._cp.settings.stack_level is not None:
            return self._cp.settings.stack_level
        value, _ = self._cp.configuration.get(_STACK_LEVEL_KEY, (None, True))
        return int(value) if value is not None and value.isdigit() else 0

    async def _read_limit(
        self,
        connection: OcppRpc,
        connector_id: int,
        scheduled: Callable[[float], bool],
        offered: Callable[[float], bool],
        what: str,
    ) -> float | None:
        """Read the limit back: the composite schedule, else the offered current."""
        try:
            answer: call_result.GetCompositeSchedule | None = await connection.request(
                call.GetCompositeSchedule(
                    connector_id=connector_id,
                    duration=COMPOSITE_DURATION_S,
                    charging_rate_unit=ChargingRateUnitType.amps,
                ),
                call_result.GetCompositeSchedule,
            )
        except OcppCallError:
            answer = None
        if answer is not None and answer.status == GetCompositeScheduleStatus.accepted:
            limit = _first_limit(answer.charging_schedule)
            if limit is not None:
                if not scheduled(limit):
                    msg = (
                        f"Charge point {clip(self._cp.id)} accepted {what} on"
                        f" connector {connector_id}, but its schedule gives {limit} A"
                    )
                    raise OcppCommandError(msg)
                return limit
        current = await self._next_offered_current(connection, connector_id)
        if current is None:
            self._cp.once.log(
                logging.INFO,
                "unverified_limit",
                "Charge point %s gives neither a composite schedule nor the current"
                " it offers: its current limits cannot be read back",
                clip(self._cp.id),
            )
            return None
        if not offered(current):
            msg = (
                f"Charge point {clip(self._cp.id)} accepted {what} on connector"
                f" {connector_id}, but offers {current} A"
            )
            raise OcppCommandError(msg)
        return current

    async def _next_offered_current(
        self, connection: OcppRpc, connector_id: int
    ) -> float | None:
        """Ask for meter values and return the offered current in them, if any."""
        record = self._cp.record(connector_id)
        before = record.sample
        if not await self._trigger(
            connection, MessageTrigger.meter_values, connector_id
        ):
            return None
        if not await self._cp.wait_for(
            lambda: record.sample is not before, self._timeout
        ):
            return None
        return None if record.sample is None else record.sample.offered_current_a

    async def pause(
        self, connector_id: int, *, valid_for: timedelta = DEFAULT_PROFILE_VALIDITY
    ) -> None:
        """Pause charging with a 0 A limit; ``resume`` sets the limit before it."""
        record = self._cp.record(_connector(connector_id, station=True))
        if record.limit_a:
            record.resume_limit_a = record.limit_a
        await self.set_current_limit(connector_id, 0, valid_for=valid_for)

    async def resume(
        self, connector_id: int, *, valid_for: timedelta = DEFAULT_PROFILE_VALIDITY
    ) -> float | None:
        """End a pause: the limit before it again, or none of ours if there was none."""
        record = self._cp.record(_connector(connector_id, station=True))
        if record.resume_limit_a:
            return await self.set_current_limit(
                connector_id, record.resume_limit_a, valid_for=valid_for
            )
        async with self._cp.command_lock:
            connection = self._cp.require_connection()
            await connection.request(
                call.ClearChargingProfile(id=PROFILE_ID_BASE + connector_id),
                call_result.ClearChargingProfile,
            )  # Accepted, or Unknown when the profile has expired: both fine
            read = await self._read_limit(
                connection,
                connector_id,
                lambda value: value > 0,
                lambda offered: offered > 0,
                "the end of a pause",
            )
            record.limit_a = read
            self._cp.changed()
            return read

    # --- Sessions --------------------------------------------------------------

    async def start(self, connector_id: int, id_tag: str | None = None) -> Transaction:
        """Start a session on a connector (a vehicle must be connected).

        Return the transaction the charge point started; one that runs
        already is returned as it is.
        """
        _connector(connector_id, station=False)
        async with self._cp.command_lock:
            connection = self._cp.require_connection()
            record = self._cp.record(connector_id)
            before = record.transaction
            if before is not None and before.is_open:
                return before
            answer = await connection.request(
                call.RemoteStartTransaction(
                    id_tag=id_tag or self._cp.settings.remote_id_tag,
                    connector_id=connector_id,
                ),
                call_result.RemoteStartTransaction,
            )
            if answer.status != RemoteStartStopStatus.accepted:
                self._fail_refused("a remote start", answer.status)

            def started() -> bool:
                running = record.transaction
                return running is not None and running is not before and running.is_open

            if (
                not await self._cp.wait_for(started, self._timeout)
                or (transaction := record.transaction) is None
            ):
                self._fail_not_done(f"a remote start on connector {connector_id}")
            return transaction

    async def stop(self, connector_id: int) -> Transaction:
        """Stop the session running on a connector; return it, stopped."""
        _connector(connector_id, station=False)
        async with self._cp.command_lock:
            connection = self._cp.require_connection()
            running = self._cp.record(connector_id).transaction
            if running is None or not running.is_open:
                msg = f"No transaction runs on connector {connector_id}"
                raise OcppCommandError(msg)
            answer = await connection.request(
                call.RemoteStopTransaction(transaction_id=running.id),
                call_result.RemoteStopTransaction,
            )
            if answer.status != RemoteStartStopStatus.accepted:
                self._fail_refused("a remote stop", answer.status)

            def stopped() -> bool:
                known = self._cp.ledger.get(running.id)
                return known is not None and not known.is_open

            if not await self._cp.wait_for(stopped, self._timeout):
                self._fail_not_done(f"a remote stop on connector {connector_id}")
            return self._cp.ledger.get(running.id) or running

    # --- Availability and reset ------------------------------------------------

    async def enable(self, connector_id: int) -> AvailabilityChange:
        """Make a connector (0: the whole station) available for charging."""
        return await self._set_available(connector_id, available=True)

    async def disable(self, connector_id: int) -> AvailabilityChange:
        """Take a connector (0: the whole station) out of service."""
        return await self._set_available(connector_id, available=False)

    async def _set_available(
        self, connector_id: int, *, available: bool
    ) -> AvailabilityChange:
        _connector(connector_id, station=True)
        async with self._cp.command_lock:
            connection = self._cp.require_connection()
            answer = await connection.request(
                call.ChangeAvailability(
                    connector_id=connector_id,
                    type=AvailabilityType.operative
                    if available
                    else AvailabilityType.inoperative,
                ),
                call_result.ChangeAvailability,
            )
            if answer.status == AvailabilityStatus.scheduled:
                return AvailabilityChange.SCHEDULED
            if answer.status != AvailabilityStatus.accepted:
                self._fail_refused("an availability change", answer.status)

            def shows() -> bool:
                return in_service(self._cp.records, connector_id) is available

            if not shows():
                await self._trigger(
                    connection, MessageTrigger.status_notification, connector_id or None
                )
                if not await self._cp.wait_for(shows, self._timeout):
                    self._fail_not_done(
                        f"an availability change on connector {connector_id}"
                    )
            return AvailabilityChange.APPLIED

    async def reset(self, *, hard: bool = False) -> None:
        """Restart the charge point; done when it has disconnected or booted."""
        async with self._cp.command_lock:
            connection = self._cp.require_connection()
            boots = self._cp.boots
            answer = await connection.request(
                call.Reset(type=ResetType.hard if hard else ResetType.soft),
                call_result.Reset,
            )
            if answer.status != ResetStatus.accepted:
                self._fail_refused("a reset", answer.status)
            if not await self._cp.wait_for(
                lambda: self._cp.connection is not connection or self._cp.boots > boots,
                self._timeout,
            ):
                self._fail_not_done("a reset")

    async def request_boot(self) -> None:
        """Make the charge point boot again, to take the integration's new decision.

        Works while it is pending too: that is when it is needed, right after
        the user accepted it.
        """
        async with self._cp.command_lock:
            connection = self._cp.connection
            if connection is None or connection.closed:
                msg = f"Charge point {clip(self._cp.id)} is not connected"
                raise OcppConnectionError(msg)
            boots = self._cp.boots
            answer = await connection.request(
                call.TriggerMessage(requested_message=MessageTrigger.boot_notification),
                call_result.TriggerMessage,
            )
            if answer.status != TriggerMessageStatus.accepted:
                self._fail_refused("to boot again", answer.status)
            if not await self._cp.wait_for(
                lambda: self._cp.boots > boots, self._timeout
            ):
                self._fail_not_done("to boot again")

    # --- Set-up ----------------------------------------------------------------

    async def configure(self, connection: OcppRpc) -> None:
        """Ask a newly accepted charge point for what the central system needs.

        Its configuration keys, its identity (if it reconnected without a
        BootNotification), the meter values the model shows, and its status and
        meter values now, so nothing waits for the charger's own schedule. A
        step the charge point refuses is skipped; a charge point that stops
        answering ends it.
        """
        try:
            await self._read_configuration(connection)
            if self._cp.boot_info is None:
                await self._trigger(connection, MessageTrigger.boot_notification)
            if self._cp.settings.configure_meter_values:
                await self._configure_meter_values(connection)
            await self._trigger(connection, MessageTrigger.status_notification)
            await self._trigger(connection, MessageTrigger.meter_values)
        except OcppConnectionError as err:
            self._cp.once.log(
                logging.INFO,
                "configure",
                "Set-up of charge point %s stopped: %s",
                clip(self._cp.id),
                err,
            )

    async def _read_configuration(self, connection: OcppRpc) -> None:
        try:
            answer = await connection.request(
                call.GetConfiguration(), call_result.GetConfiguration
            )
        except OcppCallError as err:
            self._cp.once.log(logging.INFO, "get_configuration", "%s", err)
            return
        configuration: dict[str, tuple[str | None, bool]] = {}
        for item in answer.configuration_key or []:
            if len(configuration) >= MAX_CONFIGURATION_KEYS:
                break
            configuration[item["key"]] = (item.get("value"), bool(item["readonly"]))
        self._cp.configuration = configuration
        count, _ = configuration.get(_CONNECTORS_KEY, (None, True))
        if count is not None and count.isdigit():
            for connector_id in range(1, min(int(count), MAX_CONNECTORS) + 1):
                self._cp.record(connector_id)
            self._cp.changed()

    def _writable(self, key: str) -> bool:
        """Return whether a key may be written: not read-only (or not known)."""
        _, readonly = self._cp.configuration.get(key, (None, False))
        return not readonly

    async def _change(self, connection: OcppRpc, key: str, value: str) -> bool:
        """Set a configuration key; return whether the charge point took it."""
        try:
            answer = await connection.request(
                call.ChangeConfiguration(key=key, value=value),
                call_result.ChangeConfiguration,
            )
        except OcppCallError as err:
            self._cp.once.log(logging.INFO, ("change", key), "%s", err)
            return False
        if answer.status in {
            ConfigurationStatus.accepted,
            ConfigurationStatus.reboot_required,
        }:
            self._cp.configuration[key] = (value, False)
            return True
        self._cp.once.log(
            logging.INFO,
            ("change", key),
            "Charge point %s refused %s = %s (%s)",
            clip(self._cp.id),
            key,
            clip(value),
            answer.status,
        )
        return False

    async def _configure_meter_values(self, connection: OcppRpc) -> None:
        """Ask for the sample interval and the measurands the model shows.

        The whole list first; if refused, one measurand at a time, then those
        taken together (some chargers refuse the measurands they lack).
        """
        settings = self._cp.settings
        interval = str(settings.meter_sample_interval_s)
        current, _ = self._cp.configuration.get(_INTERVAL_KEY, (None, False))
        if self._writable(_INTERVAL_KEY) and current != interval:
            await self._change(connection, _INTERVAL_KEY, interval)
        if not self._writable(_MEASURANDS_KEY):
            return
        wanted = list(settings.measurands)
        current, _ = self._cp.configuration.get(_MEASURANDS_KEY, (None, False))
        if current is not None and set(current.split(",")) == set(wanted):
            return
        if await self._change(connection, _MEASURANDS_KEY, ",".join(wanted)):
            return
        taken = [
            measurand
            for measurand in wanted
            if await self._change(connection, _MEASURANDS_KEY, measurand)
        ]
        limit, _ = self._cp.configuration.get(_MEASURANDS_MAX_KEY, (None, True))
        if limit is not None and limit.isdigit():
            taken = taken[: int(limit)]
        if len(taken) > 1:
            await self._change(connection, _MEASURANDS_KEY, ",".join(taken))

    async def _trigger(
        self,
        connection: OcppRpc,
        message: MessageTrigger,
        connector_id: int | None = None,
    ) -> bool:
        """Ask the charge point to send a message now; return whether it will."""
        try:
            answer = await connection.request(
                call.TriggerMessage(
                    requested_message=message, connector_id=connector_id
                ),
                call_result.TriggerMessage,
            )
        except OcppCallError as err:
            self._cp.once.log(logging.INFO, ("trigger", message), "%s", err)
            return False
        return answer.status == TriggerMessageStatus.accepted
