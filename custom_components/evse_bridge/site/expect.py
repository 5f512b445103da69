"""What a car draws right after a command, before its charger says so.

A polled charger (a Mennekes every 30 s) still reports 0 A after it was
resumed while the meter already includes the car: taken at its word, the car's
own load looks like house load and the guard cuts it again. So from the moment
a set-point is sent until the charger's reading has caught up, the car counts
as drawing the set-point (after a raise), or what it drew before for as long
as a car may take to follow a decrease, then the set-point (after a
decrease).
"""

from dataclasses import dataclass

from ..smart.model import Phases
from .const import CAR_FOLLOWS, CAR_STARTS, EXPECT_MAX

# A reading within this of the set-point shows the car has followed it.
CAUGHT_UP_A = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """A set-point sent to a connector, until its reading shows the car took it."""

    amps: int
    """The current sent (0 = paused)."""
    raised: bool
    """Whether it is more than the connector had."""
    at: float
    """When it was sent (seconds, the engine's clock)."""

    def caught_up(self, measured: Phases, reading_at: float | None, now: float) -> bool:
        """Whether the charger's reading can be believed again.

        It can once it shows the car at the set-point, once it was read after
        the car had time to follow, and in any case after EXPECT_MAX.
        """
        drawn = max(measured)
        if self.raised:
            followed = drawn >= self.amps - CAUGHT_UP_A
            settle = CAR_STARTS
        else:
            followed = drawn <= self.amps + CAUGHT_UP_A
            settle = CAR_FOLLOWS
        read_after = reading_at is not None and (
            reading_at >= self.at + settle.total_seconds()
        )
        return followed or read_after or now - self.at >= EXPECT_MAX.total_seconds()

    def current(self, measured: Phases, phases: int, now: float) -> Phases:
        """Return what the car is taken to draw per phase until then."""
        amps = float(self.amps)
        if self.raised:
            expected = (amps, amps if phases > 1 else 0.0, amps if phases > 1 else 0.0)
            return (
                max(measured[0], expected[0]),
                max(measured[1], expected[1]),
                max(measured[2], expected[2]),
            )
        if now - self.at < CAR_FOLLOWS.total_seconds():
            return measured
        return (min(measured[0], amps), min(measured[1], amps), min(measured[2], amps))
