"""Control by capability: what a charger can be told to do, whatever its make.

A charger's control says, per connector, which capabilities it has
(``capabilities``) and carries them out. Every command is verified by reading
the charger back and raises ChargerCommandError when the change never shows;
a command the connector has no capability for raises CommandNotSupportedError.
Connectors are addressed by number, from 1.
"""

from dataclasses import dataclass

from .errors import CommandNotSupportedError
from .model import Part

__all__ = ["Capabilities", "ChargerControl", "CurrentRange", "Fallback"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentRange:
    """The current limits a connector accepts, in whole amperes."""

    min_a: int
    max_a: int
    step_a: int = 1
    zero_pauses: bool = False
    """Whether a limit of 0 pauses charging (otherwise 0 is refused)."""

    def check(self, amps: int) -> None:
        """Raise ValueError unless ``amps`` is a limit this connector accepts."""
        if amps == 0 and self.zero_pauses:
            return
        if not self.min_a <= amps <= self.max_a or (amps - self.min_a) % self.step_a:
            pause = "0 (pause) or " if self.zero_pauses else ""
            msg = f"The current limit must be {pause}{self.min_a}-{self.max_a} A"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fallback:
    """What a charger does by itself when it is no longer told anything."""

    current_a: float
    """The current it falls back to; 0 pauses."""
    after_s: float
    """How long after the last command it does so."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What one connector can be told to do."""

    current_limit: CurrentRange | None = None
    pause_resume: bool = False
    start_stop: bool = False
    phase_switching: tuple[int, ...] = ()
    """The phase counts it can switch between; empty if it cannot."""
    fallback: Fallback | None = None
    """Its own failsafe when commands stop, where the protocol has one."""
    operating_modes: tuple[str, ...] = ()
    """A vendor's operating modes, where the charger has them."""
    auto_start: bool = False
    """Whether starting a session on plug-in can be switched."""
    availability: bool = False
    """Whether it can be taken out of service (it then refuses sessions) and back."""
    restart: bool = False
    """Whether the whole charger can be restarted (the same on each connector)."""


class ChargerControl:
    """Commands to one charger; a make implements what its protocol offers."""

    def capabilities(self, part: Part) -> Capabilities:
        """Return what a connector can do now (ranges may follow its state)."""
        return Capabilities()

    async def set_current_limit(self, connector: int, amps: int) -> None:
        """Set the current limit per phase (0 pauses where zero_pauses)."""
        raise CommandNotSupportedError(self._unsupported("a current limit"))

    async def set_charging_enabled(self, connector: int, enabled: bool) -> None:  # noqa: FBT001
        """Pause or resume charging."""
        raise CommandNotSupportedError(self._unsupported("pause and resume"))

    async def start_charging(self, connector: int) -> None:
        """Start a session."""
        raise CommandNotSupportedError(self._unsupported("starting a session"))

    async def stop_charging(self, connector: int) -> None:
        """End the session."""
        raise CommandNotSupportedError(self._unsupported("stopping a session"))

    async def set_phases(self, connector: int, phases: int) -> None:
        """Switch between one and three phases."""
        raise CommandNotSupportedError(self._unsupported("phase switching"))

    async def set_operating_mode(self, connector: int, mode: str) -> None:
        """Choose one of the vendor's operating modes."""
        raise CommandNotSupportedError(self._unsupported("operating modes"))

    async def set_auto_start(self, connector: int, enabled: bool) -> None:  # noqa: FBT001
        """Switch starting a session on plug-in."""
        raise CommandNotSupportedError(self._unsupported("automatic start"))

    async def set_available(self, connector: int, available: bool) -> bool:  # noqa: FBT001
        """Put a connector in or out of service.

        Return True once the charger shows the change, False when it took it
        for later: it applies when the running session ends, and shows then.
        """
        raise CommandNotSupportedError(self._unsupported("availability changes"))

    async def restart(self) -> None:
        """Restart the whole charger (a soft reset); done once it goes down."""
        raise CommandNotSupportedError(self._unsupported("restarting"))

    def _unsupported(self, what: str) -> str:
        return f"{type(self).__name__} offers no {what}"
