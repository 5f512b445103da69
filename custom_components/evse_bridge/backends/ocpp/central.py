"""The OCPP central system in Home Assistant: who may connect, and who listens.

One OcppCentral per Home Assistant runs the protocol layer's OcppServer on
Home Assistant's event loop. Its admission hook answers from the config
entries: a charge point with a charger entry is accepted; a new one starts a
discovery flow (or is refused, as the user chose) and waits, Pending. Each
charger entry's coordinator subscribes to the snapshots of its charge point.
"""

from collections.abc import Mapping
import ssl
from typing import Any, Final, Protocol

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.const import CONF_PASSWORD, CONF_PATH, CONF_PORT
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from ...api.model import ChargerInfo
from ...api.ocpp import (
    Admission,
    OcppError,
    OcppServer,
    OcppSettings,
    OcppSnapshot,
    StoredLedger,
)
from ...const import CONF_TYPE, DOMAIN, LOGGER
from .const import (
    CHARGER_KIND,
    CONF_CHARGE_POINT_ID,
    CONF_CONFIGURE_METER_VALUES,
    CONF_ID_TAGS,
    CONF_MANUFACTURER,
    CONF_MODEL,
    CONF_NEW_CHARGE_POINTS,
    TRANSACTION_STORE_KEY,
    TRANSACTION_STORE_VERSION,
    NewChargePoints,
)

CENTRAL: Final[HassKey[OcppCentral]] = HassKey(f"{DOMAIN}_ocpp_central")


def charger_unique_id(charge_point_id: str) -> str:
    """Return the unique id of a charge point's entry, and its id in the hub.

    Prefixed, because a charger may also be set up through its own make's
    backend under the same serial (a Chargestorm's CBID is often its OCPP id).
    """
    return f"ocpp:{charge_point_id}"


def parse_id_tags(text: str) -> frozenset[str] | None:
    """Return the id tags of a comma- or space-separated list; None: accept all."""
    tags = frozenset(tag for tag in text.replace(",", " ").split() if tag)
    return tags or None


def ssl_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """Return the server's TLS context (blocking: reads the files)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


class TransactionStore:
    """The layer's transaction store, in Home Assistant's storage."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Keep the transactions of this Home Assistant."""
        self._store = Store[StoredLedger](
            hass, TRANSACTION_STORE_VERSION, TRANSACTION_STORE_KEY
        )

    async def load(self) -> StoredLedger | None:
        """Return what was saved."""
        return await self._store.async_load()

    async def save(self, data: StoredLedger) -> None:
        """Save at once: an id is saved before it is handed out."""
        await self._store.async_save(data)


class Subscriber(Protocol):
    """Hears one charge point: each new snapshot, and the server stopping."""

    def snapshot_received(self, snapshot: OcppSnapshot) -> None:
        """Take a new snapshot."""

    def server_stopped(self) -> None:
        """Take note that the charge point can no longer be reached."""


class OcppCentral:
    """The central system of this Home Assistant."""

    def __init__(
        self,
        hass: HomeAssistant,
        options: Mapping[str, Any],
        context: ssl.SSLContext | None,
    ) -> None:
        """Build the server the options describe; ``start`` listens."""
        self.hass = hass
        self._policy = NewChargePoints(options[CONF_NEW_CHARGE_POINTS])
        self._subscribers: dict[str, Subscriber] = {}
        self.server = OcppServer(
            admission=self._admission,
            store=TransactionStore(hass),
            listener=self._snapshot,
            passwords=self._password,
            port=options[CONF_PORT],
            path=options[CONF_PATH],
            ssl_context=context,
            settings=OcppSettings(
                id_tags=parse_id_tags(options.get(CONF_ID_TAGS, "")),
                configure_meter_values=options[CONF_CONFIGURE_METER_VALUES],
            ),
        )

    async def async_start(self) -> None:
        """Listen; raise OSError when the port is taken."""
        await self.server.start()
        self.hass.data[CENTRAL] = self
        self._unsubscribe_entries = async_dispatcher_connect(
            self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._entry_changed
        )

    async def async_stop(self) -> None:
        """Close every connection and stop listening."""
        if self.hass.data.get(CENTRAL) is self:
            del self.hass.data[CENTRAL]
        self._unsubscribe_entries()
        await self.server.stop()
        for subscriber in list(self._subscribers.values()):
            subscriber.server_stopped()

    # --- Admission ---------------------------------------------------------------

    def _entry(self, charge_point_id: str) -> ConfigEntry | None:
        return self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, charger_unique_id(charge_point_id)
        )

    def _charger_entry(self, charge_point_id: str) -> ConfigEntry | None:
        entry = self._entry(charge_point_id)
        if (
            entry is None
            or entry.source == SOURCE_IGNORE
            or entry.data.get(CONF_TYPE) != CHARGER_KIND
        ):
            return None
        return entry

    @callback
    def _admission(self, charge_point_id: str, info: ChargerInfo | None) -> Admission:
        """Accept charge points with an entry; ask about new ones, or refuse them."""
        entry = self._charger_entry(charge_point_id)
        if entry is not None:
            return (
                Admission.ACCEPTED if entry.disabled_by is None else Admission.PENDING
            )
        if self._entry(charge_point_id) is not None:
            return Admission.PENDING  # the user ignored its discovery
        if self._policy is NewChargePoints.REFUSE:
            return Admission.REJECTED
        if info is not None:
            discovery_flow.async_create_flow(
                self.hass,
                DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data={
                    CONF_CHARGE_POINT_ID: charge_point_id,
                    CONF_MANUFACTURER: info.manufacturer,
                    CONF_MODEL: info.model or "",
                },
            )
        return Admission.PENDING

    def _password(self, charge_point_id: str) -> str | None:
        entry = self._charger_entry(charge_point_id)
        password = None if entry is None else entry.data.get(CONF_PASSWORD)
        return password or None

    @callback
    def _entry_changed(self, change: ConfigEntryChange, entry: ConfigEntry) -> None:
        """Decide again about a charge point whose entry was removed or disabled.

        Its access ends at once: it is Pending again (and asked about anew).
        """
        if (
            change is ConfigEntryChange.ADDED
            or entry.data.get(CONF_TYPE) != CHARGER_KIND
        ):
            return
        charge_point = self.server.charge_points.get(entry.data[CONF_CHARGE_POINT_ID])
        if charge_point is not None and charge_point.admitted:
            charge_point.reconsider()

    async def async_accept(self, charge_point_id: str) -> None:
        """Let a charge point in that the user has just accepted.

        It boots again at once, so it need not wait for its retry interval.
        """
        charge_point = self.server.charge_points.get(charge_point_id)
        if charge_point is None or charge_point.admitted:
            return
        if charge_point.reconsider() is not Admission.ACCEPTED:
            return
        if charge_point.connected:
            try:
                await self.server.control(charge_point_id).request_boot()
            except OcppError as err:
                LOGGER.info(
                    "Charge point %s will be accepted at its next boot: %s",
                    charge_point_id,
                    err,
                )

    # --- Snapshots ---------------------------------------------------------------

    @callback
    def subscribe(self, charge_point_id: str, subscriber: Subscriber) -> CALLBACK_TYPE:
        """Send the snapshots of a charge point to ``subscriber``, the current first."""
        self._subscribers[charge_point_id] = subscriber
        if (known := self.server.charge_points.get(charge_point_id)) is not None:
            subscriber.snapshot_received(known.snapshot())

        @callback
        def unsubscribe() -> None:
            if self._subscribers.get(charge_point_id) is subscriber:
                del self._subscribers[charge_point_id]

        return unsubscribe

    @callback
    def _snapshot(self, snapshot: OcppSnapshot) -> None:
        subscriber = self._subscribers.get(snapshot.charge_point_id)
        if subscriber is not None:
            subscriber.snapshot_received(snapshot)

    def diagnostics(self) -> dict[str, Any]:
        """Return the charge points known and how they are, without their ids."""
        return {
            "port": self.server.port,
            "tls": self.server.ssl_context is not None,
            "charge_points": [
                {
                    "connected": charge_point.connected,
                    "admission": charge_point.admission,
                    "boots": charge_point.boots,
                    "configuration": {
                        key: value
                        for key, (value, _) in charge_point.configuration.items()
                        if "auth" not in key.lower() and "key" not in key.lower()
                    },
                }
                for charge_point in self.server.charge_points.values()
            ],
        }


@callback
def async_get_central(hass: HomeAssistant) -> OcppCentral | None:
    """Return the running central system, if the server entry is loaded."""
    return hass.data.get(CENTRAL)


@callback
def charger_entries(hass: HomeAssistant) -> list[ConfigEntry]:
    """Return the entries of OCPP chargers."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.data.get(CONF_TYPE) == CHARGER_KIND
    ]
