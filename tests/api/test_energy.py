"""Tests for the energy guard that keeps false readings out of statistics."""

from custom_components.evse_bridge.api.energy import (
    CONFIRMATIONS,
    EnergyGuard,
    SessionEnergyTotal,
)

MINUTE = 60.0


def feed_all(guard: EnergyGuard, readings: list[float | None]) -> list[float | None]:
    """Feed one reading a minute; return what the guard accepted after each."""
    return [guard.feed(value, index * MINUTE) for index, value in enumerate(readings)]


def test_rising_readings_pass() -> None:
    """Normal readings pass unchanged."""
    assert feed_all(EnergyGuard(), [1000, 1010, 1010, 1200]) == [1000, 1010, 1010, 1200]


def test_drop_to_zero_for_one_message_is_held_back() -> None:
    """A meter that briefly reads 0 leaves the total where it was."""
    result = feed_all(EnergyGuard(), [20_218_145, 0, 20_218_160])
    assert result == [20_218_145, 20_218_145, 20_218_160]


def test_short_dip_below_last_reading_is_held_back() -> None:
    """A lower reading that returns is never shown."""
    result = feed_all(EnergyGuard(), [5000, 4000, 4000, 5005])
    assert result == [5000, 5000, 5000, 5005]


def test_missing_reading_changes_nothing() -> None:
    """Unknown readings keep the last total."""
    assert feed_all(EnergyGuard(), [None, 500, None]) == [None, 500, 500]


def test_replaced_meter_is_accepted_after_confirmations() -> None:
    """A lower reading that persists (a new meter) is taken on."""
    readings: list[float | None] = [20_218_145, 10, 20, 30, 40]
    result = feed_all(EnergyGuard(), readings)
    assert result[:CONFIRMATIONS] == [20_218_145] * CONFIRMATIONS
    assert result[CONFIRMATIONS:] == [30, 40]


def test_inconsistent_low_readings_are_not_confirmed() -> None:
    """Random low glitches do not add up to a meter replacement."""
    result = feed_all(EnergyGuard(), [9000, 0, 500, 0, 100, 0, 9010])
    assert result == [9000] * 6 + [9010]


def test_implausible_jump_is_held_back() -> None:
    """A reading far above what the charger can draw is a glitch."""
    result = feed_all(EnergyGuard(), [1000, 99_999_999, 1010])
    assert result == [1000, 1000, 1010]


def test_large_rise_after_long_gap_is_plausible() -> None:
    """After hours without data, a large rise is real charging."""
    guard = EnergyGuard(accepted_wh=1000, accepted_at=0.0)
    assert guard.feed(71_000, 10 * 3600) == 71_000


def test_zero_first_reading_needs_confirmation() -> None:
    """A first reading of 0 may be a glitch; a new meter confirms it."""
    assert feed_all(EnergyGuard(), [0, 5000]) == [None, 5000]
    assert feed_all(EnergyGuard(), [0, 0, 0, 1]) == [None, None, 0, 1]


def feed_sessions(
    readings: list[tuple[float | None, float | None]],
) -> list[float | None]:
    """Feed (session energy, session duration) pairs; return the totals."""
    total = SessionEnergyTotal()
    return [total.feed(energy, duration) for energy, duration in readings]


def test_sessions_add_up() -> None:
    """Each session's energy counts once, including the one running at start."""
    totals = feed_sessions([(500, 60), (1500, 120), (1500, 120), (200, 10), (700, 70)])
    assert totals == [500, 1500, 1500, 1700, 2200]


def test_session_energy_glitch_counts_nothing_twice() -> None:
    """A session reading that drops to 0 and comes back adds nothing."""
    totals = feed_sessions([(1000, 100), (0, 110), (1100, 120)])
    assert totals == [1000, 1000, 1100]


def test_missing_session_reading() -> None:
    """No reading yet gives no total; a missing one keeps the total."""
    assert feed_sessions([(None, None), (300, 30), (None, 40)]) == [None, 300, 300]


def test_total_survives_a_restart() -> None:
    """State restored from storage continues the count."""
    total = SessionEnergyTotal(total_wh=10_000, session_wh=1_000, session_s=100)
    assert total.feed(1_200, 120) == 10_200
    assert total.feed(50, 5) == 10_250
