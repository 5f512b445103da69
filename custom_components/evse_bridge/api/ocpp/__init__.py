"""An OCPP 1.6J central system: charge points connect, are accepted, report and obey.

Built on the ``ocpp`` library (framing, routing, schema validation in both
directions) and an aiohttp websocket server; no Home Assistant imports.

What the integration supplies
-----------------------------

* an **admission hook**, ``(charge point id, ChargerInfo | None) -> Admission``:
  called when a charge point connects and at each BootNotification. Until it
  answers ``ACCEPTED`` the charge point gets BootNotification ``Pending`` (or
  ``Rejected``) and a SecurityError for anything else: a good moment to start
  a discovery flow ("<id>, <vendor> <model>, wants to connect"). Once the user
  accepts, call ``charge_point.reconsider()`` and then
  ``server.control(id).request_boot()``: the charge point boots again at once
  and is ``Accepted``.
* a **transaction store** (``TransactionStore``: ``load``/``save`` of a small
  JSON document, such as Home Assistant's ``Store``); ``MemoryTransactionStore``
  is one for tests. Transaction ids are saved before they are handed out.
* a **listener**, ``(OcppSnapshot) -> None``, called on every change, in the
  event loop. Optionally a **password lookup** per charge point id (security
  profile 1), an ``ssl.SSLContext`` (profile 2) and ``OcppSettings`` (id tag
  list, intervals, time-outs, whether to configure the meter values).

What it gets
------------

* per charge point an ``OcppSnapshot``: connected, admission, ``ChargerInfo``
  from the BootNotification, and the neutral ``ChargerState`` with parts
  ``connector1``, ``connector2``, ... (and ``mainMeter`` for connector 0's meter
  values). Energy registers are passed on as the charge point sends them: run
  them through ``api.energy.EnergyCounter`` like every other backend's.
* ``server.control(id)``, an ``OcppControl``: current limit (a TxDefaultProfile
  with a ``validTo`` the caller renews), pause and resume, start and stop,
  availability, reset; each command read back, raising ``OcppRejectedError``
  or ``OcppCommandError`` when it does not take effect.
* errors from one hierarchy, ``OcppError``.

A newly accepted charge point is asked for its configuration, given the
meter values the model shows (``OcppSettings.configure_meter_values``) and
triggered to send its status and meter values at once.
"""

from .charge_point import AdmissionHook, Listener, OcppChargePoint
from .control import (
    DEFAULT_PROFILE_VALIDITY,
    MAX_CURRENT_A,
    AvailabilityChange,
    OcppControl,
)
from .errors import (
    OcppCallError,
    OcppCommandError,
    OcppConnectionError,
    OcppError,
    OcppRejectedError,
    OcppStoreError,
    OcppTimeoutError,
)
from .neutral import STATION_PART_ID, OcppSnapshot, part_id
from .server import (
    DEFAULT_PATH,
    DEFAULT_PORT,
    SUBPROTOCOL,
    OcppServer,
    PasswordLookup,
    valid_charge_point_id,
    valid_path,
)
from .settings import DEFAULT_MEASURANDS, MAX_CONNECTORS, OcppSettings
from .state import Admission, BootInfo
from .transactions import (
    MemoryTransactionStore,
    StoredLedger,
    StoredTransaction,
    Transaction,
    TransactionStore,
)

__all__ = [
    "DEFAULT_MEASURANDS",
    "DEFAULT_PATH",
    "DEFAULT_PORT",
    "DEFAULT_PROFILE_VALIDITY",
    "MAX_CONNECTORS",
    "MAX_CURRENT_A",
    "STATION_PART_ID",
    "SUBPROTOCOL",
    "Admission",
    "AdmissionHook",
    "AvailabilityChange",
    "BootInfo",
    "Listener",
    "MemoryTransactionStore",
    "OcppCallError",
    "OcppChargePoint",
    "OcppCommandError",
    "OcppConnectionError",
    "OcppControl",
    "OcppError",
    "OcppRejectedError",
    "OcppServer",
    "OcppSettings",
    "OcppSnapshot",
    "OcppStoreError",
    "OcppTimeoutError",
    "PasswordLookup",
    "StoredLedger",
    "StoredTransaction",
    "Transaction",
    "TransactionStore",
    "part_id",
    "valid_charge_point_id",
    "valid_path",
]
