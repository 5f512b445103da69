"""The fuse guard's building blocks: meter freshness, house current, holds.

The guard works per phase on every meter sample. The house's own current is
the grid current minus what the cars drew when the meter measured it (the
cars' currents are kept for a few minutes and looked up by time), so a car that
is still ramping does not fool it. The headroom is what the fuse leaves the
chargers: decreases follow it at once, increases only once it has allowed them
for a hold that grows when a load keeps cycling.
"""

from collections import deque
from dataclasses import dataclass, field
import math
from typing import Final

from .model import ZERO_PHASES, MeterSample, Phases, SiteConfig

# A meter is stale after this many of its periods, but never sooner than
# STALE_MIN_S (SMART_CHARGING.md 2.5): one lost sample is not an outage.
STALE_PERIODS: Final = 3
STALE_MIN_S: Final = 10.0
# After an outage (or a start), the meter must report this long before the
# chargers may leave the fallback, so that a flapping meter is not trusted.
RECOVERY_S: Final = 30.0
# The EV currents kept for aligning with meter samples; a sample older than
# this is matched with the oldest record.
EV_HISTORY_LENGTH: Final = 256
# Hold before an increase; doubled for every safety decrease in the last
# HOLD_MEMORY_S, up to HOLD_MAX_S, so that an oven thermostat cycling every few
# minutes does not drag the car up and down.
HOLD_BASE_S: Final = 60.0
HOLD_MAX_S: Final = 900.0
HOLD_MEMORY_S: Final = 1800.0


def stale_after(site: SiteConfig) -> float:
    """Age at which a meter sample no longer counts."""
    return max(STALE_PERIODS * site.meter_period_s, STALE_MIN_S)


def valid_phases(values: Phases) -> bool:
    """Whether there are three phase values, each a finite number."""
    if len(values) != len(ZERO_PHASES):
        return False
    first, second, third = values
    return (
        isinstance(first, (int, float))
        and isinstance(second, (int, float))
        and isinstance(third, (int, float))
        and math.isfinite(first)
        and math.isfinite(second)
        and math.isfinite(third)
    )


@dataclass(slots=True)
class MeterWatch:
    """Tracks whether the grid meter can be trusted."""

    last: MeterSample | None = None
    fresh_since: float | None = None
    """Start of the current run of fresh samples."""

    def offer(self, sample: MeterSample | None, now: float, stale_s: float) -> bool:
        """Take the call's sample; return True if it is a new, valid one."""
        if (
            sample is None
            or not math.isfinite(sample.at)
            or not valid_phases(sample.grid_a)
            or sample.at > now + stale_s
            or (self.last is not None and sample.at <= self.last.at)
        ):
            if self.last is not None and now - self.last.at > stale_s:
                self.fresh_since = None
            return False
        if (
            self.last is None
            or self.fresh_since is None
            or sample.at - self.last.at > stale_s
        ):
            self.fresh_since = sample.at
        self.last = sample
        return now - sample.at <= stale_s

    def stale(self, now: float, stale_s: float) -> bool:
        """Whether the last sample is too old (or there is none)."""
        return self.last is None or now - self.last.at > stale_s

    def trusted(self, now: float, stale_s: float) -> bool:
        """Fresh, and fresh for long enough after an outage or a start."""
        return (
            not self.stale(now, stale_s)
            and self.fresh_since is not None
            and now - self.fresh_since >= RECOVERY_S
        )


@dataclass(slots=True)
class EvHistory:
    """Recent measured currents of one car, to align with meter samples."""

    records: deque[tuple[float, Phases]] = field(
        default_factory=lambda: deque(maxlen=EV_HISTORY_LENGTH)
    )

    def add(self, at: float, current_a: Phases) -> None:
        """Record the car's current at ``at`` (calls come in time order)."""
        if self.records and self.records[-1][0] >= at:
            self.records[-1] = (self.records[-1][0], current_a)
            return
        self.records.append((at, current_a))

    def at(self, when: float) -> Phases:
        """Return the current the car drew at ``when``."""
        records = self.records
        if not records:
            return (0.0, 0.0, 0.0)
        for index in range(len(records) - 1, -1, -1):
            if records[index][0] <= when:
                return records[index][1]
        return records[0][1]


def house_current(sample: MeterSample, ev_at_sample: list[Phases]) -> Phases:
    """Grid current per phase without the cars (signed: solar makes it smaller)."""
    grid = sample.grid_a
    return (
        grid[0] - sum(ev[0] for ev in ev_at_sample),
        grid[1] - sum(ev[1] for ev in ev_at_sample),
        grid[2] - sum(ev[2] for ev in ev_at_sample),
    )


def headroom(site: SiteConfig, house_a: Phases) -> Phases:
    """Return the current the fuse leaves the chargers on each phase."""
    free = site.fuse_a - site.margin_a
    return (free - house_a[0], free - house_a[1], free - house_a[2])


@dataclass(slots=True)
class AllowanceWindow:
    """The fuse's allowance for one charger over time, for the increase hold.

    A monotonic deque: the minimum over any recent window is the first record
    inside it, and memory stays bounded by the longest hold.
    """

    records: deque[tuple[float, float]] = field(default_factory=deque)
    since: float | None = None
    """Start of the unbroken run of records."""

    def add(self, at: float, allowance_a: float) -> None:
        """Record the allowance at ``at``."""
        if self.since is None:
            self.since = at
        records = self.records
        while records and records[-1][1] > allowance_a:
            records.pop()
        if records and records[-1][1] == allowance_a:
            return  # the same level, held since the older record
        records.append((at, allowance_a))
        while len(records) > 1 and records[1][0] <= at - HOLD_MAX_S:
            records.popleft()

    def reset(self) -> None:
        """Forget everything (the meter went silent)."""
        self.records.clear()
        self.since = None

    def min_over(self, now: float, hold_s: float) -> float | None:
        """Lowest allowance over the last ``hold_s``; None if not seen that long."""
        if self.since is None or now - self.since < hold_s:
            return None
        # The value in effect at the window's start counts too: it is the
        # last record at or before it, smaller than any later one.
        start = now - hold_s
        in_effect: float | None = None
        for at, allowance_a in self.records:
            if at > start:
                return allowance_a if in_effect is None else in_effect
            in_effect = allowance_a
        return in_effect


@dataclass(slots=True)
class HoldPolicy:
    """The hold before an increase, longer while a load keeps cycling."""

    safety_decreases: deque[float] = field(default_factory=deque)

    def note_safety_decrease(self, at: float) -> None:
        """Remember that the fuse forced a decrease at ``at``."""
        self.safety_decreases.append(at)
        self._forget(at)

    def hold_s(self, now: float) -> float:
        """How long the fuse must allow an increase before it is made."""
        self._forget(now)
        count = len(self.safety_decreases)
        if count <= 1:
            return HOLD_BASE_S
        return min(HOLD_BASE_S * 2.0 ** (count - 1), HOLD_MAX_S)

    def _forget(self, now: float) -> None:
        while self.safety_decreases and self.safety_decreases[0] < now - HOLD_MEMORY_S:
            self.safety_decreases.popleft()
