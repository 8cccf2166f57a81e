"""Transactions over a tenant's in-memory state.

A transaction buffers its writes (`writes[table][key] = row | None`) and an
undo journal, so a savepoint or a statement that must be retried rolls back
exactly its own part. Nothing is applied to shared state before COMMIT, which
writes one record to the WAL, waits for it to be durable and then applies the
write set (Database.apply_commit). Recovery is therefore redo-only.

Concurrency is single-threaded (one asyncio loop): statements run without
interleaving, so the only waits are row/table locks and the commit fsync. A
write that meets a lock held by another transaction raises LockWait; the
session rolls the statement back to its start, waits for the holder to end
and runs the statement again (READ COMMITTED re-reads the now-committed row,
as PostgreSQL's EvalPlanQual does; snapshot isolation then fails with 40001
when the row changed after its snapshot).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb.storage.catalog import Catalog, TableDef
from aiondb.storage.table import (
    NOT_INDEXED,
    NULL_KEY,
    TableData,
    index_key_fn,
    index_labels,
    key_has_null,
)
from aiondb.storage.txn_reads import _MISSING, LockWait, TransactionReads

if TYPE_CHECKING:
    from aiondb.storage.database import ChangeSet, Database

READ_COMMITTED = "read committed"
REPEATABLE_READ = "repeatable read"
SERIALIZABLE = "serializable"
ISOLATION_LEVELS = (READ_COMMITTED, REPEATABLE_READ, SERIALIZABLE, "read uncommitted")



class SharedLock(set):
    """Holders of a shared row lock."""

    __slots__ = ()



class Savepoint:
    __slots__ = ("name", "journal_len", "catalog", "pending", "ddl")

    def __init__(self, name: str, txn: Transaction) -> None:
        self.name = name
        self.journal_len = len(txn.journal)
        self.catalog = txn.catalog
        self.pending = dict(txn.pending)
        self.ddl = txn.ddl


def _fmt_key(values: Iterable[Any]) -> str:
    out = []
    for v in values:
        if v is None or v is NULL_KEY:
            out.append("null")
        elif v is True or v is False:
            out.append("t" if v else "f")
        else:
            out.append(str(v))
    return ", ".join(out)


class Transaction(TransactionReads):
    """One transaction of one tenant."""

    def __init__(self, db: Database, xid: int, isolation: str = READ_COMMITTED,
                 read_only: bool = False) -> None:
        self.db = db
        self.xid = xid
        self.isolation = READ_COMMITTED if isolation == "read uncommitted" else isolation
        self.read_only = read_only
        self.snapshot: int | None = None
        self.writes: dict[int, dict[Any, tuple | None]] = {}
        # undo journal: ("w", table, key, previous write-set value or _MISSING)
        #               ("c", index oid, index key, previous claim or _MISSING)
        #               ("W", table, previous whole write set or None)
        self.journal: list[tuple] = []
        self.claims: dict[tuple[int, Any], Any] = {}
        self.catalog: Catalog = db.catalog
        self.ddl = False
        # tables whose data this transaction replaced: oid → (TableData, reason)
        # reason: "new" (created here), "truncated", "rewritten" (full image at commit)
        self.pending: dict[int, tuple[TableData, str]] = {}
        self.touched: set[int] = set()
        self.read_tables: set[int] = set()
        self.row_locks: list[tuple[int, Any]] = []
        self.exclusive_tables: set[int] = set()
        self.sequences: set[int] = set()
        self.savepoints: list[Savepoint] = []
        self.state = "active"
        self.waiting_for: Transaction | None = None
        self._done: asyncio.Future | None = None
        self.synchronous_commit = True
        self.queried = False     # a statement has run (its isolation is then fixed)

    # --- snapshot ------------------------------------------------------------------------
    def begin_statement(self) -> None:
        """Called before each statement: RC sees the latest commits, snapshot
        isolation takes its snapshot at the first statement (as PostgreSQL)."""
        self.queried = True
        if self.isolation != READ_COMMITTED and self.snapshot is None:
            self.snapshot = self.db.commit_seq
            self.db.snapshots[self] = self.snapshot
        if not self.ddl:
            self.catalog = self.db.catalog

    def use_snapshot(self, seq: int) -> None:
        """See the state as of commit seq (an imported snapshot), for the
        whole transaction."""
        self.snapshot = seq
        self.db.snapshots[self] = seq

    @property
    def has_writes(self) -> bool:
        return bool(self.writes or self.pending or self.ddl or self.sequences)

    # --- writes ------------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise errors.ReadOnlySqlTransaction(
                "cannot execute this statement in a read-only transaction")

    def lock_row(self, oid: int, key: Any) -> None:
        """Take the exclusive row lock (SELECT FOR UPDATE and every write)."""
        if oid in self.pending:
            return  # created, truncated or rewritten here: invisible to others
        lk = (oid, key)
        locks = self.db.row_locks
        holder = locks.get(lk)
        if holder is None:
            locks[lk] = self
            self.row_locks.append(lk)
        elif isinstance(holder, SharedLock):
            for other in holder:
                if other is not self:
                    raise LockWait(other)
            locks[lk] = self  # upgrade our own shared lock
        elif holder is not self:
            raise LockWait(holder)
        if self.snapshot is not None and self._reads_committed(oid):
            if self.data(oid).modified_after(key, self.snapshot):
                raise errors.SerializationFailure(
                    "could not serialize access due to concurrent update")

    def lock_row_shared(self, oid: int, key: Any) -> None:
        """Shared row lock (foreign-key checks, SELECT FOR SHARE): blocks
        writers of the row, not other sharers."""
        if oid in self.pending:
            return
        lk = (oid, key)
        locks = self.db.row_locks
        holder = locks.get(lk)
        if holder is None:
            locks[lk] = SharedLock((self,))
            self.row_locks.append(lk)
        elif isinstance(holder, SharedLock):
            if self not in holder:
                holder.add(self)
                self.row_locks.append(lk)
        elif holder is not self:
            raise LockWait(holder)

    def _record(self, oid: int, key: Any, row: tuple | None) -> None:
        w = self.writes.get(oid)
        if w is None:
            w = self.writes[oid] = {}
        self.journal.append(("w", oid, key, w.get(key, _MISSING)))
        w[key] = row

    def insert(self, table: TableDef, row: tuple) -> Any:
        """Insert a row (constraints other than uniqueness already checked)."""
        self._check_writable()
        oid = table.oid
        if oid not in self.touched:
            self._touch(oid)
        td = self.data(oid)
        if td.key_fn is None:
            # a new row id: nobody else can see, lock or insert this row, so no
            # row lock (the next writer of the row in this transaction takes it)
            key = self.db.next_rowid()
        else:
            key = td.key_fn(row)
            self.lock_row(oid, key)
            if self._latest(oid, key) is not None:
                raise self._pk_violation(table, td.key_positions, key)
        self._claim_unique(table, key, None, row)
        self._record(oid, key, row)
        return key

    def _pk_violation(self, table: TableDef, positions: Any, key: Any) -> errors.DatabaseError:
        pk = self.catalog.relations.get(self._pk_index_oid(table))
        name = pk.name if pk is not None else f"{table.name}_pkey"
        return self._unique_violation(table, name, positions, key)

    def _unique_violation(self, table: TableDef, name: str, columns: Any,
                          key: Any) -> errors.DatabaseError:
        """columns: the key's column positions, or its labels (index_labels)."""
        cols = ", ".join(c if isinstance(c, str) else table.columns[c].name for c in columns)
        vals = key if isinstance(key, tuple) else (key,)
        schema = self.catalog.schema_by_oid(table.schema_oid)
        return errors.UniqueViolation(
            f'duplicate key value violates unique constraint "{name}"',
            detail=f"Key ({cols})=({_fmt_key(vals)}) already exists.",
            schema=schema.name if schema else None, table=table.name, constraint=name)

    def update(self, table: TableDef, key: Any, new: tuple) -> Any:
        """Replace the visible row at key. Returns the row's (new) key."""
        self._check_writable()
        oid = table.oid
        td = self.data(oid)
        self.lock_row(oid, key)
        old = self._latest(oid, key)
        if old is None:  # deleted meanwhile (only possible after a retry)
            return None
        if td.key_fn is not None:
            new_key = td.key_fn(new)
            if new_key != key:
                self.lock_row(oid, new_key)
                if self._latest(oid, new_key) is not None:
                    raise self._pk_violation(table, td.key_positions, new_key)
                self._claim_unique(table, key, old, None)
                self._record(oid, key, None)
                self._claim_unique(table, new_key, None, new)
                self._record(oid, new_key, new)
                return new_key
        self._claim_unique(table, key, old, new)
        self._record(oid, key, new)
        return key

    def delete(self, table: TableDef, key: Any) -> bool:
        self._check_writable()
        oid = table.oid
        self.lock_row(oid, key)
        old = self._latest(oid, key)
        if old is None:
            return False
        self._claim_unique(table, key, old, None)
        self._record(oid, key, None)
        return True

    def _latest(self, oid: int, key: Any) -> tuple | None:
        """Newest version (own write, else latest committed) for write checks."""
        w = self.writes.get(oid)
        if w is not None:
            row = w.get(key, _MISSING)
            if row is not _MISSING:
                return row
        return self.data(oid).rows.get(key)

    def _pk_index_oid(self, table: TableDef) -> int:
        for c in self.catalog.constraints_of(table.oid):
            if c.kind == "p":
                return c.index_oid
        return -1

    def _claim_unique(self, table: TableDef, key: Any, old: tuple | None,
                      new: tuple | None) -> None:
        """Keep unique secondary indexes unique across own writes, committed
        rows and other transactions' uncommitted rows (via key locks)."""
        indexes = self.catalog.unique_secondary_indexes(table.oid)
        if not indexes:
            return
        td = self.data(table.oid)
        for idx in indexes:
            built = td.indexes.get(idx.oid)
            if built is not None:
                kf = built.key_fn
            else:
                kf = index_key_fn(table, idx)
            ok = kf(old) if old is not None else _MISSING
            nk = kf(new) if new is not None else _MISSING
            # a row a partial index leaves out claims nothing
            ok = _MISSING if ok is NOT_INDEXED else ok
            nk = _MISSING if nk is NOT_INDEXED else nk
            if ok is not _MISSING and nk is not _MISSING and ok == nk:
                continue
            if ok is not _MISSING and not key_has_null(ok):
                ck = (idx.oid, ok)
                self.journal.append(("c", idx.oid, ok, self.claims.get(ck, _MISSING)))
                self.claims[ck] = None
            if nk is _MISSING or key_has_null(nk):
                continue
            ck = (idx.oid, nk)
            lk = (-idx.oid, nk)
            holder = self.db.row_locks.get(lk)
            if holder is not None and holder is not self:
                raise LockWait(holder)
            owner = self.claims.get(ck, _MISSING)
            if owner is _MISSING:
                if built is not None:
                    owners = [rk for rk in built.lookup(nk)
                              if self._latest(table.oid, rk) is not None
                              and kf(self._latest(table.oid, rk)) == nk]
                else:
                    owners = [rk for rk, r in self.scan_items(table.oid) if kf(r) == nk]
                owner = owners[0] if owners else None
            if owner is not None and owner != key:
                raise self._unique_violation(table, idx.name, index_labels(table, idx), nk)
            if holder is None:
                self.db.row_locks[lk] = self
                self.row_locks.append(lk)
            self.journal.append(("c", idx.oid, nk, self.claims.get(ck, _MISSING)))
            self.claims[ck] = key

    # --- DDL -------------------------------------------------------------------------------
    def begin_ddl(self) -> Catalog:
        """Take the tenant's DDL lock and a private catalog copy to change."""
        self._check_writable()
        owner = self.db.ddl_owner
        if owner is not None and owner is not self:
            raise LockWait(owner)
        if not self.ddl:
            self.db.ddl_owner = self
            self.catalog = self.db.catalog.copy()
            self.catalog.version = self.db.new_catalog_version()
            self.ddl = True
        else:
            # a fresh version per DDL statement, so cached plans never see stale defs
            self.catalog.version = self.db.new_catalog_version()
        return self.catalog

    def lock_table_exclusive(self, oid: int) -> None:
        """ACCESS EXCLUSIVE: wait until no other transaction uses the table."""
        if oid in self.exclusive_tables:
            return
        holder = self.db.exclusive_locks.get(oid)
        if holder is not None and holder is not self:
            raise LockWait(holder)
        for other in self.db.table_users.get(oid, ()):
            if other is not self and other.state == "active":
                raise LockWait(other)
        self.db.exclusive_locks[oid] = self
        self.exclusive_tables.add(oid)
        self.touched.add(oid)
        self.db.table_users.setdefault(oid, set()).add(self)

    def create_table_data(self, table: TableDef) -> None:
        td = TableData(table, self.catalog.indexes_of(table.oid))
        self.pending[table.oid] = (td, "new")
        self.touched.add(table.oid)

    def replace_table_data(self, oid: int, td: TableData, reason: str) -> None:
        """Swap in rebuilt data (TRUNCATE, table rewrite). Own earlier writes
        are dropped: the caller already folded them into td (or truncated)."""
        prev = self.pending.get(oid)
        if prev is not None and prev[1] == "new":
            reason = "new" if reason == "truncated" else "rewritten"
        self.journal.append(("W", oid, self.writes.pop(oid, None)))
        self.pending[oid] = (td, reason)

    # --- savepoints and statement rollback -----------------------------------------------------
    def mark(self) -> int:
        return len(self.journal)

    def rollback_to_mark(self, mark: int) -> None:
        journal = self.journal
        while len(journal) > mark:
            entry = journal.pop()
            kind = entry[0]
            if kind == "w":
                _, oid, key, prev = entry
                w = self.writes[oid]
                if prev is _MISSING:
                    del w[key]
                    if not w:
                        del self.writes[oid]
                else:
                    w[key] = prev
            elif kind == "c":
                _, idx_oid, ikey, prev = entry
                if prev is _MISSING:
                    self.claims.pop((idx_oid, ikey), None)
                else:
                    self.claims[(idx_oid, ikey)] = prev
            elif kind == "W":
                _, oid, prev_w = entry
                if prev_w is None:
                    self.writes.pop(oid, None)
                else:
                    self.writes[oid] = prev_w

    def savepoint(self, name: str) -> None:
        self.savepoints.append(Savepoint(name, self))

    def _find_savepoint(self, name: str) -> int:
        for i in range(len(self.savepoints) - 1, -1, -1):
            if self.savepoints[i].name == name:
                return i
        raise errors.InvalidSavepointSpecification(f'savepoint "{name}" does not exist')

    def rollback_to_savepoint(self, name: str) -> None:
        i = self._find_savepoint(name)
        sp = self.savepoints[i]
        del self.savepoints[i + 1:]
        self.rollback_to_mark(sp.journal_len)
        self.catalog = sp.catalog
        self.pending = dict(sp.pending)
        if not sp.ddl and self.ddl:
            self.ddl = False
            if self.db.ddl_owner is self:
                self.db.ddl_owner = None

    def release_savepoint(self, name: str) -> None:
        i = self._find_savepoint(name)
        del self.savepoints[i:]

    # --- end ----------------------------------------------------------------------------------
    def done_future(self) -> asyncio.Future:
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            if self.state != "active":
                self._done.set_result(self.state)
        return self._done

    async def wait_for(self, holder: Transaction) -> None:
        """Wait until `holder` ends; 40P01 if that would close a cycle."""
        t: Transaction | None = holder
        while t is not None:
            if t is self:
                raise errors.DeadlockDetected(
                    "deadlock detected",
                    detail=f"Process waiting for transaction {holder.xid} which waits "
                           f"for this transaction ({self.xid}).",
                    hint="See server log for query details.")
            t = t.waiting_for
        self.waiting_for = holder
        try:
            # shielded: a waiter cancelled by lock_timeout or a cancel request
            # must not cancel the holder's future that other waiters share
            await asyncio.shield(holder.done_future())
        finally:
            self.waiting_for = None

    async def commit(self) -> None:
        """Make the transaction durable, then visible. Raises if it could not
        be made durable; then nothing of it is applied."""
        pending = self.commit_start()
        if pending is not None:
            await wait_uncancellable(pending[1])
            self.commit_finish(pending)

    def commit_start(self) -> tuple[ChangeSet, asyncio.Future] | None:
        """commit() without awaiting: None when the transaction is ended; else
        its pending flush: wait until pending[1] is done, then
        commit_finish(pending)."""
        if self.state != "active":
            return None
        if self.isolation == SERIALIZABLE and self.has_writes and self.snapshot is not None:
            for oid in self.read_tables:
                td = self.db.tables.get(oid)
                if td is not None and td.last_commit_seq > self.snapshot:
                    self.rollback()
                    raise errors.SerializationFailure(
                        "could not serialize access due to read/write dependencies "
                        "among transactions",
                        detail="Reason code: Canceled on identification as a pivot, "
                               "during commit attempt.",
                        hint="The transaction might succeed if retried.")
        pending = None
        try:
            if self.has_writes:
                pending = self.db.commit_start(self)
        except BaseException:
            self._finish("aborted")
            raise
        if pending is None:
            self._finish("committed")
        return pending

    def commit_finish(self, pending: tuple[ChangeSet, asyncio.Future]) -> None:
        try:
            self.db.commit_finish(self, *pending)
        except BaseException:
            self._finish("aborted")
            raise
        self._finish("committed")

    def rollback(self) -> None:
        if self.state != "active":
            return
        self.db.discard_transaction(self)
        self._finish("aborted")

    def _finish(self, state: str) -> None:
        self.state = state
        db = self.db
        locks = db.row_locks
        for lk in self.row_locks:
            h = locks.get(lk)
            if h is self:
                del locks[lk]
            elif isinstance(h, SharedLock):
                h.discard(self)
                if not h:
                    del locks[lk]
        self.row_locks.clear()
        for oid in self.exclusive_tables:
            if db.exclusive_locks.get(oid) is self:
                del db.exclusive_locks[oid]
        for oid in self.touched:
            users = db.table_users.get(oid)
            if users is not None:
                users.discard(self)
                if not users:
                    del db.table_users[oid]
        if db.ddl_owner is self:
            db.ddl_owner = None
        if db.exported:
            db.release_exports(self)
        if self in db.snapshots:
            del db.snapshots[self]
            db.prune_versions()
        if self._done is not None and not self._done.done():
            self._done.set_result(state)
        db.active.pop(self.xid, None)


class AutocommitReader(Transaction):
    """Reads of a single read-only statement outside a transaction block
    (READ COMMITTED, latest committed state). One per tenant, shared: a
    statement runs without yielding to the event loop, so nothing can commit
    or take a table lock while it reads, and there is nothing to register,
    commit or release afterwards."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, 0, READ_COMMITTED, read_only=True)

    def _touch(self, oid: int) -> None:
        holder = self.db.exclusive_locks.get(oid)
        if holder is not None:
            raise LockWait(holder)

    def begin_statement(self) -> None:
        self.catalog = self.db.catalog

    async def commit(self) -> None:  # pragma: no cover - never used as a transaction
        raise RuntimeError("the autocommit reader cannot commit")




async def wait_uncancellable(fut: asyncio.Future) -> None:
    """Wait until a commit's flush is done (its outcome is left in fut). Once
    appended the record may become durable whatever happens, so the commit
    must finish (and be applied) even if the session is cancelled meanwhile;
    the cancellation is delivered after."""
    if fut.done():
        return
    if asyncio.current_task() is None:
        # driven by the connection's runner, which never throws a
        # cancellation in: no shield (and its extra future) is needed
        try:
            await fut
        except Exception:  # noqa: BLE001 - the outcome stays in fut
            pass
        return
    cancelled = False
    while not fut.done():
        try:
            await asyncio.shield(fut)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:  # noqa: BLE001 - the outcome stays in fut
            pass
    if cancelled:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
            asyncio.get_running_loop().call_soon(task.cancel)
