"""What a statement produced (Result) and how a query's rows are gathered:
the first batch now, the rest streamed while the server sends, settled
(materialized) first when they read shared state."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb.sql import plan as P
from aiondb.sql.plan import OutCol

if TYPE_CHECKING:
    from aiondb.sql.prepared import PlanEntry
    from aiondb.storage.txn import Transaction

# A streamed query first produces this many rows; a result that ends within
# them is returned whole (the fast path of point queries).
STREAM_BATCH = 1000
# Plan nodes that read table or catalog state: a generator over them must
# not be suspended across an event-loop turn (it could see, or break on,
# commits made meanwhile), so the server settles (materializes) the rest of
# such a result before it waits for the client.
_SHARED_READS = (P.Scan, P.KeyLookup, P.KeyRange, P.SystemScan, P.LockRows, P.Insert,
                 P.Update)
_ROW_SOURCES = _SHARED_READS + (P.FunctionScan, P.ProjectSet, P.CteScan, P.WorkTableScan)


@dataclass
class Result:
    """What one statement produced. columns None: no row description."""

    tag: str
    columns: list[OutCol] | None = None
    rows: list[tuple] = field(default_factory=list)
    copy: Any = None          # CopyIn / CopyOut handler for COPY statements
    empty: bool = False       # empty query string
    # streaming: rows still to come after `rows` (tag is then "SELECT" and the
    # server counts); errors raised by it belong to the statement
    more: Iterator[tuple] | None = None
    # `more` reads shared state: settle() it before any event-loop turn
    shared: bool = False


# the outcome of every express INSERT (read only by the fast lane)
INSERTED_ONE = Result("INSERT 0 1")


def collect(entry: PlanEntry, it: Iterable[tuple], batch: int, txn: Transaction) -> Result:
    """A query's rows for the server. A run-time error carries the rows
    produced before it (exc.rows_before: PostgreSQL sends them ahead of the
    error). Only `batch` rows are produced here; the rest come from
    Result.more while the server sends."""
    rows: list[tuple] = []
    try:
        if entry.read_only:
            if entry.lazy_safe is None:
                stream_info(entry)
            it = iter(it)
            rows.extend(islice(it, batch))
            if len(rows) == batch:
                if entry.lazy_safe:
                    return Result("SELECT", entry.columns, rows, more=it)
                locks = txn.db.exclusive_locks
                if not any(locks.get(oid) not in (None, txn) for oid in entry.read_oids):
                    # no table it reads can make it wait (LockWait) once rows are out
                    return Result("SELECT", entry.columns, rows, more=it, shared=True)
                rows.extend(it)
        else:
            rows.extend(it)
    except errors.DatabaseError as exc:
        if rows or _plan_has(entry.plan, _ROW_SOURCES if isinstance(entry.plan, P.Values)
                             else _ROW_SOURCES + (P.Values,), set()):
            exc.rows_before = (entry.columns, rows)     # type: ignore[attr-defined]
        else:
            # PostgreSQL folds a FROM-less query's constants (and a VALUES
            # statement's) while planning:
            # the error comes before its RowDescription and its portal
            exc.while_planning = True     # type: ignore[attr-defined]
        raise
    return Result(f"SELECT {len(rows)}", entry.columns, rows)


def settle(more: Iterator[tuple]) -> Iterator[tuple]:
    """The rest of a shared result, produced now so that it no longer depends
    on shared state; a run-time error comes after the rows before it."""
    rest: list[tuple] = []
    try:
        rest.extend(more)
    except errors.DatabaseError as exc:
        return rows_then(rest, exc)
    return iter(rest)


def rows_then(rows: list[tuple], exc: Exception) -> Iterator[tuple]:
    yield from rows
    raise exc


def stream_info(entry: PlanEntry) -> None:
    found: list[Any] = []
    _plan_has(entry.plan, _SHARED_READS, set(), found)
    entry.read_oids = frozenset(n.table.oid for n in found
                                if isinstance(n, (P.Scan, P.KeyLookup, P.KeyRange)))
    entry.lazy_safe = not found


def _plan_has(obj: Any, types: tuple[type, ...], seen: set[int],
              found: list[Any] | None = None) -> bool:
    """Does a plan hold a node of one of these types, as an input or in a
    subquery of its expressions? With found: collect them all."""
    if isinstance(obj, types):
        if found is None:
            return True
        found.append(obj)
    if isinstance(obj, (list, tuple)):
        return any([_plan_has(o, types, seen, found) for o in obj]) if found is not None \
            else any(_plan_has(o, types, seen) for o in obj)
    if type(obj).__module__ in ("aiondb.sql.plan", "aiondb.sql.expr") and id(obj) not in seen:
        seen.add(id(obj))
        names = getattr(obj, "__dict__", None) or {
            n: getattr(obj, n, None) for c in type(obj).__mro__
            for n in getattr(c, "__slots__", ())}
        if found is not None:
            for v in names.values():
                _plan_has(v, types, seen, found)
            return bool(found)
        return any(_plan_has(v, types, seen) for v in names.values())
    return False
