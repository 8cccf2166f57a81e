"""Shared fixtures: a real AionDB server process on a loopback port (one per
test session), a fresh tenant per test, and a PostgreSQL 15 reference."""

from __future__ import annotations

import itertools
import uuid

import psycopg
import pytest

from tests.support.servers import AionServer, PgServer, start_aiondb, start_postgres


@pytest.fixture(scope="session")
def aiondb() -> AionServer:
    srv = start_aiondb("--ephemeral")
    yield srv
    srv.stop()


_counter = itertools.count()


@pytest.fixture()
def tenant(aiondb: AionServer) -> str:
    """A fresh, empty tenant (database) for one test."""
    name = f"t{next(_counter)}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(aiondb.dsn(), autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return name


@pytest.fixture()
def conn(aiondb: AionServer, tenant: str) -> psycopg.Connection:
    c = psycopg.connect(aiondb.dsn(tenant), autocommit=True)
    yield c
    c.close()


@pytest.fixture(scope="session")
def postgres() -> PgServer:
    pg = start_postgres()
    if pg is None:
        pytest.skip("PostgreSQL 15 is not installed")
    yield pg
    pg.stop()
