"""A real disk filling up under the real server: a commit that cannot be made
durable is reported to the client as an error (53100 disk full), never as
success; the server keeps serving reads; every acknowledged commit is still
there after a restart. Needs a small tmpfs (mount as root); skipped where
mounting is not permitted."""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile

import psycopg
import pytest

from tests.support.servers import start_aiondb


@pytest.fixture()
def small_disk():
    d = tempfile.mkdtemp(prefix="aiondb-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(d)
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield d
    subprocess.run(["umount", "-l", d], capture_output=True)
    os.rmdir(d)


def test_disk_full_commit_is_an_error_and_nothing_acknowledged_is_lost(small_disk) -> None:
    key = secrets.token_hex(32)
    data_dir = os.path.join(small_disk, "data")
    env = {"AIONDB_MASTER_KEY": key, "AIONDB_WAL_SEGMENT_SIZE": "256kB",
           "AIONDB_CHECKPOINT_INTERVAL": "0"}
    srv = start_aiondb("--data-dir", data_dir, env=env)
    acked: list[int] = []
    error = None
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as c:
            c.execute("CREATE TABLE big (id int PRIMARY KEY, payload text)")
            payload = secrets.token_hex(2048)          # 4 kB per row, incompressible
            for i in range(5000):
                try:
                    c.execute("INSERT INTO big VALUES (%s, %s)", (i, payload))
                except psycopg.Error as exc:
                    error = exc
                    break
                acked.append(i)
            assert error is not None, "the disk never filled up"
            assert error.sqlstate in ("53100", "58030", "25006"), (error.sqlstate, str(error))
            # the server still answers, and the failed row is not visible
            n = c.execute("SELECT count(*) FROM big").fetchone()[0]
            assert n == len(acked)
        with psycopg.connect(srv.dsn(), autocommit=True) as c2:
            assert c2.execute("SELECT 1").fetchone() == (1,)
    finally:
        srv.kill9()
    srv = start_aiondb("--data-dir", data_dir, env=env)
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as c:
            ids = {r[0] for r in c.execute("SELECT id FROM big").fetchall()}
        assert set(acked) <= ids, "an acknowledged commit was lost"
        assert len(ids) == len(acked), "the commit reported as failed came back"
    finally:
        srv.stop()
