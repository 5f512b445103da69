"""The recorder on PostgreSQL with TimescaleDB: the energy statistics stay exact.

Home Assistant's real recorder and statistics compiler run against a real
PostgreSQL server (with the TimescaleDB extension loaded, as an owner who
keeps all history there would run it), through psycopg 3. The readings are
tests/test_statistics.py's patterns; the sums are read back from the
recorder's own ``statistics`` table with SQL.
"""

from collections.abc import Iterator
import secrets

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.core import HomeAssistant
import psycopg
from psycopg import sql
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.test_statistics import ENERGY, PATTERNS, START, energy_sum_after

from .conftest import TimescaleDB


def _port(dsn: str) -> str:
    return dict(item.split("=", 1) for item in dsn.split())["port"]


@pytest.fixture
def recorder_db_url(
    timescaledb_server: TimescaleDB, hass_fixture_setup: list[bool]
) -> Iterator[str]:
    """Give each test an empty database of its own on the PostgreSQL server.

    ``postgresql+psycopg``: SQLAlchemy's dialect for psycopg 3, which is
    installed (Home Assistant's ``postgresql://`` means psycopg2).
    """
    assert not hass_fixture_setup
    name = f"recorder_{secrets.token_hex(4)}"
    with psycopg.connect(timescaledb_server.dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"postgresql+psycopg://postgres@127.0.0.1:{_port(timescaledb_server.dsn)}/{name}"
    with psycopg.connect(timescaledb_server.dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_db_url: str, enable_custom_integrations: None
) -> None:
    """Prepare the recorder's database before Home Assistant starts."""


@pytest.fixture
async def charger(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
) -> None:
    """Set the charger up with the recorder running on PostgreSQL."""
    freezer.move_to(START)


def stored_sum(recorder_db_url: str) -> float:
    """Return the last 5-minute sum of the energy sensor, read with SQL."""
    conninfo = recorder_db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as connection:
        row = connection.execute(
            "SELECT s.sum FROM statistics_short_term s"
            " JOIN statistics_meta m ON m.id = s.metadata_id"
            " WHERE m.statistic_id = %s ORDER BY s.start_ts DESC LIMIT 1",
            (ENERGY,),
        ).fetchone()
    assert row is not None
    return float(row[0])


@pytest.mark.usefixtures("charger")
@pytest.mark.parametrize("reload", [False, True], ids=["straight", "reloaded"])
@pytest.mark.parametrize(
    "pattern", ["zeros", "negative and infinite", "long outage", "replaced meter"]
)
async def test_sum_is_exact_on_postgresql(
    hass: HomeAssistant,
    recorder_mock: Recorder,
    recorder_db_url: str,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    pattern: str,
    reload: bool,
) -> None:
    """The long-term sum on PostgreSQL is what was delivered, as on SQLite."""
    assert recorder_mock.engine is not None
    assert recorder_mock.engine.dialect.name == "postgresql"
    readings, reload_at, delivered_kwh = PATTERNS[pattern]
    total = await energy_sum_after(
        hass, freezer, init_integration, readings, reload_at if reload else None
    )
    assert total == pytest.approx(delivered_kwh)
    assert await hass.async_add_executor_job(
        stored_sum, recorder_db_url
    ) == pytest.approx(delivered_kwh)
