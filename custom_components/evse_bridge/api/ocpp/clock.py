"""OCPP time stamps, and the clock they are compared with."""

from datetime import UTC, datetime

__all__ = ["ocpp_datetime", "parse_timestamp", "utc_now"]


def utc_now() -> datetime:
    """Return the current time."""
    return datetime.now(UTC)


def ocpp_datetime(when: datetime) -> str:
    """Return a time as OCPP writes it: ISO 8601 in UTC, with a Z."""
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_timestamp(text: object) -> datetime | None:
    """Return an OCPP date-time as an aware datetime, or None if it is not one.

    A time without a zone is taken as UTC, the zone OCPP prescribes.
    """
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
