"""Shared fixtures of the HTTP charger tests (Circontrol, Mennekes), charger mocked.

The charger is mocked at the adapter boundary: the backend's
``create_charger`` (used by set-up and the config flow) is patched and returns
an autospec of the vendor's adapter, whose capabilities are the real ones. The
adapter hands out real models, built by the real parsers from the captured
fixtures.

Import the fixtures explicitly into a test module; pytest finds them by the
name given in ``@pytest.fixture(name=...)``.
"""

from collections.abc import Iterable, Iterator
from dataclasses import replace
import json
from typing import Any, override
from unittest.mock import MagicMock, create_autospec, patch

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntryState,
    ConfigFlowContext,
)
from homeassistant.const import CONF_HOST, CONF_PIN, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.chargers import (
    CircontrolCharger,
    MennekesCharger,
)
from custom_components.evse_bridge.api.circontrol import CircontrolClient
from custom_components.evse_bridge.api.mennekes import (
    MennekesChargeData,
    MennekesDevInfo,
    build_charger_info,
    build_charger_state,
    parse_charge_data,
    parse_dev_info,
)
from custom_components.evse_bridge.api.model import ChargerInfo, ChargerState
from custom_components.evse_bridge.backends import KINDS, circontrol, mennekes
from custom_components.evse_bridge.backends.http import HttpBackend
from custom_components.evse_bridge.const import CONF_TYPE, DOMAIN

from .conftest import FIXTURES, Vendor, only_platforms

MENNEKES_SERIAL = "1234567890"
MENNEKES_TITLE = "AMTRON 1234567890"
MENNEKES_DATA: dict[str, Any] = {
    CONF_TYPE: Vendor.MENNEKES.value,
    CONF_HOST: "192.0.2.10",
    CONF_PORT: 25000,
    CONF_PIN: "1234",
}
# A CirCarLife without a serial number is known by its main device GUID.
CIRCONTROL_SERIAL = "47D21F22-D016-44CB-A373-9578B8CE7349"
CIRCONTROL_TITLE = "CirCarLife B8CE7349"
CIRCONTROL_DATA: dict[str, Any] = {
    CONF_TYPE: Vendor.CIRCONTROL.value,
    CONF_HOST: "192.0.2.20",
    CONF_PORT: 80,
}

SERIAL = {Vendor.CIRCONTROL: CIRCONTROL_SERIAL, Vendor.MENNEKES: MENNEKES_SERIAL}
TITLE = {Vendor.CIRCONTROL: CIRCONTROL_TITLE, Vendor.MENNEKES: MENNEKES_TITLE}
DATA = {Vendor.CIRCONTROL: CIRCONTROL_DATA, Vendor.MENNEKES: MENNEKES_DATA}
PART = {Vendor.CIRCONTROL: "plug1", Vendor.MENNEKES: "connector1"}
BACKEND: dict[Vendor, HttpBackend] = {
    Vendor.CIRCONTROL: circontrol.BACKEND,
    Vendor.MENNEKES: mennekes.BACKEND,
}
ADAPTER: dict[Vendor, type[CircontrolCharger | MennekesCharger]] = {
    Vendor.CIRCONTROL: CircontrolCharger,
    Vendor.MENNEKES: MennekesCharger,
}
HTTP_VENDORS = [Vendor.CIRCONTROL, Vendor.MENNEKES]


# --- Real models from the fixtures ------------------------------------------------


def mennekes_json(name: str) -> dict[str, object]:
    """Return a captured Mennekes answer."""
    data: dict[str, object] = json.loads((FIXTURES / "mennekes" / name).read_text())
    return data


def mennekes_dev_info() -> MennekesDevInfo:
    """Return the box's DevInfo (Remote mode, auto start on, no error)."""
    return parse_dev_info(mennekes_json("dev_info.json"))


def mennekes_charge_data(
    name: str = "charge_data_charging.json", **changes: Any
) -> MennekesChargeData:
    """Return a ChargeData capture, optionally with some fields changed."""
    return replace(parse_charge_data(mennekes_json(name)), **changes)


def mennekes_info() -> ChargerInfo:
    """Return the box's identity as the client builds it."""
    return build_charger_info(mennekes_dev_info())


def mennekes_state(
    charge_data: MennekesChargeData | None = None,
    dev_info: MennekesDevInfo | None = None,
) -> ChargerState:
    """Return the box's state, charging at 6.9 kW unless told otherwise."""
    return build_charger_state(
        charge_data or mennekes_charge_data(), dev_info or mennekes_dev_info()
    )


class _FixtureCircontrolClient(CircontrolClient):
    """The real CirCarLife client, answered from fixture documents."""

    documents: dict[str, str]

    @override
    async def _request(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]] = (),
        *,
        data: bytes | None = None,
    ) -> bytes:
        name = self.documents[path.rsplit("/", 1)[-1]]
        return (FIXTURES / "circontrol" / name).read_bytes()


async def circontrol_read(
    charge_info: str = "chargeInfo_charging.xml",
    values: str = "values_charging.xml",
    plug_info: str = "plugInfo.xml",
) -> tuple[ChargerInfo, ChargerState]:
    """Return what the real client reads from a wallbox serving these documents."""
    client = _FixtureCircontrolClient(host=CIRCONTROL_DATA[CONF_HOST])
    client.documents = {
        "chargeInfo.xml": charge_info,
        "values.xml": values,
        "plugInfo.xml": plug_info,
        "deviceInfo.xml": "deviceInfo_EVSE.xml",
        "information.xml": "information.xml",
    }
    return await client.get_info(), await client.get_state()


def with_connector(state: ChargerState, part_id: str, **changes: Any) -> ChargerState:
    """Return the state with some values of one connector changed."""
    part = state.parts[part_id]
    assert part.connector is not None
    connector = replace(part.connector, **changes)
    return ChargerState(
        parts={**state.parts, part_id: replace(part, connector=connector)}
    )


def with_meter(state: ChargerState, part_id: str, **changes: Any) -> ChargerState:
    """Return the state with some values of one part's meter changed."""
    part = state.parts[part_id]
    assert part.meter is not None
    meter = replace(part.meter, **changes)
    return ChargerState(parts={**state.parts, part_id: replace(part, meter=meter)})


async def charger_models(vendor: Vendor) -> tuple[ChargerInfo, ChargerState]:
    """Return a charging charger's identity and state."""
    if vendor is Vendor.MENNEKES:
        return mennekes_info(), mennekes_state()
    return await circontrol_read()


def mock_adapter(vendor: Vendor, info: ChargerInfo, state: ChargerState) -> MagicMock:
    """Return an autospec of the vendor's adapter that answers with these models."""
    charger: MagicMock = create_autospec(ADAPTER[vendor], instance=True)
    charger.get_info.return_value = info
    charger.get_state.return_value = state
    charger.capabilities.side_effect = lambda part: ADAPTER[vendor].capabilities(
        charger, part
    )
    return charger


# --- Home Assistant helpers -------------------------------------------------------


def http_entry(vendor: Vendor, **data: Any) -> MockConfigEntry:
    """Return the config entry of an HTTP charger, as the config flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=TITLE[vendor],
        unique_id=SERIAL[vendor],
        data={**DATA[vendor], **data},
        minor_version=2,
    )


async def setup_entry(
    hass: HomeAssistant, entry: MockConfigEntry, platforms: list[Platform]
) -> None:
    """Set up an entry (added to hass beforehand) with only these platforms.

    Then poll once more, as the interval would: a lifetime energy reading is
    shown once the next one confirms it.
    """
    with only_platforms(Vendor(entry.data[CONF_TYPE]), platforms):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    if entry.state is ConfigEntryState.LOADED:
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()


def entity_id(hass: HomeAssistant, domain: str, vendor: Vendor, key: str) -> str:
    """Return the entity id of one entity of the charger's connector."""
    unique_id = f"{SERIAL[vendor]}_{PART[vendor]}_{key}"
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def reauth_flows(
    hass: HomeAssistant, entry: MockConfigEntry
) -> list[ConfigFlowContext]:
    """Return the contexts of the reauthentication flows in progress for an entry."""
    return [
        flow["context"]
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
        and flow["context"].get("entry_id") == entry.entry_id
    ]


# --- Fixtures ---------------------------------------------------------------------


@pytest.fixture(name="vendor", params=HTTP_VENDORS, ids=str)
def vendor_fixture(request: pytest.FixtureRequest) -> Vendor:
    """Return the charger type; each test runs for both unless parametrized."""
    vendor: Vendor = request.param
    return vendor


@pytest.fixture(name="http_config_entry")
def http_config_entry_fixture(vendor: Vendor) -> MockConfigEntry:
    """Return the entry of the charger."""
    return http_entry(vendor)


@pytest.fixture(name="charger")
async def charger_fixture(vendor: Vendor) -> MagicMock:
    """Return the mocked adapter of a charging charger."""
    return mock_adapter(vendor, *await charger_models(vendor))


@pytest.fixture(name="create_charger")
def create_charger_fixture(vendor: Vendor, charger: MagicMock) -> Iterator[MagicMock]:
    """Patch the backend's charger factory, which set-up and the flow use."""
    factory = MagicMock(return_value=charger)
    with patch.object(BACKEND[vendor], "create_charger", factory):
        yield factory


@pytest.fixture(name="http_platforms")
def http_platforms_fixture(vendor: Vendor) -> list[Platform]:
    """Return the platforms to load; a test may narrow it."""
    return list(KINDS[vendor].platforms)


@pytest.fixture(name="init_http")
async def init_http_fixture(
    hass: HomeAssistant,
    http_config_entry: MockConfigEntry,
    create_charger: MagicMock,
    http_platforms: list[Platform],
) -> MockConfigEntry:
    """Set up the charger's entry with the adapter mocked."""
    http_config_entry.add_to_hass(hass)
    await setup_entry(hass, http_config_entry, http_platforms)
    return http_config_entry
