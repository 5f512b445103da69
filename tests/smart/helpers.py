"""A small driver for the engine: one call per second with a simple car."""

from dataclasses import dataclass, field

from custom_components.evse_bridge.smart import (
    ChargerConfig,
    ChargerInput,
    Decision,
    Engine,
    MeterSample,
    Mode,
    PriceSlot,
    PvSlot,
    Settings,
    SiteConfig,
    SiteInput,
)
from custom_components.evse_bridge.smart.model import Phases

T0 = 1_781_085_600.0  # 2026-06-10 12:00 +02:00


@dataclass
class Rig:
    """An engine, a house and cars that draw exactly what they are offered."""

    engine: Engine
    house_a: Phases = (1.0, 1.0, 1.0)
    settings: Settings = field(default_factory=lambda: Settings(mode=Mode.FAST))
    plugged: bool = True
    now: float = T0
    offered: dict[str, tuple[int, int]] = field(default_factory=dict)
    meter_on: bool = True
    prices: tuple[PriceSlot, ...] = ()
    pv_forecast: tuple[PvSlot, ...] = ()
    pv_power_w: float | None = None
    session_kwh: float = 0.0
    last: Decision | None = None

    def ev(self, charger: ChargerConfig) -> Phases:
        """Return the current the car on ``charger`` draws per phase."""
        amps, phases = self.offered.get(charger.id, (0, charger.phases))
        if phases == 3:
            return (float(amps), float(amps), float(amps))
        values = [0.0, 0.0, 0.0]
        values[charger.grid_phase] = float(amps)
        return (values[0], values[1], values[2])

    def grid(self) -> Phases:
        """Grid current: house plus every car."""
        total = list(self.house_a)
        for charger in self.engine.chargers:
            for phase, amps in enumerate(self.ev(charger)):
                total[phase] += amps
        return (total[0], total[1], total[2])

    def step(self, seconds: int = 1) -> Decision:
        """Advance ``seconds`` one call at a time; cars follow at once."""
        for _ in range(seconds):
            self.now += 1
            meter = (
                MeterSample(at=self.now, grid_a=self.grid()) if self.meter_on else None
            )
            decision = self.engine.step(
                SiteInput(
                    now=self.now,
                    meter=meter if self.meter_on else self._old_meter(),
                    chargers=tuple(
                        ChargerInput(
                            id=charger.id,
                            plugged=self.plugged,
                            session_kwh=self.session_kwh,
                            ev_current_a=self.ev(charger),
                            settings=self.settings,
                        )
                        for charger in self.engine.chargers
                    ),
                    prices=self.prices,
                    pv_forecast=self.pv_forecast,
                    pv_power_w=self.pv_power_w,
                )
            )
            for item in decision.chargers:
                charger = next(c for c in self.engine.chargers if c.id == item.id)
                if item.current_a is not None:  # None: mode off, the car goes on
                    phases = item.phases or charger.phases
                    self.offered[item.id] = (item.current_a, phases)
            self.last = decision
            if meter is not None:
                self._meter = meter
        assert self.last is not None
        return self.last

    def _old_meter(self) -> MeterSample | None:
        return getattr(self, "_meter", None)

    def current(self, charger_id: str = "ev") -> int:
        """Return the set-point last answered for ``charger_id`` (one it has)."""
        assert self.last is not None
        found = next(
            item.current_a for item in self.last.chargers if item.id == charger_id
        )
        assert found is not None
        return found


def rig(
    *,
    site: SiteConfig | None = None,
    chargers: tuple[ChargerConfig, ...] = (ChargerConfig(id="ev"),),
    house_a: Phases = (1.0, 1.0, 1.0),
    settings: Settings | None = None,
) -> Rig:
    """Build a rig: a 20 A fuse and one 3-phase 16 A charger unless told otherwise."""
    return Rig(
        Engine(site or SiteConfig(fuse_a=20.0), chargers),
        house_a=house_a,
        settings=settings or Settings(mode=Mode.FAST),
    )
