"""Kill -9 torture through the real server: psycopg clients on several
connections commit numbered rows (autocommit inserts, and explicit
transactions that insert a pair and update a counter), the `aiondb` process
is killed at random moments, restarted, and checked:

- every commit a client saw acknowledged is present;
- no transaction is half-visible (both rows of a pair, or neither; the
  counter equals the number of committed pairs);
- the secondary index agrees with the rows.

Small WAL segments and max_wal_size make checkpoints happen mid-run too.
"""

from __future__ import annotations

import random
import secrets
import tempfile
import threading
import time

import psycopg
import pytest

from tests.support.servers import AionServer, start_aiondb

SESSIONS = 4


def _start(data_dir: str, key: str) -> AionServer:
    return start_aiondb("--data-dir", data_dir, env={
        "AIONDB_MASTER_KEY": key, "AIONDB_WAL_SEGMENT_SIZE": "256kB",
        "AIONDB_MAX_WAL_SIZE": "1MB", "AIONDB_CHECKPOINT_INTERVAL": "0"})


def _worker(dsn: str, conn_no: int, start_seq: int, acked: set[int], pairs: set[int],
            stop: threading.Event) -> None:
    rng = random.Random(conn_no * 7919 + start_seq)
    seq = start_seq
    try:
        with psycopg.connect(dsn, autocommit=True) as c:
            while not stop.is_set():
                seq += 1
                rid = conn_no * 10_000_000 + seq * 2
                if rng.random() < 0.5:
                    c.execute("INSERT INTO t (id, conn, kind) VALUES (%s, %s, 'single')",
                              (rid, conn_no))
                    acked.add(rid)
                else:
                    with c.transaction():
                        c.execute("INSERT INTO t (id, conn, kind) VALUES (%s, %s, 'pair')",
                                  (rid, conn_no))
                        c.execute("INSERT INTO t (id, conn, kind) VALUES (%s, %s, 'pair')",
                                  (rid + 1, conn_no))
                        c.execute("UPDATE counters SET n = n + 1 WHERE conn = %s", (conn_no,))
                    pairs.add(rid)
    except psycopg.Error:
        pass  # the server was killed: what was acknowledged is recorded


def _verify(dsn: str, acked: set[int], pairs: set[int]) -> int:
    with psycopg.connect(dsn, autocommit=True) as c:
        rows = dict(c.execute("SELECT id, kind FROM t").fetchall())
        counters = dict(c.execute("SELECT conn, n FROM counters").fetchall())
        missing = [r for r in acked if r not in rows]
        assert not missing, f"acknowledged autocommit inserts lost: {missing[:5]}"
        missing_pairs = [p for p in pairs if p not in rows or p + 1 not in rows]
        assert not missing_pairs, f"acknowledged transactions lost: {missing_pairs[:5]}"
        committed_pairs: dict[int, int] = {}
        for rid, kind in rows.items():
            if kind == "pair" and rid % 2 == 0:
                assert rid + 1 in rows, f"transaction {rid} is half-visible"
                committed_pairs[rid // 10_000_000] = committed_pairs.get(rid // 10_000_000,
                                                                         0) + 1
            if kind == "pair" and rid % 2 == 1:
                assert rid - 1 in rows, f"transaction {rid - 1} is half-visible"
        for conn_no in range(SESSIONS):
            assert counters.get(conn_no, 0) == committed_pairs.get(conn_no, 0), \
                "counter disagrees with committed pairs: a transaction was half-applied"
            by_index = c.execute("SELECT count(*) FROM t WHERE conn = %s",
                                 (conn_no,)).fetchone()[0]
            by_scan = sum(1 for rid in rows if rid // 10_000_000 == conn_no)
            assert by_index == by_scan, "secondary index disagrees with the rows"
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN SELECT count(*) FROM t WHERE conn = 1").fetchall())
        assert "t_conn_idx" in plan, plan
        return len(rows)


def _torture(rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    key = secrets.token_hex(32)
    with tempfile.TemporaryDirectory(prefix="aiondb-crash-") as data_dir:
        servers = [_start(data_dir, key)]
        try:
            _rounds(servers, data_dir, key, rounds, rng)
        finally:
            servers[-1].stop()   # also when an assertion fails: leave no server behind


def _rounds(servers: list[AionServer], data_dir: str, key: str, rounds: int,
            rng: random.Random) -> None:
    srv = servers[-1]
    with psycopg.connect(srv.dsn(), autocommit=True) as c:
        c.execute("CREATE TABLE t (id bigint PRIMARY KEY, conn int NOT NULL, kind text)")
        c.execute("CREATE INDEX t_conn_idx ON t (conn)")
        c.execute("CREATE TABLE counters (conn int PRIMARY KEY, n int NOT NULL)")
        c.execute("INSERT INTO counters SELECT g, 0 FROM generate_series(0, %s) g",
                  (SESSIONS - 1,))
    acked: set[int] = set()
    pairs: set[int] = set()
    total = 0
    for rnd in range(rounds):
        stop = threading.Event()
        threads = [threading.Thread(target=_worker, args=(
            srv.dsn(), n, (rnd + 1) * 100_000, acked, pairs, stop), daemon=True)
            for n in range(SESSIONS)]
        for th in threads:
            th.start()
        time.sleep(rng.uniform(0.3, 1.5))
        srv.kill9()
        stop.set()
        for th in threads:
            th.join(timeout=10)
        srv = _start(data_dir, key)
        servers.append(srv)
        total = _verify(srv.dsn(), acked, pairs)
    assert acked and pairs and total >= len(acked)


def test_kill9_real_server_keeps_every_acknowledged_commit() -> None:
    _torture(rounds=3, seed=1)


@pytest.mark.slow
def test_kill9_real_server_many_rounds() -> None:
    _torture(rounds=25, seed=2)
