"""A site entry's settings, read once into one typed value."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.util import dt as dt_util

from ..hub import ConnectorRef
from ..smart import Fallback, SiteConfig
from .const import (
    CONF_CONNECTORS,
    CONF_FALLBACK,
    CONF_FALLBACK_CURRENT,
    CONF_FUSE,
    CONF_GRID_POWER,
    CONF_METER_KIND,
    CONF_METER_VOLTAGE,
    CONF_PHASES,
    CONF_PRICE,
    CONF_PV_FORECAST,
    CONF_PV_POWER,
    CONF_SIGN,
    CONF_VOLTAGE,
    CONF_WINDOW_END,
    CONF_WINDOW_START,
    METER_PHASE_KEYS,
    MeterKind,
    Sign,
)


def connector_key(ref: ConnectorRef) -> str:
    """Return how a connector is stored in the entry: ``charger_id:number``."""
    return f"{ref.charger_id}:{ref.connector}"


def parse_connector(key: str) -> ConnectorRef:
    """Return the connector stored as ``key``."""
    charger_id, number = key.rsplit(":", 1)
    return ConnectorRef(charger_id, int(number))


def _time(value: object) -> time | None:
    return dt_util.parse_time(value) if isinstance(value, str) else None


@dataclass(frozen=True, kw_only=True)
class SiteSetup:
    """Everything the user set for one site."""

    name: str
    fuse_a: float
    phases: int
    voltage_v: float
    meter_kind: MeterKind
    meter: tuple[str, ...]
    """The per-phase sensors, L1 first (one on a single-phase site)."""
    meter_voltage: str | None
    sign: Sign
    grid_power: str | None
    pv_power: str | None
    pv_forecast: str | None
    price: str | None
    window: tuple[time, time] | None
    connectors: tuple[ConnectorRef, ...]
    """The managed connectors, highest priority first."""
    fallback: Fallback
    fallback_current_a: float

    @classmethod
    def from_entry(
        cls, data: Mapping[str, Any], options: Mapping[str, Any]
    ) -> SiteSetup:
        """Read an entry's data (the name) and options (everything else)."""
        start, end = (
            _time(options.get(CONF_WINDOW_START)),
            _time(options.get(CONF_WINDOW_END)),
        )
        phases = int(options[CONF_PHASES])
        return cls(
            name=data[CONF_NAME],
            fuse_a=float(options[CONF_FUSE]),
            phases=phases,
            voltage_v=float(options[CONF_VOLTAGE]),
            meter_kind=MeterKind(options[CONF_METER_KIND]),
            meter=tuple(options[key] for key in METER_PHASE_KEYS[:phases]),
            meter_voltage=options.get(CONF_METER_VOLTAGE),
            sign=Sign(options[CONF_SIGN]),
            grid_power=options.get(CONF_GRID_POWER),
            pv_power=options.get(CONF_PV_POWER),
            pv_forecast=options.get(CONF_PV_FORECAST),
            price=options.get(CONF_PRICE),
            window=None if start is None or end is None else (start, end),
            connectors=tuple(parse_connector(key) for key in options[CONF_CONNECTORS]),
            fallback=Fallback(options[CONF_FALLBACK]),
            fallback_current_a=float(options[CONF_FALLBACK_CURRENT]),
        )

    @property
    def meter_entities(self) -> tuple[str, ...]:
        """Return every sensor a meter sample is made of."""
        extra = (self.meter_voltage, self.grid_power)
        return (*self.meter, *(entity for entity in extra if entity))

    def site_config(self) -> SiteConfig:
        """Return the engine's view of the site."""
        return SiteConfig(
            fuse_a=self.fuse_a,
            phases=self.phases,
            voltage_v=self.voltage_v,
            fallback=self.fallback,
            fallback_current_a=self.fallback_current_a,
        )
