"""storage/single_commit.py: a one-row INSERT committed in one step must be
indistinguishable from Transaction.insert + commit (same WAL bytes, same
state after recovery, same visibility and locking), and must hand every
case it does not take back untouched."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

import pytest
from helpers_recovery import add_index, create_table, open_registry, reopen, rows_of, table

from aiondb import errors
from aiondb.recovery.fakefs import FaultyFS, MemoryFS
from aiondb.storage import payloads, single_commit
from aiondb.storage.catalog import TableDef
from aiondb.storage.database import ChangeSet, Database
from aiondb.storage.txn import REPEATABLE_READ


def test_record_is_the_one_the_general_path_writes() -> None:
    # rows of one table in turn: the encoder kept from the last row must
    # notice a new shape (a NULL, a big int, a long string, another type)
    rows = [(7, "seven"), (8, "eight"), (9, None), (2**70, "big"), (10, "x" * 300),
            (11, 1.5), (12, "twelve")]
    for row in rows:
        general = payloads.encode_commit(ChangeSet(writes={1234: {row[0]: row}}))
        assert payloads.encode_single_write(1234, row[0], row) == general, row


def test_commits_and_applies_at_once_without_durability() -> None:
    db = Database("x", 1)

    async def go() -> None:
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        t = table(db, "t")
        ins = db.begin()
        assert single_commit.start(ins, t, (1, "a")) is True
        assert ins.state == "committed"
        assert rows_of(db, "t") == {1: (1, "a")}
        # nothing left behind: no lock, no table user, not active
        assert not db.row_locks and not db.table_users and ins.xid not in db.active

    asyncio.run(go())


def test_hands_back_what_it_does_not_take() -> None:
    db = Database("x", 1)

    async def go() -> None:
        txn = db.begin()
        t = create_table(txn, "t")
        u = create_table(txn, "u")
        add_index(txn, u, 2, unique=True)
        await txn.commit()
        t, u = table(db, "t"), table(db, "u")
        seen = db.begin()
        seen.insert(t, (1, "committed"))
        await seen.commit()
        holder = db.begin()
        holder.insert(t, (2, "uncommitted"))
        cases = [
            (t, (1, "duplicate key")),          # reported by the general path
            (t, (2, "key held by another")),    # waited for by the general path
            (u, (3, "x")),                      # a unique secondary index to claim
        ]
        for rel, row in cases:
            txn = db.begin()
            assert single_commit.start(txn, rel, row) is False
            assert txn.state == "active" and not txn.writes and not txn.row_locks
            txn.rollback()
        holder.rollback()
        locker = db.begin()
        locker.lock_table_exclusive(t.oid)
        txn = db.begin()
        assert single_commit.start(txn, t, (9, "table locked")) is False
        txn.rollback()
        locker.rollback()
        assert rows_of(db, "t") == {1: (1, "committed")}

    asyncio.run(go())


async def _registry_with_table(fs: Any) -> tuple[Any, Database, TableDef]:
    """A durable tenant with an empty table t (id int8 primary key, v text)."""
    reg = await open_registry(fs)
    db = reg.get("postgres")
    txn = db.begin()
    create_table(txn, "t")
    await txn.commit()
    return reg, db, table(db, "t")


def test_durable_commit_waits_for_its_flush_and_recovers() -> None:
    mem = MemoryFS()

    async def go() -> None:
        reg, db, t = await _registry_with_table(mem)
        reader = db.begin(REPEATABLE_READ)
        reader.begin_statement()            # its snapshot: before the insert
        ins = db.begin()
        pending = single_commit.start(ins, t, (1, "a"))
        assert isinstance(pending, single_commit.SingleInsertCommit)
        # not visible before it is durable, and its key is locked
        assert rows_of(db, "t") == {}
        assert db.row_locks[(t.oid, 1)] is ins
        await pending
        pending.finish()
        assert rows_of(db, "t") == {1: (1, "a")}
        assert reader.get(t.oid, 1) is None     # the old snapshot keeps its view
        reader.rollback()
        assert not db.row_locks and ins.xid not in db.active
        await reg.close()

    asyncio.run(go())
    assert rows_of(reopen(mem).get("postgres"), "t") == {1: (1, "a")}


def test_failed_flush_is_an_error_and_applies_nothing() -> None:
    mem = MemoryFS()
    fs = FaultyFS(mem)

    async def go() -> None:
        reg, db, t = await _registry_with_table(fs)
        fs.fail_after(1, errno.EIO, only=".wal", persistent=False)
        ins = db.begin()
        pending = single_commit.start(ins, t, (1, "lost"))
        assert isinstance(pending, single_commit.SingleInsertCommit)
        await pending
        with pytest.raises(errors.IoError):
            pending.finish()
        assert ins.state == "aborted"
        assert rows_of(db, "t") == {} and not db.row_locks and not db.table_users
        fs.heal()
        again = db.begin()
        pending = single_commit.start(again, t, (1, "kept"))
        assert not isinstance(pending, bool)
        await pending
        pending.finish()
        await reg.close()

    asyncio.run(go())
    assert rows_of(reopen(mem).get("postgres"), "t") == {1: (1, "kept")}
