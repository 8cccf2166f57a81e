"""Durable tenants: glue between the in-memory engines and aiondb.recovery.

Life of a COMMIT (durable tenant):
 1. Transaction.commit_start → Database.commit_start → TenantStore.log_commit_start.
 2. ChangeSet.from_transaction + payloads.encode_commit give the payload;
    WalWriter.append buffers the record and schedules the group flush.
 3. The flush (pwrite + fdatasync, shared by every commit appended in this
    loop iteration) resolves the commit's future, which the committer awaits.
 4. Transaction.commit_finish → Database.commit_finish: log_commit_end, then
    Database.apply_changes applies the same change set in memory (or the
    flush's error is raised and nothing is applied).

A one-row INSERT that is its own transaction takes a shorter path with the
same record and the same apply (storage/single_commit.py): start() checks,
locks and calls TenantStore.log_write_start with the encoded row and itself
as the waiter; the WAL calls its flushed() when the flush's outcome is
known, which does log_write_end and applies the row (no future).

Recovery (DurableRegistry.open → recover_tenant): load the newest valid
checkpoint (falling back to an older one), then decode each WAL record after
its LSN and apply it with the same Database.apply_changes.

Checkpoint LSN. Commits apply in memory after their flush, so at any moment
some flushed records may not be applied yet ("in flight"). A checkpoint
copies the state synchronously and records the LSN of the oldest in-flight
record (or the end of the log). Replay from there is exact: records are
absolute row images, and records in flight at the same time hold their row,
table and DDL locks, so they touch disjoint data and re-applying one that a
later record already follows in the copy changes nothing.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from aiondb import errors
from aiondb.config import Settings
from aiondb.recovery import crypto, syncer
from aiondb.recovery.checkpoint import (
    CheckpointReader,
    CheckpointWriter,
    list_checkpoints,
    prune_checkpoints,
)
from aiondb.recovery.datadir import DataDir, TenantPaths, now_iso
from aiondb.recovery.fs import FileSystem, OsFS, error_class, os_error_message
from aiondb.recovery.wal import COMMIT, WalWriter, format_lsn
from aiondb.recovery.walformat import WalCorruption, WalScanner, quarantine
from aiondb.storage import payloads, records
from aiondb.storage.catalog import Catalog
from aiondb.storage.database import ChangeSet, CommitWaiter, Database
from aiondb.storage.registry import DEFAULT_TENANT, Progress, TenantRegistry
from aiondb.storage.txn import Transaction

log = logging.getLogger("aiondb.recovery")

KEEP_CHECKPOINTS = 2  # the older one is the fallback if the newest is damaged


def _fmt_bytes(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _say(progress: Progress | None, msg: str, level: int = logging.INFO) -> None:
    log.log(level, msg)
    if progress is not None:
        progress(msg)


# --- checkpoint images -------------------------------------------------------------------------
class StateCopy:
    """A consistent copy of a tenant's state, taken synchronously in the loop."""

    def __init__(self, db: Database, lsn: int, prev: int) -> None:
        self.lsn = lsn
        self.prev = prev
        self.catalog: Catalog = db.catalog  # never mutated once installed
        self.tables = {oid: dict(td.rows) for oid, td in db.tables.items()}
        self.sequences = {oid: list(v) for oid, v in db.seq_values.items()}
        self.counters = db.counters()


def write_checkpoint(fs: FileSystem, paths: TenantPaths, name: str, oid: int,
                     sealer: crypto.Sealer | crypto.PlainSealer, state: StateCopy,
                     say: Callable[[str], None]) -> dict[str, Any]:
    """Encode and write the state (runs in a worker thread)."""
    t0 = time.perf_counter()
    w = CheckpointWriter(fs, paths.checkpoints, oid, state.lsn, sealer)
    try:
        meta = {"catalog": state.catalog.to_dict(), "sequences": state.sequences,
                "counters": state.counters}
        w.add_file("meta", [records.dumps(meta)])
        tables: dict[str, Any] = {}
        total_rows = 0
        for toid, rows in state.tables.items():
            rel = state.catalog.relations.get(toid)
            label = rel.name if rel is not None else str(toid)
            entry = w.add_file(f"t{toid}", payloads.encode_items(rows.items()))
            tables[str(toid)] = {"name": label, "rows": len(rows)}
            total_rows += len(rows)
            say(f'checkpoint "{name}": table {label}: {len(rows)} rows, '
                f'{_fmt_bytes(entry["bytes"])}')
        w.commit({"tenant": name, "created": now_iso(), "tables": tables}, state.prev)
    except BaseException:
        w.abort()
        raise
    size = sum(f["bytes"] for f in w.files.values())
    return {"rows": total_rows, "tables": len(tables), "bytes": size,
            "seconds": time.perf_counter() - t0}


def load_checkpoint(db: Database, reader: CheckpointReader) -> int:
    """Install a checkpoint's state into a fresh Database; returns rows loaded."""
    meta = records.loads(b"".join(reader.chunks("meta")))
    db.install_catalog(Catalog.from_dict(meta["catalog"]))
    rows_total = 0
    for toid, td in db.tables.items():
        rows: dict[Any, tuple] = {}
        for chunk in reader.chunks(f"t{toid}"):
            payloads.decode_items(chunk, rows)
        td.load(rows.items())
        rows_total += len(rows)
    for soid, state in meta["sequences"].items():
        if soid in db.seq_values:
            db.seq_values[soid] = list(state)
    db.restore_counters(**meta["counters"])
    return rows_total


# --- per-tenant durability ---------------------------------------------------------------------
class CheckpointStats:
    """Counters since the server started (pg_stat_bgwriter's checkpoint
    columns): checkpoints started on the interval and on request (CHECKPOINT,
    WAL volume), as PostgreSQL counts them, skipped ones included; the time
    and bytes of those written."""

    def __init__(self) -> None:
        self.timed = 0
        self.requested = 0
        self.write_ms = 0.0
        self.bytes = 0


class TenantStore:
    """Implements storage.database.Durability for one tenant."""

    def __init__(self, registry: DurableRegistry, db: Database, paths: TenantPaths,
                 sealer: crypto.Sealer | crypto.PlainSealer, wal: WalWriter,
                 checkpoint_lsn: int) -> None:
        self.registry = registry
        self.db = db
        self.paths = paths
        self.sealer = sealer
        self.wal = wal
        self.checkpoint_lsn = checkpoint_lsn
        # commits appended but not yet applied, in LSN order:
        # flush future or CommitWaiter → (LSN, previous LSN)
        self.inflight: dict[Any, tuple[int, int]] = {}
        self.ckpt_lock = asyncio.Lock()
        self._ckpt_task: asyncio.Task | None = None
        self.stats = CheckpointStats()

    def log_commit_start(self, db: Database, txn: Transaction,
                         cs: ChangeSet) -> asyncio.Future | None:
        return self.log_write_start(txn.xid, payloads.encode_commit(cs), txn.synchronous_commit)

    def log_write_start(self, xid: int, payload: bytearray, sync: bool,
                        waiter: CommitWaiter | None = None) -> asyncio.Future | None:
        """log_commit_start for a payload built by the caller (storage/single_commit.py)."""
        if waiter is not None and sync:
            lsn, prev, _ = self.wal.append(COMMIT, xid, payload, True, waiter.flushed)
            self.inflight[waiter] = (lsn, prev)
            return None
        lsn, prev, fut = self.wal.append(COMMIT, xid, payload, sync)
        if fut is None:
            self._check_wal_volume()
            return None
        self.inflight[fut] = (lsn, prev)
        return fut

    def log_commit_end(self, fut: asyncio.Future) -> None:
        del self.inflight[fut]
        if not fut.cancelled() and fut.exception() is None:
            self._check_wal_volume()

    def log_write_end(self, waiter: CommitWaiter) -> None:
        del self.inflight[waiter]
        self._check_wal_volume()

    def _check_wal_volume(self) -> None:
        if self.wal.end - self.checkpoint_lsn > self.registry.settings.max_wal_size:
            self.request_checkpoint("WAL volume")

    def log_sequences(self, db: Database, txn: Transaction) -> None:
        """A rolled-back transaction's sequence advances (no wait: like
        PostgreSQL, they are durable with the next flush)."""
        seqs = {oid: list(db.seq_values[oid]) for oid in txn.sequences
                if oid in db.seq_values and oid in db.catalog.relations}
        if not seqs:
            return
        try:
            self.wal.append(COMMIT, txn.xid, payloads.encode_commit(ChangeSet(sequences=seqs)),
                            sync=False)
        except errors.DatabaseError as exc:
            log.warning('tenant "%s": could not log sequence values: %s', db.name, exc)

    def position(self) -> tuple[int, int]:
        """(LSN, previous LSN) the in-memory state is consistent at: the oldest
        commit still to be applied, else the end of the log. Commits whose
        flush failed are skipped: they will never be applied, and their LSNs
        are reused (so the live entries are in LSN order)."""
        for key, (lsn, prev) in self.inflight.items():
            # (a waiter leaves as soon as its flush's outcome is known)
            if not isinstance(key, asyncio.Future) or \
                    not (key.done() and key.exception() is not None):
                return lsn, prev
        return self.wal.end, self.wal.last

    def request_checkpoint(self, why: str) -> None:
        if self._ckpt_task is None or self._ckpt_task.done():
            self._ckpt_task = asyncio.get_running_loop().create_task(
                self.checkpoint_in_background(why))

    async def checkpoint_in_background(self, why: str) -> None:
        try:
            await self.checkpoint(None, why)
        except errors.DatabaseError as exc:
            log.error('tenant "%s": checkpoint (%s) failed: %s', self.db.name, why, exc)

    async def checkpoint(self, progress: Progress | None, why: str = "CHECKPOINT") -> None:
        name = self.db.name
        if why == "timed":
            self.stats.timed += 1
        else:
            self.stats.requested += 1
        async with self.ckpt_lock:
            loop = asyncio.get_running_loop()
            lsn, prev = self.position()
            if lsn == self.checkpoint_lsn:
                _say(progress, f'checkpoint "{name}": no changes since the last checkpoint '
                               f"(LSN {format_lsn(lsn)})")
                return
            state = StateCopy(self.db, lsn, prev)  # synchronous: a consistent copy
            await self.wal.flush()  # the log must be durable up to the copy's LSN

            def say(msg: str) -> None:
                log.info(msg)
                if progress is not None:
                    loop.call_soon_threadsafe(progress, msg)

            try:
                summary = await loop.run_in_executor(
                    None, write_checkpoint, self.registry.fs, self.paths, name, self.db.oid,
                    self.sealer, state, say)
                self.registry.datadir.update_tenant_manifest(self.db.oid, checkpoint_lsn=lsn)
                prune_checkpoints(self.registry.fs, self.paths.checkpoints, KEEP_CHECKPOINTS)
                kept = list_checkpoints(self.registry.fs, self.paths.checkpoints)
                oldest = min(k[0] for k in kept) if kept else lsn
                removed = self.wal.remove_segments_before(oldest, self.registry.archive_hook)
            except OSError as exc:
                cls = error_class(exc)
                raise cls(f'checkpoint of tenant "{name}" failed: {os_error_message(exc)}; '
                          f"the previous checkpoint and the WAL are intact") from None
            self.checkpoint_lsn = lsn
            st = self.stats
            st.write_ms += summary["seconds"] * 1000
            st.bytes += summary["bytes"]
            _say(progress, f'checkpoint "{name}" ({why}) complete at LSN {format_lsn(lsn)}: '
                           f'{summary["tables"]} tables, {summary["rows"]} rows, '
                           f'{_fmt_bytes(summary["bytes"])} in {summary["seconds"]:.2f} s; '
                           f"{removed} WAL segment(s) removed")

    async def close(self) -> None:
        if self._ckpt_task is not None and not self._ckpt_task.done():
            await asyncio.gather(self._ckpt_task, return_exceptions=True)
        async with self.ckpt_lock:
            self.wal.close()


# --- recovery --------------------------------------------------------------------------------
class RecoveryReport:
    def __init__(self) -> None:
        self.checkpoint_lsn = 0
        self.checkpoint_rows = 0
        self.records = 0
        self.transactions = 0
        self.bytes = 0
        self.discarded_records = 0
        self.discarded_bytes = 0
        self.seconds = 0.0


def recover_tenant(fs: FileSystem, paths: TenantPaths, name: str, oid: int,
                   sealer: crypto.Sealer | crypto.PlainSealer, progress: Progress | None,
                   repair: bool = True) -> tuple[Database, WalScanner, RecoveryReport]:
    """Rebuild a tenant from its newest valid checkpoint and its WAL. The
    cyclic garbage collector is paused meanwhile: recovery only allocates
    (millions of rows), and full collections over a growing heap would make
    it quadratic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _recover_tenant(fs, paths, name, oid, sealer, progress, repair)
    finally:
        if enabled:
            gc.enable()


def _recover_tenant(fs: FileSystem, paths: TenantPaths, name: str, oid: int,
                    sealer: crypto.Sealer | crypto.PlainSealer, progress: Progress | None,
                    repair: bool) -> tuple[Database, WalScanner, RecoveryReport]:
    t0 = time.perf_counter()
    rep = RecoveryReport()
    if fs.exists(paths.quarantined):
        raise errors.DataCorrupted(fs.read_file(paths.quarantined).decode(errors="replace"))
    db = Database(name, oid)
    reader = None
    for lsn, path in list_checkpoints(fs, paths.checkpoints):
        try:
            reader = CheckpointReader(fs, path, oid, sealer)
            rep.checkpoint_rows = load_checkpoint(db, reader)
            break
        except (errors.DataCorrupted, KeyError, TypeError, ValueError) as exc:
            _say(progress, f'tenant "{name}": checkpoint at LSN {format_lsn(lsn)} is unusable '
                           f"({exc}); falling back to an older one", logging.WARNING)
            reader = None
            db = Database(name, oid)
    start, prev = (reader.lsn, reader.prev_lsn) if reader is not None else (0, 0)
    rep.checkpoint_lsn = start
    t1 = time.perf_counter()
    _say(progress, f'tenant "{name}": checkpoint at LSN {format_lsn(start)} loaded '
                   f"({len(db.tables)} tables, {rep.checkpoint_rows} rows) in {t1 - t0:.2f} s"
         if reader is not None else f'tenant "{name}": no checkpoint; replaying the whole WAL')
    scanner = WalScanner(fs, paths.wal, oid, sealer, start, prev, repair=repair)
    top_xid = 0
    for rec in scanner.records():
        if rec.type == COMMIT:
            db.apply_changes(payloads.decode_commit(rec.payload, db))
            rep.transactions += 1
            top_xid = max(top_xid, rec.xid)
    res = scanner.result
    rep.records, rep.bytes = res.records, res.bytes
    db.restore_counters(next_xid=top_xid + 1)
    db.restore_rowid_counter()
    if res.tail is not None:
        rep.discarded_records, rep.discarded_bytes = res.tail.records, res.tail.bytes
        _say(progress, f'tenant "{name}": torn WAL tail at {os.path.basename(res.tail.segment)}'
                       f" offset {res.tail.offset} (LSN {format_lsn(res.tail.lsn)}): "
                       f"{res.tail.records} unacknowledged record(s), {res.tail.bytes} bytes "
                       f"discarded", logging.WARNING)
    rep.seconds = time.perf_counter() - t0
    _say(progress, f'tenant "{name}": replayed {rep.records} WAL records '
                   f"({rep.transactions} transactions, {_fmt_bytes(rep.bytes)}) from LSN "
                   f"{format_lsn(start)} to {format_lsn(res.end_lsn)} in "
                   f"{time.perf_counter() - t1:.2f} s; {rep.discarded_records} record(s) "
                   f"discarded; recovery took {rep.seconds:.2f} s")
    return db, scanner, rep


# --- the registry ----------------------------------------------------------------------------
class DurableRegistry(TenantRegistry):
    """Tenants kept in memory and made durable under settings.data_dir."""

    def __init__(self, settings: Settings, fs: FileSystem | None = None,
                 flush_mode: str | None = None) -> None:
        super().__init__()
        if not settings.data_dir:
            raise errors.ConfigFileError("durable storage needs a data directory (--data-dir)")
        self.settings = settings
        self.fs = fs if fs is not None else OsFS()
        self.datadir = DataDir(self.fs, settings.data_dir)
        self.flush_mode = flush_mode or settings.wal_flush
        self.master: bytes | None = None
        self.cluster: dict[str, Any] = {}
        self.stores: dict[str, TenantStore] = {}
        self.reports: dict[str, RecoveryReport] = {}
        self.archive_hook: Callable[[str], None] | None = None  # later: WAL archiving
        self.description = f"durable at {settings.data_dir}"
        self._timer: asyncio.Task | None = None
        self._opened = False
        self._sync_retained = False

    async def open(self, progress: Progress | None = None) -> None:
        """Check keys and format, lock the directory, sweep temporary files and
        recover every tenant (one that cannot be recovered is listed in
        `unavailable`; the others start). Raises errors.DatabaseError
        subclasses (MasterKeyError/DataDirError are ConfigFileError) when the
        directory cannot be used at all."""
        try:
            await self._open(progress)
        except BaseException:
            if self._opened:
                self.datadir.unlock()
                self._opened = False
            if self._sync_retained:
                self._sync_retained = False
                syncer.release()
            raise

    async def _open(self, progress: Progress | None) -> None:
        s = self.settings
        if self.flush_mode == "process" and not self._sync_retained:
            syncer.retain()     # the WAL sync process lives while this directory is open
            self._sync_retained = True
        self.master = crypto.load_master_key(s.master_key, s.master_key_file)
        dd = self.datadir
        if not self.fs.exists(s.data_dir) or not dd.exists():
            dd.check_create(self.master, s.allow_unencrypted_storage)  # before any write
            self.fs.makedirs(s.data_dir)
            dd.lock()
            self._opened = True
            dd.create(self.master, s.allow_unencrypted_storage, s.user)
            _say(progress, f"initialized data directory {s.data_dir}")
        else:
            dd.check_access(self.master, s.allow_unencrypted_storage)  # writes nothing
            dd.lock()
            self._opened = True
        if self.master is not None:
            self.description = (f"durable at {s.data_dir}, encrypted at rest (AES-256-GCM, "
                                f"master key fingerprint {crypto.fingerprint(self.master)})")
        else:
            self.description = (f"durable at {s.data_dir}, NOT encrypted at rest "
                                f"(allow_unencrypted_storage is set)")
        self.cluster = dd.load_cluster(self.master)
        for p in dd.sweep():
            _say(progress, f"removed leftover temporary file {p}")
        for name, entry in sorted(self.cluster["tenants"].items()):
            try:
                self._open_tenant(name, entry, progress)
            except (errors.DatabaseError, OSError) as exc:
                why = os_error_message(exc) if isinstance(exc, OSError) else str(exc)
                self.unavailable[name] = why
                _say(progress, f'tenant "{name}" is unavailable: {why}', logging.ERROR)
        if DEFAULT_TENANT not in self.cluster["tenants"]:
            await self.create(DEFAULT_TENANT)
        if s.checkpoint_interval > 0:
            self._timer = asyncio.get_running_loop().create_task(self._checkpoint_timer())

    def _open_tenant(self, name: str, entry: dict[str, Any], progress: Progress | None
                     ) -> Database:
        oid = int(entry["oid"])
        paths = self.datadir.tenant_paths(oid)
        sealer = self.datadir.sealer_for(entry, self.master)
        try:
            db, scanner, rep = recover_tenant(self.fs, paths, name, oid, sealer, progress)
        except WalCorruption as exc:
            if exc.segment and self.fs.exists(exc.segment):
                moved = quarantine(self.fs, exc.segment, paths.quarantine)
                why = f"{exc}; the segment was moved to {moved}"
                self.fs.write_atomic(paths.quarantined, why.encode())
                raise errors.DataCorrupted(why) from None
            raise
        res = scanner.result
        wal = WalWriter(self.fs, paths.wal, oid, name, sealer, self.settings.wal_segment_size,
                        on_fatal=lambda why: setattr(db, "read_only_reason", why),
                        flush_mode=self.flush_mode)
        wal.open(max(res.end_lsn, res.start_lsn), res.last_lsn)
        store = TenantStore(self, db, paths, sealer, wal, rep.checkpoint_lsn)
        db.durability = store
        self.tenants[name] = db
        self.stores[name] = store
        self.reports[name] = rep
        self._next_oid = max(self._next_oid, oid + 1)
        return db

    async def create(self, name: str) -> Database:
        if name in self.tenants or name in self.unavailable or name in self.cluster["tenants"]:
            raise errors.DuplicateDatabase(f'database "{name}" already exists')
        try:
            entry = self.datadir.add_tenant(self.cluster, name, self.master)
        except OSError as exc:
            self.cluster = self.datadir.load_cluster(self.master)  # as on disk
            cls = error_class(exc)
            raise cls(f'could not create database "{name}": {os_error_message(exc)}') from None
        try:
            return self._open_tenant(name, entry, None)
        except OSError as exc:  # recorded, but its first WAL segment could not be made
            why = os_error_message(exc)
            self.unavailable[name] = why
            cls = error_class(exc)
            raise cls(f'database "{name}" was created but cannot be opened: {why}') from None

    async def drop(self, name: str) -> None:
        if name not in self.tenants and name not in self.unavailable:
            raise errors.InvalidCatalogName(f'database "{name}" does not exist')
        store = self.stores.pop(name, None)
        if store is not None:
            await store.close()
        self.tenants.pop(name, None)
        self.unavailable.pop(name, None)
        try:
            self.datadir.remove_tenant(self.cluster, name, self.master)
        except OSError as exc:
            raise errors.IoError(f'could not remove the files of database "{name}": '
                                 f"{os_error_message(exc)}") from None

    async def checkpoint(self, name: str | None = None, progress: Progress | None = None) -> None:
        names = [name] if name is not None else self.names()
        for n in names:
            self.get(n)  # raises for unknown or unavailable tenants
            await self.stores[n].checkpoint(progress)

    async def _checkpoint_timer(self) -> None:
        while True:
            await asyncio.sleep(self.settings.checkpoint_interval)
            for store in list(self.stores.values()):
                if store.wal.fatal is None and store.position()[0] != store.checkpoint_lsn:
                    await store.checkpoint_in_background("timed")

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        for store in list(self.stores.values()):
            await store.close()
        self.stores.clear()
        self.tenants.clear()
        if self._opened:
            self.datadir.unlock()
            self._opened = False
        if self._sync_retained:
            self._sync_retained = False
            syncer.release()
