"""Smart charging: a pure, deterministic engine with no Home Assistant imports.

Fuse guard (guard.py), price planner (planner.py), solar surplus (solar.py),
sharing one fuse between chargers (sharing.py), tied together by the Engine
(engine.py) over the inputs and outputs of model.py.
"""

from .engine import Engine
from .model import (
    ChargerConfig,
    ChargerDecision,
    ChargerInput,
    Decision,
    Fallback,
    MeterSample,
    Mode,
    Plan,
    PlannedSlot,
    PriceSlot,
    PvSlot,
    Reason,
    ReasonCode,
    Settings,
    SiteConfig,
    SiteInput,
)

__all__ = [
    "ChargerConfig",
    "ChargerDecision",
    "ChargerInput",
    "Decision",
    "Engine",
    "Fallback",
    "MeterSample",
    "Mode",
    "Plan",
    "PlannedSlot",
    "PriceSlot",
    "PvSlot",
    "Reason",
    "ReasonCode",
    "Settings",
    "SiteConfig",
    "SiteInput",
]
