"""End to end: a site guards the main fuse with a real meter, broker and charger.

Home Assistant runs with its real MQTT integration against mosquitto. The
simulated house meter publishes its phase currents the way a P1 reader does,
MQTT sensors (``force_update: true``) show them, and the meter includes the
current of the simulated Mennekes AMTRON, which EVSE Bridge reaches over real
HTTP. The charger and the site are added through the config flows.

Time is simulated: each step moves Home Assistant's clock on (freezer), lets
the simulated box count its energy, takes one meter reading, and waits for
everything that reading set off (the MQTT messages, the engine, the commands
over HTTP and their read-back) before the next step. So a reaction is counted
in meter readings, whatever the speed of the machine, and hours of cheap-price
planning take seconds.
"""

from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.evse_bridge.api.mennekes import MennekesClient
from custom_components.evse_bridge.const import DOMAIN
from simulators.house_meter import (
    HouseMeter,
    MeterPublisher,
    hob,
    mennekes_load,
    oven,
)
from simulators.mennekes import CHARGING, PAUSED, MennekesSimulator

from .conftest import PIN, Broker, publish_until

AMTRON = "amtron_1234567890_connector_1"
FUSE_A = 20
BOX_MAX_A = 16
GRID = tuple(f"sensor.grid_l{phase}" for phase in (1, 2, 3))
PRICE = "sensor.nordpool_kwh_se3_sek_3_10_025"
MQTT_SENSORS = [
    {
        "name": f"Grid L{phase}",
        "unique_id": f"grid_l{phase}",
        "state_topic": f"dsmr/reading/phase_power_current_l{phase}",
        "unit_of_measurement": "A",
        "device_class": "current",
        "state_class": "measurement",
        # A steady meter must still count as reporting.
        "force_update": True,
    }
    for phase in (1, 2, 3)
]
PAUSE = {"fallback": "pause", "fallback_current_a": 6}
SETTLE_LIMIT_S = 30.0
"""Real seconds one step may take at most; a healthy step takes milliseconds."""

pytestmark = pytest.mark.parametrize(
    "hass_config", [{"mqtt": {"sensor": MQTT_SENSORS}}]
)


@pytest.fixture(autouse=True)
def no_request_spacing() -> Iterator[None]:
    """Send requests to the box back to back.

    The client spaces them half a second apart to spare a real box; here that
    wait would be a timer on the frozen clock, and the box is simulated.
    """
    with patch(
        "custom_components.evse_bridge.backends.mennekes.MennekesClient",
        partial(MennekesClient, request_interval=0.0),
    ):
        yield


@pytest.fixture
async def publisher(broker: Broker) -> AsyncGenerator[MeterPublisher]:
    """Connect the house meter's MQTT client."""
    client = MeterPublisher("127.0.0.1", broker.port)
    yield client
    client.close()


@dataclass
class World:
    """The house, the meter and the charger, moved on one step at a time."""

    hass: HomeAssistant
    meter: HouseMeter
    publisher: MeterPublisher
    mennekes: MennekesSimulator
    freezer: FrozenDateTimeFactory | None = None
    """Home Assistant's clock, frozen once the site is added."""
    car_a: list[tuple[datetime, float]] = field(default_factory=list)
    """What the car drew at each step."""

    async def add_site(
        self,
        freezer: FrozenDateTimeFactory,
        meter: dict[str, Any] | None = None,
        chargers: dict[str, Any] | None = None,
    ) -> ConfigEntry:
        """Add a site; from now on, time moves only with :meth:`run`."""
        self.freezer = freezer
        entry = await add_site(self.hass, meter or {}, chargers or PAUSE)
        await settle(self.hass)  # the first command: the fallback, until trusted
        return entry

    async def run(self, seconds: int, step: int = 1) -> None:
        """Let ``seconds`` pass, with a meter reading every ``step`` seconds."""
        assert self.freezer is not None, "add the site first"
        for _ in range(seconds // step):
            self.freezer.tick(timedelta(seconds=step))
            self.mennekes.advance(step)
            self.meter.advance(step)
            amps = self.mennekes.power_w / 3 / 230
            self.car_a.append((dt_util.utcnow(), amps))
            if messages := self.meter.reading():
                self.publisher.publish(messages)
                await settle(self.hass, self.reading_arrived)
            else:
                await settle(self.hass)

    def reading_arrived(self) -> bool:
        """Return whether Home Assistant has the meter's latest reading."""
        now = dt_util.utcnow().timestamp()
        return all(
            (state := self.hass.states.get(entity_id)) is not None
            and state.last_reported_timestamp == now
            for entity_id in GRID
        )

    def overloaded(self, since: float) -> list[tuple[float, float, float]]:
        """Return the readings above the fuse on any phase, from ``since`` on."""
        return [
            amps
            for clock, amps in self.meter.samples
            if clock >= since and max(amps) > FUSE_A
        ]


def wall_clock() -> float:
    """Return the machine's monotonic clock, which the freezer does not stop."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def settle(hass: HomeAssistant, ready: Callable[[], bool] = lambda: True) -> None:
    """Wait until ``ready`` holds and EVSE Bridge has nothing left to do.

    Its commands run as the entries' background tasks (HTTP to the box and
    the read-back); they need no timer, so the frozen clock stops nothing.
    """
    deadline = wall_clock() + SETTLE_LIMIT_S
    while True:
        await hass.async_block_till_done()
        busy = [
            task
            for entry in hass.config_entries.async_entries(DOMAIN)
            for task in entry._background_tasks
            if not task.done()
        ]
        if not busy and ready():
            return
        if wall_clock() > deadline:
            pytest.fail(f"step did not settle: {busy or ready}")
        await hass.async_block_till_done()


async def add_mennekes(hass: HomeAssistant, port: int) -> ConfigEntry:
    """Add the AMTRON through the config flow."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "mennekes"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port, "pin": PIN}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return result["result"]


async def add_site(
    hass: HomeAssistant, meter: dict[str, Any], chargers: dict[str, Any]
) -> ConfigEntry:
    """Add a site through its three forms; it drives the only connector offered."""
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "site"})
    result = await flow.async_configure(
        result["flow_id"],
        {
            "name": "Home",
            "fuse_a": FUSE_A,
            "phases": "3",
            "voltage_v": 230,
            "meter_kind": "current",
        },
    )
    assert result["step_id"] == "site_meter", result
    result = await flow.async_configure(
        result["flow_id"],
        {
            "meter_l1": GRID[0],
            "meter_l2": GRID[1],
            "meter_l3": GRID[2],
            "sign": "import_positive",
            **meter,
        },
    )
    assert result["step_id"] == "site_chargers", result
    schema = result["data_schema"]
    assert schema is not None
    [connectors] = [
        value for key, value in schema.schema.items() if key == "connectors"
    ]
    [connector] = connectors.config["options"]
    result = await flow.async_configure(
        result["flow_id"], {"connectors": [connector["value"]], **chargers}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


@pytest.fixture
async def world(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    mennekes: MennekesSimulator,
    publisher: MeterPublisher,
) -> World:
    """Return the house with its meter reporting and the AMTRON added; no site."""
    meter = HouseMeter(appliances=[oven(), hob()], chargers=[mennekes_load(mennekes)])
    await add_mennekes(hass, mennekes.port)

    def sensors_known() -> bool:
        return all(
            (state := hass.states.get(entity_id)) is not None
            and state.state not in ("unknown", "unavailable")
            for entity_id in GRID
        )

    # The first readings may come before Home Assistant has subscribed.
    await publish_until(hass, lambda: publisher.publish(meter.reading()), sensors_known)
    meter.samples.clear()
    return World(hass, meter, publisher, mennekes)


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


async def test_oven_reduces_the_charger_before_the_fuse_trips(
    hass: HomeAssistant, world: World, freezer: FrozenDateTimeFactory
) -> None:
    """The oven starts: the car gets less at once; the hob on top pauses it."""
    await world.add_site(freezer)
    # A new site trusts the meter after 30 s of readings, and a car it paused
    # rests 5 minutes before it charges again.
    await world.run(330)
    assert world.mennekes.chg_state == CHARGING
    assert world.mennekes.offered_current == BOX_MAX_A
    assert state(hass, f"sensor.{AMTRON}_smart_charging_reason") == "charging"
    assert max(world.meter.samples[-1][1]) == pytest.approx(1.6 + BOX_MAX_A)

    oven_on = world.meter.clock
    world.meter.switch("oven", on=True)
    await world.run(30)
    # L3: 1.6 A of base load + 9.5 A of oven; the fuse leaves the car 8 A.
    assert world.overloaded(oven_on) == [(26.7, 26.3, 27.1)]
    assert world.mennekes.offered_current == 8
    assert world.mennekes.chg_state == CHARGING
    assert state(hass, f"sensor.{AMTRON}_smart_charging_reason") == "fuse_limited"
    assert state(hass, f"binary_sensor.{AMTRON}_fuse_guard_active") == "on"

    hob_on = world.meter.clock
    world.meter.switch("hob", on=True)
    await world.run(30)
    # L1 with oven and hob: 18.7 A without the car; not even 6 A fit.
    assert len(world.overloaded(hob_on)) <= 1
    assert world.mennekes.chg_state == PAUSED
    assert state(hass, f"sensor.{AMTRON}_smart_charging_reason") == "fuse_paused"


@pytest.mark.parametrize(
    ("fallback", "box_state", "box_current"),
    [("pause", PAUSED, BOX_MAX_A), ("safe_current", CHARGING, 6)],
)
async def test_silent_meter_falls_back_and_recovers(
    hass: HomeAssistant,
    world: World,
    freezer: FrozenDateTimeFactory,
    fallback: str,
    box_state: str,
    box_current: int,
) -> None:
    """The P1 reader stops: the fallback within 15 s; it returns: full current."""
    await world.add_site(
        freezer, chargers={"fallback": fallback, "fallback_current_a": 6}
    )
    await world.run(330)
    assert world.mennekes.chg_state == CHARGING
    assert world.mennekes.offered_current == BOX_MAX_A

    world.meter.silent = True
    await world.run(9)
    assert world.mennekes.chg_state == CHARGING
    assert world.mennekes.offered_current == BOX_MAX_A
    await world.run(6)
    assert world.mennekes.chg_state == box_state
    assert world.mennekes.offered_current == box_current
    assert state(hass, f"sensor.{AMTRON}_smart_charging_reason") == "meter_stale"
    assert state(hass, f"binary_sensor.{AMTRON}_fuse_guard_active") == "on"
    assert state(hass, "sensor.home_fuse_headroom") == "unknown"

    world.meter.silent = False
    await world.run(20)  # not yet trusted again
    assert world.mennekes.chg_state == box_state
    assert world.mennekes.offered_current == box_current
    await world.run(300)
    assert world.mennekes.chg_state == CHARGING
    assert world.mennekes.offered_current == BOX_MAX_A
    assert state(hass, f"sensor.{AMTRON}_smart_charging_reason") == "charging"


def nord_pool(start: datetime, prices: list[float]) -> dict[str, Any]:
    """Return a price sensor's attributes as the Nord Pool custom integration has them.

    Quarter-hour prices from ``start`` on, split into today's and tomorrow's
    (local days), per kWh.
    """
    today = dt_util.as_local(start).date()
    slots: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for index, price in enumerate(prices):
        begin = start + timedelta(minutes=15 * index)
        slots[dt_util.as_local(begin).date() == today].append(
            {
                "start": begin.isoformat(),
                "end": (begin + timedelta(minutes=15)).isoformat(),
                "value": price,
            }
        )
    return {
        "raw_today": slots[True],
        "raw_tomorrow": slots[False],
        "tomorrow_valid": True,
        "unit": "kWh",
        "currency": "SEK",
        "price_in_cents": False,
        "unit_of_measurement": "SEK/kWh",
    }


async def test_cheapest_hours_charge_in_the_cheap_slots_and_meet_the_target(
    hass: HomeAssistant, world: World, freezer: FrozenDateTimeFactory
) -> None:
    """5 kWh by the ready-by time, in the two cheapest quarters only."""
    now = dt_util.utcnow()
    first = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    # Two hours and a half of quarters: dear, then the two cheapest from the
    # fifth on (an 11 kW car needs 27 minutes for 5 kWh), then dear again.
    prices = [2.0, 2.1, 1.9, 2.2, 0.3, 0.4, 1.2, 1.8, 2.5, 2.4, 2.6]
    hass.states.async_set(PRICE, str(prices[0]), nord_pool(first, prices))
    cheap_from = first + timedelta(minutes=60)
    cheap_until = first + timedelta(minutes=90)
    ready_by = dt_util.as_local(first + timedelta(minutes=150))

    await world.add_site(freezer, meter={"price": PRICE})
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": f"select.{AMTRON}_smart_charging", "option": "cheapest"},
        blocking=True,
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": f"number.{AMTRON}_target_energy", "value": 5},
        blocking=True,
    )
    await hass.services.async_call(
        "time",
        "set_value",
        {"entity_id": f"time.{AMTRON}_ready_by", "time": ready_by.strftime("%H:%M:%S")},
        blocking=True,
    )
    await world.run(60, step=5)
    assert state(hass, f"sensor.{AMTRON}_smart_charging_reason") == "waiting_for_slot"
    planned = dt_util.parse_datetime(state(hass, f"sensor.{AMTRON}_planned_start"))
    assert planned is not None
    assert cheap_from <= planned < cheap_until

    await world.run(int((ready_by - dt_util.utcnow()).total_seconds()), step=5)
    charging = [at for at, amps in world.car_a if amps > 0]
    assert charging, "the car never charged"
    assert cheap_from <= min(charging)
    assert max(charging) <= cheap_until
    assert world.mennekes.session_energy_wh >= 5000
    assert state(hass, f"sensor.{AMTRON}_smart_charging_reason") == "target_reached"
