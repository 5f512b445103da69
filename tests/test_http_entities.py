"""Tests for the entities and controls of the HTTP chargers (Circontrol, Mennekes)."""

from typing import Any
from unittest.mock import MagicMock

from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    ChargerCommandError,
    ChargerConnectionError,
    ChargerError,
)
from custom_components.evse_bridge.api.model import ChargerState
from custom_components.evse_bridge.const import DOMAIN

from .conftest import Vendor
from .http_fixtures import (  # noqa: F401 - pytest finds fixtures by name
    PART,
    SERIAL,
    TITLE,
    charger_fixture,
    create_charger_fixture,
    entity_id,
    http_config_entry_fixture,
    http_platforms_fixture,
    init_http_fixture,
    mennekes_charge_data,
    mennekes_state,
    reauth_flows,
    vendor_fixture,
    with_connector,
)

C, M = Vendor.CIRCONTROL, Vendor.MENNEKES


def state_of(hass: HomeAssistant, domain: str, vendor: Vendor, key: str) -> str:
    """Return the state of one entity of the charger's connector."""
    state = hass.states.get(entity_id(hass, domain, vendor, key))
    assert state is not None
    return state.state


def attribute_of(
    hass: HomeAssistant, domain: str, vendor: Vendor, key: str, attribute: str
) -> Any:
    """Return an attribute of one entity of the charger's connector."""
    state = hass.states.get(entity_id(hass, domain, vendor, key))
    assert state is not None
    return state.attributes[attribute]


def reported_after(charger: MagicMock, command: str, state: ChargerState) -> None:
    """Make the charger report ``state`` from the moment ``command`` is sent."""

    def apply(*_args: object) -> None:
        charger.get_state.return_value = state

    getattr(charger, command).side_effect = apply


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    ("vendor", "http_platforms"),
    [
        *[
            (vendor, [platform])
            for vendor in (C, M)
            for platform in (
                Platform.BINARY_SENSOR,
                Platform.BUTTON,
                Platform.NUMBER,
                Platform.SENSOR,
                Platform.SWITCH,
            )
        ],
        (M, [Platform.SELECT]),
    ],
    ids=lambda value: value if isinstance(value, str) else value[0],
)
async def test_entities(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Every entity of one platform, attached to the connector's device."""
    entries = er.async_entries_for_config_entry(entity_registry, init_http.entry_id)
    assert entries
    await snapshot_platform(hass, entity_registry, snapshot, init_http.entry_id)
    charger = device_registry.async_get_device_by_identifier(
        (DOMAIN, SERIAL[vendor]), init_http.entry_id
    )
    assert charger is not None
    assert charger.name == TITLE[vendor]
    connector = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{SERIAL[vendor]}_{PART[vendor]}"), init_http.entry_id
    )
    assert connector is not None
    assert connector.via_device_id == charger.id
    for entry in entries:
        assert entry.device_id == connector.id


@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_values(hass: HomeAssistant, init_http: MockConfigEntry) -> None:
    """A charging AMTRON: power, energy, status and its settings."""
    assert state_of(hass, "sensor", M, "power") == "6900.0"
    # The box reports session energy only: the lifetime total starts with it.
    assert state_of(hass, "sensor", M, "energy") == "3.45"
    assert state_of(hass, "sensor", M, "session_energy") == "3.45"
    assert attribute_of(hass, "sensor", M, "energy", "state_class") == (
        "total_increasing"
    )
    assert state_of(hass, "sensor", M, "session_duration") == "30.0"
    assert state_of(hass, "sensor", M, "status") == "charging"
    assert state_of(hass, "sensor", M, "mennekes_status") == "charging"
    assert state_of(hass, "sensor", M, "offered_current") == "10.0"
    assert state_of(hass, "binary_sensor", M, "vehicle_connected") == STATE_ON
    assert state_of(hass, "binary_sensor", M, "charging") == STATE_ON
    assert state_of(hass, "binary_sensor", M, "problem") == STATE_OFF
    assert state_of(hass, "number", M, "current_limit") == "10.0"
    assert attribute_of(hass, "number", M, "current_limit", "min") == 6
    assert attribute_of(hass, "number", M, "current_limit", "max") == 32
    assert state_of(hass, "switch", M, "charging_enabled") == STATE_ON
    assert state_of(hass, "switch", M, "auto_start") == STATE_ON
    assert state_of(hass, "select", M, "operating_mode") == "remote"


@pytest.mark.parametrize("vendor", [C])
async def test_circontrol_values(
    hass: HomeAssistant, init_http: MockConfigEntry
) -> None:
    """A charging CirCarLife: power, lifetime energy, status and its limit."""
    assert state_of(hass, "sensor", C, "power") == "7360.0"
    assert state_of(hass, "sensor", C, "energy") == "4856.64"
    assert state_of(hass, "sensor", C, "session_energy") == "1.25"
    assert state_of(hass, "sensor", C, "status") == "charging"
    assert state_of(hass, "sensor", C, "circontrol_status") == "charging"
    assert state_of(hass, "binary_sensor", C, "vehicle_connected") == STATE_ON
    assert state_of(hass, "binary_sensor", C, "charging") == STATE_ON
    assert state_of(hass, "binary_sensor", C, "problem") == STATE_OFF
    assert state_of(hass, "number", C, "current_limit") == "32.0"
    assert attribute_of(hass, "number", C, "current_limit", "max") == 32
    assert state_of(hass, "switch", C, "charging_enabled") == STATE_ON


async def test_set_current_limit_shows_what_the_charger_reports(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
) -> None:
    """The limit goes to the connector; the entity then shows the charger's value.

    The charger takes 16 A but reports 13 A (its own cap): 13 A is shown.
    """
    polls = charger.get_state.await_count
    reported_after(
        charger,
        "set_current_limit",
        with_connector(
            charger.get_state.return_value, PART[vendor], current_limit_a=13.0
        ),
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {
            ATTR_ENTITY_ID: entity_id(hass, "number", vendor, "current_limit"),
            "value": 16,
        },
        blocking=True,
    )
    charger.set_current_limit.assert_awaited_once_with(1, 16)
    assert charger.get_state.await_count == polls + 1
    assert state_of(hass, "number", vendor, "current_limit") == "13.0"


@pytest.mark.parametrize("value", [3, 5.9, 33, 99])
async def test_current_limit_out_of_range(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    value: float,
) -> None:
    """Below 6 A or above the charger's maximum is refused before any request."""
    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            "number",
            "set_value",
            {
                ATTR_ENTITY_ID: entity_id(hass, "number", vendor, "current_limit"),
                "value": value,
            },
            blocking=True,
        )
    assert exc_info.value.translation_key == "out_of_range"
    charger.set_current_limit.assert_not_called()


@pytest.mark.parametrize("value", ["nan", 12.5, 15.999])
async def test_current_limit_must_be_whole_amperes(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    value: float | str,
) -> None:
    """Not-a-number and fractions are refused with a translated message."""
    with pytest.raises(ServiceValidationError) as exc_info:
        await hass.services.async_call(
            "number",
            "set_value",
            {
                ATTR_ENTITY_ID: entity_id(hass, "number", vendor, "current_limit"),
                "value": value,
            },
            blocking=True,
        )
    assert exc_info.value.translation_key == "current_not_whole"
    charger.set_current_limit.assert_not_called()


@pytest.mark.parametrize(
    ("service", "enabled"), [("turn_off", False), ("turn_on", True)]
)
async def test_charging_enabled_switch(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    service: str,
    enabled: bool,
) -> None:
    """The switch pauses or allows charging; it shows what the charger reports."""
    initially = charger.get_state.return_value
    charger.get_state.return_value = with_connector(
        initially, PART[vendor], charging_enabled=not enabled
    )
    await init_http.runtime_data.coordinator.async_refresh()
    before = STATE_OFF if enabled else STATE_ON
    assert state_of(hass, "switch", vendor, "charging_enabled") == before
    reported_after(
        charger,
        "set_charging_enabled",
        with_connector(initially, PART[vendor], charging_enabled=enabled),
    )
    await hass.services.async_call(
        "switch",
        service,
        {ATTR_ENTITY_ID: entity_id(hass, "switch", vendor, "charging_enabled")},
        blocking=True,
    )
    charger.set_charging_enabled.assert_awaited_once_with(1, enabled)
    expected = STATE_ON if enabled else STATE_OFF
    assert state_of(hass, "switch", vendor, "charging_enabled") == expected


@pytest.mark.parametrize(
    ("key", "command"),
    [("start_charging", "start_charging"), ("stop_charging", "stop_charging")],
)
async def test_session_buttons(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    key: str,
    command: str,
) -> None:
    """Start and stop go to the connector, then the charger is read again."""
    polls = charger.get_state.await_count
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: entity_id(hass, "button", vendor, key)},
        blocking=True,
    )
    getattr(charger, command).assert_awaited_once_with(1)
    assert charger.get_state.await_count == polls + 1


@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_operating_mode(
    hass: HomeAssistant, init_http: MockConfigEntry, charger: MagicMock
) -> None:
    """The operating mode is chosen by name and shown as the box reports it."""
    reported_after(
        charger,
        "set_operating_mode",
        with_connector(charger.get_state.return_value, PART[M], operating_mode="time"),
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {
            ATTR_ENTITY_ID: entity_id(hass, "select", M, "operating_mode"),
            "option": "time",
        },
        blocking=True,
    )
    charger.set_operating_mode.assert_awaited_once_with(1, "time")
    assert state_of(hass, "select", M, "operating_mode") == "time"


@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_auto_start(
    hass: HomeAssistant, init_http: MockConfigEntry, charger: MagicMock
) -> None:
    """Starting on plug-in is turned off on the box and shown off."""
    reported_after(
        charger,
        "set_auto_start",
        with_connector(charger.get_state.return_value, PART[M], auto_start=False),
    )
    await hass.services.async_call(
        "switch",
        "turn_off",
        {ATTR_ENTITY_ID: entity_id(hass, "switch", M, "auto_start")},
        blocking=True,
    )
    charger.set_auto_start.assert_awaited_once_with(1, False)
    assert state_of(hass, "switch", M, "auto_start") == STATE_OFF


@pytest.mark.parametrize(
    ("error", "exception", "key", "placeholders"),
    [
        (
            ChargerCommandError("the limit did not change"),
            HomeAssistantError,
            "command_not_applied",
            {"error": "the limit did not change"},
        ),
        (
            ChargerConnectionError("timed out"),
            HomeAssistantError,
            "command_failed",
            {"error": "timed out"},
        ),
        (
            ChargerError("HTTP 500"),
            HomeAssistantError,
            "command_failed",
            {"error": "HTTP 500"},
        ),
        (
            ValueError("16 A is above the box's 13 A"),
            ServiceValidationError,
            "invalid_value",
            {"error": "16 A is above the box's 13 A"},
        ),
    ],
    ids=["command_not_applied", "connection", "charger_error", "invalid_value"],
)
async def test_command_errors(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    error: Exception,
    exception: type[HomeAssistantError],
    key: str,
    placeholders: dict[str, str],
) -> None:
    """A failed command is a translated error; the entity keeps the charger's value."""
    charger.set_current_limit.side_effect = error
    polls = charger.get_state.await_count
    before = state_of(hass, "number", vendor, "current_limit")
    with pytest.raises(exception) as exc_info:
        await hass.services.async_call(
            "number",
            "set_value",
            {
                ATTR_ENTITY_ID: entity_id(hass, "number", vendor, "current_limit"),
                "value": 16,
            },
            blocking=True,
        )
    assert type(exc_info.value) is exception
    assert exc_info.value.translation_domain == DOMAIN
    assert exc_info.value.translation_key == key
    assert exc_info.value.translation_placeholders == placeholders
    # The charger is read again, so the entity shows what it really has.
    assert charger.get_state.await_count == polls + 1
    assert state_of(hass, "number", vendor, "current_limit") == before
    assert reauth_flows(hass, init_http) == []


@pytest.mark.parametrize(
    ("domain", "service", "key", "data"),
    [
        ("button", "press", "start_charging", {}),
        ("switch", "turn_off", "charging_enabled", {}),
        ("number", "set_value", "current_limit", {"value": 16}),
    ],
    ids=["button", "switch", "number"],
)
async def test_command_refused_credentials_start_reauth(
    hass: HomeAssistant,
    vendor: Vendor,
    init_http: MockConfigEntry,
    charger: MagicMock,
    domain: str,
    service: str,
    key: str,
    data: dict[str, Any],
) -> None:
    """Credentials refused on a command: a clear error, and a reauth flow."""
    for command in (
        charger.start_charging,
        charger.set_charging_enabled,
        charger.set_current_limit,
    ):
        command.side_effect = ChargerAuthenticationError("403")
    with pytest.raises(HomeAssistantError) as exc_info:
        await hass.services.async_call(
            domain,
            service,
            {ATTR_ENTITY_ID: entity_id(hass, domain, vendor, key), **data},
            blocking=True,
        )
    assert type(exc_info.value) is HomeAssistantError
    assert exc_info.value.translation_key == "invalid_auth"
    assert exc_info.value.translation_placeholders is None
    await hass.async_block_till_done()
    assert len(reauth_flows(hass, init_http)) == 1


@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_select_error(
    hass: HomeAssistant, init_http: MockConfigEntry, charger: MagicMock
) -> None:
    """A mode the box does not take is reported, and the old mode still shown."""
    charger.set_operating_mode.side_effect = ChargerCommandError("mode unchanged")
    with pytest.raises(HomeAssistantError) as exc_info:
        await hass.services.async_call(
            "select",
            "select_option",
            {
                ATTR_ENTITY_ID: entity_id(hass, "select", M, "operating_mode"),
                "option": "home_manager",
            },
            blocking=True,
        )
    assert exc_info.value.translation_key == "command_not_applied"
    assert state_of(hass, "select", M, "operating_mode") == "remote"


@pytest.mark.parametrize("vendor", [M])
async def test_mennekes_idle_box(
    hass: HomeAssistant,
    charger: MagicMock,
    create_charger: MagicMock,
    http_config_entry: MockConfigEntry,
) -> None:
    """An idle box that never had a limit set shows the limit as unknown."""
    charger.get_state.return_value = mennekes_state(
        mennekes_charge_data("charge_data_idle.json")
    )
    http_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(http_config_entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "number", M, "current_limit") == "unknown"
    assert state_of(hass, "sensor", M, "status") == "available"
    assert state_of(hass, "binary_sensor", M, "vehicle_connected") == STATE_OFF
    assert state_of(hass, "sensor", M, "power") == "0.0"
