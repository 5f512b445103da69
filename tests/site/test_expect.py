"""What a car is taken to draw between a command and the charger's next reading."""

from custom_components.evse_bridge.site.expect import Expectation

RESUMED = Expectation(amps=16, raised=True, at=100.0)
LOWERED = Expectation(amps=7, raised=False, at=100.0)


def test_a_resumed_car_counts_at_its_set_point() -> None:
    """The stale 0 A of a polled charger is not believed after a resume."""
    assert RESUMED.current((0.0, 0.0, 0.0), 3, 101.0) == (16.0, 16.0, 16.0)
    assert RESUMED.current((0.0, 0.0, 0.0), 1, 101.0) == (16.0, 0.0, 0.0)
    assert RESUMED.current((17.0, 3.0, 0.0), 3, 101.0) == (17.0, 16.0, 16.0)
    # The reading made right after the command does not settle it...
    assert not RESUMED.caught_up((0.0, 0.0, 0.0), 100.5, 110.0)
    # ...the car at its set-point does, and so does a reading made once the
    # car had time to start (it may draw less: full, or a weaker charger).
    assert RESUMED.caught_up((15.5, 15.2, 15.8), 100.5, 101.0)
    assert RESUMED.caught_up((0.0, 0.0, 0.0), 115.0, 115.0)
    # A charger that reports nothing newer is believed again after a minute.
    assert not RESUMED.caught_up((0.0, 0.0, 0.0), None, 159.0)
    assert RESUMED.caught_up((0.0, 0.0, 0.0), None, 160.0)


def test_a_lowered_car_counts_at_its_set_point_once_it_had_time() -> None:
    """A car follows a decrease within 5 s; until then it draws what it drew."""
    assert LOWERED.current((16.0, 16.0, 16.0), 3, 102.0) == (16.0, 16.0, 16.0)
    assert LOWERED.current((16.0, 16.0, 16.0), 3, 105.0) == (7.0, 7.0, 7.0)
    assert not LOWERED.caught_up((16.0, 16.0, 16.0), 100.2, 104.0)
    assert LOWERED.caught_up((7.4, 7.0, 6.9), 100.2, 101.0)
    assert LOWERED.caught_up((16.0, 16.0, 16.0), 105.0, 105.0)
