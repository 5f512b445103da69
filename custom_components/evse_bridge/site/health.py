"""Repairs for the meter: a sensor that is gone, unavailable or too slow."""

from collections import deque

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from .const import SLOW_INTERVAL, SLOW_WINDOW, STARTUP_GRACE
from .meter import usable


class MeterHealth:
    """Watches each meter sensor and keeps one repair issue per problem.

    A sensor is slow when its reports over the last SLOW_WINDOW intervals
    came more than SLOW_INTERVAL apart on average, or when it has said nothing
    for longer than that window; either clears once it reports fast again.
    Nothing is raised in the first STARTUP_GRACE, while other integrations
    are still starting.
    """

    def __init__(
        self, hass: HomeAssistant, entry_id: str, entities: tuple[str, ...]
    ) -> None:
        """Watch ``entities`` for the site entry ``entry_id``, from now on."""
        self._hass = hass
        self._since = dt_util.utcnow().timestamp()
        self._entry_id = entry_id
        self._reports: dict[str, deque[float]] = {
            entity_id: deque(maxlen=SLOW_WINDOW + 1) for entity_id in entities
        }
        self._open: set[str] = set()

    def reported(self, entity_id: str, at: float) -> None:
        """Note a report (a state change or the same state written again)."""
        if (reports := self._reports.get(entity_id)) is not None:
            reports.append(at)

    def check(self, now: float) -> None:
        """Open or close the issues of every sensor."""
        if now - self._since < STARTUP_GRACE.total_seconds():
            return
        limit = SLOW_INTERVAL.total_seconds()
        for entity_id, reports in self._reports.items():
            state = self._hass.states.get(entity_id)
            missing = not usable(state)
            if state is not None and not reports:
                reports.append(state.last_reported_timestamp)
            self._set("meter_unavailable", entity_id, active=missing, state=state)
            silent = bool(reports) and now - reports[-1] > limit * SLOW_WINDOW
            slow = len(reports) > 2 and (  # noqa: PLR2004 - two intervals at least
                (reports[-1] - reports[0]) / (len(reports) - 1) > limit
            )
            self._set(
                "meter_slow",
                entity_id,
                active=not missing and (silent or slow),
                state=state,
            )

    def clear(self) -> None:
        """Remove every issue of the site (at unload)."""
        for issue_id in self._open:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
        self._open.clear()

    def _set(
        self, key: str, entity_id: str, *, active: bool, state: State | None
    ) -> None:
        issue_id = f"{key}_{self._entry_id}_{entity_id}"
        if active and issue_id not in self._open:
            self._open.add(issue_id)
            name = state.name if state is not None else entity_id
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=key,
                translation_placeholders={"entity_id": entity_id, "name": name},
            )
        elif not active and issue_id in self._open:
            self._open.discard(issue_id)
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
