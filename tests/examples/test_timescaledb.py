"""The TimescaleDB example: the shadow's values in a real hypertable.

A real mosquitto and a real PostgreSQL with TimescaleDB, both on 127.0.0.1;
the messages are built by the shadow export itself.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
import logging
import time

import aiomqtt
import pytest

from custom_components.evse_bridge.api.model import (
    ConnectorState,
    ConnectorStatus,
    MeterReading,
    Part,
)
from custom_components.evse_bridge.api.shadow import (
    OFFLINE,
    ONLINE,
    ShadowDiffer,
    ShadowMessage,
    availability_topic,
    charger_availability_topic,
)
from examples.timescaledb.consumer import (
    Consumer,
    MessageError,
    Row,
    Settings,
    parse_args,
    parse_message,
)
from tests.e2e.conftest import Broker

from .conftest import TimescaleDB

CHARGER = "91728M03W4010406"
SAMPLED = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
METER = MeterReading(energy_wh=1_234_567.0, power_w=11_040.0, current_a=(16, 16, 16))
PART = Part(
    id="evse1",
    meter=METER,
    connector=ConnectorState(
        status=ConnectorStatus.CHARGING, charging=True, current_limit_a=16.0
    ),
)


@pytest.fixture
async def publisher(broker: Broker) -> AsyncIterator[aiomqtt.Client]:
    """Connect a client in the role of EVSE Bridge's shadow export."""
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        yield client


async def publish(client: aiomqtt.Client, messages: list[ShadowMessage]) -> None:
    """Publish shadow messages as the export does (retained, QoS 1)."""
    for message in messages:
        await client.publish(
            message.topic, message.payload, qos=1, retain=message.retain
        )


def settings(broker: Broker, database: TimescaleDB) -> Settings:
    """Return the consumer's settings for the test servers."""
    return Settings(mqtt_host="127.0.0.1", mqtt_port=broker.port, dsn=database.dsn)


@contextlib.asynccontextmanager
async def running(consumer: Consumer) -> AsyncIterator[None]:
    """Run the consumer for the duration of a block."""
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], Awaitable[bool]], limit: float = 30) -> None:
    """Wait until an asynchronous check holds; fail with its name if never."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {check.__name__}")
        await asyncio.sleep(0.05)


async def rows(database: TimescaleDB) -> list[tuple[object, ...]]:
    """Return every stored row, as (time, charger, connector, name, value, text)."""
    return await asyncio.to_thread(database.rows)


async def stored_names(database: TimescaleDB) -> set[str]:
    """Return the names of the stored values."""
    return {str(row[3]) for row in await rows(database)}


async def test_shadow_values_arrive_in_the_hypertable(
    broker: Broker, timescaledb: TimescaleDB, publisher: aiomqtt.Client
) -> None:
    """Every value, published before the consumer started, becomes one row."""
    differ = ShadowDiffer()
    messages = differ.changes(CHARGER, PART, SAMPLED)
    await publish(publisher, messages)
    await publish(
        publisher,
        [
            ShadowMessage(availability_topic("chargers"), ONLINE),
            ShadowMessage(charger_availability_topic("chargers", CHARGER), ONLINE),
        ],
    )

    async with running(Consumer(settings(broker, timescaledb))):

        async def all_values_stored() -> bool:
            return len(await rows(timescaledb)) == len(messages)

        await eventually(all_values_stored)
        stored = {row[3]: row for row in await rows(timescaledb)}
        assert stored["power_w"] == (
            SAMPLED,
            CHARGER,
            "evse1",
            "power_w",
            11_040.0,
            None,
        )
        assert stored["energy_wh"][4] == 1_234_567.0
        assert stored["current_a/l2"][4] == 16.0
        assert stored["status"][4:] == (None, "charging")
        assert stored["charging"][4:] == (1.0, None)

        # Changes are new rows: the table keeps the history.
        later = SAMPLED + timedelta(hours=1)
        slower = replace(
            PART, meter=replace(METER, power_w=7360.0, energy_wh=1_245_607)
        )
        await publish(publisher, differ.changes(CHARGER, slower, later))

        async def changes_stored() -> bool:
            return len(await rows(timescaledb)) == len(messages) + 2

        await eventually(changes_stored)

    power = [row for row in await rows(timescaledb) if row[3] == "power_w"]
    assert [(row[0], row[4]) for row in power] == [(SAMPLED, 11_040.0), (later, 7360.0)]
    daily = await asyncio.to_thread(
        timescaledb.rows,
        "SELECT day, charger, connector, kwh FROM charger_energy_daily",
    )
    assert daily == [(datetime(2026, 12, 2, tzinfo=UTC), CHARGER, "evse1", 11.04)]
    hypertables = await asyncio.to_thread(
        timescaledb.rows,
        "SELECT hypertable_name FROM timescaledb_information.hypertables",
    )
    assert hypertables == [("charger_values",)]


async def test_reconnection_stores_nothing_twice(
    broker: Broker, timescaledb: TimescaleDB, publisher: aiomqtt.Client
) -> None:
    """Retained values arrive again on every connection; each sample is one row."""
    differ = ShadowDiffer()
    messages = differ.changes(CHARGER, PART, SAMPLED)
    await publish(publisher, messages)

    async def all_values_stored() -> bool:
        return len(await rows(timescaledb)) == len(messages)

    async with running(Consumer(settings(broker, timescaledb))):
        await eventually(all_values_stored)

    # The second run receives every retained value again, then a new one.
    async with running(Consumer(settings(broker, timescaledb))):
        later = SAMPLED + timedelta(minutes=1)
        marker = Part(id="evse2", meter=MeterReading(power_w=0.0))

        async def marker_stored() -> bool:
            await publish(publisher, ShadowDiffer().changes(CHARGER, marker, later))
            return "power_w" in {
                row[3] for row in await rows(timescaledb) if row[2] == "evse2"
            }

        await eventually(marker_stored)
    assert len(await rows(timescaledb)) == len(messages) + 1


async def test_consumer_recovers_from_a_broker_restart(
    broker: Broker, timescaledb: TimescaleDB
) -> None:
    """The consumer reconnects by itself and goes on storing."""
    consumer = Consumer(settings(broker, timescaledb), retry_s=0.1)
    async with running(consumer):
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await publish(client, ShadowDiffer().changes(CHARGER, PART, SAMPLED))

        async def stored() -> bool:
            return "power_w" in await stored_names(timescaledb)

        await eventually(stored)
        await asyncio.to_thread(broker.stop)
        await asyncio.to_thread(broker.start)

        marker = Part(id="evse2", meter=MeterReading(power_w=0.0))

        async def stored_after_restart() -> bool:
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client("127.0.0.1", broker.port) as client:
                    await publish(
                        client, ShadowDiffer().changes(CHARGER, marker, SAMPLED)
                    )
            return any(row[2] == "evse2" for row in await rows(timescaledb))

        await eventually(stored_after_restart)


async def test_bad_messages_are_skipped_and_logged_once(
    broker: Broker,
    timescaledb: TimescaleDB,
    publisher: aiomqtt.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Malformed messages store nothing, stop nothing, and log once per kind."""
    prefix = f"chargers/{CHARGER}/evse1"
    stamp = SAMPLED.isoformat()
    bad = [
        (f"{prefix}/power_w", b"not json"),
        (f"{prefix}/power_w", b"[1, 2]"),
        (f"{prefix}/power_w", json.dumps({"sampled_at": stamp}).encode()),
        (f"{prefix}/power_w", b'{"value": 1}'),
        (f"{prefix}/power_w", b'{"value": 1, "sampled_at": "2026-12-02T10:00:00"}'),
        (f"{prefix}/power_w", json.dumps({"value": [1], "sampled_at": stamp}).encode()),
        (f"{prefix}/power_w", b'{"value": NaN, "sampled_at": "%s"}' % stamp.encode()),
        (
            f"{prefix}/status",
            json.dumps({"value": "a\x00b", "sampled_at": stamp}).encode(),
        ),
        (
            f"{prefix}/status",
            b'{"value": "\\ud800", "sampled_at": "%s"}' % stamp.encode(),
        ),
        (f"{prefix}/power_w", b"1" * 5000),
        # Not values: availability, a command, a cleared value.
        (availability_topic("chargers"), OFFLINE.encode()),
        (charger_availability_topic("chargers", CHARGER), OFFLINE.encode()),
        (f"{prefix}/current_limit_a/set", b"10"),
        (f"{prefix}/energy_wh", b""),
    ]
    good = ShadowDiffer().changes(CHARGER, PART, SAMPLED)
    await publish(publisher, good[:1])
    with caplog.at_level(logging.WARNING, logger="examples.timescaledb.consumer"):
        async with running(Consumer(settings(broker, timescaledb))):

            async def first_value_stored() -> bool:
                return len(await rows(timescaledb)) == 1

            await eventually(first_value_stored)
            for _ in range(2):
                for topic, payload in bad:
                    await publisher.publish(topic, payload, qos=1)
            await publish(publisher, good[1:2])

            async def second_value_stored() -> bool:
                return len(await rows(timescaledb)) == 2

            await eventually(second_value_stored)

    assert {row[3] for row in await rows(timescaledb)} == {
        json_name(good[0]),
        json_name(good[1]),
    }
    skipped = [record.getMessage() for record in caplog.records]
    assert len(skipped) == len(set(skipped)) == 8


def json_name(message: ShadowMessage) -> str:
    """Return the value name of a shadow message's topic."""
    return message.topic.split("/", 3)[3]


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        (
            "chargers/A/evse1/current_a/l1",
            b'{"value": 16, "sampled_at": "2026-12-02T11:00:00+01:00"}',
            Row(SAMPLED, "A", "evse1", "current_a/l1", 16.0, None),
        ),
        (
            "home/ev/A/plug1/charging_enabled",
            b'{"value": false, "sampled_at": "2026-12-02T10:00:00Z"}',
            Row(SAMPLED, "A", "plug1", "charging_enabled", 0.0, None),
        ),
    ],
)
def test_parse_values(topic: str, payload: bytes, expected: Row) -> None:
    """Topic levels and payload become a row; times keep their instant."""
    base = "home/ev" if topic.startswith("home") else "chargers"
    assert parse_message(base, topic, payload) == expected


@pytest.mark.parametrize(
    "topic",
    ["chargers/availability", "chargers/A/availability", "other/A/evse1/power_w"],
)
def test_parse_skips_what_is_not_a_value(topic: str) -> None:
    """Availability and other trees are not values."""
    payload = b'{"value": 1, "sampled_at": "2026-12-02T10:00:00Z"}'
    assert parse_message("chargers", topic, payload) is None


def test_parse_refuses_huge_integers() -> None:
    """An integer beyond any float is refused, not raised."""
    payload = b'{"value": %s, "sampled_at": "2026-12-02T10:00:00Z"}' % (b"9" * 400)
    with pytest.raises(MessageError, match="finite"):
        parse_message("chargers", "chargers/A/evse1/power_w", payload)


def test_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Options, TLS on its own port, and the password from the environment."""
    given = "not-a-real-one"
    monkeypatch.setenv("MQTT_PASSWORD", given)
    plain = parse_args(["--mqtt-host", "broker", "--base-topic", "/home/ev/"])
    assert (plain.mqtt_host, plain.mqtt_port, plain.tls) == ("broker", 1883, None)
    assert plain.base_topic == "home/ev"
    assert plain.mqtt_password == given
    secure = parse_args(
        ["--ca-file", "ca.crt", "--cert-file", "c.crt", "--key-file", "c.key"]
    )
    assert secure.mqtt_port == 8883
    assert secure.tls is not None
    assert (secure.tls.ca_certs, secure.tls.certfile) == ("ca.crt", "c.crt")
    assert parse_args(["--client-id", "ts", "--mqtt-port", "1884"]).mqtt_port == 1884
