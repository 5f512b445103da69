"""Solar forecasts read from forecast_solar's energy platform and Solcast."""

from datetime import UTC, datetime, timedelta
import logging
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_integration,
    mock_platform,
)

from custom_components.evse_bridge.site.forecast import async_read_pv_forecast

LOCAL = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 6, 10, 9, 30, tzinfo=UTC)  # 11:30 in Stockholm, summer
# forecast_solar's wh_period for a sunny June day: the first interval starts at
# sunrise (03:32), then whole hours; nothing is listed for the night.
WH_TODAY = (
    (datetime(2026, 6, 10, 3, 32, tzinfo=LOCAL), 210),
    *((datetime(2026, 6, 10, h, tzinfo=LOCAL), wh) for h, wh in zip(
        range(4, 22),
        (480, 950, 1620, 2380, 3050, 3610, 3980, 4150, 4120, 3890, 3460, 2870, 2190,
         1480, 860, 390, 120, 20),
        strict=True,
    )),
)  # fmt: skip


def sensor(hass: HomeAssistant, platform: str, attributes: dict[str, Any]) -> str:
    """Add a sensor of another integration's config entry."""
    entry = MockConfigEntry(domain=platform, entry_id=f"{platform}_entry")
    entry.add_to_hass(hass)
    entity = er.async_get(hass).async_get_or_create(
        "sensor", platform, "power_production_now", config_entry=entry
    )
    hass.states.async_set(entity.entity_id, "3800", attributes)
    return entity.entity_id


def energy_platform(hass: HomeAssistant, domain: str, forecast: object) -> list[str]:
    """Give ``domain`` an energy platform answering ``forecast``; list the asks."""
    asked: list[str] = []

    async def async_get_solar_forecast(
        hass: HomeAssistant, config_entry_id: str
    ) -> object:
        asked.append(config_entry_id)
        return forecast

    mock_platform(
        hass,
        f"{domain}.energy",
        SimpleNamespace(async_get_solar_forecast=async_get_solar_forecast),  # type: ignore[arg-type]
    )
    return asked


async def test_forecast_solar_energy_platform(hass: HomeAssistant) -> None:
    """Wh per interval becomes average power; past intervals and nights drop out."""
    entity_id = sensor(hass, "forecast_solar", {"unit_of_measurement": "W"})
    wh_hours = {
        start.isoformat(): wh
        for day in (0, 1)
        for start, wh in ((s + timedelta(days=day), wh) for s, wh in WH_TODAY)
    }
    asked = energy_platform(hass, "forecast_solar", {"wh_hours": wh_hours})

    slots = await async_read_pv_forecast(hass, entity_id, NOW)

    assert asked == ["forecast_solar_entry"]
    # 11:00-12:00 local today is running at 11:30: 4150 Wh in an hour is 4150 W.
    assert slots[0].start == datetime(2026, 6, 10, 9, 0, tzinfo=UTC).timestamp()
    assert slots[0].power_w == pytest.approx(4150)
    # The last interval of today (21:00, 20 Wh) lasts an hour, not the night.
    last_today = next(s for s in slots if s.power_w == pytest.approx(20))
    assert last_today.end - last_today.start == 3600
    # Tomorrow's sunrise interval 03:32-04:00: 210 Wh in 28 minutes.
    sunrise = next(s for s in slots if s.end - s.start == 28 * 60)
    assert sunrise.power_w == pytest.approx(210 * 60 / 28)
    total_kwh = sum(s.power_w * (s.end - s.start) / 3600 for s in slots) / 1000
    rest_of_today = sum(wh for start, wh in WH_TODAY if start.hour >= 11)
    all_of_tomorrow = sum(wh for _, wh in WH_TODAY)
    assert total_kwh == pytest.approx((rest_of_today + all_of_tomorrow) / 1000)


def solcast_day(day: datetime) -> list[dict[str, Any]]:
    """Solcast's detailedForecast: half hours from local midnight, kW."""
    return [
        {
            "period_start": (day + timedelta(minutes=30 * i)).astimezone(LOCAL),
            "pv_estimate": round(max(0.0, 4.2 - abs(i - 26) * 0.3), 4),
            "pv_estimate10": 0.0,
            "pv_estimate90": 0.0,
        }
        for i in range(48)
    ]


async def test_solcast_detailed_forecast(hass: HomeAssistant) -> None:
    """Without an energy platform, Solcast's half-hour estimates in kW."""
    midnight = datetime(2026, 6, 9, 22, 0, tzinfo=UTC)
    hass.states.async_set(
        "sensor.solcast_pv_forecast_forecast_today",
        "31.5",
        {"detailedForecast": solcast_day(midnight)},
    )

    slots = await async_read_pv_forecast(
        hass, "sensor.solcast_pv_forecast_forecast_today", NOW
    )

    assert slots[0].start == NOW.timestamp()  # 11:30 local, period 23
    assert slots[0].power_w == pytest.approx(3300)
    assert len(slots) == 48 - 23
    assert all(s.end - s.start == 1800 for s in slots)


async def test_solcast_entity_of_an_integration_without_energy_platform(
    hass: HomeAssistant,
) -> None:
    """A registered Solcast sensor whose integration is not installed still reads."""
    mock_integration(hass, MockModule("solcast_solar"))
    midnight = datetime(2026, 6, 9, 22, 0, tzinfo=UTC)
    entity_id = sensor(
        hass, "solcast_solar", {"detailedForecast": solcast_day(midnight)}
    )

    assert len(await async_read_pv_forecast(hass, entity_id, NOW)) == 25


@pytest.mark.parametrize(
    ("forecast", "message"),
    [
        (None, "the integration has no forecast for this entry"),
        ({"wh_hours": [1, 2]}, "wh_hours is not a mapping"),
        ({"wh_hours": {}}, "the forecast is empty"),
        ({"wh_hours": {"2026-06-10T12:00:00+02:00": -5}}, "negative production"),
        ({"wh_hours": {"noon": 5}}, "not an aware time"),
    ],
)
async def test_bad_energy_platform_answers(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    forecast: object,
    message: str,
) -> None:
    """Unreadable forecasts: none, and one line saying why."""
    entity_id = sensor(hass, "forecast_solar", {})
    energy_platform(hass, "forecast_solar", forecast)

    with caplog.at_level(logging.WARNING):
        assert await async_read_pv_forecast(hass, entity_id, NOW) == ()
    warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert message in warnings[0]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({}, "no forecast integration publishes this entity"),
        ({"detailedForecast": "sunny"}, "detailedForecast is not a list"),
        (
            {"detailedForecast": [{"period_start": "2026-06-10T12:00:00+02:00"}]},
            "pv_estimate",
        ),
    ],
)
async def test_bad_solcast_attributes(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    attributes: dict[str, Any],
    message: str,
) -> None:
    """A sensor without a readable forecast gives none."""
    hass.states.async_set("sensor.pv", "1", attributes)

    assert await async_read_pv_forecast(hass, "sensor.pv", NOW) == ()
    assert message in caplog.text


async def test_entity_of_an_unknown_integration(hass: HomeAssistant) -> None:
    """A sensor of an integration that is not installed, without attributes: nothing."""
    entity_id = sensor(hass, "no_such_integration", {})

    assert await async_read_pv_forecast(hass, entity_id, NOW) == ()


async def test_energy_platform_without_solar_forecast(hass: HomeAssistant) -> None:
    """An energy platform without a forecast function is not a forecast."""
    entity_id = sensor(hass, "powercalc", {})
    mock_platform(hass, "powercalc.energy", SimpleNamespace())  # type: ignore[arg-type]

    assert await async_read_pv_forecast(hass, entity_id, NOW) == ()
