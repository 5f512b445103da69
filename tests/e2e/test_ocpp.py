"""End to end: Home Assistant's OCPP server and simulated charge points on 127.0.0.1.

The server is added through the config flow as a user would; the simulated
charge point runs as its own process (``python -m simulators.ocpp``), is
accepted through its discovery flow, reports meters and follows a limit set
from the number entity; it is taken out of service and restarted from the
switch and the button, and comes back on the same device. Bad frames from a
charge point never put a traceback in Home Assistant's log.
"""

from collections.abc import Iterator
from contextlib import contextmanager
import logging
from pathlib import Path
import subprocess
import sys

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest

from custom_components.evse_bridge.const import DOMAIN
from simulators.ocpp import OcppSimulator
from tests.ocpp_ha import SERVER_OPTIONS, accept_flow, central, free_port, url, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROOT = Path(__file__).parents[2]


async def add_server_as_user(hass: HomeAssistant) -> None:
    """Add the OCPP server through Settings > Add integration."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp_server"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**SERVER_OPTIONS, "port": free_port()}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    central(hass).server.ping_interval_s = None  # see ocpp_ha.add_server


@contextmanager
def charge_point_process(hass: HomeAssistant) -> Iterator[subprocess.Popen[bytes]]:
    """Run the simulated charge point in its own process, a car plugged in."""
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "simulators.ocpp",
            "--url",
            url(hass),
            "--plugged-in",
            "--interval",
            "1",
            "--retry",
            "0.5",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return an entity's state, None while it has none."""
    found = hass.states.get(entity_id)
    return None if found is None else found.state


def value(hass: HomeAssistant, entity_id: str) -> float | None:
    """Return an entity's number, None while it has none."""
    state = hass.states.get(entity_id)
    if state is None or state.state in {STATE_UNAVAILABLE, "unknown"}:
        return None
    return float(state.state)


async def test_charge_point_accepted_metered_and_limited(hass: HomeAssistant) -> None:
    """Accepted in the UI, it fills its entities and follows the limit set there."""
    await add_server_as_user(hass)
    with charge_point_process(hass):
        entry = await accept_flow(hass)

        def charging_at_full_power() -> bool:
            return value(hass, "sensor.cp1_connector_1_power") == 3 * 230 * 16

        def energy_shown() -> bool:
            return (value(hass, "sensor.cp1_connector_1_energy") or 0) > 0

        await wait_for(charging_at_full_power)
        await wait_for(energy_shown)
        energy = hass.states.get("sensor.cp1_connector_1_energy")
        assert energy is not None
        assert energy.attributes["unit_of_measurement"] == "kWh"
        assert energy.attributes["state_class"] == "total_increasing"

        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": "number.cp1_connector_1_current_limit", "value": 8},
            blocking=True,
        )

        def follows_limit() -> bool:
            return value(hass, "sensor.cp1_connector_1_power") == 3 * 230 * 8

        await wait_for(follows_limit)
        assert value(hass, "number.cp1_connector_1_current_limit") == 8
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)

    def unavailable() -> bool:
        state = hass.states.get("sensor.cp1_connector_1_power")
        return state is not None and state.state == STATE_UNAVAILABLE

    await wait_for(unavailable)
    # The charge point comes back: the same device, its entities available.
    with charge_point_process(hass):

        def back() -> bool:
            return value(hass, "sensor.cp1_connector_1_power") is not None

        await wait_for(back)
    assert (
        dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id) == devices
    )


async def test_bad_frames_leave_no_traceback(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage, unknown actions and schema violations get CALLERRORs, quietly."""
    await add_server_as_user(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept_flow(hass)

        def accepted() -> bool:
            return sim.registration == "Accepted"

        await wait_for(accepted)
        with caplog.at_level(logging.DEBUG):
            await sim.send_raw("this is not json")
            await sim.send_raw(b"\x00\xff binary")
            unknown = await sim.send_call("FlyToTheMoon", {})
            invalid = await sim.send_call(
                "MeterValues", {"connectorId": "one", "meterValue": []}
            )
            assert await sim.boot() == "Accepted"
        assert unknown[0] == 4
        assert unknown[2] == "NotImplemented"
        assert invalid[0] == 4
        assert invalid[2] in {
            "FormationViolation",
            "PropertyConstraintViolation",
            "TypeConstraintViolation",
            "OccurrenceConstraintViolation",
        }
        # Home Assistant's side only: the simulator logs the answers to its
        # raw frames as unexpected.
        ours = [r for r in caplog.records if not r.name.startswith("simulators")]
        assert not [record for record in ours if record.exc_info]
        assert not [record for record in ours if record.levelno >= logging.ERROR]


async def test_out_of_service_and_restart(hass: HomeAssistant) -> None:
    """The switch takes the charge point out of service; Restart reboots it.

    It comes back on the same device, still out of service, as OCPP requires.
    """
    await add_server_as_user(hass)
    with charge_point_process(hass):
        entry = await accept_flow(hass)

        def charging() -> bool:
            return state(hass, "sensor.cp1_connector_1_status") == "charging"

        await wait_for(charging)
        await hass.services.async_call(
            "button",
            "press",
            {"entity_id": "button.cp1_connector_1_stop_charging"},
            blocking=True,
        )
        await hass.services.async_call(
            "switch",
            "turn_off",
            {"entity_id": "switch.cp1_connector_1_available"},
            blocking=True,
        )
        assert state(hass, "switch.cp1_connector_1_available") == STATE_OFF
        assert state(hass, "sensor.cp1_connector_1_status") == "unavailable"
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)

        charge_point = central(hass).server.charge_points["CP1"]
        boots = charge_point.boots
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.cp1_restart"}, blocking=True
        )

        def rebooted() -> bool:
            return charge_point.boots > boots and (
                state(hass, "switch.cp1_connector_1_available") == STATE_OFF
            )

        await wait_for(rebooted)
        assert (
            dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
            == devices
        )
        await hass.services.async_call(
            "switch",
            "turn_on",
            {"entity_id": "switch.cp1_connector_1_available"},
            blocking=True,
        )
        assert state(hass, "switch.cp1_connector_1_available") == STATE_ON
