"""Constants for EVSE Bridge."""

from datetime import timedelta
from enum import StrEnum
import logging
from typing import Final

DOMAIN: Final = "evse_bridge"
LOGGER = logging.getLogger(__package__)

CONF_VENDOR: Final = "vendor"
CONF_BASE_TOPIC: Final = "base_topic"
CONF_CHARGER_ID: Final = "charger_id"
CONF_STALE_AFTER: Final = "stale_after"
CONF_POLL_INTERVAL: Final = "poll_interval"

# The CCU publishes meter data about every 30 s; four missed reports mean the
# charger (or its link to the broker) is gone, rather than one late message.
DEFAULT_STALE_AFTER: Final = timedelta(seconds=120)
MIN_STALE_AFTER: Final = timedelta(seconds=30)
MAX_STALE_AFTER: Final = timedelta(hours=1)
# How often to look for parts that stopped publishing; a fraction of the
# shortest stale time, so an entity goes unavailable close to when it should.
STALE_CHECK_INTERVAL: Final = timedelta(seconds=10)
# How long the config flow waits for the charger's first message: longer than
# the CCU's usual 30 s report interval.
PROBE_TIMEOUT: Final = timedelta(seconds=40)


class Vendor(StrEnum):
    """Charger makers (backends) EVSE Bridge supports."""

    CTEK = "ctek"
    CIRCONTROL = "circontrol"
    MENNEKES = "mennekes"


# Poll intervals of the HTTP chargers, default and smallest allowed. The
# Mennekes box "does not like to be stressed" (its app polls every 30 s);
# a CirCarLife answers two small XML requests per poll without trouble.
DEFAULT_POLL_INTERVAL: Final = {
    Vendor.CIRCONTROL: timedelta(seconds=10),
    Vendor.MENNEKES: timedelta(seconds=30),
}
MIN_POLL_INTERVAL: Final = {
    Vendor.CIRCONTROL: timedelta(seconds=5),
    Vendor.MENNEKES: timedelta(seconds=15),
}
MAX_POLL_INTERVAL: Final = timedelta(minutes=10)
# After failed polls the interval doubles, up to this, so an unreachable
# charger gets no request storm; the first good poll restores the interval.
MAX_BACKOFF: Final = timedelta(minutes=5)
# How long a config flow waits for a charger to answer.
HTTP_TIMEOUT: Final = timedelta(seconds=10)
