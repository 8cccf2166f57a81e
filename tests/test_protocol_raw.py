"""The protocol message by message, through a raw socket client.

The conformance cases send the same bytes to AionDB and to PostgreSQL 15 and
compare the replies (message types, tags, SQLSTATEs, transaction status,
column types, values). The malformed-input tests check that bad bytes get an
error and a closed connection while other sessions keep working.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.servers import AionServer, PgServer, start_aiondb
from tests.wire import rawclient as w
from tests.wire.rawclient import Msg, RawClient, kinds

# --- comparison against PostgreSQL ------------------------------------------------------------------


def normalize(msgs: list[Msg]) -> list[tuple]:
    """What must agree between servers: not texts of errors, not table OIDs."""
    out: list[tuple] = []
    for msg in msgs:
        k, b = msg.kind, msg.body
        if k in "EN":
            f = msg.fields()
            out.append((k, f["S"], f["C"]))
        elif k in "CZ":
            out.append((k, msg.text()))
        elif k == "S":
            out.append((k, b.split(b"\0")[0].decode()))
        elif k == "T":
            out.append((k, _row_description(b)))
        elif k == "D":
            out.append((k, _data_row(b)))
        elif k == "t":
            (n,) = struct.unpack_from("!h", b)
            out.append((k, struct.unpack_from(f"!{n}I", b, 2)))
        elif k in "GH":
            out.append((k, b))
        else:
            out.append((k,))
    return out


def _row_description(b: bytes) -> list[tuple[str, int, int]]:
    (n,) = struct.unpack_from("!h", b)
    pos, cols = 2, []
    for _ in range(n):
        end = b.index(b"\0", pos)
        name = b[pos:end].decode()
        _table, _att, oid, _size, _mod, fmt = struct.unpack_from("!IhIhih", b, end + 1)
        cols.append((name, oid, fmt))
        pos = end + 19
    return cols


def _data_row(b: bytes) -> list[bytes | None]:
    (n,) = struct.unpack_from("!h", b)
    pos, vals = 2, []
    for _ in range(n):
        (ln,) = struct.unpack_from("!i", b, pos)
        pos += 4
        vals.append(None if ln < 0 else b[pos:pos + ln])
        pos += max(ln, 0)
    return vals


Q = w.query
P, B, D, E, C = w.parse, w.bind, w.describe, w.execute, w.close
S, H = w.SYNC, w.FLUSH
I4 = struct.Struct("!i").pack

# Each case: steps of bytes to send; each step is read up to as many
# ReadyForQuery messages as it holds Query and Sync messages.
CASES: dict[str, list[bytes | tuple[bytes, int]]] = {
    "several statements": [Q("select 1 as a; select 'x' as b, 2 as c")],
    "one implicit transaction": [
        Q("create table {t} (a int primary key); insert into {t} values (1); "
          "insert into {t} values (1)"),
        Q("select count(*) from {t}")],
    "an error stops the rest": [
        Q("create table {t} (a int)"),
        Q("insert into {t} values (1); select 1/0; insert into {t} values (2)"),
        Q("select count(*) from {t}")],
    "transaction status": [
        Q("create table {t} (a int)"), Q("begin"), Q("insert into {t} values (1)"),
        Q("select 1/0"), Q("select 1"), Q("rollback"), Q("select count(*) from {t}")],
    "commit of a failed block rolls back": [Q("begin; select 1/0"), Q("commit"), Q("select 1")],
    "blocks inside one query": [Q("begin; select 1; commit; select 2")],
    "begin then error in one query": [Q("begin; select 1/0; select 2"), Q("rollback")],
    "empty queries": [Q(""), Q(";"), Q("  ")],
    "syntax error": [Q("selec 1"), Q("select 1")],
    "notice": [Q("drop table if exists {t}_missing")],
    "set reports a parameter": [Q("set application_name = 'conformance'"),
                                Q("set application_name = 'conformance'")],
    "bare sync": [S],
    "unnamed statement": [
        P("", "select $1::int4 + 1 as x") + B("", "", (b"41",)) + D("P", "") + E("") + S],
    "named statement": [
        P("s", "select $1::int4 as a, $2::text as b") + D("S", "s") + S,
        B("p", "s", (b"1", None)) + D("P", "p") + E("p") + S,
        B("", "s", (b"2", b"x")) + E("") + E("") + S,
        C("S", "s") + C("P", "p") + S,
        B("", "s", (b"3", b"y")) + S],
    "parameter types inferred": [
        Q("create table {t} (a int8, b text, c bool)"),
        P("i", "insert into {t} values ($1, $2, $3)") + D("S", "i") + S,
        P("q", "select a from {t} where a = $1 and b = $2") + D("S", "q") + S,
        P("r", "select $1 + 1 as n, $2::numeric as m") + D("S", "r") + S],
    "declared parameter types": [P("", "select $1 as a", (20,)) + D("S", "") + S],
    "row limits and PortalSuspended": [
        P("q", "select * from generate_series(1, 5)") + B("p", "q") + E("p", 2) + E("p", 2)
        + E("p", 2) + E("p", 2) + S],
    "row limit dividing the rows": [
        P("q", "select * from generate_series(1, 4)") + B("p", "q") + E("p", 2) + E("p", 2)
        + E("p", 2) + S],
    "row limit larger than the result": [
        P("", "select * from generate_series(1, 3)") + B("", "") + E("", 10) + S],
    "named portal lives until commit": [
        Q("begin"),
        P("q", "select * from generate_series(1, 3)") + B("p", "q") + E("p", 1) + S,
        E("p", 1) + S, E("p") + S, Q("commit"), E("p") + S],
    "insert returning with a row limit": [
        Q("create table {t} (a int)"),
        P("", "insert into {t} select * from generate_series(1, 3) returning a")
        + B("", "") + E("", 2) + E("", 2) + S],
    "error skips to sync": [
        P("", "selec 1") + B("", "") + D("P", "") + E("") + S, Q("select 1")],
    "error in the middle of a pipeline": [
        P("", "select 1") + B("", "") + E("") + P("", "select 1/(g-1) from generate_series(1, 1) g") + B("", "") + E("")
        + P("", "select 3") + B("", "") + E("") + S + P("", "select 4") + B("", "") + E("") + S],
    "executemany-style pipeline ended by Flush then Sync": [
        Q("create table {t} (a int primary key, b text)"),
        b"".join(P("", "insert into {t} values ($1, $2) returning a", (0, 0))
                 + B("", "", (str(i).encode(), b"x")) + D("P", "") + E("")
                 for i in range(3)) + H + S,
        b"".join(B("", "", (b"1", b"dup")) + D("P", "") + E("") for _ in range(2)) + H + S,
        Q("select a, b from {t} order by a")],
    "failed transaction in the extended protocol": [
        Q("begin"), P("", "select 1/(g-1) from generate_series(1, 1) g") + B("", "") + E("") + S,
        P("", "select 1") + B("", "") + E("") + S,
        P("", "rollback") + B("", "") + E("") + S],
    "binary parameters and results": [
        P("", "select $1::int2 as a, $2::int4 as b, $3::int8 as c, $4::bytea as d, "
              "$5::text as e", (21, 23, 20, 17, 25))
        + B("", "", (b"\x00\x07", I4(-5), b"\x00" * 7 + b"\x09", b"\x00\xff", b"txt"), (1,),
            (1,)) + D("P", "") + E("") + S],
    "mixed result formats": [
        P("", "select 1 as a, 'two' as b, 3.5::float8 as c") + B("", "", (), (), (0, 1, 1))
        + D("P", "") + E("") + S],
    "per-parameter formats": [
        P("", "select $1::int4 + $2::int4 as s", (23, 23))
        + B("", "", (I4(40), b"2"), (1, 0)) + E("") + S],
    "result format count mismatch": [
        P("", "select 1, 2") + B("", "", (), (), (1, 1, 1)) + E("") + S, Q("select 1")],
    "parameter count mismatch": [P("", "select $1::int") + B("", "", ()) + S],
    "bad binary parameter": [P("", "select $1::int4", (23,)) + B("", "", (b"\1\2",), (1,)) + S],
    "bad text parameter": [P("", "select $1::int4", (23,)) + B("", "", (b"x",)) + S],
    "null parameter": [P("", "select $1::int4 is null", (23,)) + B("", "", (None,)) + E("")
                       + S],
    "empty statement": [P("", "") + B("", "") + D("P", "") + E("") + S],
    "close what does not exist": [C("S", "nope") + C("P", "nope") + S],
    "describe what does not exist": [D("S", "nope") + S, D("P", "nope") + S],
    "bind to a missing statement": [B("", "nope") + S],
    "a simple query ends the unnamed statement": [
        P("", "select 1") + S, Q("select 2"), B("", "") + S, P("n", "select 3") + S,
        Q("select 4"), B("", "n") + E("") + S],
    "duplicate statement name": [P("d", "select 1") + P("d", "select 2") + S],
    "duplicate name after a syntax error": [P("d", "select 1") + S, P("d", "selec 2") + S],
    "bind checks in PostgreSQL's order": [
        P("", "select 1") + B("p", "") + B("p", "", (b"1",)) + S,
        Q("begin"), P("", "select 1") + B("p", "") + S, Q("select * from no_such_table"),
        B("p", "", (b"1",)) + S, B("p", "") + S, Q("rollback")],
    "show in the extended protocol": [P("", "show timezone") + D("S", "") + B("", "")
                                      + E("") + S],
    "ddl in the extended protocol": [
        P("", "create table {t} (a int)") + B("", "") + D("P", "") + E("") + S,
        P("", "drop table {t}") + B("", "") + E("") + S],
    "copy from stdin": [
        Q("create table {t} (a int, b text)"),
        Q("copy {t} from stdin") + w.frame(b"d", b"1\tx\n2\t") + H + S
        + w.frame(b"d", b"y\n") + w.frame(b"c"),
        Q("select * from {t} order by a")],
    "copy fail": [
        Q("create table {t} (a int)"),
        Q("copy {t} from stdin") + w.frame(b"d", b"1\n") + w.frame(b"f", b"client gave up\0"),
        Q("select count(*) from {t}")],
    "copy bad data": [
        Q("create table {t} (a int)"),
        Q("copy {t} from stdin") + w.frame(b"d", b"1\nx\n") + w.frame(b"c"),
        Q("select count(*) from {t}")],
    "copy to stdout": [
        Q("create table {t} (a int, b text); insert into {t} values (1, 'x'), (2, null)"),
        Q("copy {t} to stdout")],
    "copy messages outside copy are ignored": [
        w.frame(b"d", b"junk") + w.frame(b"c") + w.frame(b"f", b"x\0") + Q("select 1")],
    # An error at the implicit commit of a simple Query comes instead of the
    # last statement's CommandComplete, never after it (rows already sent stay)
    "deferred constraint fails at the implicit commit": [
        Q("create table {t}_p (id int primary key); create table {t} (id int, "
          "pid int references {t}_p deferrable initially deferred)"),
        Q("insert into {t} values (1, 9)"),
        Q("insert into {t}_p values (1); insert into {t} values (2, 8)"),
        Q("insert into {t} values (3, 7); select 1 as one"),
        Q("insert into {t} values (4, 6) returning id"),
        Q("copy {t} from stdin") + w.frame(b"d", b"5\t5\n") + w.frame(b"c"),
        Q("select (select count(*) from {t}), (select count(*) from {t}_p)")],
    "deferred constraint fails at Sync": [
        Q("create table {t}_p (id int primary key); create table {t} (id int, "
          "pid int references {t}_p deferrable initially deferred)"),
        P("", "insert into {t} values ($1::int4, $1::int4)") + B("", "", (b"1",)) + E("") + S,
        Q("select count(*) from {t}")],
    "invalid UTF-8 in a query": [w.frame(b"Q", b"select '\xff'\0"), Q("select 1")],
    "invalid UTF-8 in the extended protocol": [
        w.frame(b"P", b"\0select '\xc3'\0\0\0") + B("", "") + E("") + S, Q("select 1")],
}


def _frames(step: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = 0
    while pos < len(step):
        (length,) = struct.unpack_from("!i", step, pos + 1)
        yield step[pos:pos + 1], step[pos + 5:pos + 1 + length]
        pos += 1 + length


def _with_table(step: bytes, table: str) -> bytes:
    """The step with {t} replaced in every frame, lengths recomputed."""
    return b"".join(w.frame(k, body.replace(b"{t}", table.encode()))
                    for k, body in _frames(step))


def _expected_ready(step: bytes) -> int:
    """How many ReadyForQuery messages the sent messages ask for."""
    return sum(1 for k, _ in _frames(step) if k in (b"Q", b"S"))


def run_case(host: str, port: int, user: str, db: str, table: str,
             steps: list[bytes]) -> list[list[tuple]]:
    out = []
    with RawClient(host, port) as c:
        c.startup(user=user, database=db)
        for step in steps:
            step = _with_table(step, table)
            c.send(step)
            msgs: list[Msg] = []
            in_copy_sync = step.startswith(b"Q") and b"from stdin" in step
            for _ in range(1 if in_copy_sync else _expected_ready(step)):
                msgs += c.read_until("Z")
            out.append(normalize(msgs))
    return out


@pytest.fixture(scope="module")
def pg_db(postgres: PgServer) -> str:
    with psycopg.connect(postgres.dsn(), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS conformance")
        c.execute("CREATE DATABASE conformance")
    return "conformance"


@pytest.fixture(scope="module")
def aion_db(aiondb: AionServer) -> str:
    with psycopg.connect(aiondb.dsn(), autocommit=True) as c:
        c.execute("CREATE DATABASE conformance")
    return "conformance"


@pytest.fixture(autouse=True)
def no_internal_errors(aiondb: AionServer) -> Iterator[None]:
    start = len(aiondb.log_text())
    yield
    assert "Traceback" not in aiondb.log_text()[start:]


@pytest.mark.parametrize("case", list(CASES))
def test_same_replies_as_postgres(case: str, aiondb: AionServer, aion_db: str,
                                  postgres: PgServer, pg_db: str) -> None:
    table = "t_" + "".join(ch if ch.isalnum() else "_" for ch in case)
    steps = CASES[case]
    ours = run_case(aiondb.host, aiondb.port, "aion", aion_db, table, steps)
    theirs = run_case(postgres.host, postgres.port, "postgres", pg_db, table, steps)
    assert ours == theirs


def test_syntax_error_fields(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        c.startup()
        c.send(Q("selec 1"))
        err, ready = c.read_until("Z")
    f = err.fields()
    assert (err.kind, f["S"], f["V"], f["C"]) == ("E", "ERROR", "ERROR", "42601")
    assert f["M"].startswith("syntax error")
    assert 1 <= int(f["P"]) <= len("selec 1")
    assert ready.body == b"I"


# --- startup ---------------------------------------------------------------------------------------

REPORTED = ("server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle",
            "TimeZone", "integer_datetimes", "standard_conforming_strings", "application_name",
            "is_superuser", "session_authorization")


def test_startup_reports_what_clients_need(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        msgs = c.startup(application_name="raw")
    assert msgs[0].kind == "R" and msgs[0].body == b"\0\0\0\0"
    status = dict(m.body.rstrip(b"\0").decode().split("\0") for m in msgs if m.kind == "S")
    assert set(REPORTED) <= set(status)
    assert status["server_version"].split(".")[0] == "15"
    assert status["server_encoding"] == status["client_encoding"] == "UTF8"
    assert status["integer_datetimes"] == status["standard_conforming_strings"] == "on"
    assert status["application_name"] == "raw"
    assert status["session_authorization"] == "aion"
    assert [m.kind for m in msgs[-2:]] == ["K", "Z"] and msgs[-1].body == b"I"
    assert len(msgs[-2].body) == 8


@pytest.mark.parametrize("request_code", [80877103, 80877104])
def test_ssl_and_gssenc_refused_with_n(aiondb: AionServer, request_code: int) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        c.send(struct.pack("!ii", 8, request_code))
        assert c.read_byte() == b"N"
        assert kinds(c.startup()).endswith("KZ")


def test_protocol_negotiation_like_postgres(aiondb: AionServer, postgres: PgServer) -> None:
    replies = []
    for srv, user in ((aiondb, "aion"), (postgres, "postgres")):
        with RawClient(srv.host, srv.port) as c:
            c.send(w.startup_packet({"user": user, "database": "postgres",
                                     "_pq_.unknown": "x"}, protocol=0x30002))
            first = c.read()
            assert first is not None
            replies.append((first.kind, first.body))
            assert kinds(c.read_until("Z")).endswith("KZ")
    assert replies[0] == replies[1] == ("v", b"\0\3\0\0\0\0\0\1_pq_.unknown\0")


@pytest.mark.parametrize("params", [
    {"user": "{user}", "database": "no_such_db"},
    {"user": "nobody", "database": "postgres"},
    {"database": "postgres"},
], ids=["missing database", "unknown user", "no user"])
def test_startup_refused_like_postgres(aiondb: AionServer, postgres: PgServer,
                                       params: dict[str, str]) -> None:
    replies = []
    for srv, user in ((aiondb, "aion"), (postgres, "postgres")):
        with RawClient(srv.host, srv.port) as c:
            c.send(w.startup_packet({k: v.replace("{user}", user) for k, v in params.items()}))
            replies.append(normalize(c.read_to_end()))
    assert replies[0] == replies[1]
    assert replies[0][-1][:2] == ("E", "FATAL")


def test_flush_sends_without_sync(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        c.startup()
        c.send(P("", "select 7") + B("", "") + E("") + H)
        assert kinds([c.read() for _ in range(4)]) == "12DC"   # type: ignore[misc]
        c.send(S)
        assert kinds(c.read_until("Z")) == "Z"


def test_terminate_closes_and_ends_the_session(aiondb: AionServer, conn: psycopg.Connection,
                                               tenant: str) -> None:
    conn.execute("create table term (a int)")
    with RawClient(aiondb.host, aiondb.port) as c:
        c.startup(database=tenant)
        c.send(Q("begin; insert into term values (1)"))
        c.read_until("Z")
        c.send(w.TERMINATE)
        assert c.read_to_end() == []
    # The open transaction was rolled back, not committed.
    assert conn.execute("select count(*) from term").fetchone() == (0,)


def test_cancel_request_with_a_wrong_key_is_ignored(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        msgs = c.startup()
        pid, key = struct.unpack("!ii", msgs[-2].body)
        with RawClient(aiondb.host, aiondb.port) as cancel:
            cancel.send(struct.pack("!iiii", 16, 80877102, pid, key ^ 1))
            assert cancel.read_to_end() == []
        c.send(Q("select pg_sleep(0)"))
        assert kinds(c.read_until("Z")) == "TDCZ"


# --- malformed input -------------------------------------------------------------------------------

MALFORMED: dict[str, tuple[bytes, str]] = {
    "unknown message type": (w.frame(b"!", b"abc"), "08P01"),
    "length below 4": (b"Q\x00\x00\x00\x02", "08P01"),
    "negative length": (b"Q\xff\xff\xff\xfb", "08P01"),
    "string without terminator": (w.frame(b"Q", b"select 1"), "08P01"),
    "bytes after the last field": (w.frame(b"Q", b"select 1\0xx"), "08P01"),
    "truncated bind": (w.frame(b"B", b"\0\0\0\1\0"), "08P01"),
    "negative parameter count": (w.frame(b"B", b"\0\0\0\0\xff\xfe"), "08P01"),
    "bad describe subtype": (w.frame(b"D", b"Zx\0") + S, "08P01"),
    "bad format code": (P("", "select 1") + B("", "", (), (), (7,)) + S, "08P01"),
    "startup packet after startup": (struct.pack("!ii", 8, 80877103), "08P01"),
    "password message when ready": (w.frame(b"p", b"x\0"), "08P01"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_message_closes_the_connection(case: str, aiondb: AionServer) -> None:
    data, code = MALFORMED[case]
    with psycopg.connect(aiondb.dsn(), autocommit=True) as bystander:
        bystander.execute("begin")
        with RawClient(aiondb.host, aiondb.port) as c:
            c.startup()
            c.send(data)
            msgs = c.read_to_end()
        assert msgs and msgs[-1].kind == "E"
        assert (msgs[-1].fields()["S"], msgs[-1].fields()["C"]) == ("FATAL", code)
        # Another session, mid-transaction, is unaffected.
        assert bystander.execute("select 5").fetchone() == (5,)
        bystander.execute("commit")


@pytest.mark.parametrize("data", [
    b"\x00\x00\x00\x03",                                  # length below 8
    b"\x00\x00\x27\x11" + b"\0" * 100,                     # above the startup limit
    b"\x00\x00\x00\x08\x00\x02\x00\x00",                   # protocol 2.0
    b"\x00\x00\x00\x0c\x00\x03\x00\x00user",              # no terminator
])
def test_malformed_startup_packet(aiondb: AionServer, data: bytes) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        c.send(data)
        msgs = c.read_to_end()
    assert kinds(msgs) == "E" and msgs[0].fields()["S"] == "FATAL"


@pytest.mark.parametrize("partial", [b"Q", b"Q\x00\x00\x00\x10sel", b"\x00\x00\x00\x10\x00"])
def test_truncated_frame_then_disconnect(aiondb: AionServer, partial: bytes) -> None:
    with RawClient(aiondb.host, aiondb.port) as c:
        if not partial.startswith(b"\x00"):
            c.startup()
        c.send(partial)
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_to_end() == []
    with psycopg.connect(aiondb.dsn()) as other:
        assert other.execute("select 1").fetchone() == (1,)


def test_half_sent_message_does_not_block_others(aiondb: AionServer) -> None:
    with RawClient(aiondb.host, aiondb.port) as stuck:
        stuck.startup()
        stuck.send(b"Q\x00\x00\x01\x00select")   # promises 256 bytes, sends 6
        for _ in range(3):
            with psycopg.connect(aiondb.dsn()) as other:
                assert other.execute("select 2").fetchone() == (2,)
        stuck.send(b" 1" + b" " * 243 + b"\0")  # the rest arrives: the query runs
        assert kinds(stuck.read_until("Z")) == "TDCZ"


@pytest.fixture(scope="module")
def small_limit_server() -> Iterator[AionServer]:
    srv = start_aiondb("--ephemeral", "--max-message-size", "4kB", "--max-connections", "3")
    yield srv
    srv.stop()


def test_message_at_the_size_limit_works(small_limit_server: AionServer) -> None:
    srv = small_limit_server
    sql = "select '" + "x" * (4096 - 4 - len("select '';") - 1) + "'"
    frame = Q(sql)
    assert len(frame) - 1 == 4096 - 1
    with RawClient(srv.host, srv.port) as c:
        c.startup()
        c.send(frame)
        assert kinds(c.read_until("Z")) == "TDCZ"


@pytest.mark.parametrize("what", ["query", "copy data", "header only", "huge length"])
def test_oversized_message_is_refused(small_limit_server: AionServer, what: str) -> None:
    srv = small_limit_server
    with psycopg.connect(srv.dsn(), autocommit=True) as bystander:
        with RawClient(srv.host, srv.port) as c:
            c.startup()
            if what == "query":
                c.send(Q("select '" + "x" * 5000 + "'"))
            elif what == "copy data":
                c.send(Q("create table if not exists big (a text)"))
                c.read_until("Z")
                c.send(Q("copy big from stdin"))
                assert kinds([c.read()]) == "G"   # type: ignore[list-item]
                c.send(w.frame(b"d", b"y" * 5000))
            elif what == "header only":
                c.send(b"Q\x00\x00\x20\x00")
            else:
                c.send(b"P\x7f\xff\xff\xff")
            msgs = c.read_to_end()
        assert msgs[-1].kind == "E"
        f = msgs[-1].fields()
        assert (f["S"], f["C"]) == ("FATAL", "54000")
        assert "4096" in f["M"]
        assert bystander.execute("select 3").fetchone() == (3,)


def test_too_many_connections(small_limit_server: AionServer) -> None:
    srv = small_limit_server
    conns = [psycopg.connect(srv.dsn()) for _ in range(3)]
    try:
        with RawClient(srv.host, srv.port) as c:
            c.send(w.startup_packet({"user": "aion", "database": "postgres"}))
            msgs = c.read_to_end()
        f = msgs[-1].fields()
        assert (msgs[-1].kind, f["S"], f["C"]) == ("E", "FATAL", "53300")
        assert conns[0].execute("select 8").fetchone() == (8,)
    finally:
        for conn in conns:
            conn.close()
    with psycopg.connect(srv.dsn()) as again:   # the slots were given back
        assert again.execute("select 9").fetchone() == (9,)


@pytest.mark.parametrize("where", ["statement", "copy", "extended batch"])
def test_client_vanishes(aiondb: AionServer, where: str) -> None:
    """A client that disconnects mid-statement, mid-COPY or mid-batch: its
    session ends (and is cancelled), nothing is logged as an error."""
    with RawClient(aiondb.host, aiondb.port) as c:
        c.startup(application_name=f"vanish_{where.replace(' ', '_')}")
        if where == "statement":
            c.send(Q("select pg_sleep(30)"))
        elif where == "copy":
            c.send(Q("create table if not exists vanish (a int)"))
            c.read_until("Z")
            c.send(Q("copy vanish from stdin") + w.frame(b"d", b"1\n"))
            assert kinds([c.read()]) == "G"   # type: ignore[list-item]
        else:
            c.send(Q("begin") + P("", "select pg_sleep(30)") + B("", "") + E(""))
        with psycopg.connect(aiondb.dsn(), autocommit=True) as w_:
            assert w_.execute("select count(*) from pg_stat_activity where "
                              "application_name like 'vanish%'").fetchone() == (1,)
    # Closing the socket ends the session, as soon as the server's loop gets
    # to the close: a bounded number of round trips later.
    with psycopg.connect(aiondb.dsn(), autocommit=True) as w_:
        for _ in range(10_000):
            if w_.execute("select count(*) from pg_stat_activity where "
                          "application_name like 'vanish%'").fetchone() == (0,):
                break
        else:
            pytest.fail("the session outlived its connection")


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def test_client_that_never_reads_is_held_back(small_limit_server: AionServer) -> None:
    """A client pipelining far more requests than it reads replies for must
    not make the server buffer without bound or starve other clients: the
    server stops reading it. 40 MB of Bind/Execute/Sync would be ~700 MB of
    replies."""
    srv = small_limit_server
    before = _rss_kb(srv.proc.pid)
    with RawClient(srv.host, srv.port) as c:
        c.startup()
        c.send(P("flood", "select repeat('y', 500)") + S)
        c.read_until("Z")
        one = B("", "flood") + E("") + S
        payload = one * (40_000_000 // len(one))
        c.sock.settimeout(2)   # blocked this long means the server stopped reading
        sent = 0
        try:
            while sent < len(payload):
                sent += c.sock.send(payload[sent:sent + 1_000_000])
        except TimeoutError:
            pass
        assert sent < len(payload)
        with psycopg.connect(srv.dsn(), autocommit=True) as other:
            assert other.execute("select 6").fetchone() == (6,)
        assert _rss_kb(srv.proc.pid) - before < 100_000
    with psycopg.connect(srv.dsn(), autocommit=True) as other:
        assert other.execute("select 7").fetchone() == (7,)


def test_many_bad_clients_at_once(aiondb: AionServer) -> None:
    """Concurrent garbage from many sockets: each gets its error, the server
    keeps serving."""
    errors_seen: list[str] = []

    def bad_client(i: int) -> None:
        with RawClient(aiondb.host, aiondb.port) as c:
            c.startup()
            c.send(w.query(f"select {i}") + w.frame(bytes([0x80 + i % 64]), b"zz"))
            msgs = c.read_to_end()
            errors_seen.append(msgs[-1].fields()["C"])

    threads = [threading.Thread(target=bad_client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors_seen == ["08P01"] * 20
    with psycopg.connect(aiondb.dsn()) as other:
        assert other.execute("select 4").fetchone() == (4,)
