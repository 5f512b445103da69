"""Names and defaults of the OCPP server and its chargers."""

from datetime import timedelta
from enum import StrEnum
from typing import Final

SERVER_KIND: Final = "ocpp_server"
CHARGER_KIND: Final = "ocpp"
SERVER_UNIQUE_ID: Final = "ocpp_server"
"""One central system per Home Assistant: its entry's unique id."""

CONF_NEW_CHARGE_POINTS: Final = "new_charge_points"
CONF_ID_TAGS: Final = "id_tags"
CONF_CONFIGURE_METER_VALUES: Final = "configure_meter_values"
CONF_CERTFILE: Final = "certfile"
CONF_KEYFILE: Final = "keyfile"
CONF_CHARGE_POINT_ID: Final = "charge_point_id"
CONF_MANUFACTURER: Final = "manufacturer"
CONF_MODEL: Final = "model"
CONF_MAX_CURRENT: Final = "max_current"
"""The most a charger's connectors may be given, in A (its rating)."""


class NewChargePoints(StrEnum):
    """What happens when a charge point connects for the first time."""

    ASK = "ask"
    """A discovery flow asks the user; the charge point waits (Pending)."""
    REFUSE = "refuse"
    """BootNotification Rejected; no flow."""


TRANSACTION_STORE_KEY: Final = "evse_bridge.ocpp_transactions"
TRANSACTION_STORE_VERSION: Final = 1
# A limit is a profile that expires PROFILE_VALIDITY after it was sent; it is
# sent again every RENEW_INTERVAL, so two renewals can fail before the charger
# falls back to its own default.
PROFILE_VALIDITY: Final = timedelta(minutes=10)
RENEW_INTERVAL: Final = timedelta(minutes=3)
