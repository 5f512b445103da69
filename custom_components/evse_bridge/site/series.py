"""Time series as integrations publish them: timestamps in, intervals out."""

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
import math
from statistics import median

from homeassistant.util import dt as dt_util


def parse_time(value: object) -> datetime:
    """Return an aware datetime from a datetime or an ISO 8601 string."""
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, str):
        parsed = dt_util.parse_datetime(value)
    else:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        msg = f"not an aware time: {value!r}"
        raise ValueError(msg)
    return parsed


def parse_number(value: object) -> float:
    """Return a finite float, refusing booleans, text and NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"not a number: {value!r}"
        raise TypeError(msg)
    number = float(value)
    if not math.isfinite(number):
        msg = f"not a finite number: {value!r}"
        raise ValueError(msg)
    return number


def interval_ends(starts: Sequence[float], *, cap_gaps: bool = False) -> list[float]:
    """End each interval where the next starts; the last as long as the one before.

    ``starts`` are sorted epoch seconds without duplicates; a lone start lasts
    an hour. With ``cap_gaps`` no interval is longer than the usual (median)
    step, so a night missing from a solar forecast stays a gap.
    """
    if not starts:
        return []
    steps = [b - a for a, b in pairwise(starts)]
    if not steps:
        return [starts[0] + 3600.0]
    cap = median(steps) if cap_gaps else math.inf
    ends = [
        start + min(step, cap) for start, step in zip(starts[:-1], steps, strict=True)
    ]
    ends.append(starts[-1] + min(steps[-1], cap))
    return ends
