"""synchronous_commit off trades the last few milliseconds of commits for
speed, and the server says so: at start when it is the server's default,
and to a session that turns it off on durable storage."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile

import psycopg
import pytest

from tests.support.servers import start_aiondb

SAYS = "synchronous_commit is off"


def test_the_start_banner_says_so_when_it_is_the_default() -> None:
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, AIONDB_MASTER_KEY=secrets.token_hex(32),
                   AIONDB_SYNCHRONOUS_COMMIT="false")
        proc = subprocess.Popen([sys.executable, "-m", "aiondb", "--data-dir", d, "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                text=True)
        try:
            assert proc.stdout is not None
            banner = []
            for line in proc.stdout:
                banner.append(line)
                if line.startswith("listening on"):
                    break
        finally:
            proc.terminate()
            proc.wait(10)
    text = "".join(banner)
    assert SAYS in text and "crash can lose" in text, text


@pytest.fixture(scope="module")
def durable():
    with tempfile.TemporaryDirectory() as d:
        srv = start_aiondb("--data-dir", d, env={"AIONDB_MASTER_KEY": secrets.token_hex(32)})
        try:
            yield srv
        finally:
            srv.stop()


def _notices(dsn: str, *sql: str) -> list[str]:
    got: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as c:
        c.add_notice_handler(lambda d: got.append(d.message_primary or ""))
        for s in sql:
            c.execute(s)
    return got


def test_a_session_turning_it_off_is_told(durable) -> None:
    got = _notices(durable.dsn(), "SET synchronous_commit = local",
                   "SET synchronous_commit = off", "SET synchronous_commit = off",
                   "SET synchronous_commit = on")
    assert [m for m in got if SAYS in m] == [got[0]] and len(got) == 1, got


def test_commits_with_it_off_are_kept_after_a_clean_stop() -> None:
    env = {"AIONDB_MASTER_KEY": secrets.token_hex(32)}
    with tempfile.TemporaryDirectory() as d:
        srv = start_aiondb("--data-dir", d, env=env)
        try:
            with psycopg.connect(srv.dsn(), autocommit=True) as c:
                c.execute("CREATE TABLE sc (id int PRIMARY KEY)")
                c.execute("SET synchronous_commit = off")
                c.execute("INSERT INTO sc VALUES (1)")
                c.execute("SET synchronous_commit = remote_apply")
                c.execute("INSERT INTO sc VALUES (2)")
        finally:
            srv.stop()
        srv = start_aiondb("--data-dir", d, env=env)
        try:
            with psycopg.connect(srv.dsn()) as c:
                assert c.execute("SELECT id FROM sc ORDER BY id").fetchall() == [(1,), (2,)]
        finally:
            srv.stop()


def test_an_ephemeral_server_does_not_warn(aiondb) -> None:
    assert _notices(aiondb.dsn(), "SET synchronous_commit = off") == []
