"""Each entity declares the fields it shows, and shows nothing else.

The coordinators call an entity only when a field it declares changed
(``reads``), so a field it reads without declaring it would leave it showing
an old value.
"""

from dataclasses import replace
from typing import Any

import pytest

from custom_components.evse_bridge import (
    binary_sensor,
    button,
    number,
    select,
    sensor,
    switch,
)
from custom_components.evse_bridge.api.model import (
    ALL_FIELDS,
    NO_PHASES,
    ConnectorState,
    ConnectorStatus,
    MeterReading,
    Part,
    changed_fields,
)
from custom_components.evse_bridge.backends import KINDS
from custom_components.evse_bridge.backends.base import ChargerBackend

DESCRIPTIONS = (
    *sensor.SENSORS,
    *(
        description
        for kind in KINDS.values()
        if isinstance(kind, ChargerBackend)
        for description in kind.sensors
    ),
    *binary_sensor.CONNECTOR_BINARY_SENSORS,
    number.CURRENT_LIMIT,
    *switch.SWITCHES,
    select.OPERATING_MODE,
    *button.BUTTONS,
)
# Every field has a value, so that taking one away shows who reads it.
FULL = Part(
    id="evse1",
    number=1,
    serial_number="272274U",
    meter=MeterReading(
        energy_wh=3105042,
        power_w=11012.4,
        current_a=(16.0, 15.9, 16.1),
        voltage_v=(230.1, 229.8, 231.0),
        frequency_hz=50.0,
    ),
    connector=ConnectorState(
        vendor_status="chrg",
        status=ConnectorStatus.CHARGING,
        vehicle_connected=True,
        charging=True,
        problem=False,
        offered_current_a=16,
        current_limit_a=16,
        min_current_a=6,
        max_current_a=32,
        charging_enabled=True,
        session_energy_wh=1200,
        session_duration_s=600,
        soc_percent=55,
        operating_mode="immediate",
        auto_start=True,
        phases=3,
        nominal_voltage_v=230,
    ),
)


def without(part: Part, field: str) -> Part:
    """Return the part with one field (``meter.power_w``) taken away."""
    group, _, name = field.rpartition(".")
    if not group:
        changes: dict[str, Any] = {name: None}
        return replace(part, **changes)
    inner = getattr(part, group)
    # Phases are never None, but unknown per phase.
    gone = NO_PHASES if isinstance(getattr(inner, name), tuple) else None
    return replace(part, **{group: replace(inner, **{name: gone})})


def shown(description: Any, part: Part) -> list[object]:
    """Return whether the entity exists, and what it shows, for a part."""
    values: list[object] = [description.exists_fn(part)]
    if isinstance(description, sensor.EvseBridgeSensorEntityDescription):
        return [*values, description.value_fn(part)]
    functions = (getattr(description, name, None) for name in ("value_fn", "is_on_fn"))
    return values + [function(part.connector) for function in functions if function]


@pytest.mark.parametrize("description", DESCRIPTIONS, ids=lambda d: d.key)
def test_declared_fields_are_all_it_reads(description: Any) -> None:
    """Taking away any field it does not declare changes nothing it shows."""
    reads = description.reads
    if reads is None:
        return  # updated on every change of its part
    assert reads <= ALL_FIELDS
    if len(reads) == 1:
        assert shown(description, without(FULL, *reads)) != shown(description, FULL)
    for field in ALL_FIELDS - reads:
        assert shown(description, without(FULL, field)) == shown(description, FULL)


def test_changed_fields() -> None:
    """A new part changes everything; otherwise the fields that differ."""
    assert changed_fields(None, FULL) == ALL_FIELDS
    assert changed_fields(FULL, FULL) == set()
    assert FULL.meter is not None
    assert changed_fields(FULL, replace(FULL, meter=replace(FULL.meter))) == set()
    for field in ALL_FIELDS:
        assert changed_fields(FULL, without(FULL, field)) == {field}
    no_meter = replace(FULL, meter=None)
    assert changed_fields(no_meter, FULL) == {
        field for field in ALL_FIELDS if field.startswith("meter.")
    }
