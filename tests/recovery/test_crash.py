"""Crash and I/O-error testing in SQLite's manner, on the in-memory fs.

- Power cut after N file operations, then a crash that keeps a random subset
  of the unsynced writes (torn at sector granularity): after recovery every
  acknowledged commit is present and every transaction is all-or-nothing.
- I/O error injection: the N-th operation fails (once, or from then on), N
  advancing until the workload runs clean; the same integrity check follows.
"""

from __future__ import annotations

import asyncio
import errno
import random

import pytest
from helpers_recovery import create_table, open_registry, reopen, rows_of, state, table

from aiondb import errors
from aiondb.recovery.fakefs import FaultyFS, MemoryFS

SMALL = {"wal_segment_size": 2048}  # many segment switches and pre-creations


async def prepare(fs) -> None:
    reg = await open_registry(fs, **SMALL)
    txn = reg.get("postgres").begin()
    create_table(txn, "t")
    await txn.commit()
    await reg.close()


async def workload(fs, seed: int, arm, txns: int = 24, sessions: int = 4
                   ) -> tuple[set[int], dict[int, int]]:
    """Concurrent sessions commit numbered transactions of 1-3 rows; some
    sessions checkpoint. Returns (acknowledged ids, rows per id); ids told
    "not committed" get a size of -1 (they must never appear)."""
    rng = random.Random(seed)
    reg = await open_registry(fs, **SMALL)
    db = reg.get("postgres")
    acked: set[int] = set()
    sizes: dict[int, int] = {}
    arm()

    async def session(sid: int) -> None:
        for j in range(txns // sessions):
            tid = sid * 100 + j
            sizes[tid] = rng.randint(1, 3)
            try:
                txn = db.begin()
                t = table(db, "t")
                for i in range(sizes[tid]):
                    txn.insert(t, (tid * 10 + i, "x" * rng.randint(1, 300)))
                try:
                    await txn.commit()
                except errors.DatabaseError as exc:
                    if "not committed" in str(exc):
                        sizes[tid] = -1
                    raise
                acked.add(tid)
                if rng.random() < 0.15:
                    await reg.checkpoint("postgres")
            except errors.DatabaseError:
                pass
            await asyncio.sleep(0)

    await asyncio.gather(*(session(s) for s in range(sessions)))
    return acked, sizes


def check(fs, acked: set[int], sizes: dict[int, int]) -> None:
    db = reopen(fs, **SMALL).get("postgres")
    state(db)  # indexes agree with rows
    by_tid: dict[int, int] = {}
    for key in rows_of(db, "t"):
        by_tid[key // 10] = by_tid.get(key // 10, 0) + 1
    for tid in acked:
        assert by_tid.get(tid) == sizes[tid], f"acknowledged transaction {tid} lost"
    for tid, n in by_tid.items():
        assert sizes[tid] != -1, f"transaction {tid} was reported failed but is present"
        assert n == sizes[tid], f"transaction {tid} is half-visible"


def count_ops(seed: int, **kw) -> int:
    mem = MemoryFS()
    asyncio.run(prepare(mem))
    fs = FaultyFS(mem)
    acked, _ = asyncio.run(workload(fs, seed, lambda: fs.fail_after(10 ** 9), **kw))
    assert len(acked) == kw.get("txns", 24) // kw.get("sessions", 4) * kw.get("sessions", 4)
    return fs.ops


@pytest.mark.parametrize("seed", range(24))
def test_power_cut_drops_unsynced_writes(seed: int) -> None:
    # somewhere inside the workload (whose length varies a little with thread timing)
    cut = random.Random(seed).randrange(count_ops(seed) * 4 // 10)
    mem = MemoryFS()
    asyncio.run(prepare(mem))
    fs = FaultyFS(mem)
    acked, sizes = asyncio.run(workload(fs, seed, lambda: fs.fail_after(cut)))
    assert fs.failures > 0
    mem.crash(random.Random(seed))
    check(mem, acked, sizes)


@pytest.mark.parametrize("persistent", [False, True], ids=["transient", "persistent"])
@pytest.mark.parametrize("err", [errno.EIO, errno.ENOSPC])
def test_io_error_at_every_operation(persistent: bool, err: int) -> None:
    # one session: the same operations in the same order each time, so N walks
    # through every one of them
    seed = 3
    total = count_ops(seed, txns=12, sessions=1)
    assert total > 20
    injected = 0
    for n in range(total):
        mem = MemoryFS()
        asyncio.run(prepare(mem))
        fs = FaultyFS(mem)
        acked, sizes = asyncio.run(
            workload(fs, seed, lambda n=n, fs=fs: fs.fail_after(n, err, persistent=persistent),
                     txns=12, sessions=1))
        # segment pre-creation runs in a thread, so a run may take a few
        # operations fewer than the counting run and end before the N-th
        injected += fs.failures > 0
        mem.crash()  # whatever was not synced is gone
        check(mem, acked, sizes)
    assert injected >= total - 5
