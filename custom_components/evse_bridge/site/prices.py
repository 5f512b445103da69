"""Stand-in for the price reader of branch ``sitekit`` (replaced at merge)."""

from datetime import datetime

from homeassistant.core import HomeAssistant

from ..smart.model import PriceSlot


async def async_read_prices(
    hass: HomeAssistant, entity_id: str, now: datetime
) -> tuple[PriceSlot, ...]:
    """Return the price slots an entity publishes (none in this stand-in)."""
    return ()
