"""The central system's connection: an answer that comes just before the close.

A charge point that accepts a Reset answers and goes down at once; both
frames may arrive together. The answer must still reach the call.
"""

import asyncio
from collections.abc import AsyncIterator
import json
import logging
from typing import Any, cast

from aiohttp import WSMsgType, web
from ocpp.v16 import call, call_result
from ocpp.v16.enums import ResetType

from custom_components.evse_bridge.api.ocpp.logsafe import OnceLog
from custom_components.evse_bridge.api.ocpp.rpc import OcppRpc

_LOGGER = logging.getLogger(__name__)


class _Frame:
    """A text frame as aiohttp gives it."""

    def __init__(self, data: str) -> None:
        """Carry ``data``."""
        self.type = WSMsgType.TEXT
        self.data = data


class AnswerThenClose:
    """A websocket whose charge point answers the first call, then closes.

    The answer and the close come in one read: nothing runs in between.
    """

    def __init__(self) -> None:
        """Wait for a call."""
        self.sent = asyncio.Event()
        self.unique_id = ""

    async def send_str(self, message: str) -> None:
        """Take the call the central system sends."""
        self.unique_id = json.loads(message)[1]
        self.sent.set()

    async def __aiter__(self) -> AsyncIterator[_Frame]:
        """Give the answer and end, as a closed websocket does."""
        await self.sent.wait()
        yield _Frame(json.dumps([3, self.unique_id, {"status": "Accepted"}]))


async def test_answer_just_before_the_close_is_taken() -> None:
    """Reset answered Accepted, then the connection ends: the call gets its answer."""
    websocket = AnswerThenClose()
    rpc = OcppRpc(
        "CP1",
        cast("web.WebSocketResponse", websocket),
        response_timeout=5,
        logger=_LOGGER,
        once=OnceLog(_LOGGER),
    )
    serving = asyncio.create_task(rpc.serve())
    answer: Any = await rpc.request(call.Reset(type=ResetType.soft), call_result.Reset)
    await serving
    assert answer.status == "Accepted"
    assert rpc.closed
