"""The reason sensor's sentence: what a user reads on the charger's page."""

from datetime import datetime

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components.evse_bridge.site.reason import reason_in_words
from custom_components.evse_bridge.smart import ChargerDecision, ReasonCode
from custom_components.evse_bridge.smart.model import Reason


def _decision(current_a: int = 0, **reason: object) -> ChargerDecision:
    return ChargerDecision(
        id="c1",
        current_a=current_a,
        phases=None,
        reason=Reason(**reason),  # type: ignore[arg-type]
        changed=False,
    )


def _at(hour: int, minute: int) -> float:
    local = datetime(2026, 12, 2, hour, minute, tzinfo=dt_util.get_default_time_zone())
    return local.timestamp()


@pytest.mark.parametrize(
    ("decision", "words"),
    [
        (
            _decision(
                7, code=ReasonCode.FUSE_LIMITED, phase=3, measured_a=19.64, limit_a=20.0
            ),
            "Reduced: L3 at 19.6 A of 20 A",
        ),
        (
            _decision(
                code=ReasonCode.FUSE_PAUSED, phase=1, measured_a=21.0, limit_a=20.0
            ),
            "Paused: L1 at 21.0 A of 20 A",
        ),
        (
            _decision(6, code=ReasonCode.METER_STALE, limit_a=6.0),
            "Meter silent: fallback 6 A",
        ),
        (_decision(code=ReasonCode.METER_STALE, limit_a=0.0), "Meter silent: paused"),
        (_decision(16, code=ReasonCode.CHARGING), "Charging at 16 A"),
        (_decision(code=ReasonCode.FUSE_LIMITED), "Reduced for the main fuse"),
        (_decision(code=ReasonCode.UNPLUGGED), "No car plugged in"),
    ],
)
def test_reason_in_words(decision: ChargerDecision, words: str) -> None:
    """Each reason reads as a sentence with its numbers."""
    assert reason_in_words(decision) == words


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (ReasonCode.WAITING_FOR_SLOT, "Waiting for the cheap window at 01:00"),
        (ReasonCode.INCREASE_HELD, "Waiting until 01:00 before increasing"),
        (ReasonCode.PAUSE_HELD, "Paused until 01:00 (minimum pause)"),
        (ReasonCode.RUN_HELD, "Keeping a minimum run until 01:00"),
    ],
)
async def test_reason_times_are_local(
    hass: HomeAssistant, code: ReasonCode, words: str
) -> None:
    """A time in the sentence is the clock time where the user lives."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    assert reason_in_words(_decision(code=code, until=_at(1, 0))) == words
