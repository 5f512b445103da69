"""One charge point, across its connections: what it said, and who may use it.

An OcppChargePoint lives as long as the server knows the charge point id; a
connection comes and goes (a second one replaces the first). Messages from
the connection update the records here; every change of what the
integration sees is passed to the listener as an OcppSnapshot.
"""

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
import logging
from typing import Any, Final

from .clock import parse_timestamp, utc_now
from .errors import OcppConnectionError
from .logsafe import OnceLog, clip
from .meter import MeterSample, parse_meter_value
from .neutral import (
    ChargerInfo,
    OcppSnapshot,
    charger_info,
    charger_state,
    soc_percent,
)
from .rpc import OcppRpc
from .settings import OcppSettings
from .state import Admission, BootInfo, ConnectorRecord
from .transactions import Transaction, TransactionLedger

__all__ = ["MAX_CONFIGURATION_KEYS", "AdmissionHook", "Listener", "OcppChargePoint"]

_LOGGER = logging.getLogger(__package__)

type AdmissionHook = Callable[[str, ChargerInfo | None], Admission]
"""Decides about a charge point: called with its id and identity (None
before its first BootNotification) when it connects and at every boot."""
type Listener = Callable[[OcppSnapshot], None]
"""Called with the new snapshot whenever what the integration sees changes."""

MAX_CONFIGURATION_KEYS: Final = 256
"""Configuration keys kept from GetConfiguration (OCPP 1.6 defines about 60)."""
REPLACED_CODE: Final = 1000  # a normal closure: the charge point's new connection
REPLACED_REASON: Final = "replaced by a new connection"


class OcppChargePoint:
    """A charge point known to the central system."""

    def __init__(
        self,
        charge_point_id: str,
        *,
        settings: OcppSettings,
        ledger: TransactionLedger,
        admission: AdmissionHook,
        listener: Listener | None = None,
    ) -> None:
        """Know ``charge_point_id``; decide about it with ``admission``."""
        self.id = charge_point_id
        self.settings = settings
        self.ledger = ledger
        self._admission_hook = admission
        self._listener = listener
        self.once = OnceLog(_LOGGER)
        self.connection: OcppRpc | None = None
        self.admission = Admission.PENDING
        self.boot_info: BootInfo | None = None
        self.boots = 0
        """BootNotifications received."""
        self.configuration: dict[str, tuple[str | None, bool]] = {}
        """Configuration keys read with GetConfiguration: (value, read-only)."""
        self.firmware_status: str | None = None
        self.diagnostics_status: str | None = None
        self.records: dict[int, ConnectorRecord] = {}
        self._snapshot: OcppSnapshot | None = None
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._configured: OcppRpc | None = None
        self.command_lock = asyncio.Lock()
        """Held by a command from start to read-back, so commands never interleave."""

    # --- What the integration sees ----------------------------------------------

    @property
    def info(self) -> ChargerInfo | None:
        """Return the identity from the last BootNotification."""
        return None if self.boot_info is None else charger_info(self.id, self.boot_info)

    @property
    def connected(self) -> bool:
        """Return whether the charge point has a connection now."""
        return self.connection is not None

    @property
    def admitted(self) -> bool:
        """Return whether the integration accepted the charge point."""
        return self.admission is Admission.ACCEPTED

    def snapshot(self) -> OcppSnapshot:
        """Return what the integration sees of the charge point now."""
        return OcppSnapshot(
            charge_point_id=self.id,
            connected=self.connected,
            admission=self.admission,
            info=self.info,
            state=charger_state(self.records),
            soc_percent=soc_percent(self.records),
        )

    def changed(self) -> None:
        """Tell the listener about a change, and wake commands that wait."""
        snapshot = self.snapshot()
        if snapshot != self._snapshot:
            self._snapshot = snapshot
            if self._listener is not None:
                self._listener(snapshot)
        for predicate, future in list(self._waiters):
            if not future.done() and predicate():
                future.set_result(None)

    async def wait_for(self, predicate: Callable[[], bool], within: float) -> bool:
        """Wait until ``predicate`` holds after a message; False after ``within`` s."""
        if predicate():
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(within):
                await future
        except TimeoutError:
            return False
        finally:
            self._waiters.remove(waiter)
        return True

    # --- Connections -------------------------------------------------------------

    async def attach(self, connection: OcppRpc) -> None:
        """Take a new connection; close the one it replaces."""
        old, self.connection = self.connection, connection
        self.admission = self._admission_hook(self.id, self.info)
        if old is not None:
            self.once.log(
                logging.WARNING,
                "replaced",
                "Charge point %s connected again while connected; the new"
                " connection replaces the old one",
                clip(self.id),
            )
            await old.close(REPLACED_CODE, REPLACED_REASON)
        self.changed()

    def detach(self, connection: OcppRpc) -> None:
        """Forget a connection that ended (unless it was replaced already)."""
        if self.connection is not connection:
            return
        self.connection = None
        for task in list(self._tasks):
            task.cancel()
        self.changed()

    def require_connection(self) -> OcppRpc:
        """Return the connection of an accepted charge point, or raise."""
        if self.connection is None or self.connection.closed:
            msg = f"Charge point {clip(self.id)} is not connected"
            raise OcppConnectionError(msg)
        if not self.admitted:
            msg = f"Charge point {clip(self.id)} is not accepted"
            raise OcppConnectionError(msg)
        return self.connection

    def reconsider(self) -> Admission:
        """Ask the admission hook again (the user decided); return its answer."""
        self.admission = self._admission_hook(self.id, self.info)
        self.changed()
        return self.admission

    def run(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work for the current connection; it ends with the connection."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until the work started for the connection (its set-up) is done."""
        # Only tasks still running: a finished one leaves the set a moment later.
        while running := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*running, return_exceptions=True)

    def needs_configuration(self, connection: OcppRpc) -> bool:
        """Return True once per connection of an accepted charge point.

        The first request the charge point sends after it is accepted (its
        BootNotification, or anything after a reconnection without one) is
        when to ask it for what the central system needs.
        """
        if not self.admitted or connection is not self.connection:
            return False
        if self._configured is connection:
            return False
        self._configured = connection
        return True

    # --- Messages ------------------------------------------------------------------

    def boot(self, info: BootInfo) -> Admission:
        """Record a BootNotification; return the integration's decision."""
        self.boot_info = info
        self.boots += 1
        self.admission = self._admission_hook(self.id, self.info)
        if not self.admitted:
            self.once.log(
                logging.INFO,
                ("admission", self.admission),
                "Charge point %s (%s %s) is %s: it must be accepted first",
                clip(self.id),
                clip(info.vendor),
                clip(info.model),
                self.admission,
            )
        self.changed()
        return self.admission

    def record(self, connector_id: int) -> ConnectorRecord:
        """Return the record of a connector, created on first use."""
        record = self.records.get(connector_id)
        if record is None:
            record = self.records[connector_id] = ConnectorRecord(
                transaction=self.ledger.open_on(self.id, connector_id)
            )
        return record

    def status(
        self, connector_id: int, status: str, error_code: str, timestamp: str | None
    ) -> None:
        """Record a StatusNotification; an older one than the last changes nothing."""
        when = parse_timestamp(timestamp) or utc_now()
        record = self.record(connector_id)
        if record.status_at is not None and when < record.status_at:
            return
        record.status, record.error_code, record.status_at = status, error_code, when
        self._touch(record, when)
        self.changed()

    def meter_values(
        self,
        connector_id: int,
        meter_value: Sequence[Mapping[str, Any]],
        transaction_id: int | None,
    ) -> None:
        """Record MeterValues; samples older than the newest change nothing."""
        record = self.record(connector_id)
        if transaction_id is not None:
            self._follow(record, self.ledger.get(transaction_id))
        self._samples(record, meter_value)
        self.changed()

    def _samples(
        self, record: ConnectorRecord, meter_value: Sequence[Mapping[str, Any]]
    ) -> None:
        received_at = utc_now()
        for element in meter_value:
            sample, unusable = parse_meter_value(element, received_at)
            if unusable:
                self.once.log(
                    logging.WARNING,
                    "not_a_number",
                    "Charge point %s sent meter values that are not numbers; they"
                    " are left out",
                    clip(self.id),
                )
            self._take(record, sample)

    def _take(self, record: ConnectorRecord, sample: MeterSample) -> None:
        """Merge a sample into the record unless it is older than the newest."""
        if record.sample is not None and sample.timestamp < record.sample.timestamp:
            return
        record.sample = sample.merged_onto(record.sample)
        self._touch(record, sample.timestamp)

    @staticmethod
    def _touch(record: ConnectorRecord, when: datetime) -> None:
        if record.changed_at is None or when > record.changed_at:
            record.changed_at = when

    @staticmethod
    def _follow(record: ConnectorRecord, transaction: Transaction | None) -> None:
        """Show a transaction on its connector unless a newer one is shown."""
        if transaction is None:
            return
        shown = record.transaction
        if (
            shown is None
            or shown.id == transaction.id
            or (
                transaction.started_at is not None
                and (
                    shown.started_at is None
                    or transaction.started_at >= shown.started_at
                )
            )
        ):
            record.transaction = transaction

    def authorize(self, id_tag: str) -> bool:
        """Return whether an id tag may charge."""
        return self.settings.accepts(id_tag)

    async def start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str
    ) -> Transaction:
        """Record a StartTransaction; return the transaction (with its id)."""
        started_at = parse_timestamp(timestamp) or utc_now()
        transaction = await self.ledger.start(
            self.id, connector_id, id_tag, meter_start, started_at
        )
        record = self.record(connector_id)
        self._follow(record, transaction)
        self._take(
            record, MeterSample(timestamp=started_at, energy_wh=float(meter_start))
        )
        self.changed()
        return transaction

    async def stop_transaction(
        self,
        transaction_id: int,
        meter_stop: int,
        timestamp: str,
        reason: str | None,
        transaction_data: Sequence[Mapping[str, Any]],
    ) -> Transaction:
        """Record a StopTransaction, also one for a transaction not known here."""
        stopped_at = parse_timestamp(timestamp) or utc_now()
        transaction = await self.ledger.stop(
            self.id, transaction_id, meter_stop, stopped_at, reason
        )
        if transaction.connector_id:
            record = self.record(transaction.connector_id)
            self._follow(record, transaction)
            self._samples(record, transaction_data)
            self._take(
                record, MeterSample(timestamp=stopped_at, energy_wh=float(meter_stop))
            )
        self.changed()
        return transaction

    def notification(
        self, *, firmware: str | None = None, diagnostics: str | None = None
    ) -> None:
        """Record a Firmware- or DiagnosticsStatusNotification."""
        if firmware is not None:
            self.firmware_status = firmware
        if diagnostics is not None:
            self.diagnostics_status = diagnostics
        self.changed()
