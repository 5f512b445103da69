"""A Chargestorm's EVSEs controlled by capability, over the Modbus automation API.

Each EVSE (connector n) is one unit id of the CCU. The charging limit is the
only register written: a limit of 0 pauses, and resuming sets the last limit
again (or the most the charger accepts, if no limit was set). The CCU forgets
the limit when it restarts; :meth:`CtekModbusControl.refresh`, called
periodically, reads every limit back and writes a lost one again.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .control import Capabilities, ChargerControl, CurrentRange
from .ctek_modbus import CtekModbusClient, CtekModbusLimit
from .errors import CommandNotSupportedError
from .model import DEFAULT_MAX_CURRENT_A, MIN_CURRENT_A, Part

__all__ = ["CtekModbusControl"]


@dataclass(kw_only=True)
class CtekModbusControl(ChargerControl):
    """Current limit and pause/resume of the EVSEs that have a unit id."""

    client: CtekModbusClient
    units: Mapping[int, int]
    """Unit id of each connector number."""
    _limits: dict[int, CtekModbusLimit] = field(default_factory=dict, init=False)
    _resume_a: dict[int, int] = field(default_factory=dict, init=False)

    def _unit(self, connector: int) -> int:
        if (unit := self.units.get(connector)) is None:
            msg = f"EVSE {connector} has no Modbus unit id"
            raise CommandNotSupportedError(msg)
        return unit

    async def refresh(self) -> None:
        """Read every EVSE's limit, and write again one the CCU forgot."""
        for connector, unit in self.units.items():
            limit = await self.client.read_limit(unit)
            if restored := await self.client.restore_limit(unit, limit):
                limit = CtekModbusLimit(
                    limit_a=restored.limit_a,
                    max_assignment_a=restored.max_assignment_a,
                )
            self._keep(connector, limit)

    def _keep(self, connector: int, limit: CtekModbusLimit) -> None:
        self._limits[connector] = limit
        if limit.limit_a >= MIN_CURRENT_A:
            self._resume_a[connector] = limit.limit_a

    def with_limits(self, part: Part) -> Part:
        """Return the part with the limit last read over Modbus."""
        limit = self._limits.get(part.number)
        if part.connector is None or limit is None:
            return part
        return replace(
            part,
            connector=replace(
                part.connector,
                current_limit_a=float(limit.limit_a),
                max_current_a=float(limit.max_assignment_a),
                charging_enabled=limit.limit_a >= MIN_CURRENT_A,
            ),
        )

    def capabilities(self, part: Part) -> Capabilities:
        """Return a limit from 6 A to the maximum assignment, 0 pausing."""
        if part.number not in self.units:
            return Capabilities()
        limit = self._limits.get(part.number)
        return Capabilities(
            current_limit=CurrentRange(
                min_a=MIN_CURRENT_A,
                max_a=DEFAULT_MAX_CURRENT_A
                if limit is None
                else limit.max_assignment_a,
                zero_pauses=True,
            ),
            pause_resume=True,
        )

    async def set_current_limit(self, connector: int, amps: int) -> None:
        """Write the limit; 0 pauses."""
        written = await self.client.set_limit(self._unit(connector), amps)
        self._keep(
            connector,
            CtekModbusLimit(
                limit_a=written.limit_a, max_assignment_a=written.max_assignment_a
            ),
        )

    async def set_charging_enabled(self, connector: int, enabled: bool) -> None:  # noqa: FBT001
        """Pause with a limit of 0; resume with the last limit set."""
        amps = 0
        if enabled:
            limit = self._limits.get(connector)
            amps = self._resume_a.get(connector) or (
                DEFAULT_MAX_CURRENT_A if limit is None else limit.max_assignment_a
            )
        await self.set_current_limit(connector, amps)
