"""Express INSERT: the commonest write, `INSERT INTO t (cols) VALUES ($1,
..., constants)` run outside a transaction block, without the executor.

A plan qualifies when every value is a parameter (of its column's type, or
cast to it, as when a client declares an int8 for an int4 column) or a
constant, every default is a constant, and the table has nothing that must
run per row besides NOT NULL: no CHECK constraint, foreign key, generated
column, or expression/partial index key. The row is then the plan's
template with the parameters dropped in, and it goes straight to
Transaction.insert, which does the same locking, key and uniqueness checks
as the executor; or, when the statement is the whole transaction, to
storage/single_commit.py, which inserts and commits in one step. Anything
unusual (a NULL in a NOT NULL column, a lock to wait for, a cast that needs
the executor's context) returns False with nothing done, and the statement
takes the general path, which reports or waits exactly as before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiondb import errors
from aiondb.sql import plan as P
from aiondb.sql.expr import Cast, Const, Param
from aiondb.storage.catalog import TableDef
from aiondb.storage.txn import LockWait, Transaction


@dataclass(slots=True, frozen=True)
class ExpressInsert:
    table: TableDef
    template: tuple[Any, ...]             # constants and defaults in place
    # (parameter index, column position, cast to the column's type or None)
    slots: tuple[tuple[int, int, Any], ...]
    not_null: tuple[int, ...]             # positions that must not be NULL


def plan_express_insert(plan: P.Plan, rules: Any) -> ExpressInsert | None:
    """The express form of an INSERT plan, or None if it does not qualify."""
    if not isinstance(plan, P.Insert) or plan.returning or plan.on_conflict is not None:
        return None
    src = plan.source
    if not isinstance(src, P.Values) or len(src.rows) != 1:
        return None
    if rules.checks or rules.fks_out or rules.generated or rules.index_keys:
        return None
    row: list[Any] = [None] * len(plan.table.columns)
    slots = []
    for pos, e in zip(plan.targets, src.rows[0], strict=True):
        if isinstance(e, Param):
            slots.append((e.index, pos, None))
        elif isinstance(e, Cast) and isinstance(e.arg, Param):
            slots.append((e.arg.index, pos, e.fn))
        elif isinstance(e, Const):
            row[pos] = e.value
        else:
            return None
    for pos, e in plan.defaults:
        if not isinstance(e, Const):
            return None
        row[pos] = e.value
    return ExpressInsert(plan.table, tuple(row), tuple(slots), tuple(rules.not_null))


def express_row(ex: ExpressInsert, params: list[Any]) -> tuple | None:
    """The row to insert; None when the general path must run the statement
    (a NULL for a NOT NULL column, a cast that needs the executor)."""
    row = list(ex.template)
    for i, pos, cast in ex.slots:
        v = params[i]
        if cast is not None and v is not None:
            try:
                v = cast(v, None)
            except errors.DatabaseError:
                raise
            except Exception:  # noqa: BLE001 - a cast that needs the executor's context
                return None
        row[pos] = v
    for pos in ex.not_null:
        if row[pos] is None:
            return None
    return tuple(row)


def insert_row(ex: ExpressInsert, txn: Transaction, row: tuple) -> bool:
    """Insert the row into txn (a new implicit transaction). False, with
    nothing done, when the general path must run the statement instead."""
    txn.begin_statement()
    try:
        txn.insert(ex.table, row)
    except LockWait:
        txn.rollback_to_mark(0)
        return False
    except BaseException:
        txn.rollback_to_mark(0)
        raise
    return True
