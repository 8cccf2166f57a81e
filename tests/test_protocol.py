"""The protocol as real clients drive it: psycopg 3 (sync, async, pipelines,
binary formats, prepared statements, cancel) and psql. Where PostgreSQL 15
is at hand the same client code runs against it and the results must agree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors as pe
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import Int2, Int4, Int8

from tests.support.servers import AionServer, PgServer


@pytest.fixture(scope="module")
def pg_db(postgres: PgServer) -> str:
    with psycopg.connect(postgres.dsn(), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS protocol")
        c.execute("CREATE DATABASE protocol")
    return postgres.dsn("protocol")


@pytest.fixture(autouse=True)
def no_internal_errors(aiondb: AionServer) -> Iterator[None]:
    start = len(aiondb.log_text())
    yield
    assert "Traceback" not in aiondb.log_text()[start:]


def on_both(aiondb: AionServer, tenant: str, pg_dsn: str,
            fn: Callable[[psycopg.Connection], Any]) -> Any:
    """Run fn on a fresh autocommit connection to each server; both must
    return the same thing. Returns AionDB's result."""
    results = []
    for dsn in (aiondb.dsn(tenant), pg_dsn):
        with psycopg.connect(dsn, autocommit=True) as c:
            results.append(fn(c))
    assert results[0] == results[1]
    return results[0]


def outcome(fn: Callable[[], Any]) -> Any:
    """A result, or the exception class a call raised (to compare servers)."""
    try:
        return fn()
    except psycopg.Error as exc:
        return type(exc).__name__


# --- transactions and statuses ----------------------------------------------------------------------

def test_transaction_status_and_failed_state(conn: psycopg.Connection) -> None:
    conn.execute("create table tx (a int primary key)")
    assert conn.info.transaction_status is TransactionStatus.IDLE
    conn.execute("begin")
    conn.execute("insert into tx values (1)")
    assert conn.info.transaction_status is TransactionStatus.INTRANS
    with pytest.raises(pe.UniqueViolation):
        conn.execute("insert into tx values (1)")
    assert conn.info.transaction_status is TransactionStatus.INERROR
    for _ in range(2):   # every statement until ROLLBACK
        with pytest.raises(pe.InFailedSqlTransaction) as info:
            conn.execute("select 1")
        assert info.value.sqlstate == "25P02"
    conn.execute("rollback")
    assert conn.info.transaction_status is TransactionStatus.IDLE
    assert conn.execute("select count(*) from tx").fetchone() == (0,)


def test_non_autocommit_connection(aiondb: AionServer, tenant: str) -> None:
    with psycopg.connect(aiondb.dsn(tenant)) as c:
        c.execute("create table na (a int)")
        c.execute("insert into na values (%s)", [1])
        c.commit()
        c.execute("insert into na values (%s)", [2])
        c.rollback()
        assert c.execute("select a from na").fetchall() == [(1,)]


def test_startup_options_like_postgres(aiondb: AionServer, tenant: str, pg_db: str) -> None:
    opts = "-c search_path=abc,public -c TimeZone=Europe/Paris --application-name=from\\ opts"

    def run(dsn: str) -> Any:
        with psycopg.connect(dsn, options=opts) as c:
            shown = [c.execute(f"show {n}").fetchone() for n in
                     ("search_path", "timezone", "application_name")]
            return shown, c.info.parameter_status("TimeZone")
    ours = run(aiondb.dsn(tenant))
    assert ours == run(pg_db)
    assert ours[0][1:] == [("Europe/Paris",), ("from opts",)] and ours[1] == "Europe/Paris"
    with psycopg.connect(aiondb.dsn(tenant), options=opts, application_name="explicit") as c:
        assert c.execute("show application_name").fetchone() == ("explicit",)


# --- errors and notices -------------------------------------------------------------------------------

def test_error_fields_give_psycopg_the_right_class(conn: psycopg.Connection) -> None:
    with pytest.raises(pe.SyntaxError) as info:
        conn.execute("selec 1")
    d = info.value.diag
    assert (d.severity, d.severity_nonlocalized, d.sqlstate) == ("ERROR", "ERROR", "42601")
    assert d.message_primary and d.message_primary.startswith("syntax error")
    assert d.statement_position is not None and 1 <= int(d.statement_position) <= 7
    conn.execute("create table uq (a int primary key)")
    conn.execute("insert into uq values (1)")
    for sql, cls in (("insert into uq values (1)", pe.UniqueViolation),
                     ("select 1/0", pe.DivisionByZero),
                     ("select * from no_such_table", pe.UndefinedTable),
                     ("select no_such_column from uq", pe.UndefinedColumn)):
        with pytest.raises(cls) as info:
            conn.execute(sql)
        assert info.value.diag.severity == "ERROR"
        assert info.value.diag.message_primary


@pytest.mark.parametrize("sql", ["select " + "(" * 2000 + "1" + ")" * 2000,
                                 "select " + " + ".join(["1"] * 2000)],
                         ids=["nested parentheses", "long expression"])
def test_too_deeply_nested_statement(conn: psycopg.Connection, sql: str) -> None:
    # PostgreSQL's answer to a statement beyond its stack: 54001, session intact
    with pytest.raises(pe.StatementTooComplex) as info:
        conn.execute(sql)
    assert info.value.diag.message_primary == "stack depth limit exceeded"
    assert conn.execute("select 1").fetchone() == (1,)


def test_notice_response(conn: psycopg.Connection) -> None:
    notices: list[tuple] = []   # a Diagnostic is only valid inside the handler
    conn.add_notice_handler(lambda d: notices.append(
        (d.severity, d.severity_nonlocalized, d.sqlstate, d.message_primary)))
    conn.execute("drop table if exists never_there")
    assert len(notices) == 1
    assert notices[0][:3] == ("NOTICE", "NOTICE", "00000")
    assert "never_there" in (notices[0][3] or "")


# --- extended protocol through psycopg --------------------------------------------------------------

def test_executemany_pipelines_like_postgres(aiondb: AionServer, tenant: str,
                                             pg_db: str) -> None:
    def run(c: psycopg.Connection) -> Any:
        c.execute("drop table if exists em")
        c.execute("create table em (id int primary key, name text, score float8)")
        cur = c.cursor()
        cur.executemany("insert into em values (%s, %s, %s)",
                        [(i, f"n{i}", i / 4) for i in range(200)])
        rowcount = cur.rowcount
        cur.executemany("insert into em values (%s, %s, %s) returning id * 2",
                        [(1000, "a", 1.0), (1001, None, None)], returning=True)
        returned = [cur.fetchall()]
        while cur.nextset():
            returned.append(cur.fetchall())
        # a duplicate in the middle: the whole batch is one implicit transaction
        dup = outcome(lambda: cur.executemany("insert into em values (%s, %s, %s)",
                                              [(2000, "x", 0), (1, "dup", 0), (2001, "y", 0)]))
        rows = c.execute("select count(*), sum(id), min(name), max(score) from em").fetchall()
        return rowcount, returned, dup, rows
    rowcount, returned, dup, rows = on_both(aiondb, tenant, pg_db, run)
    assert rowcount == 200 and returned == [[(2000,)], [(2002,)]] and dup == "UniqueViolation"
    assert rows[0][0] == 202


def test_explicit_pipeline_error_aborts_the_rest(aiondb: AionServer, tenant: str,
                                                 pg_db: str) -> None:
    def run(c: psycopg.Connection) -> Any:
        c.execute("drop table if exists pl")
        c.execute("create table pl (a int primary key)")
        seen: list[Any] = []
        try:
            with c.pipeline() as p:
                c.execute("insert into pl values (1)")
                p.sync()
                c.execute("insert into pl values (2)")
                c.execute("insert into pl values (2)")
                c.execute("insert into pl values (3)")
        except psycopg.Error as exc:
            seen.append(type(exc).__name__)
        seen.append(c.execute("select a from pl order by a").fetchall())
        return seen
    assert on_both(aiondb, tenant, pg_db, run) == ["UniqueViolation", [(1,)]]


def test_prepared_statements_and_describe(aiondb: AionServer, tenant: str, pg_db: str) -> None:
    def run(c: psycopg.Connection) -> Any:
        c.execute("drop table if exists ps")
        c.execute("create table ps (id int8 primary key, v text, at timestamptz)")
        c.prepare_threshold = 0   # every statement becomes a named prepared statement
        out = []
        for i in range(5):
            c.execute("insert into ps values (%s, %s, %s)",
                      [i, f"v{i}", dt.datetime(2024, 1, i + 1, tzinfo=dt.UTC)])
        for i in range(5):
            cur = c.execute("select v, at from ps where id = %s", [i])
            out.append((cur.fetchone(), [(d.name, d.type_code) for d in cur.description]))
        cur = c.execute("select id, v from ps where id > %s order by id limit %s", [1, 2])
        out.append(cur.fetchall())
        return out
    out = on_both(aiondb, tenant, pg_db, run)
    assert out[0] == (("v0", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)),
                      [("v", 25), ("at", 1184)])


def test_stream_and_row_limits(aiondb: AionServer, tenant: str, pg_db: str) -> None:
    def run(c: psycopg.Connection) -> Any:
        streamed = list(c.cursor().stream("select * from generate_series(1, 50) g"))
        return len(streamed), streamed[0], streamed[-1]
    assert on_both(aiondb, tenant, pg_db, run) == (50, (1,), (50,))


def test_async_connection(aiondb: AionServer, tenant: str) -> None:
    async def main() -> list[tuple]:
        async with await psycopg.AsyncConnection.connect(aiondb.dsn(tenant),
                                                         autocommit=True) as c:
            await c.execute("create table asy (a int, b text)")
            async with c.cursor() as cur:
                await cur.executemany("insert into asy values (%s, %s)",
                                      [(i, str(i)) for i in range(10)])
                await cur.execute("select a, b from asy where a >= %s order by a", [8])
                return await cur.fetchall()
    assert asyncio.run(main()) == [(8, "8"), (9, "9")]


# --- binary formats -----------------------------------------------------------------------------------

def test_binary_parameters_with_their_oids(conn: psycopg.Connection) -> None:
    conn.execute("create table bp (s int2, i int4, b int8, raw bytea, t text)")
    values = [Int2(-7), Int4(2**31 - 1), Int8(-(2**63)), b"\x00\xff\x01", "tëxt"]
    conn.execute("insert into bp values (%b, %b, %b, %b, %s)", values)
    got = conn.execute("select s, i, b, raw, t, pg_typeof(s)::text from bp").fetchone()
    assert got == (-7, 2**31 - 1, -(2**63), b"\x00\xff\x01", "tëxt", "smallint")
    # The OIDs psycopg declares are the types the server sees for $n.
    types = conn.execute("select pg_typeof(%b)::text, pg_typeof(%b)::text, pg_typeof(%b)::text,"
                         " pg_typeof(%b)::text", [Int2(1), Int4(1), Int8(1), b"x"]).fetchone()
    assert types == ("smallint", "integer", "bigint", "bytea")
    # Plain Python ints in the default (auto) format.
    row = conn.execute("select %s + 1, %s * 2, %s - 1", [1, 70000, 2**40]).fetchone()
    assert row == (2, 140000, 2**40 - 1)


BINARY_RESULT_SQL = (
    "select 1::int2, -2::int4, 3000000000::int8, 1.5::float4, -2.25::float8, true, false, "
    "'tëxt'::text, '\\x00ff'::bytea, '2024-02-29 12:34:56.789'::timestamp, "
    "'2024-02-29 12:34:56.789+02'::timestamptz, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, "
    "12345.678::numeric, -0.00012::numeric, 0::numeric, 1e30::numeric, "
    "null::int4, '2024-01-02'::date, 'NaN'::numeric")


def test_binary_results_like_postgres(aiondb: AionServer, tenant: str, pg_db: str) -> None:
    def run(c: psycopg.Connection) -> Any:
        c.execute("set timezone = 'UTC'")
        text = c.execute(BINARY_RESULT_SQL).fetchone()
        binary = c.cursor(binary=True).execute(BINARY_RESULT_SQL).fetchone()
        assert binary is not None and text is not None
        # NaN != NaN: compare its text form
        return [str(v) if isinstance(v, Decimal) else v for v in binary], \
            [str(v) if isinstance(v, Decimal) else v for v in text]
    binary, text = on_both(aiondb, tenant, pg_db, run)
    assert binary == text
    assert binary[11] == uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert binary[12:16] == ["12345.678", "-0.00012", "0", "1000000000000000000000000000000"]


def test_binary_results_from_a_table(conn: psycopg.Connection) -> None:
    conn.execute("create table br (id int8 primary key, f float8, n numeric, at timestamptz,"
                 " u uuid, ok bool, blob bytea)")
    rows = [(i, i / 3, Decimal(i) / 7, dt.datetime(2020, 1, 1, i, tzinfo=dt.UTC),
             uuid.UUID(int=i), i % 2 == 0, bytes([i])) for i in range(1, 6)]
    with conn.cursor(binary=True) as cur:
        cur.executemany("insert into br values (%s, %s, %s, %s, %s, %s, %s)", rows)
        got = cur.execute("select id, f, n, at, u, ok, blob from br order by id").fetchall()
    text = conn.execute("select id, f, n, at, u, ok, blob from br order by id").fetchall()
    assert got == text
    assert [g[0] for g in got] == [1, 2, 3, 4, 5] and got[2][5] is False


# --- cancel and terminate -----------------------------------------------------------------------------

def _wait_running(aiondb: AionServer, where: str, arg: Any) -> None:
    """Wait until the session named by `where` has a statement in progress:
    pg_stat_activity shows xact_start only while a transaction is open."""
    with psycopg.connect(aiondb.dsn(), autocommit=True) as watcher:
        for _ in range(20_000):
            row = watcher.execute("select count(*) from pg_stat_activity where "
                                  f"{where} and xact_start is not null", [arg]).fetchone()
            if row and row[0]:
                return
    raise AssertionError("the statement never started")


@pytest.mark.parametrize("how", ["cancel", "cancel_safe"])
def test_psycopg_cancel_from_another_thread(aiondb: AionServer, conn: psycopg.Connection,
                                            how: str) -> None:
    pid = conn.info.backend_pid

    def cancel() -> None:
        _wait_running(aiondb, "pid = %s", pid)
        getattr(conn, how)()
    t = threading.Thread(target=cancel)
    t.start()
    with pytest.raises(pe.QueryCanceled) as info:
        conn.execute("select pg_sleep(10)")
    t.join()
    assert info.value.sqlstate == "57014"
    assert info.value.diag.message_primary == "canceling statement due to user request"
    assert conn.execute("select 1").fetchone() == (1,)   # the session goes on


def test_cancel_inside_a_transaction_fails_it(aiondb: AionServer,
                                              conn: psycopg.Connection) -> None:
    pid = conn.info.backend_pid
    conn.execute("begin")
    t = threading.Thread(target=lambda: (_wait_running(aiondb, "pid = %s", pid),
                                         conn.cancel()))
    t.start()
    with pytest.raises(pe.QueryCanceled):
        conn.execute("select pg_sleep(10)")
    t.join()
    assert conn.info.transaction_status is TransactionStatus.INERROR
    conn.execute("rollback")


def test_psql_cancel_with_ctrl_c(aiondb: AionServer) -> None:
    env = dict(os.environ, PGAPPNAME="psql_cancel_test", PGCONNECT_TIMEOUT="10")
    proc = subprocess.Popen(["psql", "-X", "-h", aiondb.host, "-p", str(aiondb.port), "-U",
                             "aion", "-d", "postgres", "-c", "select pg_sleep(10)"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_running(aiondb, "application_name = %s", "psql_cancel_test")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "canceling statement due to user request" in err
    assert proc.returncode == 1


def test_terminate_ends_the_session(aiondb: AionServer, tenant: str) -> None:
    def sessions() -> int:
        with psycopg.connect(aiondb.dsn(), autocommit=True) as w:
            row = w.execute("select count(*) from pg_stat_activity where "
                            "application_name = 'term_test'").fetchone()
            return row[0] if row else -1
    c = psycopg.connect(aiondb.dsn(tenant, application_name="term_test"), autocommit=True)
    assert sessions() == 1
    c.close()   # sends Terminate
    assert c.closed
    # the server ends the session as it processes Terminate, before the next
    # connection's queries are answered: no waiting needed
    assert sessions() == 0


# --- psql end to end ----------------------------------------------------------------------------------

def test_psql_script_like_postgres(aiondb: AionServer, tenant: str, postgres: PgServer,
                                   pg_db: str, tmp_path: Any) -> None:
    script = tmp_path / "s.sql"
    script.write_text(
        "create table ps1 (id int primary key, name text);\n"
        "insert into ps1 values (1, 'a'), (2, null), (3, 'c');\n"
        "select * from ps1 order by id;\n"
        "begin;\nupdate ps1 set name = 'b' where id = 2;\nselect name from ps1 where id = 2;\n"
        "rollback;\nselect count(*) from ps1 where name is null;\n"
        "insert into ps1 values (1, 'dup');\n"
        "select 'after the error';\ndrop table ps1;\n")
    outputs = []
    for host, port, user, db in ((aiondb.host, aiondb.port, "aion", tenant),
                                 (postgres.host, postgres.port, "postgres", "protocol")):
        res = subprocess.run(["psql", "-X", "-q", "-h", host, "-p", str(port), "-U", user,
                              "-d", db, "-f", str(script)], capture_output=True, text=True,
                             timeout=60)
        err = [line.split(":", 3)[-1].strip() for line in res.stderr.splitlines()
               if "ERROR" in line]
        outputs.append((res.returncode, res.stdout, err))
    assert outputs[0][:2] == outputs[1][:2]
    assert len(outputs[0][2]) == 1 and "duplicate key" in outputs[1][2][0]
