"""OCPP-J RPC over an aiohttp websocket, on the ocpp library's ChargePoint.

The library frames, validates and routes messages; this layer adds what a
server facing arbitrary charge points needs on top of it:

* a frame that is not OCPP-J (not JSON, not an array, an unknown message
  type, an unusable unique id) is answered with a CALLERROR, never a
  traceback; with unique id ``-1`` when it has none (OCPP 2.0.1's rule, as
  1.6 has none);
* error codes are OCPP 1.6's: ``FormationViolation`` (the library sends
  2.0.1's ``FormatViolation``), an unknown action gets ``NotImplemented`` and
  a known one without a handler ``NotSupported`` (the library swaps them), a
  schema violation its own code (TypeConstraintViolation for a type or
  length, PropertyConstraintViolation for a value, ProtocolError for a
  missing field, FormationViolation for an unknown field);
* an answer is taken only for the one call in flight, once: other answers,
  duplicates and late ones are dropped, so nothing queues up;
* calls fail with the package's typed errors, at once when the connection
  closes;
* the library's per-frame logging goes to debug, escaped and clipped.
"""

import asyncio
from collections.abc import Callable
import json
import logging
from typing import Any, Final, cast
import uuid

from aiohttp import WSMsgType, web
from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    GenericError,
    NotImplementedError as OcppNotImplementedError,
    NotSupportedError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
    UnknownCallErrorCodeError,
)
from ocpp.messages import Call, CallError, MessageType, get_validator, unpack
from ocpp.v16 import ChargePoint
from ocpp.v16.enums import Action

from .errors import OcppCallError, OcppConnectionError, OcppTimeoutError
from .logsafe import LibraryLogger, OnceLog, clip

__all__ = ["OcppRpc"]

OCPP_VERSION: Final = "1.6"
NO_UNIQUE_ID: Final = "-1"
MAX_UNIQUE_ID_CHARS: Final = 36
"""OCPP-J: a unique id is at most 36 characters (a UUID)."""
MAX_CAUSE_CHARS: Final = 200
"""What a CALLERROR's details say about the cause, at most."""

# OCPP-J 1.6, 4.2.3 (the library swaps the two).
_NOT_IMPLEMENTED: Final = "Requested Action is not known by receiver"
_NOT_SUPPORTED: Final = (
    "Requested Action is recognized but not supported by the receiver"
)
# The schema keyword a payload breaks, to the OCPP 1.6 error it means.
_SCHEMA_ERRORS: Final[dict[str, Callable[..., OCPPError]]] = {
    "type": TypeConstraintViolationError,
    "maxLength": TypeConstraintViolationError,
    "required": ProtocolError,
    "additionalProperties": FormationViolationError,
    "enum": PropertyConstraintViolationError,
    "minimum": PropertyConstraintViolationError,
    "maximum": PropertyConstraintViolationError,
    "pattern": PropertyConstraintViolationError,
    "multipleOf": PropertyConstraintViolationError,
}


class _Link:
    """The websocket as the library's ``connection``: it only sends."""

    def __init__(self, websocket: web.WebSocketResponse) -> None:
        self._websocket = websocket

    async def send(self, message: str) -> None:
        """Send a text frame; raise OcppConnectionError if the socket is gone."""
        try:
            await self._websocket.send_str(message)
        except ConnectionError:
            msg = "The connection closed"
            raise OcppConnectionError(msg) from None


def _error_code(error: OCPPError) -> str:
    """Return the OCPP 1.6 code of a library error."""
    if isinstance(error, FormatViolationError):
        return FormationViolationError.code
    return cast("str", getattr(error, "code", GenericError.code))


def _schema_error(message: Call) -> OCPPError | None:
    """Return the OCPP 1.6 error for a request payload that fails its schema."""
    validator = get_validator(MessageType.Call, message.action, OCPP_VERSION)
    error = next(iter(validator.iter_errors(message.payload)), None)
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "payload"
    kind = _SCHEMA_ERRORS.get(str(error.validator), FormationViolationError)
    return kind(details={"cause": f"{clip(where, 60)} breaks '{error.validator}'"})


def _unique_id_of(raw: str | bytes) -> tuple[int | None, str]:
    """Return the message type and a usable unique id of a frame, if any."""
    try:
        frame = json.loads(raw)
    except ValueError, RecursionError:
        return None, NO_UNIQUE_ID
    if not isinstance(frame, list) or not frame:
        return None, NO_UNIQUE_ID
    kind = frame[0] if isinstance(frame[0], int) else None
    if len(frame) > 1 and _usable_unique_id(frame[1]):
        return kind, frame[1]
    return kind, NO_UNIQUE_ID


def _usable_unique_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_UNIQUE_ID_CHARS


class OcppRpc(ChargePoint):
    """One websocket connection of a charge point, for the central system."""

    def __init__(
        self,
        charge_point_id: str,
        websocket: web.WebSocketResponse,
        *,
        response_timeout: float,
        logger: logging.Logger,
        once: OnceLog,
    ) -> None:
        """Serve ``websocket``; ``once`` logs each kind of problem once."""
        super().__init__(  # type: ignore[no-untyped-call]
            charge_point_id,
            _Link(websocket),
            response_timeout=response_timeout,
            logger=LibraryLogger(logger),
        )
        self.charge_point_id = charge_point_id
        self.websocket = websocket
        self._log = logger
        self._once = once
        self._request_lock = asyncio.Lock()
        self._awaiting: str | None = None
        self._pending_call: asyncio.Task[Any] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Return whether the connection has ended."""
        return self._closed

    # --- Receiving -------------------------------------------------------------

    async def serve(self) -> None:
        """Handle frames until the connection closes."""
        try:
            async for frame in self.websocket:
                if frame.type is WSMsgType.ERROR:
                    self._once.log(
                        logging.WARNING,
                        "socket_error",
                        "Charge point %s: connection closed with code %s (%s); a"
                        " frame above the size limit closes it",
                        clip(self.charge_point_id),
                        self.websocket.close_code,
                        clip(frame.data),
                    )
                    break
                if frame.type in {WSMsgType.TEXT, WSMsgType.BINARY}:
                    await self._route_safely(frame.data)
        except OcppConnectionError:
            pass
        finally:
            self._closed = True
            # A call whose answer came just before the close (a Reset answered,
            # then the charge point goes down) still takes its answer.
            if self._pending_call is not None and self._awaiting is not None:
                self._pending_call.cancel()

    async def _route_safely(self, raw: str | bytes) -> None:
        """Route a frame; a failure here ends neither the loop nor the server."""
        try:
            await self.route_message(raw)
        except OcppConnectionError:
            raise
        except Exception as err:  # noqa: BLE001 - the receive loop must go on
            self._once.log(
                logging.ERROR,
                "failed",
                "Charge point %s: a frame could not be handled (%s: %s): %s",
                clip(self.charge_point_id),
                type(err).__name__,
                clip(err),
                clip(raw),
            )

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Route one frame: a request to its handler, an answer to its call."""
        try:
            message = unpack(raw_msg)
        except (OCPPError, ValueError, RecursionError) as err:
            # ValueError: an integer too long to convert; RecursionError: an
            # array nested too deep. The library lets both through.
            error = err if isinstance(err, OCPPError) else FormationViolationError()
            await self._refuse_frame(raw_msg, error)
            return
        if isinstance(message, Call):
            await self._route_call(message)
        elif message.unique_id == self._awaiting:
            self._awaiting = None
            self._response_queue.put_nowait(message)
        else:
            self._log.debug(
                "Charge point %s: dropped an answer nobody waits for (%s)",
                clip(self.charge_point_id),
                clip(message.unique_id),
            )

    async def _refuse_frame(self, raw: str | bytes, error: OCPPError) -> None:
        kind, unique_id = _unique_id_of(raw)
        self._once.log(
            logging.WARNING,
            "not_ocpp",
            "Charge point %s sent a frame that is not OCPP-J (%s): %s",
            clip(self.charge_point_id),
            _error_code(error),
            clip(raw),
        )
        if kind not in {MessageType.CallResult, MessageType.CallError}:
            await self._send_error(unique_id, error)

    async def _route_call(self, message: Call) -> None:
        error = self._misformed(message)
        if error is not None:
            await self._send_error(
                message.unique_id
                if _usable_unique_id(message.unique_id)
                else NO_UNIQUE_ID,
                error,
            )
            return
        try:
            answered = await self._handle_call(message)  # type: ignore[no-untyped-call]
        except OCPPError as raised:
            err = _schema_error(message) or raised
            self._once.log(
                logging.WARNING,
                ("bad_request", message.action),
                "Charge point %s sent a %s that breaks the OCPP 1.6 schema (%s: %s)",
                clip(self.charge_point_id),
                message.action,
                _error_code(err),
                clip(err.details.get("cause", "")),
            )
            await self._send_error(message.unique_id, err)
            return
        if answered is not None:
            self.call_answered(message.action)

    def _misformed(self, message: Call) -> OCPPError | None:
        """Return the error for a request the library cannot route."""
        if not _usable_unique_id(message.unique_id):
            return FormationViolationError(details={"cause": "unusable unique id"})
        if not isinstance(message.action, str) or not isinstance(message.payload, dict):
            return FormationViolationError(details={"cause": "not a request"})
        if message.action in self.route_map:
            return None
        self._once.log(
            logging.INFO,
            ("unknown_action", message.action if message.action in Action else None),
            "Charge point %s sent %s, which is not handled",
            clip(self.charge_point_id),
            clip(message.action),
        )
        if message.action in Action:
            return NotSupportedError(description=_NOT_SUPPORTED)
        return OcppNotImplementedError(description=_NOT_IMPLEMENTED)

    async def _send_error(self, unique_id: str, error: OCPPError) -> None:
        cause = error.details.get("cause") if isinstance(error.details, dict) else None
        # Only a short cause: the library's details may hold the whole frame.
        details = {"cause": cause[:MAX_CAUSE_CHARS]} if isinstance(cause, str) else {}
        frame = CallError(unique_id, _error_code(error), error.description, details)
        await self._send(frame.to_json())  # type: ignore[no-untyped-call]

    def call_answered(self, action: str) -> None:
        """Run after a request was answered (not with a CALLERROR)."""

    # --- Calling -----------------------------------------------------------------

    async def request[R](self, payload: object, answer: type[R]) -> R:
        """Send a call and return its answer; raise the package's errors.

        One call is in flight at a time; ``answer`` is the library's
        ``call_result`` class for the request.
        """
        async with self._request_lock:
            if self._closed:
                msg = f"Charge point {clip(self.charge_point_id)} is not connected"
                raise OcppConnectionError(msg)
            unique_id = str(uuid.uuid4())
            while not self._response_queue.empty():
                self._response_queue.get_nowait()
            self._awaiting = unique_id
            self._pending_call = call = asyncio.create_task(
                self.call(payload, suppress=False, unique_id=unique_id)  # type: ignore[no-untyped-call]
            )
            try:
                result = await call
            except asyncio.CancelledError:
                call.cancel()
                current = asyncio.current_task()
                if self.closed and current is not None and not current.cancelling():
                    msg = (
                        f"Charge point {clip(self.charge_point_id)} disconnected"
                        " before it answered"
                    )
                    raise OcppConnectionError(msg) from None
                raise
            except TimeoutError:
                msg = (
                    f"Charge point {clip(self.charge_point_id)} did not answer"
                    f" {type(payload).__name__} within {self._response_timeout} s"
                )
                raise OcppTimeoutError(msg) from None
            except OCPPError as err:
                code = _error_code(err)
                msg = (
                    f"Charge point {clip(self.charge_point_id)} answered"
                    f" {type(payload).__name__} with {code}: {clip(err.description)}"
                )
                raise OcppCallError(msg, code=code) from None
            except UnknownCallErrorCodeError, TypeError, ValueError:
                # An error code OCPP does not define, or an answer the library
                # cannot turn into its class.
                msg = (
                    f"Charge point {clip(self.charge_point_id)} sent an answer to"
                    f" {type(payload).__name__} that is not OCPP 1.6"
                )
                raise OcppCallError(msg, code="GenericError") from None
            finally:
                self._awaiting = None
                self._pending_call = None
        # The library builds the call_result class named after the request.
        return cast("R", result)

    async def close(self, code: int, reason: str) -> None:
        """Close the connection."""
        await self.websocket.close(code=code, message=reason.encode())
