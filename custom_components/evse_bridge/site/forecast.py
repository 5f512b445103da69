"""Stand-in for the PV forecast reader of branch ``sitekit`` (replaced at merge)."""

from datetime import datetime

from homeassistant.core import HomeAssistant

from ..smart.model import PvSlot


async def async_read_pv_forecast(
    hass: HomeAssistant, entity_id: str, now: datetime
) -> tuple[PvSlot, ...]:
    """Return the forecast slots an entity publishes (none in this stand-in)."""
    return ()
