"""How the central system treats charge points: intervals, limits, policies."""

from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_MEASURANDS", "MAX_CONNECTORS", "OcppSettings"]

MAX_CONNECTORS: Final = 32
"""Connectors kept per charge point: far above any wallbox; a higher connector
id is refused, so a charge point cannot grow its state without bound."""
DEFAULT_MEASURANDS: Final = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
    "Voltage",
    "Current.Offered",
    "SoC",
)
"""What the neutral model shows, asked for in MeterValuesSampledData."""
MAX_ID_TAG_CHARS: Final = 20
"""IdToken is a CiString20."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OcppSettings:
    """Settings of the central system; the defaults suit a home."""

    heartbeat_interval_s: int = 300
    """Told to accepted charge points; websocket pings keep the line alive."""
    retry_interval_s: int = 60
    """Told to pending and rejected charge points: when to boot again."""
    response_timeout_s: float = 30.0
    """How long a call waits for the charge point's answer."""
    verify_timeout_s: float = 30.0
    """How long a command waits for the charge point to show its effect."""
    id_tags: frozenset[str] | None = None
    """Id tags accepted (case-insensitive); None accepts every tag."""
    remote_id_tag: str = "EVSEBridge"
    """The id tag of sessions started from Home Assistant."""
    configure_meter_values: bool = True
    """Set MeterValueSampleInterval and MeterValuesSampledData on the charge
    point after it is accepted (some chargers misbehave when asked for many
    measurands: turn this off for them)."""
    meter_sample_interval_s: int = 60
    measurands: tuple[str, ...] = DEFAULT_MEASURANDS
    stack_level: int | None = None
    """Stack level of the current limit profile; None takes the charge point's
    ChargeProfileMaxStackLevel, so the limit wins over its own profiles."""

    def __post_init__(self) -> None:
        """Refuse settings a charge point could not be given."""
        if self.heartbeat_interval_s <= 0 or self.retry_interval_s <= 0:
            msg = "Intervals must be positive"
            raise ValueError(msg)
        if self.response_timeout_s <= 0 or self.verify_timeout_s <= 0:
            msg = "Time-outs must be positive"
            raise ValueError(msg)
        if not 0 < len(self.remote_id_tag) <= MAX_ID_TAG_CHARS:
            msg = f"The id tag must be 1-{MAX_ID_TAG_CHARS} characters"
            raise ValueError(msg)
        if self.stack_level is not None and self.stack_level < 0:
            msg = "The stack level must be 0 or more"
            raise ValueError(msg)

    def accepts(self, id_tag: str) -> bool:
        """Return whether an id tag may charge."""
        if self.id_tags is None:
            return True
        return id_tag.casefold() in {tag.casefold() for tag in self.id_tags}
