"""The errors every protocol client raises, whatever the charger."""

__all__ = [
    "ChargerAuthenticationError",
    "ChargerCommandError",
    "ChargerConnectionError",
    "ChargerError",
    "ChargerRefusedError",
    "ChargerResponseError",
    "ChargerTimeoutError",
    "CommandNotSupportedError",
]


class ChargerError(Exception):
    """A charger could not be read or did not do what was asked."""


class ChargerConnectionError(ChargerError):
    """The charger could not be reached (refused, unreachable, reset)."""


class ChargerTimeoutError(ChargerConnectionError):
    """The charger did not answer in time."""


class ChargerResponseError(ChargerError):
    """The charger answered, but not with what was expected."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        """Keep the protocol's own error code (HTTP status, Modbus exception)."""
        super().__init__(message)
        self.code = code


class ChargerAuthenticationError(ChargerResponseError):
    """The charger refused the credentials (password, PIN)."""


class ChargerCommandError(ChargerError):
    """The charger accepted a command but did not carry it out."""


class CommandNotSupportedError(ChargerError):
    """The charger has no such capability."""


class ChargerRefusedError(ChargerCommandError):
    """The charger refused a command (it answered Rejected or the like)."""
