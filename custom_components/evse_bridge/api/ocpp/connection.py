"""The requests a charge point sends to the central system, answered.

Until the integration accepts a charge point, only its BootNotification is
answered (``Pending`` or ``Rejected``); anything else gets a SecurityError
CALLERROR, so a charge point nobody accepted has no access at all.
"""

from collections.abc import Callable, Mapping, Sequence
import logging
from typing import Any, Final, cast

from aiohttp import web
from ocpp.exceptions import (
    InternalError,
    PropertyConstraintViolationError,
    SecurityError,
)
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    DataTransferStatus,
    RegistrationStatus,
)

from .charge_point import OcppChargePoint
from .clock import ocpp_datetime, utc_now
from .control import OcppControl
from .errors import OcppStoreError
from .logsafe import clip
from .rpc import OcppRpc
from .settings import MAX_CONNECTORS
from .state import Admission, BootInfo

__all__ = ["CentralSystemConnection"]

_LOGGER = logging.getLogger(__package__)

_REGISTRATION: Final = {
    Admission.ACCEPTED: RegistrationStatus.accepted,
    Admission.PENDING: RegistrationStatus.pending,
    Admission.REJECTED: RegistrationStatus.rejected,
}


def _handles[F: Callable[..., object]](action: Action) -> Callable[[F], F]:
    """Mark a method as the handler of ``action`` (the library's ``on``, typed)."""
    return cast("Callable[[F], F]", on(action))


class CentralSystemConnection(OcppRpc):
    """A charge point's connection, with a handler for every request it sends."""

    def __init__(
        self, charge_point: OcppChargePoint, websocket: web.WebSocketResponse
    ) -> None:
        """Serve ``charge_point`` on ``websocket``."""
        super().__init__(
            charge_point.id,
            websocket,
            response_timeout=charge_point.settings.response_timeout_s,
            logger=_LOGGER,
            once=charge_point.once,
        )
        self._charge_point = charge_point

    def call_answered(self, action: str) -> None:
        """Ask an accepted charge point for what is needed, once per connection."""
        if self._charge_point.needs_configuration(self):
            self._charge_point.run(OcppControl(self._charge_point).configure(self))

    def _require_admitted(self, action: str) -> None:
        if not self._charge_point.admitted:
            self._charge_point.once.log(
                logging.INFO,
                "not_admitted",
                "Charge point %s sent %s before it was accepted; refused",
                clip(self.charge_point_id),
                action,
            )
            raise SecurityError(details={"cause": "charge point not accepted"})

    def _require_connector(self, action: str, connector_id: int) -> None:
        self._require_admitted(action)
        if not 0 <= connector_id <= MAX_CONNECTORS:
            raise PropertyConstraintViolationError(
                details={"cause": f"connectorId must be 0-{MAX_CONNECTORS}"}
            )

    def _id_tag_info(self, id_tag: str) -> IdTagInfo:
        accepted = self._charge_point.authorize(id_tag)
        return IdTagInfo(
            status=AuthorizationStatus.accepted
            if accepted
            else AuthorizationStatus.invalid
        )

    @_handles(Action.boot_notification)
    def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **optional: str
    ) -> call_result.BootNotification:
        """Answer with the integration's decision."""
        admission = self._charge_point.boot(
            BootInfo(
                vendor=charge_point_vendor,
                model=charge_point_model,
                charge_point_serial_number=optional.get("charge_point_serial_number"),
                charge_box_serial_number=optional.get("charge_box_serial_number"),
                firmware_version=optional.get("firmware_version"),
                meter_type=optional.get("meter_type"),
                meter_serial_number=optional.get("meter_serial_number"),
            )
        )
        settings = self._charge_point.settings
        return call_result.BootNotification(
            current_time=ocpp_datetime(utc_now()),
            interval=(
                settings.heartbeat_interval_s
                if admission is Admission.ACCEPTED
                else settings.retry_interval_s
            ),
            status=_REGISTRATION[admission],
        )

    @_handles(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        """Give the time, which keeps the charge point's clock right."""
        self._require_admitted(Action.heartbeat)
        return call_result.Heartbeat(current_time=ocpp_datetime(utc_now()))

    @_handles(Action.status_notification)
    def on_status_notification(
        self,
        connector_id: int,
        error_code: str,
        status: str,
        timestamp: str | None = None,
        **_: str,
    ) -> call_result.StatusNotification:
        """Record the status of the station (connector 0) or a connector."""
        self._require_connector(Action.status_notification, connector_id)
        self._charge_point.status(connector_id, status, error_code, timestamp)
        return call_result.StatusNotification()

    @_handles(Action.meter_values)
    def on_meter_values(
        self,
        connector_id: int,
        meter_value: Sequence[Mapping[str, Any]],
        transaction_id: int | None = None,
    ) -> call_result.MeterValues:
        """Record the meter values of the station (connector 0) or a connector."""
        self._require_connector(Action.meter_values, connector_id)
        self._charge_point.meter_values(connector_id, meter_value, transaction_id)
        return call_result.MeterValues()

    @_handles(Action.authorize)
    def on_authorize(self, id_tag: str) -> call_result.Authorize:
        """Accept a tag from the list, or every tag if there is no list."""
        self._require_admitted(Action.authorize)
        return call_result.Authorize(id_tag_info=self._id_tag_info(id_tag))

    @_handles(Action.start_transaction)
    async def on_start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: str,
        reservation_id: int | None = None,
    ) -> call_result.StartTransaction:
        """Give the transaction its id, once it is saved."""
        self._require_connector(Action.start_transaction, connector_id)
        try:
            transaction = await self._charge_point.start_transaction(
                connector_id, id_tag, meter_start, timestamp
            )
        except OcppStoreError as err:
            self._charge_point.once.log(logging.ERROR, "store", "%s", err)
            raise InternalError(details={"cause": "transaction not saved"}) from None
        return call_result.StartTransaction(
            transaction_id=transaction.id, id_tag_info=self._id_tag_info(id_tag)
        )

    @_handles(Action.stop_transaction)
    async def on_stop_transaction(  # noqa: PLR0913 - the message's fields
        self,
        *,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        reason: str | None = None,
        id_tag: str | None = None,
        transaction_data: Sequence[Mapping[str, Any]] = (),
    ) -> call_result.StopTransaction:
        """Close the transaction; one closed already or unknown is accepted too."""
        self._require_admitted(Action.stop_transaction)
        try:
            await self._charge_point.stop_transaction(
                transaction_id, meter_stop, timestamp, reason, transaction_data
            )
        except OcppStoreError as err:
            self._charge_point.once.log(logging.ERROR, "store", "%s", err)
            raise InternalError(details={"cause": "transaction not saved"}) from None
        return call_result.StopTransaction(
            id_tag_info=None if id_tag is None else self._id_tag_info(id_tag)
        )

    @_handles(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: str) -> call_result.DataTransfer:
        """Answer that no vendor extension is known here."""
        self._require_admitted(Action.data_transfer)
        self._charge_point.once.log(
            logging.INFO,
            "data_transfer",
            "Charge point %s sent a DataTransfer for vendor %s, which is not supported",
            clip(self.charge_point_id),
            clip(vendor_id),
        )
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @_handles(Action.firmware_status_notification)
    def on_firmware_status_notification(
        self, status: str
    ) -> call_result.FirmwareStatusNotification:
        """Record the state of a firmware update."""
        self._require_admitted(Action.firmware_status_notification)
        self._charge_point.notification(firmware=status)
        return call_result.FirmwareStatusNotification()

    @_handles(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(
        self, status: str
    ) -> call_result.DiagnosticsStatusNotification:
        """Record the state of a diagnostics upload."""
        self._require_admitted(Action.diagnostics_status_notification)
        self._charge_point.notification(diagnostics=status)
        return call_result.DiagnosticsStatusNotification()
