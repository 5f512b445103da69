"""scripts/develop: Home Assistant with simulated chargers, live on 127.0.0.1.

Starts mosquitto, a simulated CTEK Chargestorm (MQTT), Circontrol CirCarLife
and Mennekes AMTRON (HTTP), an OCPP 1.6J charge point, and Home Assistant
with EVSE Bridge set up for all of them: the MQTT broker entry, the OCPP
server, one entry per charger (the OCPP one accepted already), a user, and
the chargers' energy in the Energy dashboard.

The AMTRON sits behind a simulated house meter (a P1 reader publishing the
phase currents every second, with an oven that runs now and then) and is
driven by a site: a 20 A main fuse, MQTT sensors for the meter and a price
sensor with today's and tomorrow's prices, so the guard can be seen at work.

The first start writes all of it into the configuration folder; later starts
reuse it. Ctrl-C stops all.
"""

import argparse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
import json
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any

from devtools.live import ROOT, HomeAssistant, Mosquitto, config_entry, wait_for_port
from simulators.circontrol import MAIN_DEVICE

USERNAME = "dev"
PASSWORD = "evse-bridge"  # noqa: S105 - a local development instance
CTEK_ID = "91728M03W4010406"
MENNEKES_SERIAL = "1234567890"
MENNEKES_PIN = "1234"
CIRCONTROL_ID = MAIN_DEVICE[-8:].lower()
OCPP_ID = "SIMULATED-CP"
SITE_FUSE_A = 20
GRID_SENSORS = tuple(f"sensor.grid_l{phase}" for phase in (1, 2, 3))
PRICE_SENSOR = "sensor.electricity_price"
# SEK/kWh from midnight on: cheap at night, dear in the morning and evening.
HOURLY_PRICES = (
    *(0.42, 0.38, 0.35, 0.33, 0.34, 0.45, 0.92, 1.65, 1.80, 1.40, 1.10, 0.95),
    *(0.88, 0.85, 0.90, 1.05, 1.35, 1.95, 2.20, 1.85, 1.30, 0.95, 0.70, 0.55),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, default=ROOT / "config", help="configuration folder"
    )
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's port")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--mennekes-port", type=int, default=25000)
    parser.add_argument("--circontrol-port", type=int, default=18080)
    parser.add_argument("--ocpp-port", type=int, default=9000)
    parser.add_argument(
        "--no-simulators",
        action="store_true",
        help="start only the broker and Home Assistant; add real chargers in the UI",
    )
    return parser.parse_args(argv)


def charger_entries(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Return the config entries of the broker and the simulated chargers."""
    entries = [
        config_entry(
            "mqtt", "Mosquitto", {"broker": "127.0.0.1", "port": args.mqtt_port}
        )
    ]
    entries.append(
        config_entry(
            "evse_bridge",
            "OCPP server",
            {"vendor": "ocpp_server"},
            unique_id="ocpp_server",
            options={
                "port": args.ocpp_port,
                "path": "/ocpp",
                "new_charge_points": "ask",
                "id_tags": "",
                "configure_meter_values": True,
                "certfile": "",
                "keyfile": "",
            },
        )
    )
    if args.no_simulators:
        return entries
    return [
        *entries,
        config_entry(
            "evse_bridge",
            f"Chargestorm {CTEK_ID}",
            {"vendor": "ctek", "base_topic": "CTEK", "charger_id": CTEK_ID},
            unique_id=CTEK_ID,
        ),
        config_entry(
            "evse_bridge",
            f"CirCarLife {MAIN_DEVICE[-8:]}",
            {"vendor": "circontrol", "host": "127.0.0.1", "port": args.circontrol_port},
            unique_id=MAIN_DEVICE,
        ),
        config_entry(
            "evse_bridge",
            f"AMTRON {MENNEKES_SERIAL}",
            {
                "vendor": "mennekes",
                "host": "127.0.0.1",
                "port": args.mennekes_port,
                "pin": MENNEKES_PIN,
            },
            unique_id=MENNEKES_SERIAL,
        ),
        config_entry(
            "evse_bridge",
            "Home",
            {"vendor": "site", "name": "Home"},
            unique_id="site_home",
            options={
                "fuse_a": SITE_FUSE_A,
                "phases": "3",
                "voltage_v": 230,
                "meter_kind": "current",
                "meter_l1": GRID_SENSORS[0],
                "meter_l2": GRID_SENSORS[1],
                "meter_l3": GRID_SENSORS[2],
                "sign": "import_positive",
                "price": PRICE_SENSOR,
                "connectors": [f"{MENNEKES_SERIAL}:1"],
                "fallback": "pause",
                "fallback_current_a": 6,
            },
        ),
        # Accepted already, as if through its discovery flow; a charge point
        # with another id is asked about in Settings > Devices & services.
        config_entry(
            "evse_bridge",
            OCPP_ID,
            {
                "vendor": "ocpp",
                "charge_point_id": OCPP_ID,
                "manufacturer": "EVSE Bridge",
                "model": "Simulated CP",
            },
            unique_id=f"ocpp:{OCPP_ID}",
        ),
    ]


ENERGY_SENSORS = (
    f"sensor.chargestorm_{CTEK_ID.lower()}_evse_1_energy",
    f"sensor.chargestorm_{CTEK_ID.lower()}_evse_2_energy",
    f"sensor.circarlife_{CIRCONTROL_ID}_plug_1_energy",
    f"sensor.amtron_{MENNEKES_SERIAL}_connector_1_energy",
    f"sensor.{OCPP_ID.lower().replace('-', '_')}_connector_1_energy",
)


def write_energy_dashboard(config_dir: Path) -> None:
    """Put the chargers' energy into the Energy dashboard's individual devices."""
    document = {
        "version": 1,
        "minor_version": 3,
        "key": "energy",
        "data": {
            "energy_sources": [],
            "device_consumption": [
                {"stat_consumption": sensor} for sensor in ENERGY_SENSORS
            ],
            "device_consumption_water": [],
        },
    }
    (config_dir / ".storage" / "energy").write_text(json.dumps(document, indent=2))


def house_yaml() -> str:
    """Return the YAML of the meter's MQTT sensors and of the price sensor.

    The meter's sensors force an update, so a steady reading still counts as
    a report. The price sensor publishes like the Nord Pool custom
    integration (``raw_today`` and ``raw_tomorrow``), the same prices each day.
    """
    sensors = "".join(
        f"""
    - name: Grid L{phase}
      unique_id: develop_grid_l{phase}
      state_topic: dsmr/reading/phase_power_current_l{phase}
      unit_of_measurement: A
      device_class: current
      state_class: measurement
      force_update: true"""
        for phase in (1, 2, 3)
    )
    day = """{%- set ns = namespace(items=[]) -%}
            {%- for hour in range(24) -%}
            {%- set start = today_at() + timedelta(days=DAY, hours=hour) -%}
            {%- set ns.items = ns.items + [{"start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
                "value": PRICES[hour]}] -%}
            {%- endfor -%}
            {{ ns.items }}"""
    prices = list(HOURLY_PRICES)
    return f"""mqtt:
  sensor:{sensors}
template:
  - trigger:
      - trigger: homeassistant
        event: start
      - trigger: time_pattern
        minutes: "/15"
    sensor:
      - name: Electricity price
        unique_id: develop_electricity_price
        unit_of_measurement: SEK/kWh
        state: "{{{{ {prices}[now().hour] }}}}"
        attributes:
          unit: kWh
          currency: SEK
          price_in_cents: false
          raw_today: >
            {day.replace("DAY", "0").replace("PRICES", str(prices))}
          raw_tomorrow: >
            {day.replace("DAY", "1").replace("PRICES", str(prices))}
"""


@contextmanager
def process(command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run a helper process for as long as the context lasts."""
    child = subprocess.Popen(command)  # noqa: S603 - our own fixed commands
    try:
        yield child
    finally:
        child.terminate()
        child.wait(timeout=10)


def start_simulators(stack: ExitStack, args: argparse.Namespace) -> None:
    """Start the simulated chargers, each with a car that charges.

    The OCPP charge point connects once Home Assistant's server listens, and
    tries again every few seconds until then.
    """
    python = sys.executable
    stack.enter_context(
        process(
            [
                python,
                "-m",
                "simulators.ctek",
                "--port",
                str(args.mqtt_port),
                "--interval",
                "5",
            ]
        )
    )
    # The AMTRON runs in the house meter's process: the meter reads its car.
    stack.enter_context(
        process(
            [
                python,
                "-m",
                "simulators.house_meter",
                "--port",
                str(args.mqtt_port),
                "--mennekes-port",
                str(args.mennekes_port),
                "--mennekes-pin",
                MENNEKES_PIN,
            ]
        )
    )
    stack.enter_context(
        process(
            [
                python,
                "-m",
                "simulators.circontrol",
                "--port",
                str(args.circontrol_port),
                "--plugged-in",
            ]
        )
    )
    stack.enter_context(
        process(
            [
                python,
                "-m",
                "simulators.ocpp",
                "--url",
                f"ws://127.0.0.1:{args.ocpp_port}/ocpp/{OCPP_ID}",
                "--plugged-in",
                "--interval",
                "10",
            ]
        )
    )
    wait_for_port(args.mennekes_port)
    wait_for_port(args.circontrol_port)


def start_circontrol_session(home_assistant: HomeAssistant) -> None:
    """Press the CirCarLife's Start button: its car waits for a remote start."""
    button = f"button.circarlife_{CIRCONTROL_ID}_plug_1_start_charging"
    deadline = time.monotonic() + 30
    while button not in home_assistant.states():
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)
    home_assistant.request("POST", "/api/services/button/press", {"entity_id": button})


def main(argv: list[str] | None = None) -> None:
    """Run everything until Ctrl-C (or SIGTERM)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    args = parse_args(argv)
    config_dir: Path = args.config.resolve()
    first_start = not (config_dir / ".storage" / "core.config_entries").exists()
    home_assistant = HomeAssistant(
        config_dir,
        port=args.port,
        logs={"custom_components.evse_bridge": "info"},
        extra_yaml="" if args.no_simulators else house_yaml(),
    )
    home_assistant.write_configuration()
    if first_start:
        home_assistant.write_config_entries(charger_entries(args))
        if not args.no_simulators:
            write_energy_dashboard(config_dir)
    with ExitStack() as stack:
        broker = Mosquitto(args.mqtt_port, config_dir / ".mosquitto").start()
        stack.callback(broker.stop)
        if not args.no_simulators:
            start_simulators(stack, args)
        print(
            "Starting Home Assistant (the first start takes a minute) ...", flush=True
        )
        home_assistant.start(output=sys.stdout.fileno())
        stack.callback(home_assistant.stop)
        home_assistant.onboard(USERNAME, PASSWORD)
        home_assistant.wait_until_running()
        if not args.no_simulators:
            start_circontrol_session(home_assistant)
        print(
            f"\nHome Assistant: {home_assistant.url}"
            f"  user: {USERNAME}  password: {PASSWORD}\n"
            f"MQTT broker: 127.0.0.1:{args.mqtt_port}"
            + (
                ""
                if args.no_simulators
                else f"  Mennekes: 127.0.0.1:{args.mennekes_port} (PIN {MENNEKES_PIN})"
                f"  Circontrol: 127.0.0.1:{args.circontrol_port}"
                f"\nSite Home: a {SITE_FUSE_A} A main fuse guards the AMTRON;"
                " the house meter's oven runs 40 s every 2 minutes"
                " (its device page: Smart charging reason, Fuse guard active)"
            )
            + f"\nOCPP server: ws://127.0.0.1:{args.ocpp_port}/ocpp/<charge point id>"
            + "\nPress Ctrl-C to stop.",
            flush=True,
        )
        try:
            while (
                home_assistant.process is not None
                and home_assistant.process.poll() is None
            ):
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nStopping ...", flush=True)


if __name__ == "__main__":
    main()
