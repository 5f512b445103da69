"""The site controller: the engine driven by the meter, applied through the hub.

Every report of a meter sensor (a change or the same value written again)
runs the engine at once, and a timer runs it every TICK so that a silent
meter is noticed within one cycle. Each answer goes to the chargers through
their commanders without waiting for them. Prices and the solar forecast are
read at every quarter hour (every minute until there are some); the engine's
state is stored so that plans and pauses survive a restart.
"""

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
    async_track_time_interval,
    async_track_utc_time_change,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..api.model import MIN_CURRENT_A
from ..const import DOMAIN, LOGGER
from ..hub import ConnectorRef, async_get_hub
from ..smart import (
    ChargerConfig,
    ChargerDecision,
    ChargerInput,
    Decision,
    Engine,
    Fallback,
    MeterSample,
    Mode,
    PriceSlot,
    PvSlot,
    Settings,
    SiteInput,
)
from .commander import Commander
from .config import SiteSetup, connector_key
from .const import PRICE_MINUTES, SAVE_DELAY, STOP_TIMEOUT, TICK
from .forecast import async_read_pv_forecast
from .health import MeterHealth
from .meter import read_meter, read_power_w
from .prices import async_read_prices

STORAGE_VERSION = 1
DEFAULT_READY_BY = time(7, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorSettings:
    """What the owner chose for one connector, through its entities."""

    mode: Mode = Mode.FAST
    target_kwh: float | None = None
    """None: until the car is full."""
    ready_by: time = DEFAULT_READY_BY


def _next(at: time, now: datetime) -> datetime:
    """Return the next moment the local clock shows ``at``."""
    local = dt_util.as_local(now)
    moment = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return moment if moment > local else moment + timedelta(days=1)


def windows(
    window: tuple[time, time] | None, now: datetime
) -> tuple[tuple[float, float], ...]:
    """Return the fixed window's occurrences from now on (today's and tomorrow's)."""
    if window is None:
        return ()
    start_at, end_at = window
    today = dt_util.as_local(now).date()
    found = []
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        start = dt_util.as_utc(
            datetime.combine(day, start_at, dt_util.get_default_time_zone())
        )
        end = dt_util.as_utc(
            datetime.combine(day, end_at, dt_util.get_default_time_zone())
        )
        if end <= start:
            end += timedelta(days=1)
        if end > now:
            found.append((start.timestamp(), end.timestamp()))
    return tuple(found)


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.site.{entry_id}")


async def async_remove_site(hass: HomeAssistant, entry_id: str) -> None:
    """Delete what a removed site stored: the engine's state."""
    await _store(hass, entry_id).async_remove()


class SiteController:
    """Runs one site's engine and carries its answers out."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, setup: SiteSetup
    ) -> None:
        """Prepare the controller of ``entry``; nothing runs before async_start."""
        self.hass = hass
        self.entry = entry
        self.setup = setup
        self.keys = [connector_key(ref) for ref in setup.connectors]
        self.settings = {key: ConnectorSettings() for key in self.keys}
        self.commanders = {
            connector_key(ref): Commander(hass, entry, ref) for ref in setup.connectors
        }
        self._configs = self._charger_configs()
        self.engine = Engine(setup.site_config(), self._configs)
        self.decision: Decision | None = None
        self.sample: MeterSample | None = None
        """The meter as last read (None: a phase had no value)."""
        self.decisions: dict[str, ChargerDecision] = {}
        self.prices: tuple[PriceSlot, ...] = ()
        self.pv_forecast: tuple[PvSlot, ...] = ()
        self.health = MeterHealth(hass, entry.entry_id, setup.meter_entities)
        self._store = _store(hass, entry.entry_id)
        self._listeners: list[CALLBACK_TYPE] = []
        self._read_failed: set[str] = set()

    # -- life cycle ---------------------------------------------------------

    async def async_start(self) -> None:
        """Restore the engine's state, then follow the meter, the clock and the hub."""
        if (saved := await self._store.async_load()) is not None:
            self.engine.restore(saved)
        entry, meter = self.entry, list(self.setup.meter_entities)
        entry.async_on_unload(
            async_track_state_change_event(self.hass, meter, self._on_meter)
        )
        entry.async_on_unload(
            async_track_state_report_event(self.hass, meter, self._on_meter)
        )
        entry.async_on_unload(async_track_time_interval(self.hass, self._on_tick, TICK))
        entry.async_on_unload(
            async_track_utc_time_change(self.hass, self._on_minute, second=0)
        )
        entry.async_on_unload(async_get_hub(self.hass).async_add_listener(self._on_hub))
        entry.async_on_unload(self._async_stop)
        entry.async_on_unload(
            self.hass.bus.async_listen_once(
                EVENT_HOMEASSISTANT_STOP, self._async_on_ha_stop
            )
        )
        await self._async_read_prices()
        self._step()

    async def _async_on_ha_stop(self, event: Event) -> None:
        """Leave every driven charger at the fallback: nothing guards it from now on.

        A charger in mode off is not the site's to touch.
        """
        site = self.setup
        amps = 0 if site.fallback is Fallback.PAUSE else int(site.fallback_current_a)
        async with asyncio.timeout(STOP_TIMEOUT.total_seconds()):
            await asyncio.gather(
                *(
                    item.async_fall_back(amps)
                    for key, item in self.commanders.items()
                    if self.settings[key].mode is not Mode.OFF
                )
            )

    async def _async_stop(self) -> None:
        self.health.clear()
        await self._store.async_save(self.engine.snapshot())

    # -- what the entities see and set ----------------------------------------

    @property
    def headroom_a(self) -> float | None:
        """Return the fuse minus the most loaded phase's import (meter fresh)."""
        if (
            self.sample is None
            or self.decision is None
            or not self.decision.meter_fresh
        ):
            return None
        phases = self.sample.grid_a[: self.setup.phases]
        return self.setup.fuse_a - max(phases)

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``listener`` after every run of the engine."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_set(self, key: str, **changes: Any) -> None:
        """Change a connector's settings and run the engine on them."""
        self.settings[key] = replace(self.settings[key], **changes)
        self._step()

    def diagnostics(self) -> dict[str, Any]:
        """Return the settings, the latest decision and the engine's state."""
        return {
            "settings": {
                key: {
                    "mode": value.mode.value,
                    "target_kwh": value.target_kwh,
                    "ready_by": value.ready_by.isoformat(),
                }
                for key, value in self.settings.items()
            },
            "decision": None if self.decision is None else asdict(self.decision),
            "prices": len(self.prices),
            "pv_forecast": len(self.pv_forecast),
            "commands": {
                key: {"wanted": item.wanted, "sent": item.sent, "failed": item.failed}
                for key, item in self.commanders.items()
            },
            "engine": self.engine.snapshot(),
        }

    # -- triggers -------------------------------------------------------------

    @callback
    def _on_meter(
        self, event: Event[EventStateChangedData] | Event[EventStateReportedData]
    ) -> None:
        state = event.data.get("new_state")
        if state is not None:
            self.health.reported(event.data["entity_id"], state.last_reported_timestamp)
        self._step()

    @callback
    def _on_tick(self, now: datetime) -> None:
        self.health.check(now.timestamp())
        self._step()

    @callback
    def _on_minute(self, now: datetime) -> None:
        """Read prices at every quarter, and every minute while there are none.

        Right after a start the price integration may not be ready: without
        prices a cheapest-mode plan would charge at once, at any price.
        """
        missing = (self.setup.price is not None and not self.prices) or (
            self.setup.pv_forecast is not None and not self.pv_forecast
        )
        if now.minute in PRICE_MINUTES or missing:
            self.entry.async_create_background_task(
                self.hass, self._async_read_prices(), "evse_bridge site prices"
            )

    @callback
    def _on_hub(self) -> None:
        """Take a (re)loaded charger's limits; the engine keeps its state."""
        configs = self._charger_configs()
        if configs != self._configs:
            self._configs = configs
            snapshot = self.engine.snapshot()
            self.engine = Engine(self.setup.site_config(), configs)
            self.engine.restore(snapshot)

    # -- the engine -----------------------------------------------------------

    @callback
    def _step(self) -> None:
        now = dt_util.utcnow()
        self.sample = read_meter(self.hass, self.setup)
        decision = self.engine.step(
            SiteInput(
                now=now.timestamp(),
                meter=self.sample,
                chargers=tuple(self._input(ref, now) for ref in self.setup.connectors),
                prices=self.prices,
                pv_forecast=self.pv_forecast,
                pv_power_w=read_power_w(self.hass, self.setup.pv_power),
            )
        )
        for item in decision.chargers:
            if item.current_a is not None:  # None: mode off, hands off
                self.commanders[item.id].submit(item.current_a)
            before = self.decisions.get(item.id)
            if item.changed or before is None or before.plan != item.plan:
                self._store.async_delay_save(
                    self.engine.snapshot, SAVE_DELAY.total_seconds()
                )
        self.decision = decision
        self.decisions = {item.id: item for item in decision.chargers}
        for listener in list(self._listeners):
            listener()

    def _input(self, ref: ConnectorRef, now: datetime) -> ChargerInput:
        """Return what the hub knows of a connector, and the owner's wishes."""
        key = connector_key(ref)
        chosen = self.settings[key]
        settings = Settings(
            mode=chosen.mode,
            target_kwh=chosen.target_kwh,
            deadline=_next(chosen.ready_by, now).timestamp(),
            windows=windows(self.setup.window, now),
        )
        handle = async_get_hub(self.hass).get(ref.charger_id)
        part = None if handle is None else handle.connector(ref.connector)
        if (
            part is None
            or part.connector is None
            or handle is None
            or not handle.is_available(part)
        ):
            return ChargerInput(id=key, plugged=False, settings=settings)
        connector = part.connector
        measured = part.meter.current_a if part.meter else (None, None, None)
        if all(value is None for value in measured) and connector.charging:
            offered = connector.offered_current_a or 0.0
            measured = (offered, *(offered if connector.phases > 1 else 0.0,) * 2)
        first, second, third = (value or 0.0 for value in measured)
        age = handle.coordinator.seconds_since_seen(part.id)
        return ChargerInput(
            id=key,
            plugged=bool(connector.vehicle_connected),
            session_kwh=(connector.session_energy_wh or 0.0) / 1000,
            ev_current_a=self.commanders[key].ev_current(
                (first, second, third),
                connector.phases,
                None if age is None else now.timestamp() - age,
                now.timestamp(),
            ),
            settings=settings,
        )

    def _charger_configs(self) -> list[ChargerConfig]:
        """Return each connector's limits (the engine's defaults if not loaded)."""
        hub = async_get_hub(self.hass)
        count = len(self.setup.connectors)
        configs = []
        for index, ref in enumerate(self.setup.connectors):
            config = ChargerConfig(id=connector_key(ref), priority=count - index)
            handle = hub.get(ref.charger_id)
            part = None if handle is None else handle.connector(ref.connector)
            if handle is not None and part is not None:
                limit = handle.capabilities(ref.connector).current_limit
                low = float(max(limit.min_a if limit else MIN_CURRENT_A, MIN_CURRENT_A))
                high = float(min(limit.max_a, 80)) if limit else config.max_current_a
                phases = part.connector.phases if part.connector else 3
                config = replace(
                    config,
                    min_current_a=low,
                    max_current_a=max(high, low),
                    phases=phases,
                )
            configs.append(config)
        return configs

    async def _async_read_prices(self) -> None:
        """Read the prices and the solar forecast; a failure is logged once."""
        now = dt_util.utcnow()
        if self.setup.price is not None:
            self.prices = await self._async_read(
                "prices", async_read_prices, self.setup.price, now, self.prices
            )
        if self.setup.pv_forecast is not None:
            self.pv_forecast = await self._async_read(
                "forecast",
                async_read_pv_forecast,
                self.setup.pv_forecast,
                now,
                self.pv_forecast,
            )

    async def _async_read[T](
        self,
        what: str,
        reader: Callable[[HomeAssistant, str, datetime], Any],
        entity_id: str,
        now: datetime,
        before: T,
    ) -> T:
        try:
            result: T = await reader(self.hass, entity_id, now)
        except Exception as err:  # noqa: BLE001 - a reader's failure must not stop the guard
            if what not in self._read_failed:
                self._read_failed.add(what)
                LOGGER.warning(
                    "Could not read the %s from %s: %s", what, entity_id, err
                )
            return before
        self._read_failed.discard(what)
        return result
