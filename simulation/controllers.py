"""Our engine as a simulator controller: scenario data in, set-points out."""

from collections.abc import Mapping

from custom_components.evse_bridge.smart import (
    ChargerConfig,
    ChargerInput,
    Engine,
    MeterSample,
    Mode,
    PriceSlot,
    PvSlot,
    Settings,
    SiteConfig,
    SiteInput,
)

from .day import Command, Observation
from .scenario import Scenario

# The forecast handed to the engine is averaged over quarter hours.
FORECAST_STEP_MIN = 15


def prices_of(scenario: Scenario) -> tuple[PriceSlot, ...]:
    """Return the scenario's prices as the engine takes them (absolute times)."""
    start = scenario.start_epoch
    return tuple(
        PriceSlot(
            start=start + begin, end=start + end, import_price=buy, export_price=sell
        )
        for begin, end, buy, sell in scenario.prices
    )


def forecast_of(scenario: Scenario) -> tuple[PvSlot, ...]:
    """Return the scenario's clear-sky forecast in quarter hours."""
    start = scenario.start_epoch
    values = scenario.pv_forecast_w
    return tuple(
        PvSlot(
            start=start + first * 60,
            end=start + (first + FORECAST_STEP_MIN) * 60,
            power_w=sum(values[first : first + FORECAST_STEP_MIN]) / FORECAST_STEP_MIN,
        )
        for first in range(0, len(values), FORECAST_STEP_MIN)
    )


class EvseBridge:
    """The smart-charging engine with the scenario's settings."""

    def __init__(self, scenario: Scenario) -> None:
        """Configure the engine as an owner would for ``scenario``."""
        self._start = scenario.start_epoch
        self._engine = Engine(
            SiteConfig(
                fuse_a=scenario.fuse_a,
                voltage_v=scenario.voltage_v,
                meter_period_s=scenario.meter_period_s,
            ),
            [
                ChargerConfig(
                    id=charger.id,
                    min_current_a=charger.min_current_a,
                    max_current_a=charger.max_current_a,
                    phases=charger.phases,
                    can_switch_phases=charger.can_switch_phases,
                    priority=charger.priority,
                    grid_phase=charger.grid_phase,
                )
                for charger in scenario.chargers
            ],
        )
        self._settings = {
            charger.id: Settings(
                mode=Mode(charger.settings.mode),
                target_kwh=charger.settings.target_kwh,
                deadline=None
                if charger.settings.deadline_s is None
                else self._start + charger.settings.deadline_s,
                windows=tuple(
                    (self._start + begin, self._start + end)
                    for begin, end in charger.settings.windows
                ),
            )
            for charger in scenario.chargers
        }
        self._prices = prices_of(scenario)
        self._forecast = forecast_of(scenario)
        self._sample: MeterSample | None = None
        self._first = True

    def step(self, observation: Observation) -> Mapping[str, Command]:
        """One engine call per simulated second."""
        if observation.meter_at is not None and observation.meter_grid_a is not None:
            at = self._start + observation.meter_at
            if self._sample is None or self._sample.at != at:
                self._sample = MeterSample(at=at, grid_a=observation.meter_grid_a)
        decision = self._engine.step(
            SiteInput(
                now=self._start + observation.t,
                meter=self._sample,
                chargers=tuple(
                    ChargerInput(
                        id=charger_id,
                        plugged=plugged,
                        session_kwh=observation.session_kwh[charger_id],
                        ev_current_a=observation.ev_current_a[charger_id],
                        settings=self._settings[charger_id],
                    )
                    for charger_id, plugged in observation.plugged.items()
                ),
                prices=self._prices,
                pv_forecast=self._forecast,
                pv_power_w=observation.pv_power_w,
            )
        )
        # After a (re)start the engine does not know what the chargers were
        # told before: it says what it wants for every one of them.
        first, self._first = self._first, False
        return {
            item.id: (item.current_a, item.phases)
            for item in decision.chargers
            if item.current_a is not None and (item.changed or first)
        }
