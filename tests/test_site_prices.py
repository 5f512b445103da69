"""Prices read the way each price integration publishes them."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise
import logging
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.site.prices import async_read_prices
from custom_components.evse_bridge.smart.model import PriceSlot

STOCKHOLM = "Europe/Stockholm"
LOCAL = ZoneInfo(STOCKHOLM)
# Wednesday 2 December 2026, 10:07 in Stockholm (UTC+1).
NOW = datetime(2026, 12, 2, 9, 7, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
"""Local midnight starting 2 December."""
# A winter day in SE3, SEK/MWh per hour: cheap night, morning and evening peaks.
HOURLY_SEK_MWH = (
    412.3, 398.0, 391.5, 388.9, 402.7, 455.1, 780.4, 1210.6, 1390.2, 1102.8, 950.3,
    880.0, 845.6, 870.2, 930.7, 1105.9, 1480.3, 1725.0, 1630.4, 1288.1, 990.6, 760.2,
    610.9, 505.5,
)  # fmt: skip


@pytest.fixture
async def stockholm(hass: HomeAssistant) -> HomeAssistant:
    """Home Assistant in Sweden, where quarter-hour prices started in 2025."""
    await hass.config.async_set_time_zone(STOCKHOLM)
    return hass


def quarter_hours(
    day_start: datetime, hourly: tuple[float, ...]
) -> list[dict[str, Any]]:
    """Answer a day of 15-minute prices as core Nord Pool's action answers them."""
    return [
        {
            "start": (start := day_start + timedelta(minutes=15 * i)).isoformat(),
            "end": (start + timedelta(minutes=15)).isoformat(),
            "price": hourly[i // 4] + (i % 4) * 1.5,
        }
        for i in range(4 * len(hourly))
    ]


def register(
    hass: HomeAssistant, domain: str, action: str, answer: Callable[[ServiceCall], Any]
) -> list[ServiceCall]:
    """Register a fake action that answers like the integration's; return its calls."""
    calls: list[ServiceCall] = []

    async def handle(call: ServiceCall) -> ServiceResponse:
        calls.append(call)
        return answer(call)  # type: ignore[no-any-return]

    hass.services.async_register(
        domain, action, handle, supports_response=SupportsResponse.ONLY
    )
    return calls


def registry_sensor(
    hass: HomeAssistant, platform: str, unique_id: str, *, attributes: dict[str, Any]
) -> str:
    """Add a sensor of another integration's config entry, with a state."""
    entry = MockConfigEntry(domain=platform)
    entry.add_to_hass(hass)
    entity = er.async_get(hass).async_get_or_create(
        "sensor", platform, unique_id, config_entry=entry
    )
    hass.states.async_set(entity.entity_id, "1.0", attributes)
    return entity.entity_id


def hours(slots: tuple[PriceSlot, ...]) -> float:
    """How many hours the slots cover."""
    return sum(slot.end - slot.start for slot in slots) / 3600


async def test_core_nordpool_today_and_tomorrow(stockholm: HomeAssistant) -> None:
    """Quarter hours of today and tomorrow, per kWh, for the sensor's area."""
    hass = stockholm
    entity_id = registry_sensor(
        hass,
        "nordpool",
        "SE3-current_price",
        attributes={"unit_of_measurement": "SEK/kWh"},
    )

    def answer(call: ServiceCall) -> dict[str, Any]:
        day = datetime.fromisoformat(str(call.data["date"]))
        start = MIDNIGHT + timedelta(days=(day.day - 2))
        return {"SE3": quarter_hours(start, HOURLY_SEK_MWH)}

    calls = register(hass, "nordpool", "get_prices_for_date", answer)

    slots = await async_read_prices(hass, entity_id, NOW)

    assert [call.data["date"] for call in calls] == ["2026-12-02", "2026-12-03"]
    assert all(call.data["areas"] == ["SE3"] for call in calls)
    # The quarter hour running at 10:07 local is the first; 10:00-10:15 costs 0.9503.
    assert slots[0].start == datetime(2026, 12, 2, 9, 0, tzinfo=UTC).timestamp()
    assert slots[0].import_price == pytest.approx(0.9503)
    assert slots[0].export_price == slots[0].import_price
    assert len(slots) == 4 * 14 + 96
    assert hours(slots) == 38
    assert min(slots, key=lambda s: s.import_price).start == (
        datetime(2026, 12, 3, 2, 0, tzinfo=UTC).timestamp()
    )


async def test_core_nordpool_before_tomorrow_is_published(
    stockholm: HomeAssistant,
) -> None:
    """Before about 13:00 tomorrow's prices are missing: today's are enough."""
    hass = stockholm
    entity_id = registry_sensor(hass, "nordpool", "SE3-current_price", attributes={})

    def answer(call: ServiceCall) -> dict[str, Any]:
        if call.data["date"] != "2026-12-02":
            raise ServiceValidationError(
                translation_domain="nordpool", translation_key="no_prices"
            )
        return {"SE3": quarter_hours(MIDNIGHT, HOURLY_SEK_MWH)}

    register(hass, "nordpool", "get_prices_for_date", answer)

    slots = await async_read_prices(hass, entity_id, NOW)

    assert hours(slots) == 14


async def test_core_nordpool_failure_gives_no_prices(
    stockholm: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Today's prices unavailable: no prices, one warning."""
    hass = stockholm
    entity_id = registry_sensor(hass, "nordpool", "SE3-current_price", attributes={})

    def answer(call: ServiceCall) -> dict[str, Any]:
        raise ServiceValidationError(
            translation_domain="nordpool", translation_key="connection_error"
        )

    register(hass, "nordpool", "get_prices_for_date", answer)

    with caplog.at_level(logging.WARNING):
        assert await async_read_prices(hass, entity_id, NOW) == ()
    assert [r.message for r in caplog.records if r.levelno == logging.WARNING] == [
        f"No prices from {entity_id}: connection_error"
    ]


def nordpool_custom_day(
    day_start: datetime, count: int, value: Callable[[int], float | None]
) -> list[dict[str, Any]]:
    """Publish the custom integration's raw list: local datetimes, hourly."""
    return [
        {
            "start": (day_start + timedelta(hours=i)).astimezone(LOCAL),
            "end": (day_start + timedelta(hours=i + 1)).astimezone(LOCAL),
            "value": value(i),
        }
        for i in range(count)
    ]


async def test_nordpool_custom_attributes(stockholm: HomeAssistant) -> None:
    """raw_today and raw_tomorrow hold datetimes and per-kWh values."""
    hass = stockholm
    today = nordpool_custom_day(MIDNIGHT, 24, lambda i: HOURLY_SEK_MWH[i] / 1000)
    tomorrow = nordpool_custom_day(MIDNIGHT + timedelta(days=1), 24, lambda _: None)
    hass.states.async_set(
        "sensor.nordpool_kwh_se3_sek_3_10_025",
        "0.9503",
        {
            "unit": "kWh",
            "currency": "SEK",
            "price_in_cents": False,
            "unit_of_measurement": "SEK/kWh",
            "raw_today": today,
            "raw_tomorrow": tomorrow,
            "tomorrow_valid": False,
        },
    )

    slots = await async_read_prices(hass, "sensor.nordpool_kwh_se3_sek_3_10_025", NOW)

    assert hours(slots) == 14
    assert slots[0].import_price == pytest.approx(0.9503)
    assert slots[-1].import_price == pytest.approx(0.5055)


@pytest.mark.parametrize(
    ("unit", "cents", "published", "per_kwh"),
    [
        ("kWh", True, 95.03, 0.9503),
        ("MWh", False, 950.3, 0.9503),
        ("MWh", True, 95030.0, 0.9503),
        ("Wh", False, 0.0009503, 0.9503),
    ],
)
async def test_nordpool_custom_units(
    stockholm: HomeAssistant, unit: str, cents: bool, published: float, per_kwh: float
) -> None:
    """Öre and per-MWh settings of the custom integration come out per kWh."""
    hass = stockholm
    hass.states.async_set(
        "sensor.nordpool",
        "1",
        {
            "unit": unit,
            "price_in_cents": cents,
            "raw_today": nordpool_custom_day(MIDNIGHT, 24, lambda _: published),
            "raw_tomorrow": [],
        },
    )

    slots = await async_read_prices(hass, "sensor.nordpool", NOW)

    assert slots[0].import_price == pytest.approx(per_kwh)


async def test_nordpool_custom_on_the_autumn_dst_day(stockholm: HomeAssistant) -> None:
    """25 October 2026 has 25 hours in Stockholm: 25 slots, none overlapping."""
    hass = stockholm
    day_start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # local midnight, CEST
    hass.states.async_set(
        "sensor.nordpool",
        "1",
        {
            "unit": "kWh",
            "price_in_cents": False,
            "raw_today": nordpool_custom_day(day_start, 25, lambda i: 0.3 + i / 100),
            "raw_tomorrow": [],
        },
    )

    slots = await async_read_prices(hass, "sensor.nordpool", day_start)

    assert len(slots) == 25
    assert hours(slots) == 25
    assert all(a.end == b.start for a, b in pairwise(slots))


def entsoe_day(day_start: datetime, minutes: int, count: int) -> list[dict[str, Any]]:
    """ENTSO-e's list: ISO strings in local time and a price, no end."""
    return [
        {
            "time": (day_start + timedelta(minutes=minutes * i))
            .astimezone(LOCAL)
            .isoformat(),
            "price": round(0.05 + i / 1000, 4),
        }
        for i in range(count)
    ]


async def test_entsoe_hours_today_quarters_tomorrow(stockholm: HomeAssistant) -> None:
    """Hourly today and quarter hours tomorrow: each slot ends where the next starts."""
    hass = stockholm
    hass.states.async_set(
        "sensor.entso_e_current_electricity_market_price",
        "0.059",
        {
            "unit_of_measurement": "€/kWh",
            "prices_today": entsoe_day(MIDNIGHT, 60, 24),
            "prices_tomorrow": entsoe_day(MIDNIGHT + timedelta(days=1), 15, 96),
        },
    )

    slots = await async_read_prices(
        hass, "sensor.entso_e_current_electricity_market_price", NOW
    )

    assert len(slots) == 14 + 96
    assert hours(slots) == 38
    assert slots[13].end - slots[13].start == 3600  # 23:00 today, before 15-min
    assert slots[-1].end - slots[-1].start == 900
    assert slots[0].import_price == pytest.approx(0.06)


@pytest.mark.parametrize(
    ("unit", "per_kwh"),
    [("EUR/MWh", 0.00006), ("c/kWh", 0.0006), ("öre/kWh", 0.0006), (None, 0.06)],
)
async def test_entsoe_units(
    stockholm: HomeAssistant, unit: str | None, per_kwh: float
) -> None:
    """The unit of measurement says per MWh, or in cents or öre."""
    hass = stockholm
    attributes: dict[str, Any] = {"prices_today": entsoe_day(MIDNIGHT, 60, 24)}
    if unit is not None:
        attributes["unit_of_measurement"] = unit
    hass.states.async_set("sensor.entsoe", "1", attributes)

    slots = await async_read_prices(hass, "sensor.entsoe", NOW)

    assert slots[0].import_price == pytest.approx(per_kwh)


def tibber_answer(homes: dict[str, float]) -> Callable[[ServiceCall], dict[str, Any]]:
    """Tibber's action: hourly prices per kWh by home name from the start asked."""

    def answer(call: ServiceCall) -> dict[str, Any]:
        start = datetime.fromisoformat(str(call.data["start"]))
        return {
            "prices": {
                name: [
                    {
                        "start_time": (start + timedelta(hours=i)).isoformat(),
                        "price": base + i / 100,
                    }
                    for i in range(48)
                ]
                for name, base in homes.items()
            }
        }

    return answer


async def test_tibber_action(stockholm: HomeAssistant) -> None:
    """Today and tomorrow from tibber.get_prices, starting at local midnight."""
    hass = stockholm
    entity_id = registry_sensor(
        hass, "tibber", "home-id", attributes={"app_nickname": "Villa"}
    )
    calls = register(hass, "tibber", "get_prices", tibber_answer({"Villa": 1.0}))

    slots = await async_read_prices(hass, entity_id, NOW)

    assert datetime.fromisoformat(str(calls[0].data["start"])) == MIDNIGHT
    assert hours(slots) == 38
    assert slots[0].import_price == pytest.approx(1.10)


async def test_tibber_picks_the_sensors_home(stockholm: HomeAssistant) -> None:
    """With two homes, the one named like the sensor's app nickname."""
    hass = stockholm
    entity_id = registry_sensor(
        hass, "tibber", "home-id", attributes={"app_nickname": "Stuga"}
    )
    register(hass, "tibber", "get_prices", tibber_answer({"Villa": 1.0, "Stuga": 2.0}))

    slots = await async_read_prices(hass, entity_id, NOW)

    assert slots[0].import_price == pytest.approx(2.10)


async def test_tibber_one_home(stockholm: HomeAssistant) -> None:
    """One home: its prices, whatever the sensor's attributes say."""
    hass = stockholm
    entity_id = registry_sensor(hass, "tibber", "home-id", attributes={})
    register(hass, "tibber", "get_prices", tibber_answer({"Villa": 1.0}))

    assert hours(await async_read_prices(hass, entity_id, NOW)) == 38


async def test_tibber_cannot_tell_the_home(
    stockholm: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Two homes and no nickname: no prices rather than another home's."""
    hass = stockholm
    entity_id = registry_sensor(hass, "tibber", "home-id", attributes={})
    register(hass, "tibber", "get_prices", tibber_answer({"Villa": 1.0, "Stuga": 2.0}))

    assert await async_read_prices(hass, entity_id, NOW) == ()
    assert "cannot tell which of the homes" in caplog.text


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({}, "no price integration publishes this entity"),
        ({"prices_today": "yesterday"}, "expected a list of prices, got str"),
        (
            {"prices_today": [{"time": "noon", "price": 1.0}]},
            "not an aware time: 'noon'",
        ),
        ({"prices_today": [{"time": 1764662400, "price": 1.0}]}, "not an aware time"),
        (
            {"prices_today": [{"time": "2026-12-02T10:00:00", "price": 1.0}]},
            "not an aware time",
        ),
        (
            {"prices_today": [{"time": "2026-12-02T10:00:00+01:00", "price": "1"}]},
            "not a number: '1'",
        ),
        (
            {"prices_today": [{"time": "2026-12-02T10:00:00+01:00", "price": True}]},
            "not a number: True",
        ),
        (
            {
                "prices_today": [
                    {"time": "2026-12-02T10:00:00+01:00", "price": float("nan")}
                ]
            },
            "not a finite number",
        ),
        ({"prices_today": []}, "no prices published"),
        ({"raw_today": []}, "no prices published"),
        (
            {
                "raw_today": nordpool_custom_day(MIDNIGHT, 24, lambda _: 1.0),
                "unit": "GWh",
            },
            "unknown energy unit 'GWh'",
        ),
        (
            {
                "raw_today": [
                    {
                        "start": MIDNIGHT,
                        "end": MIDNIGHT - timedelta(hours=1),
                        "value": 1.0,
                    }
                ]
            },
            "ends before it starts",
        ),
    ],
)
async def test_bad_data_gives_no_prices(
    stockholm: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    attributes: dict[str, Any],
    message: str,
) -> None:
    """Unreadable attributes: no prices and one line saying why."""
    hass = stockholm
    hass.states.async_set("sensor.prices", "1", attributes)

    with caplog.at_level(logging.WARNING):
        assert await async_read_prices(hass, "sensor.prices", NOW) == ()
    assert len(caplog.records) == 1
    assert message in caplog.records[0].message


async def test_missing_entity_gives_no_prices(
    stockholm: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """A price sensor that is gone: no prices, one warning."""
    assert await async_read_prices(stockholm, "sensor.gone", NOW) == ()
    assert "No prices from sensor.gone: the entity does not exist" in caplog.text


async def test_action_without_answer_gives_no_prices(stockholm: HomeAssistant) -> None:
    """An action that answers nothing (or no homes) is refused."""
    hass = stockholm
    nordpool = registry_sensor(hass, "nordpool", "SE3-current_price", attributes={})
    tibber = registry_sensor(hass, "tibber", "home-id", attributes={})
    register(hass, "nordpool", "get_prices_for_date", lambda _: None)
    register(hass, "tibber", "get_prices", lambda _: {"prices": []})

    assert await async_read_prices(hass, nordpool, NOW) == ()
    assert await async_read_prices(hass, tibber, NOW) == ()
