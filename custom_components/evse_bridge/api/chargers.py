"""The HTTP chargers behind one interface: read them, and control them.

Each adapter reads its charger (``get_info``, ``get_state``) and is its
ChargerControl: connectors addressed by number, capabilities from the state
the charger reports.
"""

from dataclasses import dataclass, field
import time
from typing import Final, Protocol

from .circontrol import CircontrolClient
from .control import Capabilities, ChargerControl, CurrentRange
from .mennekes import (
    MennekesClient,
    MennekesDevInfo,
    MennekesDevMode,
    build_charger_info,
)
from .model import (
    DEFAULT_MAX_CURRENT_A,
    MIN_CURRENT_A,
    ChargerInfo,
    ChargerState,
    Part,
)

__all__ = ["CircontrolCharger", "MennekesCharger", "PolledCharger"]


class PolledCharger(Protocol):
    """A charger read by polling."""

    async def get_info(self) -> ChargerInfo:
        """Return the charger's identity."""

    async def get_state(self) -> ChargerState:
        """Return a snapshot of every part."""


def _current_range(part: Part) -> CurrentRange:
    """Return 6 A to the connector's reported maximum."""
    connector = part.connector
    reported = None if connector is None else connector.max_current_a
    return CurrentRange(
        min_a=MIN_CURRENT_A, max_a=int(reported or DEFAULT_MAX_CURRENT_A)
    )


@dataclass(kw_only=True)
class CircontrolCharger(ChargerControl):
    """A CirCarLife wallbox; connector n is its plug n."""

    client: CircontrolClient

    async def get_info(self) -> ChargerInfo:
        """Return the wallbox's identity."""
        return await self.client.get_info()

    async def get_state(self) -> ChargerState:
        """Return every plug (two requests)."""
        return await self.client.get_state()

    def capabilities(self, part: Part) -> Capabilities:
        """Return the plug's: current reduction, out of service, remote start/stop."""
        return Capabilities(
            current_limit=_current_range(part),
            pause_resume=True,
            start_stop=True,
        )

    async def set_current_limit(self, connector: int, amps: int) -> None:
        """Set the plug's current reduction, in amperes."""
        await self.client.set_current_limit(connector, amps)

    async def set_charging_enabled(self, connector: int, enabled: bool) -> None:  # noqa: FBT001
        """Take the plug out of service, or put it back and start a waiting car."""
        await self.client.set_charging_enabled(connector, enabled)

    async def start_charging(self, connector: int) -> None:
        """Start remotely (a vehicle must be connected)."""
        await self.client.start_charging(connector)

    async def stop_charging(self, connector: int) -> None:
        """Stop remotely."""
        await self.client.stop_charging(connector)


# The operating mode and auto start change rarely (from the app or here);
# reading DevInfo every few minutes keeps the box's load low.
DEV_INFO_MAX_AGE_S: Final = 300.0
MENNEKES_MODES: Final = {
    "remote": MennekesDevMode.REMOTE,
    "home_manager": MennekesDevMode.HOME_MANAGER,
    "time": MennekesDevMode.TIME,
}


@dataclass(kw_only=True)
class MennekesCharger(ChargerControl):
    """An AMTRON Xtra/Premium: one connector.

    Each poll reads ChargeData (one request); DevInfo is read again only when
    it is older than DEV_INFO_MAX_AGE_S or a command changed it.
    """

    client: MennekesClient
    _dev_info: MennekesDevInfo | None = field(default=None, init=False)
    _dev_info_read_at: float = field(default=0.0, init=False)

    def _keep(self, dev_info: MennekesDevInfo) -> MennekesDevInfo:
        """Remember the latest DevInfo, read or returned by a command."""
        self._dev_info, self._dev_info_read_at = dev_info, time.monotonic()
        return dev_info

    async def get_info(self) -> ChargerInfo:
        """Return the box's identity; the first poll reuses this DevInfo."""
        return build_charger_info(self._keep(await self.client.get_dev_info()))

    async def get_state(self) -> ChargerState:
        """Return the connector's state (one request, two when DevInfo is due)."""
        dev_info = self._dev_info
        if (
            dev_info is None
            or time.monotonic() - self._dev_info_read_at > DEV_INFO_MAX_AGE_S
        ):
            dev_info = self._keep(await self.client.get_dev_info())
        return await self.client.get_state(dev_info=dev_info)

    def capabilities(self, part: Part) -> Capabilities:
        """Return the box's: remote current, pause, start/stop, modes, auto start."""
        return Capabilities(
            current_limit=_current_range(part),
            pause_resume=True,
            start_stop=True,
            operating_modes=tuple(MENNEKES_MODES),
            auto_start=True,
        )

    async def set_current_limit(self, connector: int, amps: int) -> None:
        """Set RemoteCurr, not persisted (frequent changes wear the flash)."""
        max_amps = (
            self._dev_info.box_max_current_a if self._dev_info is not None else None
        ) or DEFAULT_MAX_CURRENT_A
        await self.client.set_current_limit(amps, max_amps=int(max_amps))

    async def set_charging_enabled(self, connector: int, enabled: bool) -> None:  # noqa: FBT001
        """Continue or pause the session."""
        await (self.client.resume() if enabled else self.client.pause())

    async def start_charging(self, connector: int) -> None:
        """Start a session."""
        await self.client.start()

    async def stop_charging(self, connector: int) -> None:
        """Terminate the session."""
        await self.client.stop()

    async def set_operating_mode(self, connector: int, mode: str) -> None:
        """Switch between remote, home_manager and time control."""
        self._keep(await self.client.set_operating_mode(MENNEKES_MODES[mode]))

    async def set_auto_start(self, connector: int, enabled: bool) -> None:  # noqa: FBT001
        """Turn starting on plug-in on or off."""
        self._keep(await self.client.set_auto_start(enabled))
