"""Transactions: ids allocated uniquely, persisted, each counted once.

The ledger allocates transaction ids from a counter it saves through a
TransactionStore (the integration's, or MemoryTransactionStore in tests)
before it answers, so an id is never handed out twice, across restarts too.
Charge points queue transaction messages while offline and send them again
when they do not see an answer, so:

* a StartTransaction that matches one already known (charge point, connector,
  id tag, meter start, time stamp) gets the same id again;
* a StopTransaction for a transaction already stopped changes nothing;
* a StopTransaction for an unknown id (started before the store was lost, or
  under another central system) is accepted and not kept.

At most MAX_KEPT transactions are kept (the oldest stopped ones go first), so
neither memory nor the saved data grows without bound.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
import logging
from typing import Final, Protocol, TypedDict

from .clock import parse_timestamp
from .errors import OcppStoreError

__all__ = [
    "MemoryTransactionStore",
    "StoredLedger",
    "StoredTransaction",
    "Transaction",
    "TransactionLedger",
    "TransactionStore",
]

_LOGGER = logging.getLogger(__name__)

MAX_KEPT: Final = 512
"""Open and recent transactions kept: a few per connector of a large home
installation, enough to recognise messages a charge point sends again."""
FIRST_ID: Final = 1
MAX_ID: Final = 2**31 - 1
"""Charge points keep transaction ids in 32-bit signed integers."""


class StoredTransaction(TypedDict):
    """A transaction as saved (JSON)."""

    id: int
    charge_point_id: str
    connector_id: int
    id_tag: str | None
    meter_start_wh: int | None
    started_at: str | None
    meter_stop_wh: int | None
    stopped_at: str | None
    stop_reason: str | None


class StoredLedger(TypedDict):
    """What the ledger saves (JSON)."""

    next_id: int
    transactions: list[StoredTransaction]


class TransactionStore(Protocol):
    """Where the ledger keeps its data; the integration implements it.

    ``save`` must have written the data when it returns (or raise): an id is
    handed out only after it.
    """

    async def load(self) -> StoredLedger | None:
        """Return what was saved last, or None if nothing was."""
        ...

    async def save(self, data: StoredLedger) -> None:
        """Save the data, replacing what was saved before."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction:
    """One charging transaction, as far as the central system knows it."""

    id: int
    charge_point_id: str
    connector_id: int
    id_tag: str | None
    meter_start_wh: int | None
    """None for a transaction known only from its StopTransaction."""
    started_at: datetime | None
    meter_stop_wh: int | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None

    @property
    def is_open(self) -> bool:
        """Return whether no StopTransaction has arrived yet."""
        return self.stopped_at is None

    @property
    def energy_wh(self) -> int | None:
        """Return the energy of a stopped transaction, if its start is known."""
        if self.meter_start_wh is None or self.meter_stop_wh is None:
            return None
        return self.meter_stop_wh - self.meter_start_wh

    def to_stored(self) -> StoredTransaction:
        """Return the transaction as JSON-ready data."""
        return StoredTransaction(
            id=self.id,
            charge_point_id=self.charge_point_id,
            connector_id=self.connector_id,
            id_tag=self.id_tag,
            meter_start_wh=self.meter_start_wh,
            started_at=None if self.started_at is None else self.started_at.isoformat(),
            meter_stop_wh=self.meter_stop_wh,
            stopped_at=None if self.stopped_at is None else self.stopped_at.isoformat(),
            stop_reason=self.stop_reason,
        )

    @classmethod
    def from_stored(cls, data: StoredTransaction) -> Transaction:
        """Return a transaction saved with ``to_stored``."""
        return cls(
            id=int(data["id"]),
            charge_point_id=str(data["charge_point_id"]),
            connector_id=int(data["connector_id"]),
            id_tag=data["id_tag"],
            meter_start_wh=data["meter_start_wh"],
            started_at=parse_timestamp(data["started_at"]),
            meter_stop_wh=data["meter_stop_wh"],
            stopped_at=parse_timestamp(data["stopped_at"]),
            stop_reason=data["stop_reason"],
        )


class MemoryTransactionStore:
    """A TransactionStore in memory, for tests and the simulator's server."""

    def __init__(self, data: StoredLedger | None = None) -> None:
        """Start with ``data`` as if it had been saved."""
        self.data = data
        self.saves = 0

    async def load(self) -> StoredLedger | None:
        """Return the data saved last."""
        return self.data

    async def save(self, data: StoredLedger) -> None:
        """Keep the data."""
        self.data = data
        self.saves += 1


class TransactionLedger:
    """Allocates transaction ids and keeps transactions, through a store."""

    def __init__(self, store: TransactionStore) -> None:
        """Keep transactions in ``store``; call ``load`` before use."""
        self._store = store
        self._next_id = FIRST_ID
        self._transactions: dict[int, Transaction] = {}

    async def load(self) -> None:
        """Read the saved data; data that cannot be read starts afresh.

        The next id is kept above every id seen, so even a damaged store
        never makes an id be handed out twice.
        """
        data = await self._store.load()
        if data is None:
            return
        try:
            transactions = [
                Transaction.from_stored(item) for item in data["transactions"]
            ]
            next_id = int(data["next_id"])
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning(
                "The saved OCPP transactions cannot be read (%s); starting afresh", err
            )
            return
        self._transactions = {item.id: item for item in transactions[-MAX_KEPT:]}
        self._next_id = max([next_id, *(item.id + 1 for item in transactions)])

    def __iter__(self) -> Iterator[Transaction]:
        """Iterate over the kept transactions, oldest first."""
        return iter(self._transactions.values())

    def get(self, transaction_id: int) -> Transaction | None:
        """Return a kept transaction."""
        return self._transactions.get(transaction_id)

    def open_on(self, charge_point_id: str, connector_id: int) -> Transaction | None:
        """Return the newest open transaction on a connector."""
        for item in reversed(self._transactions.values()):
            if (
                item.is_open
                and item.charge_point_id == charge_point_id
                and item.connector_id == connector_id
            ):
                return item
        return None

    async def start(
        self,
        charge_point_id: str,
        connector_id: int,
        id_tag: str,
        meter_start_wh: int,
        started_at: datetime,
    ) -> Transaction:
        """Record a StartTransaction; the same one sent again gets the same id."""
        for item in self._transactions.values():
            if (
                item.charge_point_id == charge_point_id
                and item.connector_id == connector_id
                and item.id_tag == id_tag
                and item.meter_start_wh == meter_start_wh
                and item.started_at == started_at
            ):
                return item
        if self._next_id > MAX_ID:
            self._next_id = FIRST_ID
        transaction_id = self._next_id
        while transaction_id in self._transactions:
            transaction_id += 1
        self._next_id = transaction_id + 1
        transaction = Transaction(
            id=transaction_id,
            charge_point_id=charge_point_id,
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start_wh=meter_start_wh,
            started_at=started_at,
        )
        await self._keep(transaction)
        return transaction

    async def stop(
        self,
        charge_point_id: str,
        transaction_id: int,
        meter_stop_wh: int,
        stopped_at: datetime,
        reason: str | None,
    ) -> Transaction:
        """Record a StopTransaction; one already recorded changes nothing."""
        known = self._transactions.get(transaction_id)
        if known is None or known.charge_point_id != charge_point_id:
            # Not ours to keep (its id may be another charge point's): accept
            # it and count nothing; its connector is not known.
            return Transaction(
                id=transaction_id,
                charge_point_id=charge_point_id,
                connector_id=0,
                id_tag=None,
                meter_start_wh=None,
                started_at=None,
                meter_stop_wh=meter_stop_wh,
                stopped_at=stopped_at,
                stop_reason=reason,
            )
        if not known.is_open:
            return known
        stopped = replace(
            known,
            meter_stop_wh=meter_stop_wh,
            stopped_at=stopped_at,
            stop_reason=reason,
        )
        await self._keep(stopped)
        return stopped

    async def _keep(self, transaction: Transaction) -> None:
        """Add or replace a transaction and save; undo if saving fails."""
        before = dict(self._transactions)
        self._transactions.pop(transaction.id, None)
        self._transactions[transaction.id] = transaction
        while len(self._transactions) > MAX_KEPT:
            oldest = next(
                (item for item in self._transactions.values() if not item.is_open),
                next(iter(self._transactions.values())),
            )
            del self._transactions[oldest.id]
        try:
            await self._store.save(
                StoredLedger(
                    next_id=self._next_id,
                    transactions=[
                        item.to_stored() for item in self._transactions.values()
                    ],
                )
            )
        except Exception as err:  # noqa: BLE001 - the integration's store, whatever it raises
            self._transactions = before
            msg = f"Could not save the OCPP transactions: {type(err).__name__}: {err}"
            raise OcppStoreError(msg) from None
