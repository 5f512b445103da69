"""Coordinators: where charger data enters Home Assistant."""

from abc import abstractmethod
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import timedelta
import time
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api.chargers import PolledCharger
from .api.errors import ChargerAuthenticationError, ChargerError
from .api.model import ChargerState
from .const import DOMAIN, LOGGER, MAX_BACKOFF
from .energy import EnergyLedger

if TYPE_CHECKING:
    from .backends import ChargerBackend, EntryKind
    from .hub import ChargerHandle


class EntryRuntimeData:
    """What a loaded entry holds; each kind of entry has its own."""

    @property
    def kind(self) -> EntryKind:
        """Return the entry's kind."""
        raise NotImplementedError

    def diagnostics(self) -> dict[str, Any]:
        """Return what the entry's diagnostics show besides the entry itself."""
        return {}


@dataclass(kw_only=True)
class ChargerRuntimeData(EntryRuntimeData):
    """What a loaded charger entry holds."""

    backend: ChargerBackend
    coordinator: ChargerCoordinator
    handle: ChargerHandle
    charger_device_id: str

    @property
    @override
    def kind(self) -> EntryKind:
        """Return the charger's backend."""
        return self.backend


type EvseBridgeConfigEntry = ConfigEntry[EntryRuntimeData]
type ChargerConfigEntry = ConfigEntry[ChargerRuntimeData]


def is_charger(entry: EvseBridgeConfigEntry) -> TypeGuard[ChargerConfigEntry]:
    """Return whether an entry is a charger's."""
    return isinstance(entry.runtime_data, ChargerRuntimeData)


class PartListener(NamedTuple):
    """The context of a listener that follows some fields of one part."""

    part_id: str
    reads: AbstractSet[str] | None
    """The fields it shows (as in api.model.ALL_FIELDS); None: any."""


type _ListenerIndex = tuple[
    list[CALLBACK_TYPE],
    dict[str, list[tuple[CALLBACK_TYPE, AbstractSet[str] | None]]],
]


class ChargerCoordinator(DataUpdateCoordinator[ChargerState]):
    """What every charger's coordinator offers: parts, freshness and energy.

    Lifetime energy readings go through the entry's energy ledger before
    anything sees them. Listeners registered with a PartListener as context
    hear only updates of their part (``updated_part``) that change a field
    they read (``updated_fields``); the others hear all.
    """

    config_entry: ChargerConfigEntry
    updated_part: str | None = None
    """The part the last update was about; None when it concerns all parts."""
    updated_fields: AbstractSet[str] | None = None
    """The fields of ``updated_part`` the update changed; None: any of them
    (its availability changed, say)."""
    _by_part: _ListenerIndex | None = None
    """The listeners by part, built at the first update after a change."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ChargerConfigEntry,
        *,
        name: str,
        serial_number: str,
        update_interval: timedelta | None = None,
    ) -> None:
        """Set up the coordinator of one charger."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=name,
            update_interval=update_interval,
            always_update=False,
        )
        self.serial_number = serial_number
        self.energy = EnergyLedger(hass, entry.entry_id, serial_number)

    @override
    async def _async_setup(self) -> None:
        """Load the energy totals; they are written at unload."""
        await self.energy.async_load()
        self.config_entry.async_on_unload(self.energy.async_save)

    @property
    def control_available(self) -> bool:
        """Return whether the charger can be commanded now."""
        return self.last_update_success

    def connection_diagnostics(self) -> dict[str, bool]:
        """Return how the connection to the charger is, for diagnostics."""
        return {
            "last_update_success": self.last_update_success,
            "control_available": self.control_available,
        }

    @abstractmethod
    def is_part_available(self, part_id: str) -> bool:
        """Return whether a part's data is current."""

    @abstractmethod
    def seconds_since_seen(self, part_id: str) -> float | None:
        """Return how long ago the part's data arrived."""

    @override
    @callback
    def async_add_listener(
        self, update_callback: CALLBACK_TYPE, context: Any = None
    ) -> CALLBACK_TYPE:
        """Listen for updates; a PartListener context hears only its part's."""
        remove = super().async_add_listener(update_callback, context)
        self._by_part = None

        @callback
        def remove_listener() -> None:
            remove()
            self._by_part = None

        return remove_listener

    @override
    def async_update_listeners(self) -> None:
        """Call the listeners of the fields that changed; all if not one part's.

        Most messages change a few values of one part: an entity that shows
        none of them is not even called.
        """
        part_id = self.updated_part
        if part_id is None:
            listeners = [listener for listener, _ in self._listeners.values()]
        else:
            if self._by_part is None:
                self._by_part = self._index_listeners()
            everyone, by_part = self._by_part
            fields = self.updated_fields
            listeners = [
                *everyone,
                *(
                    listener
                    for listener, reads in by_part.get(part_id, ())
                    if fields is None or reads is None or not reads.isdisjoint(fields)
                ),
            ]
        for update_callback in listeners:
            try:
                update_callback()
            except Exception:  # noqa: BLE001 - one bad listener must not stop the rest
                LOGGER.exception("Error updating an entity of %s", part_id)

    def _index_listeners(self) -> _ListenerIndex:
        """Return the listeners that hear everything, and those of each part."""
        everyone: list[CALLBACK_TYPE] = []
        by_part: dict[str, list[tuple[CALLBACK_TYPE, AbstractSet[str] | None]]] = {}
        for listener, context in self._listeners.values():
            if isinstance(context, PartListener):
                by_part.setdefault(context.part_id, []).append(
                    (listener, context.reads)
                )
            else:
                everyone.append(listener)
        return everyone, by_part


class PolledCoordinator(ChargerCoordinator):
    """Polling coordinator for a charger with an HTTP API.

    One ``get_state`` per interval (one or two requests, by make). After a
    failed poll the interval doubles up to MAX_BACKOFF; the first good poll
    restores it. A charger that reports session energy only
    (``from_sessions``) gets a lifetime total built from its sessions.
    """

    def __init__(  # noqa: PLR0913 - what polling needs, by keyword
        self,
        hass: HomeAssistant,
        entry: ChargerConfigEntry,
        *,
        charger: PolledCharger,
        name: str,
        serial_number: str,
        interval: timedelta,
        from_sessions: bool,
    ) -> None:
        """Poll ``charger`` every ``interval``."""
        super().__init__(
            hass,
            entry,
            name=name,
            serial_number=serial_number,
            update_interval=interval,
        )
        self.charger = charger
        self._interval = interval
        self._from_sessions = from_sessions
        self._failures = 0
        self._last_success: float | None = None

    @override
    async def _async_update_data(self) -> ChargerState:
        """Poll the charger once."""
        try:
            state = await self.charger.get_state()
        except ChargerAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except ChargerError as err:
            self._failures += 1
            self.update_interval = min(self._interval * 2**self._failures, MAX_BACKOFF)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        self._failures = 0
        self.update_interval = self._interval
        self._last_success = time.monotonic()
        return ChargerState(
            parts={
                part_id: self.energy.trusted(
                    state, part, from_sessions=self._from_sessions
                )
                for part_id, part in state.parts.items()
            }
        )

    @override
    def is_part_available(self, part_id: str) -> bool:
        """Return whether the last poll succeeded and had the part."""
        return self.last_update_success and part_id in self.data.parts

    @override
    def seconds_since_seen(self, part_id: str) -> float | None:
        """Return how long ago the last successful poll was."""
        return (
            None
            if self._last_success is None
            else time.monotonic() - self._last_success
        )
