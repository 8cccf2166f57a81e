"""The fast lane for one run of a prepared statement (`Bind, [Describe
portal,] Execute, Sync` on the unnamed portal, what pgbench -M prepared and
psycopg send) must answer exactly as the general message-by-message path,
and as PostgreSQL 15: successes, failures at Bind and at Execute, inside and
outside transaction blocks, text and binary results, several runs in one
packet. Hypothesis mixes such runs with other messages; replies are compared
message by message with PostgreSQL's."""

from __future__ import annotations

import itertools
import struct

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.servers import AionServer, PgServer, fresh_database
from tests.test_protocol_differential import no_internal_errors  # noqa: F401
from tests.test_protocol_raw import run_case
from tests.wire import rawclient as w

STATEMENTS = [
    ("ins", "insert into {t} values ($1::int4, $2::text)"),
    ("sel", "select a, b from {t} where a = $1::int4"),
    ("cnt", "select count(*) from {t}"),
    ("upd", "update {t} set b = $2::text where a = $1::int4 returning a, b"),
    ("div", "select 10 / a as q from {t} where a = $1::int4"),   # 22012 when a = 0
]
VALUES = st.sampled_from([b"1", b"2", b"3", b"0", b"x", b"99999999999", None])
_n = itertools.count()


def _prepare_all() -> bytes:
    return b"".join(w.parse(name, sql) for name, sql in STATEMENTS) + w.SYNC


def _binary(value: bytes | None, is_int: bool) -> bytes | None:
    """A parameter in binary format, as psycopg sends numbers; a value that
    is no int4 gets a wrong length (PostgreSQL: 22P03)."""
    if value is None or not is_int:
        return value
    try:
        return struct.pack("!i", int(value))
    except (ValueError, struct.error):
        return value[:2]


@st.composite
def run_of_prepared(draw: st.DrawFn) -> bytes:
    """One run in the fast lane's shape, sometimes with binary parameters
    (all, or per parameter) and binary results."""
    name, sql = draw(st.sampled_from(STATEMENTS))
    nparams = 2 if "$2" in sql else 1 if "$1" in sql else 0
    params = tuple(draw(VALUES) for _ in range(nparams))
    formats: tuple[int, ...] = draw(st.sampled_from([(), (0,), (1,), "each"]))
    if formats == "each":
        formats = tuple(draw(st.sampled_from([0, 1])) for _ in range(nparams))
    if formats:
        params = tuple(_binary(v, i == 0) if formats[0 if len(formats) == 1 else i] else v
                       for i, v in enumerate(params))
    result_formats = draw(st.sampled_from([(), (0,), (1,)]))
    group = w.bind("", name, params, formats if nparams else (), result_formats)
    if draw(st.booleans()):
        group += w.describe("P", "")
    return group + w.execute("", 0) + w.SYNC


@st.composite
def batch(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["run", "run", "run", "runs", "query", "odd"]))
    if kind == "run":
        return draw(run_of_prepared())
    if kind == "runs":            # several runs in one packet
        return b"".join(draw(st.lists(run_of_prepared(), min_size=2, max_size=4)))
    if kind == "query":
        return w.query(draw(st.sampled_from(["begin", "commit", "rollback", "select 1",
                                             "select * from {t} order by a"])))
    # near misses of the fast lane's shape: they take the general path
    return draw(st.sampled_from([
        w.bind("", "ins", (b"5", b"v")) + w.execute("", 1) + w.SYNC,
        w.bind("p1", "cnt") + w.execute("p1", 0) + w.SYNC,
        w.bind("", "cnt") + w.describe("P", "") + w.execute("", 0) + w.FLUSH + w.SYNC,
        w.bind("", "nope") + w.execute("", 0) + w.SYNC,
        w.execute("", 0) + w.SYNC,
    ]))


@pytest.fixture(scope="module")
def lane_db(aiondb: AionServer, postgres: PgServer) -> str:
    return fresh_database("fastlane", aiondb, postgres)


def _replies(server: AionServer | PgServer, user: str, db: str,
             batches: list[bytes]) -> list[list[tuple]]:
    table = f"fl{next(_n)}"
    with psycopg.connect(host=server.host, port=server.port, user=user, dbname=db,
                         autocommit=True) as c:
        c.execute(f"create table {table} (a int primary key, b text)")
    return run_case(server.host, server.port, user, db, table, batches)


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batches=st.lists(batch(), min_size=1, max_size=6))
def test_fast_lane_matches_postgres(aiondb: AionServer, postgres: PgServer,
                                    lane_db: str, batches: list[bytes]) -> None:
    steps = [_prepare_all(), *batches]
    assert _replies(aiondb, "aion", lane_db, steps) == \
        _replies(postgres, "postgres", lane_db, steps)
