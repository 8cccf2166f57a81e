"""SCRAM-SHA-256 against a real server started with AIONDB_PASSWORD, driven
by libpq (psycopg, psql) and by our own raw client to see the exact bytes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.servers import AionServer, start_aiondb
from tests.wire.rawclient import RawClient, kinds

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def scram_server() -> Iterator[AionServer]:
    srv = start_aiondb("--ephemeral", env={"AIONDB_PASSWORD": PASSWORD})
    yield srv
    srv.stop()


def dsn(srv: AionServer, user: str = "aion", password: str | None = PASSWORD,
        **extra: str) -> str:
    parts = [f"host={srv.host}", f"port={srv.port}", f"user={user}", "dbname=postgres",
             "connect_timeout=10"] + [f"{k}={v}" for k, v in extra.items()]
    if password is not None:
        parts.append(f"password='{password}'")
    return " ".join(parts)


def session_count(srv: AionServer) -> int:
    with psycopg.connect(dsn(srv), autocommit=True) as c:
        row = c.execute("select count(*) from pg_stat_activity").fetchone()
        return row[0] if row else -1


def test_right_password(scram_server: AionServer) -> None:
    with psycopg.connect(dsn(scram_server)) as c:
        assert c.execute("select current_user").fetchone() == ("aion",)
        assert c.pgconn.used_password


@pytest.mark.parametrize(("user", "password"), [("aion", "wrong"), ("mallory", PASSWORD)],
                         ids=["wrong password", "unknown user"])
def test_refused_with_28P01_and_no_session(scram_server: AionServer, user: str,
                                           password: str) -> None:
    before = session_count(scram_server)
    with pytest.raises(psycopg.OperationalError,
                       match=f'password authentication failed for user "{user}"'):
        psycopg.connect(dsn(scram_server, user, password))
    # The exact reply, seen from a raw client: a FATAL 28P01 and nothing more.
    with RawClient(scram_server.host, scram_server.port) as c:
        msgs = c.scram_startup(password, user)
    assert kinds(msgs) == "E"
    f = msgs[0].fields()
    assert (f["S"], f["C"]) == ("FATAL", "28P01")
    assert session_count(scram_server) == before


def test_raw_exchange_succeeds_with_server_signature(scram_server: AionServer) -> None:
    with RawClient(scram_server.host, scram_server.port) as c:
        msgs = c.scram_startup(PASSWORD)
    assert kinds(msgs).startswith("RR") and kinds(msgs).endswith("KZ")
    assert msgs[0].body[:4] == b"\0\0\0\x0c" and msgs[0].body[4:6] == b"v="   # SASLFinal
    assert msgs[1].body == b"\0\0\0\0"                                        # AuthOk


def test_no_password_supplied(scram_server: AionServer) -> None:
    env = dict(os.environ, PGPASSWORD="", PGPASSFILE="/nonexistent")
    res = subprocess.run(["psql", "-X", "-w", "-h", scram_server.host, "-p",
                          str(scram_server.port), "-U", "aion", "-d", "postgres", "-c",
                          "select 1"], capture_output=True, text=True, env=env, timeout=30)
    assert res.returncode == 2
    assert "no password supplied" in res.stderr


@pytest.mark.parametrize(("password", "code"), [(PASSWORD, 0), ("nope", 2)])
def test_psql(scram_server: AionServer, password: str, code: int) -> None:
    env = dict(os.environ, PGPASSWORD=password)
    res = subprocess.run(["psql", "-X", "-At", "-h", scram_server.host, "-p",
                          str(scram_server.port), "-U", "aion", "-d", "postgres", "-c",
                          "select 'in'"], capture_output=True, text=True, env=env, timeout=30)
    assert res.returncode == code
    if code == 0:
        assert res.stdout.strip() == "in"
    else:
        assert "password authentication failed" in res.stderr


def test_channel_binding_is_not_offered_without_tls(scram_server: AionServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="channel binding"):
        psycopg.connect(dsn(scram_server, channel_binding="require"))
    with psycopg.connect(dsn(scram_server, channel_binding="prefer")) as c:
        assert c.execute("select 1").fetchone() == (1,)
