"""Large results stream: rows are produced and sent in batches while the
client reads, with the transport's flow control, instead of being
materialized first. Checked by what a slow client sees and by the server's
peak memory; the exact messages of errors mid-stream are also compared with
PostgreSQL in test_protocol_differential.py."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest

from tests.support.servers import AionServer, start_aiondb
from tests.wire import rawclient as w
from tests.wire.rawclient import Msg, RawClient, kinds


def _status_mb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) // 1024
    return values["VmRSS"], values["VmHWM"]


@pytest.fixture(scope="module")
def own_server() -> Iterator[AionServer]:
    """A server of its own, so that its peak memory is this module's."""
    server = start_aiondb()
    yield server
    server.stop()


def _count_rows(c: RawClient, pause_every: int = 0) -> tuple[list[Msg], int]:
    """Read up to ReadyForQuery; DataRows are counted, not kept. With
    pause_every, stop reading now and then so the server's writes back up."""
    others: list[Msg] = []
    rows = 0
    while True:
        msg = c.read()
        assert msg is not None
        if msg.kind == "D":
            rows += 1
            if pause_every and rows % pause_every == 0:
                time.sleep(0.05)
            continue
        others.append(msg)
        if msg.kind == "Z":
            return others, rows


@pytest.mark.parametrize("protocol", ["simple", "extended"])
def test_server_memory_stays_bounded_for_a_huge_result_read_slowly(
        own_server: AionServer, protocol: str) -> None:
    pid = own_server.proc.pid
    sql = "select g, g * 2 as h from generate_series(1, 1000000) g"
    with RawClient(own_server.host, own_server.port, timeout=120) as c:
        c.startup()
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")          # restart the peak (VmHWM) from the current RSS
        before, _ = _status_mb(pid)
        if protocol == "simple":
            c.send(w.query(sql))
        else:
            c.send(w.parse("", sql) + w.bind("", "") + w.describe("P", "") +
                   w.execute("", 0) + w.SYNC)
        others, rows = _count_rows(c, pause_every=250_000)
    _, peak = _status_mb(pid)
    assert rows == 1_000_000
    assert kinds(others)[-2:] == "CZ" and others[-2].text() == "SELECT 1000000"
    # materialized, 1M rows of two ints take ~100 MB; streamed, about a batch
    assert peak - before < 40, (before, peak)


def test_error_mid_stream_follows_the_rows_already_sent(aiondb: AionServer) -> None:
    sql = "select 1 / (g - 5000) from generate_series(1, 10000) g"
    with RawClient(aiondb.host, aiondb.port) as c:
        c.startup()
        c.send(w.query(sql))
        others, rows = _count_rows(c)
        assert rows == 4999
        assert kinds(others) == "TEZ"
        assert others[1].fields()["C"] == "22012"
        assert others[2].text() == "I"
        # the same through Execute, and the session is fine afterwards
        c.send(w.parse("", sql) + w.bind("", "") + w.execute("", 0) + w.SYNC)
        others, rows = _count_rows(c)
        assert rows == 4999
        assert kinds(others) == "12EZ"
        c.send(w.query("select 42"))
        msgs = c.read_until("Z")
        assert [m.kind for m in msgs] == ["T", "D", "C", "Z"]


def test_suspended_portal_keeps_its_executor_between_executes(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        c.startup()
        c.send(w.query("begin"))
        c.read_until("Z")
        c.send(w.parse("s", "select g from generate_series(1, 5000) g") +
               w.bind("p", "s") + w.execute("p", 1500) + w.execute("p", 1500) + w.SYNC)
        msgs = c.read_until("Z")
        values = [int(m.body[6:]) for m in msgs if m.kind == "D"]
        assert values == list(range(1, 3001))
        assert kinds(msgs).replace("D", "") == "12ssZ"
        # a later Execute, after other statements of the transaction
        c.send(w.query("select 1"))
        c.read_until("Z")
        c.send(w.execute("p", 0) + w.SYNC)
        msgs = c.read_until("Z")
        values = [int(m.body[6:]) for m in msgs if m.kind == "D"]
        assert values == list(range(3001, 5001))
        assert msgs[-2].kind == "C" and msgs[-2].text() == "SELECT 2000"
        # the error of a row comes at the Execute that reaches it
        c.send(w.parse("e", "select 1 / (g - 2500) from generate_series(1, 5000) g") +
               w.bind("q", "e") + w.execute("q", 2000) + w.SYNC)
        msgs = c.read_until("Z")
        assert kinds(msgs).replace("D", "") == "12sZ"
        c.send(w.execute("q", 2000) + w.SYNC)
        msgs = c.read_until("Z")
        assert kinds(msgs) == "D" * 499 + "EZ"
        assert msgs[-2].fields()["C"] == "22012"
        c.send(w.query("rollback"))
        c.read_until("Z")


def test_client_gone_mid_stream(aiondb: AionServer) -> None:
    start = len(aiondb.log_text())
    c = RawClient(aiondb.host, aiondb.port)
    c.startup()
    c.send(w.query("select * from generate_series(1, 5000000)"))
    assert c.read() is not None     # the RowDescription: streaming has begun
    c.close()
    with RawClient(aiondb.host, aiondb.port) as other:
        other.startup()
        other.send(w.query("select 7"))
        assert kinds(other.read_until("Z")) == "TDCZ"
    assert "Traceback" not in aiondb.log_text()[start:]


def test_cancel_ends_a_streaming_query(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port, timeout=60) as c:
        key = next(m for m in c.startup() if m.kind == "K")
        c.send(w.query("select * from generate_series(1, 1000000000)"))
        for _ in range(10):
            msg = c.read()
            assert msg is not None and msg.kind in "TD"
        with socket.create_connection((aiondb.host, aiondb.port)) as s:
            s.sendall(struct.pack("!ii", 16, 80877102) + key.body)
            s.recv(1)       # the server closes it
        others, rows = _count_rows(c)
        assert kinds(others) == "EZ" and others[0].fields()["C"] == "57014"
        c.send(w.query("select 1"))
        assert kinds(c.read_until("Z")) == "TDCZ"


def test_table_result_read_slowly_is_the_table_as_it_was(aiondb: AionServer) -> None:
    """A client that stops reading makes the server wait; other sessions
    commit meanwhile, and the result is still the table at the start."""
    start = len(aiondb.log_text())
    with RawClient(aiondb.host, aiondb.port, timeout=60) as setup:
        setup.startup()
        setup.send(w.query("create table stream_t (a int primary key, b text); "
                           "insert into stream_t select g, repeat('x', 60) "
                           "from generate_series(1, 200000) g"))
        assert kinds(setup.read_until("Z"))[-2:] == "CZ"
        with RawClient(aiondb.host, aiondb.port, timeout=60) as reader:
            reader.startup()
            reader.send(w.query("select a, b from stream_t"))
            assert reader.read().kind == "T"
            # the reader's socket buffers fill; the writer is served meanwhile
            setup.send(w.query("insert into stream_t select g, 'new' "
                               "from generate_series(200001, 200100) g; "
                               "delete from stream_t where a <= 100"))
            assert kinds(setup.read_until("Z")) == "CCZ"
            others, rows = _count_rows(reader)
            assert rows == 200000
            assert others[0].text() == "SELECT 200000"
        setup.send(w.query("drop table stream_t"))
        setup.read_until("Z")
    assert "Traceback" not in aiondb.log_text()[start:]


def test_table_error_comes_at_the_execute_that_reaches_it(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        c.startup()
        c.send(w.query("create table stream_e (a int primary key); "
                       "insert into stream_e select g from generate_series(1, 5000) g; begin"))
        c.read_until("Z")
        c.send(w.parse("", "select 1 / (a - 2500) from stream_e") + w.bind("", "") +
               w.execute("", 2000) + w.SYNC)
        assert kinds(c.read_until("Z")) == "12" + "D" * 2000 + "sZ"
        c.send(w.execute("", 2000) + w.SYNC)
        msgs = c.read_until("Z")
        assert kinds(msgs) == "D" * 499 + "EZ"
        assert msgs[-2].fields()["C"] == "22012"
        c.send(w.query("rollback; drop table stream_e"))
        c.read_until("Z")
