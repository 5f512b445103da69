"""Property tests: whatever the house, the meter and the prices do, the fuse holds.

A closed loop at 1-second steps: the house draws random per-phase currents
that change at random moments, the meter drops out at random, prices are
random; the car draws what it is offered one second after the command. The
property: after the engine has seen a sample, what it commands plus what the
house drew in that sample fits under the fuse on every phase (so the only
overload possible is between a load step and the next sample: the reaction
window), and while the meter is silent the command is the fallback.
"""

from hypothesis import given, settings, strategies as st

from custom_components.evse_bridge.smart import (
    ChargerConfig,
    ChargerInput,
    Engine,
    MeterSample,
    Mode,
    PriceSlot,
    Settings,
    SiteConfig,
    SiteInput,
)
from custom_components.evse_bridge.smart.guard import stale_after

from .helpers import T0

FUSE_A = 20.0
loads = st.tuples(*(st.floats(min_value=-10.0, max_value=19.0),) * 3)
segments = st.lists(
    st.tuples(st.integers(min_value=1, max_value=400), loads), min_size=1, max_size=12
)
dropouts = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2400),
        st.integers(min_value=1, max_value=300),
    ),
    max_size=3,
)
price_lists = st.lists(st.floats(min_value=-0.5, max_value=3.0), min_size=2, max_size=2)
modes = st.sampled_from([Mode.FAST, Mode.CHEAPEST, Mode.SOLAR_MIN, Mode.WINDOW])
chargers_sets = st.sampled_from(
    [
        (ChargerConfig(id="a"),),
        (ChargerConfig(id="a", phases=1, grid_phase=2),),
        (ChargerConfig(id="a", can_switch_phases=True, grid_phase=1),),
        (ChargerConfig(id="a", priority=1), ChargerConfig(id="b", max_current_a=32)),
    ]
)


@settings(max_examples=40, deadline=None)
@given(segments, dropouts, price_lists, modes, chargers_sets)
def test_commands_fit_under_the_fuse(  # noqa: C901
    house_segments: list[tuple[int, tuple[float, float, float]]],
    silent: list[tuple[int, int]],
    price_values: list[float],
    mode: Mode,
    chargers: tuple[ChargerConfig, ...],
) -> None:
    """Every command respects the latest sample, or is the fallback."""
    site = SiteConfig(fuse_a=FUSE_A, meter_period_s=1)
    engine = Engine(site, chargers)
    prices = tuple(
        PriceSlot(
            start=T0 + index * 1800,
            end=T0 + (index + 1) * 1800,
            import_price=value,
            export_price=0.0,
        )
        for index, value in enumerate(price_values)
    )
    user = Settings(
        mode=mode, target_kwh=30, deadline=T0 + 3600, windows=((T0 + 600, T0 + 2400),)
    )
    house_by_second: list[tuple[float, float, float]] = []
    for length, load in house_segments:
        house_by_second.extend([load] * length)
    offered: dict[str, tuple[int, int]] = {}
    last_sample: MeterSample | None = None
    for second, house in enumerate(house_by_second):
        now = T0 + second
        ev: dict[str, list[float]] = {}
        for charger in chargers:
            amps, phases = offered.get(charger.id, (0, charger.phases))
            currents = [0.0, 0.0, 0.0]
            for phase in (0, 1, 2) if phases == 3 else (charger.grid_phase,):
                currents[phase] = float(amps)
            ev[charger.id] = currents
        grid = tuple(
            house[p] + sum(currents[p] for currents in ev.values()) for p in range(3)
        )
        if not any(start <= second < start + length for start, length in silent):
            last_sample = MeterSample(at=now, grid_a=(grid[0], grid[1], grid[2]))
        decision = engine.step(
            SiteInput(
                now=now,
                meter=last_sample,
                chargers=tuple(
                    ChargerInput(
                        id=charger.id,
                        plugged=True,
                        ev_current_a=(
                            ev[charger.id][0],
                            ev[charger.id][1],
                            ev[charger.id][2],
                        ),
                        settings=user,
                    )
                    for charger in chargers
                ),
                prices=prices,
            )
        )
        commanded = [0.0, 0.0, 0.0]
        for item, charger in zip(decision.chargers, chargers, strict=True):
            assert item.current_a is not None  # no charger is in mode off here
            phases = item.phases or charger.phases
            for phase in (0, 1, 2) if phases == 3 else (charger.grid_phase,):
                commanded[phase] += item.current_a
            offered[charger.id] = (item.current_a, phases)
        fresh = last_sample is not None and now - last_sample.at <= stale_after(site)
        if not fresh:
            assert all(item.current_a == 0 for item in decision.chargers)
        elif last_sample is not None and last_sample.at == now:
            seen_house = house  # the sample is of this second: cars at their old offer
            for phase in range(3):
                assert (
                    commanded[phase] == 0
                    or commanded[phase] + seen_house[phase] <= FUSE_A
                )
