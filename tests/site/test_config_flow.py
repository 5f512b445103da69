"""Setting a site up, changing its options and reconfiguring it."""

from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.const import DOMAIN

from .conftest import KEY, METER, SITE_OPTIONS, FakeControl, set_meter

SITE_FORM = {"fuse_a": 20, "phases": "3", "voltage_v": 230, "meter_kind": "current"}
METER_FORM = {
    "meter_l1": METER[0],
    "meter_l2": METER[1],
    "meter_l3": METER[2],
    "sign": "import_positive",
}
CHARGERS_FORM = {"connectors": [KEY], "fallback": "pause", "fallback_current_a": 6}


@pytest.fixture(autouse=True)
def meter(hass: HomeAssistant) -> Iterator[None]:
    """Give the meter's sensors a state; created sites are not started."""
    set_meter(hass, 2.0, 2.0, 2.0)
    with patch("custom_components.evse_bridge.async_setup_entry", return_value=True):
        yield


async def start(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the menu and pick the site."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert "site" in result["menu_options"]
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "site"}
    )


async def configure(
    hass: HomeAssistant, result: ConfigFlowResult, values: dict[str, Any]
) -> ConfigFlowResult:
    """Submit a form."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], values)


def fields(result: ConfigFlowResult) -> dict[str, Any]:
    """Return a form's fields by name."""
    schema = result["data_schema"]
    assert schema is not None
    return {str(key): value for key, value in schema.schema.items()}


async def test_no_chargers(hass: HomeAssistant) -> None:
    """Without a charger that can be driven there is nothing to set up."""
    result = await start(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_chargers"


async def test_full_set_up_with_every_error(
    hass: HomeAssistant, control: FakeControl
) -> None:
    """Each form explains what is wrong, and the site is created in the end."""
    result = await start(hass)
    assert result["step_id"] == "site"
    result = await configure(hass, result, {"name": "Home", **SITE_FORM, "fuse_a": 3})
    assert result["errors"] == {"fuse_a": "fuse_too_small"}
    result = await configure(hass, result, {"name": "Home", **SITE_FORM})
    assert result["step_id"] == "site_meter"

    result = await configure(
        hass,
        result,
        {
            "meter_l1": METER[0],
            "meter_l3": "sensor.nowhere",
            "sign": "import_positive",
            "window_start": "01:00:00",
        },
    )
    assert result["errors"] == {
        "meter_l2": "phase_sensor_missing",
        "meter_l3": "entity_not_found",
        "base": "window_incomplete",
    }
    result = await configure(
        hass,
        result,
        {**METER_FORM, "window_start": "01:00:00", "window_end": "05:00:00"},
    )
    assert result["step_id"] == "site_chargers"
    options = fields(result)["connectors"].config["options"]
    assert options == [{"value": KEY, "label": "Garage, connector 1"}]

    result = await configure(hass, result, {**CHARGERS_FORM, "connectors": []})
    assert result["errors"] == {"connectors": "no_connectors"}
    result = await configure(hass, result, CHARGERS_FORM)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home"
    assert result["data"] == {"type": "site", "name": "Home"}
    assert result["options"] == {
        **SITE_FORM,
        **METER_FORM,
        "window_start": "01:00:00",
        "window_end": "05:00:00",
        **CHARGERS_FORM,
    }
    assert result["result"].unique_id == "site_home"


async def test_power_meter_and_one_phase(
    hass: HomeAssistant, control: FakeControl
) -> None:
    """A power meter may name a voltage sensor; one phase needs one sensor."""
    hass.states.async_set("sensor.voltage", "231", {"unit_of_measurement": "V"})
    result = await start(hass)
    result = await configure(
        hass,
        result,
        {"name": "Cabin", **SITE_FORM, "phases": "1", "meter_kind": "power"},
    )
    schema = fields(result)
    assert "meter_voltage" in schema
    assert "meter_l2" not in schema
    result = await configure(
        hass,
        result,
        {
            "meter_l1": METER[0],
            "meter_voltage": "sensor.voltage",
            "sign": "import_negative",
        },
    )
    result = await configure(hass, result, CHARGERS_FORM)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"]["meter_voltage"] == "sensor.voltage"


async def test_same_name_twice(
    hass: HomeAssistant, control: FakeControl, site_entry: MockConfigEntry
) -> None:
    """A site name is used once."""
    result = await start(hass)
    result = await configure(hass, result, {"name": "Home", **SITE_FORM})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_options_change_everything(
    hass: HomeAssistant, control: FakeControl, site_entry: MockConfigEntry
) -> None:
    """The options walk the same forms; an emptied field is dropped."""
    hass.config_entries.async_update_entry(
        site_entry, options={**SITE_OPTIONS, "price": METER[0]}
    )
    result = await hass.config_entries.options.async_init(site_entry.entry_id)
    assert result["step_id"] == "site"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**SITE_FORM, "fuse_a": 2}
    )
    assert result["errors"] == {"fuse_a": "fuse_too_small"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**SITE_FORM, "fuse_a": 25}
    )
    assert result["step_id"] == "site_meter"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], METER_FORM
    )
    assert result["step_id"] == "site_chargers"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], CHARGERS_FORM
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert site_entry.options["fuse_a"] == 25
    assert "price" not in site_entry.options


async def test_reconfigure(
    hass: HomeAssistant, control: FakeControl, site_entry: MockConfigEntry
) -> None:
    """Reconfiguring walks the same forms and reloads the site."""
    result = await site_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "site_reconfigure"
    assert "name" not in fields(result)
    result = await configure(hass, result, {**SITE_FORM, "fuse_a": 1})
    assert result["errors"] == {"fuse_a": "fuse_too_small"}
    result = await configure(hass, result, {**SITE_FORM, "fuse_a": 35})
    result = await configure(hass, result, METER_FORM)
    result = await configure(hass, result, CHARGERS_FORM)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert site_entry.options["fuse_a"] == 35
    assert site_entry.data["name"] == "Home"
