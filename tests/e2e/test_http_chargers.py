"""End to end: Home Assistant over real HTTP on 127.0.0.1 to simulated chargers.

Each test adds the charger through the config flow, as a user would, then
reads, controls and breaks it through the simulator.
"""

from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.evse_bridge.coordinator import PolledCoordinator
from simulators.circontrol import CircontrolSimulator
from simulators.mennekes import MennekesSimulator

from .conftest import PIN

MENNEKES = "amtron_1234567890_connector_1"


@pytest.fixture(autouse=True)
def fast_failures() -> Any:
    """Give up on a silent charger quickly, so fault tests stay short."""
    with (
        patch(
            "custom_components.evse_bridge.backends.circontrol.HTTP_TIMEOUT",
            timedelta(seconds=1),
        ),
        patch(
            "custom_components.evse_bridge.backends.mennekes.HTTP_TIMEOUT",
            timedelta(seconds=1),
        ),
    ):
        yield


@pytest.fixture
async def circontrol(socket_enabled: None) -> AsyncGenerator[CircontrolSimulator]:
    """Serve a CirCarLife wallbox with one plug and a car connected."""
    async with CircontrolSimulator(plugged_in=True) as simulator:
        yield simulator


async def add_charger(
    hass: HomeAssistant, vendor: str, user_input: dict[str, Any]
) -> ConfigEntry:
    """Add a charger through the config flow, as in Settings > Add integration."""
    result = await hass.config_entries.flow.async_init(
        "evse_bridge", context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": vendor}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def poll(entry: ConfigEntry) -> None:
    """Poll now instead of waiting for the interval."""
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, PolledCoordinator)
    await coordinator.async_refresh()


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_mennekes_current_limit_pause_and_energy(
    hass: HomeAssistant, mennekes: MennekesSimulator
) -> None:
    """A new current limit changes the box's power; pause and resume work."""
    entry = await add_charger(
        hass, "mennekes", {"host": "127.0.0.1", "port": mennekes.port, "pin": PIN}
    )
    power = f"sensor.{MENNEKES}_power"
    assert float(state(hass, power)) == 3 * 230 * 16

    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": f"number.{MENNEKES}_current_limit", "value": 10},
        blocking=True,
    )
    assert mennekes.remote_current == 10
    assert float(state(hass, power)) == 3 * 230 * 10
    assert float(state(hass, f"number.{MENNEKES}_current_limit")) == 10

    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": f"switch.{MENNEKES}_charging_enabled"},
        blocking=True,
    )
    assert state(hass, f"sensor.{MENNEKES}_status") == "suspended_evse"
    assert state(hass, f"binary_sensor.{MENNEKES}_charging") == "off"
    assert float(state(hass, power)) == 0
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": f"switch.{MENNEKES}_charging_enabled"},
        blocking=True,
    )
    assert state(hass, f"sensor.{MENNEKES}_status") == "charging"

    mennekes.advance(6)  # seconds of charging at 6.9 kW
    await poll(entry)
    energy = float(state(hass, f"sensor.{MENNEKES}_energy"))
    # The box reports whole Wh.
    assert energy == pytest.approx(3 * 230 * 10 * 6 / 3600 / 1000, abs=0.001)
    assert float(state(hass, f"sensor.{MENNEKES}_session_energy")) == pytest.approx(
        energy
    )


async def test_mennekes_refused_command_and_faults(
    hass: HomeAssistant, mennekes: MennekesSimulator
) -> None:
    """A command the box ignores is an error; faults make entities unavailable."""
    entry = await add_charger(
        hass, "mennekes", {"host": "127.0.0.1", "port": mennekes.port, "pin": PIN}
    )
    limit = f"number.{MENNEKES}_current_limit"
    mennekes.faults.refuse_commands = True
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": limit, "value": 8}, blocking=True
        )
    assert raised.value.translation_key == "command_not_applied"
    assert state(hass, limit) != "8.0"
    mennekes.faults.clear()

    for fault in ("status", "malformed", "timeout"):
        if fault == "status":
            mennekes.faults.status = 500
        else:
            setattr(mennekes.faults, fault, True)
        await poll(entry)
        assert state(hass, f"sensor.{MENNEKES}_power") == STATE_UNAVAILABLE, fault
        mennekes.faults.clear()
        await poll(entry)
        assert state(hass, f"sensor.{MENNEKES}_power") != STATE_UNAVAILABLE, fault


async def test_mennekes_changed_pin_starts_reauthentication(
    hass: HomeAssistant, mennekes: MennekesSimulator
) -> None:
    """When the box refuses the PIN (403), the user is asked for it again."""
    entry = await add_charger(
        hass, "mennekes", {"host": "127.0.0.1", "port": mennekes.port, "pin": PIN}
    )
    mennekes.dev_key = "9999"
    await poll(entry)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler("evse_bridge")
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"pin": "9999"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["pin"] == "9999"
    assert state(hass, f"sensor.{MENNEKES}_power") != STATE_UNAVAILABLE


async def test_mennekes_wrong_pin_in_the_form(
    hass: HomeAssistant, mennekes: MennekesSimulator
) -> None:
    """A wrong PIN is shown on the PIN field, translated."""
    result = await hass.config_entries.flow.async_init(
        "evse_bridge", context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "mennekes"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": mennekes.port, "pin": "0000"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"pin": "invalid_auth"}


async def test_circontrol_control_and_faults(
    hass: HomeAssistant, circontrol: CircontrolSimulator
) -> None:
    """Start, limit, disable and stop a CirCarLife; recover from faults."""
    entry = await add_charger(
        hass, "circontrol", {"host": "127.0.0.1", "port": circontrol.port}
    )
    plug = next(
        entity_id
        for entity_id in hass.states.async_entity_ids("sensor")
        if entity_id.endswith("_plug_1_power")
    ).removesuffix("_power")
    suffix = plug.removeprefix("sensor.")

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": f"button.{suffix}_start_charging"},
        blocking=True,
    )
    assert state(hass, f"{plug}_status") == "charging"
    assert float(state(hass, f"{plug}_power")) == 230 * 32

    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": f"number.{suffix}_current_limit", "value": 16},
        blocking=True,
    )
    assert float(state(hass, f"{plug}_power")) == 230 * 16

    circontrol.advance(10)  # seconds of charging at 3.68 kW
    await poll(entry)
    assert float(state(hass, f"{plug}_energy")) == pytest.approx(
        4855.39 + 0.0102, abs=1e-4
    )

    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": f"switch.{suffix}_charging_enabled"},
        blocking=True,
    )
    assert circontrol.plug(1).out_of_service
    assert state(hass, f"switch.{suffix}_charging_enabled") == "off"
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": f"switch.{suffix}_charging_enabled"},
        blocking=True,
    )
    assert state(hass, f"{plug}_status") == "charging"

    for fault in ("invalid_xml", "entity_bomb", "timeout", "status"):
        if fault == "status":
            circontrol.faults.status = 500
        else:
            setattr(circontrol.faults, fault, True)
        await poll(entry)
        assert state(hass, f"{plug}_power") == STATE_UNAVAILABLE, fault
        circontrol.faults.clear()
        await poll(entry)
        assert state(hass, f"{plug}_power") != STATE_UNAVAILABLE, fault

    circontrol.faults.mismatched_case_tags = True
    await poll(entry)
    assert state(hass, f"{plug}_power") != STATE_UNAVAILABLE


async def test_circontrol_charging_switch_off_then_on_charges_again(
    hass: HomeAssistant, circontrol: CircontrolSimulator
) -> None:
    """Out of service ends the session; the Charging switch back on starts a new one."""
    entry = await add_charger(
        hass, "circontrol", {"host": "127.0.0.1", "port": circontrol.port}
    )
    (power,) = [
        entity_id
        for entity_id in hass.states.async_entity_ids("sensor")
        if entity_id.endswith("_plug_1_power")
    ]
    plug = power.removesuffix("_power")
    switch = plug.replace("sensor.", "switch.", 1) + "_charging_enabled"
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": plug.replace("sensor.", "button.", 1) + "_start_charging"},
        blocking=True,
    )
    assert state(hass, f"{plug}_status") == "charging"

    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    assert state(hass, switch) == "off"
    assert float(state(hass, power)) == 0
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": switch}, blocking=True
    )
    assert state(hass, switch) == "on"
    assert state(hass, f"{plug}_status") == "charging"
    assert float(state(hass, power)) == 230 * 32
    circontrol.advance(60)  # a minute of charging at 7.36 kW
    await poll(entry)
    assert float(state(hass, f"{plug}_session_energy")) == pytest.approx(
        230 * 32 / 60 / 1000, abs=1e-3
    )

    # A box that will not start remotely: the switch reports the failure.
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": switch}, blocking=True
    )
    circontrol.faults.refuse_remote_start = True
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": switch}, blocking=True
        )
    assert raised.value.translation_key == "command_not_applied"
    assert state(hass, f"{plug}_status") != "charging"


async def test_circontrol_without_information_xml(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """A wallbox without system/information.xml is added by its serial number."""
    async with CircontrolSimulator(serial_number="CCL-0042") as circontrol:
        circontrol.faults.missing_information = True
        entry = await add_charger(
            hass, "circontrol", {"host": "127.0.0.1", "port": circontrol.port}
        )
        assert entry.unique_id == "CCL-0042"
        assert entry.title == "CirCarLife CCL-0042"
        await hass.config_entries.async_unload(entry.entry_id)
