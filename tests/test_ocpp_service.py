"""An OCPP charger taken out of service and restarted from Home Assistant.

The switch Available (ChangeAvailability) and the button Restart (a soft
Reset), against the simulated charge point over 127.0.0.1: each shows what
the charge point reports, and a refusal or a CALLERROR is a translated error.
"""

import logging

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.evse_bridge.const import DOMAIN
from custom_components.evse_bridge.hub import async_get_hub
from simulators.ocpp import OcppSimulator

from .ocpp_ha import accept, add_server, entity_id, url, wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

CP = "ocpp:CP1"


def shown(hass: HomeAssistant, entity: str) -> str:
    """Return the state of an entity."""
    found = hass.states.get(entity)
    assert found is not None
    return found.state


async def created(hass: HomeAssistant, unique_id: str, platform: str) -> str:
    """Return an entity's id once the charge point's reports have created it."""
    registry = er.async_get(hass)

    def registered() -> bool:
        return registry.async_get_entity_id(platform, DOMAIN, unique_id) is not None

    await wait_for(registered)
    return entity_id(hass, unique_id, platform)


async def turn(hass: HomeAssistant, entity: str, service: str) -> None:
    """Turn a switch on or off, waiting for the outcome."""
    await hass.services.async_call(
        "switch", service, {"entity_id": entity}, blocking=True
    )


async def press(hass: HomeAssistant, entity: str) -> None:
    """Press a button, waiting for the outcome."""
    await hass.services.async_call(
        "button", "press", {"entity_id": entity}, blocking=True
    )


async def test_out_of_service_and_back(hass: HomeAssistant) -> None:
    """Off takes the connector out of service: no session starts until it is on."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept(hass, sim)
        available = await created(hass, f"{CP}_connector1_available", "switch")
        registered = er.async_get(hass).async_get(available)
        assert registered is not None
        assert registered.entity_category is EntityCategory.CONFIG

        def in_service() -> bool:
            return shown(hass, available) == STATE_ON

        await wait_for(in_service)

        await turn(hass, available, "turn_off")
        assert not sim.connectors[1].available
        assert shown(hass, available) == STATE_OFF
        assert shown(hass, "sensor.cp1_connector_1_status") == "unavailable"
        # Out of service is not a pause.
        assert shown(hass, "switch.cp1_connector_1_charging_enabled") == STATE_ON

        # A car plugged in does not charge, and a remote start is refused.
        await sim.plug_in()
        assert sim.connectors[1].transaction_id is None
        start = await created(hass, f"{CP}_connector1_start_charging", "button")
        with pytest.raises(HomeAssistantError) as refused:
            await press(hass, start)
        assert refused.value.translation_key == "command_refused"

        # Back in service, the waiting car charges.
        await turn(hass, available, "turn_on")
        assert shown(hass, available) == STATE_ON
        await sim.settle()

        def charging() -> bool:
            return shown(hass, "sensor.cp1_connector_1_status") == "charging"

        await wait_for(charging)
        assert sim.connectors[1].transaction_id is not None


async def test_out_of_service_during_a_session_waits_for_its_end(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Scheduled: the switch stays on while the car charges, off once it is done."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept(hass, sim)
        await sim.plug_in()
        available = await created(hass, f"{CP}_connector1_available", "switch")
        handle = async_get_hub(hass).get(CP)
        assert handle is not None

        with caplog.at_level(logging.INFO):
            result = await handle.async_set_available(1, False)
        assert result.scheduled
        assert "CP1 connector 1 goes out of service when its session ends" in (
            caplog.text
        )
        await turn(hass, available, "turn_off")  # the same again, from the UI
        assert sim.connectors[1].transaction_id is not None
        assert shown(hass, available) == STATE_ON

        await sim.unplug()

        def out_of_service() -> bool:
            return shown(hass, available) == STATE_OFF

        await wait_for(out_of_service)
        assert not (await handle.async_set_available(1, True)).scheduled
        assert shown(hass, available) == STATE_ON


@pytest.mark.parametrize(
    ("fault", "error", "translation_key"),
    [
        ("refuse", HomeAssistantError, "command_refused"),
        ("InternalError", HomeAssistantError, "command_error"),
        ("NotSupported", ServiceValidationError, "not_supported"),
    ],
)
async def test_refused_or_failed_availability_is_an_error(
    hass: HomeAssistant,
    fault: str,
    error: type[HomeAssistantError],
    translation_key: str,
) -> None:
    """A refusal or a CALLERROR is a translated error; the switch stays as it was."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept(hass, sim)
        if fault == "refuse":
            sim.faults.refuse.add("ChangeAvailability")
        else:
            sim.faults.call_errors["ChangeAvailability"] = fault
        available = await created(hass, f"{CP}_connector1_available", "switch")
        with pytest.raises(error) as raised:
            await turn(hass, available, "turn_off")
        assert raised.value.translation_key == translation_key
        assert sim.connectors[1].available
        assert shown(hass, available) == STATE_ON


async def test_restart(hass: HomeAssistant) -> None:
    """Restart reboots the charge point; it comes back on the same device."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        entry = await accept(hass, sim)
        restart = await created(hass, f"{CP}_restart", "button")
        registry = er.async_get(hass)
        registered = registry.async_get(restart)
        assert registered is not None
        assert registered.entity_category is EntityCategory.CONFIG
        assert registered.original_device_class == "restart"
        # On the charger's own device, not a connector's.
        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, CP), entry.entry_id
        )
        assert device is not None
        assert registered.device_id == device.id
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)

        # Out of service before, out of service after: the charge point keeps it.
        available = await created(hass, f"{CP}_connector1_available", "switch")
        await turn(hass, available, "turn_off")
        boots = sim.boots
        await press(hass, restart)
        await sim.settle()
        assert sim.boots == boots + 1

        def back() -> bool:
            return shown(hass, restart) != STATE_UNAVAILABLE and (
                shown(hass, available) == STATE_OFF
            )

        await wait_for(back)
        assert (
            dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
            == devices
        )

        sim.faults.refuse.add("Reset")
        with pytest.raises(HomeAssistantError) as refused:
            await press(hass, restart)
        assert refused.value.translation_key == "command_refused"
        assert sim.boots == boots + 1


async def test_restart_unavailable_while_disconnected(hass: HomeAssistant) -> None:
    """A charge point that is gone cannot be restarted: the button is unavailable."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept(hass, sim)
        restart = await created(hass, f"{CP}_restart", "button")
        await sim.disconnect()

        def unavailable() -> bool:
            return shown(hass, restart) == STATE_UNAVAILABLE

        await wait_for(unavailable)
