"""A real PostgreSQL for the database tests, made ready by the fixture itself so plain `pytest` works.

`postgres_dsn` (session): if nothing listens on 127.0.0.1:5432, start the local cluster with `pg_ctlcluster`,
wait until it accepts connections, then create the role `hudproxy` (password `hudproxy`) and the database
`hudproxy_test` through `psql` run as the `postgres` OS user. A cluster this run started is stopped when the
run ends (tests/testrun.py); one that was already running is left alone.
$HUDPROXY_TEST_POSTGRES_DSN points the tests at another server instead. Without PostgreSQL installed, the
Postgres tests are skipped, saying why.

`pg` (per test): a schema of its own (dropped after the test) and `pg.db()`, a PostgresRollback whose connections
work in it, so tests never share tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import testrun

from hudproxy.databases import PostgresRollback

HOST, PORT = "127.0.0.1", 5432
ROLE, PASSWORD, DATABASE = "hudproxy", "hudproxy", "hudproxy_test"
DEFAULT_DSN = f"postgresql://{ROLE}:{PASSWORD}@{HOST}:{PORT}/{DATABASE}"
OTHER_CLIENTS = (  # connected clients other than the one asking: another test run still using the cluster
    "select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()"
)

SETUP_SQL = f"""
SELECT 'CREATE ROLE {ROLE} LOGIN PASSWORD ''{PASSWORD}'''
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') \\gexec
ALTER ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}';
SELECT 'CREATE DATABASE {DATABASE} OWNER {ROLE}'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}') \\gexec
"""


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The DSN of a running PostgreSQL with the test role and database (see the module docstring)."""
    if dsn := os.environ.get("HUDPROXY_TEST_POSTGRES_DSN"):
        return dsn
    if not shutil.which("pg_ctlcluster") or not shutil.which("psql"):
        pytest.skip("PostgreSQL is not installed (no pg_ctlcluster/psql): apt-get install postgresql")
    with _setup_lock():
        if not _listening():
            _start_cluster()
        _wait_ready()
        _psql_as_postgres(SETUP_SQL)
    return DEFAULT_DSN


@dataclass(frozen=True)
class PgSchema:
    """One test's schema on the test server."""

    dsn: str
    schema: str

    def db(self, **kwargs: Any) -> PostgresRollback:
        """A PostgresRollback whose connections see this schema first."""
        return PostgresRollback(self.dsn, server_settings={"search_path": self.schema}, **kwargs)


@pytest.fixture
def pg(postgres_dsn: str) -> Iterator[PgSchema]:
    """A fresh schema for this test, dropped after it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_execute(postgres_dsn, f"CREATE SCHEMA {schema}"))
    try:
        yield PgSchema(postgres_dsn, schema)
    finally:
        asyncio.run(_execute(postgres_dsn, f"DROP SCHEMA {schema} CASCADE"))


async def _execute(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def _setup_lock() -> Iterator[None]:
    """One setup at a time across pytest-xdist workers."""
    with Path("/tmp/hudproxy-test-postgres.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _listening() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, PORT)) == 0


def _start_cluster() -> None:
    version, name = _cluster()
    result = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 and not _listening():
        pytest.fail(f"could not start PostgreSQL {version}/{name}: {result.stderr.strip() or result.stdout.strip()}")
    if result.returncode == 0:
        stop = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop"]
        busy = ["psql", "-X", "-tA", DEFAULT_DSN, "-c", OTHER_CLIENTS]  # another test run's: leave it running
        testrun.started(f"PostgreSQL {version}/{name}", stop, busy=busy)


def _cluster() -> tuple[str, str]:
    """(version, name) of the cluster on port 5432, preferring 15/main."""
    lines = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    clusters = [line.split()[:3] for line in lines.splitlines() if line.strip()]
    on_port = [(version, name) for version, name, port in clusters if port == str(PORT)]
    if not on_port:
        pytest.skip(f"no PostgreSQL cluster is configured on port {PORT} (pg_lsclusters: {lines.strip()!r})")
    return ("15", "main") if ("15", "main") in on_port else on_port[0]


def _wait_ready(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ready = subprocess.run(["pg_isready", "-q", "-h", HOST, "-p", str(PORT)], check=False).returncode == 0
        if ready:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"PostgreSQL on {HOST}:{PORT} was not ready within {timeout:.0f}s")
        time.sleep(0.2)


def _psql_as_postgres(sql: str) -> None:
    """Run `sql` as the postgres superuser over the local socket (peer authentication)."""
    psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-p", str(PORT), "-d", "postgres", "-f", "-"]
    if os.geteuid() == 0:
        psql = ["runuser", "-u", "postgres", "--", *psql]
    result = subprocess.run(psql, input=sql, capture_output=True, text=True, timeout=60, cwd="/")
    if result.returncode != 0:
        pytest.fail(f"could not create the test role/database with psql: {result.stderr.strip()}")
