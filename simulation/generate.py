"""The benchmark days S1-S8 (SMART_CHARGING.md 5.2, 5.3) as scenario data.

A pure function of the constants below: ``scenarios()`` gives the same data on
every run, and ``render`` the same bytes, so the committed files in
scenarios/ can be checked against it (``python -m simulation generate``).
"""

from collections.abc import Callable
import json
import math
import re
from typing import Any, Final

VOLTAGE: Final = 230.0
FUSE_A: Final = 20.0
MINUTES: Final = 1440
# The reference day starts at noon on a June day without a clock change.
DAY: Final = "2026-06-10"
OFFSET: Final = "+02:00"
BASE_W: Final = (250, 200, 300)
FRIDGE_W: Final = 100
# Spot prices per clock hour (SEK/kWh); import adds grid fee and tax.
SPOT: Final = {
    12: 0.80, 13: 0.75, 14: 0.70, 15: 0.72, 16: 0.90, 17: 1.40, 18: 1.90, 19: 2.10,
    20: 1.60, 21: 1.20, 22: 0.95, 23: 0.70, 0: 0.55, 1: 0.42, 2: 0.38, 3: 0.36,
    4: 0.40, 5: 0.55, 6: 1.10, 7: 1.80, 8: 2.00, 9: 1.50, 10: 1.00, 11: 0.85,
}  # fmt: skip
IMPORT_FEE: Final = 0.70
QUARTER_FACTORS: Final = (0.95, 1.00, 1.05, 1.00)
# (from, to, factor) in clock minutes since midnight.
CLOUDS: Final = (
    (18 * 60 + 40, 18 * 60 + 48, 0.35),
    (19 * 60 + 5, 19 * 60 + 12, 0.45),
    (19 * 60 + 30, 19 * 60 + 33, 0.5),
    (6 * 60 + 10, 6 * 60 + 25, 0.4),
    (13 * 60 + 30, 14 * 60 + 10, 0.5),
)
# (from, to, phases, watts) in clock minutes; the oven thermostat separately.
EVENTS: Final = (
    (17 * 60 + 30, 18 * 60 + 10, (0, 1), 2000),
    (18 * 60 + 20, 18 * 60 + 35, (2,), 2500),
    (18 * 60 + 30, 18 * 60 + 45, (0, 1), 3500),
    (19 * 60, 19 * 60 + 3, (1,), 2200),
    (20 * 60, 21 * 60 + 30, (0, 1, 2), 800),
    (20 * 60 + 30, 21 * 60 + 30, (0, 1, 2), 1500),
    (21 * 60 + 40, 22 * 60, (1,), 2000),
    (22 * 60, 22 * 60 + 50, (1,), 300),
    (22 * 60, 22 * 60 + 20, (0,), 1800),
    (22 * 60 + 50, 23 * 60 + 10, (0,), 1800),
    (2 * 60 + 45, 3 * 60 + 45, (0,), 3000),
    (6 * 60 + 30, 6 * 60 + 45, (0,), 2000),
    (6 * 60 + 35, 6 * 60 + 38, (1,), 1000),
)
OVEN_CYCLE: Final = (18 * 60 + 35, 19 * 60 + 10, 2, 2500)


def _clock(start_hour: int, minute: int) -> int:
    """Return the clock minute of minute ``minute`` of a day from ``start_hour``."""
    return (start_hour * 60 + minute) % MINUTES


def _within(clock: int, start: int, end: int) -> bool:
    return start <= clock < end


def house_w(start_hour: int) -> list[list[int]]:
    """House load per phase and minute (W)."""
    rows: list[list[int]] = []
    for minute in range(MINUTES):
        clock = _clock(start_hour, minute)
        load = list(BASE_W)
        if (_clock(start_hour, minute) - 12 * 60) % 45 < 15:  # noqa: PLR2004
            load[0] += FRIDGE_W
        for start, end, phases, watts in EVENTS:
            if _within(clock, start, end):
                for phase in phases:
                    load[phase] += watts
        oven_start, oven_end, phase, watts = OVEN_CYCLE
        if _within(clock, oven_start, oven_end) and (clock - oven_start) % 3 < 2:  # noqa: PLR2004
            load[phase] += watts
        rows.append(load)
    return rows


def clear_sky_w(clock: int) -> float:
    """Return the 10 kWp west-biased array's clear-sky power at a clock minute (W)."""
    hour = clock / 60
    if not 5 <= hour <= 21.5:  # noqa: PLR2004
        return 0.0
    return float(10_000 * math.sin(math.pi * (hour - 5) / 16.5) ** 1.3)


def pv_w(
    start_hour: int, extra_clouds: Callable[[int], float] | None = None
) -> tuple[list[int], list[int]]:
    """Actual and forecast (clear-sky) PV per minute (W)."""
    actual: list[int] = []
    forecast: list[int] = []
    for minute in range(MINUTES):
        clock = _clock(start_hour, minute)
        clear = clear_sky_w(clock)
        factor = 1.0
        for start, end, cloud in CLOUDS:
            if _within(clock, start, end):
                factor = cloud
        if extra_clouds is not None:
            factor = min(factor, extra_clouds(clock))
        actual.append(round(clear * factor))
        forecast.append(round(clear))
    return actual, forecast


def hourly_prices(
    start_hour: int, spot: Callable[[int], float] | None = None
) -> list[list[float]]:
    """Return [start_s, end_s, import, export] per clock hour."""
    rows: list[list[float]] = []
    for hour_index in range(MINUTES // 60):
        hour = (start_hour + hour_index) % 24
        price = spot(hour) if spot else SPOT[hour]
        rows.append(
            [
                hour_index * 3600,
                (hour_index + 1) * 3600,
                round(price + IMPORT_FEE, 4),
                price,
            ]
        )
    return rows


def quarter_prices(start_hour: int) -> list[list[float]]:
    """Return 15-minute prices: each hour's spot times 0.95, 1.00, 1.05, 1.00."""
    rows: list[list[float]] = []
    for hour_index in range(MINUTES // 60):
        spot = SPOT[(start_hour + hour_index) % 24]
        for quarter, factor in enumerate(QUARTER_FACTORS):
            start = hour_index * 3600 + quarter * 900
            price = round(spot * factor, 4)
            rows.append([start, start + 900, round(price + IMPORT_FEE, 4), price])
    return rows


def window_prices(start_hour: int) -> list[list[float]]:
    """Fixed-window tariff: import 0.90 from 00:30 to 04:30, 1.60 otherwise."""
    rows: list[list[float]] = []
    for quarter_index in range(MINUTES // 15):
        clock = _clock(start_hour, quarter_index * 15)
        inside = 30 <= clock < 4 * 60 + 30  # noqa: PLR2004
        start = quarter_index * 900
        spot = SPOT[clock // 60]
        rows.append([start, start + 900, 0.90 if inside else 1.60, spot])
    return rows


def seconds_at(start_hour: int, hour: int, minute: int = 0) -> int:
    """Seconds from the day's start to a clock time."""
    return ((hour * 60 + minute - start_hour * 60) % MINUTES) * 60


def car(
    start_hour: int,
    plug: tuple[int, int],
    unplug: tuple[int, int],
    need_kwh: float,
    **extra: Any,
) -> dict[str, Any]:
    """Describe a 3-phase, 16 A car (SMART_CHARGING.md 5.1)."""
    return {
        "plug_in_s": seconds_at(start_hour, *plug),
        "plug_out_s": seconds_at(start_hour, *unplug),
        "need_kwh": need_kwh,
        "phases": 3,
        "max_current_a": 16,
        "ramp_up_a_per_s": 1,
        "ramp_down_a_per_s": 6,
        "resume_delay_s": 20,
        "refuse_after_pauses": None,
    } | extra


def charger(
    charger_id: str, car_data: dict[str, Any], settings: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """Describe a 3-phase 16 A charger answering within 2 s."""
    return {
        "id": charger_id,
        "phases": 3,
        "can_switch_phases": False,
        "grid_phase": 0,
        "min_current_a": 6,
        "max_current_a": 16,
        "priority": 0,
        "command_latency_s": 2,
        "car": car_data,
        "settings": settings,
    } | extra


def day(
    name: str, description: str, *, start_hour: int = 12, **changes: Any
) -> dict[str, Any]:
    """S1, with ``changes`` to its top-level fields."""
    pv, forecast = pv_w(start_hour)
    deadline = seconds_at(start_hour, 7)
    data: dict[str, Any] = {
        "format": 1,
        "name": name,
        "description": description,
        "start": f"{DAY}T{start_hour:02d}:00:00{OFFSET}",
        "site": {"fuse_a": FUSE_A, "voltage_v": VOLTAGE},
        "meter": {
            "period_s": 1,
            "offset_s": 7,
            "latency_s": 0,
            "dropouts": [
                [seconds_at(start_hour, 2, 40), seconds_at(start_hour, 2, 55)]
            ],
        },
        "restarts": [],
        "chargers": [
            charger(
                "ev1",
                car(start_hour, (18, 0), (7, 0), 20),
                {"mode": "cheapest", "target_kwh": 20, "deadline_s": deadline},
            )
        ],
        "prices": hourly_prices(start_hour),
        "minutes": {
            "house_w": house_w(start_hour),
            "pv_w": pv,
            "pv_forecast_w": forecast,
        },
    }
    return data | changes


def _solar_day(
    name: str, description: str, spot: Callable[[int], float] | None = None
) -> dict[str, Any]:
    start_hour = 4

    def drifting(clock: int) -> float:
        if 14 * 60 <= clock < 16 * 60 and (clock - 14 * 60) % 8 < 3:  # noqa: PLR2004
            return 0.3
        return 1.0

    pv, forecast = pv_w(start_hour, drifting)
    data = day(name, description, start_hour=start_hour)
    data["start"] = f"2026-06-11T{start_hour:02d}:00:00{OFFSET}"
    data["meter"]["dropouts"] = []
    data["minutes"] = {
        "house_w": house_w(start_hour),
        "pv_w": pv,
        "pv_forecast_w": forecast,
    }
    data["prices"] = hourly_prices(start_hour, spot)
    data["chargers"] = [
        charger(
            "ev1",
            car(start_hour, (10, 0), (16, 0), 40),
            {
                "mode": "cheapest",
                "target_kwh": 40,
                "deadline_s": seconds_at(start_hour, 16),
            },
        )
    ]
    return data


def scenarios() -> dict[str, dict[str, Any]]:
    """Every benchmark day, by file stem."""
    s1 = day(
        "S1",
        "Reference day: 20 A fuse, evening loads, 10 kWp PV, 20 kWh by 07:00,"
        " meter dropout 02:40-02:55",
    )
    s2a = day("S2a", "S1 with a 10 s meter (HAN)")
    s2a["meter"] = s1["meter"] | {"period_s": 10}
    s2b = day("S2b", "S1 with a 30 s meter (throttled Home Assistant sensor)")
    s2b["meter"] = s1["meter"] | {"period_s": 30}
    s3 = day(
        "S3",
        "S1 with a charger that switches 1p/3p (1p on L2)"
        " and a car that charges on one phase",
    )
    s3["chargers"] = [s1["chargers"][0] | {"can_switch_phases": True, "grid_phase": 1}]
    s4 = _solar_day(
        "S4",
        "Car plugged 10:00-16:00 needing 40 kWh;"
        " clouds every 8 min (3 min at 30 %) 14:00-16:00",
    )
    s5a = day("S5a", "S1 with 15-minute prices")
    s5a["prices"] = quarter_prices(12)
    s5b = day(
        "S5b",
        "S1 with a fixed-window tariff: 0.90 from 00:30 to 04:30, 1.60 otherwise;"
        " window mode",
    )
    s5b["prices"] = window_prices(12)
    s5b["chargers"] = [
        s1["chargers"][0]
        | {
            "settings": {
                "mode": "window",
                "target_kwh": 20,
                "deadline_s": seconds_at(12, 7),
                "windows": [[seconds_at(12, 0, 30), seconds_at(12, 4, 30)]],
            }
        }
    ]
    s5c = _solar_day(
        "S5c",
        "S4 with a spot price of -0.20 from 13:00 to 15:00",
        lambda hour: -0.20 if hour in (13, 14) else SPOT[hour],
    )
    s6 = day(
        "S6",
        "Two chargers on the fuse: a second car 19:30-06:00 needing 15 kWh;"
        " car 1 has priority",
    )
    s6["chargers"] = [
        s1["chargers"][0] | {"priority": 1},
        charger(
            "ev2",
            car(12, (19, 30), (6, 0), 15),
            {"mode": "cheapest", "target_kwh": 15, "deadline_s": seconds_at(12, 6)},
        ),
    ]
    s7 = day(
        "S7",
        "S1 with a car that refuses to restart after 3 pauses that were not for safety",
    )
    s7["chargers"] = [
        s1["chargers"][0]
        | {"car": s1["chargers"][0]["car"] | {"refuse_after_pauses": 3}}
    ]
    s8 = day(
        "S8",
        "S1 with a Home Assistant restart at 23:30: state lost, 60 s without commands",
    )
    s8["restarts"] = [{"at_s": seconds_at(12, 23, 30), "silent_s": 60}]
    return {
        "s1": s1, "s2a": s2a, "s2b": s2b, "s3": s3, "s4": s4, "s5a": s5a,
        "s5b": s5b, "s5c": s5c, "s6": s6, "s7": s7, "s8": s8,
    }  # fmt: skip


_NUMBER_LIST = re.compile(r"\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]")


def render(data: dict[str, Any]) -> str:
    """Return a scenario as JSON text: readable, one row of numbers per line."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    while True:
        collapsed = _NUMBER_LIST.sub(
            lambda match: (
                "["
                + ", ".join(part.strip() for part in match.group(1).split(","))
                + "]"
            ),
            text,
        )
        if collapsed == text:
            return text + "\n"
        text = collapsed
