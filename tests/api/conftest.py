"""Fixtures for the protocol-layer tests (no Home Assistant)."""

from collections.abc import Iterator
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
