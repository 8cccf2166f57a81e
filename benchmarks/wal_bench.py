"""Durability benchmarks (run by hand; figures go to docs/performance.md).

    python benchmarks/wal_bench.py [--dir /path/on/the/disk/to/measure]
                                   [--seconds 3] [--wal-mb 64] [--rows 500000]

1. WAL commit throughput: WalWriter alone (no SQL, no network), 100-byte
   payloads, AES-256-GCM sealing, fdatasync on, 1/8/32 concurrent writers
   (asyncio tasks), both flush modes ("inline": fdatasync in the event loop;
   "thread": a flusher thread).
2. Recovery time: a WAL of single-row INSERT commit records (5 columns) is
   written, then a DurableRegistry is opened on it and times the replay.
   The WAL is --wal-mb large and the figure is extrapolated to 1 GB.
3. Checkpoint time: a table of --rows rows (5 columns) is checkpointed and
   then loaded back; extrapolated to 1 GB of image files.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from aiondb import types as T  # noqa: E402
from aiondb.config import Settings  # noqa: E402
from aiondb.recovery.crypto import Sealer  # noqa: E402
from aiondb.recovery.fs import OsFS  # noqa: E402
from aiondb.recovery.wal import COMMIT, WalWriter  # noqa: E402
from aiondb.storage.catalog import PUBLIC_OID, ColumnDef, IndexDef, TableDef  # noqa: E402
from aiondb.storage.durable import DurableRegistry  # noqa: E402

KEY = "42" * 32
GB = 1024 ** 3


def bench_commits(root: str, writers: int, mode: str, seconds: float) -> tuple[float, float]:
    waldir = os.path.join(root, f"wal-{mode}-{writers}")
    os.makedirs(waldir)

    async def run() -> tuple[float, float]:
        w = WalWriter(OsFS(), waldir, 1, "bench", Sealer(os.urandom(32)), 16 << 20,
                      flush_mode=mode)
        w.open(64, 0)
        payload = os.urandom(100)
        stop = time.perf_counter() + seconds
        count = 0

        async def writer() -> None:
            nonlocal count
            while time.perf_counter() < stop:
                _lsn, _prev, fut = w.append(COMMIT, 1, payload)
                await fut
                count += 1

        t0 = time.perf_counter()
        flushes0 = w.flushes
        await asyncio.gather(*(writer() for _ in range(writers)))
        elapsed = time.perf_counter() - t0
        rate, per_flush = count / elapsed, count / max(1, w.flushes - flushes0)
        w.close()
        return rate, per_flush

    return asyncio.run(run())


def settings(path: str) -> Settings:
    return Settings(data_dir=path, master_key=KEY, checkpoint_interval=0.0, max_wal_size=1 << 40)


def make_table(db, name: str) -> TableDef:
    txn = db.begin()
    cat = txn.begin_ddl()
    oid = cat.allocate_oid()
    cols = (("id", T.INT8), ("name", T.TEXT), ("price", T.FLOAT8), ("flag", T.BOOL),
            ("note", T.TEXT))
    t = TableDef(oid, name, PUBLIC_OID, tuple(ColumnDef(n, ty, i + 1)
                                                for i, (n, ty) in enumerate(cols)),
                 pk=(1,), next_attnum=6)
    cat.add_relation(t)
    cat.add_relation(IndexDef(cat.allocate_oid(), f"{name}_pkey", PUBLIC_OID, oid, (1,),
                              unique=True, primary=True))
    txn.create_table_data(t)
    return t, txn


def row(i: int) -> tuple:
    return (i, f"customer {i:08d}", i * 0.25, i % 2 == 0, "lorem ipsum dolor sit amet")


def bench_recovery(root: str, wal_mb: int) -> dict[str, float]:
    path = os.path.join(root, "recovery")

    async def write() -> int:
        reg = DurableRegistry(settings(path))
        await reg.open()
        db = reg.get("postgres")
        t, txn = make_table(db, "t")
        await txn.commit()
        wal = reg.stores["postgres"].wal
        i = 0
        while wal.end < wal_mb * 1024 * 1024:
            for _ in range(1000):  # async commits: the log fills at CPU speed
                txn = db.begin()
                txn.synchronous_commit = False
                txn.insert(t, row(i))
                await txn.commit()
                i += 1
            await asyncio.sleep(0)
        await reg.close()
        return i

    n = asyncio.run(write())

    async def recover() -> tuple[float, int, int]:
        reg = DurableRegistry(settings(path))
        t0 = time.perf_counter()
        await reg.open()
        elapsed = time.perf_counter() - t0
        rep = reg.reports["postgres"]
        await reg.close()
        return elapsed, rep.bytes, rep.transactions

    elapsed, nbytes, txns = asyncio.run(recover())
    assert txns == n + 1, (txns, n)
    return {"seconds": elapsed, "bytes": nbytes, "transactions": txns,
            "per_gb": elapsed * GB / nbytes, "txn_per_s": txns / elapsed}


def bench_checkpoint(root: str, rows: int) -> dict[str, float]:
    path = os.path.join(root, "checkpoint")

    async def go() -> dict[str, float]:
        reg = DurableRegistry(settings(path))
        await reg.open()
        db = reg.get("postgres")
        t, txn = make_table(db, "big")
        await txn.commit()
        db.tables[t.oid].load((i, row(i)) for i in range(rows))  # bulk, bypassing the WAL
        db.durability.wal.append(COMMIT, 0, b"")  # (a position after the table's creation)
        t0 = time.perf_counter()
        await reg.checkpoint("postgres")
        ck = time.perf_counter() - t0
        await reg.close()
        size = 0
        for d, _s, files in os.walk(os.path.join(path, "tenants")):
            if "checkpoints" in d:
                size += sum(os.path.getsize(os.path.join(d, f)) for f in files)
        reg = DurableRegistry(settings(path))
        t0 = time.perf_counter()
        await reg.open()
        load = time.perf_counter() - t0
        assert len(reg.get("postgres").tables[t.oid].rows) == rows
        await reg.close()
        return {"checkpoint_s": ck, "load_s": load, "bytes": size,
                "write_per_gb": ck * GB / size, "load_per_gb": load * GB / size}

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--wal-mb", type=int, default=64)
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--only", choices=["commits", "recovery", "checkpoint"], default=None)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="aiondb-bench-", dir=args.dir)
    try:
        if args.only in (None, "commits"):
            print("WAL commit throughput (fdatasync on, 100-byte payloads, encrypted)")
            for mode in ("inline", "thread"):
                for n in (1, 8, 32):
                    rate, per = bench_commits(root, n, mode, args.seconds)
                    print(f"  {mode:6} {n:3} writers: {rate:9.0f} commits/s "
                          f"({per:5.1f} commits per fdatasync)")
        if args.only in (None, "recovery"):
            r = bench_recovery(root, args.wal_mb)
            print(f"Recovery: {r['transactions']} transactions, {r['bytes'] / 2**20:.0f} MB "
                  f"of WAL replayed in {r['seconds']:.2f} s ({r['txn_per_s']:.0f} txn/s) "
                  f"=> {r['per_gb']:.0f} s per GB (extrapolated)")
        if args.only in (None, "checkpoint"):
            c = bench_checkpoint(root, args.rows)
            print(f"Checkpoint: {args.rows} rows, {c['bytes'] / 2**20:.0f} MB written in "
                  f"{c['checkpoint_s']:.2f} s, loaded in {c['load_s']:.2f} s "
                  f"=> write {c['write_per_gb']:.0f} s per GB, load {c['load_per_gb']:.0f} s "
                  f"per GB (extrapolated)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
