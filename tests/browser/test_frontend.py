"""Add a Mennekes AMTRON in Home Assistant's UI and use it, in a real browser.

Settings > Devices & services > Add integration > EVSE Bridge > Mennekes,
against the simulator; then the device page: power and energy are shown and
the current limit slider changes the simulated box's current.
"""

from collections.abc import Callable
import json
import re
import threading
import time
from typing import Any, Self
import urllib.request

from playwright.sync_api import Locator, Page, expect

from devtools.live import HomeAssistant

from .conftest import ARTIFACTS, Simulator

DEVICE = "AMTRON 1234567890 connector 1"
LIMIT_ENTITY = "number.amtron_1234567890_connector_1_current_limit"
BOX_MAX_CURRENT_A = 16
VOLTAGE_V = 230
PHASES = 3


def charge_data(simulator: Simulator) -> dict[str, Any]:
    """Read the box's charging state from the simulator's own HTTP API."""
    request = urllib.request.Request(  # noqa: S310 - our own URL on 127.0.0.1
        simulator.charge_data_url, headers={"Accept": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        data: dict[str, Any] = json.load(response)
    return data


def wait_until(condition: Callable[[], bool], what: str, limit: float = 20) -> None:
    """Poll a condition on the servers (not the page) until it holds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            msg = f"timed out waiting until {what}"
            raise AssertionError(msg)
        time.sleep(0.1)


def open_mennekes_form(page: Page) -> None:
    """Open the Mennekes form from the sidebar, as a user does.

    Settings > Devices & services > Add integration > EVSE Bridge > Mennekes.
    """
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Devices & services").click()
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("EVSE Bridge")
    page.get_by_role("button", name="EVSE Bridge", exact=True).click()
    expect(page.get_by_text("Which charger?")).to_be_visible()
    page.get_by_text("Mennekes AMTRON (HTTP)").click()
    expect(page.get_by_role("spinbutton", name="Port")).to_have_value("25000")


def submit_mennekes_form(page: Page, simulator: Simulator, pin: str) -> None:
    """Fill in host, port and PIN, and submit."""
    page.get_by_role("textbox", name="Host").fill("127.0.0.1")
    page.get_by_role("spinbutton", name="Port").fill(str(simulator.port))
    page.get_by_role("textbox", name="PIN1 (app PIN)").fill(pin)
    page.get_by_role("button", name="Submit").click()


def entity_row(page: Page, kind: str, name: str) -> Locator:
    """Return the row of an entity on the device page by its name."""
    return page.locator(f"hui-{kind}-entity-row").filter(
        has=page.get_by_text(name, exact=True)
    )


def test_wrong_pin_shows_the_translated_error(page: Page, simulator: Simulator) -> None:
    """A PIN the box refuses keeps the form open with the integration's message."""
    open_mennekes_form(page)
    submit_mennekes_form(page, simulator, "0000")

    expect(page.locator("ha-alert")).to_have_text(
        "The charger refused these credentials."
    )
    # The form stays open for another try.
    expect(page.get_by_role("textbox", name="PIN1 (app PIN)")).to_have_value("0000")


def test_add_mennekes_and_change_the_current_limit(
    page: Page, simulator: Simulator, home_assistant: HomeAssistant
) -> None:
    """The whole way of a user: add the charger, open it, read it, control it."""
    shot = ARTIFACTS / "device-page.png"
    shot.unlink(missing_ok=True)  # no stale picture if this run fails
    open_mennekes_form(page)
    submit_mennekes_form(page, simulator, simulator.pin)
    expect(page.get_by_text("Name and assign")).to_be_visible()
    page.get_by_role("button", name="Skip and finish").click()

    # The frontend may or may not have moved on to the integration's page by
    # now; go there the long way. It lists the box and its connector.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Devices & services").click()
    page.get_by_role("link", name="EVSE Bridge").click()
    page.get_by_text(DEVICE, exact=True).click()
    page.wait_for_url("**/config/devices/device/**")
    expect(page.get_by_text(DEVICE, exact=True).first).to_be_visible()

    # Power and energy, with their units.
    expect(entity_row(page, "sensor", "Power")).to_contain_text(
        re.compile(r"\d[\d,.]*\sW(?!h)")
    )
    expect(entity_row(page, "sensor", "Energy")).to_contain_text(
        re.compile(r"\d[\d,.]*\skWh")
    )

    # The current limit: unknown until set. End sets the maximum; each arrow
    # key press is one step of 1 A.
    assert charge_data(simulator)["RemoteCurr"] == 0
    slider = entity_row(page, "number", "Current limit").get_by_role("slider")
    slider.focus()
    page.keyboard.press("End")
    wait_until(
        lambda: charge_data(simulator)["RemoteCurr"] == BOX_MAX_CURRENT_A,
        "the box's remote current is 16 A",
    )
    # Wait for the new state to come back before the next step, so that it
    # cannot move the slider back under the key press.
    wait_until(
        lambda: limit_state(home_assistant) == BOX_MAX_CURRENT_A,
        "Home Assistant reports 16 A",
    )
    expect(slider).to_have_attribute("aria-valuenow", str(BOX_MAX_CURRENT_A))

    page.keyboard.press("ArrowLeft")
    limit = BOX_MAX_CURRENT_A - 1
    wait_until(
        lambda: charge_data(simulator)["RemoteCurr"] == limit,
        f"the box's remote current is {limit} A",
    )
    expect(slider).to_have_attribute("aria-valuenow", str(limit))
    # The box now charges with less power, and the page shows it.
    power = charge_data(simulator)["ActPwr"]
    assert power == PHASES * VOLTAGE_V * limit
    expect(entity_row(page, "sensor", "Power")).to_contain_text(f"{power:,} W")
    assert limit_state(home_assistant) == limit

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=shot, full_page=True)
    print(f"screenshot of the device page: {shot}")  # noqa: T201


def limit_state(home_assistant: HomeAssistant) -> float | None:
    """Return the current limit entity's state, None while it is unknown."""
    state = home_assistant.states().get(LIMIT_ENTITY)
    try:
        return float(state["state"]) if state else None
    except ValueError:
        return None


SITE_DEVICE = "Home"
GRID = ("sensor.grid_l1", "sensor.grid_l2", "sensor.grid_l3")
HOUSE_A = (2.0, 1.5, 12.0)
"""The house without the car: an oven on L3 leaves the car 7 A of a 20 A fuse."""


class MeterFeeder:
    """Report the grid meter every second, the AMTRON's car included (closed loop).

    The browser test's Home Assistant has no MQTT: the readings are written
    through its REST API, as a P1 integration would write its sensors.
    """

    def __init__(self, home_assistant: HomeAssistant, simulator: Simulator) -> None:
        """Feed ``home_assistant`` from the house and ``simulator``'s car."""
        self._home_assistant = home_assistant
        self._simulator = simulator
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def report(self) -> None:
        """Write one reading of every phase."""
        data = charge_data(self._simulator)
        car = float(data["ActCurr"]) if data["ChgState"] == "Charging" else 0.0
        for entity_id, house in zip(GRID, HOUSE_A, strict=True):
            self._home_assistant.request(
                "POST",
                f"/api/states/{entity_id}",
                {
                    "state": f"{house + car:.1f}",
                    "attributes": {
                        "unit_of_measurement": "A",
                        "device_class": "current",
                        "state_class": "measurement",
                        "friendly_name": f"Grid {entity_id[-2:].upper()}",
                    },
                },
            )

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.report()

    def __enter__(self) -> Self:
        """Report once, then every second in the background."""
        self.report()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop reporting."""
        self._stop.set()
        self._thread.join(timeout=10)


def pick_entity(page: Page, field: str, name: str) -> None:
    """Pick an entity in the next empty entity field, by searching its name."""
    page.get_by_text("Select an entity").first.click()
    picker = page.get_by_role("dialog", name=field)
    expect(picker.get_by_role("textbox")).to_be_focused()
    page.keyboard.type(name)
    picker.get_by_text(name, exact=True).click()
    expect(picker).to_have_count(0)


def ensure_mennekes(home_assistant: HomeAssistant, simulator: Simulator) -> None:
    """Add the AMTRON through the flow API unless an earlier test added it."""
    entries = home_assistant.request("GET", "/api/config/config_entries/entry")
    if any(
        entry["domain"] == "evse_bridge" and entry["title"].startswith("AMTRON")
        for entry in entries
    ):
        return
    flow = home_assistant.request(
        "POST", "/api/config/config_entries/flow", {"handler": "evse_bridge"}
    )
    flow_path = f"/api/config/config_entries/flow/{flow['flow_id']}"
    home_assistant.request("POST", flow_path, {"next_step_id": "mennekes"})
    result = home_assistant.request(
        "POST",
        flow_path,
        {"host": "127.0.0.1", "port": simulator.port, "pin": simulator.pin},
    )
    assert result["type"] == "create_entry", result


def test_set_up_a_site_and_change_the_mode(
    page: Page, simulator: Simulator, home_assistant: HomeAssistant
) -> None:
    """Add a site in its three forms; the guard shows on the charger's page."""
    shot = ARTIFACTS / "site.png"  # docs/site.png, in the README, is a copy
    ensure_mennekes(home_assistant, simulator)
    with MeterFeeder(home_assistant, simulator):
        page.get_by_role("link", name="Settings").click()
        page.get_by_role("link", name="Devices & services").click()
        page.get_by_role("button", name="Add integration").click()
        page.get_by_placeholder("Search for a brand name").fill("EVSE Bridge")
        page.get_by_role("button", name="EVSE Bridge", exact=True).click()
        page.get_by_text("Site (main fuse, smart charging)").click()

        # 1. The fuse.
        expect(page.get_by_text("Site: main fuse")).to_be_visible()
        page.get_by_role("textbox", name="Name").fill(SITE_DEVICE)
        page.get_by_role("spinbutton", name="Main fuse").fill("20")
        page.get_by_role("button", name="Submit").click()
        # 2. The meter.
        expect(page.get_by_text("The grid meter")).to_be_visible()
        for phase in (1, 2, 3):
            pick_entity(page, f"Phase L{phase}", f"Grid L{phase}")
        page.get_by_role("button", name="Submit").click()
        # 3. The chargers.
        expect(page.get_by_text("The chargers")).to_be_visible()
        connector = page.get_by_role(
            "button", name="AMTRON 1234567890, connector 1", exact=True
        )
        if not connector.count():
            page.get_by_role("button", name="Connectors").click()
            page.get_by_text("AMTRON 1234567890, connector 1").click()
        expect(connector).to_be_visible()
        safe_current = page.get_by_role("radio", name="Charge at the safe current")
        safe_current.check()
        expect(safe_current).to_be_checked()
        page.get_by_role("button", name="Submit").click()
        page.get_by_role("button", name=re.compile("Skip and finish|Finish")).click()

        # The connector's device page has the site's entities: the guard
        # holds the car at what the fuse leaves (20 A - 12 A of house on L3).
        page.get_by_role("link", name="Settings").click()
        page.get_by_role("link", name="Devices & services").click()
        page.get_by_role("link", name="EVSE Bridge").click()
        page.get_by_text(DEVICE, exact=True).click()
        page.wait_for_url("**/config/devices/device/**")
        reason = entity_row(page, "sensor", "Smart charging reason")
        expect(reason).to_contain_text("Reduced for the main fuse", timeout=90_000)
        wait_until(
            lambda: charge_data(simulator)["RemoteCurr"] == 7,
            "the box's remote current is 7 A",
        )
        wait_until(
            lambda: charge_data(simulator)["ChgState"] == "Charging",
            "the car charges",
        )
        expect(entity_row(page, "sensor", "Status")).to_contain_text("Charging")
        mode = page.locator("hui-select-entity-row").filter(
            has=page.get_by_text("Smart charging", exact=True)
        )
        expect(mode).to_contain_text("Fast")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=shot, full_page=True)
        print(f"screenshot of the site on the device page: {shot}")  # noqa: T201

        # The owner switches to solar; the reason follows.
        mode.click()
        page.get_by_text("Solar only", exact=True).click()
        expect(mode).to_contain_text("Solar only")
        expect(reason).to_contain_text("Following the solar surplus")
