"""What every HTTP client of a charger shares: host names, URLs, bounded bodies."""

from collections.abc import Callable
import ipaddress
import re
from typing import Final

import aiohttp

__all__ = ["MAX_HOST_LENGTH", "base_url", "normalize_host", "read_body", "url_host"]

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
