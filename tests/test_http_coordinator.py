"""Tests for polling the HTTP chargers: set-up, failures, energy, diagnostics."""

from datetime import timedelta
import logging
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PIN,
    CONF_PORT,
    CONF_USERNAME,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.evse_bridge.api.chargers import (
    CircontrolCharger,
    MennekesCharger,
)
from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerConnectionError,
    ChargerError,
)
from custom_components.evse_bridge.api.model import ChargerState
from custom_components.evse_bridge.const import DOMAIN
from custom_components.evse_bridge.coordinator import PolledCoordinator

from .conftest import Vendor
from .http_fixtures import (  # noqa: F401 - pytest finds fixtures by name
    BACKEND,
    CIRCONTROL_DATA,
    MENNEKES_DATA,
    PART,
    SERIAL,
    TITLE,
    charger_fixture,
    circontrol_read,
    create_charger_fixture,
    entity_id,
    http_config_entry_fixture,
    http_entry,
    http_platforms_fixture,
    init_http_fixture,
    mennekes_charge_data,
    mennekes_state,
    reauth_flows,
    setup_entry,
    vendor_fixture,
    with_meter,
)

M = Vendor.MENNEKES
INTERVAL = {Vendor.CIRCONTROL: 10, Vendor.MENNEKES: 30}


def coordinator_of(entry: MockConfigEntry) -> PolledCoordinator:
    """Return the entry's polling coordinator."""
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, PolledCoordinator)
    return coordinator


async def poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Let time pass until the next poll is due, and let it run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def power_state(hass: HomeAssistant, vendor: Vendor) -> str:
    """Return the state of the connector's power sensor."""
    state = hass.states.get(entity_id(hass, "sensor", vendor, "power"))
    assert state is not None
    return state.state


def energy_state(hass: HomeAssistant) -> float:
    """Return the AMTRON's lifetime energy, in kWh."""
    state = hass.states.get(entity_id(hass, "sensor", M, "energy"))
    assert state is not None
    return float(state.state)


# --- Set-up -------------------------------------------------------------------------


async def setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add the entry and try to set it up."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("create_charger")
async def test_ipv6_charger_sets_up(
    hass: HomeAssistant, vendor: Vendor, device_registry: dr.DeviceRegistry
) -> None:
    """A charger at an IPv6 address sets up; its web interface link works."""
    entry = http_entry(vendor, **{CONF_HOST: "fd00::5"})
    await setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, SERIAL[vendor]), entry.entry_id
    )
    assert device is not None
    assert device.configuration_url == f"http://[fd00::5]:{entry.data[CONF_PORT]}"


@pytest.mark.usefixtures("create_charger")
async def test_setup_unreachable_is_retried(
    hass: HomeAssistant, http_config_entry: MockConfigEntry, charger: MagicMock
) -> None:
    """A charger that does not answer at start-up is tried again later."""
    charger.get_info.side_effect = ChargerConnectionError("timed out")
    await setup(hass, http_config_entry)
    assert http_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert http_config_entry.reason == "The charger did not answer: timed out"
    assert reauth_flows(hass, http_config_entry) == []


@pytest.mark.usefixtures("create_charger")
async def test_setup_refused_credentials_start_reauth(
    hass: HomeAssistant, http_config_entry: MockConfigEntry, charger: MagicMock
) -> None:
    """Refused credentials at start-up stop the entry and ask for new ones."""
    charger.get_info.side_effect = ChargerAuthenticationError("403")
    await setup(hass, http_config_entry)
    assert http_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert len(reauth_flows(hass, http_config_entry)) == 1


@pytest.mark.usefixtures("create_charger")
async def test_setup_first_poll_fails_is_retried(
    hass: HomeAssistant, http_config_entry: MockConfigEntry, charger: MagicMock
) -> None:
    """A charger that identifies itself but cannot be read is tried again later."""
    charger.get_state.side_effect = ChargerError("invalid XML")
    await setup(hass, http_config_entry)
    assert http_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass, http_config_entry) == []


@pytest.mark.usefixtures("create_charger")
async def test_setup_first_poll_refused_starts_reauth(
    hass: HomeAssistant, http_config_entry: MockConfigEntry, charger: MagicMock
) -> None:
    """Credentials refused on the first poll also ask for new ones."""
    charger.get_state.side_effect = ChargerAuthenticationError("403")
    await setup(hass, http_config_entry)
    assert http_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert len(reauth_flows(hass, http_config_entry)) == 1


async def test_unload(
    hass: HomeAssistant, vendor: Vendor, init_http: MockConfigEntry, charger: MagicMock
) -> None:
    """The entry unloads cleanly, and polling stops."""
    assert await hass.config_entries.async_unload(init_http.entry_id)
    await hass.async_block_till_done()
    assert init_http.state is ConfigEntryState.NOT_LOADED
    assert power_state(hass, vendor) == STATE_UNAVAILABLE
    polls = charger.get_state.await_count
    async_fire_time_changed(hass, fire_all=True)
    await hass.async_block_till_done()
    assert charger.get_state.await_count == polls


# --- Failed polls -------------------------------------------------------------------


async def test_unreachable_backs_off_then_recovers(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Failed polls: unavailable, logged once, slower polls; then all recovers."""
    coordinator = coordinator_of(init_http)
    interval = INTERVAL[vendor]
    assert coordinator.update_interval == timedelta(seconds=interval)
    assert power_state(hass, vendor) != STATE_UNAVAILABLE
    good = charger.get_state.return_value
    charger.get_state.side_effect = ChargerConnectionError("timed out")
    caplog.set_level(logging.INFO)
    caplog.clear()

    wait: float = interval
    backoff = []
    for _ in range(6):
        polls = charger.get_state.await_count
        await poll(hass, freezer, wait)
        assert charger.get_state.await_count == polls + 1
        assert power_state(hass, vendor) == STATE_UNAVAILABLE
        assert coordinator.update_interval is not None
        wait = coordinator.update_interval.total_seconds()
        backoff.append(wait)
    expected = [min(interval * 2**n, 300) for n in range(1, 7)]
    assert backoff == expected
    assert backoff[-1] == 300
    errors = [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.evse_bridge")
        and r.levelno >= logging.WARNING
    ]
    assert len(errors) == 1
    assert "Reading the charger failed: timed out" in errors[0].getMessage()

    # No poll comes before the backed-off interval is over (the coordinator
    # spreads polls over up to a second, hence 298 s).
    polls = charger.get_state.await_count
    await poll(hass, freezer, 298)
    assert charger.get_state.await_count == polls

    charger.get_state.side_effect = None
    charger.get_state.return_value = good
    await poll(hass, freezer, 2)
    assert charger.get_state.await_count == polls + 1
    assert power_state(hass, vendor) != STATE_UNAVAILABLE
    assert coordinator.update_interval == timedelta(seconds=interval)
    assert any(
        r.levelno == logging.INFO and "data recovered" in r.getMessage()
        for r in caplog.records
    )
    # The normal pace again.
    await poll(hass, freezer, interval)
    assert charger.get_state.await_count == polls + 2


async def test_refused_credentials_while_polling_start_reauth(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Credentials refused after start-up: unavailable, and a reauth flow."""
    charger.get_state.side_effect = ChargerAuthenticationError("403")
    await poll(hass, freezer, INTERVAL[vendor])
    assert power_state(hass, vendor) == STATE_UNAVAILABLE
    assert len(reauth_flows(hass, init_http)) == 1


# --- Parts that come and go ---------------------------------------------------------


async def remove_device(
    hass: HomeAssistant, ws_client: WebSocketGenerator, device_id: str, entry_id: str
) -> bool:
    """Ask to remove a device from the entry, as the device page does."""
    assert await async_setup_component(hass, "config", {})
    client = await ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry_id,
            "device_id": device_id,
        }
    )
    response = await client.receive_json()
    return bool(response["success"])


PLUG2 = {
    "sensor.circarlife_b8ce7349_plug_2_power": "0.0",
    "sensor.circarlife_b8ce7349_plug_2_energy": "1200.0",
    "sensor.circarlife_b8ce7349_plug_2_status": "preparing",
    "binary_sensor.circarlife_b8ce7349_plug_2_vehicle_connected": "off",
    "number.circarlife_b8ce7349_plug_2_current_limit": "16.0",
    "switch.circarlife_b8ce7349_plug_2_charging_enabled": "off",
    "button.circarlife_b8ce7349_plug_2_start_charging": "unknown",
}


@pytest.fixture(name="two_plugs")
async def two_plugs_fixture(
    hass: HomeAssistant,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> MockConfigEntry:
    """Let a second plug appear on the wallbox at the next poll."""
    _, two_plugs = await circontrol_read(
        "chargeInfo_two_plugs.xml", "values_two_plugs.xml", "plugInfo_two_plugs.xml"
    )
    charger.get_state.return_value = two_plugs
    for _ in range(2):  # the new plug's energy is shown once confirmed
        await poll(hass, freezer, INTERVAL[Vendor.CIRCONTROL])
    return init_http


def device_id(hass: HomeAssistant, entry: MockConfigEntry, part_id: str) -> str:
    """Return the device id of one part of the wallbox."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{SERIAL[Vendor.CIRCONTROL]}_{part_id}"), entry.entry_id
    )
    assert device is not None
    return device.id


@pytest.mark.parametrize("vendor", [Vendor.CIRCONTROL])
async def test_second_plug_appears(
    hass: HomeAssistant,
    two_plugs: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A new plug gets its device and entities; it cannot be removed while there."""
    for entity, expected in PLUG2.items():
        state = hass.states.get(entity)
        assert state is not None, entity
        assert state.state == expected, entity
    plug2 = device_id(hass, two_plugs, "plug2")
    assert not await remove_device(hass, hass_ws_client, plug2, two_plugs.entry_id)


@pytest.mark.parametrize("vendor", [Vendor.CIRCONTROL])
async def test_plug_that_goes_away_can_be_removed(
    hass: HomeAssistant,
    two_plugs: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A plug no longer reported may be deleted; one still reported may not."""
    _, one_plug = await circontrol_read()
    charger.get_state.return_value = one_plug
    await poll(hass, freezer, INTERVAL[Vendor.CIRCONTROL])
    assert power_state(hass, Vendor.CIRCONTROL) == "7360.0"
    entry_id = two_plugs.entry_id
    plug1 = device_id(hass, two_plugs, "plug1")
    plug2 = device_id(hass, two_plugs, "plug2")
    assert not await remove_device(hass, hass_ws_client, plug1, entry_id)
    assert await remove_device(hass, hass_ws_client, plug2, entry_id)


@pytest.mark.parametrize("vendor", [Vendor.CIRCONTROL])
async def test_plug_that_goes_away_is_unavailable(
    hass: HomeAssistant,
    two_plugs: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every entity of a plug no longer reported goes unavailable, without errors."""
    _, one_plug = await circontrol_read()
    charger.get_state.return_value = one_plug
    await poll(hass, freezer, INTERVAL[Vendor.CIRCONTROL])
    for entity in PLUG2:
        state = hass.states.get(entity)
        assert state is not None, entity
        assert state.state == STATE_UNAVAILABLE, entity
    assert "Unexpected error" not in caplog.text


# --- Lifetime energy of the AMTRON --------------------------------------------------

# (session energy Wh, session duration s) per poll, and the lifetime total then.
SESSIONS = [
    ((1000.0, 600.0), 1000.0),
    ((1100.0, 630.0), 1100.0),
    # A new session: its duration starts again; it counts once the next
    # reading continues it.
    ((50.0, 20.0), 1100.0),
    ((150.0, 50.0), 1250.0),
]


def amtron_session(energy_wh: float, duration_s: float) -> ChargerState:
    """Return the AMTRON's state during a session."""
    return mennekes_state(
        mennekes_charge_data(session_energy_wh=energy_wh, session_duration_s=duration_s)
    )


async def run_sessions(
    hass: HomeAssistant, charger: MagicMock, freezer: FrozenDateTimeFactory
) -> None:
    """Poll through SESSIONS; the first reading is taken at set-up."""
    for (energy_wh, duration_s), total_wh in SESSIONS[1:]:
        charger.get_state.return_value = amtron_session(energy_wh, duration_s)
        await poll(hass, freezer, INTERVAL[M])
        assert energy_state(hass) == pytest.approx(total_wh / 1000)


@pytest.fixture(name="amtron_first_session")
def amtron_first_session_fixture(charger: MagicMock) -> None:
    """Make the AMTRON report the first reading of SESSIONS at set-up."""
    charger.get_state.return_value = amtron_session(*SESSIONS[0][0])


@pytest.mark.usefixtures("amtron_first_session")
@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_lifetime_energy_across_sessions(
    hass: HomeAssistant,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The Energy sensor adds up the sessions; a new session adds its energy."""
    assert energy_state(hass) == pytest.approx(1.0)
    await run_sessions(hass, charger, freezer)
    # A reading that glitches lower within the session adds nothing...
    charger.get_state.return_value = amtron_session(0.0, 60.0)
    await poll(hass, freezer, INTERVAL[M])
    assert energy_state(hass) == pytest.approx(1.25)
    # ...and the energy counted before it is not counted twice.
    charger.get_state.return_value = amtron_session(200.0, 110.0)
    await poll(hass, freezer, INTERVAL[M])
    assert energy_state(hass) == pytest.approx(1.3)


@pytest.mark.usefixtures("amtron_first_session")
@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_lifetime_energy_survives_reload(
    hass: HomeAssistant,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Once saved, the total continues after a reload instead of restarting."""
    await run_sessions(hass, charger, freezer)
    # The box stays at the last reading: the total is written after a minute.
    await poll(hass, freezer, 61)
    await poll(hass, freezer, 61)
    stored = hass_storage[f"{DOMAIN}.{init_http.entry_id}.energy"]["data"]
    assert stored["sessions"][PART[M]]["total_wh"] == 1250.0
    assert await hass.config_entries.async_reload(init_http.entry_id)
    await hass.async_block_till_done()
    assert energy_state(hass) == pytest.approx(1.25)
    charger.get_state.return_value = amtron_session(250.0, 110.0)
    await poll(hass, freezer, INTERVAL[M])
    assert energy_state(hass) == pytest.approx(1.35)


@pytest.mark.usefixtures("amtron_first_session")
@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_lifetime_energy_survives_reload_while_charging(
    hass: HomeAssistant,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reload while the box charges does not lose the energy counted so far."""
    await run_sessions(hass, charger, freezer)
    assert await hass.config_entries.async_reload(init_http.entry_id)
    await hass.async_block_till_done()
    # The session goes on; after a few polls the total must still include
    # everything counted before the reload (1.25 kWh) plus what came since.
    for energy_wh, duration_s in ((200.0, 80.0), (250.0, 110.0), (300.0, 140.0)):
        charger.get_state.return_value = amtron_session(energy_wh, duration_s)
        await poll(hass, freezer, INTERVAL[M])
    assert energy_state(hass) == pytest.approx(1.4)


@pytest.mark.usefixtures("create_charger", "amtron_first_session")
@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_total_of_an_earlier_version_continues(
    hass: HomeAssistant,
    http_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Totals stored by an earlier version (storage version 1) are taken over."""
    hass_storage[f"{DOMAIN}.{http_config_entry.entry_id}.energy"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.{http_config_entry.entry_id}.energy",
        "data": {PART[M]: {"total_wh": 5000.0, "session_wh": 900.0, "session_s": 540}},
    }
    http_config_entry.add_to_hass(hass)
    await setup_entry(hass, http_config_entry, [Platform.SENSOR])
    # The box went on from 900 Wh to 1000 Wh in the same session.
    assert energy_state(hass) == pytest.approx(5.1)


@pytest.mark.usefixtures("amtron_first_session")
@pytest.mark.parametrize("vendor", [M])
@pytest.mark.parametrize(
    "glitch",
    [(1e9, 630.0), (150_000.0, 630.0), (-500.0, 630.0), (1000.0, 5.0), (0.0, 0.0)],
    ids=["absurd", "impossible rise", "negative", "duration dip", "both zero"],
)
async def test_mennekes_total_is_not_polluted_by_one_bad_poll(
    hass: HomeAssistant,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    glitch: tuple[float, float],
) -> None:
    """One bad poll adds nothing, now or once the box reports normally again."""
    charger.get_state.return_value = amtron_session(*glitch)
    await poll(hass, freezer, INTERVAL[M])
    assert energy_state(hass) == pytest.approx(1.0)
    charger.get_state.return_value = amtron_session(1100.0, 660.0)
    await poll(hass, freezer, INTERVAL[M])
    assert energy_state(hass) == pytest.approx(1.1)
    await poll(hass, freezer, 61)  # written to storage within a minute
    stored = hass_storage[f"{DOMAIN}.{init_http.entry_id}.energy"]["data"]
    assert stored["sessions"][PART[M]]["total_wh"] == 1100.0


@pytest.mark.parametrize("vendor", [Vendor.CIRCONTROL])
async def test_circontrol_energy_follows_the_meter(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The plug's lifetime meter shows on every poll; glitches never do."""
    entity = entity_id(hass, "sensor", vendor, "energy")
    first = charger.get_state.return_value
    for energy_wh, shown in (
        (4857000.0, "4857.0"),
        (0.0, "4857.0"),
        (0.0, "4857.0"),
        (0.0, "4857.0"),
        (1e12, "4857.0"),
        (float("nan"), "4857.0"),
        (4857100.0, "4857.1"),
    ):
        charger.get_state.return_value = with_meter(
            first, PART[vendor], energy_wh=energy_wh
        )
        await poll(hass, freezer, INTERVAL[vendor])
        state = hass.states.get(entity)
        assert state is not None
        assert state.state == shown


# --- Diagnostics and the client factory ---------------------------------------------


# Circontrol with a login, to show that it is redacted too.
SECRETS: dict[Vendor, dict[str, str]] = {
    Vendor.CIRCONTROL: {CONF_USERNAME: "operator", CONF_PASSWORD: "s3cret-Pa55"},
    Vendor.MENNEKES: {CONF_PIN: "8642"},
}


@pytest.mark.usefixtures("create_charger")
async def test_diagnostics(
    hass: HomeAssistant,
    vendor: Vendor,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The download has the charger's data, and no address, secret or serial number."""
    entry = http_entry(vendor, **SECRETS[vendor])
    await setup(hass, entry)
    await poll(hass, freezer, INTERVAL[vendor])
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot(
        exclude=props("created_at", "modified_at", "entry_id")
    )
    parts = diagnostics["parts"]
    assert isinstance(parts, dict)
    part = parts[PART[vendor]]
    assert isinstance(part, dict)
    assert part["available"] is True
    text = str(diagnostics)
    for secret in (
        entry.data[CONF_HOST],
        SERIAL[vendor],
        SERIAL[vendor][-8:],
        *SECRETS[vendor].values(),
    ):
        assert secret not in text


async def test_client_factory(hass: HomeAssistant) -> None:
    """Each entry gets its vendor's client with the entry's address and secrets."""
    mennekes = BACKEND[M].create_charger(hass, MENNEKES_DATA)
    assert isinstance(mennekes, MennekesCharger)
    assert mennekes.client.host == "192.0.2.10"
    assert mennekes.client.port == 25000
    assert mennekes.client.dev_key == "1234"
    circontrol = BACKEND[Vendor.CIRCONTROL].create_charger(
        hass, {**CIRCONTROL_DATA, CONF_USERNAME: "", CONF_PASSWORD: ""}
    )
    assert isinstance(circontrol, CircontrolCharger)
    assert circontrol.client.host == "192.0.2.20"
    assert circontrol.client.port == 80
    # An empty user name sends no login at all.
    assert circontrol.client.username is None
    assert circontrol.client.password is None
    assert circontrol.client.session is mennekes.client.session
    login = {CONF_USERNAME: "admin", CONF_PASSWORD: "s3cret"}
    with_login = BACKEND[Vendor.CIRCONTROL].create_charger(
        hass, {**CIRCONTROL_DATA, **login}
    )
    assert isinstance(with_login, CircontrolCharger)
    assert with_login.client.username == login[CONF_USERNAME]
    assert with_login.client.password == login[CONF_PASSWORD]
