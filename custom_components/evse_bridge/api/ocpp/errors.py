"""The one exception hierarchy of the OCPP central system.

Nothing else leaves the package: the ocpp library's exceptions, aiohttp's and
time-outs are turned into these, with messages fit to show a user.
"""

__all__ = [
    "OcppCallError",
    "OcppCommandError",
    "OcppConnectionError",
    "OcppError",
    "OcppRejectedError",
    "OcppStoreError",
    "OcppTimeoutError",
]


class OcppError(Exception):
    """Base class for every error of this package."""


class OcppConnectionError(OcppError):
    """The charge point is not connected (or not accepted), or it went away."""


class OcppTimeoutError(OcppConnectionError):
    """The charge point did not answer a call in time."""


class OcppCallError(OcppError):
    """The charge point answered a call with a CALLERROR, or with an invalid answer."""

    def __init__(self, message: str, *, code: str) -> None:
        """Keep the OCPP error code (such as ``NotSupported``)."""
        super().__init__(message)
        self.code = code


class OcppRejectedError(OcppError):
    """The charge point refused a command (``Rejected``, ``NotSupported``, ...)."""

    def __init__(self, message: str, *, status: str) -> None:
        """Keep the status the charge point answered."""
        super().__init__(message)
        self.status = status


class OcppCommandError(OcppError):
    """The charge point accepted a command, but reading back shows no effect."""


class OcppStoreError(OcppError):
    """The transaction store could not save: no transaction id can be promised."""
