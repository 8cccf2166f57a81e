"""pg_cancel_backend and pg_terminate_backend from one session against
another, on AionDB and on PostgreSQL 15: the same outcomes and SQLSTATEs."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.support.servers import fresh_database


@pytest.fixture(params=["aiondb", "postgres"])
def dsn(request, aiondb, postgres) -> str:
    server = aiondb if request.param == "aiondb" else postgres
    return server.dsn(fresh_database("admin_fns", server))


def _in_thread(conn: psycopg.Connection, sql: str) -> tuple[threading.Thread, list]:
    out: list = []

    def run() -> None:
        try:
            conn.execute(sql)
            out.append("ok")
        except psycopg.Error as exc:
            out.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, out


def _wait_busy(admin: psycopg.Connection, pid: int) -> None:
    for _ in range(200):
        state = admin.execute("SELECT state FROM pg_stat_activity WHERE pid = %s",
                              (pid,)).fetchone()
        if state and state[0] == "active":
            return
        time.sleep(0.02)
    raise AssertionError("the statement never started")


def _sleeping(admin: psycopg.Connection, victim: psycopg.Connection
              ) -> tuple[int, threading.Thread, list]:
    """Start `SELECT pg_sleep(20)` on victim; return once it runs."""
    pid = victim.info.backend_pid
    t, out = _in_thread(victim, "SELECT pg_sleep(20)")
    _wait_busy(admin, pid)
    return pid, t, out


def test_an_unknown_pid_is_false_with_a_warning(dsn: str) -> None:
    warnings: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as c:
        c.add_notice_handler(lambda d: warnings.append(f"{d.severity}: {d.message_primary}"))
        assert c.execute("SELECT pg_cancel_backend(0), pg_terminate_backend(0), "
                         "pg_terminate_backend(0, 100)").fetchone() == (False, False, False)
    assert warnings == ["WARNING: PID 0 is not a PostgreSQL backend process"] * 3
    with psycopg.connect(dsn, autocommit=True) as c, \
            pytest.raises(psycopg.errors.NumericValueOutOfRange, match="must not be negative"):
        c.execute("SELECT pg_terminate_backend(pg_backend_pid(), -1)")


def test_cancel_interrupts_the_running_statement_only(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin, \
            psycopg.connect(dsn, autocommit=True) as victim:
        pid, t, out = _sleeping(admin, victim)
        # what an operator looks at before cancelling
        assert admin.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s",
                             (pid,)).fetchone() == ("active", "SELECT pg_sleep(20)")
        assert admin.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone() == (True,)
        t.join(10)
        assert isinstance(out[0], psycopg.errors.QueryCanceled)
        # the session goes on; a cancel while idle does nothing
        assert admin.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone() == (True,)
        time.sleep(0.1)
        assert victim.execute("SELECT 1").fetchone() == (1,)


def test_terminate_ends_an_idle_session_and_rolls_it_back(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("CREATE TABLE tb (id int)")
        victim = psycopg.connect(dsn)
        victim.execute("INSERT INTO tb VALUES (1)")        # left open: idle in transaction
        pid = victim.info.backend_pid
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError, match="administrator command"):
            victim.execute("SELECT 1")
        victim.close()
        for _ in range(100):
            if not admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                 (pid,)).fetchone()[0]:
                break
            time.sleep(0.02)
        assert admin.execute("SELECT count(*) FROM tb").fetchone() == (0,)


def test_terminate_ends_a_waiting_statement_with_57P01(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin, \
            psycopg.connect(dsn, autocommit=True) as victim:
        pid, t, out = _sleeping(admin, victim)
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        t.join(10)
        assert isinstance(out[0], psycopg.errors.AdminShutdown), out
        assert victim.closed or victim.broken


@pytest.fixture(params=["aiondb", "postgres"])
def server(request, aiondb, postgres):
    return aiondb if request.param == "aiondb" else postgres


def test_drop_database_force_ends_the_sessions_on_it(server) -> None:
    fresh_database("drop_force", server)
    fresh_database("drop_force_admin", server)
    with psycopg.connect(server.dsn("drop_force_admin"), autocommit=True) as admin:
        idle = psycopg.connect(server.dsn("drop_force"))
        idle.execute("SELECT 1")                                  # idle in transaction
        busy = psycopg.connect(server.dsn("drop_force"), autocommit=True)
        _pid, t, out = _sleeping(admin, busy)
        with pytest.raises(psycopg.errors.SyntaxError):
            admin.execute("DROP DATABASE drop_force WITH (frobnicate)")
        admin.execute("DROP DATABASE drop_force WITH (FORCE)")
        t.join(10)
        assert isinstance(out[0], psycopg.errors.AdminShutdown), out
        with pytest.raises(psycopg.OperationalError):
            idle.execute("SELECT 1")
        idle.close()
        busy.close()
        assert admin.execute("SELECT count(*) FROM pg_database WHERE datname = 'drop_force'"
                             ).fetchone() == (0,)


def test_drop_database_without_force_names_the_session_left(server) -> None:
    fresh_database("drop_busy", server)
    with psycopg.connect(server.dsn(), autocommit=True) as admin, \
            psycopg.connect(server.dsn("drop_busy")):
        with pytest.raises(psycopg.errors.ObjectInUse) as e:
            admin.execute("DROP DATABASE drop_busy")     # waits 5 s, as PostgreSQL
        assert e.value.diag.message_detail == "There is 1 other session using the database."
