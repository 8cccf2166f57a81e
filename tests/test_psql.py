"""The real psql 15 binary against a real AionDB process and against
PostgreSQL 15, with the same scripts (tests/psql/*.sql): the output must be
the same, including the catalog queries psql sends (-E), the row
descriptions of those queries, and the queries behind tab completion.

AionDB runs with bootstrap user "postgres", like the reference cluster, so
owner columns compare unchanged; only ports (\\conninfo) and the OIDs psql
embeds in its queries are normalized."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.support.servers import AionServer, PgServer, start_aiondb

HERE = Path(__file__).parent / "psql"
SCRIPTS = sorted(p for p in HERE.glob("*.sql") if p.name != "tab_complete.sql")
_QUERY_BLOCK = re.compile(r"(\*{9} QUERY \*{10}\n)(.*?)(\n\*{26}\n)", re.S)

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")


@pytest.fixture(scope="module")
def aion() -> AionServer:
    srv = start_aiondb("--ephemeral", env={"AIONDB_USER": "postgres"}, user="postgres")
    yield srv
    srv.stop()


def psql(host: str, port: int, db: str, *args: str) -> str:
    env = {**os.environ, "PGCLIENTENCODING": "UTF8", "PGTZ": "UTC"}
    r = subprocess.run(["psql", "-X", "-h", host, "-p", str(port), "-U", "postgres", "-d", db,
                        *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=120, env=env)
    return r.stdout


def _recreate(host: str, port: int, db: str) -> None:
    psql(host, port, "postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {db}", "-c",
         f"CREATE DATABASE {db}")


def normalize(text: str) -> str:
    text = re.sub(r'at port "\d+"', 'at port "PORT"', text)
    # psql quotes the OIDs it looked up into its follow-up queries
    return _QUERY_BLOCK.sub(lambda m: m.group(1) + re.sub(r"\b\d{4,}\b", "OID", m.group(2))
                            + m.group(3), text)


@pytest.fixture(scope="module")
def runs(aion: AionServer, postgres: PgServer) -> dict[str, tuple[str, str]]:
    """Each script run once with -E (echo psql's own queries) on both servers,
    each in a fresh database named after the script."""
    out = {}
    for script in SCRIPTS:
        db = "psql_" + script.stem
        results = []
        for host, port in ((aion.host, aion.port), (postgres.host, postgres.port)):
            _recreate(host, port, db)
            results.append(psql(host, port, db, "-a", "-E", "-f", str(script)))
        out[script.stem] = (results[0], results[1])
    return out


@pytest.mark.parametrize("name", [s.stem for s in SCRIPTS])
def test_psql_output_matches_postgres(runs: dict[str, tuple[str, str]], name: str) -> None:
    ours, theirs = (normalize(t) for t in runs[name])
    if ours != theirs:
        diff = "".join(difflib.unified_diff(theirs.splitlines(True), ours.splitlines(True),
                                            "postgresql", "aiondb", n=2))
        pytest.fail(f"psql output of {name}.sql differs from PostgreSQL 15:\n{diff[:6000]}")


def _describe(conn: psycopg.Connection, sql: str) -> list[tuple[str, int]] | str:
    try:
        cur = conn.execute(sql)
        return [(d.name, d.type_code) for d in cur.description or []]
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


@pytest.mark.parametrize("name", [s.stem for s in SCRIPTS])
def test_psql_queries_describe_like_postgres(runs: dict[str, tuple[str, str]], name: str,
                                             aion: AionServer, postgres: PgServer) -> None:
    """psql reads result columns by position: every catalog query it sent must
    come back with PostgreSQL's column names and type OIDs."""
    queries = list(dict.fromkeys(m.group(2) for m in _QUERY_BLOCK.finditer(runs[name][1])))
    assert queries, "psql -E printed no queries"
    db = "psql_" + name
    with psycopg.connect(aion.dsn(db), autocommit=True) as ours, \
            psycopg.connect(postgres.dsn(db), autocommit=True) as theirs:
        bad = [(q, _describe(ours, q), _describe(theirs, q)) for q in queries]
    bad = [b for b in bad if b[1] != b[2]]
    assert not bad, "\n\n".join(f"{q}\n aiondb:     {o}\n postgresql: {t}" for q, o, t in bad)


def _tab_queries() -> list[str]:
    text = (HERE / "tab_complete.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [q.strip() for q in body.split(";\n") if q.strip()]


def _rows(conn: psycopg.Connection, sql: str) -> tuple[list[tuple[str, int]], list[tuple]]:
    cur = conn.execute(sql)
    return [(d.name, d.type_code) for d in cur.description], cur.fetchall()


def test_tab_completion_queries(runs: dict[str, tuple[str, str]], aion: AionServer,
                                postgres: PgServer) -> None:
    """The catalog queries behind psql's tab completion run on AionDB and find
    the user's objects as PostgreSQL does. Built-in objects differ (PostgreSQL
    has more functions, types and settings), so each server's answer in an
    empty database is subtracted from its answer in the described one."""
    results = {}
    for label, srv in (("aiondb", aion), ("postgresql", postgres)):
        _recreate(srv.host, srv.port, "psql_empty")
        with psycopg.connect(srv.dsn("psql_describe"), autocommit=True) as full, \
                psycopg.connect(srv.dsn("psql_empty"), autocommit=True) as empty:
            results[label] = [(_rows(full, q), _rows(empty, q)) for q in _tab_queries()]
    for q, ((od, orows), (_, obase)), ((td, trows), (_, tbase)) in zip(
            _tab_queries(), results["aiondb"], results["postgresql"], strict=True):
        assert od == td, f"{q}\n aiondb {od}\n postgresql {td}"
        if len(trows) < 1000:   # a truncated answer (LIMIT 1000) is not comparable
            assert set(orows) - set(obase) == set(trows) - set(tbase), q


def test_describe_objects_found(runs: dict[str, tuple[str, str]]) -> None:
    """Guard against both servers failing the same way: the describe script
    really lists the objects it made."""
    ours = runs["describe"][0]
    for expected in ('Table "public.orders"', "Foreign-key constraints:", "Referenced by:",
                     'View "public.big_orders"', 'Sequence "public.ticket_seq"',
                     'Index "public.orders_note_total"', "Owned by: public.customers.id",
                     "standard public schema", "Did not find any relation named"):
        assert expected in ours, expected
