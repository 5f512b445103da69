"""What the smart-charging engine is told and what it answers.

Times are seconds since the Unix epoch (UTC), so days of 23 or 25 hours need
no special care. Currents are amperes per phase, grid currents signed (import
positive, export negative). Phases are indexed 0, 1, 2 for L1, L2, L3.
"""

from dataclasses import dataclass, field
from enum import StrEnum
import math

type Phases = tuple[float, float, float]
ZERO_PHASES: Phases = (0.0, 0.0, 0.0)


class Mode(StrEnum):
    """What the owner wants a charger to do."""

    OFF = "off"
    """Not driven: the site sends the charger nothing (someone else drives it,
    evcc or the owner); what it draws counts as load, and only a fuse that it
    alone can relieve makes the site reduce it."""
    FAST = "fast"
    """As much as the fuse allows, now."""
    SOLAR = "solar"
    """Only solar surplus; pause when there is not enough."""
    SOLAR_MIN = "solar_min"
    """Solar surplus, never below the minimum current (the rest from the grid)."""
    CHEAPEST = "cheapest"
    """The target energy by the deadline at the lowest cost, solar included."""
    WINDOW = "window"
    """The target energy inside the owner's fixed windows where possible."""


class Fallback(StrEnum):
    """What to do while the grid meter is silent."""

    PAUSE = "pause"
    SAFE_CURRENT = "safe_current"


class ReasonCode(StrEnum):
    """Why a charger gets the current it gets; one translated sentence each."""

    UNPLUGGED = "unplugged"
    OFF = "off"
    """Not controlled (mode off): no set-point."""
    TARGET_REACHED = "target_reached"
    CHARGING = "charging"
    """As much as the mode wants."""
    FUSE_LIMITED = "fuse_limited"
    """Reduced for the fuse: ``phase`` at ``measured_a`` of ``limit_a``."""
    FUSE_PAUSED = "fuse_paused"
    """Paused for the fuse: not even the minimum fits on ``phase``."""
    INCREASE_HELD = "increase_held"
    """The fuse would allow more, but only after the hold, ``until``."""
    SHARED = "shared"
    """Chargers of higher priority take the rest of the fuse."""
    METER_STALE = "meter_stale"
    """The meter is silent: fallback ``limit_a`` (0 = paused)."""
    WAITING_FOR_SLOT = "waiting_for_slot"
    """Waiting for the planned start ``until``."""
    SOLAR = "solar"
    """Following the solar surplus."""
    SOLAR_WAITING = "solar_waiting"
    """Not enough solar surplus to start."""
    PAUSE_HELD = "pause_held"
    """A pause lasts at least the minimum pause, until ``until``."""
    RUN_HELD = "run_held"
    """A run lasts at least the minimum run, until ``until``."""
    START_LIMIT = "start_limit"
    """No more starts this session (the car may refuse them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteConfig:
    """One main fuse and its meter."""

    fuse_a: float
    """Main fuse per phase."""
    phases: int = 3
    voltage_v: float = 230.0
    margin_a: float = 0.5
    """Kept free below the fuse for what the meter has not seen yet."""
    meter_period_s: float = 1.0
    """How often the grid meter reports; it is stale after max(3 x this, 10 s)."""
    fallback: Fallback = Fallback.PAUSE
    fallback_current_a: float = 6.0
    """Used with ``Fallback.SAFE_CURRENT`` while the meter is silent."""

    def __post_init__(self) -> None:
        """Refuse a site that cannot be guarded."""
        if not (math.isfinite(self.fuse_a) and self.fuse_a > 0):
            msg = f"fuse_a must be a positive number, not {self.fuse_a}"
            raise ValueError(msg)
        if self.phases not in (1, 3):
            msg = f"phases must be 1 or 3, not {self.phases}"
            raise ValueError(msg)
        if not (math.isfinite(self.voltage_v) and self.voltage_v > 0):
            msg = f"voltage_v must be positive, not {self.voltage_v}"
            raise ValueError(msg)
        if not (0 <= self.margin_a < self.fuse_a):
            msg = f"margin_a must be in [0, fuse_a), not {self.margin_a}"
            raise ValueError(msg)
        if not (math.isfinite(self.meter_period_s) and self.meter_period_s > 0):
            msg = f"meter_period_s must be positive, not {self.meter_period_s}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerConfig:
    """One charger on the site."""

    id: str
    min_current_a: float = 6.0
    """Below this the car stops; some cars need 7 or 8 A."""
    max_current_a: float = 16.0
    phases: int = 3
    can_switch_phases: bool = False
    """Whether the charger can switch between 1 and 3 phases."""
    priority: int = 0
    """Higher goes first when the fuse cannot serve every charger."""
    grid_phase: int = 0
    """Grid phase (0 = L1) a 1-phase charger, or a switched one on 1 phase, uses."""

    def __post_init__(self) -> None:
        """Refuse a charger that cannot be driven."""
        if not (6.0 <= self.min_current_a <= self.max_current_a <= 80.0):  # noqa: PLR2004
            msg = (
                "need 6 A <= min_current_a <= max_current_a <= 80 A, got "
                f"{self.min_current_a} and {self.max_current_a}"
            )
            raise ValueError(msg)
        if self.phases not in (1, 3):
            msg = f"phases must be 1 or 3, not {self.phases}"
            raise ValueError(msg)
        if self.grid_phase not in (0, 1, 2):
            msg = f"grid_phase must be 0, 1 or 2, not {self.grid_phase}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The owner's wishes for one charger."""

    mode: Mode = Mode.FAST
    target_kwh: float | None = None
    """Energy to add this session; None = until the car is full."""
    deadline: float | None = None
    """When the target must be reached (cheapest and window modes)."""
    windows: tuple[tuple[float, float], ...] = ()
    """Window mode: the cheap windows as (start, end) times."""
    import_allowance_w: float = 0.0
    """Solar modes: grid import accepted to avoid a pause."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSample:
    """One reading of the grid meter."""

    at: float
    """When the meter measured it."""
    grid_a: Phases
    """Signed grid current per phase: import positive."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceSlot:
    """A price interval, 15 or 60 minutes (or any length)."""

    start: float
    end: float
    import_price: float
    """Per kWh bought, everything included."""
    export_price: float
    """Per kWh sold: what a kWh of solar used at home costs in lost income."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PvSlot:
    """Forecast solar production over an interval."""

    start: float
    end: float
    power_w: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerInput:
    """What is known about one charger at a call."""

    id: str
    plugged: bool
    session_kwh: float = 0.0
    ev_current_a: Phases = ZERO_PHASES
    """Measured current the car draws per grid phase."""
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteInput:
    """Everything one engine call sees."""

    now: float
    meter: MeterSample | None
    """The latest grid meter sample (the engine notices a new one by its time)."""
    chargers: tuple[ChargerInput, ...]
    prices: tuple[PriceSlot, ...] = ()
    pv_forecast: tuple[PvSlot, ...] = ()
    pv_power_w: float | None = None
    """Measured solar production now, if there is a sensor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reason:
    """Why a charger gets its current; parameters for the translated sentence."""

    code: ReasonCode
    phase: int | None = None
    measured_a: float | None = None
    limit_a: float | None = None
    until: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedSlot:
    """A slot the plan charges in."""

    start: float
    end: float
    power_kw: float
    """Expected charging power (the fuse's expected allowance, or the surplus)."""
    kwh: float
    """Energy the plan counts on in this slot."""
    grid: bool
    """True: charge at full power; False: solar surplus only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """How a charger will reach its target."""

    slots: tuple[PlannedSlot, ...] = ()
    next_start: float | None = None
    expected_cost: float = 0.0
    expected_kwh: float = 0.0
    feasible: bool = True
    """False: the target cannot be met in time; the plan charges all it can."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerDecision:
    """The engine's answer for one charger."""

    id: str
    current_a: int | None
    """Set-point; 0 = paused; None = not controlled (mode off): send nothing."""
    phases: int | None
    """Phase count to use, for chargers that can switch; None otherwise."""
    reason: Reason
    changed: bool
    """Whether the set-point or phase count differs from the last answer."""
    plan: Plan | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The engine's answer for a whole call."""

    chargers: tuple[ChargerDecision, ...]
    meter_fresh: bool
    guard_active: bool
    """Whether the fuse limits any charger now."""
