"""The hub: every loaded charger, listed, followed and commanded by capability.

What a controller or an exporter (not an entity) sees: a CTEK Chargestorm over
MQTT and a Mennekes AMTRON over HTTP, side by side, without knowing their make.
"""

import asyncio
from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.control import CurrentRange
from custom_components.evse_bridge.api.errors import (
    ChargerAuthenticationError,
    CommandNotSupportedError,
)
from custom_components.evse_bridge.hub import ChargerHandle, async_get_hub

from .conftest import CBID, Vendor, publish, publish_documented_burst
from .http_fixtures import (  # noqa: F401 - pytest finds fixtures by name
    SERIAL,
    charger_fixture,
    create_charger_fixture,
    http_config_entry_fixture,
    http_platforms_fixture,
    init_http_fixture,
    reauth_flows,
)

M = Vendor.MENNEKES


@pytest.fixture(name="vendor")
def vendor_fixture() -> Vendor:
    """Test with a Mennekes AMTRON beside the Chargestorm."""
    return M


@pytest.fixture
async def both(
    hass: HomeAssistant, init_integration: MockConfigEntry, init_http: MockConfigEntry
) -> tuple[ChargerHandle, ChargerHandle]:
    """Return the Chargestorm's and the AMTRON's handles, with data."""
    await publish_documented_burst(hass)
    hub = async_get_hub(hass)
    ctek, amtron = hub.get(CBID), hub.get(SERIAL[M])
    assert ctek is not None
    assert amtron is not None
    return ctek, amtron


async def test_loaded_chargers_are_listed(
    hass: HomeAssistant,
    both: tuple[ChargerHandle, ChargerHandle],
    init_http: MockConfigEntry,
) -> None:
    """Each loaded charger is there with its identity, connectors and capabilities."""
    ctek, amtron = both
    hub = async_get_hub(hass)
    assert set(hub.chargers) == {CBID, SERIAL[M]}
    assert ctek.name == f"Chargestorm {CBID}"
    assert [part.number for part in ctek.connectors()] == [1, 2]
    assert ctek.connector(3) is None
    # MQTT is read-only: no capability, whatever the connector.
    assert ctek.capabilities(1).current_limit is None
    assert amtron.info.manufacturer == "MENNEKES"
    assert amtron.capabilities(1).current_limit == CurrentRange(min_a=6, max_a=32)
    assert amtron.capabilities(1).operating_modes == ("remote", "home_manager", "time")
    part = amtron.connector(1)
    assert part is not None
    assert amtron.is_available(part)

    changes: list[set[str]] = []
    unsubscribe = hub.async_add_listener(lambda: changes.append(set(hub.chargers)))
    assert await hass.config_entries.async_unload(init_http.entry_id)
    assert changes == [{CBID}]
    assert hub.get(SERIAL[M]) is None
    unsubscribe()


async def test_state_is_followed(
    hass: HomeAssistant, both: tuple[ChargerHandle, ChargerHandle]
) -> None:
    """A listener hears every change; the state is the vendor-neutral one."""
    ctek, _ = both
    heard: list[float | None] = []

    def energy() -> None:
        part = ctek.connector(1)
        assert part is not None
        assert part.meter is not None
        heard.append(part.meter.energy_wh)

    unsubscribe = ctek.async_add_listener(energy)
    await publish(hass, "evse1", "em", {"energy": 3105200, "power": 7000})
    unsubscribe()
    await publish(hass, "evse1", "em", {"energy": 3105300, "power": 7000})
    assert heard == [3105200]


async def test_commands_by_capability(
    both: tuple[ChargerHandle, ChargerHandle], charger: MagicMock
) -> None:
    """Commands reach the charger by connector number; what it cannot do is refused."""
    ctek, amtron = both
    result = await amtron.async_set_current_limit(1, 10)
    charger.set_current_limit.assert_awaited_once_with(1, 10)
    assert result.took_s >= 0
    await amtron.async_set_operating_mode(1, "time")
    charger.set_operating_mode.assert_awaited_once_with(1, "time")
    with pytest.raises(ValueError, match="6-32 A"):
        await amtron.async_set_current_limit(1, 40)
    with pytest.raises(CommandNotSupportedError):
        await amtron.async_set_operating_mode(1, "turbo")
    with pytest.raises(CommandNotSupportedError):
        await amtron.async_set_phases(1, 1)
    with pytest.raises(CommandNotSupportedError):
        await ctek.async_set_current_limit(1, 10)
    with pytest.raises(CommandNotSupportedError):
        await ctek.async_set_charging_enabled(1, False)
    # Neither make can be taken out of service or restarted here.
    with pytest.raises(CommandNotSupportedError):
        await amtron.async_set_available(1, False)
    assert not amtron.can_restart
    with pytest.raises(CommandNotSupportedError):
        await amtron.async_restart()
    assert charger.set_current_limit.await_count == 1


async def test_commands_to_one_charger_run_one_at_a_time(
    both: tuple[ChargerHandle, ChargerHandle], charger: MagicMock
) -> None:
    """Two callers at once: the second command waits for the first."""
    _, amtron = both
    running = 0
    most = 0

    async def slow(_connector: int, _amps: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    charger.set_current_limit.side_effect = slow
    await asyncio.gather(
        amtron.async_set_current_limit(1, 8), amtron.async_set_current_limit(1, 9)
    )
    assert charger.set_current_limit.await_count == 2
    assert most == 1


async def test_refused_credentials_start_reauthentication(
    hass: HomeAssistant,
    both: tuple[ChargerHandle, ChargerHandle],
    charger: MagicMock,
    init_http: MockConfigEntry,
) -> None:
    """A PIN the box no longer takes asks the user for the new one."""
    _, amtron = both
    charger.start_charging.side_effect = ChargerAuthenticationError("403")
    with pytest.raises(ChargerAuthenticationError):
        await amtron.async_start_charging(1)
    await hass.async_block_till_done()
    assert len(reauth_flows(hass, init_http)) == 1
