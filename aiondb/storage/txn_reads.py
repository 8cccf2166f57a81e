"""A transaction's reads (Transaction inherits them): what it sees of a
table, by key, by scan, through an index or a key range. Committed rows at
its snapshot (or the latest, under READ COMMITTED) merged with its own
writes; rows a write deleted are left out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb.storage.catalog import IndexDef
from aiondb.storage.table import (
    NOT_INDEXED,
    TableData,
    index_key_fn,
)

if TYPE_CHECKING:
    from aiondb.storage.catalog import Catalog
    from aiondb.storage.database import Database
    from aiondb.storage.txn import Transaction

_MISSING = object()


class LockWait(Exception):
    """A lock is held by `holder`; roll back the statement, wait, retry."""

    def __init__(self, holder: Transaction) -> None:
        super().__init__(f"waiting for transaction {holder.xid}")
        self.holder = holder


def _sort_rowkey(k: Any) -> Any:
    return (0, k) if not isinstance(k, tuple) else (1, k)


class TransactionReads:
    """Reads over the attributes Transaction keeps (db, writes, snapshot,
    pending, touched ...)."""

    db: Database
    catalog: Catalog
    writes: dict[int, dict[Any, tuple | None]]
    snapshot: int | None
    pending: dict[int, tuple[TableData, str]]
    touched: set[int]

    def _touch(self, oid: int) -> None:
        holder = self.db.exclusive_locks.get(oid)
        if holder is not None and holder is not self:
            raise LockWait(holder)
        self.touched.add(oid)
        users = self.db.table_users.get(oid)
        if users is None:       # (setdefault would build a set on every call)
            users = self.db.table_users[oid] = set()
        users.add(self)

    def data(self, oid: int) -> TableData:
        p = self.pending.get(oid)
        if p is not None:
            return p[0]
        try:
            return self.db.tables[oid]
        except KeyError:
            raise errors.UndefinedTable(f"relation with OID {oid} does not exist") from None

    def _reads_committed(self, oid: int) -> bool:
        return oid not in self.pending

    def get(self, oid: int, key: Any) -> tuple | None:
        if oid not in self.touched:
            self._touch(oid)
        w = self.writes.get(oid)
        if w is not None:
            row = w.get(key, _MISSING)
            if row is not _MISSING:
                return row
        td = self.data(oid)
        if self.snapshot is None or not self._reads_committed(oid):
            return td.rows.get(key)
        self.read_tables.add(oid)
        return td.get_at(key, self.snapshot)

    def scan(self, oid: int) -> Iterable[tuple]:
        """Visible rows. The result must be consumed before the next write to
        the same table by this transaction (the executor materializes DML
        inputs)."""
        return (row for _, row in self.scan_items(oid)) if self._needs_merge(oid) else \
            self.data(oid).rows.values()

    def _needs_merge(self, oid: int) -> bool:
        if oid not in self.touched:
            self._touch(oid)
        if self.writes.get(oid):
            return True
        if self.snapshot is not None and self._reads_committed(oid):
            self.read_tables.add(oid)
            return bool(self.data(oid).versions)
        return False

    def scan_items(self, oid: int) -> Iterator[tuple[Any, tuple]]:
        """Visible (key, row) pairs: committed (at the snapshot) then own writes."""
        if oid not in self.touched:
            self._touch(oid)
        td = self.data(oid)
        if self.snapshot is not None and self._reads_committed(oid):
            self.read_tables.add(oid)
            base: Iterable[tuple[Any, tuple]] = td.scan_at(self.snapshot)
        else:
            base = td.rows.items()
        w = self.writes.get(oid)
        if not w:
            return iter(base)
        return chain(((k, r) for k, r in base if k not in w),
                     ((k, r) for k, r in w.items() if r is not None))

    def index_lookup(self, oid: int, index_oid: int, ikey: Any) -> list[tuple[Any, tuple]]:
        """Visible rows whose index key equals ikey (normalized with index_key)."""
        if oid not in self.touched:
            self._touch(oid)
        td = self.data(oid)
        idx = td.indexes.get(index_oid)
        if idx is None:  # index created in this transaction: not built until COMMIT
            return self._filtered_scan(oid, index_oid, ikey)
        key_fn = idx.key_fn
        out = []
        w = self.writes.get(oid)
        snap = self.snapshot if self._reads_committed(oid) else None
        if snap is not None:
            self.read_tables.add(oid)
        seen = set()
        for rk in idx.lookup(ikey):
            if w is not None and rk in w:
                continue
            row = td.rows.get(rk) if snap is None else td.get_at(rk, snap)
            if row is not None and (snap is None or key_fn(row) == ikey):
                out.append((rk, row))
                seen.add(rk)
        if snap is not None and td.versions:
            for rk in td.versions:
                if rk in seen or (w is not None and rk in w):
                    continue
                row = td.get_at(rk, snap)
                if row is not None and key_fn(row) == ikey:
                    out.append((rk, row))
        if w:
            for rk, row in w.items():
                if row is not None and key_fn(row) == ikey:
                    out.append((rk, row))
        return out

    def _filtered_scan(self, oid: int, index_oid: int, ikey: Any) -> list[tuple[Any, tuple]]:
        idx_def = self.catalog.relations[index_oid]
        assert isinstance(idx_def, IndexDef)
        kf = index_key_fn(self.catalog.table(oid), idx_def)
        return [(k, r) for k, r in self.scan_items(oid) if kf(r) == ikey]

    def index_range(self, oid: int, index_oid: int, lo: Any, hi: Any, lo_inc: bool,
                    hi_inc: bool, reverse: bool = False) -> Iterator[tuple[Any, tuple]]:
        """Visible rows with index key in [lo, hi] in index order; own writes
        and snapshot versions are merged in key order."""
        if oid not in self.touched:
            self._touch(oid)
        td = self.data(oid)
        idx = td.indexes.get(index_oid)
        w = self.writes.get(oid)
        snap = self.snapshot if self._reads_committed(oid) else None
        if idx is None or w or (snap is not None and td.versions):
            return iter(self._sorted_range_slow(oid, index_oid, lo, hi, lo_inc, hi_inc,
                                                reverse))
        rows = td.rows
        return ((rk, rows[rk]) for rk in idx.range(lo, hi, lo_inc, hi_inc, reverse))

    def _sorted_range_slow(self, oid: int, index_oid: int, lo: Any, hi: Any, lo_inc: bool,
                           hi_inc: bool, reverse: bool) -> list[tuple[Any, tuple]]:
        idx_def = self.catalog.relations[index_oid]
        assert isinstance(idx_def, IndexDef)
        kf = index_key_fn(self.catalog.table(oid), idx_def)
        out = []
        for k, r in self.scan_items(oid):
            ik = kf(r)
            if ik is NOT_INDEXED:
                continue
            if lo is not None and (ik < lo or (ik == lo and not lo_inc)):
                continue
            if hi is not None and (ik > hi or (ik == hi and not hi_inc)):
                continue
            out.append((ik, k, r))
        out.sort(key=lambda t: (t[0], _sort_rowkey(t[1])), reverse=reverse)
        return [(k, r) for _, k, r in out]

    def pk_range(self, oid: int, lo: Any, hi: Any, lo_inc: bool, hi_inc: bool,
                 reverse: bool = False) -> Iterator[tuple[Any, tuple]]:
        """Visible rows by primary key range in key order."""
        if oid not in self.touched:
            self._touch(oid)
        td = self.data(oid)
        w = self.writes.get(oid)
        snap = self.snapshot if self._reads_committed(oid) else None
        if w or (snap is not None and td.versions):
            items = [(k, r) for k, r in self.scan_items(oid)
                     if (lo is None or k > lo or (lo_inc and k == lo))
                     and (hi is None or k < hi or (hi_inc and k == hi))]
            items.sort(key=lambda kr: kr[0], reverse=reverse)
            return iter(items)
        rows = td.rows
        keys = td.pk_sorted().irange(lo, hi, (lo_inc, hi_inc), reverse)
        return ((k, rows[k]) for k in keys)
