"""Plan nodes: values built by the binder, rewritten by optimizer passes
(planner.py) and run by the executor. A node never holds syntax or a
transaction; `columns` describe its output rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiondb import types as T
from aiondb.sql.expr import Expr
from aiondb.storage.catalog import IndexDef, TableDef


@dataclass
class OutCol:
    name: str
    type: T.SqlType
    table_oid: int = 0
    attnum: int = 0


class Plan:
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return []


@dataclass
class Result(Plan):
    """One row of expressions over nothing (SELECT without FROM)."""

    exprs: list[Expr]
    columns: list[OutCol]


@dataclass
class Values(Plan):
    rows: list[list[Expr]]
    columns: list[OutCol]


@dataclass
class Empty(Plan):
    columns: list[OutCol]


@dataclass
class Scan(Plan):
    """All visible rows of a table. with_key appends the row key as an extra
    last column (UPDATE/DELETE targets)."""

    table: TableDef
    columns: list[OutCol]
    with_key: bool = False
    filter: Expr | None = None


@dataclass
class KeyLookup(Plan):
    """Rows whose primary key (index is None) or index key equals `keys`."""

    table: TableDef
    keys: list[Expr]
    columns: list[OutCol]
    index: IndexDef | None = None
    with_key: bool = False
    filter: Expr | None = None


@dataclass
class KeyRange(Plan):
    """Rows with primary key / index key between bounds, in key order."""

    table: TableDef
    columns: list[OutCol]
    index: IndexDef | None = None
    lo: list[Expr] | None = None
    hi: list[Expr] | None = None
    lo_inclusive: bool = True
    hi_inclusive: bool = True
    reverse: bool = False
    with_key: bool = False
    filter: Expr | None = None


@dataclass
class SystemScan(Plan):
    """Rows of a system view (pg_catalog, information_schema), made on demand."""

    name: str
    columns: list[OutCol]
    producer: Any          # fn(ctx) → iterable of tuples
    filter: Expr | None = None


@dataclass
class FunctionScan(Plan):
    fn: Any                # SrfDef
    args: list[Expr]
    columns: list[OutCol]
    ordinality: bool = False


@dataclass
class Filter(Plan):
    input: Plan
    predicate: Expr
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class Project(Plan):
    input: Plan
    exprs: list[Expr]
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class NestedLoopJoin(Plan):
    left: Plan
    right: Plan
    kind: str               # inner | left | right | full | cross | semi | anti
    condition: Expr | None
    columns: list[OutCol]
    lateral_corr: list[Expr] | None = None   # LATERAL: outer values passed to right

    def inputs(self) -> list[Plan]:
        return [self.left, self.right]


@dataclass
class HashJoin(Plan):
    left: Plan
    right: Plan
    kind: str
    left_keys: list[Expr]
    right_keys: list[Expr]
    residual: Expr | None
    columns: list[OutCol]
    # inner side a table scan with an index on the join columns: the lookup of
    # one outer row's matches (keys over the outer row), used when the outer
    # side turns out small (exec_joins.HashJoinOp)
    index_probe: KeyLookup | None = None

    def inputs(self) -> list[Plan]:
        return [self.left, self.right]


@dataclass
class Aggregate(Plan):
    input: Plan
    group_exprs: list[Expr]
    aggregates: list[Any]   # expr.AggCall
    columns: list[OutCol]
    grouping_sets: list[list[int]] | None = None

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class Window(Plan):
    input: Plan
    calls: list[Any]        # expr.WindowCall
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class ProjectSet(Plan):
    """Set-returning functions of a select list: per input row, each function's
    rows side by side (the shorter ones padded with NULL), appended to it."""

    input: Plan
    calls: list[Any]        # expr.SrfCall
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class SortKey:
    expr: Expr
    desc: bool = False
    nulls_first: bool | None = None   # None: PostgreSQL default (NULLS LAST for ASC)


@dataclass
class Sort(Plan):
    input: Plan
    keys: list[SortKey]
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class Limit(Plan):
    input: Plan
    limit: Expr | None
    offset: Expr | None
    columns: list[OutCol]
    ties: list[SortKey] | None = None    # FETCH ... WITH TIES: rows tied with the last

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class Distinct(Plan):
    input: Plan
    columns: list[OutCol]
    on: list[Expr] | None = None   # DISTINCT ON expressions (input already sorted)

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class SetOp(Plan):
    op: str                 # union | intersect | except
    all: bool
    left: Plan
    right: Plan
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return [self.left, self.right]


@dataclass
class CteScan(Plan):
    cte: CteDef
    columns: list[OutCol]


@dataclass
class CteDef:
    name: str
    plan: Plan | None = None
    recursive_plan: Plan | None = None   # the recursive term (reads WorkTable)
    union_all: bool = True
    id: int = 0
    dml: bool = False                    # INSERT/UPDATE/DELETE ... RETURNING in WITH


@dataclass
class RunCtes(Plan):
    """Runs a statement's data-modifying WITH queries to completion first
    (each exactly once, referenced or not), then the statement."""

    input: Plan
    ctes: list[CteDef]
    columns: list[OutCol]

    def inputs(self) -> list[Plan]:
        return [self.input]


@dataclass
class WorkTableScan(Plan):
    cte: CteDef
    columns: list[OutCol]


@dataclass
class LockRows(Plan):
    """SELECT ... FOR UPDATE/SHARE: lock each returned row of these tables.
    key_positions: where each locked table's row key sits in the input."""

    input: Plan
    targets: list[tuple[int, int]]   # (table oid, key column position)
    columns: list[OutCol]
    nowait: bool = False
    skip_locked: bool = False

    def inputs(self) -> list[Plan]:
        return [self.input]


# --- data modification -----------------------------------------------------------------------

@dataclass
class OnConflict:
    action: str                         # nothing | update
    index: IndexDef | None              # arbiter (None: primary key / any unique)
    use_pk: bool = False
    assignments: list[tuple[int, Expr]] = field(default_factory=list)   # over [existing, excluded]
    where: Expr | None = None
    any_constraint: bool = False


@dataclass
class Insert(Plan):
    table: TableDef
    source: Plan
    targets: list[int]                  # table column position for each source column
    defaults: list[tuple[int, Expr]]    # (position, default expr) for the other columns
    columns: list[OutCol]               # RETURNING columns ([] if none)
    returning: list[Expr] | None = None
    on_conflict: OnConflict | None = None
    overriding: str | None = None


@dataclass
class Update(Plan):
    table: TableDef
    source: Plan                        # rows: table row columns ..., extra cols, key last
    assignments: list[tuple[int, Expr]]
    columns: list[OutCol]
    returning: list[Expr] | None = None
    ncols: int = 0                      # width of the table's part of the source row


@dataclass
class Delete(Plan):
    table: TableDef
    source: Plan
    columns: list[OutCol]
    returning: list[Expr] | None = None
    ncols: int = 0


def walk_plan(p: Plan):
    yield p
    for c in p.inputs():
        yield from walk_plan(c)
