"""Constraint errors name their object in the ErrorResponse fields (schema,
table, column, constraint), as PostgreSQL sends them: applications and ORMs
map violations to fields through psycopg's `diag.constraint_name`."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.support.servers import pg_bindir

SETUP = [
    "CREATE SCHEMA app",
    "CREATE TABLE app.par (id int PRIMARY KEY, u int UNIQUE, v int CHECK (v > 0))",
    "CREATE TABLE app.c (id int PRIMARY KEY, pid int REFERENCES app.par, nn text NOT NULL)",
    "INSERT INTO app.par VALUES (1, 1, 1)",
    "INSERT INTO app.c VALUES (1, 1, 'x')",
]

CASES = [
    # (statement, expected (sqlstate, schema, table, column, constraint))
    ("INSERT INTO app.par VALUES (1, 2, 2)", ("23505", "app", "par", None, "par_pkey")),
    ("INSERT INTO app.par VALUES (2, 1, 2)", ("23505", "app", "par", None, "par_u_key")),
    ("UPDATE app.par SET id = 1, u = 1 WHERE false", None),
    ("INSERT INTO app.par VALUES (3, 3, -1)", ("23514", "app", "par", None, "par_v_check")),
    ("INSERT INTO app.c VALUES (2, 9, 'x')", ("23503", "app", "c", None, "c_pid_fkey")),
    ("INSERT INTO app.c VALUES (3, 1, NULL)", ("23502", "app", "c", "nn", None)),
    ("DELETE FROM app.par", ("23503", "app", "c", None, "c_pid_fkey")),
    ("ALTER TABLE app.c ADD CHECK (id < 0)", ("23514", "app", "c", None, "c_id_check")),
]


def _fields(conn: psycopg.Connection, sql: str) -> tuple | None:
    try:
        conn.execute(sql)
    except psycopg.Error as e:
        d = e.diag
        return (e.sqlstate, d.schema_name, d.table_name, d.column_name, d.constraint_name)
    return None


def _run(dsn: str) -> list[tuple | None]:
    with psycopg.connect(dsn, autocommit=True) as c:
        for s in SETUP:
            c.execute(s)
        return [_fields(c, sql) for sql, _ in CASES]


def test_constraint_error_fields(aiondb, tenant) -> None:
    got = _run(aiondb.dsn(tenant))
    assert got == [want for _, want in CASES]


def test_constraint_error_fields_match_postgres(request) -> None:
    if pg_bindir() is None:
        pytest.skip("PostgreSQL 15 is not installed")
    pg = request.getfixturevalue("postgres")
    db = f"errf_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {db}")
    assert _run(pg.dsn(db)) == [want for _, want in CASES]
