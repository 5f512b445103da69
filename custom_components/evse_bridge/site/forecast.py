"""Solar forecasts read from the integrations that publish them.

The energy dashboard's source comes first: an integration with an ``energy``
platform (core ``forecast_solar``, Solcast, Open-Meteo Solar Forecast) answers
``async_get_solar_forecast`` with ``wh_hours``, the energy per interval starting
at each time. Without one, Solcast's ``detailedForecast`` attribute is read:
``{period_start, pv_estimate}`` with the estimate in kW. Anything unreadable
gives no forecast and one log line.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.loader import IntegrationNotFound, async_get_integration

from ..const import LOGGER
from ..smart.model import PvSlot
from .series import interval_ends, parse_number, parse_time

SOLCAST_ATTRIBUTE: Final = "detailedForecast"


class ForecastError(Exception):
    """The forecast cannot be read."""


async def async_read_pv_forecast(
    hass: HomeAssistant, entity_id: str, now: datetime
) -> tuple[PvSlot, ...]:
    """Return the forecast slots from ``now`` on, oldest first."""
    try:
        return await _async_read(hass, entity_id, now)
    except (ForecastError, ImportError, KeyError, TypeError, ValueError) as err:
        LOGGER.warning(
            "No solar forecast from %s: %s", entity_id, err or type(err).__name__
        )
        return ()


async def _async_read(
    hass: HomeAssistant, entity_id: str, now: datetime
) -> tuple[PvSlot, ...]:
    entry = er.async_get(hass).async_get(entity_id)
    if entry is not None and entry.config_entry_id is not None:
        wh_hours = await _async_energy_platform(
            hass, entry.platform, entry.config_entry_id
        )
        if wh_hours is not None:
            return _from_energy(wh_hours, now)
    state = hass.states.get(entity_id)
    if state is not None and SOLCAST_ATTRIBUTE in state.attributes:
        return _from_solcast(state.attributes[SOLCAST_ATTRIBUTE], now)
    msg = "no forecast integration publishes this entity"
    raise ForecastError(msg)


async def _async_energy_platform(
    hass: HomeAssistant, domain: str, config_entry_id: str
) -> Mapping[str, object] | None:
    """Ask the integration's energy platform, if it has one, for ``wh_hours``."""
    try:
        integration = await async_get_integration(hass, domain)
    except IntegrationNotFound:
        return None
    if not integration.platforms_exists(("energy",)):
        return None
    platform = await integration.async_get_platform("energy")
    get_forecast = getattr(platform, "async_get_solar_forecast", None)
    if get_forecast is None:
        return None
    forecast = await get_forecast(hass, config_entry_id)
    if forecast is None:
        msg = "the integration has no forecast for this entry"
        raise ForecastError(msg)
    wh_hours = forecast["wh_hours"]
    if not isinstance(wh_hours, Mapping):
        msg = "wh_hours is not a mapping"
        raise ForecastError(msg)
    return wh_hours


def _from_energy(wh_hours: Mapping[str, object], now: datetime) -> tuple[PvSlot, ...]:
    """Average power over each interval from the energy it produces."""
    energy = {
        parse_time(key).timestamp(): parse_number(wh) for key, wh in wh_hours.items()
    }
    starts = sorted(energy)
    ends = interval_ends(starts, cap_gaps=True)
    return _slots(
        (
            (start, end, energy[start] * 3600 / (end - start))
            for start, end in zip(starts, ends, strict=True)
        ),
        now,
    )


def _from_solcast(detailed: object, now: datetime) -> tuple[PvSlot, ...]:
    """Solcast's half-hour estimates, in kW."""
    if not isinstance(detailed, list):
        msg = f"{SOLCAST_ATTRIBUTE} is not a list"
        raise ForecastError(msg)
    power = {
        parse_time(item["period_start"]).timestamp(): parse_number(item["pv_estimate"])
        * 1000
        for item in detailed
    }
    starts = sorted(power)
    ends = interval_ends(starts, cap_gaps=True)
    return _slots(
        ((start, end, power[start]) for start, end in zip(starts, ends, strict=True)),
        now,
    )


def _slots(
    rows: Iterable[tuple[float, float, float]], now: datetime
) -> tuple[PvSlot, ...]:
    """Keep what has not ended; refuse negative production."""
    slots: list[PvSlot] = []
    cutoff = now.timestamp()
    empty = True
    for start, end, power_w in rows:
        empty = False
        if power_w < 0:
            msg = f"negative production {power_w} W at {start}"
            raise ForecastError(msg)
        if end > cutoff:
            slots.append(PvSlot(start=start, end=end, power_w=power_w))
    if empty:
        msg = "the forecast is empty"
        raise ForecastError(msg)
    return tuple(slots)
