"""The OCPP server in Home Assistant with the simulated charge point over 127.0.0.1.

The charge point connects, is accepted through its discovery flow, and then
shows its meters and obeys the entities.
"""

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest

from custom_components.evse_bridge.const import DOMAIN
from custom_components.evse_bridge.hub import async_get_hub
from simulators.ocpp import OcppSimulator

from .ocpp_ha import accept, add_server, central, entity_id, url, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

CP = "ocpp:CP1"


def state(hass: HomeAssistant, unique_id: str, platform: str = "sensor") -> str:
    """Return the state of one of the charger's entities."""
    found = hass.states.get(entity_id(hass, unique_id, platform))
    assert found is not None
    return found.state


async def test_accepted_charge_point_shows_meters_and_obeys(
    hass: HomeAssistant,
) -> None:
    """Accepted, it reports energy in kWh and follows limit, pause and sessions."""
    await add_server(hass)
    async with OcppSimulator(url(hass), serial_number="SN-1") as sim:
        assert await sim.boot() == "Pending"
        await accept(hass, sim)
        await sim.plug_in()
        for _ in range(3):  # a little at a time: the energy guard takes no jumps
            await sim.tick(10)

        def metered() -> bool:
            energy = hass.states.get("sensor.cp1_connector_1_energy")
            return energy is not None and float(energy.state) == pytest.approx(
                sim.connectors[1].energy_wh / 1000, abs=0.01
            )

        await wait_for(metered)
        energy = hass.states.get(entity_id(hass, f"{CP}_connector1_energy"))
        assert energy is not None
        assert energy.attributes["unit_of_measurement"] == "kWh"
        assert state(hass, f"{CP}_connector1_status") == "charging"
        assert float(state(hass, f"{CP}_connector1_power")) == pytest.approx(
            3 * 230 * 16, rel=0.01
        )

        limit = entity_id(hass, f"{CP}_connector1_current_limit", "number")
        await hass.services.async_call(
            "number", "set_value", {"entity_id": limit, "value": 10}, blocking=True
        )
        assert sim.limit_a(1) == 10
        await sim.tick(10)

        def follows_limit() -> bool:
            power = hass.states.get("sensor.cp1_connector_1_power")
            return power is not None and float(power.state) == pytest.approx(
                3 * 230 * 10
            )

        await wait_for(follows_limit)
        assert hass.states.get(limit).state == "10.0"

        switch = entity_id(hass, f"{CP}_connector1_charging_enabled", "switch")
        assert hass.states.get(switch).state == STATE_ON
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": switch}, blocking=True
        )
        assert hass.states.get(switch).state == STATE_OFF
        assert sim.limit_a(1) == 0
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": switch}, blocking=True
        )
        assert sim.limit_a(1) == 10
        assert hass.states.get(switch).state == STATE_ON

        stop = entity_id(hass, f"{CP}_connector1_stop_charging", "button")
        await hass.services.async_call(
            "button", "press", {"entity_id": stop}, blocking=True
        )
        assert sim.connectors[1].transaction_id is None
        start = entity_id(hass, f"{CP}_connector1_start_charging", "button")
        await hass.services.async_call(
            "button", "press", {"entity_id": start}, blocking=True
        )
        assert sim.connectors[1].transaction_id is not None

        # The hub has the charger like any other.
        handle = async_get_hub(hass).get(CP)
        assert handle is not None
        assert handle.capabilities(1).current_limit is not None


async def test_reconnect_keeps_device_and_entities(hass: HomeAssistant) -> None:
    """A dropped connection makes the entities unavailable until it is back."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        entry = await accept(hass, sim)
        await sim.tick(60)
        energy = entity_id(hass, f"{CP}_connector1_energy")

        def shown() -> bool:
            found = hass.states.get(energy)
            return found is not None and found.state != STATE_UNAVAILABLE

        await wait_for(shown)
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        await sim.disconnect()

        def unavailable() -> bool:
            return hass.states.get(energy).state == STATE_UNAVAILABLE

        await wait_for(unavailable)
        await sim.connect()
        assert await sim.boot() == "Accepted"
        await sim.tick(60)
        await wait_for(shown)
        assert (
            dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
            == devices
        )
        assert entity_id(hass, f"{CP}_connector1_energy") == energy
