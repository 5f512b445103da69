"""The OCPP server in Home Assistant with the simulated charge point over 127.0.0.1.

The charge point connects, is accepted through its discovery flow, and then
shows its meters and obeys the entities.
"""

import json
from pathlib import Path
import socket
from typing import Any

from aiohttp import WSServerHandshakeError
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
)
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.evse_bridge.backends import KINDS
from custom_components.evse_bridge.backends.ocpp.const import RENEW_INTERVAL
from custom_components.evse_bridge.const import DOMAIN
from custom_components.evse_bridge.hub import async_get_hub
from simulators.ocpp import OcppSimulator

from .ocpp_ha import (
    SERVER_OPTIONS,
    accept,
    accept_flow,
    add_server,
    entity_id,
    free_port,
    pending_flows,
    url,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

CP = "ocpp:CP1"
PASSWORD = "0123456789abcdef"  # noqa: S105 - the test's own


def entity_state(hass: HomeAssistant, entity: str) -> str:
    """Return the state of an entity."""
    found = hass.states.get(entity)
    assert found is not None
    return found.state


def transaction(sim: OcppSimulator) -> int | None:
    """Return the simulated charge point's running transaction."""
    return sim.connectors[1].transaction_id


def entry_state(entry: ConfigEntry) -> ConfigEntryState:
    """Return the state of an entry now."""
    return entry.state


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
        entry = await accept(hass, sim)
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
        assert entity_state(hass, limit) == "10.0"

        switch = entity_id(hass, f"{CP}_connector1_charging_enabled", "switch")
        assert entity_state(hass, switch) == STATE_ON
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": switch}, blocking=True
        )
        assert entity_state(hass, switch) == STATE_OFF
        assert sim.limit_a(1) == 0
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": switch}, blocking=True
        )
        assert sim.limit_a(1) == 10
        assert entity_state(hass, switch) == STATE_ON

        stop = entity_id(hass, f"{CP}_connector1_stop_charging", "button")
        await hass.services.async_call(
            "button", "press", {"entity_id": stop}, blocking=True
        )
        assert transaction(sim) is None
        start = entity_id(hass, f"{CP}_connector1_start_charging", "button")
        await hass.services.async_call(
            "button", "press", {"entity_id": start}, blocking=True
        )
        assert transaction(sim) is not None

        # Its device shows what the BootNotification said.
        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, CP), entry.entry_id
        )
        assert device is not None
        assert (device.manufacturer, device.model) == ("EVSE Bridge", "Simulated CP")
        assert (device.serial_number, device.sw_version) == ("SN-1", "1.0.0")

        # The hub has the charger like any other.
        handle = async_get_hub(hass).get(CP)
        assert handle is not None
        assert handle.capabilities(1).current_limit is not None


def profiles_sent(sim: OcppSimulator) -> int:
    """Return how many charging profiles the charge point received."""
    return sum("SetChargingProfile" in str(frame) for frame in sim.frames)


async def test_reconnect_keeps_device_and_entities(hass: HomeAssistant) -> None:
    """A dropped connection makes the entities unavailable until it is back.

    Back, the charge point gets its limit again (it may have restarted).
    """
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
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": "number.cp1_connector_1_current_limit", "value": 8},
            blocking=True,
        )
        sent = profiles_sent(sim)
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        await sim.disconnect()

        def unavailable() -> bool:
            return entity_state(hass, energy) == STATE_UNAVAILABLE

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

        def limit_sent_again() -> bool:
            return profiles_sent(sim) > sent

        await wait_for(limit_sent_again)
        assert sim.limit_a(1) == 8


async def test_refused_when_the_user_says_so(hass: HomeAssistant) -> None:
    """With new charge points refused, a stranger is Rejected and nobody asked."""
    await add_server(hass, new_charge_points="refuse")
    async with OcppSimulator(url(hass)) as sim:
        assert await sim.boot() == "Rejected"
    assert not pending_flows(hass)


async def test_ignored_charge_point_stays_pending(hass: HomeAssistant) -> None:
    """Ignoring the discovery leaves the charge point Pending, asked no more."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        assert await sim.boot() == "Pending"

        def discovered() -> bool:
            return len(pending_flows(hass)) == 1

        await wait_for(discovered)
        flow = pending_flows(hass)[0]
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_IGNORE},
            data={"unique_id": flow["context"]["unique_id"], "title": "CP1"},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        assert await sim.boot() == "Pending"
        await hass.async_block_till_done()
        assert not pending_flows(hass)
        ignored = result["result"]
        # The integrations page lists it: no options, no error.
        assert not ignored.supports_options


async def test_password_of_an_accepted_charge_point(hass: HomeAssistant) -> None:
    """A password given at acceptance is asked for from the next connection on."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept(hass, sim, {"password": PASSWORD})
    refused = OcppSimulator(url(hass))
    with pytest.raises(WSServerHandshakeError):
        await refused.connect()
    await refused.close()
    async with OcppSimulator(url(hass), password=PASSWORD) as sim:
        assert await sim.boot() == "Accepted"


async def test_port_in_use_retries(hass: HomeAssistant) -> None:
    """A taken port leaves the server waiting to set up again, saying why."""
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id="ocpp_server",
            data={"type": "ocpp_server"},
            options={**SERVER_OPTIONS, "port": taken.getsockname()[1]},
            minor_version=2,
        )
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert "cannot listen on port" in (entry.reason or "")


async def test_unreadable_certificate_retries(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Certificate files that vanished leave the server waiting, saying why."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="ocpp_server",
        data={"type": "ocpp_server"},
        options={
            **SERVER_OPTIONS,
            "port": free_port(),
            "certfile": str(tmp_path / "gone.pem"),
            "keyfile": str(tmp_path / "gone.key"),
        },
        minor_version=2,
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "certificate" in (entry.reason or "")


async def test_charger_waits_for_the_server_and_follows_it(
    hass: HomeAssistant,
) -> None:
    """A charger set up before the server comes up with it; unload stops both."""
    charger = MockConfigEntry(
        domain=DOMAIN,
        title="CP1",
        unique_id=CP,
        data={
            "type": "ocpp",
            "charge_point_id": "CP1",
            "manufacturer": "EVSE Bridge",
            "model": "Simulated CP",
        },
        minor_version=2,
    )
    charger.add_to_hass(hass)
    await hass.config_entries.async_setup(charger.entry_id)
    assert charger.state is ConfigEntryState.SETUP_RETRY
    server = await add_server(hass)
    await hass.async_block_till_done()
    assert entry_state(charger) is ConfigEntryState.LOADED
    async with OcppSimulator(url(hass)) as sim:
        # Known already: accepted at once, no question asked.
        assert await sim.boot() == "Accepted"
        await sim.tick(10)
        energy = f"{CP}_connector1_energy"

        def shown() -> bool:
            return state(hass, energy) != STATE_UNAVAILABLE

        await wait_for(shown)
        assert await hass.config_entries.async_unload(server.entry_id)
        assert state(hass, energy) == STATE_UNAVAILABLE
        assert await sim.wait_disconnected() is not None


async def test_limit_renewed_before_it_expires(hass: HomeAssistant) -> None:
    """While Home Assistant runs, the limit's profile is sent again in time."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept(hass, sim)
        await sim.plug_in()
        await sim.tick(10)

        def has_limit_entity() -> bool:
            return hass.states.get("number.cp1_connector_1_current_limit") is not None

        await wait_for(has_limit_entity)
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": "number.cp1_connector_1_current_limit", "value": 12},
            blocking=True,
        )
        sent = [frame for frame in sim.frames if "SetChargingProfile" in str(frame)]
        async_fire_time_changed(hass, dt_util.utcnow() + RENEW_INTERVAL)

        def renewed() -> bool:
            return len([f for f in sim.frames if "SetChargingProfile" in str(f)]) > len(
                sent
            )

        await wait_for(renewed)
        assert sim.limit_a(1) == 12


async def test_diagnostics_redact_tags_and_passwords(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """Neither the id tags nor a charge point's password leave in diagnostics."""
    server = await add_server(hass, id_tags="SECRETCARD")
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        charger = await accept(hass, sim, {"password": PASSWORD})
        for entry in (server, charger):
            diagnostics = await get_diagnostics_for_config_entry(
                hass, hass_client, entry
            )
            text = json.dumps(diagnostics)
            assert "SECRETCARD" not in text
            assert PASSWORD not in text


async def test_accepted_at_next_boot_when_it_cannot_boot_now(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """A charge point that will not boot on request is let in at its next boot."""
    server = await add_server(hass)
    assert server.runtime_data.kind is KINDS["ocpp_server"]
    async with OcppSimulator(url(hass)) as sim:
        sim.faults.refuse.add("TriggerMessage")
        assert await sim.boot() == "Pending"
        await accept_flow(hass)

        def explained() -> bool:
            return "will be accepted at its next boot" in caplog.text

        await wait_for(explained)
        assert sim.registration == "Pending"
        assert await sim.boot() == "Accepted"


async def test_removing_the_charger_ends_its_access(hass: HomeAssistant) -> None:
    """Deleting the charger's entry makes it Pending again, to be asked about anew."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        entry = await accept(hass, sim)
        await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
        assert await sim.boot() == "Pending"

        def asked_again() -> bool:
            return len(pending_flows(hass)) == 1

        await wait_for(asked_again)


async def reconfigure(hass: HomeAssistant, entry: ConfigEntry) -> Any:
    """Open the entry's reconfigure flow, as its menu does."""
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )


async def test_password_changed_and_removed(hass: HomeAssistant) -> None:
    """Reconfiguring an accepted charge point sets or removes its password."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        entry = await accept(hass, sim)
    result = await reconfigure(hass, entry)
    assert result["step_id"] == "ocpp_password"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": PASSWORD}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data["password"] == PASSWORD
    refused = OcppSimulator(url(hass))
    with pytest.raises(WSServerHandshakeError):
        await refused.connect()
    await refused.close()
    async with OcppSimulator(url(hass), password=PASSWORD) as sim:
        assert await sim.boot() == "Accepted"

    result = await reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert "password" not in entry.data
    async with OcppSimulator(url(hass)) as sim:
        assert await sim.boot() == "Accepted"


async def test_transactions_survive_a_restart_of_the_server(
    hass: HomeAssistant,
) -> None:
    """A session started before a restart stops after it; no id is reused."""
    server = await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        await accept(hass, sim)
        await sim.plug_in()
        await sim.settle()
        ledger = server.runtime_data.central.server.ledger
        (first,) = list(ledger)
        await sim.disconnect()
        assert await hass.config_entries.async_reload(server.entry_id)
        await hass.async_block_till_done()
        restarted = server.runtime_data.central.server
        restarted.ping_interval_s = None
        assert restarted.ledger.get(first.id) is not None
        await sim.connect()
        assert await sim.boot() == "Accepted"
        await sim.unplug()
        await sim.settle()
        stopped = restarted.ledger.get(first.id)
        assert stopped is not None
        assert not stopped.is_open
        await sim.advance(60)  # a later session (the same one again keeps its id)
        await sim.plug_in()
        await sim.settle()
        assert max(item.id for item in restarted.ledger) > first.id


async def test_charger_rating_bounds_the_limit(hass: HomeAssistant) -> None:
    """The charger's maximum current in its options bounds the current limit."""
    await add_server(hass)
    async with OcppSimulator(url(hass)) as sim:
        await sim.boot()
        entry = await accept(hass, sim)
        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["step_id"] == "ocpp_charger"
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"max_current": 16.0}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        await sim.tick(10)

        def bounded() -> bool:
            limit = hass.states.get("number.cp1_connector_1_current_limit")
            return limit is not None and limit.attributes.get("max") == 16

        await wait_for(bounded)
        handle = async_get_hub(hass).get(CP)
        assert handle is not None
        with pytest.raises(ValueError, match="6-16 A"):
            await handle.async_set_current_limit(1, 20)
