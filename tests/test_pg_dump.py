"""pg_dump (PostgreSQL 15's, the real binary) against a real AionDB server:
it dumps the same script PostgreSQL dumps for the same database, and the
dump restores into AionDB with psql (ON_ERROR_STOP) to the same data, whose
dump is the same again."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support.servers import AionServer, PgServer, start_aiondb

HERE = Path(__file__).parent / "pg_dump"
SCHEMAS = sorted(HERE.glob("*.sql"))


@pytest.fixture(scope="module")
def aion() -> AionServer:
    """Bootstrap user "postgres", as in the reference cluster, so owners match."""
    srv = start_aiondb("--ephemeral", env={"AIONDB_USER": "postgres"}, user="postgres")
    yield srv
    srv.stop()


def _run(args: list[str], input: str | None = None) -> str:
    env = {**os.environ, "PGCLIENTENCODING": "UTF8", "PGTZ": "UTC"}
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, input=input)
    assert r.returncode == 0, f"{args[0]} failed ({r.returncode}):\n{r.stderr}"
    return r.stdout


def _dump(bindir: str, host: str, port: int, user: str, db: str) -> str:
    return _run([os.path.join(bindir, "pg_dump"), "-h", host, "-p", str(port), "-U", user, db])


def _psql(host: str, port: int, user: str, db: str, *args: str, input: str | None = None
          ) -> str:
    return _run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", str(port),
                 "-U", user, "-d", db, *args], input=input)


def _normalized(dump: str) -> str:
    dump = re.sub(r"^\\(un)?restrict \S+$", r"\\\1restrict KEY", dump, flags=re.M)
    dump = re.sub(r"^-- Dumped from database version .*$", "-- Dumped from VERSION", dump,
                  flags=re.M)
    # now() and current_date defaults filled these in
    return re.sub(r"\d{4}-\d\d-\d\d( \d\d:\d\d:\d\d(\.\d+)?\+00)?", "DATE", dump)


def _fresh(host: str, port: int, user: str, db: str) -> None:
    _psql(host, port, user, "postgres", "-c", f"DROP DATABASE IF EXISTS {db}",
          "-c", f"CREATE DATABASE {db}")


def _contents(dsn: str) -> list[tuple[str, list[str]]]:
    """Every user table's and materialized view's rows (sorted), and every
    sequence's position."""
    out = []
    with psycopg.connect(dsn, autocommit=True) as c:
        rels = c.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON "
            "n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm', 'v') AND n.nspname NOT IN "
            "('pg_catalog', 'information_schema') ORDER BY 1, 2").fetchall()
        for schema, name in rels:
            rows = c.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
            out.append((f"{schema}.{name}", sorted(repr(r) for r in rows)))
        out.append(("sequences", c.execute(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
        ).fetchall()))
    assert len(out) > 3
    return out


@pytest.mark.parametrize("schema", SCHEMAS, ids=[p.stem for p in SCHEMAS])
def test_pg_dump_matches_postgres_and_restores(aion: AionServer, postgres: PgServer,
                                               schema: Path) -> None:
    a, pg = aion, postgres
    for host, port, user in ((a.host, a.port, a.user), (pg.host, pg.port, pg.user)):
        _fresh(host, port, user, "dumped")
        _psql(host, port, user, "dumped", "-o", os.devnull, "-f", str(schema))
    ours = _dump(pg.bindir, a.host, a.port, a.user, "dumped")
    theirs = _dump(pg.bindir, pg.host, pg.port, pg.user, "dumped")
    assert _normalized(ours) == _normalized(theirs)

    # the dump restores into AionDB, to the same contents and the same dump
    _fresh(a.host, a.port, a.user, "restored")
    _psql(a.host, a.port, a.user, "restored", "-o", os.devnull, "-f", "-", input=ours)
    assert _contents(a.dsn("restored")) == _contents(a.dsn("dumped"))
    again = _dump(pg.bindir, a.host, a.port, a.user, "restored")
    assert _normalized(again) == _normalized(ours)
    if schema.stem != "schema":
        return
    assert "CREATE INDEX orders_big ON app.orders USING btree (((amount * (2)::numeric))) " \
           "WHERE (amount > (100)::numeric);" in ours
    # and what was restored works: the sequences go on, the constraints hold
    with psycopg.connect(a.dsn("restored"), autocommit=True) as c:
        assert c.execute("INSERT INTO app.customers (name) VALUES ('new') RETURNING id"
                         ).fetchone() == (4,)
        assert c.execute("INSERT INTO app.orders (customer_id, amount) VALUES (4, 1) "
                         "RETURNING id").fetchone() == (4,)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            c.execute("INSERT INTO app.orders (customer_id, amount) VALUES (99, 1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            c.execute("INSERT INTO app.customers (name) VALUES ('ann')")


def test_parallel_directory_dump_and_restore(aion: AionServer, postgres: PgServer,
                                             tmp_path: Path) -> None:
    """pg_dump -j (its workers import the leader's snapshot) and pg_restore -j."""
    a, bindir = aion, postgres.bindir
    _fresh(a.host, a.port, a.user, "par")
    _psql(a.host, a.port, a.user, "par", "-o", os.devnull, "-f", str(HERE / "schema.sql"))
    out = tmp_path / "dir"
    _run([os.path.join(bindir, "pg_dump"), "-Fd", "-j", "2", "-h", a.host, "-p", str(a.port),
          "-U", a.user, "-f", str(out), "par"])
    _fresh(a.host, a.port, a.user, "par_restored")
    _run([os.path.join(bindir, "pg_restore"), "-j", "2", "--exit-on-error", "-h", a.host,
          "-p", str(a.port), "-U", a.user, "-d", "par_restored", str(out)])
    assert _contents(a.dsn("par_restored")) == _contents(a.dsn("par"))
    assert _normalized(_dump(bindir, a.host, a.port, a.user, "par_restored")) == \
        _normalized(_dump(bindir, a.host, a.port, a.user, "par"))


def test_views_the_printer_does_not_model_dump_and_restore(aion: AionServer,
                                                           postgres: PgServer) -> None:
    """A view with WITH is dumped as its stored text, whose relations were
    qualified when it was created: the dump (search_path '') restores."""
    a, bindir = aion, postgres.bindir
    _fresh(a.host, a.port, a.user, "ctev")
    _psql(a.host, a.port, a.user, "ctev", "-c", "CREATE TABLE t (a int)",
          "-c", "INSERT INTO t VALUES (1), (2)",
          "-c", "CREATE VIEW v AS WITH w AS (SELECT a FROM t) SELECT a * 10 AS x FROM w")
    dump = _dump(bindir, a.host, a.port, a.user, "ctev")
    assert "FROM public.t" in dump
    _fresh(a.host, a.port, a.user, "ctev_restored")
    _psql(a.host, a.port, a.user, "ctev_restored", "-o", os.devnull, "-f", "-", input=dump)
    with psycopg.connect(a.dsn("ctev_restored"), autocommit=True) as c:
        assert c.execute("SELECT x FROM v ORDER BY x").fetchall() == [(10,), (20,)]


def test_pg_dumpall_restores_into_another_server(aion: AionServer, postgres: PgServer) -> None:
    """The whole cluster (its one role, every database) through pg_dumpall and
    psql, as onto a PostgreSQL cluster where the role exists: the only error
    is CREATE ROLE's "already exists"."""
    a = aion
    _fresh(a.host, a.port, a.user, "dumped")
    _psql(a.host, a.port, a.user, "dumped", "-o", os.devnull, "-f", str(SCHEMAS[0]))
    script = _run([os.path.join(postgres.bindir, "pg_dumpall"), "-h", a.host, "-p", str(a.port),
                   "-U", a.user])
    other = start_aiondb("--ephemeral", env={"AIONDB_USER": "postgres"}, user="postgres")
    try:
        r = subprocess.run(["psql", "-X", "-q", "-h", other.host, "-p", str(other.port),
                            "-U", other.user, "-d", "postgres", "-o", os.devnull, "-f", "-"],
                           input=script, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        errors = [line.split("ERROR:", 1)[1].strip() for line in r.stderr.splitlines()
                  if "ERROR:" in line]
        assert errors == [f'role "{a.user}" already exists']
        assert _contents(other.dsn("dumped")) == _contents(a.dsn("dumped"))
    finally:
        other.stop()
