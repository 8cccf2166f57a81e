"""The AionDB dialect: what it changes in sqlglot's Postgres dialect parses
as intended and prints back unchanged (parse → print → same SQL)."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from aiondb import errors
from aiondb.sql import statements as st
from aiondb.sql.dialect import AionDB, PgOperator


@pytest.mark.parametrize("sql", [
    "SELECT a <-> b FROM t",
    "SELECT a <=> b FROM t",
    "SELECT a <#> b FROM t",
    "SELECT * FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 5",
    "SELECT doc -> 'a' ->> 'b', doc #> '{a,b}', doc #>> '{a}' FROM t",
    "SELECT arr[1], arr[2:3] FROM t",
    "SELECT count(DISTINCT x), string_agg(y, ',' ORDER BY y) FROM t",
])
def test_round_trip(sql: str) -> None:
    tree = sqlglot.parse_one(sql, read=AionDB)
    printed = tree.sql(dialect=AionDB, normalize_functions=False)
    assert printed == sql
    assert sqlglot.parse_one(printed, read=AionDB) == tree


@pytest.mark.parametrize("sql,op", [("a <-> b", "<->"), ("a <=> b", "<=>"), ("a <#> b", "<#>"),
                                    ("a -> 'k'", "->"), ("a ->> 'k'", "->>")])
def test_operators_keep_their_postgresql_spelling(sql: str, op: str) -> None:
    node = sqlglot.parse_one(f"SELECT {sql}", read=AionDB).expressions[0]
    assert isinstance(node, PgOperator) and node.args["op"] == op


def test_distance_binds_tighter_than_comparison_looser_than_plus() -> None:
    node = sqlglot.parse_one("SELECT a <-> b + c < d", read=AionDB).expressions[0]
    assert isinstance(node, exp.LT)
    left = node.this
    assert isinstance(left, PgOperator) and isinstance(left.expression, exp.Add)


def test_functions_stay_named_calls_and_subscripts_stay_one_based() -> None:
    sel = sqlglot.parse_one("SELECT date_trunc('day', ts), a[1] FROM t", read=AionDB)
    fn, sub = sel.expressions
    assert isinstance(fn, exp.Anonymous) and fn.name == "date_trunc"
    assert isinstance(sub, exp.Bracket) and sub.expressions[0].this == "1"


@pytest.mark.parametrize("sql,cls", [
    ("CHECKPOINT", st.CheckpointStmt), ("DEALLOCATE ALL", st.Deallocate),
    ("DISCARD ALL", st.Discard), ("SET search_path TO a, b", st.SetVar),
    ("SHOW TimeZone", st.Show), ("BEGIN ISOLATION LEVEL REPEATABLE READ", st.Begin),
    ("BACKUP TENANT acme TO '/b/acme.bak'", st.BackupTenant),
    ("RESTORE TENANT acme FROM '/b/acme.bak' DRY RUN", st.RestoreTenant),
])
def test_statements_sqlglot_would_misread_are_classified(sql: str, cls: type) -> None:
    (stmt,) = st.parse_query(sql)
    assert isinstance(stmt.utility, cls)


def test_restore_dry_run_and_backup_target() -> None:
    (r,) = st.parse_query("RESTORE TENANT acme FROM '/b/x.bak' DRY RUN")
    assert (r.utility.tenant, r.utility.path, r.utility.dry_run) == ("acme", "/b/x.bak", True)


@pytest.mark.parametrize("sql,pos", [("SELEC 1", 1), ("SELECT 1 +", 10), ("SELECT * FROM", 10)])
def test_syntax_errors_are_42601_with_a_position(sql: str, pos: int) -> None:
    with pytest.raises(errors.SyntaxError) as ei:
        st.parse_query(sql)
    assert ei.value.sqlstate == "42601" and ei.value.position == pos
