"""Concurrent sessions interleaving transactions, over real connections.

A statement that must wait runs in a thread; "it is waiting" is observed as
"it has not returned while the other session holds the lock", and it is
released by that session's COMMIT/ROLLBACK.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import errors as pe


class Pending:
    """A statement running in another thread."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.result = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def is_waiting(self, settle: float = 0.3) -> bool:
        self.thread.join(settle)
        return self.thread.is_alive()

    def wait(self, timeout: float = 10) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "statement still blocked"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture()
def sessions(aiondb, tenant):
    conns = [psycopg.connect(aiondb.dsn(tenant), autocommit=True) for _ in range(3)]
    conns[0].execute("CREATE TABLE acc (id int PRIMARY KEY, bal int NOT NULL, tag text UNIQUE)")
    conns[0].execute("INSERT INTO acc VALUES (1, 100, 'a'), (2, 200, 'b'), (3, 300, 'c')")
    yield conns
    for c in conns:
        c.close()


def bal(c: psycopg.Connection, i: int) -> int:
    return c.execute("SELECT bal FROM acc WHERE id = %s", (i,)).fetchone()[0]


def test_uncommitted_writes_are_invisible(sessions) -> None:
    a, b, _ = sessions
    a.execute("BEGIN")
    a.execute("UPDATE acc SET bal = 0 WHERE id = 1")
    a.execute("INSERT INTO acc VALUES (4, 400, 'd')")
    assert bal(b, 1) == 100
    assert b.execute("SELECT count(*) FROM acc").fetchone()[0] == 3
    a.execute("COMMIT")
    assert bal(b, 1) == 0
    assert b.execute("SELECT count(*) FROM acc").fetchone()[0] == 4


def test_read_committed_update_waits_then_sees_new_value(sessions) -> None:
    a, b, _ = sessions
    a.execute("BEGIN")
    a.execute("UPDATE acc SET bal = bal + 10 WHERE id = 1")
    p = Pending(lambda: b.execute("UPDATE acc SET bal = bal * 2 WHERE id = 1"))
    assert p.is_waiting()
    a.execute("COMMIT")
    p.wait()
    assert bal(b, 1) == (100 + 10) * 2          # re-evaluated on the committed row


def test_waiter_proceeds_on_rollback(sessions) -> None:
    a, b, _ = sessions
    a.execute("BEGIN")
    a.execute("UPDATE acc SET bal = 0 WHERE id = 2")
    p = Pending(lambda: b.execute("UPDATE acc SET bal = bal + 1 WHERE id = 2"))
    assert p.is_waiting()
    a.execute("ROLLBACK")
    p.wait()
    assert bal(b, 2) == 201


def test_repeatable_read_sees_its_snapshot_and_fails_on_concurrent_update(sessions) -> None:
    a, b, _ = sessions
    b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    assert bal(b, 3) == 300                       # snapshot taken here
    a.execute("UPDATE acc SET bal = 1 WHERE id = 3")
    assert bal(b, 3) == 300                       # still the snapshot
    with pytest.raises(pe.SerializationFailure):
        b.execute("UPDATE acc SET bal = bal + 1 WHERE id = 3")
    b.execute("ROLLBACK")
    assert bal(b, 3) == 1


def test_repeatable_read_waiter_fails_with_40001_after_commit(sessions) -> None:
    a, b, _ = sessions
    b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    b.execute("SELECT 1 FROM acc")
    a.execute("BEGIN")
    a.execute("UPDATE acc SET bal = 5 WHERE id = 1")
    p = Pending(lambda: b.execute("UPDATE acc SET bal = 6 WHERE id = 1"))
    assert p.is_waiting()
    a.execute("COMMIT")
    with pytest.raises(pe.SerializationFailure):
        p.wait()
    b.execute("ROLLBACK")


def test_deadlock_is_detected(sessions) -> None:
    a, b, _ = sessions
    a.execute("BEGIN")
    b.execute("BEGIN")
    a.execute("UPDATE acc SET bal = 1 WHERE id = 1")
    b.execute("UPDATE acc SET bal = 2 WHERE id = 2")
    p = Pending(lambda: a.execute("UPDATE acc SET bal = 1 WHERE id = 2"))
    assert p.is_waiting()
    with pytest.raises(pe.DeadlockDetected):
        b.execute("UPDATE acc SET bal = 2 WHERE id = 1")
    b.execute("ROLLBACK")
    p.wait()
    a.execute("COMMIT")
    assert (bal(a, 1), bal(a, 2)) == (1, 1)


def test_unique_insert_waits_for_the_other_transaction(sessions) -> None:
    a, b, _ = sessions
    a.execute("BEGIN")
    a.execute("INSERT INTO acc VALUES (10, 0, 'x')")
    p = Pending(lambda: b.execute("INSERT INTO acc VALUES (10, 0, 'y')"))
    assert p.is_waiting()
    a.execute("COMMIT")
    with pytest.raises(pe.UniqueViolation):
        p.wait()
    # a unique secondary key: the waiter succeeds when the holder rolls back
    a.execute("BEGIN")
    a.execute("INSERT INTO acc VALUES (11, 0, 'z')")
    p = Pending(lambda: b.execute("INSERT INTO acc VALUES (12, 0, 'z')"))
    assert p.is_waiting()
    a.execute("ROLLBACK")
    p.wait()
    assert b.execute("SELECT id FROM acc WHERE tag = 'z'").fetchone()[0] == 12


def test_select_for_update_blocks_and_nowait_and_skip_locked(sessions) -> None:
    a, b, c = sessions
    a.execute("BEGIN")
    assert a.execute("SELECT id FROM acc WHERE id = 1 FOR UPDATE").fetchall() == [(1,)]
    b.execute("BEGIN")
    with pytest.raises(pe.LockNotAvailable):
        b.execute("SELECT id FROM acc WHERE id = 1 FOR UPDATE NOWAIT")
    b.execute("ROLLBACK")
    rows = b.execute("SELECT id FROM acc ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED").fetchall()
    assert rows == [(2,)]                          # a job-queue pattern
    p = Pending(lambda: c.execute("UPDATE acc SET bal = 0 WHERE id = 1"))
    assert p.is_waiting()
    a.execute("COMMIT")
    p.wait()


def test_serializable_write_skew_fails_one_transaction(sessions) -> None:
    a, b, _ = sessions
    a.execute("UPDATE acc SET bal = 1 WHERE id IN (1, 2)")   # invariant: sum >= 1
    a.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
    b.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
    assert a.execute("SELECT sum(bal) FROM acc WHERE id IN (1, 2)").fetchone()[0] == 2
    assert b.execute("SELECT sum(bal) FROM acc WHERE id IN (1, 2)").fetchone()[0] == 2
    a.execute("UPDATE acc SET bal = 0 WHERE id = 1")
    b.execute("UPDATE acc SET bal = 0 WHERE id = 2")
    a.execute("COMMIT")
    with pytest.raises(pe.SerializationFailure):
        b.execute("COMMIT")
    assert a.execute("SELECT sum(bal) FROM acc WHERE id IN (1, 2)").fetchone()[0] == 1


def test_ddl_waits_for_transactions_using_the_table(sessions) -> None:
    a, b, _ = sessions
    a.execute("BEGIN")
    a.execute("SELECT * FROM acc WHERE id = 1")
    p = Pending(lambda: b.execute("ALTER TABLE acc ADD COLUMN note text"))
    assert p.is_waiting()
    a.execute("COMMIT")
    p.wait()
    assert b.execute("SELECT note FROM acc WHERE id = 1").fetchone() == (None,)


def test_lock_timeout_and_cancel_while_waiting(sessions) -> None:
    a, b, _ = sessions
    a.execute("BEGIN")
    a.execute("UPDATE acc SET bal = 0 WHERE id = 1")
    b.execute("SET lock_timeout = '200ms'")
    started = time.monotonic()
    with pytest.raises(pe.LockNotAvailable):
        b.execute("UPDATE acc SET bal = 1 WHERE id = 1")
    assert time.monotonic() - started < 10
    b.execute("RESET lock_timeout")
    p = Pending(lambda: b.execute("UPDATE acc SET bal = 1 WHERE id = 1"))
    assert p.is_waiting()
    b.cancel()
    with pytest.raises(pe.QueryCanceled):
        p.wait()
    a.execute("ROLLBACK")
    assert bal(b, 1) == 100


def test_concurrent_increments_are_not_lost(aiondb, tenant) -> None:
    setup = psycopg.connect(aiondb.dsn(tenant), autocommit=True)
    setup.execute("CREATE TABLE ctr (id int PRIMARY KEY, n int NOT NULL)")
    setup.execute("INSERT INTO ctr VALUES (1, 0)")

    def work() -> None:
        with psycopg.connect(aiondb.dsn(tenant), autocommit=True) as c:
            for _ in range(50):
                with c.transaction():
                    c.execute("UPDATE ctr SET n = n + 1 WHERE id = 1")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert setup.execute("SELECT n FROM ctr").fetchone()[0] == 300
    setup.close()
