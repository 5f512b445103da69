"""Store EVSE Bridge's MQTT shadow in a TimescaleDB hypertable.

Subscribes to ``<base>/#`` and writes every value message, topic
``<base>/<charger>/<connector>/<name>`` with the payload
``{"value": ..., "sampled_at": "<ISO 8601>"}``, as one row of
``charger_values`` (see schema.sql). The shadow's messages are retained, so
after each (re)connection the broker sends the last value of every topic
again; the table's unique key keeps one row per sample. Availability topics,
``set`` commands and cleared topics (empty payloads) are not values and are
skipped; anything malformed is skipped and logged once per kind of problem.

Run ``python consumer.py --help`` for the options; README.md beside this file
has the set-up.
"""

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
from dataclasses import astuple, dataclass
from datetime import datetime
import json
import logging
import math
import os
from typing import Final

import aiomqtt
import psycopg
from psycopg.rows import TupleRow

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_TOPIC: Final = "chargers"
# After a lost broker or database, wait this long before connecting again so
# that a restarting server is not hammered.
RETRY_S: Final = 5.0
# A value message is about 80 bytes; anything far larger is not one.
MAX_PAYLOAD_BYTES: Final = 4096
# Messages waiting while the database is slow; beyond this the client drops
# them (the retained values come again after a reconnection).
MAX_QUEUED_MESSAGES: Final = 10_000
INSERT: Final = (
    "INSERT INTO charger_values"
    " (time, charger, connector, name, value, value_text)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class Row:
    """One sampled value, as stored."""

    time: datetime
    charger: str
    connector: str
    name: str
    value: float | None
    """Numbers; true and false as 1 and 0."""
    value_text: str | None
    """Text values such as ``status``."""


class MessageError(ValueError):
    """A message under the base topic that is not a usable value message."""


def _not_utf8(text: str) -> bool:
    """Return whether a text has lone surrogates, which UTF-8 cannot encode."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _stored_value(value: object) -> tuple[float | None, str | None]:
    """Return (value, value_text) for a JSON value, or raise MessageError."""
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number):
            msg = "a value is not a finite number"
            raise MessageError(msg)
        return number, None
    if isinstance(value, str):
        # PostgreSQL text holds UTF-8 without NUL; JSON can carry both.
        if "\x00" in value or _not_utf8(value):
            msg = "a text is not storable (NUL or invalid Unicode)"
            raise MessageError(msg)
        return None, value
    msg = "a value is not a number, a boolean or a text"
    raise MessageError(msg)


def parse_message(base_topic: str, topic: str, payload: bytes) -> Row | None:
    """Return the row a message stores; None for messages that are not values.

    Raise MessageError for a value message that cannot be stored.
    """
    levels = topic.removeprefix(f"{base_topic}/").split("/")
    if not topic.startswith(f"{base_topic}/") or len(levels) < 3:  # noqa: PLR2004
        return None  # availability, or not the shadow
    if levels[-1] == "set" or not payload:
        return None  # a command, or a cleared value
    if len(payload) > MAX_PAYLOAD_BYTES:
        msg = "a payload is too large"
        raise MessageError(msg)
    try:
        data = json.loads(payload)
    except ValueError as err:  # also UnicodeDecodeError
        msg = "a payload is not JSON"
        raise MessageError(msg) from err
    if not isinstance(data, dict) or "value" not in data:
        msg = 'a payload has no "value"'
        raise MessageError(msg)
    try:
        time = datetime.fromisoformat(data["sampled_at"])
    except (KeyError, TypeError, ValueError) as err:
        msg = "a payload has no ISO 8601 sampled_at"
        raise MessageError(msg) from err
    if time.tzinfo is None:
        msg = "a sampled_at has no time zone"
        raise MessageError(msg)
    value, value_text = _stored_value(data["value"])
    return Row(time, levels[0], levels[1], "/".join(levels[2:]), value, value_text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Where to read and where to write."""

    mqtt_host: str
    mqtt_port: int = 1883
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    tls: aiomqtt.TLSParameters | None = None
    client_id: str | None = None
    """A fixed id keeps the session: the broker queues messages while away."""
    base_topic: str = DEFAULT_BASE_TOPIC
    dsn: str = ""
    """libpq connection string; empty: the PG* environment variables."""


class Consumer:
    """Reads the shadow and writes rows, reconnecting after failures."""

    def __init__(self, settings: Settings, *, retry_s: float = RETRY_S) -> None:
        """Prepare to consume with these settings."""
        self.settings = settings
        self.retry_s = retry_s
        self._logged: set[str] = set()
        self._failing = False

    async def run(self) -> None:
        """Consume until cancelled; reconnect after a lost broker or database."""
        while True:
            try:
                await self._session()
            except (aiomqtt.MqttError, psycopg.OperationalError) as err:
                if not self._failing:
                    _LOGGER.warning(
                        "No connection to the broker or the database (%s);"
                        " retrying every %s s",
                        err,
                        self.retry_s,
                    )
                self._failing = True
                await asyncio.sleep(self.retry_s)

    async def _session(self) -> None:
        settings = self.settings
        async with (
            await psycopg.AsyncConnection.connect(settings.dsn, autocommit=True) as db,
            aiomqtt.Client(
                settings.mqtt_host,
                settings.mqtt_port,
                username=settings.mqtt_username,
                password=settings.mqtt_password,
                tls_params=settings.tls,
                identifier=settings.client_id,
                clean_session=settings.client_id is None,
                max_queued_incoming_messages=MAX_QUEUED_MESSAGES,
            ) as client,
        ):
            await client.subscribe(f"{settings.base_topic}/#", qos=1)
            if self._failing:
                _LOGGER.info("Connected again")
                self._failing = False
            async for message in client.messages:
                await self._store(db, str(message.topic), message.payload)

    async def _store(
        self, db: psycopg.AsyncConnection[TupleRow], topic: str, payload: bytes
    ) -> None:
        """Write the row of one message; skip bad ones, logging each kind once."""
        try:
            row = parse_message(self.settings.base_topic, topic, payload)
            if row is not None:
                await db.execute(INSERT, astuple(row))
        except MessageError as err:
            self._log_once(str(err))

    def _log_once(self, problem: str) -> None:
        if problem not in self._logged:
            self._logged.add(problem)
            _LOGGER.warning("Skipped a message: %s (logged once)", problem)


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    """Return the settings from the command line and the environment."""
    parser = argparse.ArgumentParser(
        description="Store EVSE Bridge's MQTT shadow in TimescaleDB."
    )
    parser.add_argument("--mqtt-host", default="localhost")
    parser.add_argument("--mqtt-port", type=int, default=None)
    parser.add_argument("--mqtt-username")
    parser.add_argument(
        "--tls", action="store_true", help="TLS with the system's CA certificates"
    )
    parser.add_argument(
        "--ca-file", help="CA certificate of the broker (implies --tls)"
    )
    parser.add_argument("--cert-file", help="client certificate (implies --tls)")
    parser.add_argument("--key-file", help="client certificate's key")
    parser.add_argument(
        "--client-id", help="a fixed client id: the broker keeps the session"
    )
    parser.add_argument("--base-topic", default=DEFAULT_BASE_TOPIC)
    parser.add_argument(
        "--dsn",
        default="",
        help="PostgreSQL connection string; default: the PG* environment variables",
    )
    args = parser.parse_args(argv)
    tls = None
    if args.tls or args.ca_file or args.cert_file:
        tls = aiomqtt.TLSParameters(
            ca_certs=args.ca_file, certfile=args.cert_file, keyfile=args.key_file
        )
    return Settings(
        mqtt_host=args.mqtt_host,
        mqtt_port=args.mqtt_port or (8883 if tls else 1883),
        mqtt_username=args.mqtt_username,
        # Secrets stay out of the command line (and so out of `ps`).
        mqtt_password=os.environ.get("MQTT_PASSWORD"),
        tls=tls,
        client_id=args.client_id,
        base_topic=args.base_topic.strip().strip("/") or DEFAULT_BASE_TOPIC,
        dsn=args.dsn,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the consumer until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Consumer(parse_args(argv)).run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
