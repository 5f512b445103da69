"""Lifetime energy counters the Energy dashboard can trust.

EnergyGuard keeps false readings of a lifetime counter out of a total series;
SessionEnergyTotal builds a lifetime counter from session energy.

Home Assistant's statistics treat a drop of a ``total_increasing`` sensor as a
meter reset: a reading that falls to 0 for one message and comes back adds the
whole meter reading again to the Energy dashboard. The guard holds such
readings back.

The rule:
- a reading that is at least the last accepted one, and no higher than the
  charger could have drawn since (``max_power_w`` over the elapsed time, plus a
  small slack), is accepted at once;
- any other reading (lower, an implausible jump, or 0 as the very first
  reading) is a *candidate*; it is accepted only when ``confirmations``
  readings in a row agree with it (each at least the previous candidate, and a
  plausible rise from it). This is how a replaced meter, whose counter starts
  again near 0, is taken on: after ``confirmations`` consistent readings;
- a missing reading changes nothing.
"""

from dataclasses import dataclass, field
from typing import Final

__all__ = ["EnergyGuard", "SessionEnergyTotal"]

# Above any AC charging station, even a main meter feeding several 22 kW EVSEs.
MAX_PLAUSIBLE_POWER_W: Final = 200_000.0
# Rounding and clock jitter between the meter's and our time stamps.
SLACK_WH: Final = 100.0
CONFIRMATIONS: Final = 3


@dataclass(kw_only=True, slots=True)
class EnergyGuard:
    """Filter for one lifetime energy counter, in Wh; times in seconds."""

    accepted_wh: float | None = None
    accepted_at: float | None = None
    max_power_w: float = MAX_PLAUSIBLE_POWER_W
    confirmations: int = CONFIRMATIONS
    _candidates: list[tuple[float, float]] = field(default_factory=list)

    def _plausible_rise(
        self, old_wh: float, old_at: float, new_wh: float, at: float
    ) -> bool:
        elapsed_h = max(at - old_at, 0.0) / 3600
        return old_wh <= new_wh <= old_wh + self.max_power_w * elapsed_h + SLACK_WH

    def feed(self, value_wh: float | None, at: float) -> float | None:
        """Offer one reading taken at ``at``; return the accepted total."""
        if value_wh is None:
            return self.accepted_wh
        if self.accepted_wh is None or self.accepted_at is None:
            if value_wh > 0:
                return self._accept(value_wh, at)
        elif self._plausible_rise(self.accepted_wh, self.accepted_at, value_wh, at):
            return self._accept(value_wh, at)
        if self._candidates:
            last_wh, last_at = self._candidates[-1]
            if not self._plausible_rise(last_wh, last_at, value_wh, at):
                self._candidates.clear()
        self._candidates.append((value_wh, at))
        if len(self._candidates) >= self.confirmations:
            return self._accept(value_wh, at)
        return self.accepted_wh

    def _accept(self, value_wh: float, at: float) -> float:
        self.accepted_wh = value_wh
        self.accepted_at = at
        self._candidates.clear()
        return value_wh


@dataclass(kw_only=True, slots=True)
class SessionEnergyTotal:
    """A lifetime counter built from a charger that reports session energy only.

    The total grows by what each session adds. A new session is recognised by
    its duration starting again (the energy alone cannot tell a new session
    from a reading that glitches to 0). A lower energy reading within the same
    session adds nothing and is not taken as the new baseline, so the energy
    counted before it is not counted twice when the reading comes back.
    Energy of a session that ends and is followed by the next one entirely
    while nobody polls is lost: the charger keeps no history of it.
    """

    total_wh: float = 0.0
    session_wh: float | None = None
    session_s: float | None = None

    def feed(self, session_wh: float | None, session_s: float | None) -> float | None:
        """Offer one session reading; return the lifetime total, None before any."""
        if session_wh is None:
            return None if self.session_wh is None else self.total_wh
        new_session = (
            session_s is not None
            and self.session_s is not None
            and session_s < self.session_s
        )
        if self.session_wh is None or new_session:
            self.total_wh += session_wh
        elif session_wh > self.session_wh:
            self.total_wh += session_wh - self.session_wh
        else:
            return self.total_wh
        self.session_wh, self.session_s = session_wh, session_s
        return self.total_wh
