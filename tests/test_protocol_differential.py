"""Differential protocol fuzzing: random but well-formed message sequences
(simple and extended query, named and unnamed statements and portals, row
limits, Close, Flush, Sync, transaction blocks, errors at every step) go to
AionDB and to PostgreSQL 15, and the replies must agree message by message.

The SQL is kept to statements whose meaning the two servers share, so that
what differs is protocol state: portals, transactions, skip-to-Sync, tags.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.servers import AionServer, PgServer
from tests.test_protocol_raw import _with_table, normalize
from tests.wire import rawclient as w
from tests.wire.rawclient import Msg, RawClient

SQL = [
    "select 1 as one",
    "select $1::int4 + 1 as n",
    "select * from generate_series(1, 3) g",
    "insert into {t} values ($1::int4, 'x') returning a",
    "insert into {t} values (7, 'y')",
    "select a, b from {t} order by a",
    "update {t} set b = 'z' where a = $1::int4",
    "select 1 / (g - 1) from generate_series(1, 1) g",   # fails at Execute on both
    "selec 1",
    "begin", "commit", "rollback",
    "",
]
NAMES = ["", "s1"]
PORTALS = ["", "p1"]
PARAMS = st.lists(st.sampled_from([b"1", b"2", b"x", None]), max_size=2)


@st.composite
def extended_message(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from("PPBBEEDCH"))
    if kind == "P":
        return w.parse(draw(st.sampled_from(NAMES)), draw(st.sampled_from(SQL)))
    if kind == "B":
        return w.bind(draw(st.sampled_from(PORTALS)), draw(st.sampled_from(NAMES)),
                      tuple(draw(PARAMS)))
    if kind == "E":
        return w.execute(draw(st.sampled_from(PORTALS)), draw(st.sampled_from([0, 0, 1, 2])))
    if kind == "D":
        which = draw(st.sampled_from("SP"))
        return w.describe(which, draw(st.sampled_from(NAMES if which == "S" else PORTALS)))
    if kind == "C":
        which = draw(st.sampled_from("SP"))
        return w.close(which, draw(st.sampled_from(NAMES if which == "S" else PORTALS)))
    return w.FLUSH


@st.composite
def batch(draw: st.DrawFn) -> bytes:
    """Messages up to one ReadyForQuery: a simple Query, or extended ones and Sync."""
    if draw(st.booleans()):
        sql = draw(st.sampled_from([s for s in SQL if "$" not in s]))
        return w.query(sql)
    return b"".join(draw(st.lists(extended_message(), max_size=6))) + w.SYNC


SEQUENCE = st.lists(batch(), min_size=1, max_size=6)
_tables = itertools.count()


def run(host: str, port: int, user: str, db: str, table: str,
        batches: list[bytes]) -> list[list[tuple]]:
    with psycopg.connect(host=host, port=port, user=user, dbname=db, autocommit=True) as c:
        c.execute(f"create table {table} (a int primary key, b text)")
    out = []
    with RawClient(host, port) as c:
        c.startup(user=user, database=db)
        for b in batches:
            c.send(_with_table(b, table))
            msgs: list[Msg] = c.read_until("Z")
            out.append(normalize(msgs))
    # Thousands of examples must not pile up tables (each DDL commit costs
    # time in the number of tables).
    with psycopg.connect(host=host, port=port, user=user, dbname=db, autocommit=True) as c:
        c.execute(f"drop table {table}")
    return out


@pytest.fixture(scope="module")
def diff_db(aiondb: AionServer, postgres: PgServer) -> str:
    with psycopg.connect(aiondb.dsn(), autocommit=True) as c:
        c.execute("CREATE DATABASE differential")
    with psycopg.connect(postgres.dsn(), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS differential")
        c.execute("CREATE DATABASE differential")
    return "differential"


@pytest.fixture(autouse=True)
def no_internal_errors(aiondb: AionServer) -> Iterator[None]:
    start = len(aiondb.log_text())
    yield
    assert "Traceback" not in aiondb.log_text()[start:]


def check(aiondb: AionServer, postgres: PgServer, db: str, batches: list[bytes]) -> None:
    table = f"dt{next(_tables)}"
    ours = run(aiondb.host, aiondb.port, "aion", db, table, batches)
    theirs = run(postgres.host, postgres.port, "postgres", db, table, batches)
    assert ours == theirs


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=SEQUENCE)
def test_same_replies_as_postgres(aiondb: AionServer, postgres: PgServer, diff_db: str,
                                  batches: list[bytes]) -> None:
    check(aiondb, postgres, diff_db, batches)


@pytest.mark.slow
# Fixed examples by default, so CI is repeatable; AIONDB_FUZZ_RANDOM=1 explores
# new ones (run it by hand after protocol changes; add what it finds above).
@settings(max_examples=3000, deadline=None,
          derandomize=os.environ.get("AIONDB_FUZZ_RANDOM") != "1",
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=SEQUENCE)
def test_same_replies_as_postgres_long(aiondb: AionServer, postgres: PgServer, diff_db: str,
                                       batches: list[bytes]) -> None:
    check(aiondb, postgres, diff_db, batches)


@pytest.mark.parametrize("sql", SQL)
@pytest.mark.parametrize("max_rows", [0, 1])
def test_portal_executed_again(aiondb: AionServer, postgres: PgServer, diff_db: str,
                               sql: str, max_rows: int) -> None:
    """A second Execute of a portal that ran to its end: a row-returning one
    yields no more rows, any other kind cannot be run again (55000)."""
    params = (b"1",) if "$1" in sql else ()
    check(aiondb, postgres, diff_db,
          [w.parse("", sql) + w.bind("", "", params) + w.execute("", max_rows)
           + w.execute("", 0) + w.execute("", 0) + w.SYNC])


_EXTENDED_3 = w.parse("", "select g from generate_series(1, 3) g") + w.bind("", "")
RUN_TIME_CASES = {
    # a run-time error follows the RowDescription and the rows before it
    "simple": [w.query("select 1 / (g - 3) from generate_series(1, 5) g")],
    "first row": [w.query("select 1 / (g - 1) from generate_series(1, 5) g")],
    "constant": [w.query("select 1 / 0")],
    "values statement": [w.query("values (1), (1 / 0)")],
    "from values": [w.query("select 1 / (g - 1) from (values (1), (2)) v(g)")],
    "second statement": [w.query("select 1; select 1 / (g - 2) from generate_series(1, 3) g")],
    "after 1000 rows": [w.query("select g, 1 / (g - 1500) from generate_series(1, 3000) g")],
    "execute": [w.parse("", "select 1 / (g - 3) from generate_series(1, 5) g") +
                w.bind("", "") + w.describe("P", "") + w.execute("", 0) + w.SYNC],
    "execute row limit": [w.parse("", "select 1 / (g - 3) from generate_series(1, 5) g") +
                          w.bind("", "") + w.execute("", 1) + w.execute("", 1) +
                          w.execute("", 0) + w.SYNC],
    # the unnamed portal in a failed block
    "portal of failed query": [w.query("begin"),
                               w.query("select 1 / (g - 2) from generate_series(1, 3) g"),
                               w.describe("P", "") + w.SYNC, w.execute("", 0) + w.SYNC,
                               w.query("rollback")],
    "portal after plan-time error": [w.query("begin"), w.query("select 1 / 0"),
                                     w.execute("", 0) + w.SYNC, w.query("rollback")],
    "portal across sync": [w.query("begin"), _EXTENDED_3 + w.execute("", 2) + w.SYNC,
                           w.query("selec"), w.execute("", 2) + w.SYNC, w.query("rollback")],
    "portal replaced by query": [w.query("begin"), _EXTENDED_3 + w.SYNC, w.query("select 1"),
                                 w.execute("", 0) + w.SYNC, w.query("rollback")],
    "portal kept by plan-time error": [w.query("begin"), _EXTENDED_3 + w.SYNC, w.query("select 1/0"),
                                   w.execute("", 0) + w.SYNC, w.query("rollback")],
    "describe in failed block": [w.query("begin"), w.parse("s1", "select 1") + w.SYNC,
                                 w.query("selec"), w.describe("S", "s1") + w.SYNC,
                                 w.query("rollback")],
}


@pytest.mark.parametrize("case", list(RUN_TIME_CASES))
def test_run_time_errors_and_portals(aiondb: AionServer, postgres: PgServer, diff_db: str,
                                     case: str) -> None:
    check(aiondb, postgres, diff_db, RUN_TIME_CASES[case])
