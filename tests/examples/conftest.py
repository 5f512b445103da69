"""Real servers on 127.0.0.1 for the examples: mosquitto and TimescaleDB."""

from collections.abc import Iterator
from dataclasses import dataclass
import os
from pathlib import Path
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any, Final, LiteralString

import psycopg
import pytest

from tests.e2e.conftest import broker, broker_keeps_sessions

__all__ = [
    "TimescaleDB",
    "broker",
    "broker_keeps_sessions",
    "timescaledb",
    "timescaledb_server",
]

SCHEMA = Path(__file__).parents[2] / "examples" / "timescaledb" / "schema.sql"
# A random port may be taken; another one is tried.
PORT_ATTEMPTS: Final = 5
# A cold start on a busy machine with two cores takes a few seconds.
START_LIMIT_S: Final = 30
INITDB_OPTIONS: Final = ("-U", "postgres", "--auth=trust", "-E", "UTF8")
SERVER_OPTIONS: Final = (
    *("-h", "127.0.0.1", "-c", "unix_socket_directories="),
    *("-c", "shared_preload_libraries=timescaledb", "-c", "fsync=off"),
    # No telemetry: tests reach nothing but 127.0.0.1.
    *("-c", "timescaledb.telemetry_level=off"),
)
# Debian installs the server outside PATH, one folder per major version.
DEBIAN_VERSIONS = Path("/usr/lib/postgresql")


def postgres_bin_dir() -> Path:
    """Return the folder of initdb and postgres (the newest Debian version)."""
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    versions = sorted(
        (path for path in DEBIAN_VERSIONS.glob("*/bin") if path.parent.name.isdigit()),
        key=lambda path: int(path.parent.name),
    )
    if not versions:
        msg = "PostgreSQL not found; scripts/_env.sh installs postgresql-18"
        raise RuntimeError(msg)
    return versions[-1]


@dataclass
class TimescaleDB:
    """A PostgreSQL server with the TimescaleDB extension and the example's schema."""

    dsn: str

    def rows(
        self, query: LiteralString = "SELECT * FROM charger_values ORDER BY name, time"
    ) -> list[tuple[Any, ...]]:
        """Return the rows of a query."""
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture
def timescaledb(timescaledb_server: TimescaleDB) -> TimescaleDB:
    """Return the module's TimescaleDB server with an empty table."""
    with psycopg.connect(timescaledb_server.dsn, autocommit=True) as connection:
        connection.execute("TRUNCATE charger_values")
    return timescaledb_server


@pytest.fixture(scope="module")
def timescaledb_server() -> Iterator[TimescaleDB]:
    """Run PostgreSQL with TimescaleDB on a free port of 127.0.0.1, schema applied.

    One server per module: creating a cluster takes seconds. PostgreSQL
    refuses to run as root: as root (the project's Debian root), it runs as
    the ``postgres`` user, in a folder that user owns.
    """
    bin_dir = postgres_bin_dir()
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="evse-timescaledb-"))
    if user:
        shutil.chown(folder, user, user)
    try:
        subprocess.run(  # noqa: S603 - fixed arguments
            [bin_dir / "initdb", "-D", folder / "data", *INITDB_OPTIONS],
            check=True,
            capture_output=True,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
        for _ in range(PORT_ATTEMPTS):
            port = 20_000 + secrets.randbelow(40_000)
            if process := _start_postgres(bin_dir, folder, port, user):
                break
        else:
            pytest.fail(f"no free port for PostgreSQL in {PORT_ATTEMPTS} attempts")
        try:
            dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute(SCHEMA.read_bytes())
            yield TimescaleDB(dsn)
        finally:
            # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients.
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    finally:
        shutil.rmtree(folder)


def _start_postgres(
    bin_dir: Path, folder: Path, port: int, user: str | None
) -> subprocess.Popen[bytes] | None:
    """Start PostgreSQL and wait until it accepts connections.

    Return None when the port is taken. A random port rather than one a
    socket found free: sockets are blocked while a module's fixtures start.
    """
    log = folder / "postgres.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                bin_dir / "postgres",
                "-D",
                folder / "data",
                "-p",
                str(port),
                *SERVER_OPTIONS,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=2"
    deadline = time.monotonic() + START_LIMIT_S
    while True:
        try:
            psycopg.connect(dsn).close()
        except psycopg.OperationalError:
            if process.poll() is not None and "already in use" in log.read_text():
                return None
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"PostgreSQL did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        else:
            return process
