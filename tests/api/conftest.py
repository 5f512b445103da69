"""Fixtures for the protocol-layer tests (no Home Assistant)."""

from collections.abc import Callable, Iterator
import threading
from types import SimpleNamespace
from typing import Any

import aiohttp
from aioresponses import aioresponses
import pytest
from yarl import URL


class _CompatResponse(aiohttp.ClientResponse):
    """A ClientResponse that aioresponses 0.7.9 can build on aiohttp 3.14.

    aiohttp made ``stream_writer`` a required argument, which aioresponses
    does not pass yet; a finished request only reads its ``output_size``.
    """

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        """Fill in the argument aioresponses leaves out."""
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


@pytest.fixture
def http_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    """Mock every aiohttp request."""
    monkeypatch.setattr("aioresponses.core.ClientResponse", _CompatResponse)
    with aioresponses() as mocked:
        yield mocked


type SmallStack = Callable[[Callable[[], object]], object]

# Small enough that JSON nested a few thousand levels deep overflows it, as
# it can in any thread whose stack is already deep.
_SMALL_STACK_BYTES = 256 * 1024


@pytest.fixture
def small_stack() -> SmallStack:
    """Return a runner that calls a function in a thread with a small stack.

    It returns the function's result, or raises what the function raised.
    """

    def run(function: Callable[[], object]) -> object:
        outcome: dict[str, object] = {}

        def target() -> None:
            try:
                outcome["result"] = function()
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                outcome["error"] = err

        previous = threading.stack_size(_SMALL_STACK_BYTES)
        try:
            thread = threading.Thread(target=target)
            thread.start()
            thread.join()
        finally:
            threading.stack_size(previous)
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome.get("result")

    return run
