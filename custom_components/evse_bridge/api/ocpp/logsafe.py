"""Log lines that nothing from the websocket can flood or forge.

Text a charge point sends (ids, actions, error descriptions, whole frames) is
shown escaped and clipped; a problem is logged once per charge point and kind,
and the ocpp library's own per-message logging goes to debug, escaped too.
"""

from collections.abc import Hashable
import logging
from typing import Final

__all__ = ["LibraryLogger", "OnceLog", "clip"]

MAX_SHOWN_CHARS: Final = 120
"""Enough to recognise a frame or an id in a log; a frame may be 64 KiB."""
MAX_REMEMBERED: Final = 64
"""Kinds of problem remembered per charge point; the kinds are a fixed set of
the code's own, so this is a guard, not a limit reached in use."""


def clip(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """Return a value from the wire as an escaped, quoted, bounded string."""
    text = value if isinstance(value, str | bytes) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


class OnceLog:
    """Logs each kind of problem once; repeats go to debug."""

    def __init__(self, logger: logging.Logger) -> None:
        """Log through ``logger``."""
        self._logger = logger
        self._seen: set[Hashable] = set()

    def log(self, level: int, kind: Hashable, message: str, *args: object) -> None:
        """Log ``message`` at ``level`` the first time ``kind`` happens."""
        if kind in self._seen or len(self._seen) >= MAX_REMEMBERED:
            self._logger.debug(message, *args)
            return
        self._seen.add(kind)
        self._logger.log(level, message, *args)


class LibraryLogger:
    """The logger handed to the ocpp library.

    The library logs every frame at info level and a traceback for every bad
    request, with the frame's text as it came. Here every line goes to debug,
    with its arguments escaped and clipped and without traceback: what a user
    needs to know is logged once, elsewhere.
    """

    def __init__(self, logger: logging.Logger) -> None:
        """Log through ``logger``."""
        self._logger = logger

    def _debug(self, message: str, *args: object) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._logger.debug(message, *(clip(arg) for arg in args))

    def info(self, message: str, *args: object) -> None:
        """Log a frame sent or received."""
        self._debug(message, *args)

    def warning(self, message: str, *args: object) -> None:
        """Log a CALLERROR received."""
        self._debug(message, *args)

    def error(self, message: str, *args: object) -> None:
        """Log an answer nobody waited for."""
        self._debug(message, *args)

    def exception(self, message: str, *args: object) -> None:
        """Log a request that failed, without the traceback."""
        self._debug(message, *args)
