"""Constants for EVSE Bridge."""

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "evse_bridge"
LOGGER = logging.getLogger(__package__)

CONF_TYPE: Final = "type"
"""The kind of entry: a charger make (``ctek``, ...) or another part."""
CONF_VENDOR: Final = "vendor"
"""Where entries of minor version 1 kept their type."""
CONF_BASE_TOPIC: Final = "base_topic"
CONF_CHARGER_ID: Final = "charger_id"
CONF_STALE_AFTER: Final = "stale_after"
CONF_POLL_INTERVAL: Final = "poll_interval"
CONF_MODBUS: Final = "modbus"
CONF_API_VERSION: Final = "api_version"
CONF_UNIT_IDS: Final = "unit_ids"

MAX_POLL_INTERVAL: Final = timedelta(minutes=10)
# After failed polls the interval doubles, up to this, so an unreachable
# charger gets no request storm; the first good poll restores the interval.
MAX_BACKOFF: Final = timedelta(minutes=5)
# How long a config flow waits for a charger to answer.
HTTP_TIMEOUT: Final = timedelta(seconds=10)
