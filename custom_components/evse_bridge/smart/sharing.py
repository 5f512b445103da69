"""Several chargers on one fuse: who gets how much of the headroom.

Per phase, in order of priority (a charger that is already running goes before
an idle one of the same priority, so two equal chargers do not take turns):
first every charger that wants current gets its minimum on the phases it
uses, if that fits (a charger that can switch phases tries one phase before it
gives up); then the rest goes, in the same order, up to what each wants.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from .model import ChargerConfig, Phases


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One charger's wish for this call."""

    config: ChargerConfig
    want_a: float
    """0 = does not want to charge now."""
    phases: int
    running: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """What one charger may take."""

    current_a: float
    """May take up to this (0 = pause); not yet rounded."""
    allowance_a: float
    """What the fuse would allow it, were it to want more."""
    phases: int
    binding_phase: int
    """The phase with the least room for it."""


def used_phases(config: ChargerConfig, phases: int) -> tuple[int, ...]:
    """Grid phases a charger draws from with ``phases`` active."""
    return (0, 1, 2) if phases == 3 else (config.grid_phase,)  # noqa: PLR2004


def _tightest(room: list[float], phases: tuple[int, ...]) -> int:
    return min(phases, key=lambda phase: room[phase])


def share(  # noqa: C901 - three passes over the claims
    headroom: Phases, claims: Sequence[Claim]
) -> dict[str, Grant]:
    """Split ``headroom`` between ``claims``."""
    room = list(headroom)
    order = sorted(
        claims,
        key=lambda claim: (-claim.config.priority, not claim.running, claim.config.id),
    )
    minimum: dict[str, tuple[float, int]] = {}
    for claim in order:
        if claim.want_a <= 0:
            continue
        options = [claim.phases]
        if claim.config.can_switch_phases and claim.phases == 3:  # noqa: PLR2004
            options.append(1)
        for phases in options:
            used = used_phases(claim.config, phases)
            if all(room[phase] >= claim.config.min_current_a for phase in used):
                for phase in used:
                    room[phase] -= claim.config.min_current_a
                minimum[claim.config.id] = (claim.config.min_current_a, phases)
                break
    grants: dict[str, Grant] = {}
    for claim in order:
        charger_id = claim.config.id
        if charger_id not in minimum:
            continue
        given, phases = minimum[charger_id]
        used = used_phases(claim.config, phases)
        tightest = _tightest(room, used)
        allowance = given + room[tightest]
        extra = max(min(claim.want_a, claim.config.max_current_a) - given, 0.0)
        extra = min(extra, room[tightest])
        for phase in used:
            room[phase] -= extra
        grants[charger_id] = Grant(
            current_a=given + extra,
            allowance_a=allowance,
            phases=phases,
            binding_phase=tightest,
        )
    for claim in order:
        charger_id = claim.config.id
        if charger_id in grants:
            continue
        used = used_phases(claim.config, claim.phases)
        tightest = _tightest(room, used)
        grants[charger_id] = Grant(
            current_a=0.0,
            allowance_a=max(room[tightest], 0.0),
            phases=claim.phases,
            binding_phase=tightest,
        )
    return grants
