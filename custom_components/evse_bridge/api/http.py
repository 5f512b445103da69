"""What every HTTP client of a charger shares.

HttpTransport carries one charger's requests: on an injected (or its own)
aiohttp session, one at a time and optionally spaced, under a time-out,
without following redirects, with a cap on the body and connection errors
turned into ChargerConnectionError/ChargerTimeoutError with secrets redacted.
A vendor's client builds the URLs, judges the status and parses the body.
"""

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import ipaddress
import logging
import re
import time
from types import TracebackType
from typing import Final, Self

import aiohttp
from yarl import URL

from .errors import ChargerConnectionError, ChargerResponseError, ChargerTimeoutError

__all__ = [
    "MAX_HOST_LENGTH",
    "HttpTransport",
    "base_url",
    "normalize_host",
    "read_body",
    "url_host",
]

_LOGGER = logging.getLogger(__name__)

MAX_HOST_LENGTH: Final = 253
"""The longest DNS name (RFC 1035); no address is longer."""
# One DNS label: letters, digits, inner hyphens; "_" too, which some home
# routers put in the names they give DHCP clients.
_LABEL: Final = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_CHUNK_BYTES: Final = 64 * 1024


def normalize_host(host: str) -> str:
    """Return a charger's host name or IP address, stripped, or raise ValueError.

    Accepted: an IPv4 or IPv6 address (``fd00::5``, also in brackets), or a DNS
    name of letters, digits, hyphens and dots. Anything else (a scheme, a
    path, a port, credentials, blanks, control characters, an IPv6 zone) could
    change what the URL means and is refused.
    """
    host = host.strip()
    bracketed = host.startswith("[") and host.endswith("]")
    inner = host[1:-1] if bracketed else host
    try:
        address = ipaddress.ip_address(inner)
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            msg = "An IPv6 address with a zone cannot be used in a URL here"
            raise ValueError(msg)
        return inner
    if address is not None and not bracketed:
        return host
    name = host.removesuffix(".")
    if (
        not name
        or len(host) > MAX_HOST_LENGTH
        or not all(_LABEL.fullmatch(label) for label in name.split("."))
    ):
        msg = "Host must be a bare host name or IP address"
        raise ValueError(msg)
    return host


def url_host(host: str) -> str:
    """Return a normalized host as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def base_url(host: str, port: int) -> str:
    """Return ``http://host:port`` for a normalized host (IPv6 in brackets)."""
    return f"http://{url_host(host)}:{port}"


async def read_body[E: Exception](
    response: aiohttp.ClientResponse,
    max_bytes: int,
    error: Callable[[str], E],
) -> bytes:
    """Read a response body of at most ``max_bytes``, refusing a bigger one early.

    ``error`` builds the caller's own exception from a message.
    """
    if response.content_length is not None and response.content_length > max_bytes:
        msg = f"Response of {response.content_length} bytes is too large"
        raise error(msg)
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        body += chunk
        if len(body) > max_bytes:
            msg = f"Response is larger than {max_bytes} bytes"
            raise error(msg)
    return bytes(body)


@dataclass(kw_only=True)
class HttpTransport:
    """The HTTP connection to one charger (see the module docstring)."""

    host: str
    """The charger's host name or address; normalized (ValueError if unusable)."""
    port: int
    max_body_bytes: int
    request_timeout: float = 10.0
    request_interval: float = 0.0
    """Least time between the end of one request and the start of the next."""
    session: aiohttp.ClientSession | None = field(default=None, repr=False)
    redact: Callable[[str], str] = field(default=lambda text: text, repr=False)
    """Removes secrets from text that may show a URL."""

    _own_session: bool = field(default=False, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _last_end: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        """Refuse a host or port that cannot be part of a URL."""
        self.host = normalize_host(self.host)
        if not 0 < self.port < 65536:  # noqa: PLR2004 - the TCP port range
            msg = "Invalid port"
            raise ValueError(msg)

    @property
    def base_url(self) -> str:
        """Return ``http://host:port``."""
        return base_url(self.host, self.port)

    async def request(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
    ) -> tuple[int, bytes]:
        """Send one request; return the status and the (bounded) body."""
        async with self._lock:
            if self.session is None:
                self.session = aiohttp.ClientSession()
                self._own_session = True
            if self._last_end is not None:
                wait = self._last_end + self.request_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            _LOGGER.debug("%s %s on %s", method, url.path, self.host)
            try:
                async with (
                    asyncio.timeout(self.request_timeout),
                    self.session.request(
                        method, url, headers=headers, data=data, allow_redirects=False
                    ) as response,
                ):
                    body = await read_body(
                        response, self.max_body_bytes, ChargerResponseError
                    )
                    status = response.status
            except TimeoutError:
                msg = f"Timeout after {self.request_timeout} s talking to {self.host}"
                raise ChargerTimeoutError(msg) from None
            except (aiohttp.ClientError, OSError) as err:
                # aiohttp puts the URL, and so any secret in it, into messages.
                detail = self.redact(f"{type(err).__name__}: {err}")
                msg = f"Error talking to {self.host}: {detail}"
                raise ChargerConnectionError(msg) from None
            finally:
                self._last_end = time.monotonic()
        _LOGGER.debug("%s %s on %s: HTTP %s", method, url.path, self.host, status)
        return status, body

    async def close(self) -> None:
        """Close the session if this transport opened it."""
        if self.session is not None and self._own_session:
            await self.session.close()
            self.session = None
            self._own_session = False

    async def __aenter__(self) -> Self:
        """Return the transport for ``async with``."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the session if this transport opened it."""
        await self.close()
