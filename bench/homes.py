"""The Home Assistant configurations the benchmarks compare."""

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
import json
from pathlib import Path
from typing import Any

from bench.tools import (
    BENCH_COMPONENTS,
    CACHE,
    EVSES,
    INTEGRATIONS,
    METERS,
    BenchHomeAssistant,
)
from devtools.live import free_port

FLOOR = BENCH_COMPONENTS / "bench_floor"
PROBE = BENCH_COMPONENTS / "bench_probe"

# The YAML owners write today (QUALITY.md P1 (a)): one MQTT sensor with a
# value_template per value. Per meter: energy, power, three currents, three
# voltages; per EVSE: state and assigned current.
_METER_SENSORS = (
    (
        "Energy",
        "{{ value_json['energy'] | multiply(0.001) | round(3) | float }}",
        "kWh",
        "energy",
        "total_increasing",
    ),
    ("Power", "{{ value_json['power'] | round(1) }}", "W", "power", "measurement"),
    *(
        (
            f"{quantity} L{phase + 1}",
            f"{{{{ value_json['{key}'][{phase}] | round({digits}) }}}}",
            unit,
            quantity.lower(),
            "measurement",
        )
        for phase in range(3)
        for quantity, key, digits, unit in (
            ("Current", "current", 2, "A"),
            ("Voltage", "voltage", 1, "V"),
        )
    ),
)


def yaml_baseline(base_topic: str, charger_id: str) -> str:
    """Return the ``mqtt: sensor:`` YAML of one CTEK charger's values."""
    lines = ["mqtt:", "  sensor:"]

    def sensor(
        name: str, topic: str, template: str, unit: str | None, device_class: str | None
    ) -> None:
        lines.extend(
            [
                f'    - name: "{name}"',
                f'      state_topic: "{topic}"',
                f'      value_template: "{template}"',
            ]
        )
        if unit:
            lines.append(f'      unit_of_measurement: "{unit}"')
        if device_class:
            lines.append(f"      device_class: {device_class}")

    for part in METERS:
        topic = f"{base_topic}/{charger_id}/{part}/em"
        for name, template, unit, device_class, state_class in _METER_SENSORS:
            sensor(f"{part} {name}", topic, template, unit, device_class)
            lines.append(f"      state_class: {state_class}")
    for part in EVSES:
        topic = f"{base_topic}/{charger_id}/{part}/status"
        sensor(f"{part} State", topic, "{{ value_json.state }}", None, None)
        sensor(f"{part} Assigned", topic, "{{ value_json.assigned }}", "A", "current")
        lines.append("      state_class: measurement")
    return "\n".join(lines) + "\n"


def yaml_sensor_count() -> int:
    """Return how many YAML sensors yaml_baseline writes."""
    return len(METERS) * len(_METER_SENSORS) + 2 * len(EVSES)


def home(
    name: str,
    *,
    components: Iterable[Path] = (),
    extra_yaml: str = "",
    cores: set[int] | None = None,
) -> BenchHomeAssistant:
    """Return a Home Assistant with a reusable folder under .cache/bench."""
    home_assistant = BenchHomeAssistant(
        CACHE / name,
        port=free_port(),
        integrations=INTEGRATIONS,
        extra_yaml=extra_yaml + "bench_probe:\n",
        custom_components=[PROBE, *components],
        logs={"homeassistant.bootstrap": "info"},
        cores=cores,
    )
    home_assistant.write_configuration()
    return home_assistant


def start_all(stack: ExitStack, homes: Iterable[BenchHomeAssistant]) -> None:
    """Start Home Assistants in parallel; the stack stops them."""
    homes = list(homes)
    for home_assistant in homes:
        stack.callback(home_assistant.stop)
    with ThreadPoolExecutor(len(homes)) as pool:
        for future in [pool.submit(item.start) for item in homes]:
            future.result()


def entity_registry(home_assistant: BenchHomeAssistant) -> list[dict[str, Any]]:
    """Return the stored entity registry's entities (empty if none yet)."""
    path = home_assistant.config_dir / ".storage" / "core.entity_registry"
    if not path.exists():
        return []
    entities: list[dict[str, Any]] = json.loads(path.read_text())["data"]["entities"]
    return entities


def enable_all_entities(home_assistant: BenchHomeAssistant, entry_id: str) -> int:
    """Enable every entity of a config entry that its integration disabled.

    Home Assistant must be stopped (it owns the file while it runs). Return
    how many entities were enabled.
    """
    path = home_assistant.config_dir / ".storage" / "core.entity_registry"
    document = json.loads(path.read_text())
    enabled = 0
    for entity in document["data"]["entities"]:
        if entity["config_entry_id"] == entry_id and entity["disabled_by"]:
            entity["disabled_by"] = None
            enabled += 1
    path.write_text(json.dumps(document))
    return enabled


def forget_energy(home_assistant: BenchHomeAssistant) -> None:
    """Delete the energy totals EVSE Bridge stored in an earlier run.

    Every run's streams start at the same meter readings. Kept from a run
    before, the higher totals would make the energy guard hold every new
    reading as a glitch, and EVSE Bridge would write one state a message
    fewer than the floors it is compared with. The restore data goes too:
    without stored totals, the guard starts from the sensor's last state.
    """
    storage = home_assistant.config_dir / ".storage"
    for path in [*storage.glob("evse_bridge.*.energy"), storage / "core.restore_state"]:
        path.unlink(missing_ok=True)
