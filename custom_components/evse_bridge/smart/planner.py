"""Price planner: the target energy by the deadline at the lowest cost.

Time from now to the deadline is cut into steps at every quarter hour, so
60-minute, 15-minute and mixed price days look alike, and a day of 23 or 25
hours is just fewer or more steps. Each step offers two tiers of energy: the
expected solar surplus (valued at the export price, what selling it would have
earned) and grid energy up to what the fuse is expected to leave (at the import
price). The cheapest tiers are taken first, ties going to the earlier step; a
single unbroken block is preferred when it costs at most CONTINUOUS_TOLERANCE
more. A target that cannot be met is not given up: the plan then takes every
step at full power.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import math
from typing import Final

from .model import Plan, PlannedSlot, PriceSlot, PvSlot

# Steps are quarter hours: the shortest price interval on the market.
STEP_S: Final = 900.0
# A continuous block is preferred if it costs at most this much more than the
# cheapest scattered plan: every gap is a pause and a restart for the car.
CONTINUOUS_TOLERANCE: Final = 0.01
# How much longer than the shortest a continuous run may be.
CONTINUOUS_EXTRA_STEPS: Final = 4
# Planning horizon when the owner gives no deadline.
DEFAULT_HORIZON_S: Final = 24 * 3600.0
# Share of the forecast solar a plan counts on: clouds are not forecast, and
# solar beyond the plan is still taken when it comes. Counting on less makes
# the plan buy grid energy early that the sun would have given later.
PV_TRUST: Final = 0.9
# The cautious share: whether solar outside the plan is worth taking is judged
# by the kWh the plan would buy last if clouds took this much of the forecast.
CAUTIOUS_PV_TRUST: Final = 0.7
# Energy below this is "nothing left to plan" (rounding of meters).
EPSILON_KWH: Final = 1e-6


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One planning step and what it offers."""

    start: float
    end: float
    pv_kw: float
    """Expected usable solar surplus for the car."""
    grid_kw: float
    """Expected further power the fuse allows on top of the surplus."""
    pv_rank: float
    grid_rank: float
    """Per-kWh figures the plan minimises (prices, or window membership)."""
    pv_price: float
    grid_price: float
    """Per-kWh prices for the expected cost."""

    @property
    def hours(self) -> float:
        """Length of the step in hours."""
        return (self.end - self.start) / 3600.0


def step_bounds(now: float, deadline: float) -> list[tuple[float, float]]:
    """Cut the time from now to the deadline at every quarter hour."""
    bounds: list[tuple[float, float]] = []
    start = now
    while start < deadline - 1.0:
        end = min((math.floor(start / STEP_S) + 1) * STEP_S, deadline)
        bounds.append((start, end))
        start = end
    return bounds


def price_at(prices: Sequence[PriceSlot], at: float) -> PriceSlot | None:
    """Return the price slot covering ``at`` (slots in time order)."""
    low, high = 0, len(prices)
    while low < high:
        middle = (low + high) // 2
        if prices[middle].end <= at:
            low = middle + 1
        else:
            high = middle
    if low < len(prices) and prices[low].start <= at < prices[low].end:
        return prices[low]
    return next((slot for slot in prices if slot.start <= at < slot.end), None)


def pv_power_at(forecast: Sequence[PvSlot], start: float, end: float) -> float:
    """Average forecast solar power over [start, end)."""
    total = 0.0
    for slot in forecast:
        overlap = min(end, slot.end) - max(start, slot.start)
        if overlap > 0:
            total += slot.power_w * overlap
    return total / (end - start)


def build_steps(  # noqa: PLR0913
    *,
    now: float,
    deadline: float,
    prices: Sequence[PriceSlot],
    pv_forecast: Sequence[PvSlot],
    house_w: float,
    capacity_kw: Callable[[float, float], float],
    min_power_kw: float,
    windows: Sequence[tuple[float, float]] | None = None,
    pv_trust: float = PV_TRUST,
) -> list[Step]:
    """Build the steps a plan chooses from.

    ``capacity_kw(start, end)`` is the power the fuse is expected to leave the
    charger. Steps without a known price get the highest known price, so known
    cheap steps win but the target stays reachable. With ``windows`` the plan
    ranks steps by being inside a window (solar is then not planned for).
    The plan counts on ``pv_trust`` of the forecast solar.
    """
    worst = max((slot.import_price for slot in prices), default=0.0)
    worst_export = max((slot.export_price for slot in prices), default=0.0)
    steps: list[Step] = []
    for start, end in step_bounds(now, deadline):
        middle = (start + end) / 2
        price = price_at(prices, middle)
        import_price = price.import_price if price else worst
        export_price = price.export_price if price else worst_export
        cap_kw = max(capacity_kw(start, end), 0.0)
        if windows is None:
            forecast_w = pv_power_at(pv_forecast, start, end) * pv_trust
            surplus_kw = max(forecast_w - house_w, 0.0) / 1000
            pv_kw = min(surplus_kw, cap_kw) if surplus_kw >= min_power_kw else 0.0
            pv_rank, grid_rank = export_price, import_price
        else:
            pv_kw = 0.0
            inside = any(w_start <= middle < w_end for w_start, w_end in windows)
            pv_rank = grid_rank = 0.0 if inside else 1.0
        steps.append(
            Step(
                start=start,
                end=end,
                pv_kw=pv_kw,
                grid_kw=cap_kw - pv_kw,
                pv_rank=pv_rank,
                grid_rank=grid_rank,
                pv_price=export_price,
                grid_price=import_price,
            )
        )
    return steps


type Choice = tuple[int, bool, float]
"""Step index, grid tier (else solar), kWh taken."""


def _greedy(steps: Sequence[Step], need_kwh: float) -> list[Choice]:
    tiers: list[tuple[float, float, int, bool, float]] = []
    for index, step in enumerate(steps):
        if step.pv_kw > 0:
            tiers.append(
                (step.pv_rank, step.start, index, False, step.pv_kw * step.hours)
            )
        if step.grid_kw > 0:
            tiers.append(
                (step.grid_rank, step.start, index, True, step.grid_kw * step.hours)
            )
    tiers.sort(key=lambda tier: (tier[0], tier[1], tier[3]))
    chosen: list[Choice] = []
    left = need_kwh
    for _, _, index, grid, kwh in tiers:
        if left <= EPSILON_KWH:
            break
        taken = min(kwh, left)
        chosen.append((index, grid, taken))
        left -= taken
    return chosen


def dearest_prices(
    steps: Sequence[Step], need_kwh: float
) -> tuple[float | None, float | None]:
    """Return the dearest grid kWh and the dearest kWh of the cheapest plan."""
    grid_prices: list[float] = []
    prices: list[float] = []
    for index, grid, _ in _greedy(steps, need_kwh):
        step = steps[index]
        if grid:
            grid_prices.append(step.grid_price)
        prices.append(step.grid_price if grid else step.pv_price)
    return max(grid_prices, default=None), max(prices, default=None)


def _rank(steps: Sequence[Step], chosen: Sequence[Choice]) -> float:
    return sum(
        kwh * (steps[index].grid_rank if grid else steps[index].pv_rank)
        for index, grid, kwh in chosen
    )


def _continuous(steps: Sequence[Step], need_kwh: float) -> list[Choice] | None:
    """Return the cheapest unbroken run of steps that holds the need, if any.

    From each first step, runs from the shortest that holds the need up to
    CONTINUOUS_EXTRA_STEPS longer (a longer run may hold it in cheaper tiers,
    solar only for example); inside a run the cheapest tiers go first.
    """
    best: list[Choice] | None = None
    best_rank = math.inf
    for first in range(len(steps)):
        held = 0.0
        last = first
        while last < len(steps) and held < need_kwh - EPSILON_KWH:
            step = steps[last]
            if step.pv_kw + step.grid_kw <= 0:
                break
            held += (step.pv_kw + step.grid_kw) * step.hours
            last += 1
        if held < need_kwh - EPSILON_KWH:
            continue
        for end in range(last, min(last + CONTINUOUS_EXTRA_STEPS, len(steps)) + 1):
            chosen = [
                (first + index, grid, kwh)
                for index, grid, kwh in _greedy(steps[first:end], need_kwh)
            ]
            used = {index for index, _, _ in chosen}
            if max(used) - min(used) + 1 != len(used):
                continue  # the cheapest tiers of this run leave a gap
            rank = _rank(steps, chosen)
            if rank < best_rank - EPSILON_KWH:  # ties: the earlier run
                best, best_rank = chosen, rank
    return best


def plan(steps: Sequence[Step], need_kwh: float) -> Plan:
    """Plan the cheapest way to take ``need_kwh`` from ``steps``."""
    if need_kwh <= EPSILON_KWH or not steps:
        return Plan(feasible=need_kwh <= EPSILON_KWH)
    available = sum((step.pv_kw + step.grid_kw) * step.hours for step in steps)
    feasible = available >= need_kwh - EPSILON_KWH
    if not feasible:
        # Every step, even those the fuse seems to leave nothing in: the
        # charger then asks for its share now, and sharing gives it its
        # minimum before others get more than theirs.
        chosen: list[Choice] = [
            (index, True, (step.pv_kw + step.grid_kw) * step.hours)
            for index, step in enumerate(steps)
        ]
    else:
        chosen = _greedy(steps, need_kwh)
        block = _continuous(steps, need_kwh)
        if (
            block is not None
            and _rank(steps, block)
            <= _rank(steps, chosen) * (1 + CONTINUOUS_TOLERANCE) + EPSILON_KWH
        ):
            chosen = block
    return _to_plan(steps, chosen, feasible=feasible)


def _to_plan(
    steps: Sequence[Step], chosen: Sequence[Choice], *, feasible: bool
) -> Plan:
    by_step: dict[int, tuple[bool, float, float]] = {}
    cost = 0.0
    for index, grid, kwh in chosen:
        step = steps[index]
        cost += kwh * (step.grid_price if grid else step.pv_price)
        was_grid, kwh_before, _ = by_step.get(index, (False, 0.0, 0.0))
        power = (step.pv_kw + step.grid_kw) if grid or was_grid else step.pv_kw
        by_step[index] = (grid or was_grid, kwh_before + kwh, power)
    slots = tuple(
        PlannedSlot(
            start=steps[index].start,
            end=steps[index].end,
            power_kw=power,
            kwh=kwh,
            grid=grid,
        )
        for index, (grid, kwh, power) in sorted(by_step.items())
    )
    grid_starts = [slot.start for slot in slots if slot.grid]
    return Plan(
        slots=slots,
        next_start=min(grid_starts)
        if grid_starts
        else (slots[0].start if slots else None),
        expected_cost=cost,
        expected_kwh=sum(slot.kwh for slot in slots),
        feasible=feasible,
    )
