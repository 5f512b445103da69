"""A closed loop for the site tests: the car draws what the charger allows."""

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from .conftest import FakeControl, set_meter


def car_amps(control: FakeControl) -> float:
    """Return what the car draws per phase: the limit, unless paused."""
    connector = control.coordinator.data.parts["connector1"].connector
    assert connector is not None
    if not connector.charging_enabled or connector.current_limit_a is None:
        return 0.0
    return connector.current_limit_a


async def run(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    control: FakeControl,
    seconds: int,
    house: tuple[float, float, float] = (2.0, 2.0, 2.0),
) -> None:
    """Let ``seconds`` pass with one meter sample a second."""
    for _ in range(seconds):
        freezer.tick(timedelta(seconds=1))
        car = car_amps(control)
        control.coordinator.draw(car, car, car)
        set_meter(hass, *(amps + car for amps in house))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


async def silence(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: int
) -> None:
    """Let ``seconds`` pass without a meter sample."""
    for _ in range(seconds):
        freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> State:
    """Return an entity's state, which must exist."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found
