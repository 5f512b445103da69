"""Set-points to one connector: never blocking the meter, the newest one wins."""

import asyncio
import time

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..api.control import Capabilities
from ..api.errors import ChargerError, CommandNotSupportedError
from ..const import LOGGER
from ..hub import ChargerHandle, ConnectorRef, async_get_hub
from ..smart.model import Phases
from .const import COMMAND_RETRY, RESEND_AFTER
from .expect import Expectation


class Commander:
    """Carries one connector's set-points out through the hub.

    A set-point is handed over without waiting (the meter path never awaits a
    charger); at most one command sequence is in flight, and when it ends the
    newest set-point is sent if it differs from what the charger has. 0 pauses:
    by a 0 A limit where the charger takes one, else by pausing charging; a
    later current resumes it. A failure is logged once and tried again after
    COMMAND_RETRY. Until the connector's readings show what the car does with
    a command, ``ev_current`` counts the command (site/expect.py).
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, ref: ConnectorRef
    ) -> None:
        """Command connector ``ref``."""
        self._hass = hass
        self._entry = entry
        self.ref = ref
        self.wanted: int | None = None
        self.sent: int | None = None
        """The last set-point the charger accepted (None: not known)."""
        self.failed = False
        self.expectation: Expectation | None = None
        self._retry_at = 0.0
        self._sent_at = 0.0
        self._drifting = False
        self._task: asyncio.Task[None] | None = None

    def ev_current(
        self, measured: Phases, phases: int, reading_at: float | None, now: float
    ) -> Phases:
        """Return what the car draws: the reading, or the command it has not shown."""
        expectation = self.expectation
        if expectation is None:
            return measured
        if expectation.caught_up(measured, reading_at, now):
            self.expectation = None
            return measured
        return expectation.current(measured, phases, now)

    @callback
    def submit(self, amps: int) -> None:
        """Ask for ``amps`` (0 = paused); returns at once.

        An unchanged set-point goes out again if the connector has left it on
        its own (the box started, or someone changed its limit), at most once
        every RESEND_AFTER.
        """
        self.wanted = amps
        if self._task is not None and not self._task.done():
            return  # the running sequence sends the newest set-point next
        now = time.monotonic()
        if now < self._retry_at:
            return
        if amps == self.sent:
            if now < self._sent_at + RESEND_AFTER.total_seconds() or not self._left(
                amps
            ):
                return
            self.sent = None
        self._task = self._entry.async_create_background_task(
            self._hass,
            self._run(),
            f"evse_bridge site command {self.ref.charger_id} {self.ref.connector}",
        )

    async def async_fall_back(self, amps: int) -> None:
        """Bring the connector down to ``amps`` now, if it may be above it.

        For Home Assistant's stop: most chargers keep the last limit while
        nobody commands them, so it must be a safe one.
        """
        if self.sent is not None and self.sent <= amps:
            return
        handle = async_get_hub(self._hass).get(self.ref.charger_id)
        if handle is None:
            return
        try:
            await self._send(handle, amps)
        except (ChargerError, ValueError) as err:
            LOGGER.warning(
                "Could not leave %s connector %s at %s A on stop: %s",
                handle.name,
                self.ref.connector,
                amps,
                err,
            )

    async def _run(self) -> None:
        while (amps := self.wanted) is not None and amps != self.sent:
            handle = async_get_hub(self._hass).get(self.ref.charger_id)
            if handle is None:
                return  # not loaded: the next set-point after it loads goes out
            given = _given(handle.capabilities(self.ref.connector), amps)
            self.expectation = Expectation(
                amps=given,
                raised=given > (self.sent or 0),
                at=dt_util.utcnow().timestamp(),
            )
            try:
                await self._send(handle, amps)
            except (ChargerError, ValueError) as err:
                self.expectation = None
                if not self.failed:
                    LOGGER.warning(
                        "Could not set %s connector %s to %s A: %s",
                        handle.name,
                        self.ref.connector,
                        amps,
                        err,
                    )
                self.failed = True
                self.sent = None
                self._retry_at = time.monotonic() + COMMAND_RETRY.total_seconds()
                return
            if self.failed:
                LOGGER.info(
                    "%s connector %s takes commands again",
                    handle.name,
                    self.ref.connector,
                )
                self.failed = False
            self.sent = amps
            self._sent_at = time.monotonic()

    def _left(self, amps: int) -> bool:
        """Return whether the connector reports other than set-point ``amps``.

        Logged once, until the connector shows the set-point again.
        """
        handle = async_get_hub(self._hass).get(self.ref.charger_id)
        part = None if handle is None else handle.connector(self.ref.connector)
        if handle is None or part is None or not handle.is_available(part):
            return False
        connector = part.connector
        assert connector is not None  # noqa: S101 - connector() returns connectors
        capabilities = handle.capabilities(self.ref.connector)
        given = _given(capabilities, amps)
        limit = connector.current_limit_a
        zero_pauses = (
            capabilities.current_limit and capabilities.current_limit.zero_pauses
        )
        if given == 0 and zero_pauses:
            found = f"{limit:g} A" if limit else None
        elif given == 0:
            found = "charging" if connector.charging_enabled else None
        elif capabilities.pause_resume and connector.charging_enabled is False:
            found = "paused"
        else:
            found = f"{limit:g} A" if limit is not None and limit != given else None
        if found is None:
            self._drifting = False
            return False
        if not self._drifting:
            self._drifting = True
            LOGGER.warning(
                "%s connector %s is at %s, not the site's %s A; setting it again",
                handle.name,
                self.ref.connector,
                found,
                given,
            )
        return True

    async def _send(self, handle: ChargerHandle, amps: int) -> None:
        number = self.ref.connector
        capabilities = handle.capabilities(number)
        limit = capabilities.current_limit
        if amps == 0 and limit is not None and limit.zero_pauses:
            await handle.async_set_current_limit(number, 0)
        elif amps == 0 and capabilities.pause_resume:
            await handle.async_set_charging_enabled(number, False)  # noqa: FBT003
        elif limit is None:
            msg = f"{handle.name} connector {number} has no current limit"
            raise CommandNotSupportedError(msg)
        else:
            # A charger that can neither pause nor take 0 A gets its least.
            await handle.async_set_current_limit(
                number, min(max(amps, limit.min_a), limit.max_a)
            )
            part = handle.connector(number)
            paused = (
                part is not None
                and part.connector is not None
                and (part.connector.charging_enabled is False)
            )
            if amps > 0 and paused and capabilities.pause_resume:
                await handle.async_set_charging_enabled(number, True)  # noqa: FBT003


def _given(capabilities: Capabilities, amps: int) -> int:
    """Return the current a connector gets for set-point ``amps`` (0 = paused)."""
    limit = capabilities.current_limit
    if amps == 0 and (capabilities.pause_resume or (limit and limit.zero_pauses)):
        return 0
    if limit is None:
        return amps
    return min(max(amps, limit.min_a), limit.max_a)
