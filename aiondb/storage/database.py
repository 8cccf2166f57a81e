"""A tenant's live state: catalog, table data, sequences, locks and the
commit path. `Durability` is the seam to the recovery layer: when set, a
commit's record is made durable before the commit is applied in memory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiondb import errors
from aiondb.storage.catalog import Catalog, SequenceDef, TableDef
from aiondb.storage.table import TableData
from aiondb.storage.txn import READ_COMMITTED, Transaction


class CommitWaiter(Protocol):
    def flushed(self, error: BaseException | None) -> None: ...


class Durability(Protocol):
    """Implemented by the recovery layer for durable tenants."""

    def log_commit_start(self, db: Database, txn: Transaction,
                         cs: ChangeSet) -> asyncio.Future | None:
        """Append the transaction's commit record (its change set `cs`).
        Returns the future of its flush to wait for, then hand to
        log_commit_end; None when there is nothing to wait for
        (synchronous_commit off)."""

    def log_write_start(self, xid: int, payload: bytearray, sync: bool,
                        waiter: CommitWaiter | None = None) -> asyncio.Future | None:
        """log_commit_start for a commit payload the caller encoded itself
        (payloads.encode_single_write). With a waiter (and sync), no future:
        waiter.flushed(error or None) is called once the flush's outcome is
        known, and the waiter then calls log_write_end."""

    def log_write_end(self, waiter: CommitWaiter) -> None:
        """log_commit_end for a waiter of log_write_start."""

    def log_commit_end(self, fut: asyncio.Future) -> None:
        """The flush `fut` is done (its exception, if any, is the commit's)."""


@dataclass(slots=True)
class ChangeSet:
    """What one commit changes, data only. Live commits build it from the
    transaction; WAL replay decodes it from the record (storage/records.py);
    both apply it with Database.apply_changes, so they share one code path."""

    catalog: Catalog | None = None       # new catalog to install (DDL)
    # tables whose data was replaced: oid → (data, "new" | "truncated" | "rewritten")
    tables: dict[int, tuple[TableData, str]] = field(default_factory=dict)
    writes: dict[int, dict[Any, tuple | None]] = field(default_factory=dict)
    sequences: dict[int, list[Any]] = field(default_factory=dict)  # oid → [last, is_called]

    @classmethod
    def from_transaction(cls, txn: Transaction, with_sequences: bool = True) -> ChangeSet:
        seqs: dict[int, list[Any]] = {}
        if with_sequences and txn.sequences:
            values = txn.db.seq_values
            seqs = {oid: list(values[oid]) for oid in txn.sequences if oid in values}
        return cls(txn.catalog if txn.ddl else None, txn.pending, txn.writes, seqs)


class Database:
    """One tenant (a database name clients connect to)."""

    def __init__(self, name: str, oid: int, durability: Durability | None = None) -> None:
        self.name = name
        self.oid = oid
        self.durability = durability
        self.catalog = Catalog.bootstrap()
        self.tables: dict[int, TableData] = {}
        # sequence oid → [last_value, is_called]
        self.seq_values: dict[int, list[Any]] = {}
        self.commit_seq = 0
        self._catalog_versions = 0
        self._next_xid = 1
        self._next_rowid = 1
        self.active: dict[int, Transaction] = {}
        self.snapshots: dict[Transaction, int] = {}
        # pg_export_snapshot: id → (exporting transaction, commit seq, the
        # entry in snapshots that keeps the versions it needs)
        self.exported: dict[str, tuple[Transaction, int, object]] = {}
        self._exports = 0
        self.row_locks: dict[tuple[int, Any], Transaction] = {}
        self.exclusive_locks: dict[int, Transaction] = {}
        self.table_users: dict[int, set[Transaction]] = {}
        self.ddl_owner: Transaction | None = None
        self._versioned: set[TableData] = set()
        self.read_only_reason: str | None = None
        from aiondb.storage.txn import AutocommitReader
        self.reader = AutocommitReader(self)

    # --- transactions ---------------------------------------------------------------------
    def begin(self, isolation: str = READ_COMMITTED, read_only: bool = False) -> Transaction:
        xid = self._next_xid
        self._next_xid += 1
        txn = Transaction(self, xid, isolation, read_only)
        self.active[xid] = txn
        return txn

    def next_rowid(self) -> int:
        rid = self._next_rowid
        self._next_rowid += 1
        return rid

    def new_catalog_version(self) -> int:
        self._catalog_versions += 1
        return self._catalog_versions

    def commit_start(self, txn: Transaction) -> tuple[ChangeSet, asyncio.Future] | None:
        """A commit's first half: log it. None when it is applied already;
        else (change set, its flush): wait for the flush, then commit_finish.
        Split so the connection's fast lane can wait without a coroutine
        chain (see Transaction.commit for the plain form)."""
        if self.read_only_reason is not None:
            raise errors.ReadOnlySqlTransaction(
                f"tenant \"{self.name}\" is read-only: {self.read_only_reason}")
        cs = ChangeSet.from_transaction(txn)     # built once: logged, then applied
        if self.durability is not None:
            fut = self.durability.log_commit_start(self, txn, cs)
            if fut is not None:
                return cs, fut
        self.apply_commit(txn, cs)
        return None

    def commit_finish(self, txn: Transaction, cs: ChangeSet, fut: asyncio.Future) -> None:
        """A commit's second half, once its flush is done: apply it, or raise
        the flush's error (then nothing of it is applied)."""
        assert self.durability is not None
        self.durability.log_commit_end(fut)
        fut.result()
        self.apply_commit(txn, cs)

    def discard_transaction(self, txn: Transaction) -> None:
        """Rollback: nothing was applied, so only sequences created by the
        transaction need forgetting. Sequence advances stay (as in
        PostgreSQL) and are logged, so no value is handed out twice."""
        if txn.sequences and self.durability is not None:
            log_sequences = getattr(self.durability, "log_sequences", None)
            if log_sequences is not None:
                log_sequences(self, txn)
        if txn.ddl:
            for oid, rel in txn.catalog.relations.items():
                if isinstance(rel, SequenceDef) and oid not in self.catalog.relations:
                    self.seq_values.pop(oid, None)

    def apply_commit(self, txn: Transaction, cs: ChangeSet | None = None) -> None:
        """Apply a committed transaction in memory. Sequences are left alone:
        nextval/setval already changed them (and may have moved on since)."""
        others = len(self.snapshots) - (1 if txn in self.snapshots else 0)
        if cs is None:
            cs = ChangeSet.from_transaction(txn, with_sequences=False)
        self.apply_changes(cs, keep_versions=others > 0, sequences=False)

    def apply_changes(self, cs: ChangeSet, seq: int | None = None,
                      keep_versions: bool = False, sequences: bool = True) -> None:
        """Apply a change set (live commits and WAL replay). keep_versions:
        other transactions hold snapshots, so keep the rows they may need.
        sequences=False leaves the change set's sequence values unapplied."""
        self.commit_seq = seq if seq is not None else self.commit_seq + 1
        seq = self.commit_seq
        keep = keep_versions
        if cs.catalog is not None:
            self.install_catalog(cs.catalog, skip=cs.tables.keys())
        for oid, (td, _reason) in cs.tables.items():
            if oid in self.tables or isinstance(self.catalog.relations.get(oid), TableDef):
                td.reconfigure(self.catalog.table(oid), self.catalog.indexes_of(oid))
                self.tables[oid] = td
                td.last_commit_seq = seq
        tables = self.tables
        for oid, w in cs.writes.items():
            td = tables.get(oid)
            if td is None:
                continue
            td.apply_many(w, seq, keep)
            td.last_commit_seq = seq
            if keep:
                self._versioned.add(td)
        if not sequences:
            return
        for oid, state in cs.sequences.items():
            if isinstance(self.catalog.relations.get(oid), SequenceDef):
                self.seq_values[oid] = list(state)

    def apply_insert(self, oid: int, key: Any, row: tuple) -> None:
        """apply_changes for a commit of one inserted row and nothing else
        (storage/single_commit.py), without building a change set: keep the
        two in step."""
        seq = self.commit_seq = self.commit_seq + 1
        td = self.tables.get(oid)
        if td is None:
            return
        keep = bool(self.snapshots)
        td.apply(key, row, seq, keep)
        td.last_commit_seq = seq
        if keep:
            self._versioned.add(td)

    def install_catalog(self, catalog: Catalog, skip: Any = ()) -> None:
        """Adopt a committed catalog: drop data of dropped tables, create data
        for new ones, rebuild indexes where definitions changed."""
        catalog.version = self.new_catalog_version()
        self.catalog = catalog
        for oid in list(self.tables):
            rel = catalog.relations.get(oid)
            if not isinstance(rel, TableDef):
                self._versioned.discard(self.tables.pop(oid))
        for rel in catalog.relations.values():
            if isinstance(rel, TableDef):
                if rel.oid in skip:
                    continue
                td = self.tables.get(rel.oid)
                if td is None:
                    self.tables[rel.oid] = TableData(rel, catalog.indexes_of(rel.oid))
                elif td.definition is not rel or _index_set_changed(td, catalog):
                    td.reconfigure(rel, catalog.indexes_of(rel.oid))
            elif isinstance(rel, SequenceDef) and rel.oid not in self.seq_values:
                self.seq_values[rel.oid] = [rel.start, False]
        for oid in list(self.seq_values):
            if not isinstance(catalog.relations.get(oid), SequenceDef):
                del self.seq_values[oid]

    def export_snapshot(self, txn: Transaction) -> str:
        """An id other sessions can import the transaction's snapshot by (its
        statement's, under READ COMMITTED) until it ends."""
        seq = txn.snapshot if txn.snapshot is not None else self.commit_seq
        hold = object()
        self.snapshots[hold] = seq   # type: ignore[index] - keeps the versions it needs
        self._exports += 1
        # the tenant's oid first: an id is unique across databases, so
        # importing it into another is recognised as such
        sid = f"{self.oid:08X}-{txn.xid:08X}-{self._exports}"
        self.exported[sid] = (txn, seq, hold)
        return sid

    def exported_snapshot(self, sid: str) -> tuple[int, str] | None:
        """(commit seq, exporter's isolation) of a live exported snapshot."""
        e = self.exported.get(sid)
        return None if e is None else (e[1], e[0].isolation)

    def release_exports(self, txn: Transaction) -> None:
        for sid, (owner, _seq, hold) in list(self.exported.items()):
            if owner is txn:
                del self.exported[sid]
                self.snapshots.pop(hold, None)   # type: ignore[call-overload]
        self.prune_versions()

    def prune_versions(self) -> None:
        if not self._versioned:
            return
        low = min(self.snapshots.values()) if self.snapshots else None
        for td in list(self._versioned):
            td.prune_versions(low)
            if not td.versions:
                self._versioned.discard(td)

    def counters(self) -> dict[str, int]:
        """Counters a checkpoint keeps so ids are not reused after restart."""
        return {"next_xid": self._next_xid, "next_rowid": self._next_rowid}

    def restore_counters(self, next_xid: int = 1, next_rowid: int = 1) -> None:
        self._next_xid = max(self._next_xid, next_xid)
        self._next_rowid = max(self._next_rowid, next_rowid)

    def restore_rowid_counter(self) -> None:
        """After loading data: continue row ids above the highest in use."""
        top = 0
        for td in self.tables.values():
            if td.key_fn is None and td.rows:
                top = max(top, max(td.rows))
        self._next_rowid = max(self._next_rowid, top + 1)

    # --- sequences (non-transactional, as in PostgreSQL) -----------------------------------
    def nextval(self, txn: Transaction, seq: SequenceDef) -> int:
        state = self.seq_values.get(seq.oid)
        if state is None:
            state = self.seq_values[seq.oid] = [seq.start, False]
        last, called = state
        if not called:
            value = last
        else:
            value = last + seq.increment
            if value > seq.max_value or value < seq.min_value:
                if not seq.cycle:
                    limit = "maximum" if seq.increment > 0 else "minimum"
                    bound = seq.max_value if seq.increment > 0 else seq.min_value
                    raise errors.SequenceGeneratorLimitExceeded(
                        f'nextval: reached {limit} value of sequence "{seq.name}" ({bound})')
                value = seq.min_value if seq.increment > 0 else seq.max_value
        state[0] = value
        state[1] = True
        txn.sequences.add(seq.oid)
        return value

    def setval(self, txn: Transaction, seq: SequenceDef, value: int, is_called: bool) -> None:
        if value < seq.min_value or value > seq.max_value:
            raise errors.NumericValueOutOfRange(
                f'setval: value {value} is out of bounds for sequence "{seq.name}" '
                f"({seq.min_value}..{seq.max_value})")
        self.seq_values[seq.oid] = [value, is_called]
        txn.sequences.add(seq.oid)


def _index_set_changed(td: TableData, catalog: Catalog) -> bool:
    wanted = {i.oid for i in catalog.indexes_of(td.oid) if not i.primary}
    return wanted != set(td.indexes)
