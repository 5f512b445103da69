"""Live servers and a browser for the frontend tests, shared by a module.

Starting Home Assistant is the slow part, so it and the simulator are
module-scoped; every test gets its own Chromium and logs in again.
Each fixture stops what it started, also when a test fails.
"""

from collections.abc import Generator, Iterator
import contextlib
from dataclasses import dataclass
from pathlib import Path
import subprocess
import sys

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Error as PlaywrightError,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)
import pytest
import pytest_socket

from devtools.live import ROOT, HomeAssistant, free_port, wait_for_port

ARTIFACTS = ROOT / "artifacts"
USERNAME = "owner"
PASSWORD = "browser-test"  # noqa: S105 - a throw-away local instance
PIN = "1234"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 1600}
TIMEOUT_MS = 20_000
"""Longest wait for one UI state; a healthy run needs a fraction of it."""
APP_LOAD_TIMEOUT_MS = 180_000
"""Longest wait for the frontend's first load after logging in.

A fresh browser profile compiles all of the app's JavaScript and Home
Assistant loads every translation and service description for it: seconds
on an idle machine, much longer on a busy one.
"""

FAILED = pytest.StashKey[bool]()


@dataclass(frozen=True)
class Simulator:
    """A simulated charger process and where it listens."""

    port: int
    pin: str

    @property
    def charge_data_url(self) -> str:
        """Return the URL of the box's charging state."""
        return f"http://127.0.0.1:{self.port}/MHCP/1.0/ChargeData?DevKey={self.pin}"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite's autouse fixture: no in-process Home Assistant here."""


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """Replace the test plugin's check of the in-process Home Assistant's loop.

    Home Assistant runs in a child process here; the thread the plugin would
    find left over is Playwright's own event loop executor, not a leak of ours.
    """


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember a failed test, so that its page fixture takes a screenshot."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="module")
def live_sockets() -> None:
    """Let the module's fixtures reach 127.0.0.1 while they start servers.

    The Home Assistant test plugin blocks sockets before every test;
    ``socket_enabled`` lifts that only for function-scoped code.
    """
    pytest_socket.enable_socket()


@contextlib.contextmanager
def child(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a process for as long as the context lasts; stop it even on errors."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own fixed commands
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def simulator(
    live_sockets: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Simulator]:
    """Run a simulated Mennekes AMTRON with a car plugged in and charging."""
    port = free_port()
    command = [sys.executable, "-m", "simulators.mennekes"]
    command += ["--port", str(port), "--dev-key", PIN, "--plugged-in"]
    log = tmp_path_factory.mktemp("mennekes") / "simulator.log"
    with child(command, log):
        wait_for_port(port)
        yield Simulator(port, PIN)


@pytest.fixture(scope="module")
def home_assistant(
    live_sockets: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HomeAssistant]:
    """Run Home Assistant with a fresh configuration and an owner account."""
    config_dir = tmp_path_factory.mktemp("home-assistant")
    instance = HomeAssistant(config_dir, port=free_port())
    instance.write_configuration()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "browser-home-assistant.log"
    with log.open("wb") as output:
        try:
            instance.start(output=output.fileno())
            instance.onboard(USERNAME, PASSWORD)
            instance.wait_until_running()
            yield instance
        finally:
            instance.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Run Debian's Chromium, headless, through Playwright.

    Function-scoped although it takes a second: between its calls the sync
    API marks its event loop as running in this thread, which would break the
    test plugin's async fixtures of the next test.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def keep_offline(route: Route) -> None:
    """Answer brand images of other integrations: they would come from the web."""
    if "/evse_bridge/" in route.request.url:
        route.continue_()
    else:
        route.fulfill(status=404)


@pytest.fixture
def page(
    browser: Browser,
    home_assistant: HomeAssistant,
    socket_enabled: None,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    """Open a fresh browser context, logged in as the owner."""
    context: BrowserContext = browser.new_context(
        viewport=VIEWPORT, base_url=home_assistant.url, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    context.route("**/api/brands/**", keep_offline)
    tab = context.new_page()
    (ARTIFACTS / f"failure-{request.node.name}.png").unlink(missing_ok=True)
    try:
        try:
            log_in(tab)
        except Exception:
            save_failure(tab, request.node.name)
            raise
        yield tab
        if request.node.stash.get(FAILED, False):
            save_failure(tab, request.node.name)
    finally:
        context.close()


def save_failure(tab: Page, name: str) -> None:
    """Keep a screenshot of the page a test failed on."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"failure-{name}.png"
    try:
        tab.screenshot(path=shot, full_page=True)
    except PlaywrightError as error:  # a crashed browser must not hide the failure
        print(f"no screenshot of the failure: {error}")  # noqa: T201
    else:
        print(f"screenshot of the failure: {shot}")  # noqa: T201


def log_in(tab: Page) -> None:
    """Log in on Home Assistant's login page; return once the app is ready.

    Ready is the frontend's own signal: it renders ``home-assistant-main``
    once it has the states, the configuration and the services, and removes
    its launch screen ("Loading...") once the first panel has rendered.
    """
    tab.goto("/")
    tab.get_by_role("textbox", name="Username").fill(USERNAME)
    tab.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    expect(
        tab.locator("home-assistant-main"), "the frontend did not load its data"
    ).to_be_attached(timeout=APP_LOAD_TIMEOUT_MS)
    expect(
        tab.locator("#ha-launch-screen"), "the frontend did not render its first page"
    ).to_have_count(0, timeout=APP_LOAD_TIMEOUT_MS)
    expect(tab.get_by_role("link", name="Settings")).to_be_visible()
