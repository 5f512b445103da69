"""The OCPP central system's parts on their own: meter values, ledger, model, logs."""

from datetime import UTC, datetime, timedelta
import logging
from typing import Any

import pytest

from custom_components.evse_bridge.api.model import ConnectorStatus
from custom_components.evse_bridge.api.ocpp import (
    Admission,
    BootInfo,
    MemoryTransactionStore,
    OcppChargePoint,
    OcppSettings,
    OcppStoreError,
    StoredLedger,
    Transaction,
)
from custom_components.evse_bridge.api.ocpp.clock import ocpp_datetime, parse_timestamp
from custom_components.evse_bridge.api.ocpp.control import _first_limit
from custom_components.evse_bridge.api.ocpp.logsafe import (
    MAX_REMEMBERED,
    LibraryLogger,
    OnceLog,
    clip,
)
from custom_components.evse_bridge.api.ocpp.meter import MeterSample, parse_meter_value
from custom_components.evse_bridge.api.ocpp.neutral import charger_info, charger_state
from custom_components.evse_bridge.api.ocpp.state import ConnectorRecord
from custom_components.evse_bridge.api.ocpp.transactions import TransactionLedger

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def parse(
    *values: dict[str, Any], timestamp: object = "2026-06-01T11:00:00Z"
) -> MeterSample:
    """Parse one meterValue with these sampled values (snake_case, as handlers get)."""
    sample, _ = parse_meter_value(
        {"timestamp": timestamp, "sampled_value": list(values)}, NOW
    )
    return sample


# --- Meter values ---------------------------------------------------------------------


def test_absent_fields_take_the_defaults() -> None:
    """A bare value is the energy register in Wh, at the Outlet."""
    sample = parse({"value": "1234.5"})
    assert sample.energy_wh == 1234.5
    assert sample.timestamp == datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


def test_units_are_converted() -> None:
    """Units are converted (kWh to Wh, kW to W); absent ones are the measurand's own."""
    sample = parse(
        {"value": "12.5", "unit": "kWh"},
        {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"},
        {"value": "16", "measurand": "Current.Offered"},
        {"value": "49.9", "measurand": "Frequency", "unit": "Hertz"},
        {"value": "80", "measurand": "SoC", "location": "EV", "unit": "Percent"},
    )
    assert sample.energy_wh == 12500
    assert sample.power_w == pytest.approx(7400)
    assert sample.offered_current_a == 16
    assert sample.frequency_hz == 49.9
    assert sample.soc_percent == 80


def test_phases() -> None:
    """L1..L3 and L1-N..L3-N fill the phases; line-to-line and N are left out."""
    sample = parse(
        {"value": "10", "measurand": "Current.Import", "phase": "L1"},
        {"value": "11", "measurand": "Current.Import", "phase": "L2"},
        {"value": "2", "measurand": "Current.Import", "phase": "N"},
        {"value": "230", "measurand": "Voltage", "phase": "L1-N"},
        {"value": "231", "measurand": "Voltage", "phase": "L3-N"},
        {"value": "400", "measurand": "Voltage", "phase": "L1-L2"},
        {"value": "2300", "measurand": "Power.Active.Import", "phase": "L1"},
        {"value": "2530", "measurand": "Power.Active.Import", "phase": "L2"},
    )
    assert sample.current_a == (10.0, 11.0, None)
    assert sample.voltage_v == (230.0, None, 231.0)
    assert sample.power_w == 4830  # the phases summed, as no total came


def test_totals_win_over_phases_and_stand_for_one_phase() -> None:
    """A total power is taken as is; a current without a phase counts as L1."""
    sample = parse(
        {"value": "5000", "measurand": "Power.Active.Import"},
        {"value": "2300", "measurand": "Power.Active.Import", "phase": "L1"},
        {"value": "21.7", "measurand": "Current.Import"},
        {"value": "229", "measurand": "Voltage"},
    )
    assert sample.power_w == 5000
    assert sample.current_a == (21.7, None, None)
    assert sample.voltage_v == (229.0, None, None)


def test_values_left_out() -> None:
    """Other measurands, units, locations and signed data are left out, uncounted."""
    sample, unusable = parse_meter_value(
        {
            "timestamp": "2026-06-01T11:00:00Z",
            "sampled_value": [
                {"value": "1", "measurand": "Temperature", "location": "Body"},
                {"value": "2", "unit": "varh"},
                {"value": "3", "measurand": "Power.Active.Import", "location": "Body"},
                {"value": "4", "format": "SignedData"},
                {"value": "5", "measurand": "Energy.Active.Import.Interval"},
            ],
        },
        NOW,
    )
    assert sample == MeterSample(timestamp=sample.timestamp)
    assert unusable == 0


@pytest.mark.parametrize("value", ["NaN", "inf", "-inf", "1e999", "12,5", "", None, 12])
def test_values_that_are_not_numbers(value: object) -> None:
    """Anything but a finite number is counted as unusable and left out."""
    sample, unusable = parse_meter_value(
        {"timestamp": "x", "sampled_value": [{"value": value}, {"value": "5"}]}, NOW
    )
    assert (sample.energy_wh, unusable) == (5, 1)
    assert sample.timestamp == NOW  # "x" is no time


def test_negative_and_lower_registers_are_passed_on() -> None:
    """The guard decides about a register; parsing passes it on as sent."""
    assert parse({"value": "-3"}).energy_wh == -3


def test_merging_samples() -> None:
    """A sample with fewer values keeps the others from the one before."""
    full = parse(
        {"value": "100"},
        {"value": "10", "measurand": "Current.Import", "phase": "L1"},
        {"value": "60", "measurand": "SoC"},
    )
    partial = parse({"value": "7000", "measurand": "Power.Active.Import"})
    merged = partial.merged_onto(full)
    assert (merged.energy_wh, merged.power_w, merged.soc_percent) == (100, 7000, 60)
    assert merged.current_a == (10.0, None, None)
    assert partial.merged_onto(None) is partial


def test_timestamps() -> None:
    """OCPP times parse with or without a zone (UTC), and print with a Z."""
    assert parse_timestamp("2026-06-01T12:00:00Z") == NOW
    assert parse_timestamp("2026-06-01T12:00:00") == NOW
    assert parse_timestamp("2026-06-01T14:00:00+02:00") == NOW
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(None) is None
    assert ocpp_datetime(NOW + timedelta(hours=0)) == "2026-06-01T12:00:00Z"


# --- The transaction ledger -----------------------------------------------------------


async def test_ids_are_saved_before_they_are_handed_out() -> None:
    """Each id is in the store when start returns; the next load continues after it."""
    store = MemoryTransactionStore()
    ledger = TransactionLedger(store)
    await ledger.load()
    first = await ledger.start("CP1", 1, "TAG", 100, NOW)
    assert store.data is not None
    assert store.data["next_id"] == first.id + 1
    assert [item["id"] for item in store.data["transactions"]] == [first.id]
    second = await ledger.start("CP2", 1, "TAG", 100, NOW)
    assert second.id == first.id + 1

    again = TransactionLedger(store)
    await again.load()
    assert list(again) == [first, second]
    assert (await again.start("CP1", 2, "TAG", 0, NOW)).id == second.id + 1


async def test_start_again_and_stop_again() -> None:
    """A start sent twice is one transaction; a stop sent twice changes nothing."""
    store = MemoryTransactionStore()
    ledger = TransactionLedger(store)
    started = await ledger.start("CP1", 1, "TAG", 100, NOW)
    assert await ledger.start("CP1", 1, "TAG", 100, NOW) == started
    assert ledger.open_on("CP1", 1) == started
    stopped = await ledger.stop(
        "CP1", started.id, 900, NOW + timedelta(hours=1), "Local"
    )
    assert stopped.energy_wh == 800
    assert ledger.open_on("CP1", 1) is None
    saves = store.saves
    assert (
        await ledger.stop("CP1", started.id, 5000, NOW + timedelta(hours=2), None)
        == stopped
    )
    assert store.saves == saves


async def test_stop_of_another_charge_points_transaction() -> None:
    """A charge point cannot stop (or overwrite) another's transaction."""
    ledger = TransactionLedger(MemoryTransactionStore())
    started = await ledger.start("CP1", 1, "TAG", 100, NOW)
    foreign = await ledger.stop("CP2", started.id, 900, NOW, None)
    assert foreign.energy_wh is None
    assert ledger.get(started.id) == started


async def test_ledger_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond the bound the oldest stopped transactions go first, then the oldest."""
    monkeypatch.setattr(
        "custom_components.evse_bridge.api.ocpp.transactions.MAX_KEPT", 3
    )
    store = MemoryTransactionStore()
    ledger = TransactionLedger(store)
    first = await ledger.start("CP1", 1, "T", 0, NOW)
    await ledger.stop("CP1", first.id, 10, NOW, None)
    opened = [await ledger.start("CP1", n, "T", 0, NOW) for n in (2, 3, 4)]
    assert list(ledger) == opened
    newest = await ledger.start("CP1", 5, "T", 0, NOW)
    assert list(ledger) == [*opened[1:], newest]
    assert store.data is not None
    assert len(store.data["transactions"]) == 3


async def test_ids_wrap_below_the_32_bit_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the largest id charge points keep, ids start again, skipping kept ones."""
    store = MemoryTransactionStore(
        StoredLedger(
            next_id=2**31 - 1,
            transactions=[
                Transaction(
                    id=1,
                    charge_point_id="CP1",
                    connector_id=1,
                    id_tag="T",
                    meter_start_wh=0,
                    started_at=NOW,
                ).to_stored()
            ],
        )
    )
    ledger = TransactionLedger(store)
    await ledger.load()
    assert (await ledger.start("CP1", 2, "T", 0, NOW)).id == 2**31 - 1
    assert (await ledger.start("CP1", 3, "T", 0, NOW)).id == 2


@pytest.mark.parametrize(
    "data",
    [
        {"next_id": 5},
        {"next_id": "five", "transactions": []},
        {"next_id": 5, "transactions": [{"id": 1}]},
        {"next_id": 5, "transactions": "nope"},
    ],
)
async def test_damaged_store_starts_afresh(
    data: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Data that cannot be read is logged and ignored; ids start at 1."""
    ledger = TransactionLedger(MemoryTransactionStore(data))
    await ledger.load()
    assert list(ledger) == []
    assert (await ledger.start("CP1", 1, "T", 0, NOW)).id == 1
    assert "cannot be read" in caplog.text


async def test_next_id_is_above_every_id_kept() -> None:
    """A stored counter lower than a kept id is raised above it."""
    kept = Transaction(
        id=40,
        charge_point_id="CP1",
        connector_id=1,
        id_tag=None,
        meter_start_wh=None,
        started_at=None,
    )
    ledger = TransactionLedger(
        MemoryTransactionStore(StoredLedger(next_id=3, transactions=[kept.to_stored()]))
    )
    await ledger.load()
    assert ledger.get(40) == kept
    assert (await ledger.start("CP1", 1, "T", 0, NOW)).id == 41


async def test_failed_save_keeps_nothing() -> None:
    """When saving fails, the transaction is not kept and OcppStoreError is raised."""

    class Flaky(MemoryTransactionStore):
        fail = False

        async def save(self, data: StoredLedger) -> None:
            if self.fail:
                msg = "store gone"
                raise RuntimeError(msg)
            await super().save(data)

    store = Flaky()
    ledger = TransactionLedger(store)
    started = await ledger.start("CP1", 1, "T", 0, NOW)
    store.fail = True
    with pytest.raises(OcppStoreError, match="RuntimeError: store gone"):
        await ledger.stop("CP1", started.id, 10, NOW, None)
    assert ledger.get(started.id) == started
    with pytest.raises(OcppStoreError):
        await ledger.start("CP1", 2, "T", 0, NOW)
    assert list(ledger) == [started]


# --- The neutral model ----------------------------------------------------------------


def test_identity_from_the_boot_notification() -> None:
    """The serial is the charge box's, else the charge point's, else the id."""
    boot = BootInfo(vendor="ACME", model="Box", firmware_version="2.1")
    info = charger_info("CP1", boot)
    assert (
        info.serial_number,
        info.manufacturer,
        info.model,
        info.firmware_version,
    ) == (
        "CP1",
        "ACME",
        "Box",
        "2.1",
    )
    serials = BootInfo(
        vendor="A",
        model="B",
        charge_point_serial_number="P",
        charge_box_serial_number="X",
    )
    assert charger_info("CP1", serials).serial_number == "X"


def test_statuses() -> None:
    """Reserved has no neutral status; an error code is a problem, so is nothing."""
    state = charger_state(
        {
            1: ConnectorRecord(status="Reserved", error_code="NoError"),
            2: ConnectorRecord(status="Available", error_code="HighTemperature"),
            3: ConnectorRecord(),
            0: ConnectorRecord(
                status="Available", sample=MeterSample(timestamp=NOW, energy_wh=5)
            ),
        }
    )
    reserved = state.parts["connector1"].connector
    warm = state.parts["connector2"].connector
    unknown = state.parts["connector3"].connector
    assert reserved is not None
    assert (reserved.status, reserved.vendor_status, reserved.vehicle_connected) == (
        None,
        "reserved",
        None,
    )
    assert warm is not None
    assert (warm.status, warm.problem) == (ConnectorStatus.AVAILABLE, True)
    assert unknown is not None
    assert (unknown.status, unknown.charging, unknown.charging_enabled) == (
        None,
        None,
        None,
    )
    station = state.parts["mainMeter"]
    assert station.connector is None
    assert station.meter is not None
    assert station.meter.energy_wh == 5


def test_session_of_a_transaction_known_only_from_its_stop() -> None:
    """A transaction without a known start has no session energy or duration."""
    record = ConnectorRecord(
        status="Finishing",
        transaction=Transaction(
            id=9,
            charge_point_id="CP1",
            connector_id=1,
            id_tag=None,
            meter_start_wh=None,
            started_at=None,
            meter_stop_wh=50,
            stopped_at=NOW,
        ),
    )
    state = charger_state({1: record}).parts["connector1"].connector
    assert state is not None
    assert (state.session_energy_wh, state.session_duration_s) == (None, None)


def test_charge_point_without_listener() -> None:
    """A charge point works without a listener; unknown transactions are not shown."""
    charge_point = OcppChargePoint(
        "CP1",
        settings=OcppSettings(),
        ledger=TransactionLedger(MemoryTransactionStore()),
        admission=lambda *_: Admission.ACCEPTED,
    )
    charge_point.meter_values(
        1,
        [{"timestamp": "2026-06-01T11:00:00Z", "sampled_value": [{"value": "5"}]}],
        77,
    )
    assert charge_point.records[1].transaction is None
    part = charge_point.snapshot().state.parts["connector1"]
    assert part.meter is not None
    assert part.meter.energy_wh == 5


def test_first_limit_of_a_composite_schedule() -> None:
    """Only a schedule in amperes with a period at 0 gives a limit."""
    assert (
        _first_limit(
            {
                "charging_rate_unit": "A",
                "charging_schedule_period": [
                    {"start_period": 0, "limit": 16},
                    {"start_period": 60, "limit": 8},
                ],
            }
        )
        == 16
    )
    assert (
        _first_limit(
            {
                "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": 7000}],
            }
        )
        is None
    )
    assert (
        _first_limit(
            {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 30, "limit": 16}],
            }
        )
        is None
    )
    assert _first_limit(None) is None


# --- Logs -----------------------------------------------------------------------------


def test_clip() -> None:
    """Text from the wire is quoted, escaped and bounded."""
    assert clip("CP1") == "'CP1'"
    assert clip("a\nb\x1b[31m") == "'a\\nb\\x1b[31m'"
    long = clip("x" * 500)
    assert long.endswith("... (500 characters)")
    assert len(long) < 160
    assert clip(b"\xff") == "b'\\xff'"
    assert clip(12) == "'12'"


def test_once_log(caplog: pytest.LogCaptureFixture) -> None:
    """A kind is logged once at its level, then at debug; the kinds are bounded."""
    caplog.set_level(logging.DEBUG)
    once = OnceLog(logging.getLogger("test.once"))
    for _ in range(3):
        once.log(logging.WARNING, "kind", "problem %s", 1)
    assert [record.levelno for record in caplog.records] == [
        logging.WARNING,
        logging.DEBUG,
        logging.DEBUG,
    ]
    for number in range(MAX_REMEMBERED + 10):
        once.log(logging.WARNING, number, "other %s", number)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == MAX_REMEMBERED


def test_library_logger(caplog: pytest.LogCaptureFixture) -> None:
    """The library's lines go to debug, escaped, without traceback."""
    caplog.set_level(logging.DEBUG)
    library = LibraryLogger(logging.getLogger("test.library"))
    library.info("%s: receive %s", "CP1", "frame\n")
    library.warning("warn %s", "x")
    library.error("error %s", "y")
    try:
        msg = "boom"
        raise ValueError(msg)  # noqa: TRY301 - a traceback to leave out
    except ValueError:
        library.exception("failed %s", "z")
    assert {record.levelno for record in caplog.records} == {logging.DEBUG}
    assert not any(record.exc_info for record in caplog.records)
    assert "'frame\\n'" in caplog.text
    caplog.clear()
    caplog.set_level(logging.INFO)
    library.info("%s", "quiet")
    assert not caplog.records
