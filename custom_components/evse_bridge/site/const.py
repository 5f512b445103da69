"""Constants of the site: the keys of its entry and the intervals it runs at."""

from datetime import timedelta
from enum import StrEnum
from typing import Final

SITE: Final = "site"
"""The site's kind of entry (``type``)."""

CONF_FUSE: Final = "fuse_a"
CONF_PHASES: Final = "phases"
CONF_VOLTAGE: Final = "voltage_v"
CONF_METER_KIND: Final = "meter_kind"
CONF_METER_L1: Final = "meter_l1"
CONF_METER_L2: Final = "meter_l2"
CONF_METER_L3: Final = "meter_l3"
CONF_METER_VOLTAGE: Final = "meter_voltage"
CONF_SIGN: Final = "sign"
CONF_GRID_POWER: Final = "grid_power"
CONF_PV_POWER: Final = "pv_power"
CONF_PV_FORECAST: Final = "pv_forecast"
CONF_PRICE: Final = "price"
CONF_WINDOW_START: Final = "window_start"
CONF_WINDOW_END: Final = "window_end"
CONF_CONNECTORS: Final = "connectors"
CONF_FALLBACK: Final = "fallback"
CONF_FALLBACK_CURRENT: Final = "fallback_current_a"

METER_PHASE_KEYS: Final = (CONF_METER_L1, CONF_METER_L2, CONF_METER_L3)

MIN_FUSE_A: Final = 6
"""Below this not even one car can charge."""
MAX_FUSE_A: Final = 1000


class MeterKind(StrEnum):
    """What the meter's phase sensors measure."""

    CURRENT = "current"
    POWER = "power"


class Sign(StrEnum):
    """How the meter signs what the house takes from the grid."""

    IMPORT_POSITIVE = "import_positive"
    IMPORT_NEGATIVE = "import_negative"


# Staleness must show within one cycle of the engine's 10 s limit, even when
# the meter has gone silent and no state change wakes the controller.
TICK: Final = timedelta(seconds=5)
# Prices and forecasts change at most every quarter hour; read at every quarter
# (and every minute while none could be read).
PRICE_MINUTES: Final = (0, 15, 30, 45)
# A charger that refused a command is asked again this much later, not on
# every meter sample.
COMMAND_RETRY: Final = timedelta(seconds=30)
# A car follows a lower current within 5 s (IEC 61851-1); starting, or
# raising its current, can take a car longer. Until a reading of the charger
# made this long after a command has arrived, the command counts, not the
# reading (site/expect.py); a charger that reports nothing newer is believed
# again after EXPECT_MAX (twice a Mennekes' 30 s poll).
CAR_FOLLOWS: Final = timedelta(seconds=5)
CAR_STARTS: Final = timedelta(seconds=15)
EXPECT_MAX: Final = timedelta(seconds=60)
# A connector that left an unchanged set-point on its own (the box started,
# someone changed its limit in its app) gets it again, but at most this often:
# long enough for any charger to show a command it took, short enough that a
# car the box started during a fuse pause stops again within seconds.
RESEND_AFTER: Final = timedelta(seconds=15)
# The engine's state is written this long after a change (and at shutdown):
# a plan or a pause survives a restart without a write per meter sample.
SAVE_DELAY: Final = timedelta(seconds=30)
# A meter sensor reporting less often than this is too slow for the guard
# (issue 10: warn above 10 s), judged over the last SLOW_WINDOW intervals.
SLOW_INTERVAL: Final = timedelta(seconds=10)
SLOW_WINDOW: Final = 6
# After a start, the meter's integration may still be loading: no repair
# issue this early (the guard is in its fallback meanwhile anyway).
STARTUP_GRACE: Final = timedelta(seconds=60)
# Home Assistant waits for its stop listeners, but not for ever: the
# fallback commands at shutdown get this long together.
STOP_TIMEOUT: Final = timedelta(seconds=10)
