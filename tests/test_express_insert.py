"""The express INSERT (sql/express.py: a prepared `INSERT ... VALUES` run in
the fast lane outside a block skips the executor) must answer exactly as
PostgreSQL 15, for tables it takes and for tables it hands back to the
general path: defaults, constants, NOT NULL, primary and unique keys,
CHECK, varchar lengths, serial columns, read-only and isolation settings,
and a key another session holds uncommitted (the insert waits)."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import psycopg
import pytest

from tests.support.servers import AionServer, PgServer, fresh_database, start_aiondb
from tests.test_protocol_differential import no_internal_errors  # noqa: F401
from tests.test_protocol_raw import run_case
from tests.wire import rawclient as w

_n = iter(range(10**6))


def _run(stmt: str, *params: bytes | None, describe: bool = True) -> bytes:
    """One fast-lane run of a prepared statement: Bind, [Describe,] Execute, Sync."""
    return (w.bind("", stmt, params) + (w.describe("P", "") if describe else b"")
            + w.execute("", 0) + w.SYNC)


# (table definition, INSERT statements by name, runs)
CASES = {
    "pk-text": ("(a int primary key, b text)",
                {"i": "insert into {t} (a, b) values ($1, $2)"},
                [("i", b"1", b"x"), ("i", b"2", None), ("i", b"1", b"dup"), ("i", None, b"n"),
                 ("i", b"3", b"y")]),
    "defaults-constants": ("(a int primary key, b text not null default 'd', c int default 5,"
                           " d text)",
                           {"i": "insert into {t} (a) values ($1)",
                            "k": "insert into {t} (a, d) values ($1, 'const')",
                            "n": "insert into {t} (a, b) values ($1, $2)"},
                           [("i", b"1"), ("k", b"2"), ("n", b"3", None), ("n", b"4", b"e"),
                            ("k", b"2")]),
    "unique-secondary": ("(a int primary key, b int unique)",
                         {"i": "insert into {t} values ($1, $2)"},
                         [("i", b"1", b"10"), ("i", b"2", b"10"), ("i", b"3", None),
                          ("i", b"4", None), ("i", b"5", b"11")]),
    "no-primary-key": ("(a int, b bigint)",
                       {"i": "insert into {t} values ($1, $2)"},
                       [("i", b"1", b"1"), ("i", b"1", b"1"), ("i", None, None)]),
    "check": ("(a int primary key, b int check (b > 0))",
              {"i": "insert into {t} values ($1, $2)"},
              [("i", b"1", b"1"), ("i", b"2", b"0"), ("i", b"3", None)]),
    "varchar": ("(a int primary key, b varchar(3))",
                {"i": "insert into {t} values ($1, $2)"},
                # (a value too long fails at Bind in PostgreSQL, which folds the
                # unnamed statement's parameters into its plan: not compared here)
                [("i", b"1", b"abc"), ("i", b"3", b"ab  "), ("i", b"3", b"abc  ")]),
    "serial": ("(a serial primary key, b text)",
               {"i": "insert into {t} (b) values ($1)"},
               [("i", b"x"), ("i", b"y")]),
    "bad-input": ("(a int primary key, b bigint, c text)",
                  {"i": "insert into {t} values ($1, $2, $3)"},
                  [("i", b"1", b"99999999999", b"t"), ("i", b"x", b"1", b"t"),
                   ("i", b"99999999999", b"1", b"t"), ("i", b"2", b"1", b"\xff"),
                   # Python's int() takes "1_0"; PostgreSQL 15 does not
                   ("i", b"1_0", b"1", b"t"), ("i", b"4", b"2_000", b"t"),
                   ("i", b" 5 ", b"+3", b"t"), ("i", b"-0", b"-9223372036854775808", b"t")]),
    # parameters cast to their column's type (express slots with a cast), a
    # constant column between them, NOT NULL after a cast
    "casts": ("(a int primary key, b int not null, k text, c varchar(3))",
              {"i": "insert into {t} values ($1::int8, $2::int8, 'k', $3::text)"},
              # (a cast that fails, e.g. 3000000000 to int, fails at Bind in
              # PostgreSQL, as in "varchar" above: not compared here)
              [("i", b"1", b"2", b"ab"), ("i", b"3", None, b"x"), ("i", b"5", b"6", None),
               ("i", b"6", b"-7", b"abc"), ("i", b"1", b"8", b"dup")]),
}


@pytest.fixture(scope="module")
def express_db(aiondb: AionServer, postgres: PgServer) -> str:
    return fresh_database("express", aiondb, postgres)


def _replies(server: AionServer | PgServer, user: str, db: str,
             steps: list[bytes]) -> list[list[tuple]]:
    return run_case(server.host, server.port, user, db, f"ex{next(_n)}", steps)


@pytest.mark.parametrize("case", list(CASES))
def test_express_insert_matches_postgres(case: str, aiondb: AionServer, postgres: PgServer,
                                         express_db: str) -> None:
    table, stmts, runs = CASES[case]
    steps = [w.query(f"create table {{t}} {table}"),
             b"".join(w.parse(name, sql) for name, sql in stmts.items()) + w.SYNC]
    for i, (name, *params) in enumerate(runs):
        steps.append(_run(name, *params, describe=i % 2 == 0))
    steps.append(w.query("select * from {t} order by 1, 2"))
    # the settings that send an INSERT back to the general path
    steps += [w.query("set default_transaction_read_only = on"), _run(*runs[0]),
              w.query("set default_transaction_read_only = off"),
              w.query("set default_transaction_isolation = 'serializable'"),
              _run(runs[-1][0], b"77", *runs[-1][2:]),
              w.query("select count(*) from {t}")]
    assert _replies(aiondb, "aion", express_db, steps) == \
        _replies(postgres, "postgres", express_db, steps)


@pytest.mark.parametrize("holder_ends", ["commit", "rollback"])
def test_express_insert_waits_for_an_uncommitted_key(aiondb: AionServer,
                                                     holder_ends: str) -> None:
    """A key another transaction inserted but has not committed: the insert
    waits, then fails (23505) if the holder commits, succeeds if it rolls back."""
    table = f"exw{next(_n)}"
    dsn = aiondb.dsn()
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute(f"create table {table} (a int primary key, b text)")
    holder = psycopg.connect(dsn)
    holder.execute(f"insert into {table} values (1, 'holder')")
    outcome: list[object] = []

    def insert() -> None:
        with psycopg.connect(dsn, autocommit=True) as c:
            try:
                c.execute(f"insert into {table} (a, b) values (%s, %s)", (1, "waiter"))
                outcome.append("inserted")
            except psycopg.Error as exc:
                outcome.append(exc.sqlstate)

    t = threading.Thread(target=insert)
    t.start()
    time.sleep(0.5)
    assert outcome == []                  # still waiting for the holder
    getattr(holder, holder_ends)()
    holder.close()
    t.join(10)
    assert outcome == (["23505"] if holder_ends == "commit" else ["inserted"])
    with psycopg.connect(dsn) as c:
        rows = c.execute(f"select b from {table}").fetchall()
    assert rows == ([("holder",)] if holder_ends == "commit" else [("waiter",)])


def test_pipelined_one_row_commits_on_a_durable_server(postgres: PgServer,
                                                       tmp_path: Any) -> None:
    """Many `Bind, Execute, Sync` groups sent at once to a durable server:
    each one-row commit waits for its flush (SingleInsertCommit) and the
    next group runs only after it, in order, a duplicate failing alone; the
    replies are PostgreSQL's, and every acknowledged row is there after a
    restart."""
    key = secrets.token_hex(32)
    env = {"AIONDB_MASTER_KEY": key}
    srv = start_aiondb("--data-dir", str(tmp_path / "d"), env=env)
    keys = [*range(1, 30), 7, *range(30, 61)]       # 7 twice: one error mid-way
    steps = [w.query("create table {t} (id int8 primary key, v text)"),
             w.parse("i", "insert into {t} values ($1, $2)") + w.SYNC,
             b"".join(_run("i", str(k).encode(), b"v%d" % k, describe=k % 2 == 0)
                      for k in keys),
             w.query("select count(*), sum(id) from {t}")]
    try:
        db = fresh_database("pipe", srv, postgres)
        got = run_case(srv.host, srv.port, "aion", db, "piped", steps)
        assert got == run_case(postgres.host, postgres.port, "postgres", db, "piped", steps)
    finally:
        srv.stop()
    srv = start_aiondb("--data-dir", str(tmp_path / "d"), env=env)
    try:
        with psycopg.connect(srv.dsn("pipe")) as c:
            assert c.execute("select count(*), min(id), max(id) from piped").fetchone() \
                == (60, 1, 60)
    finally:
        srv.stop()
