"""An OCPP charge point's commands, as the hub's control by capability.

The layer's OcppControl carries each command out and reads it back; this
adapter gives it the vendor-neutral shape, remembers the limit of each
connector and renews it before its profile expires. When Home Assistant
stops, nothing renews it: the profile expires and the charger falls back to
its own default (the capability's ``fallback``).
"""

from collections.abc import Awaitable, Callable
from typing import Final, override

from ...api.control import Capabilities, ChargerControl, CurrentRange, Fallback
from ...api.errors import (
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
    ChargerRefusedError,
    ChargerResponseError,
    ChargerTimeoutError,
    CommandNotSupportedError,
)
from ...api.model import MIN_CURRENT_A, Part
from ...api.ocpp import (
    AvailabilityChange,
    OcppCallError,
    OcppCommandError,
    OcppControl,
    OcppError,
    OcppRejectedError,
    OcppTimeoutError,
)
from ...const import LOGGER
from .const import PROFILE_VALIDITY

_UNSUPPORTED_CODES: Final = frozenset({"NotImplemented", "NotSupported"})
"""CALLERROR codes of a charge point that does not know the message."""


async def _translated[T](work: Awaitable[T]) -> T:
    """Await a command of the layer; its errors become the hub's.

    A CALLERROR saying the charge point lacks the message means it cannot do
    this; any other CALLERROR is an answer, not a lost connection.
    """
    try:
        return await work
    except OcppRejectedError as err:
        raise ChargerRefusedError(str(err)) from err
    except OcppCommandError as err:
        raise ChargerCommandError(str(err)) from err
    except OcppCallError as err:
        if err.code in _UNSUPPORTED_CODES:
            raise CommandNotSupportedError(str(err)) from err
        raise ChargerResponseError(str(err)) from err
    except OcppTimeoutError as err:
        raise ChargerTimeoutError(str(err)) from err
    except OcppError as err:
        raise ChargerConnectionError(str(err)) from err


class OcppChargerControl(ChargerControl):
    """Current limit, pause, sessions, service and restart of one charge point.

    A pause is a 0 A limit; a limit set while paused applies on resume.
    Resuming sets the limit again (or removes ours if there was none). Being
    in service (ChangeAvailability) is separate: a connector taken out of
    service stays out until it is put back, whatever pauses and resumes.
    """

    def __init__(self, control: Callable[[], OcppControl], max_current_a: int) -> None:
        """Command the charge point ``control`` returns."""
        self._control = control
        self._max_current_a = max_current_a
        self.limits: dict[int, int] = {}
        """The limit wanted per connector, renewed until changed."""
        self.paused: set[int] = set()
        """Connectors Home Assistant paused (a 0 A limit, renewed too)."""

    @override
    def capabilities(self, part: Part) -> Capabilities:
        """Return what every OCPP connector can do (Core and SmartCharging)."""
        if part.connector is None:
            return Capabilities()
        return Capabilities(
            current_limit=CurrentRange(min_a=MIN_CURRENT_A, max_a=self._max_current_a),
            pause_resume=True,
            start_stop=True,
            availability=True,
            restart=True,
            # When the profile expires the charger takes its own default,
            # which OCPP does not report: most chargers' is their full current.
            fallback=Fallback(
                current_a=float(self._max_current_a),
                after_s=PROFILE_VALIDITY.total_seconds(),
            ),
        )

    async def _limit(self, connector: int, amps: int) -> None:
        await _translated(
            self._control().set_current_limit(
                connector, amps, valid_for=PROFILE_VALIDITY
            )
        )

    @override
    async def set_current_limit(self, connector: int, amps: int) -> None:
        """Limit the connector; while paused, the limit waits for the resume."""
        if connector not in self.paused:
            await self._limit(connector, amps)
        self.limits[connector] = amps

    @override
    async def set_charging_enabled(self, connector: int, enabled: bool) -> None:
        """Resume or pause a connector."""
        if not enabled:
            await self._limit(connector, 0)
            self.paused.add(connector)
            return
        if connector in self.paused:
            if connector in self.limits:
                await self._limit(connector, self.limits[connector])
            else:
                await _translated(
                    self._control().resume(connector, valid_for=PROFILE_VALIDITY)
                )
            self.paused.discard(connector)

    @override
    async def start_charging(self, connector: int) -> None:
        """Start a session (RemoteStartTransaction)."""
        await _translated(self._control().start(connector))

    @override
    async def stop_charging(self, connector: int) -> None:
        """Stop the session (RemoteStopTransaction)."""
        await _translated(self._control().stop(connector))

    @override
    async def set_available(self, connector: int, available: bool) -> bool:
        """Put a connector in or out of service (ChangeAvailability).

        Taken out of service during a session, the charge point may schedule
        it (Scheduled): it shows Unavailable when the session ends.
        """
        layer = self._control()
        change = await _translated(
            layer.enable(connector) if available else layer.disable(connector)
        )
        return change is AvailabilityChange.APPLIED

    @override
    async def restart(self) -> None:
        """Restart the charge point (a soft Reset); done once it went down.

        Limits are sent again when it is back (see the coordinator).
        """
        await _translated(self._control().reset())

    async def async_renew(self) -> None:
        """Send every limit and pause again before its profile expires."""
        for connector in sorted(self.paused | set(self.limits)):
            amps = 0 if connector in self.paused else self.limits[connector]
            try:
                await self._limit(connector, amps)
            except ChargerError as err:
                LOGGER.warning(
                    "Could not renew the %s A limit of connector %s; the charger"
                    " falls back to its own default if this persists: %s",
                    amps,
                    connector,
                    err,
                )
