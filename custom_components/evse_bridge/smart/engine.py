"""The smart-charging engine: one call per meter sample, one answer per charger.

Each call: record what the cars draw, take the meter sample if it is new, work
out what each charger's mode wants (planner, solar follower), share the fuse's
headroom between the chargers, and turn that into set-points under the rules
that keep cars happy (SMART_CHARGING.md 2.6): decreases at once, increases
after a hold, whole amperes, a minimum run and pause, few starts. While the
meter is silent every charger falls back (pause or a safe current) until the
meter has been back for a while. The engine has no clock and no I/O; its
long-lived state is a plain dict (``snapshot``/``restore``) so that it can
survive a restart.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import logging
import math
from typing import Any, Final

from . import planner, solar
from .guard import (
    AllowanceWindow,
    EvHistory,
    HoldPolicy,
    MeterWatch,
    headroom,
    house_current,
    stale_after,
    valid_phases,
)
from .model import (
    ZERO_PHASES,
    ChargerConfig,
    ChargerDecision,
    ChargerInput,
    Decision,
    Fallback,
    Mode,
    Phases,
    Plan,
    PlannedSlot,
    PriceSlot,
    Reason,
    ReasonCode,
    Settings,
    SiteConfig,
    SiteInput,
)
from .sharing import Claim, Grant, share, used_phases

_LOGGER = logging.getLogger(__name__)

# A run and a pause last at least this long unless safety says otherwise
# (SMART_CHARGING.md 2.6; OpenEVSE uses 600 s, Easee waits about 10 minutes).
MIN_RUN_S: Final = 600.0
MIN_PAUSE_S: Final = 300.0
# At most one increase per this long (each is a set-point change for the car).
INCREASE_SPACING_S: Final = 60.0
# Starts the engine makes on its own (solar) per session: cars refuse more.
MAX_SOLAR_STARTS: Final = 4
# Re-plan this often, and sooner when the fuse keeps the charger below plan.
REPLAN_S: Final = 900.0
DEVIATION_REPLAN_S: Final = 120.0
# Future steps keep this share of the fuse free: loads nobody announced (a
# water heater) take some of it. A share of the fuse, not of the charger's
# power, so that a step the fuse does not limit is planned at full power.
PLAN_RESERVE_SHARE: Final = 0.1
# Time constant of the house load (solar added back) the planner expects later.
HOUSE_TAU_S: Final = 1800.0
# Stops the owner (or the car) asked for: no minimum run applies.
_USER_STOPS: Final = frozenset(
    {ReasonCode.UNPLUGGED, ReasonCode.OFF, ReasonCode.TARGET_REACHED}
)
# A solar run in cheapest mode keeps its minimum current through a dip while
# that current, the surplus at the export price and the rest at the import
# price, costs at most this much more per kWh than the dearest kWh of the
# cautious plan: a pause costs the car a start and half a minute of charging.
SOLAR_HOLD_TOLERANCE: Final = 0.05
# A solar run whose plan charges again within BRIDGE_S goes on through the gap
# while solar costs at most BRIDGE_TOLERANCE more than the plan's dearest kWh:
# pausing for so short a gap would cost the car a start.
BRIDGE_S: Final = 900.0
BRIDGE_TOLERANCE: Final = 0.2
# The target is to be met this long before the deadline: time for the car to
# resume and ramp up, and for a cloud to show on the meter.
FINISH_MARGIN_S: Final = 120.0
# A measured car current above this is a car drawing (not sensor noise).
CAR_DRAWS_A: Final = 0.5
# Session energy within this of the target counts as reached.
TARGET_SLACK_KWH: Final = 0.001


@dataclass(slots=True)
class ChargerState:
    """What the engine remembers about one charger."""

    set_a: int = 0
    phases: int | None = None
    phases_at: float = -math.inf
    running_since: float | None = None
    paused_at: float | None = None
    paused_for_safety: bool = True
    last_increase_at: float = -math.inf
    solar_starts: int = 0
    plugged: bool = False
    plan: Plan | None = None
    plan_at: float = -math.inf
    plan_key: tuple[object, ...] = ()
    dearest_grid_price: float | None = None
    dearest_planned_price: float | None = None
    solar_run: bool = False
    """Whether the current run was started by the solar surplus."""
    hands_off: bool = False
    """Whether the charger was last not driven (mode off)."""
    deviated_since: float | None = None
    solar: solar.SolarState = field(default_factory=solar.SolarState)
    hold: HoldPolicy = field(default_factory=HoldPolicy)
    window: AllowanceWindow = field(default_factory=AllowanceWindow)
    history: EvHistory = field(default_factory=EvHistory)


@dataclass(frozen=True, slots=True)
class _Want:
    current_a: float
    phases: int
    reason: Reason
    solar_driven: bool = False
    settled: bool = True
    plan: Plan | None = None
    hands_off: bool = False
    """Mode off: the charger is not driven, only reduced if the fuse needs it."""


def _sanitize(values: Phases) -> Phases:
    """Measured car currents, finite: negative readings count as 0."""
    first, second, third = values
    if first >= 0 and second >= 0 and third >= 0:
        return values
    return (max(first, 0.0), max(second, 0.0), max(third, 0.0))


class Engine:
    """Smart charging for one site (one main fuse) and its chargers."""

    def __init__(self, site: SiteConfig, chargers: Sequence[ChargerConfig]) -> None:
        """Set up for ``site`` and ``chargers`` (ids must be unique)."""
        ids = [charger.id for charger in chargers]
        if len(set(ids)) != len(ids):
            msg = f"charger ids must be unique: {ids}"
            raise ValueError(msg)
        self.site = site
        self.chargers = tuple(chargers)
        self._stale_s = stale_after(site)
        self._meter = MeterWatch()
        self._house: Phases | None = None
        # The house's own load per phase, solar added back, averaged: what a
        # later step expects before that step's own solar (saved as
        # "house_trend" in snapshots).
        self._load_trend: Phases | None = None
        self._house_at: float | None = None
        self._states = {charger.id: ChargerState() for charger in chargers}
        self._warned: set[str] = set()
        self._prices_seen: tuple[PriceSlot, ...] | None = None
        self._prices_usable: tuple[PriceSlot, ...] = ()
        self._prices_hash = 0

    # -- the call ---------------------------------------------------------

    def step(self, site_input: SiteInput) -> Decision:
        """Decide every charger's set-point for ``site_input``."""
        if (prices := self._usable_prices(site_input.prices)) is not site_input.prices:
            site_input = replace(site_input, prices=prices)
        now = site_input.now
        inputs = {item.id: item for item in site_input.chargers}
        if any(charger_id not in self._states for charger_id in inputs):
            self._warn_once(
                "unknown",
                "Ignoring chargers the engine does not know: %s",
                sorted(set(inputs) - set(self._states)),
            )
        for charger in self.chargers:
            item = inputs.get(charger.id)
            if item is None:
                current: Phases = (0.0, 0.0, 0.0)
            elif valid_phases(item.ev_current_a):
                current = _sanitize(item.ev_current_a)
            else:
                current = (0.0, 0.0, 0.0)
                self._warn_once(
                    "ev_current",
                    "Unusable car current for %s; counted as 0",
                    charger.id,
                )
            self._states[charger.id].history.add(now, current)
        if self._meter.offer(site_input.meter, now, self._stale_s):
            self._take_sample(self._pv_now_w(site_input))
        elif site_input.meter is not None and not valid_phases(site_input.meter.grid_a):
            self._warn_once(
                "meter", "Unusable meter sample ignored: %s", site_input.meter
            )
        trusted = self._meter.trusted(now, self._stale_s) and self._house is not None
        wants = {
            charger.id: self._want(
                charger, inputs.get(charger.id), site_input, trusted=trusted
            )
            for charger in sorted(self.chargers, key=lambda item: -item.priority)
        }
        if trusted and self._house is not None:
            room, grants = self._not_driven(
                wants, headroom(self.site, self._house), now
            )
            grants |= share(
                room,
                [
                    Claim(
                        config=charger,
                        want_a=wants[charger.id].current_a,
                        phases=self._claim_phases(charger, wants[charger.id], now),
                        running=self._states[charger.id].set_a > 0,
                    )
                    for charger in self.chargers
                    if not wants[charger.id].hands_off
                ],
            )
        else:
            grants = {}
        decisions = tuple(
            self._decide(
                charger, wants[charger.id], grants.get(charger.id), now, trusted=trusted
            )
            for charger in self.chargers
        )
        return Decision(
            chargers=decisions,
            meter_fresh=trusted,
            guard_active=any(
                decision.reason.code
                in (
                    ReasonCode.FUSE_LIMITED,
                    ReasonCode.FUSE_PAUSED,
                    ReasonCode.METER_STALE,
                )
                for decision in decisions
            ),
        )

    def _not_driven(
        self, wants: dict[str, _Want], room: Phases, now: float
    ) -> tuple[Phases, dict[str, Grant]]:
        """Take what the chargers in mode off draw out of the fuse's room, first.

        The site cannot move them, so the others share what they leave. Only
        one that draws more than the fuse would leave it, were every driven
        charger at 0, gets a grant: what is left. The others get none.
        """
        free = list(room)
        grants = {}
        for charger in sorted(self.chargers, key=lambda item: -item.priority):
            if not wants[charger.id].hands_off:
                continue
            drawn = self._states[charger.id].history.at(now)
            # Only the phases the car draws on: a one-phase car on L1 does
            # not relieve L3.
            loaded = [phase for phase in range(3) if drawn[phase] > CAR_DRAWS_A]
            if any(drawn[phase] > free[phase] + 1e-9 for phase in loaded):
                binding = min(loaded, key=lambda phase: free[phase])
                grants[charger.id] = Grant(
                    current_a=max(free[binding], 0.0),
                    allowance_a=max(free[binding], 0.0),
                    phases=charger.phases,
                    binding_phase=binding,
                )
            free = [free[phase] - drawn[phase] for phase in range(3)]
        return (free[0], free[1], free[2]), grants

    def _usable_prices(self, prices: tuple[PriceSlot, ...]) -> tuple[PriceSlot, ...]:
        """Drop price slots with non-finite numbers; checked once per new list."""
        if prices is self._prices_seen:
            return self._prices_usable
        usable = tuple(
            sorted(
                (
                    slot
                    for slot in prices
                    if all(
                        math.isfinite(value)
                        for value in (
                            slot.start,
                            slot.end,
                            slot.import_price,
                            slot.export_price,
                        )
                    )
                    and slot.end > slot.start
                ),
                key=lambda slot: slot.start,
            )
        )
        if len(usable) != len(prices):
            self._warn_once(
                "prices", "Ignoring %s unusable price slots", len(prices) - len(usable)
            )
        elif usable == prices:
            usable = prices  # the same list: the input needs no copy at every call
        self._prices_seen, self._prices_usable = prices, usable
        self._prices_hash = hash(usable)
        return usable

    def _pv_now_w(self, site_input: SiteInput) -> float:
        """Return the solar production now: measured, else forecast, else none."""
        pv = site_input.pv_power_w
        if pv is None or not math.isfinite(pv):
            pv = planner.pv_power_at(
                site_input.pv_forecast, site_input.now, site_input.now + 60
            )
        return max(pv, 0.0)

    def _take_sample(self, pv_w: float) -> None:
        sample = self._meter.last
        assert sample is not None  # noqa: S101 - offer() just stored it
        house = house_current(
            sample,
            [
                self._states[charger.id].history.at(sample.at)
                for charger in self.chargers
            ],
        )
        self._house = house
        pv_a = self._pv_per_phase_a(pv_w)
        load = (house[0] + pv_a[0], house[1] + pv_a[1], house[2] + pv_a[2])
        if self._load_trend is None or self._house_at is None:
            self._load_trend = load
        else:
            weight = 1.0 - math.exp(-max(sample.at - self._house_at, 0.0) / HOUSE_TAU_S)
            trend = self._load_trend
            self._load_trend = (
                trend[0] + (load[0] - trend[0]) * weight,
                trend[1] + (load[1] - trend[1]) * weight,
                trend[2] + (load[2] - trend[2]) * weight,
            )
        self._house_at = sample.at

    def _pv_per_phase_a(self, pv_w: float) -> Phases:
        """Return the solar current per phase, spread evenly over the site's phases."""
        amps = pv_w / (self.site.phases * self.site.voltage_v)
        return (amps, amps, amps) if self.site.phases == 3 else (amps, 0.0, 0.0)  # noqa: PLR2004

    # -- what each mode wants ---------------------------------------------

    def _want(
        self,
        charger: ChargerConfig,
        item: ChargerInput | None,
        site_input: SiteInput,
        *,
        trusted: bool,
    ) -> _Want:
        state = self._states[charger.id]
        phases = state.phases or charger.phases
        hands_off = item is not None and item.settings.mode is Mode.OFF
        if item is None or not item.plugged:
            if state.plugged:
                self._end_session(state)
            code = ReasonCode.OFF if hands_off else ReasonCode.UNPLUGGED
            return _Want(0.0, phases, Reason(code=code), hands_off=hands_off)
        if not state.plugged:
            state.plugged = True
            state.solar_starts = 0
        target = item.settings.target_kwh
        if target is not None and not math.isfinite(target):
            self._warn_once("target", "Unusable target %s: charging until full", target)
            item = replace(item, settings=replace(item.settings, target_kwh=None))
        if not math.isfinite(item.session_kwh):
            self._warn_once("session", "Unusable session energy for %s: 0", charger.id)
            item = replace(item, session_kwh=0.0)
        settings = item.settings
        if hands_off:
            return _Want(0.0, phases, Reason(code=ReasonCode.OFF), hands_off=True)
        target = settings.target_kwh
        if target is not None and item.session_kwh >= target - TARGET_SLACK_KWH:
            return _Want(0.0, phases, Reason(code=ReasonCode.TARGET_REACHED))
        if settings.mode is Mode.FAST:
            return _Want(
                charger.max_current_a, charger.phases, Reason(code=ReasonCode.CHARGING)
            )
        if settings.mode in (Mode.SOLAR, Mode.SOLAR_MIN):
            return self._solar(charger, settings.mode, site_input, trusted=trusted)
        return self._planned(charger, item, site_input, trusted=trusted)

    def _solar(
        self,
        charger: ChargerConfig,
        mode: Mode,
        site_input: SiteInput,
        *,
        trusted: bool,
        hold_price: float | None = None,
    ) -> _Want:
        """Follow the surplus; with ``hold_price``, hold the minimum while it is cheap.

        The minimum is held through a dip of any length while its price (the
        surplus at the export price, the rest imported) is at most ``hold_price``.
        """
        state = self._states[charger.id]
        sample = self._meter.last
        if not trusted or sample is None:
            return _Want(
                0.0,
                state.phases or charger.phases,
                Reason(code=ReasonCode.SOLAR_WAITING),
            )
        voltage = self.site.voltage_v
        ev = state.history.at(sample.at)
        item_settings = next(
            (item.settings for item in site_input.chargers if item.id == charger.id),
            Settings(),
        )
        available = (
            sum(ev) - sum(sample.grid_a)
        ) * voltage + item_settings.import_allowance_w
        target = solar.follow(
            state.solar,
            charger,
            mode=mode,
            now=site_input.now,
            available_w=available,
            running=state.set_a > 0,
            voltage=voltage,
            hold_minimum=hold_price is not None
            and self._minimum_price(charger, site_input, available) <= hold_price,
        )
        return _Want(
            float(target.current_a),
            target.phases,
            Reason(code=target.code, until=target.until),
            solar_driven=True,
            settled=target.settled,
        )

    def _minimum_price(
        self, charger: ChargerConfig, site_input: SiteInput, available_w: float
    ) -> float:
        """Per-kWh price of the minimum current now with ``available_w`` of surplus."""
        price = planner.price_at(site_input.prices, site_input.now)
        if price is None:
            return math.inf
        phases = self._states[charger.id].phases or charger.phases
        minimum_w = math.ceil(charger.min_current_a) * phases * self.site.voltage_v
        solar_w = min(max(available_w, 0.0), minimum_w)
        return (
            solar_w * price.export_price + (minimum_w - solar_w) * price.import_price
        ) / minimum_w

    def _planned(
        self,
        charger: ChargerConfig,
        item: ChargerInput,
        site_input: SiteInput,
        *,
        trusted: bool,
    ) -> _Want:
        """Return what the plan wants, raised if the target would be missed.

        The plan counts on forecast solar; when clouds take more of it in the
        last planning step, no re-plan comes in time to buy the rest, so there
        the current that still meets the target is a floor.
        """
        want = self._plan_want(charger, item, site_input, trusted=trusted)
        finish_a = self._finish_a(charger, item, site_input.now)
        if finish_a >= charger.min_current_a and want.current_a < finish_a:
            # Rounded up, and never lowered on the way: no churn at the end.
            floor_a = max(math.ceil(finish_a), self._states[charger.id].set_a)
            return _Want(
                min(float(floor_a), charger.max_current_a),
                charger.phases,
                Reason(code=ReasonCode.CHARGING),
                plan=want.plan,
            )
        return want

    def _finish_a(
        self, charger: ChargerConfig, item: ChargerInput, now: float
    ) -> float:
        """Return the current that meets the target FINISH_MARGIN_S early.

        Only in the last planning step before the deadline; 0 elsewhere.
        """
        settings = item.settings
        if (
            settings.target_kwh is None
            or settings.deadline is None
            or settings.deadline - now > planner.STEP_S
        ):
            return 0.0
        left_s = settings.deadline - now - FINISH_MARGIN_S
        if left_s <= 0:
            return charger.max_current_a
        need_kwh = settings.target_kwh - item.session_kwh
        return need_kwh * 3.6e6 / (left_s * charger.phases * self.site.voltage_v)

    def _plan_want(
        self,
        charger: ChargerConfig,
        item: ChargerInput,
        site_input: SiteInput,
        *,
        trusted: bool,
    ) -> _Want:
        state = self._states[charger.id]
        now = site_input.now
        current_plan = self._replan_if_needed(charger, item, site_input)
        slot = next(
            (slot for slot in current_plan.slots if slot.start <= now < slot.end), None
        )
        phases = state.phases or charger.phases
        if slot is not None and slot.grid:
            # The follower does not watch the surplus meanwhile: a dip before
            # this slot must not stop the charger right after it.
            state.solar.below_since = None
            return _Want(
                charger.max_current_a,
                charger.phases,
                Reason(code=ReasonCode.CHARGING),
                plan=current_plan,
            )
        # Solar outside the plan: only a run solar started, or a paused charger
        # (the follower starts it only on real surplus), not the tail of a
        # planned grid run.
        if slot is not None or (
            trusted
            and item.settings.mode is Mode.CHEAPEST
            and (state.set_a == 0 or state.solar_run)
            and self._solar_worth_it(state, current_plan, site_input)
        ):
            hold_price = (
                None
                if state.dearest_planned_price is None
                else state.dearest_planned_price * (1 + SOLAR_HOLD_TOLERANCE)
            )
            want = self._solar(
                charger,
                Mode.SOLAR,
                site_input,
                trusted=trusted,
                hold_price=hold_price,
            )
            if want.current_a > 0 or slot is not None:
                return _Want(
                    want.current_a,
                    want.phases,
                    want.reason,
                    solar_driven=True,
                    settled=want.settled,
                    plan=current_plan,
                )
        return _Want(
            0.0,
            phases,
            Reason(code=ReasonCode.WAITING_FOR_SLOT, until=current_plan.next_start),
            plan=current_plan,
        )

    def _solar_worth_it(
        self, state: ChargerState, current_plan: Plan, site_input: SiteInput
    ) -> bool:
        """Whether to take solar (at its export price) outside the plan's slots.

        A paused charger starts when solar beats the plan's dearest grid kWh;
        a solar run goes on while solar costs at most SOLAR_HOLD_TOLERANCE more
        than the dearest kWh the plan takes, grid or solar (BRIDGE_TOLERANCE
        when the plan charges again within BRIDGE_S).
        """
        limit = (
            state.dearest_planned_price if state.solar_run else state.dearest_grid_price
        )
        if limit is None:
            return False
        if state.solar_run:
            bridge = (
                current_plan.next_start is not None
                and current_plan.next_start - site_input.now <= BRIDGE_S
            )
            limit *= 1 + (BRIDGE_TOLERANCE if bridge else SOLAR_HOLD_TOLERANCE)
        price = planner.price_at(site_input.prices, site_input.now)
        return price is not None and price.export_price <= limit

    def _replan_if_needed(
        self, charger: ChargerConfig, item: ChargerInput, site_input: SiteInput
    ) -> Plan:
        state = self._states[charger.id]
        now = site_input.now
        settings = item.settings
        key = (settings, self._prices_hash)
        due = (
            state.plan is None
            or key != state.plan_key
            or math.floor(now / REPLAN_S) != math.floor(state.plan_at / REPLAN_S)
            or (
                state.deviated_since is not None
                and now - state.deviated_since >= DEVIATION_REPLAN_S
                and now - state.plan_at >= DEVIATION_REPLAN_S
            )
        )
        if not due and state.plan is not None:
            return state.plan
        need = (
            settings.target_kwh - item.session_kwh
            if settings.target_kwh is not None
            else math.inf
        )
        deadline = settings.deadline
        if deadline is None or deadline <= now:
            deadline = (
                site_input.prices[-1].end
                if site_input.prices and site_input.prices[-1].end > now
                else now + planner.DEFAULT_HORIZON_S
            )

        def steps_at(pv_trust: float) -> list[planner.Step]:
            return planner.build_steps(
                now=now,
                deadline=deadline,
                prices=site_input.prices,
                pv_forecast=site_input.pv_forecast,
                house_w=self._house_load_w(site_input),
                capacity_kw=lambda start, end: self._capacity_kw(
                    charger, site_input, start, end
                ),
                min_power_kw=charger.min_current_a
                * self.site.voltage_v
                * (1 if charger.can_switch_phases else charger.phases)
                / 1000,
                windows=settings.windows if settings.mode is Mode.WINDOW else None,
                pv_trust=pv_trust,
            )

        steps = steps_at(planner.PV_TRUST)
        if math.isinf(need):
            need = sum((step.pv_kw + step.grid_kw) * step.hours for step in steps)
        state.plan = planner.plan(steps, need)
        state.plan_at, state.plan_key, state.deviated_since = now, key, None
        # Whether solar outside the plan is worth taking is judged on a
        # cautious reading of the forecast: the kWh the plan would buy last if
        # clouds took more of it.
        state.dearest_grid_price, state.dearest_planned_price = (
            planner.dearest_prices(steps_at(planner.CAUTIOUS_PV_TRUST), need)
            if settings.mode is Mode.CHEAPEST
            else (None, None)
        )
        return state.plan

    def _house_load_w(self, site_input: SiteInput) -> float:
        """Return the house's own consumption now (solar added back), in W."""
        if self._house is None:
            load = self._load_trend or ZERO_PHASES
            return max(sum(load) * self.site.voltage_v, 0.0)
        return max(
            sum(self._house) * self.site.voltage_v + self._pv_now_w(site_input), 0.0
        )

    def _capacity_kw(
        self, charger: ChargerConfig, site_input: SiteInput, start: float, end: float
    ) -> float:
        """Power the fuse is expected to leave ``charger`` over [start, end).

        Now: what the meter shows. Later: the house's usual load less the
        solar the forecast expects then, with a reserve for surprises.
        """
        near = start <= site_input.now + 1.0
        if near and self._house is not None:
            house, reserve = self._house, 0.0
        else:
            load = self._load_trend or ZERO_PHASES
            pv_w = planner.pv_power_at(site_input.pv_forecast, start, end)
            pv_a = self._pv_per_phase_a(pv_w * planner.PV_TRUST)
            house = (load[0] - pv_a[0], load[1] - pv_a[1], load[2] - pv_a[2])
            reserve = self.site.fuse_a * PLAN_RESERVE_SHARE
        reserved = [0.0, 0.0, 0.0]
        for other in self.chargers:
            if other.priority <= charger.priority or other.id == charger.id:
                continue
            other_plan = self._states[other.id].plan
            for slot in other_plan.slots if other_plan else ():
                if slot.grid and slot.start < end and start < slot.end:
                    amps = slot.power_kw * 1000 / (other.phases * self.site.voltage_v)
                    for phase in used_phases(other, other.phases):
                        reserved[phase] += amps
        free = [
            self.site.fuse_a - self.site.margin_a - reserve - house[p] - reserved[p]
            for p in range(3)
        ]
        three = min(
            charger.max_current_a,
            *(free[phase] for phase in used_phases(charger, charger.phases)),
        )
        if three >= charger.min_current_a:
            return charger.phases * self.site.voltage_v * three / 1000
        if charger.can_switch_phases:
            one = min(charger.max_current_a, free[charger.grid_phase])
            if one >= charger.min_current_a:
                return self.site.voltage_v * one / 1000
        return 0.0

    # -- from wants and grants to set-points --------------------------------

    def _decide(  # noqa: C901, PLR0912 - one rule per branch, in the order they apply
        self,
        charger: ChargerConfig,
        want: _Want,
        grant: Grant | None,
        now: float,
        *,
        trusted: bool,
    ) -> ChargerDecision:
        state = self._states[charger.id]
        if want.hands_off:
            return self._hands_off(charger, state, grant)
        if state.hands_off:
            self._take_over(charger, state, now)
        before = (state.set_a, state.phases)
        if not trusted or grant is None:
            state.window.reset()
            target = (
                min(state.set_a, self._fallback_a(charger)) if want.current_a > 0 else 0
            )
            if target < state.set_a:
                self._lower(state, target, now, safety=True)
            reason = want.reason
            if want.current_a > 0:
                reason = Reason(code=ReasonCode.METER_STALE, limit_a=float(target))
            return self._answer(charger, state, before, reason, want.plan)
        state.window.add(now, grant.allowance_a)
        minimum = math.ceil(charger.min_current_a)
        allowed = math.floor(min(want.current_a, grant.current_a) + 1e-9)
        if allowed < minimum:
            allowed = 0
        fuse_bound = want.current_a >= minimum and grant.current_a + 1e-9 < min(
            want.current_a, charger.max_current_a
        )
        reason = (
            self._fuse_reason(charger, grant, allowed) if fuse_bound else want.reason
        )
        planned_grid = want.plan is not None and want.reason.code is ReasonCode.CHARGING
        if planned_grid and fuse_bound:
            state.deviated_since = state.deviated_since or now
        else:
            state.deviated_since = None
        if allowed and state.set_a and grant.phases != state.phases:
            if grant.phases < (state.phases or charger.phases) and fuse_bound:
                state.hold.note_safety_decrease(now)
            state.phases, state.phases_at = grant.phases, now
            state.set_a, state.last_increase_at = allowed, now
        elif allowed < state.set_a:
            safety = grant.allowance_a < state.set_a
            if (
                not safety
                and allowed == 0
                and want.reason.code not in _USER_STOPS
                and state.running_since is not None
                and now - state.running_since < MIN_RUN_S
            ):
                reason = Reason(
                    code=ReasonCode.RUN_HELD, until=state.running_since + MIN_RUN_S
                )
                allowed = max(minimum, min(state.set_a, math.floor(grant.current_a)))
            if allowed < state.set_a:
                self._lower(state, allowed, now, safety=safety)
                if want.solar_driven and state.solar_run and not safety and allowed > 0:
                    state.solar.decreases.append(now)
        elif allowed > state.set_a:
            reason = self._raise(
                charger, state, want, allowed, grant.phases, now, reason
            )
        if state.set_a and want.current_a > 0:
            state.solar_run = want.solar_driven
        return self._answer(charger, state, before, reason, want.plan)

    def _hands_off(
        self, charger: ChargerConfig, state: ChargerState, grant: Grant | None
    ) -> ChargerDecision:
        """Leave a charger in mode off alone, unless the fuse needs it lower.

        The fuse wins: when even every driven charger at 0 leaves less than
        it draws, it gets what is left (paused below its minimum). The site
        never raises or resumes it.
        """
        state.hands_off = True
        state.set_a, state.running_since, state.paused_at = 0, None, None
        state.window.reset()
        if grant is None:
            return ChargerDecision(
                id=charger.id,
                current_a=None,
                phases=None,
                reason=Reason(code=ReasonCode.OFF),
                changed=False,
            )
        allowed = math.floor(max(grant.allowance_a, 0.0) + 1e-9)
        if allowed < charger.min_current_a:
            allowed = 0
        return ChargerDecision(
            id=charger.id,
            current_a=allowed,
            phases=None,
            reason=self._fuse_reason(charger, grant, allowed, alone=True),
            changed=True,
        )

    def _take_over(
        self, charger: ChargerConfig, state: ChargerState, now: float
    ) -> None:
        """Start driving a charger that was in mode off where it is now."""
        state.hands_off = False
        drawn = math.floor(max(state.history.at(now)) + 1e-9)
        if drawn >= charger.min_current_a:
            state.set_a = min(drawn, math.floor(charger.max_current_a))
            state.phases, state.phases_at = charger.phases, now
            state.running_since = state.last_increase_at = now

    def _claim_phases(self, charger: ChargerConfig, want: _Want, now: float) -> int:
        """Phases to ask the fuse for: back to 3 only after PHASE_SWITCH_MIN_S."""
        state = self._states[charger.id]
        if not charger.can_switch_phases or state.set_a == 0 or state.phases is None:
            return want.phases
        if (
            want.phases > state.phases
            and now - state.phases_at < solar.PHASE_SWITCH_MIN_S
        ):
            return state.phases
        return want.phases

    def _fuse_reason(
        self, charger: ChargerConfig, grant: Grant, allowed: int, *, alone: bool = False
    ) -> Reason:
        """Say which phase limits the charger, and whether other chargers take it."""
        sample = self._meter.last
        phase = grant.binding_phase
        measured = sample.grid_a[phase] if sample else None
        house = self._house or (0.0, 0.0, 0.0)
        room = self.site.fuse_a - self.site.margin_a - house[phase]
        if not alone and room >= max(grant.current_a + 1.0, charger.min_current_a):
            return Reason(
                code=ReasonCode.SHARED,
                phase=phase + 1,
                measured_a=measured,
                limit_a=self.site.fuse_a,
            )
        code = ReasonCode.FUSE_LIMITED if allowed else ReasonCode.FUSE_PAUSED
        return Reason(
            code=code, phase=phase + 1, measured_a=measured, limit_a=self.site.fuse_a
        )

    def _raise(  # noqa: C901, PLR0911, PLR0912, PLR0913, PLR0917 - each return is a reason
        self,
        charger: ChargerConfig,
        state: ChargerState,
        want: _Want,
        allowed: int,
        phases: int,
        now: float,
        reason: Reason,
    ) -> Reason:
        minimum = math.ceil(charger.min_current_a)
        hold_s = state.hold.hold_s(now)
        steady = state.window.min_over(now, hold_s)
        if steady is None or math.floor(steady + 1e-9) < minimum:
            since = state.window.since
            return Reason(code=ReasonCode.INCREASE_HELD, until=(since or now) + hold_s)
        target = min(allowed, math.floor(steady + 1e-9))
        if state.set_a == 0:
            if (
                not state.paused_for_safety
                and state.paused_at is not None
                and now - state.paused_at < MIN_PAUSE_S
            ):
                return Reason(
                    code=ReasonCode.PAUSE_HELD, until=state.paused_at + MIN_PAUSE_S
                )
            if want.solar_driven and state.solar_starts >= MAX_SOLAR_STARTS:
                return Reason(code=ReasonCode.START_LIMIT)
            if target < minimum:
                return reason
            if want.solar_driven:
                state.solar_starts += 1
            if phases != state.phases:
                state.phases, state.phases_at = phases, now
            state.set_a = target
            state.running_since = now
            state.last_increase_at = now
            return reason
        if want.solar_driven:
            if not want.settled:
                return reason
            if state.solar.decreases:
                until = state.solar.decreases[-1] + solar.increase_hold_s(
                    state.solar, now
                )
                if now < until:
                    return Reason(code=ReasonCode.INCREASE_HELD, until=until)
        if now - state.last_increase_at < INCREASE_SPACING_S or target <= state.set_a:
            if target <= state.set_a and steady < allowed:
                return Reason(code=ReasonCode.INCREASE_HELD, until=now + hold_s)
            return reason
        state.set_a = target
        state.last_increase_at = now
        return reason

    def _lower(
        self, state: ChargerState, target: int, now: float, *, safety: bool
    ) -> None:
        if safety:
            state.hold.note_safety_decrease(now)
        if target == 0 and state.set_a > 0:
            state.paused_at = now
            state.paused_for_safety = safety
            state.running_since = None
        state.set_a = target

    def _fallback_a(self, charger: ChargerConfig) -> int:
        if self.site.fallback is Fallback.PAUSE:
            return 0
        current = math.floor(min(self.site.fallback_current_a, charger.max_current_a))
        return current if current >= charger.min_current_a else 0

    def _answer(
        self,
        charger: ChargerConfig,
        state: ChargerState,
        before: tuple[int, int | None],
        reason: Reason,
        current_plan: Plan | None,
    ) -> ChargerDecision:
        phases = state.phases if charger.can_switch_phases else None
        return ChargerDecision(
            id=charger.id,
            current_a=state.set_a,
            phases=phases,
            reason=reason,
            changed=(state.set_a, state.phases) != before,
            plan=current_plan,
        )

    def _end_session(self, state: ChargerState) -> None:
        state.plugged = False
        state.plan = None
        state.plan_key = ()
        state.solar = solar.SolarState()
        state.solar_starts = 0

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _LOGGER.warning(message, *args)

    # -- surviving a restart -------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return the state worth keeping across a restart, as JSON-ready data."""
        return {
            "house_trend": list(self._load_trend) if self._load_trend else None,
            "chargers": {
                charger_id: {
                    "set_a": state.set_a,
                    "phases": state.phases,
                    "running_since": state.running_since,
                    "paused_at": state.paused_at,
                    "paused_for_safety": state.paused_for_safety,
                    "solar_starts": state.solar_starts,
                    "plugged": state.plugged,
                    "plan": _plan_to_dict(state.plan),
                }
                for charger_id, state in self._states.items()
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a ``snapshot``; anything unusable is left at its default.

        The meter counts as silent until it has reported again for a while,
        so the chargers stay at their fallback right after a restart.
        """
        try:
            trend = data.get("house_trend")
            if isinstance(trend, list) and len(trend) == len(ZERO_PHASES):
                self._load_trend = (float(trend[0]), float(trend[1]), float(trend[2]))
            for charger_id, saved in dict(data.get("chargers", {})).items():
                state = self._states.get(charger_id)
                if state is None or not isinstance(saved, dict):
                    continue
                state.set_a = int(saved.get("set_a", 0))
                phases = saved.get("phases")
                state.phases = int(phases) if phases in (1, 3) else None
                state.running_since = _float_or_none(saved.get("running_since"))
                state.paused_at = _float_or_none(saved.get("paused_at"))
                state.paused_for_safety = bool(saved.get("paused_for_safety", True))
                state.solar_starts = int(saved.get("solar_starts", 0))
                state.plugged = bool(saved.get("plugged", False))
                state.plan = _plan_from_dict(saved.get("plan"))
        except (TypeError, ValueError, AttributeError, KeyError) as err:
            self._warn_once(
                "restore",
                "Saved smart-charging state unusable (%s); starting afresh",
                err,
            )
            self._states = {charger.id: ChargerState() for charger in self.chargers}
            self._load_trend = None


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _plan_to_dict(current_plan: Plan | None) -> dict[str, Any] | None:
    if current_plan is None:
        return None
    return {
        "slots": [
            [slot.start, slot.end, slot.power_kw, slot.kwh, slot.grid]
            for slot in current_plan.slots
        ],
        "next_start": current_plan.next_start,
        "expected_cost": current_plan.expected_cost,
        "expected_kwh": current_plan.expected_kwh,
        "feasible": current_plan.feasible,
    }


def _plan_from_dict(data: object) -> Plan | None:
    if not isinstance(data, dict):
        return None
    return Plan(
        slots=tuple(
            PlannedSlot(
                start=float(start),
                end=float(end),
                power_kw=float(power),
                kwh=float(kwh),
                grid=bool(grid),
            )
            for start, end, power, kwh, grid in data["slots"]
        ),
        next_start=_float_or_none(data.get("next_start")),
        expected_cost=float(data["expected_cost"]),
        expected_kwh=float(data["expected_kwh"]),
        feasible=bool(data["feasible"]),
    )
