"""End to end: evcc drives a charger of EVSE Bridge through Home Assistant.

evcc's ``template: homeassistant`` charger (tests/e2e/evcc.py) talks to Home
Assistant's REST API with a token, as the real one does, and the simulated
Mennekes box sees what it sends. The charger is on a site in mode *Off*: the
site sends it nothing, so the two do not fight.
"""

from collections.abc import Generator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.evse_bridge.const import CONF_TYPE, DOMAIN
from custom_components.evse_bridge.site.const import SITE
from simulators.mennekes import MennekesSimulator

from .conftest import PIN
from .evcc import EvccCharger
from .test_http_chargers import MENNEKES, add_charger

METER = ("sensor.grid_l1", "sensor.grid_l2", "sensor.grid_l3")
# docs/evcc.md: the status evcc understands (A, B, C) from the charger's own.
STATUS_TEMPLATE = (
    f"{{% if is_state('binary_sensor.{MENNEKES}_charging', 'on') %}}C"
    f"{{% elif is_state('binary_sensor.{MENNEKES}_vehicle_connected', 'on') %}}B"
    "{% else %}A{% endif %}"
)


@pytest.fixture(autouse=True)
def resend_at_once() -> Generator[None]:
    """Let a site that drives the charger undo evcc's commands at once."""
    with patch(
        "custom_components.evse_bridge.site.commander.RESEND_AFTER", timedelta(0)
    ):
        yield


def report_meter(hass: HomeAssistant) -> None:
    """Report one meter sample: the house at 2 A on each phase."""
    for entity_id in METER:
        hass.states.async_set(entity_id, "2.0", {"unit_of_measurement": "A"})


def commands(simulator: MennekesSimulator, since: int) -> list[Any]:
    """Return the box's limits and commands received since POST ``since``."""
    return [
        body.get("RemoteCurr") or body.get("ChgState")
        for _, body in simulator.posted[since:]
    ]


async def test_evcc_drives_a_charger_the_site_leaves_alone(
    hass: HomeAssistant,
    mennekes: MennekesSimulator,
    hass_client: ClientSessionGenerator,
    hass_access_token: str,
) -> None:
    """The evcc double reads status, enabled, power, energy; sets current, enables.

    Between its commands the meter keeps reporting and the site keeps running:
    the box receives evcc's commands and nothing else.
    """
    assert await async_setup_component(hass, "api", {})
    assert await async_setup_component(
        hass,
        "template",
        {"template": [{"sensor": [{"name": "Garage evcc", "state": STATUS_TEMPLATE}]}]},
    )
    await add_charger(
        hass, "mennekes", {"host": "127.0.0.1", "port": mennekes.port, "pin": PIN}
    )
    report_meter(hass)
    site = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=f"{SITE}_home",
        data={CONF_TYPE: SITE, "name": "Home"},
        options={
            "fuse_a": 20.0,
            "phases": "3",
            "voltage_v": 230.0,
            "meter_kind": "current",
            "meter_l1": METER[0],
            "meter_l2": METER[1],
            "meter_l3": METER[2],
            "sign": "import_positive",
            "connectors": [f"{mennekes.serial_number}:1"],
            "fallback": "pause",
            "fallback_current_a": 6.0,
        },
        minor_version=2,
    )
    site.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": f"select.{MENNEKES}_smart_charging", "option": "off"},
        blocking=True,
    )
    await hass.async_block_till_done()
    reason = hass.states.get(f"sensor.{MENNEKES}_smart_charging_reason")
    assert reason is not None
    assert reason.attributes["detail"] == "Off: not controlled"
    # Until the mode was off, the site held the car (the meter is not yet
    # trusted after a start); from here on only evcc commands the box.
    since = len(mennekes.posted)

    client = await hass_client()
    async with aiohttp.ClientSession() as session:
        evcc = EvccCharger(
            session=session,
            uri=str(client.make_url("")).rstrip("/"),
            token=hass_access_token,
            status="sensor.garage_evcc",
            enabled=f"switch.{MENNEKES}_charging_enabled",
            enable=f"switch.{MENNEKES}_charging_enabled",
            maxcurrent=f"number.{MENNEKES}_current_limit",
            power=f"sensor.{MENNEKES}_power",
            energy=f"sensor.{MENNEKES}_energy",
        )
        assert await evcc.charge_status() == "B"
        assert not await evcc.is_enabled()

        await evcc.set_max_current(10)
        await evcc.set_enabled(True)
        await run_site(hass)
        assert await evcc.charge_status() == "C"
        assert await evcc.is_enabled()
        assert await evcc.current_power() == 3 * 230 * 10
        assert mennekes.remote_current == 10
        assert await evcc.total_energy() >= 0

        await evcc.set_enabled(False)
        await run_site(hass)
        assert await evcc.charge_status() == "B"
        assert await evcc.current_power() == 0

        await evcc.set_max_current(7)
        await evcc.set_enabled(True)
        await run_site(hass)
        assert await evcc.current_power() == 3 * 230 * 7
    assert commands(mennekes, since) == [10, "Continue", "Pause", 7, "Continue"]


async def run_site(hass: HomeAssistant) -> None:
    """Let the meter report a few times, so the site runs on each report."""
    for _ in range(3):
        report_meter(hass)
        await hass.async_block_till_done()
