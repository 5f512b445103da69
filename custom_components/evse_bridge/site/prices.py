"""Electricity prices read the way each price integration publishes them.

- core ``nordpool``: its ``get_prices_for_date`` action for today and tomorrow
  (prices per MWh, for the area of the chosen sensor);
- the Nord Pool custom integration: ``raw_today``/``raw_tomorrow`` attributes,
  lists of ``{start, end, value}``;
- ENTSO-e: ``prices_today``/``prices_tomorrow`` attributes, lists of
  ``{time, price}``;
- core ``tibber``: its ``get_prices`` action (prices per kWh by home).

Slots of 15 and 60 minutes may be mixed; all prices come out per kWh in the
main currency unit (öre and cents divided by 100, per MWh by 1000). The export
price is the import price. Anything unreadable gives no prices and one log line.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..smart.model import PriceSlot
from .series import interval_ends, parse_number, parse_time

type _Row = tuple[datetime, datetime | None, float]
"""A price as published: start, end if given, price in the source's unit."""

NORDPOOL: Final = "nordpool"
TIBBER: Final = "tibber"
_SUBUNITS: Final = ("öre", "øre", "cent", "ct", "c/", "p/")
"""Unit prefixes of a hundredth of the currency (öre, cents, pence)."""


class PriceError(Exception):
    """The prices cannot be read."""


async def async_read_prices(
    hass: HomeAssistant, entity_id: str, now: datetime
) -> tuple[PriceSlot, ...]:
    """Return the known price slots from ``now`` on, oldest first."""
    try:
        return await _async_read(hass, entity_id, now)
    except (PriceError, HomeAssistantError, KeyError, TypeError, ValueError) as err:
        LOGGER.warning("No prices from %s: %s", entity_id, err or type(err).__name__)
        return ()


async def _async_read(
    hass: HomeAssistant, entity_id: str, now: datetime
) -> tuple[PriceSlot, ...]:
    state = hass.states.get(entity_id)
    if state is None:
        msg = "the entity does not exist"
        raise PriceError(msg)
    entry = er.async_get(hass).async_get(entity_id)
    platform = entry.platform if entry is not None else None
    if entry is not None and entry.config_entry_id and platform == NORDPOOL:
        area = entry.unique_id.split("-", 1)[0]
        rows = await _async_core_nordpool(hass, entry.config_entry_id, area, now)
        factor = 1 / 1000
    elif platform == TIBBER:
        rows = await _async_tibber(hass, state, now)
        factor = 1.0
    elif "raw_today" in state.attributes:
        rows = _nordpool_custom(state)
        factor = _nordpool_custom_factor(state)
    elif "prices_today" in state.attributes:
        rows = _entsoe(state)
        factor = _unit_factor(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
    else:
        msg = "no price integration publishes this entity"
        raise PriceError(msg)
    return _slots(rows, factor, now)


async def _async_core_nordpool(
    hass: HomeAssistant, config_entry_id: str, area: str, now: datetime
) -> list[_Row]:
    """Call core Nord Pool's action for today, then tomorrow if published."""
    today = dt_util.as_local(now).date()
    rows: list[_Row] = []
    for day in (today, today + timedelta(days=1)):
        try:
            response = await hass.services.async_call(
                NORDPOOL,
                "get_prices_for_date",
                {
                    "config_entry": config_entry_id,
                    "date": day.isoformat(),
                    "areas": [area],
                },
                blocking=True,
                return_response=True,
            )
        except HomeAssistantError:
            if day == today:
                raise
            break  # Tomorrow's prices come in the early afternoon.
        rows.extend(
            (
                parse_time(item["start"]),
                parse_time(item["end"]),
                parse_number(item["price"]),
            )
            for item in _list((response or {})[area])
        )
    return rows


async def _async_tibber(hass: HomeAssistant, state: State, now: datetime) -> list[_Row]:
    """Call core Tibber's action for today and tomorrow; pick the sensor's home."""
    start = dt_util.start_of_local_day(now)
    response = await hass.services.async_call(
        TIBBER,
        "get_prices",
        {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()},
        blocking=True,
        return_response=True,
    )
    homes = (response or {})["prices"]
    if not isinstance(homes, Mapping):
        msg = "no homes in the answer"
        raise PriceError(msg)
    nickname = state.attributes.get("app_nickname")
    if nickname in homes:
        prices = homes[nickname]
    elif len(homes) == 1:
        (prices,) = homes.values()
    else:
        msg = f"cannot tell which of the homes {sorted(homes)} the sensor is"
        raise PriceError(msg)
    return [
        (parse_time(item["start_time"]), None, parse_number(item["price"]))
        for item in _list(prices)
    ]


def _nordpool_custom(state: State) -> list[_Row]:
    """Read the Nord Pool custom integration's ``raw_today``/``raw_tomorrow``."""
    items = [
        *_list(state.attributes["raw_today"]),
        *_list(state.attributes.get("raw_tomorrow") or []),
    ]
    return [
        (
            parse_time(item["start"]),
            parse_time(item["end"]),
            parse_number(item["value"]),
        )
        for item in items
        if item["value"] is not None  # Tomorrow may be listed before it is known.
    ]


def _nordpool_custom_factor(state: State) -> float:
    """Per kWh from the custom integration's ``unit`` and ``price_in_cents``."""
    unit = str(state.attributes.get("unit", "kWh"))
    factor = {"kWh": 1.0, "MWh": 1 / 1000, "Wh": 1000.0}.get(unit)
    if factor is None:
        msg = f"unknown energy unit {unit!r}"
        raise PriceError(msg)
    if state.attributes.get("price_in_cents") is True:
        factor /= 100
    return factor


def _entsoe(state: State) -> list[_Row]:
    """Read ENTSO-e's ``prices_today``/``prices_tomorrow``."""
    items = [
        *_list(state.attributes["prices_today"]),
        *_list(state.attributes.get("prices_tomorrow") or []),
    ]
    return [
        (parse_time(item["time"]), None, parse_number(item["price"])) for item in items
    ]


def _unit_factor(unit: object) -> float:
    """Per kWh from a unit of measurement such as ``SEK/kWh`` or ``öre/kWh``."""
    text = str(unit or "").strip().lower()
    factor = 1 / 1000 if text.endswith("/mwh") else 1.0
    if text.startswith(_SUBUNITS):
        factor /= 100
    return factor


def _list(value: object) -> Sequence[Mapping[str, Any]]:
    """Return a list of mappings, or refuse the data."""
    if not isinstance(value, list) or not all(
        isinstance(item, Mapping) for item in value
    ):
        msg = f"expected a list of prices, got {type(value).__name__}"
        raise PriceError(msg)
    return value


def _slots(rows: list[_Row], factor: float, now: datetime) -> tuple[PriceSlot, ...]:
    """Sort, close open intervals, convert per kWh and drop what has ended."""
    if not rows:
        msg = "no prices published"
        raise PriceError(msg)
    by_start = {start.timestamp(): (end, price) for start, end, price in rows}
    starts = sorted(by_start)
    guessed = interval_ends(starts)
    cutoff = now.timestamp()
    slots: list[PriceSlot] = []
    for start, guess in zip(starts, guessed, strict=True):
        end_time, price = by_start[start]
        end = end_time.timestamp() if end_time is not None else guess
        if end <= start:
            msg = f"a price slot ends before it starts at {start}"
            raise PriceError(msg)
        if end > cutoff:
            value = price * factor
            slots.append(
                PriceSlot(start=start, end=end, import_price=value, export_price=value)
            )
    return tuple(slots)
