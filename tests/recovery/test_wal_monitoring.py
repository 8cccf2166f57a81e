"""What an operator reads about the WAL and checkpoints, as in PostgreSQL:
pg_current_wal_lsn() and its kin, pg_wal_lsn_diff, pg_stat_wal and the
checkpoint columns of pg_stat_bgwriter, on a real durable server (and a
clear error on an ephemeral one, which has no WAL)."""

from __future__ import annotations

import secrets
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.support.servers import AionServer, start_aiondb

PG_LSN_OID = 3220


@pytest.fixture()
def data_dir() -> Iterator[tuple[str, dict[str, str]]]:
    with tempfile.TemporaryDirectory() as d:
        yield d, {"AIONDB_MASTER_KEY": secrets.token_hex(32)}


def _start(data_dir: tuple[str, dict[str, str]]) -> AionServer:
    d, env = data_dir
    return start_aiondb("--data-dir", d, env=env)


@contextmanager
def _connected(data_dir: tuple[str, dict[str, str]], stop: int = signal.SIGTERM
               ) -> Iterator[psycopg.Connection]:
    """A durable server on data_dir and a connection to it; the server is
    stopped with `stop` afterwards (SIGKILL: a crash)."""
    srv = _start(data_dir)
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as c:
            yield c
    finally:
        srv.stop(stop)


def _positions(conn: psycopg.Connection) -> tuple[str, str, str]:
    row = conn.execute("SELECT pg_current_wal_insert_lsn(), pg_current_wal_lsn(), "
                       "pg_current_wal_flush_lsn()").fetchone()
    assert row is not None
    return row


def _lsn(text: str) -> int:
    hi, lo = text.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


def _wal_stats(conn: psycopg.Connection) -> tuple[int, int, int, int]:
    row = conn.execute("SELECT wal_records, wal_bytes, wal_write, wal_sync "
                       "FROM pg_stat_wal").fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def test_positions_advance_with_commits_and_are_flushed(data_dir) -> None:
    with _connected(data_dir) as c:
        cur = c.execute("SELECT pg_current_wal_lsn()")
        assert cur.description[0].type_code == PG_LSN_OID
        c.execute("CREATE TABLE m (id int PRIMARY KEY, v text)")
        before = _positions(c)
        records0, bytes0, _, sync0 = _wal_stats(c)
        for i in range(20):
            c.execute("INSERT INTO m VALUES (%s, %s)", (i, "x" * 200))
        after = _positions(c)
        records1, bytes1, write1, sync1 = _wal_stats(c)
        # every acknowledged commit is flushed: nothing is waiting to be
        insert, write, flush = (_lsn(x) for x in after)
        assert insert == write == flush
        grown = c.execute("SELECT pg_wal_lsn_diff(%s, %s)", (after[2], before[2])
                          ).fetchone()[0]
        assert grown > 20 * 200      # 20 records that each carry 200 bytes of row
        assert grown == _lsn(after[2]) - _lsn(before[2])
        assert records1 - records0 == 20
        assert bytes1 - bytes0 == grown          # no segment switch in between
        assert sync1 - sync0 >= 1 and write1 == sync1


def test_positions_continue_after_a_restart_and_a_crash(data_dir) -> None:
    with _connected(data_dir) as c:
        c.execute("CREATE TABLE r (id int PRIMARY KEY, at pg_lsn)")
        c.execute("INSERT INTO r SELECT 1, pg_current_wal_flush_lsn()")
        end1 = _lsn(_positions(c)[2])
    with _connected(data_dir, signal.SIGKILL) as c:
        assert _lsn(_positions(c)[0]) >= end1      # the log goes on, it is not reset
        c.execute("INSERT INTO r SELECT 2, pg_current_wal_flush_lsn()")
        end2 = _lsn(_positions(c)[2])
    with _connected(data_dir) as c:
        assert _lsn(_positions(c)[0]) >= end2
        rows = c.execute("SELECT id, at, pg_typeof(at)::text FROM r ORDER BY id").fetchall()
        # a pg_lsn column keeps its values and its type across recovery
        assert [r[0] for r in rows] == [1, 2]
        assert _lsn(rows[0][1]) < _lsn(rows[1][1]) <= end2
        assert {r[2] for r in rows} == {"pg_lsn"}


def test_checkpoints_are_counted(data_dir) -> None:
    with _connected(data_dir) as c:
        q = ("SELECT checkpoints_req, checkpoint_write_time, buffers_checkpoint, "
             "stats_reset <= now() FROM pg_stat_bgwriter")
        req0, time0, bufs0, reset_ok = c.execute(q).fetchone()
        assert reset_ok
        c.execute("CREATE TABLE big AS SELECT g AS id, repeat('y', 500) AS v "
                  "FROM generate_series(1, 2000) g")
        c.execute("CHECKPOINT")
        req1, time1, bufs1, _ = c.execute(q).fetchone()
        assert req1 == req0 + 1
        assert time1 > time0
        assert bufs1 - bufs0 >= 2000 * 500 // 8192 // 2     # ≈ 1 MB written, in 8 kB pages
        c.execute("CHECKPOINT")          # nothing to do: still counted, as PostgreSQL does
        req2, time2, _, _ = c.execute(q).fetchone()
        assert req2 == req1 + 1 and time2 == time1


def test_an_ephemeral_server_has_no_wal(aiondb: AionServer) -> None:
    with psycopg.connect(aiondb.dsn(), autocommit=True) as c:
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState,
                           match="has no write-ahead log"):
            c.execute("SELECT pg_current_wal_lsn()")
        # the statistics views answer, with nothing counted
        assert c.execute("SELECT wal_records, wal_bytes FROM pg_stat_wal").fetchone() == (0, 0)
        assert c.execute("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
                         ).fetchone() == (0,)
