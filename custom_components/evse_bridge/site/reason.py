"""The reason for a connector's current in words, with its numbers filled in."""

from homeassistant.util import dt as dt_util

from ..smart import ChargerDecision, ReasonCode

_PLAIN = {
    ReasonCode.UNPLUGGED: "No car plugged in",
    ReasonCode.OFF: "Off: not controlled",
    ReasonCode.TARGET_REACHED: "Target reached",
    ReasonCode.CHARGING: "Charging at {current} A",
    ReasonCode.FUSE_LIMITED: "Reduced for the main fuse",
    ReasonCode.FUSE_PAUSED: "Paused for the main fuse",
    ReasonCode.INCREASE_HELD: "Waiting before increasing",
    ReasonCode.SHARED: "Sharing the fuse: {current} A",
    ReasonCode.METER_STALE: "Meter silent: fallback",
    ReasonCode.WAITING_FOR_SLOT: "Waiting for the planned start",
    ReasonCode.SOLAR: "Following the solar surplus: {current} A",
    ReasonCode.SOLAR_WAITING: "Waiting for enough sun",
    ReasonCode.PAUSE_HELD: "Short pause before restarting",
    ReasonCode.RUN_HELD: "Keeping a minimum run",
    ReasonCode.START_LIMIT: "No more solar starts this session",
}


def _clock(timestamp: float) -> str:
    return dt_util.as_local(dt_util.utc_from_timestamp(timestamp)).strftime("%H:%M")


_TIMED = {
    ReasonCode.WAITING_FOR_SLOT: "Waiting for the cheap window at {when}",
    ReasonCode.INCREASE_HELD: "Waiting until {when} before increasing",
    ReasonCode.PAUSE_HELD: "Paused until {when} (minimum pause)",
    ReasonCode.RUN_HELD: "Keeping a minimum run until {when}",
}


def reason_in_words(decision: ChargerDecision) -> str:
    """Say why, e.g. "Reduced: L3 at 19.6 A of 20 A" or "Meter silent: fallback 6 A"."""
    reason = decision.reason
    code = reason.code
    limit = reason.limit_a
    if code in (ReasonCode.FUSE_LIMITED, ReasonCode.FUSE_PAUSED) and not (
        reason.phase is None or reason.measured_a is None or limit is None
    ):
        verb = "Reduced" if code is ReasonCode.FUSE_LIMITED else "Paused"
        return f"{verb}: L{reason.phase} at {reason.measured_a:.1f} A of {limit:g} A"
    if code is ReasonCode.METER_STALE and limit is not None:
        return (
            f"Meter silent: fallback {limit:g} A"
            if limit > 0
            else "Meter silent: paused"
        )
    if code in _TIMED and reason.until is not None:
        return _TIMED[code].format(when=_clock(reason.until))
    return _PLAIN[code].format(current=decision.current_a)
