"""COPY beyond what a script file can hold: binary format, error contexts,
data split at awkward places across CopyData messages, server files,
encodings and psql's \\copy. Each case runs on AionDB and, where PostgreSQL
15 is installed, on it too, and both must agree."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import uuid
from decimal import Decimal

import psycopg
import pytest

from tests.support.servers import pg_bindir

TABLE = ("CREATE TABLE t (id int PRIMARY KEY, s text, n numeric(8,2), d date, ts timestamptz, "
         "b bool, j jsonb, arr int[], f float8, by bytea, u uuid)")
ROWS = [
    (1, "hello", Decimal("1.50"), dt.date(2024, 1, 2),
     dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), True, {"a": [1, 2]}, [1, None, 3], 1.25,
     b"\x00\xff", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    (2, None, None, None, None, None, None, None, None, None, None),
    (3, "tab\there, nl\n, é, \\", Decimal("-2"), dt.date(2000, 2, 29),
     dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), False, [None, "x"], [], -0.0,
     b"", uuid.UUID(int=0)),
]


@pytest.fixture()
def both(conn, request):
    """[(name, connection)] for AionDB and, when installed, PostgreSQL, each
    with a fresh table t."""
    conns = [("aiondb", conn)]
    pg_conn = None
    if pg_bindir() is not None:
        pg = request.getfixturevalue("postgres")
        db = f"copy_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {db}")
        pg_conn = psycopg.connect(pg.dsn(db), autocommit=True)
        conns.append(("postgres", pg_conn))
    for _name, c in conns:
        c.execute("SET timezone = 'UTC'")
        c.execute(TABLE)
    yield conns
    if pg_conn is not None:
        pg_conn.close()


def _error(c: psycopg.Connection, sql: str, chunks: list[bytes]) -> tuple:
    try:
        with c.cursor() as cur, cur.copy(sql) as cp:
            for chunk in chunks:
                cp.write(chunk)
    except psycopg.Error as e:
        return e.sqlstate, e.diag.message_primary, e.diag.context
    return ("ok",)


def _rows(c: psycopg.Connection) -> list[tuple]:
    return c.execute("SELECT * FROM t ORDER BY id").fetchall()


def test_binary_round_trip(both) -> None:
    """psycopg's binary COPY writes and reads every column type; the bytes
    AionDB produces are the bytes PostgreSQL produces."""
    outputs = {}
    for name, c in both:
        with c.cursor() as cur, cur.copy("COPY t FROM STDIN (FORMAT binary)") as cp:
            cp.set_types(["int4", "text", "numeric", "date", "timestamptz", "bool", "jsonb",
                          "int4[]", "float8", "bytea", "uuid"])
            for r in ROWS:
                cp.write_row(r)
        got = _rows(c)
        assert [r[0] for r in got] == [1, 2, 3], name
        assert got[0][1:4] == ("hello", Decimal("1.50"), dt.date(2024, 1, 2)), name
        assert got[0][6] == {"a": [1, 2]} and got[0][7] == [1, None, 3], name
        assert got[1][1:] == (None,) * 10, name
        assert got[2][1] == ROWS[2][1] and got[2][9] == b"", name
        with c.cursor() as cur, cur.copy("COPY t TO STDOUT (FORMAT binary)") as cp:
            outputs[name] = b"".join(bytes(b) for b in cp)
        with c.cursor() as cur, cur.copy("COPY (SELECT id, s, arr FROM t ORDER BY id) "
                                         "TO STDOUT (FORMAT binary)") as cp:
            cp.set_types(["int4", "text", "int4[]"])
            assert list(cp.rows()) == [(1, "hello", [1, None, 3]), (2, None, None),
                                       (3, ROWS[2][1], [])], name
    assert outputs["aiondb"].startswith(b"PGCOPY\n\xff\r\n\x00")
    if "postgres" in outputs:
        assert outputs["aiondb"] == outputs["postgres"]


def test_binary_errors(both) -> None:
    header = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
    one_int = b"\x00\x01" + b"\x00\x00\x00\x04" + b"\x00\x00\x00\x07"
    cases = [
        [b"NOTCOPY" + b"\x00" * 12],                              # bad signature
        [header + b"\x00\x02" + b"\x00\x00\x00\x04" + b"\x00\x00\x00\x07"],  # truncated tuple
        [header + one_int + b"\xff\xff"],                         # field count 1, expected 2
        [header + b"\x00\x02" + b"\x00\x00\x00\x02" + b"\x00\x07" + b"\xff\xff\xff\xff"
         + b"\xff\xff"],                                          # int4 sent as 2 bytes
        [header + b"\xff\xff" + b"extra"],                        # data after the trailer
        [header[:5], header[5:] + b"\x00\x02" + b"\x00\x00\x00\x04", b"\x00\x00\x00\x08"
         + b"\x00\x00\x00\x01x" + b"\xff\xff"],                   # split anywhere: fine
    ]
    results = {name: [] for name, _c in both}
    for name, c in both:
        for chunks in cases:
            c.execute("DELETE FROM t")
            results[name].append(_error(c, "COPY t (id, s) FROM STDIN (FORMAT binary)", chunks))
    got = results["aiondb"]
    assert got[0][0] == "22P04" and "signature" in got[0][1]
    assert got[1][0] == "22P04"
    assert got[2][0] == "22P04" and "row field count is 1, expected 2" in got[2][1]
    assert got[3][0] == "08P01"      # as PostgreSQL: the binary value is short
    assert got[4][0] == "22P04" and "after EOF marker" in got[4][1]
    assert got[5] == ("ok",)
    if "postgres" in results:
        assert [r[:2] for r in got] == [r[:2] for r in results["postgres"]]


ERROR_CASES = [
    ("COPY t (id) FROM STDIN", [b"1\n", b"x\n"]),
    ("COPY t (id, s) FROM STDIN", [b"1\ta\n2\n"]),
    ("COPY t (id) FROM STDIN", [b"1\t2\n"]),
    ("COPY t (id, n) FROM STDIN", [b"1\t123456789\n"]),
    ("COPY t (id, d) FROM STDIN", [b"1\t2024-02-30\n"]),
    ("COPY t (id) FROM STDIN", [b"1\n2\n1\n"]),
    ("COPY t (id, s) FROM STDIN (FORMAT csv)", [b'1,"never closed\n2,b\n']),
    ("COPY t (id, s) FROM STDIN", [b"1\t" + b"x" * 300 + b"\t" + b"y" * 10 + b"\n"]),
    ("COPY t (id, j) FROM STDIN", [b'1\t{"a": \n']),
    ("COPY t (id, s) FROM STDIN", [b"1\t\xff\xfe\n"]),
    ("COPY t (id, s) FROM STDIN", [b"1\tok\\000\n"]),
]


def test_error_context_matches_postgres(both) -> None:
    """Errors name the line, and the column and value, as PostgreSQL's CONTEXT does."""
    results = {}
    for name, c in both:
        results[name] = []
        for sql, chunks in ERROR_CASES:
            c.execute("DELETE FROM t")
            results[name].append(_error(c, sql, chunks))
    got = results["aiondb"]
    assert got[0] == ("22P02", 'invalid input syntax for type integer: "x"',
                      'COPY t, line 2, column id: "x"')
    assert got[1] == ("22P04", 'missing data for column "s"', 'COPY t, line 2: "2"')
    assert got[5][0] == "23505" and got[5][2] == "COPY t, line 3"
    assert got[7][2].endswith('..."') and len(got[7][2]) < 150
    assert got[9][0] == "22021"
    if "postgres" in results:
        for case, a, p in zip(ERROR_CASES, got, results["postgres"], strict=True):
            # PostgreSQL's JSON parser puts its own line ahead of COPY's context
            assert a[:2] == p[:2], case
            if len(a) > 2:
                assert (p[2] or "").endswith(a[2] or ""), case


@pytest.mark.parametrize("fmt", ["text", "csv"])
def test_every_split_point(both, fmt: str) -> None:
    """The same data cut at every byte boundary into two CopyData messages
    (inside a multibyte character, an escape, a quoted field, a CRLF) loads
    the same rows."""
    if fmt == "text":
        data = "1\tté\\tst\\\\x\r\n2\t\\N\r\n3\tq\\\nnl\r\n4\t€\r\n".encode()
    else:
        data = '1,"a,""b""\r\nc\n"\r\n2,\r\n3,"€,"""\r\n4,""\r\n'.encode()
    sql = f"COPY t (id, s) FROM STDIN (FORMAT {fmt})"
    expected = None
    for name, c in both:
        c.execute("DELETE FROM t")
        with c.cursor() as cur, cur.copy(sql) as cp:
            cp.write(data)
        rows = c.execute("SELECT id, s FROM t ORDER BY id").fetchall()
        if expected is None:
            expected = rows
        assert rows == expected, name
    _name, c = both[0]
    for cut in range(1, len(data)):
        c.execute("DELETE FROM t")
        with c.cursor() as cur, cur.copy(sql) as cp:
            cp.write(data[:cut])
            cp.write(data[cut:])
        assert c.execute("SELECT id, s FROM t ORDER BY id").fetchall() == expected, cut


# Text data in several CopyData messages: once the first line has fixed the
# line ending, later messages without escapes or carriage returns are split
# in one step; these reach that step and the general one from it.
LATER_CHUNK_CASES = [
    ("COPY t (id, s) FROM STDIN (NULL 'nil')", [b"1\tnil\n", b"2\tnil\n3\tx\n4\t\n"]),
    ("COPY t (id, s) FROM STDIN (NULL '')", [b"1\t\n", b"2\t\n3\tz\n"]),
    ("COPY t (id, s) FROM STDIN (DELIMITER '|')", [b"1|a\n", b"2|b\n3|c|d\n"]),
    ("COPY t (id, s) FROM STDIN", [b"1\ta\n", b"2\tb\r\n"]),
    ("COPY t (id, s) FROM STDIN", [b"1\ta\n", b"2\tb\n\\.\n3\tc\n"]),
    ("COPY t (id, s) FROM STDIN", [b"1\ta\n", b"2\tb\n3"]),
    ("COPY t (id, s) FROM STDIN", [b"1\ta\n", b"2\tb\n", b"x\tc\n"]),
    ("COPY t (id, s) FROM STDIN", [b"1\ta\n", b"2\tb\n", b"2\tc\n4\td"]),
]


def test_later_chunks_match_postgres(both) -> None:
    """Rows, or the error with its line, as PostgreSQL gives them."""
    results = {}
    for name, c in both:
        results[name] = []
        for sql, chunks in LATER_CHUNK_CASES:
            c.execute("DELETE FROM t")
            outcome = _error(c, sql, chunks)
            results[name].append((outcome, c.execute("SELECT id, s FROM t ORDER BY id")
                                  .fetchall()))
    got = results["aiondb"]
    assert got[0] == (("ok",), [(1, None), (2, None), (3, "x"), (4, "")])
    assert got[1] == (("ok",), [(1, None), (2, None), (3, "z")])
    assert got[2][0][:3] == ("22P04", "extra data after last expected column",
                             'COPY t, line 3: "3|c|d"')
    assert got[3][0][0] == "22P04" and "carriage return" in got[3][0][1]
    assert got[4] == (("ok",), [(1, "a"), (2, "b")])
    assert got[6][0] == ("22P02", 'invalid input syntax for type integer: "x"',
                         'COPY t, line 3, column id: "x"')
    assert got[7][0][0] == "23505"
    if "postgres" in results:
        for case, a, p in zip(LATER_CHUNK_CASES, got, results["postgres"], strict=True):
            assert a[1] == p[1], case
            assert a[0][:2] == p[0][:2], case
            if len(a[0]) > 2:
                assert a[0][2] == p[0][2], case


def test_end_marker_and_trailing_data(both) -> None:
    for name, c in both:
        with c.cursor() as cur, cur.copy("COPY t (id) FROM STDIN") as cp:
            cp.write(b"1\n\\.\n2\n")
        assert [r[0] for r in _rows(c)] == [1], name


def test_server_files(both) -> None:
    """COPY TO and FROM a file on the server, in each format, round-trips."""
    tmp = tempfile.mkdtemp(prefix="aiondb-copy-")
    os.chmod(tmp, 0o777)        # PostgreSQL runs as an ordinary user
    try:
        for name, c in both:
            c.execute("INSERT INTO t (id, s, n) VALUES (1, 'a', 1.5), (2, NULL, NULL), "
                      "(3, 'x,\"y\"', -3)")
            for fmt in ("text", "csv", "binary"):
                path = os.path.join(tmp, f"{name}.{fmt}")
                cur = c.execute(f"COPY t (id, s, n) TO '{path}' (FORMAT {fmt})")
                assert cur.statusmessage == "COPY 3"
                c.execute("CREATE TABLE t2 (id int, s text, n numeric)")
                cur = c.execute(f"COPY t2 FROM '{path}' (FORMAT {fmt})")
                assert cur.statusmessage == "COPY 3"
                assert c.execute("SELECT * FROM t2 ORDER BY id").fetchall() == \
                    c.execute("SELECT id, s, n FROM t ORDER BY id").fetchall(), (name, fmt)
                c.execute("DROP TABLE t2")
            with open(os.path.join(tmp, f"{name}.csv"), "rb") as f:
                assert f.read() == b'1,a,1.50\n2,,\n3,"x,""y""",-3.00\n'
            with pytest.raises(psycopg.errors.UndefinedFile):
                c.execute(f"COPY t FROM '{tmp}/missing.csv'")
            with pytest.raises(psycopg.errors.InvalidName):
                c.execute("COPY t TO 'relative.csv'")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_encoding_option(both) -> None:
    for name, c in both:
        with c.cursor() as cur, cur.copy("COPY t (id, s) FROM STDIN (ENCODING 'LATIN1')") as cp:
            cp.write("1\tcafé\n".encode("latin-1"))
        assert c.execute("SELECT s FROM t").fetchone() == ("café",), name
        with c.cursor() as cur, cur.copy("COPY t (id, s) TO STDOUT (ENCODING 'LATIN1')") as cp:
            assert b"".join(bytes(b) for b in cp) == "1\tcafé\n".encode("latin-1"), name
        c.execute("INSERT INTO t (id, s) VALUES (2, '€uro')")
        with pytest.raises(psycopg.errors.UntranslatableCharacter):
            with c.cursor() as cur, cur.copy("COPY t (s) TO STDOUT (ENCODING 'LATIN1')") as cp:
                list(cp)


def test_copy_fail_from_client_rolls_back(both) -> None:
    for name, c in both:
        with pytest.raises(RuntimeError):   # psycopg sends CopyFail, then re-raises
            with c.cursor() as cur, cur.copy("COPY t (id) FROM STDIN") as cp:
                cp.write(b"1\n2\n")
                raise RuntimeError("client gives up")
        assert _rows(c) == [], name
        c.execute("INSERT INTO t (id) VALUES (9)")      # the session goes on


def test_psql_backslash_copy(aiondb, tenant) -> None:
    """psql's \\copy streams a client-side file through COPY FROM STDIN / TO STDOUT."""
    psql = shutil.which("psql") or (os.path.join(pg_bindir(), "psql") if pg_bindir() else None)
    if psql is None:
        pytest.skip("psql is not installed")
    tmp = tempfile.mkdtemp(prefix="aiondb-psql-")
    try:
        src = os.path.join(tmp, "in.csv")
        with open(src, "w") as f:
            f.write("id,s\n" + "".join(f'{i},"row {i}, quoted"\n' for i in range(1, 1001)))
        out = os.path.join(tmp, "out.csv")
        script = (f"CREATE TABLE c (id int PRIMARY KEY, s text);\n"
                  f"\\copy c FROM '{src}' WITH (FORMAT csv, HEADER)\n"
                  f"\\copy (SELECT * FROM c ORDER BY id) TO '{out}' WITH (FORMAT csv, HEADER)\n"
                  f"SELECT count(*), min(s), max(id) FROM c;\n")
        env = dict(os.environ, PGHOST=aiondb.host, PGPORT=str(aiondb.port), PGUSER=aiondb.user,
                   PGDATABASE=tenant)
        res = subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-At"], input=script,
                             capture_output=True, text=True, env=env, timeout=60)
        assert res.returncode == 0, res.stderr
        assert "COPY 1000" in res.stdout
        assert res.stdout.strip().endswith("1000|row 1, quoted|1000")
        with open(src) as a, open(out) as b:
            assert a.read() == b.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
