"""One interface over every polled (HTTP) charger.

Each vendor client has its own shape and exception hierarchy; the adapters
here give the integration vendor-neutral reads and commands addressed by part
id, and one neutral exception hierarchy.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
import time
from typing import Final, Protocol

from .circontrol import (
    CircontrolAuthenticationError,
    CircontrolClient,
    CircontrolCommandError,
    CircontrolConnectionError,
    CircontrolError,
)
from .mennekes import (
    MAX_CURRENT_A as MENNEKES_MAX_CURRENT_A,
    MennekesAuthenticationError,
    MennekesClient,
    MennekesCommandError,
    MennekesConnectionError,
    MennekesDevInfo,
    MennekesDevMode,
    MennekesError,
    build_charger_info,
)
from .model import ChargerInfo, ChargerState

__all__ = [
    "ChargerAuthenticationError",
    "ChargerCommandError",
    "ChargerConnectionError",
    "ChargerError",
    "CircontrolCharger",
    "MennekesCharger",
    "PolledCharger",
]


class ChargerError(Exception):
    """A charger could not be read or did not do what was asked."""


class ChargerConnectionError(ChargerError):
    """The charger did not answer (refused, unreachable, timed out)."""


class ChargerAuthenticationError(ChargerError):
    """The charger refused the credentials (password, PIN)."""


class ChargerCommandError(ChargerError):
    """The charger accepted a command but did not carry it out."""


@contextmanager
def _neutral_errors(
    auth: type[Exception],
    command: type[Exception],
    connection: type[Exception],
    other: type[Exception],
) -> Iterator[None]:
    """Re-raise a vendor's exceptions as the neutral ones (messages kept)."""
    try:
        yield
    except auth as err:
        raise ChargerAuthenticationError(str(err)) from err
    except command as err:
        raise ChargerCommandError(str(err)) from err
    except connection as err:
        raise ChargerConnectionError(str(err)) from err
    except other as err:
        raise ChargerError(str(err)) from err


class PolledCharger(Protocol):
    """What the polling coordinator and the entities use."""

    async def get_info(self) -> ChargerInfo:
        """Return the charger's identity."""

    async def get_state(self) -> ChargerState:
        """Return a snapshot of every part."""

    async def set_current_limit(self, part_id: str, amps: int) -> None:
        """Set the current limit of a connector; verified by reading back."""

    async def set_charging_enabled(self, part_id: str, enabled: bool) -> None:  # noqa: FBT001
        """Allow or stop charging on a connector; verified by reading back."""

    async def start_charging(self, part_id: str) -> None:
        """Start a session on a connector."""

    async def stop_charging(self, part_id: str) -> None:
        """End the session on a connector."""


@dataclass(kw_only=True)
class CircontrolCharger:
    """A CirCarLife wallbox; its connectors are parts ``plug1``, ``plug2``, ..."""

    client: CircontrolClient

    @staticmethod
    def _plug(part_id: str) -> int:
        return int(part_id.removeprefix("plug"))

    @staticmethod
    def _errors() -> AbstractContextManager[None]:
        return _neutral_errors(
            CircontrolAuthenticationError,
            CircontrolCommandError,
            CircontrolConnectionError,
            CircontrolError,
        )

    async def get_info(self) -> ChargerInfo:
        """Return the wallbox's identity."""
        with self._errors():
            return await self.client.get_info()

    async def get_state(self) -> ChargerState:
        """Return every plug (two requests)."""
        with self._errors():
            return await self.client.get_state()

    async def set_current_limit(self, part_id: str, amps: int) -> None:
        """Set the plug's current reduction, in amperes."""
        with self._errors():
            await self.client.set_current_limit(self._plug(part_id), amps)

    async def set_charging_enabled(self, part_id: str, enabled: bool) -> None:  # noqa: FBT001
        """Take the plug out of service, or put it back."""
        with self._errors():
            await self.client.set_charging_enabled(self._plug(part_id), enabled)

    async def start_charging(self, part_id: str) -> None:
        """Start remotely (a vehicle must be connected)."""
        with self._errors():
            await self.client.start_charging(self._plug(part_id))

    async def stop_charging(self, part_id: str) -> None:
        """Stop remotely."""
        with self._errors():
            await self.client.stop_charging(self._plug(part_id))


# The operating mode and auto start change rarely (from the app or here);
# reading DevInfo every few minutes keeps the box's load low.
DEV_INFO_MAX_AGE_S: Final = 300.0


@dataclass(kw_only=True)
class MennekesCharger:
    """An AMTRON Xtra/Premium; one connector, part ``connector1``.

    Each poll reads ChargeData (one request); DevInfo is read again only when
    it is older than DEV_INFO_MAX_AGE_S or a command changed it.
    """

    client: MennekesClient
    _dev_info: MennekesDevInfo | None = field(default=None, init=False)
    _dev_info_read_at: float = field(default=0.0, init=False)

    @staticmethod
    def _errors() -> AbstractContextManager[None]:
        return _neutral_errors(
            MennekesAuthenticationError,
            MennekesCommandError,
            MennekesConnectionError,
            MennekesError,
        )

    def _keep(self, dev_info: MennekesDevInfo) -> MennekesDevInfo:
        """Remember the latest DevInfo, read or returned by a command."""
        self._dev_info, self._dev_info_read_at = dev_info, time.monotonic()
        return dev_info

    async def get_info(self) -> ChargerInfo:
        """Return the box's identity; the first poll reuses this DevInfo."""
        with self._errors():
            return build_charger_info(self._keep(await self.client.get_dev_info()))

    async def get_state(self) -> ChargerState:
        """Return the connector's state (one request, two when DevInfo is due)."""
        with self._errors():
            dev_info = self._dev_info
            if (
                dev_info is None
                or time.monotonic() - self._dev_info_read_at > DEV_INFO_MAX_AGE_S
            ):
                dev_info = self._keep(await self.client.get_dev_info())
            return await self.client.get_state(dev_info=dev_info)

    async def set_current_limit(self, part_id: str, amps: int) -> None:
        """Set RemoteCurr, not persisted (frequent changes wear the flash)."""
        max_amps = (
            self._dev_info.box_max_current_a if self._dev_info is not None else None
        ) or MENNEKES_MAX_CURRENT_A
        with self._errors():
            await self.client.set_current_limit(amps, max_amps=int(max_amps))

    async def set_charging_enabled(self, part_id: str, enabled: bool) -> None:  # noqa: FBT001
        """Continue or pause the session."""
        with self._errors():
            await (self.client.resume() if enabled else self.client.pause())

    async def start_charging(self, part_id: str) -> None:
        """Start a session."""
        with self._errors():
            await self.client.start()

    async def stop_charging(self, part_id: str) -> None:
        """Terminate the session."""
        with self._errors():
            await self.client.stop()

    async def set_operating_mode(self, mode: str) -> None:
        """Switch between remote, home_manager and time control."""
        with self._errors():
            self._keep(await self.client.set_operating_mode(MENNEKES_MODES[mode]))

    async def set_auto_start(self, enabled: bool) -> None:  # noqa: FBT001
        """Turn starting on plug-in on or off."""
        with self._errors():
            self._keep(await self.client.set_auto_start(enabled))


MENNEKES_MODES: Final = {
    "remote": MennekesDevMode.REMOTE,
    "home_manager": MennekesDevMode.HOME_MANAGER,
    "time": MennekesDevMode.TIME,
}
