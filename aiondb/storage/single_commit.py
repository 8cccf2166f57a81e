"""A one-row INSERT that is its transaction's only write, committed in one
step (the commonest write: an autocommit INSERT of one row, as pgbench and
applications send it).

Transaction.insert followed by Transaction.commit does the same with the
general machinery: an undo journal, a write set, a change set built for the
WAL record and again to apply it, and five layers of commit calls. Here the
row goes straight from the checks to the WAL record and, once durable, into
the table. The checks are the general path's (table lock, row lock, key
taken), and anything they would have to wait for or report (a lock held by
another transaction, a duplicate key, a unique secondary index to claim)
makes start() return False with nothing done: the general path then runs
the statement and waits or reports exactly as before.

The WAL record is the one Transaction.commit writes for the same row
(payloads.encode_single_write), and the row is applied with the same
TableData.apply (Database.apply_insert), so recovery and the general path
cannot tell the two apart.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Generator
from typing import Any

from aiondb.storage import payloads
from aiondb.storage.catalog import TableDef
from aiondb.storage.txn import Transaction


class PendingCommit:
    """A commit whose WAL flush is under way: await it, then finish(),
    which applies it or raises the flush's error."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError


class TxnCommit(PendingCommit):
    """Transaction.commit_start's pending commit."""

    __slots__ = ("txn", "pending", "flush")

    def __init__(self, txn: Transaction, pending: tuple[Any, asyncio.Future]) -> None:
        self.txn = txn
        self.pending = pending
        self.flush = pending[1]

    def __await__(self) -> Generator[Any, None, None]:
        return self.flush.__await__()

    def finish(self) -> None:
        self.txn.commit_finish(self.pending)


class SingleInsertCommit(PendingCommit):
    """Waits without a future: the WAL calls flushed() as soon as the
    flush's outcome is known, which applies the row (or ends the
    transaction as aborted) there and then and resumes whoever awaits.
    Awaitable the way asyncio tasks and the server's runner await futures
    (it yields itself; add_done_callback), with none of a future's
    scheduling: the commit path's commonest wait, so its cheapest."""

    __slots__ = ("txn", "oid", "key", "row", "done", "error", "_callback",
                 "_asyncio_future_blocking")

    def __init__(self, txn: Transaction, oid: int, key: Any, row: tuple) -> None:
        self.txn = txn
        self.oid = oid
        self.key = key
        self.row = row
        self.done = False
        self.error: BaseException | None = None
        self._callback: Any = None
        self._asyncio_future_blocking = False

    def flushed(self, error: BaseException | None) -> None:
        txn = self.txn
        db = txn.db
        db.durability.log_write_end(self)  # type: ignore[union-attr]
        if error is None:
            db.apply_insert(self.oid, self.key, self.row)
            txn._finish("committed")
        else:
            self.error = error
            txn._finish("aborted")
        self.done = True
        cb = self._callback
        if cb is not None:
            self._callback = None
            cb(self)

    def add_done_callback(self, cb: Any, *, context: Any = None) -> None:
        if context is not None:
            cb = functools.partial(context.run, cb)
        if self.done:
            asyncio.get_running_loop().call_soon(cb, self)
        else:
            self._callback = cb

    def get_loop(self) -> asyncio.AbstractEventLoop:   # (asyncio tasks ask)
        return asyncio.get_running_loop()

    def result(self) -> None:
        """(asyncio tasks call it on wake-up; finish() reports the outcome)"""

    def __await__(self) -> Generator[Any, None, None]:
        if not self.done:
            self._asyncio_future_blocking = True
            yield self

    def finish(self) -> None:
        if not self.done:
            raise RuntimeError("the commit's flush is not done")
        if self.error is not None:
            raise self.error


def start(txn: Transaction, table: TableDef, row: tuple) -> SingleInsertCommit | bool:
    """Insert `row` as the only write of `txn` (a new READ COMMITTED
    transaction with nothing done yet) and start its commit. False: nothing
    done, use the general path. True: committed and applied (nothing to wait
    for). Else the pending commit. Raises, with txn aborted, if the commit
    record cannot be written."""
    db = txn.db
    oid = table.oid
    if db.read_only_reason is not None or txn.read_only or txn.state != "active" or \
            txn.writes or txn.pending or txn.ddl or txn.sequences:
        return False
    td = db.tables.get(oid)
    key_fn = td.key_fn if td is not None else None
    if key_fn is None or td.definition is not table or db.exclusive_locks.get(oid) is not None \
            or td.indexes and txn.catalog.unique_secondary_indexes(oid):
        return False    # (no secondary index at all: no unique one to claim)
    key = key_fn(row)
    lk = (oid, key)
    locks = db.row_locks
    if lk in locks or key in td.rows:
        return False
    # the general path's bookkeeping: DDL on the table waits for this
    # transaction, and so does a writer of the same key, until it ends
    txn.queried = True
    txn._touch(oid)
    locks[lk] = txn
    txn.row_locks.append(lk)
    dur = db.durability
    if dur is not None:
        sync = txn.synchronous_commit
        pc = SingleInsertCommit(txn, oid, key, row) if sync else None
        try:
            dur.log_write_start(txn.xid, payloads.encode_single_write(oid, key, row), sync, pc)
        except BaseException:
            txn._finish("aborted")
            raise
        if pc is not None:
            return pc
    db.apply_insert(oid, key, row)
    txn._finish("committed")
    return True

