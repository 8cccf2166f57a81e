"""In-memory table store: committed rows keyed by primary key (or a row id),
ordered secondary indexes, and the short version history that snapshot
(REPEATABLE READ / SERIALIZABLE) readers need.

Rows are tuples in column order. Only committed data lives here; a
transaction's own writes live in its write set until COMMIT applies them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sortedcontainers import SortedDict, SortedList

from aiondb.storage.catalog import IndexDef, TableDef


class _NullKey:
    """Index key for NULL: equal only to itself, greater than any value
    (PostgreSQL's default NULLS LAST order for ascending indexes)."""

    __slots__ = ()

    def __lt__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return other is self

    def __gt__(self, other: object) -> bool:
        return other is not self

    def __ge__(self, other: object) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return 0x5EED

    def __repr__(self) -> str:
        return "NULL_KEY"


NULL_KEY = _NullKey()


class _Bucket(set):
    """Several row keys under one index key (non-unique index or NULLs)."""

    __slots__ = ()


def make_key_fn(positions: tuple[int, ...]) -> Callable[[tuple], Any]:
    """Index key of a row: the value for one column, a tuple for several;
    NULL becomes NULL_KEY so keys always compare."""
    if len(positions) == 1:
        p = positions[0]

        def one(row: tuple) -> Any:
            v = row[p]
            return NULL_KEY if v is None else v
        return one

    def many(row: tuple) -> Any:
        return tuple(NULL_KEY if row[p] is None else row[p] for p in positions)
    return many


class _NotIndexed:
    """Key function result for a row a partial index leaves out."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_INDEXED"


NOT_INDEXED = _NotIndexed()


def index_key_fn(table: TableDef, idx: IndexDef) -> Callable[[tuple], Any]:
    """The key function of an index over rows of table. Expression keys and
    partial-index predicates are SQL the sql layer compiles; a partial index's
    function returns NOT_INDEXED for rows its predicate leaves out."""
    if idx.exprs or idx.predicate:
        from aiondb.sql.index_keys import expression_key_fn
        return expression_key_fn(table, idx)
    return make_key_fn(table.positions(idx.attnums))


def index_labels(table: TableDef, idx: IndexDef) -> list[str]:
    """How error messages name an index's key columns: the column name, or
    the expression (parenthesized unless it is a function call, as
    PostgreSQL prints it)."""
    exprs = iter(idx.exprs)
    out = []
    for a in idx.attnums:
        if a:
            out.append(table.columns[table.position(a)].name)
        else:
            text = next(exprs)
            out.append(text if _is_call_text(text) else f"({text})")
    return out


def _is_call_text(text: str) -> bool:
    i = 0
    while i < len(text) and (text[i].isalnum() or text[i] in "_."):
        i += 1
    if i == 0 or i >= len(text) or text[i] != "(" or not text.endswith(")"):
        return False
    depth = 0
    for j in range(i, len(text)):
        depth += {"(": 1, ")": -1}.get(text[j], 0)
        if depth == 0:
            return j == len(text) - 1
    return False


def index_key(values: tuple | list) -> Any:
    """The same normalization for a probe value (or values)."""
    if len(values) == 1:
        v = values[0]
        return NULL_KEY if v is None else v
    return tuple(NULL_KEY if v is None else v for v in values)


def key_has_null(key: Any) -> bool:
    if key is NULL_KEY:
        return True
    return isinstance(key, tuple) and any(k is NULL_KEY for k in key)


class OrderedIndex:
    """Index key → row key(s), ordered for range scans (a SortedDict: exact
    lookups are dict lookups, ranges bisect the sorted key list)."""

    __slots__ = ("definition", "key_fn", "map", "ncols")

    def __init__(self, definition: IndexDef, key_fn: Callable[[tuple], Any]) -> None:
        self.definition = definition
        self.key_fn = key_fn
        self.map: SortedDict = SortedDict()
        self.ncols = len(definition.attnums)

    def add(self, ikey: Any, rowkey: Any) -> None:
        m = self.map
        cur = m.get(ikey, _MISSING)
        if cur is _MISSING:
            m[ikey] = rowkey
        elif isinstance(cur, _Bucket):
            cur.add(rowkey)
        elif cur != rowkey:
            m[ikey] = _Bucket((cur, rowkey))

    def remove(self, ikey: Any, rowkey: Any) -> None:
        m = self.map
        cur = m.get(ikey, _MISSING)
        if cur is _MISSING:
            return
        if isinstance(cur, _Bucket):
            cur.discard(rowkey)
            if len(cur) == 1:
                m[ikey] = next(iter(cur))
            elif not cur:
                del m[ikey]
        elif cur == rowkey:
            del m[ikey]

    def lookup(self, ikey: Any) -> Iterable[Any]:
        cur = self.map.get(ikey, _MISSING)
        if cur is _MISSING:
            return ()
        if isinstance(cur, _Bucket):
            return tuple(cur)
        return (cur,)

    def range(self, lo: Any, hi: Any, lo_inclusive: bool = True, hi_inclusive: bool = True,
              reverse: bool = False) -> Iterator[Any]:
        """Row keys with lo <= key <= hi (None bound = open), in key order."""
        m = self.map
        for ikey in m.irange(lo, hi, (lo_inclusive, hi_inclusive), reverse):
            cur = m[ikey]
            if isinstance(cur, _Bucket):
                yield from sorted(cur, key=_sortable)
            else:
                yield cur

    def build(self, rows: dict[Any, tuple]) -> None:
        pairs: dict[Any, Any] = {}
        key_fn = self.key_fn
        for rowkey, row in rows.items():
            ikey = key_fn(row)
            if ikey is NOT_INDEXED:
                continue
            cur = pairs.get(ikey, _MISSING)
            if cur is _MISSING:
                pairs[ikey] = rowkey
            elif isinstance(cur, _Bucket):
                cur.add(rowkey)
            else:
                pairs[ikey] = _Bucket((cur, rowkey))
        self.map = SortedDict(pairs)


def _sortable(k: Any) -> Any:
    return (0, k) if not isinstance(k, tuple) else (1, k)


_MISSING = object()


class TableData:
    """Committed rows of one table plus its indexes."""

    __slots__ = ("oid", "rows", "indexes", "key_positions", "key_fn", "versions",
                 "_pk_sorted", "last_commit_seq", "definition")

    def __init__(self, table: TableDef, index_defs: Iterable[IndexDef] = ()) -> None:
        self.oid = table.oid
        self.rows: dict[Any, tuple] = {}
        self.indexes: dict[int, OrderedIndex] = {}
        # (commit_seq, row before that commit or None): newest last
        self.versions: dict[Any, list[tuple[int, tuple | None]]] = {}
        self._pk_sorted: SortedList | None = None
        self.last_commit_seq = 0
        self.definition = table
        self.key_positions: tuple[int, ...] = table.pk_positions
        self.key_fn = make_row_key_fn(self.key_positions)
        for idx in index_defs:
            if not idx.primary:
                self.indexes[idx.oid] = OrderedIndex(idx, index_key_fn(table, idx))

    # --- configuration ---------------------------------------------------------------
    def reconfigure(self, table: TableDef, index_defs: Iterable[IndexDef]) -> None:
        """Adopt a changed definition: build new indexes, drop removed ones."""
        self.definition = table
        wanted = {i.oid: i for i in index_defs if not i.primary}
        for oid in list(self.indexes):
            old = self.indexes[oid].definition
            if oid not in wanted or old.attnums != wanted[oid].attnums or \
                    old.exprs != wanted[oid].exprs or old.predicate != wanted[oid].predicate:
                del self.indexes[oid]
        for oid, idx in wanted.items():
            if oid not in self.indexes:
                oi = OrderedIndex(idx, index_key_fn(table, idx))
                oi.build(self.rows)
                self.indexes[oid] = oi
            else:
                self.indexes[oid].definition = idx

    def copy_empty(self) -> TableData:
        other = TableData.__new__(TableData)
        other.oid = self.oid
        other.rows = {}
        other.definition = self.definition
        other.key_positions = self.key_positions
        other.key_fn = self.key_fn
        other.versions = {}
        other._pk_sorted = None
        other.last_commit_seq = self.last_commit_seq
        other.indexes = {oid: OrderedIndex(i.definition, i.key_fn)
                         for oid, i in self.indexes.items()}
        return other

    # --- committed-state reads ---------------------------------------------------------
    def get_at(self, key: Any, snapshot: int) -> tuple | None:
        row = self.rows.get(key)
        vs = self.versions.get(key)
        if vs:
            for seq, old in reversed(vs):
                if seq > snapshot:
                    row = old
                else:
                    break
        return row

    def modified_after(self, key: Any, snapshot: int) -> bool:
        vs = self.versions.get(key)
        return bool(vs) and vs[-1][0] > snapshot

    def scan_at(self, snapshot: int) -> Iterator[tuple[Any, tuple]]:
        versions = self.versions
        if not versions:
            yield from self.rows.items()
            return
        for key, row in self.rows.items():
            if key in versions:
                row = self.get_at(key, snapshot)
                if row is None:
                    continue
            yield key, row
        for key in versions:
            if key not in self.rows:
                row = self.get_at(key, snapshot)
                if row is not None:
                    yield key, row

    def pk_sorted(self) -> SortedList:
        """Row keys in order (built on first use, then maintained)."""
        if self._pk_sorted is None:
            self._pk_sorted = SortedList(self.rows.keys())
        return self._pk_sorted

    # --- applying committed changes ------------------------------------------------------
    def apply(self, key: Any, new: tuple | None, seq: int, keep_version: bool) -> None:
        rows = self.rows
        old = rows.get(key)
        if keep_version:
            self.versions.setdefault(key, []).append((seq, old))
        if new is None:
            if old is None:
                return
            del rows[key]
            if self._pk_sorted is not None:
                self._pk_sorted.discard(key)
        else:
            rows[key] = new
            if old is None and self._pk_sorted is not None:
                self._pk_sorted.add(key)
        for idx in self.indexes.values():
            kf = idx.key_fn
            ok = kf(old) if old is not None else _MISSING
            nk = kf(new) if new is not None else _MISSING
            if ok is not _MISSING and nk is not _MISSING and ok == nk:
                continue
            if ok is not _MISSING and ok is not NOT_INDEXED:
                idx.remove(ok, key)
            if nk is not _MISSING and nk is not NOT_INDEXED:
                idx.add(nk, key)

    def apply_many(self, writes: dict[Any, tuple | None], seq: int, keep_version: bool) -> None:
        """apply() for every write of a commit. A big commit to a table with
        no secondary indexes, no ordered key list built and no versions to
        keep is one dict update (COPY of a million rows)."""
        if keep_version or self.indexes or self._pk_sorted is not None or len(writes) < 64:
            apply = self.apply
            for key, row in writes.items():
                apply(key, row, seq, keep_version)
            return
        rows = self.rows
        rows.update(writes)
        if None in writes.values():
            for key, row in writes.items():
                if row is None:
                    del rows[key]

    def load(self, items: Iterable[tuple[Any, tuple]]) -> None:
        """Bulk load (recovery, restore): rows then indexes, no versions."""
        self.rows.update(items)
        self._pk_sorted = None
        for idx in self.indexes.values():
            idx.build(self.rows)

    def prune_versions(self, min_snapshot: int | None) -> None:
        if min_snapshot is None:
            self.versions.clear()
            return
        for key in list(self.versions):
            vs = [v for v in self.versions[key] if v[0] > min_snapshot]
            if vs:
                self.versions[key] = vs
            else:
                del self.versions[key]


def make_row_key_fn(positions: tuple[int, ...]) -> Callable[[tuple], Any] | None:
    """Primary key of a row (value or tuple); None when the table has no PK."""
    if not positions:
        return None
    # itemgetter: a C call, not a Python frame, per row (with several
    # positions it returns their tuple)
    return operator.itemgetter(*positions)
