"""Tests for the simulated Chargestorm's charging model (no broker needed)."""

import json

from simulators.ctek import CtekSimulator


def payloads(simulator: CtekSimulator) -> dict[str, dict[str, object]]:
    """Return the last report keyed by topic."""
    return {topic: json.loads(payload) for topic, payload in simulator.all_messages()}


def test_documented_topics_and_fields() -> None:
    """A report has every documented topic and field."""
    report = payloads(CtekSimulator(charger_id="CB1", evses=2))
    assert set(report) == {
        "CTEK/CB1/mainMeter/em",
        "CTEK/CB1/evse1/em",
        "CTEK/CB1/evse2/em",
        "CTEK/CB1/evse1/status",
        "CTEK/CB1/evse2/status",
        "CTEK/CB1/evse1/meterinfo",
        "CTEK/CB1/evse2/meterinfo",
    }
    assert set(report["CTEK/CB1/evse1/em"]) == {
        "current",
        "energy",
        "frequency",
        "power",
        "timestamp",
        "voltage",
    }
    assert report["CTEK/CB1/evse1/status"]["state"] == "AVAL"
    assert report["CTEK/CB1/evse1/meterinfo"] == {"serialno": "272271U"}


def test_charging_counts_energy_and_follows_assigned_current() -> None:
    """A plugged car charges at the assigned current; meters count up."""
    simulator = CtekSimulator(charger_id="CB1", evses=1)
    simulator.plug_in(1, car_max_a=32)
    simulator.evse(1).assigned_a = 10
    start = simulator.evse(1).energy_wh
    simulator.advance(3600)
    assert simulator.evse(1).energy_wh - start == 3 * 230 * 10
    report = payloads(simulator)
    assert report["CTEK/CB1/evse1/status"] == {
        "assigned": 10,
        "state": "CHRG",
        "timestamp": report["CTEK/CB1/evse1/status"]["timestamp"],
    }
    assert report["CTEK/CB1/evse1/em"]["power"] == 6900.0
    assert report["CTEK/CB1/mainMeter/em"]["power"] == 6912.0


def test_pause_full_and_unplug() -> None:
    """Below 6 A the station pauses; a full car asks for nothing; unplugged is idle."""
    simulator = CtekSimulator(evses=1)
    simulator.plug_in(1)
    simulator.evse(1).assigned_a = 0
    assert simulator.evse(1).state == "PAUS"
    simulator.evse(1).assigned_a = 16
    simulator.evse(1).car_full = True
    assert simulator.evse(1).state == "NCRQ"
    assert simulator.evse(1).current_a == 0
    simulator.unplug(1)
    assert simulator.evse(1).state == "AVAL"
