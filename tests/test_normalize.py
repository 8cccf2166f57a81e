"""Literal normalization for the simple query protocol (aiondb/sql/normalize.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aiondb import types as T
from aiondb.sql.normalize import normalize
from aiondb.sql.statements import StatementCache


@pytest.mark.parametrize("sql,template,values", [
    ("SELECT abalance FROM a WHERE aid = 42", "SELECT abalance FROM a WHERE aid = $1", [42]),
    ("SELECT 'x' || name FROM t", "SELECT $1 || name FROM t", ["x"]),
    ("SELECT 1.50, 5000000000", "SELECT $1, $2", [Decimal("1.50"), 5000000000]),
    ("UPDATE t SET v = v + -3 WHERE k = 7", "UPDATE t SET v = v + $1 WHERE k = $2", [-3, 7]),
    ("SELECT a - 1 FROM t", "SELECT a - $1 FROM t", [1]),
    ("INSERT INTO t VALUES (1, $$q$$, E'a\\nb')", "INSERT INTO t VALUES ($1, $2, $3)",
     [1, "q", "a\nb"]),
])
def test_literals_become_parameters(sql: str, template: str, values: list) -> None:
    out = normalize(sql)
    assert out is not None
    assert out[0] == template
    assert out[1] == values


@pytest.mark.parametrize("sql,kept", [
    ("SELECT a, b FROM t WHERE c = 9 ORDER BY 2, 1", "ORDER BY 2, 1"),          # ordinals
    ("SELECT a, count(*) FROM t WHERE c = 9 GROUP BY 1", "GROUP BY 1"),
    ("SELECT DISTINCT ON (1) a FROM t WHERE c = 9", "DISTINCT ON (1)"),
    ("SELECT DATE '2020-01-01' FROM t WHERE x = 9", "DATE '2020-01-01'"),  # typed literal
    ("SELECT INTERVAL '1 day' FROM t WHERE x = 9", "INTERVAL '1 day'"),
    ("SELECT x::numeric(10,2) FROM t WHERE x = 9", "numeric(10,2)"),   # type modifiers
    ("SELECT x FROM t WHERE y = 9 FETCH FIRST 3 ROWS ONLY", "FIRST 3"),
])
def test_structural_literals_stay(sql: str, kept: str) -> None:
    out = normalize(sql)
    assert out is not None and kept in out[0] and "$1" in out[0] and 9 in out[1]


def test_sign_does_not_fold_into_a_cast() -> None:
    # -32768::smallint is -(32768::smallint) in PostgreSQL: an overflow, not -32768
    out = normalize("SELECT -32768::smallint")
    assert out is not None and out[0] == "SELECT -$1::smallint" and out[1] == [32768]


def test_literal_types_match_constants() -> None:
    out = normalize("SELECT 1, 2147483648, 99999999999999999999, 1e3, 'a'")
    assert out is not None
    assert [t.oid for t in out[2]] == [T.INT4.oid, T.INT8.oid, T.NUMERIC.oid, T.NUMERIC.oid,
                                      T.UNKNOWN.oid]


def test_not_normalized() -> None:
    assert normalize("SELECT $1") is None                 # already parameterized
    assert normalize("CREATE TABLE t (a numeric(5,2) DEFAULT 1)") is None
    assert normalize("SELECT a FROM t") is None           # nothing to do


def test_statements_differing_in_literals_share_a_template() -> None:
    cache = StatementCache()
    a = cache.parse("SELECT v FROM t WHERE k = 1", normalize_literals=True)[0]
    b = cache.parse("SELECT v FROM t WHERE k = 2", normalize_literals=True)[0]
    assert a.ast is b.ast and a.plan_key == b.plan_key != 0
    assert (a.params, b.params) == ([1], [2])
