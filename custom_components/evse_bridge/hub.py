"""The hub: every loaded charger, for anything that is not its own entity.

Each charger entry registers a ChargerHandle while it is loaded. A controller,
an exporter or a test finds chargers here, follows their vendor-neutral state
and commands them by capability, without knowing their make or transport.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import time
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from .api.control import Capabilities, ChargerControl
from .api.errors import ChargerAuthenticationError, CommandNotSupportedError
from .api.model import ChargerInfo, ChargerState, Part
from .const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from .coordinator import ChargerCoordinator

HUB: HassKey[ChargerHub] = HassKey(f"{DOMAIN}_hub")


@dataclass(frozen=True, slots=True, order=True)
class ConnectorRef:
    """One connector of one loaded charger."""

    charger_id: str
    """The charger's id in the hub: its serial number or charge-box id."""
    connector: int
    """The connector's number, from 1."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How a command went: it was carried out, and how long that took."""

    took_s: float
    """From sending the command to reading the change back from the charger."""
    scheduled: bool = False
    """The charger took it for later: it shows when the running session ends."""


class ChargerHandle:
    """One loaded charger: identity, state, availability and control."""

    def __init__(
        self,
        *,
        entry: ConfigEntry,
        info: ChargerInfo,
        coordinator: ChargerCoordinator,
        control: ChargerControl,
    ) -> None:
        """Describe a charger whose entry has set up ``coordinator``."""
        self.entry = entry
        self.info = info
        self.coordinator = coordinator
        self.control = control
        self._lock = asyncio.Lock()

    @property
    def charger_id(self) -> str:
        """Return the charger's id in the hub."""
        return self.info.serial_number

    @property
    def name(self) -> str:
        """Return the name the user knows the charger by."""
        return self.entry.title

    @property
    def state(self) -> ChargerState:
        """Return the latest vendor-neutral state."""
        return self.coordinator.data

    def connectors(self) -> list[Part]:
        """Return the parts that are connectors, by number."""
        return sorted(
            (part for part in self.state.parts.values() if part.connector),
            key=lambda part: part.number,
        )

    def connector(self, number: int) -> Part | None:
        """Return connector ``number``, if the charger has reported it."""
        return next((part for part in self.connectors() if part.number == number), None)

    def is_available(self, part: Part) -> bool:
        """Return whether the part's data is current."""
        return self.coordinator.is_part_available(part.id)

    def capabilities(self, number: int) -> Capabilities:
        """Return what connector ``number`` can be told to do now."""
        part = self.connector(number)
        return Capabilities() if part is None else self.control.capabilities(part)

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` on every change of state or availability."""
        return self.coordinator.async_add_listener(update)

    async def async_set_current_limit(self, number: int, amps: int) -> CommandResult:
        """Set the current limit per phase; 0 pauses where the charger allows it."""
        current_limit = self.capabilities(number).current_limit
        if current_limit is None:
            msg = f"{self.name} connector {number} has no current limit"
            raise CommandNotSupportedError(msg)
        current_limit.check(amps)
        return await self._async_command(
            lambda: self.control.set_current_limit(number, amps)
        )

    async def async_set_charging_enabled(
        self,
        number: int,
        enabled: bool,  # noqa: FBT001
    ) -> CommandResult:
        """Pause or resume charging."""
        self._require(self.capabilities(number).pause_resume, number, "pause")
        return await self._async_command(
            lambda: self.control.set_charging_enabled(number, enabled)
        )

    async def async_start_charging(self, number: int) -> CommandResult:
        """Start a session."""
        self._require(self.capabilities(number).start_stop, number, "start")
        return await self._async_command(lambda: self.control.start_charging(number))

    async def async_stop_charging(self, number: int) -> CommandResult:
        """End the session."""
        self._require(self.capabilities(number).start_stop, number, "stop")
        return await self._async_command(lambda: self.control.stop_charging(number))

    async def async_set_phases(self, number: int, phases: int) -> CommandResult:
        """Switch the connector to one or three phases."""
        if phases not in self.capabilities(number).phase_switching:
            msg = f"{self.name} connector {number} cannot switch to {phases} phases"
            raise CommandNotSupportedError(msg)
        return await self._async_command(
            lambda: self.control.set_phases(number, phases)
        )

    async def async_set_operating_mode(self, number: int, mode: str) -> CommandResult:
        """Choose one of the charger's operating modes."""
        if mode not in self.capabilities(number).operating_modes:
            msg = f"{self.name} connector {number} has no operating mode {mode}"
            raise CommandNotSupportedError(msg)
        return await self._async_command(
            lambda: self.control.set_operating_mode(number, mode)
        )

    async def async_set_auto_start(
        self,
        number: int,
        enabled: bool,  # noqa: FBT001
    ) -> CommandResult:
        """Switch starting a session on plug-in."""
        self._require(self.capabilities(number).auto_start, number, "auto start")
        return await self._async_command(
            lambda: self.control.set_auto_start(number, enabled)
        )

    async def async_set_available(
        self,
        number: int,
        available: bool,  # noqa: FBT001
    ) -> CommandResult:
        """Put the connector in or out of service (or schedule it, see result)."""
        self._require(self.capabilities(number).availability, number, "change service")
        applied = True

        async def command() -> None:
            nonlocal applied
            applied = await self.control.set_available(number, available)

        result = await self._async_command(command)
        if not applied:
            LOGGER.info(
                "%s connector %s goes %s service when its session ends",
                self.name,
                number,
                "into" if available else "out of",
            )
        return CommandResult(took_s=result.took_s, scheduled=not applied)

    @property
    def can_restart(self) -> bool:
        """Return whether the charger can be restarted."""
        return any(
            self.control.capabilities(part).restart for part in self.connectors()
        )

    async def async_restart(self) -> CommandResult:
        """Restart the whole charger; done once it went down."""
        if not self.can_restart:
            msg = f"{self.name} cannot restart"
            raise CommandNotSupportedError(msg)
        return await self._async_command(self.control.restart)

    def _require(self, capable: bool, number: int, what: str) -> None:  # noqa: FBT001
        if not capable:
            msg = f"{self.name} connector {number} cannot {what}"
            raise CommandNotSupportedError(msg)

    async def _async_command(
        self, command: Callable[[], Awaitable[None]]
    ) -> CommandResult:
        """Run one command at a time per charger, then show what it reports.

        The control reads the charger back before it returns, so the time it
        took is how long the charger took to show the change. A refused
        password or PIN starts reauthentication.
        """
        async with self._lock:
            started = time.monotonic()
            try:
                await command()
            except ChargerAuthenticationError:
                self.entry.async_start_reauth(self.coordinator.hass)
                raise
            finally:
                # Not the debounced request: the caller waits for the outcome.
                await self.coordinator.async_refresh()
            return CommandResult(took_s=time.monotonic() - started)


class ChargerHub:
    """Every charger loaded in this Home Assistant."""

    def __init__(self) -> None:
        """Start with no charger."""
        self._chargers: dict[str, ChargerHandle] = {}
        self._listeners: list[Callable[[], None]] = []

    @property
    def chargers(self) -> dict[str, ChargerHandle]:
        """Return the loaded chargers by id (a copy)."""
        return dict(self._chargers)

    def get(self, charger_id: str) -> ChargerHandle | None:
        """Return a loaded charger."""
        return self._chargers.get(charger_id)

    @callback
    def async_register(self, handle: ChargerHandle) -> CALLBACK_TYPE:
        """Add a loaded charger; return the callback that removes it again."""
        self._chargers[handle.charger_id] = handle
        self._notify()

        @callback
        def unregister() -> None:
            if self._chargers.get(handle.charger_id) is handle:
                del self._chargers[handle.charger_id]
                self._notify()

        return unregister

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener`` whenever a charger is added or removed."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


@callback
def async_get_hub(hass: HomeAssistant) -> ChargerHub:
    """Return this Home Assistant's hub, made on first use."""
    if (hub := hass.data.get(HUB)) is None:
        hub = hass.data[HUB] = ChargerHub()
    return hub
