"""Lifetime energy counters the Energy dashboard can trust.

Home Assistant's statistics take any fall of a ``total_increasing`` sensor by
more than 10 % as a meter reset and count the next value again, and they count
any rise as energy. The counters here never decrease and never jump, whatever
a charger sends and however often it repeats it. Energies are in Wh, times in
POSIX seconds, power in W.

EnergyCounter turns the readings of a lifetime meter into such a total:

1. A missing, non-finite, negative or absurd (above MAX_READING_WH) reading
   is ignored.
2. The counter remembers up to MAX_SEGMENTS *segments*, runs of one meter's
   register: the last reading taken from it, the total at that reading, and
   when. The total shown is the largest total of any segment, so energy two
   segments both saw is counted once.
3. A reading that rises from a segment by no more than the connector can
   deliver since that segment's last reading (``max_power_w`` over the
   elapsed time plus TIME_SLACK_S, plus SLACK_WH) continues that segment; if
   it could continue several, the one that gives the smallest total. It
   counts at once for the segment used last. A return to another segment,
   and a rise above what the connector delivers in JUMP_WINDOW_S (possible
   only after a gap: an outage, a restart), count once the next reading
   confirms them; a confirmed return forgets the segments used since, which
   were glitches.
4. A reading less than DIP_FRACTION below a segment's last reading is a dip
   and changes nothing: the count resumes when the meter passes its old value.
5. Any other reading (a drop such as a run of zeros or a new meter, or a rise
   the connector cannot deliver) is a candidate. When CONFIRMATIONS readings
   in a row each continue the one before and the last is higher than the
   first (a register that counts, not a value repeated), they start a new
   segment that counts on top of the current total from the first of them: a
   replaced meter adds what it measures, and its own reading is never added.
   Readings that return to an old meter's range continue that meter's
   segment. Glitches that rise like a counting meter over several readings
   cannot be told from a new meter.
6. The first reading ever (no segment yet) is shown once the next reading
   continues it.

SessionEnergyTotal builds such a total from a charger that reports only the
energy of the current session.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
import math
from typing import Any, Final, Self

__all__ = [
    "EnergyCounter",
    "SessionEnergyTotal",
    "max_power_w",
]

# A 22 kW connector running flat out for 50 years stays below this.
MAX_READING_WH: Final = 1e10
# The largest energy one session can take: above any car battery.
MAX_SESSION_WH: Final = 250_000.0
# Rounding of the register and of the power bound.
SLACK_WH: Final = 50.0
# Reports can be delayed and arrive in a burst (a broker or network hiccup):
# the time between two arrivals can be shorter than between two samples.
TIME_SLACK_S: Final = 60.0
# Between two reports a few seconds apart a connector adds a few hundred Wh;
# a rise worth a quarter of an hour at full power needs a second reading.
JUMP_WINDOW_S: Final = 900.0
# Home Assistant warns about dips up to 10 % and resets below; a dip this
# small is a meter glitch, never a new meter.
DIP_FRACTION: Final = 0.1
CONFIRMATIONS: Final = 3
MAX_SEGMENTS: Final = 3
NOMINAL_VOLTAGE_V: Final = 230.0
# Grid voltage may be 10 % above nominal (EN 50160).
VOLTAGE_TOLERANCE: Final = 1.1


def max_power_w(max_current_a: float, phases: int = 3) -> float:
    """Return the most a connector can deliver, for the plausibility bound."""
    return max_current_a * phases * NOMINAL_VOLTAGE_V * VOLTAGE_TOLERANCE


def _usable(value_wh: float | None, limit_wh: float) -> bool:
    return (
        value_wh is not None and math.isfinite(value_wh) and 0 <= value_wh <= limit_wh
    )


@dataclass(slots=True)
class _Segment:
    raw_wh: float
    total_wh: float
    at: float


@dataclass(kw_only=True, slots=True)
class EnergyCounter:
    """A lifetime energy total fed with the readings of one meter."""

    max_power_w: float
    total_wh: float | None = None
    _segments: list[_Segment] = field(default_factory=list)
    _candidates: list[tuple[float, float]] = field(default_factory=list)
    _anchor: int | None = None
    """The index of the segment a pending large rise continues, if it is one."""

    def _bound(self, since: float, at: float) -> float:
        """Return the most the connector can add between two times."""
        return (
            self.max_power_w * (max(at - since, 0.0) + TIME_SLACK_S) / 3600 + SLACK_WH
        )

    def _continues(
        self, raw_wh: float, since: float, value_wh: float, at: float
    ) -> bool:
        """Return whether a reading is a small, plausible rise from another."""
        rise = value_wh - raw_wh
        return 0 <= rise <= min(self._bound(since, at), self._jump_wh)

    @property
    def _jump_wh(self) -> float:
        return self.max_power_w * JUMP_WINDOW_S / 3600 + SLACK_WH

    def feed(self, value_wh: float | None, at: float) -> float | None:
        """Offer one reading taken at ``at``; return the total, None before any."""
        if not _usable(value_wh, MAX_READING_WH):
            return self.total_wh
        assert value_wh is not None  # noqa: S101 - narrowed by _usable
        if continued := [
            segment
            for segment in self._segments
            if self._continues(segment.raw_wh, segment.at, value_wh, at)
        ]:
            segment = min(continued, key=_total_with(value_wh))
            if segment is self._segments[0]:
                self._continue(segment, value_wh, at)
                return self.total_wh
        if self._candidates:
            last_wh, last_at = self._candidates[-1]
            if self._continues(last_wh, last_at, value_wh, at):
                self._candidates = [
                    *self._candidates[1 - CONFIRMATIONS :],
                    (value_wh, at),
                ]
                self._confirm(value_wh, at)
                return self.total_wh
        if risen := [
            segment
            for segment in self._segments
            if 0 <= value_wh - segment.raw_wh <= self._bound(segment.at, at)
        ]:
            # A large rise after a gap, or a return to another register: real
            # if the next reading agrees.
            anchor = min(risen, key=_total_with(value_wh))
            self._candidates = [(value_wh, at)]
            self._anchor = self._segments.index(anchor)
            return self.total_wh
        if not any(
            segment.raw_wh * (1 - DIP_FRACTION) <= value_wh < segment.raw_wh
            for segment in self._segments
        ):
            self._candidates, self._anchor = [(value_wh, at)], None
        return self.total_wh

    def _confirm(self, value_wh: float, at: float) -> None:
        """Take on a candidate run that is long enough."""
        if self._anchor is not None:
            # A confirmed return: the segments used since were glitches.
            del self._segments[: self._anchor]
            self._continue(self._segments[0], value_wh, at)
        elif self.total_wh is None:
            self.total_wh = value_wh
            self._start(_Segment(value_wh, value_wh, at))
        elif (
            len(self._candidates) >= CONFIRMATIONS and value_wh > self._candidates[0][0]
        ):
            # A new register: it counts from its first reading in the run.
            first_wh, first_at = self._candidates[0]
            self._continue(_Segment(first_wh, self.total_wh, first_at), value_wh, at)

    def _continue(self, segment: _Segment, value_wh: float, at: float) -> None:
        segment.total_wh += value_wh - segment.raw_wh
        segment.raw_wh, segment.at = value_wh, at
        self.total_wh = max(self.total_wh or 0.0, segment.total_wh)
        self._start(segment)

    def _start(self, segment: _Segment) -> None:
        """Mark a segment as the last used; forget the oldest beyond the cap."""
        if segment in self._segments:
            self._segments.remove(segment)
        self._segments.insert(0, segment)
        del self._segments[MAX_SEGMENTS:]
        self._candidates, self._anchor = [], None

    def as_dict(self) -> dict[str, Any]:
        """Return what must survive a restart."""
        return {
            "total_wh": self.total_wh,
            "segments": [[s.raw_wh, s.total_wh, s.at] for s in self._segments],
            "candidates": [list(candidate) for candidate in self._candidates],
            "anchor": self._anchor,
        }

    @classmethod
    def from_dict(cls, data: object, *, max_power_w: float) -> Self:
        """Restore a counter; anything unusable in ``data`` starts afresh."""
        counter = cls(max_power_w=max_power_w)
        if not isinstance(data, dict):
            return counter
        segments = [
            segment
            for values in data.get("segments") or ()
            if (segment := _stored_segment(values)) is not None
        ]
        total = _stored(data.get("total_wh"))
        if segments and total is not None:
            counter.total_wh = max(total, *(s.total_wh for s in segments))
            counter._segments = segments[:MAX_SEGMENTS]
        candidates = [
            (raw, at)
            for values in data.get("candidates") or ()
            if isinstance(values, list)
            and len(values) == 2  # noqa: PLR2004 - raw, time
            and (raw := _stored(values[0])) is not None
            and (at := _stored(values[1])) is not None
        ]
        anchor = data.get("anchor")
        if len(candidates) <= CONFIRMATIONS:
            counter._candidates = candidates
            if type(anchor) is int and 0 <= anchor < len(counter._segments):
                counter._anchor = anchor
        return counter


def _total_with(value_wh: float) -> Callable[[_Segment], float]:
    """Return the total a segment would reach with a reading.

    When a reading continues several segments, the one giving the smallest
    total is taken: energy is never counted from the wrong register.
    """
    return lambda segment: segment.total_wh + value_wh - segment.raw_wh


def _stored(value: object) -> float | None:
    """Return a number read from storage, None unless finite and not negative."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return float(value) if 0 <= value < math.inf else None


def _stored_segment(values: object) -> _Segment | None:
    """Return a segment read from storage: [raw, total, time], or None."""
    if not isinstance(values, list) or len(values) != 3:  # noqa: PLR2004
        return None
    raw, total, at = (_stored(value) for value in values)
    if raw is None or total is None or at is None:
        return None
    return _Segment(raw, total, at)


@dataclass(kw_only=True, slots=True)
class SessionEnergyTotal:
    """A lifetime total built from a charger that reports session energy only.

    The total grows by what each session adds:
    - within a session, a rise is added when the connector could have
      delivered it since the last reading; a lower reading (a glitch) or an
      impossible rise adds nothing and is not taken as the new baseline, so
      nothing is counted twice when the real reading returns;
    - a new session is one whose duration starts again, from a time after the
      previous reading, with an energy the connector could have delivered in
      that duration, and which the next reading continues (its duration
      grows); then its energy so far is added. A dip of the duration, or of
      both values, for one reading is not a new session;
    - a negative, non-finite, missing or absurd reading is ignored.
    Energy of a session that ends and is followed by the next one entirely
    while nobody polls, or that charges for less than one poll interval, is
    lost: the charger keeps no history of it.
    """

    max_power_w: float
    total_wh: float = 0.0
    session_wh: float | None = None
    session_s: float | None = None
    at: float | None = None
    """When the baseline reading was taken; None if unknown (old storage)."""
    _candidate: tuple[float, float, float] | None = None
    """A reading that may start a new session: energy, duration, time."""

    def _plausible(self, rise_wh: float, elapsed_s: float | None) -> bool:
        bound = (
            MAX_SESSION_WH
            if elapsed_s is None
            else self.max_power_w * (elapsed_s + TIME_SLACK_S) / 3600 + SLACK_WH
        )
        return 0 <= rise_wh <= bound

    def _starts_session(self, session_wh: float, session_s: float, at: float) -> bool:
        """Return whether a reading may start a new session (see the class)."""
        elapsed = None if self.at is None else at - self.at
        return (
            self.session_s is not None
            and session_s < self.session_s
            and (elapsed is None or session_s <= elapsed + TIME_SLACK_S)
            and self._plausible(session_wh, session_s)
        )

    def _continues_candidate(
        self, session_wh: float, session_s: float | None, at: float
    ) -> bool:
        """Return whether a reading continues a new session's first reading."""
        if self._candidate is None or session_s is None:
            return False
        first_wh, first_s, first_at = self._candidate
        elapsed = max(at - first_at, 0.0)
        return first_s < session_s <= first_s + elapsed + TIME_SLACK_S and (
            self._plausible(session_wh - first_wh, elapsed)
        )

    def feed(
        self, session_wh: float | None, session_s: float | None, at: float
    ) -> float | None:
        """Offer one session reading; return the lifetime total, None before any."""
        if not _usable(session_wh, MAX_SESSION_WH):
            return None if self.session_wh is None else self.total_wh
        assert session_wh is not None  # noqa: S101 - narrowed by _usable
        if session_s is not None and not (math.isfinite(session_s) and session_s >= 0):
            session_s = None
        elapsed = None if self.at is None else at - self.at
        if self.session_wh is None:
            # The session running at the first reading ever, if it can be one.
            if self._plausible(session_wh, session_s):
                self.total_wh += session_wh
        elif (
            session_s is None or self.session_s is None or session_s >= self.session_s
        ) and self._plausible(session_wh - self.session_wh, elapsed):
            self.total_wh += session_wh - self.session_wh
        elif self._continues_candidate(session_wh, session_s, at):
            self.total_wh += session_wh
        else:
            if session_s is not None and self._starts_session(
                session_wh, session_s, at
            ):
                self._candidate = (session_wh, session_s, at)
            return self.total_wh
        self.session_wh, self.session_s, self.at = session_wh, session_s, at
        self._candidate = None
        return self.total_wh

    def as_dict(self) -> dict[str, float | None]:
        """Return what must survive a restart."""
        return {
            "total_wh": self.total_wh,
            "session_wh": self.session_wh,
            "session_s": self.session_s,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, data: object, *, max_power_w: float) -> Self:
        """Restore a total; anything unusable in ``data`` starts afresh."""
        if (
            not isinstance(data, dict)
            or (total := _stored(data.get("total_wh"))) is None
        ):
            return cls(max_power_w=max_power_w)
        return cls(
            max_power_w=max_power_w,
            total_wh=total,
            session_wh=_stored(data.get("session_wh")),
            session_s=_stored(data.get("session_s")),
            at=_stored(data.get("at")),
        )
