"""DurableRegistry end to end on the in-memory file system: tenants, DDL,
sequences, checkpoints racing commits, quarantine, read-only on failure."""

from __future__ import annotations

import asyncio
import errno
import os
import threading

import pytest
from helpers_recovery import (
    DATA,
    add_index,
    create_table,
    insert_rows,
    open_registry,
    reopen,
    rows_of,
    state,
    table,
)

from aiondb import errors
from aiondb import types as T
from aiondb.recovery.fakefs import FaultyFS, MemoryFS
from aiondb.recovery.walformat import list_segments
from aiondb.storage.catalog import PUBLIC_OID, ColumnDef, SequenceDef, replace

WAL0 = f"{DATA}/tenants/16384/wal"


def test_tenants_survive_restart_and_drop_is_permanent() -> None:
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs)
        for name in ("acme", "globex"):
            db = await reg.create(name)
            txn = db.begin()
            create_table(txn, "t")
            await txn.commit()
            await insert_rows(db, "t", [(1, name)])
        with pytest.raises(errors.DuplicateDatabase):
            await reg.create("acme")
        await reg.drop("globex")
        await reg.close()

    asyncio.run(go())
    reg = reopen(fs)
    assert reg.names() == ["acme", "postgres"]
    assert rows_of(reg.get("acme"), "t") == {1: (1, "acme")}
    with pytest.raises(errors.InvalidCatalogName):
        reg.get("globex")
    assert not any("16386" in p for p in fs.files)


def test_ddl_sequences_rowids_and_rewrites_recover() -> None:
    fs = MemoryFS()

    async def go() -> dict:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        t = create_table(txn, "t")
        nopk = create_table(txn, "log", (("msg", T.TEXT),), pk=False)
        cat = txn.begin_ddl()
        seq = SequenceDef(cat.allocate_oid(), "s", PUBLIC_OID)
        cat.add_relation(seq)
        await txn.commit()
        txn = db.begin()
        add_index(txn, t, 2, unique=True)
        await txn.commit()
        txn = db.begin()
        for _ in range(3):
            txn.insert(table(db, "t"), (db.nextval(txn, seq), f"v{_}"))
        txn.insert(table(db, "log"), ("hello",))
        txn.insert(table(db, "log"), ("world",))
        await txn.commit()
        await reg.checkpoint()
        # ALTER TABLE ... ADD COLUMN: catalog change plus a rewritten image
        txn = db.begin()
        cat = txn.begin_ddl()
        old = cat.table(t.oid)
        new = replace(old, columns=old.columns + (ColumnDef("n", T.INT4, 3),), next_attnum=4)
        cat.replace_relation(new)
        td = txn.data(t.oid).copy_empty()
        td.load((k, r + (len(r[1]),)) for k, r in txn.data(t.oid).rows.items())
        txn.replace_table_data(t.oid, td, "rewritten")
        await txn.commit()
        txn = db.begin()
        txn.delete(table(db, "t"), 2)
        txn.update(table(db, "t"), 3, (3, "changed", 7))
        txn.replace_table_data(nopk.oid, txn.data(nopk.oid).copy_empty(), "truncated")
        txn.insert(table(db, "log"), ("after truncate",))
        db.nextval(txn, seq)
        await txn.commit()
        txn = db.begin()
        create_table(txn, "gone")
        await txn.commit()
        txn = db.begin()
        txn.begin_ddl().drop_relation(table(db, "gone").oid)
        await txn.commit()
        st = state(db)
        await reg.close()
        return st

    before = asyncio.run(go())
    reg = reopen(fs)
    db = reg.get("postgres")
    assert state(db) == before
    assert rows_of(db, "t") == {1: (1, "v0", 2), 3: (3, "changed", 7)}
    assert list(rows_of(db, "log").values()) == [("after truncate",)]
    assert list(db.seq_values.values()) == [[4, True]]
    # row ids and xids continue above the recovered ones
    txn = db.begin()
    key = txn.insert(table(db, "log"), ("next",))
    assert key not in rows_of(db, "log") and key > max(rows_of(db, "log"))


def test_async_commit_is_durable_after_close() -> None:
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        await insert_rows(db, "t", [(1, "a")], sync=False)
        assert rows_of(db, "t") == {1: (1, "a")}  # visible at once
        await reg.close()

    asyncio.run(go())
    assert rows_of(reopen(fs).get("postgres"), "t") == {1: (1, "a")}


def test_checkpoint_lsn_excludes_flushed_but_unapplied_commits() -> None:
    # a commit appended (and flushed) but not yet applied in memory when the
    # checkpoint copies the state must still be replayed after recovery
    fs = MemoryFS()

    async def go() -> dict:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        task = asyncio.get_running_loop().create_task(insert_rows(db, "t", [(1, "racing")]))
        await asyncio.sleep(0)  # the commit is appended, waiting for its flush
        assert rows_of(db, "t") == {}
        await reg.checkpoint()
        await task
        st = state(db)
        await reg.close()
        return st

    before = asyncio.run(go())
    assert rows_of(reopen(fs).get("postgres"), "t") == {1: (1, "racing")}
    assert state(reopen(fs).get("postgres")) == before


class _BlockingFS(MemoryFS):
    """Blocks the checkpoint's image writes until released."""

    def __init__(self) -> None:
        super().__init__()
        self.block = threading.Event()
        self.entered = threading.Event()
        self.armed = False

    def open(self, path, mode):
        if self.armed and path.endswith(".img") and mode == "x":
            self.entered.set()
            assert self.block.wait(10)
        return super().open(path, mode)


def test_checkpoint_does_not_stop_other_sessions() -> None:
    fs = _BlockingFS()

    async def go() -> None:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        fs.armed = True
        ck = asyncio.get_running_loop().create_task(reg.checkpoint())
        while not fs.entered.is_set():
            await asyncio.sleep(0.001)
        for i in range(20):  # commits and reads proceed while the checkpoint is stuck
            await insert_rows(db, "t", [(i, "during")])
        assert len(rows_of(db, "t")) == 20 and not ck.done()
        fs.block.set()
        await ck
        await reg.close()

    asyncio.run(go())
    assert len(rows_of(reopen(fs).get("postgres"), "t")) == 20


def test_mid_log_corruption_quarantines_only_that_tenant() -> None:
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs)
        acme = await reg.create("acme")
        for db in (reg.get("postgres"), acme):
            txn = db.begin()
            create_table(txn, "t")
            await txn.commit()
            for i in range(5):
                await insert_rows(db, "t", [(i, "x" * 40)])
        await reg.close()

    asyncio.run(go())
    seg = list_segments(fs, WAL0)[0].path
    f = fs.open(seg, "rw")
    f.pwrite(b"\xde\xad", 700)  # inside an early record, later ones intact
    msgs: list[str] = []
    reg = reopen(fs, progress=msgs.append)
    assert rows_of(reg.get("acme"), "t")  # the other tenant starts
    with pytest.raises(errors.CannotConnectNow, match="offset") as ei:
        reg.get("postgres")
    assert os.path.basename(seg) in str(ei.value)
    assert not fs.exists(seg)
    assert any("quarantine" in p for p in fs.files)
    reg2 = reopen(fs)  # still refused on the next start
    assert "postgres" in reg2.unavailable


def test_torn_tail_is_cut_and_reported() -> None:
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        await insert_rows(db, "t", [(1, "kept")])
        await insert_rows(db, "t", [(2, "torn" * 50)])
        await reg.close()

    asyncio.run(go())
    seg = list_segments(fs, WAL0)[0].path
    data = fs.read_file(seg).rstrip(b"\0")
    f = fs.open(seg, "rw")
    f.pwrite(bytes(60), len(data) - 60)  # the last record lost its end
    msgs: list[str] = []
    reg = reopen(fs, progress=msgs.append)
    assert rows_of(reg.get("postgres"), "t") == {1: (1, "kept")}
    assert reg.reports["postgres"].discarded_records == 1
    assert any("torn WAL tail" in m for m in msgs)


@pytest.mark.parametrize("undo_fails", [False, True])
def test_failed_commit_is_an_error_never_a_success(undo_fails) -> None:
    mem = MemoryFS()
    fs = FaultyFS(mem)

    async def go() -> None:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        fs.fail_after(1, errno.EIO, only=".wal", persistent=undo_fails)
        with pytest.raises(errors.IoError):
            await insert_rows(db, "t", [(1, "failed")])
        assert rows_of(db, "t") == {}
        fs.heal()
        if undo_fails:
            assert db.read_only_reason is not None
            with pytest.raises(errors.ReadOnlySqlTransaction):
                await insert_rows(db, "t", [(2, "more")])
        else:
            await insert_rows(db, "t", [(2, "more")])
        await reg.close()

    asyncio.run(go())
    got = rows_of(reopen(mem).get("postgres"), "t")
    assert 1 not in got or undo_fails  # unknown outcome only when the undo failed


def test_checkpoint_failure_keeps_previous_state() -> None:
    mem = MemoryFS()
    fs = FaultyFS(mem)

    async def go() -> None:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        await insert_rows(db, "t", [(1, "a")])
        fs.fail_writes(errno.ENOSPC, only="checkpoints")
        with pytest.raises(errors.DiskFull, match="intact"):
            await reg.checkpoint()
        fs.heal()
        await insert_rows(db, "t", [(2, "b")])
        await reg.close()

    asyncio.run(go())
    assert rows_of(reopen(mem).get("postgres"), "t") == {1: (1, "a"), 2: (2, "b")}


def test_second_server_on_same_directory_is_refused() -> None:
    fs = MemoryFS()
    asyncio.run(open_registry(fs))  # never closed: still holds the lock
    with pytest.raises(errors.DatabaseError, match="in use"):
        asyncio.run(open_registry(fs))


def test_leftover_temp_files_are_swept_at_start() -> None:
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs)
        await reg.close()

    asyncio.run(go())
    ck = f"{DATA}/tenants/16384/checkpoints/ckpt-00000000000000FF.tmp"
    fs.makedirs(ck)
    fs.open(ck + "/t1.img", "w").write(b"partial")
    fs.open(f"{DATA}/cluster.tmp", "w").write(b"{")
    msgs: list[str] = []
    reopen(fs, progress=msgs.append)
    assert not fs.exists(ck) and not fs.exists(f"{DATA}/cluster.tmp")
    assert sum("leftover temporary" in m for m in msgs) == 2


def test_wal_volume_triggers_a_checkpoint_and_old_segments_go() -> None:
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs, max_wal_size=64 * 1024)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        for i in range(300):
            await insert_rows(db, "t", [(i, "x" * 500)])
        await asyncio.sleep(0.05)
        store = reg.stores["postgres"]
        if store._ckpt_task is not None:
            await store._ckpt_task
        assert store.checkpoint_lsn > 0
        await reg.close()

    asyncio.run(go())
    segs = list_segments(fs, WAL0)
    assert segs[0].start > 0  # the oldest segments were removed
    assert len(rows_of(reopen(fs).get("postgres"), "t")) == 300


def test_cancelled_session_still_completes_a_commit_already_in_the_log() -> None:
    # once appended, the record may be durable: the commit must finish (and be
    # applied) even if the session is cancelled while waiting for the flush
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        task = asyncio.get_running_loop().create_task(insert_rows(db, "t", [(1, "x")]))
        await asyncio.sleep(0)  # appended, waiting for the flush
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert rows_of(db, "t") == {1: (1, "x")}
        await reg.close()

    asyncio.run(go())
    assert rows_of(reopen(fs).get("postgres"), "t") == {1: (1, "x")}


def test_checkpoint_timer() -> None:
    fs = MemoryFS()

    async def go() -> None:
        reg = await open_registry(fs, checkpoint_interval=0.01)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        await insert_rows(db, "t", [(1, "a")])
        store = reg.stores["postgres"]
        for _ in range(500):
            if store.checkpoint_lsn == store.position()[0]:
                break
            await asyncio.sleep(0.01)
        assert store.checkpoint_lsn == store.position()[0]
        await reg.close()

    asyncio.run(go())
    assert reopen(fs).reports["postgres"].checkpoint_rows == 1


def test_a_transaction_too_large_for_one_record_is_refused_cleanly(monkeypatch) -> None:
    """A commit whose WAL record would pass the format's size limit fails with
    54000 (program_limit_exceeded) and changes nothing; the tenant goes on."""
    from aiondb.recovery import wal

    monkeypatch.setattr(wal, "MAX_RECORD_LEN", 4096)
    mem = MemoryFS()

    async def go() -> None:
        reg = await open_registry(mem)
        db = reg.get("postgres")
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
        with pytest.raises(errors.ProgramLimitExceeded, match="too large to commit"):
            await insert_rows(db, "t", [(i, "x" * 100) for i in range(100)])
        assert rows_of(db, "t") == {}
        await insert_rows(db, "t", [(1, "small")])
        await reg.close()

    asyncio.run(go())
    assert rows_of(reopen(mem).get("postgres"), "t") == {1: (1, "small")}
