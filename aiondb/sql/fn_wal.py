"""pg_lsn arithmetic, the WAL position functions (pg_current_wal_lsn and its
kin, pg_wal_lsn_diff) and pg_export_snapshot, as in PostgreSQL 15.

A pg_lsn value is a plain int (a byte position in the log); its type says
how it is spelled ("16/B374D848"). Each tenant (database) has its own WAL,
so the positions are those of the current database's log, not of the
whole server as in PostgreSQL; an ephemeral server has no WAL at all."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import func, op

LSN = T.PG_LSN
_MAX = (1 << 64) - 1


def _wal(ctx: Any) -> Any:
    store = getattr(ctx.session.db, "durability", None)
    wal = getattr(store, "wal", None)
    if wal is None:
        raise errors.ObjectNotInPrerequisiteState(
            f'database "{ctx.session.db.name}" has no write-ahead log',
            hint="The server runs with --ephemeral: nothing is logged or kept.")
    return wal


func("pg_current_wal_lsn", (), LSN, needs_ctx=True, volatile=True)(
    lambda ctx: _wal(ctx).written)
func("pg_current_wal_insert_lsn", (), LSN, needs_ctx=True, volatile=True)(
    lambda ctx: _wal(ctx).end)
func("pg_current_wal_flush_lsn", (), LSN, needs_ctx=True, volatile=True)(
    lambda ctx: _wal(ctx).flushed)


def _diff(a: int, b: int) -> Decimal:
    return Decimal(a - b)


func("pg_wal_lsn_diff", (LSN, LSN), T.NUMERIC)(_diff)
op("-", LSN, LSN, T.NUMERIC)(_diff)


def _plus(lsn: int, n: Decimal) -> int:
    if n.is_nan():
        raise errors.FeatureNotSupported("cannot add NaN to pg_lsn")
    return _to_lsn(lsn + n)


def _minus(lsn: int, n: Decimal) -> int:
    if n.is_nan():
        raise errors.FeatureNotSupported("cannot subtract NaN from pg_lsn")
    return _to_lsn(lsn - n)


def _to_lsn(v: Decimal) -> int:
    """As PostgreSQL: the numeric sum, rounded half away from zero; out of
    range is 22023 there, not 22003."""
    if v.is_infinite():
        raise errors.FeatureNotSupported("cannot convert infinity to pg_lsn")
    i = int(v.to_integral_value(ROUND_HALF_UP))
    if not 0 <= i <= _MAX:
        raise errors.InvalidParameterValue("pg_lsn out of range")
    return i


op("+", LSN, T.NUMERIC, LSN)(_plus)
op("+", T.NUMERIC, LSN, LSN)(lambda n, lsn: _plus(lsn, n))
op("-", LSN, T.NUMERIC, LSN)(_minus)
func("pg_lsn_larger", (LSN, LSN), LSN)(max)
func("pg_lsn_smaller", (LSN, LSN), LSN)(min)


@func("pg_export_snapshot", (), T.TEXT, needs_ctx=True, volatile=True)
def _export_snapshot(ctx: Any) -> str:
    """An id for SET TRANSACTION SNAPSHOT, valid until this transaction ends
    (pg_dump -j: the workers read what the leader reads)."""
    return ctx.session.db.export_snapshot(ctx.txn)
