"""WAL writer with group commit.

`append()` encodes a record into the pending batch (no I/O) and returns its
LSN and, for a synchronous commit, a future that resolves once the record is
durable. The first append in a loop iteration schedules one flush with
`loop.call_soon`, so every commit appended during this iteration rides the
same write + fdatasync (group commit).

Three flush modes (benchmarks/wal_bench.py and commit_bench.py measure them):
- "inline": pwrite + fdatasync run in the event loop, which stops for the
  length of the fdatasync (0.1 ms on a quiet disk, several ms on a busy one).
- "thread": pwrite + fdatasync in a dedicated thread; appends continue
  meanwhile and form the next batch, but the thread needs the GIL back to
  report, which a busy event loop holds for up to the switch interval.
- "process" (default): pwrite in the event loop, fdatasync in a separate
  sync process (syncer.py) that reports over a socket the loop watches: the
  loop keeps running statements during the flush and no GIL is contended.
  It falls back to inline if the process cannot run.

A record written with synchronous_commit off gets no future; its flush is
scheduled within `async_delay` seconds (sooner if a synchronous commit
comes along).

Failure (EIO, ENOSPC): the waiting commits get errors.IoError or
errors.DiskFull, never success. The batch's bytes are zeroed back on disk so
recovery cannot replay what the client was told had failed, and the LSN is
reused with a fresh nonce epoch. If that repair fails too, or a batch held
commits already applied without waiting (synchronous_commit off), the
`on_fatal` callback marks the tenant read-only until restart
(wal_failure.py).

Segments are zero-filled ahead of need in a background thread (a
pre-allocated file makes fdatasync ≈50% cheaper than a growing one).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable

from aiondb import errors
from aiondb.recovery.crypto import PlainSealer, Sealer
from aiondb.recovery.fs import File, FileSystem, error_class, os_error_message
from aiondb.recovery.syncer import SyncProcess, sync_process
from aiondb.recovery.wal_failure import WalFailure
from aiondb.recovery.walformat import (
    COMMIT,
    MIN_RECORD,
    REC_HDR_SIZE,
    SEG_HDR_SIZE,
    SWITCH,
    U64,
    WalCorruption,
    crc_extension_used,
    crc_extension_warning,
    encode_record,
    encode_segment_header,
    format_lsn,
    parse_segment_name,
    segment_name,
)

log = logging.getLogger("aiondb.recovery")

SWITCH_LEN = MIN_RECORD + 8 + 16  # header + next-segment LSN + GCM tag

__all__ = ["COMMIT", "WalCorruption", "WalWriter", "crc_extension_used",
           "crc_extension_warning", "format_lsn"]


class _Seg:
    __slots__ = ("start", "size", "end", "file", "path", "synced_by")

    def __init__(self, start: int, size: int, file: File, path: str) -> None:
        self.start = start
        self.size = size
        self.end = start + size     # (fixed: a plain attribute, read per record)
        self.file = file
        self.path = path
        self.synced_by: tuple[SyncProcess, int] | None = None   # (sync process, handle)


_SEGMENT_POOL: concurrent.futures.ThreadPoolExecutor | None = None


def _segment_pool() -> concurrent.futures.ThreadPoolExecutor:
    """Zero-filling segments ahead of need: one small pool for all tenants."""
    global _SEGMENT_POOL
    if _SEGMENT_POOL is None:
        _SEGMENT_POOL = concurrent.futures.ThreadPoolExecutor(2, "wal-segment")
    return _SEGMENT_POOL


# append's on_done: called with None once the record is durable, or with the
# error that made it fail
Hook = Callable[[BaseException | None], None]

# a record's length field is a u32; one transaction is one record
MAX_RECORD_LEN = 2**32 - 1


class _Batch:
    """One flush: the pending writes, their waiters, and the LSN range."""

    __slots__ = ("pending", "waiters", "hooks", "start", "start_last", "end", "end_last",
                 "had_async")

    def __init__(self, pending: list[list], waiters: list[tuple[int, asyncio.Future | None]],
                 hooks: list[Hook], start: int, start_last: int, end: int, end_last: int,
                 had_async: bool) -> None:
        self.pending = pending
        self.waiters = waiters      # (end, future or None when a hook waits instead)
        self.hooks = hooks
        self.start = start
        self.start_last = start_last
        self.end = end
        self.end_last = end_last
        self.had_async = had_async


class WalWriter(WalFailure):
    """Appends records to one tenant's log. Single event loop; not thread-safe."""

    def __init__(self, fs: FileSystem, waldir: str, tenant_oid: int, tenant_name: str,
                 sealer: Sealer | PlainSealer, segment_size: int,
                 on_fatal: Callable[[str], None] | None = None,
                 flush_mode: str = "inline", async_delay: float = 0.003) -> None:
        if flush_mode not in ("inline", "thread", "process"):
            raise ValueError(flush_mode)
        self.fs = fs
        self.waldir = waldir
        self.tenant_oid = tenant_oid
        self.tenant_name = tenant_name
        self.ad_tenant = U64.pack(tenant_oid)
        self.sealer = sealer
        self._rec_fixed = REC_HDR_SIZE + sealer.overhead + 4   # a record's bytes besides its payload
        self.segment_size = max(segment_size, SEG_HDR_SIZE + 4 * SWITCH_LEN)
        self.on_fatal = on_fatal
        self.flush_mode = flush_mode
        self.async_delay = async_delay
        self.epoch = secrets.randbits(32)
        self.seg: _Seg | None = None
        self.end = 0            # LSN of the next record
        self.last = 0           # LSN of the last record appended
        self.flushed = 0        # everything below is durable
        self.flushed_last = 0   # last record below `flushed`
        self.fatal: str | None = None
        # pending batch: [segment, offset in it, bytes], in LSN order
        self._pending: list[list] = []
        self._waiters: list[tuple[int, asyncio.Future | None]] = []
        self._hooks: list[Hook] = []
        self._async_in_batch = False
        self._flush_handle: asyncio.Handle | asyncio.TimerHandle | None = None
        self._flush_soon = False
        self._flushing = False       # thread/process mode: a batch is being flushed
        self._inflight: _Batch | None = None     # process mode: that batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._overlap = False         # commits arrived during the last hand-off
        self.offload_always = False   # process mode even for a lone commit (tests)
        self._next: concurrent.futures.Future | None = None
        self._pool = (concurrent.futures.ThreadPoolExecutor(1, f"wal-flush-{tenant_name}")
                      if flush_mode == "thread" else None)
        self._lock = threading.Lock()
        self.commits = 0
        self.flushes = 0
        self.appended_bytes = 0       # pg_stat_wal.wal_bytes (since the server started)

    # --- opening -------------------------------------------------------------------------
    def open(self, end_lsn: int, last_lsn: int) -> None:
        """Continue the log at end_lsn (where recovery found its end)."""
        seg = None
        for name in self.fs.listdir(self.waldir):
            start = parse_segment_name(name)
            if start is not None:
                path = os.path.join(self.waldir, name)
                f = self.fs.open(path, "rw")
                size = f.size()
                if start <= end_lsn < start + size:
                    seg = _Seg(start, size, f, path)
                    continue
                if seg is not None and start == seg.end and self._next is None:
                    done: concurrent.futures.Future = concurrent.futures.Future()
                    done.set_result(_Seg(start, size, f, path))
                    self._next = done
                    continue
                f.close()
        if seg is None:
            start = max(end_lsn - SEG_HDR_SIZE, 0)
            seg = self._create_segment(start, self.segment_size)
            end_lsn = start + SEG_HDR_SIZE
        self.seg = seg
        self.end = self.flushed = end_lsn
        self.last = self.flushed_last = last_lsn

    def _create_segment(self, start: int, size: int) -> _Seg:
        """Zero-filled segment, durable under its final name before use."""
        path = os.path.join(self.waldir, segment_name(start))
        tmp = path + ".tmp"
        with self._lock:
            f = self.fs.open(tmp, "w")
            try:
                f.pwrite(encode_segment_header(self.tenant_oid, start, size), 0)
                self.fs.preallocate(f, size)
                f.fsync()
            finally:
                f.close()
            self.fs.rename(tmp, path)
            self.fs.fsync_dir(self.waldir)
            return _Seg(start, size, self.fs.open(path, "rw"), path)

    def _precreate(self) -> None:
        seg = self.seg
        assert seg is not None
        self._next = _segment_pool().submit(self._create_segment, seg.end, self.segment_size)

    def _take_next(self, need: int) -> _Seg:
        """The segment after the current one, at least `need` bytes large."""
        seg = self.seg
        assert seg is not None
        nxt = None
        if self._next is not None:
            fut, self._next = self._next, None
            try:
                nxt = fut.result()  # normally done long ago; blocks only if racing it
            except OSError as exc:
                log.warning("tenant %s: pre-creating a WAL segment failed: %s",
                            self.tenant_name, os_error_message(exc))
            except concurrent.futures.CancelledError:
                pass
        if nxt is not None and (nxt.size < need or nxt.start != seg.end):
            self._close_seg(nxt)
            self.fs.remove(nxt.path)
            nxt = None
        if nxt is None:
            try:
                nxt = self._create_segment(seg.end, max(self.segment_size, need))
            except OSError as exc:
                cls = error_class(exc)
                raise cls(f'could not create a WAL segment for tenant "{self.tenant_name}": '
                          f"{os_error_message(exc)}; the transaction was not committed") from None
        return nxt

    # --- appending ----------------------------------------------------------------------------
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, remembered: asyncio.get_running_loop() costs a
        getpid() system call each time, several per commit otherwise."""
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def append(self, rtype: int, xid: int, payload: bytes | bytearray, sync: bool = True,
               on_done: Hook | None = None) -> tuple[int, int, asyncio.Future | None]:
        """Buffer one record. Returns (its LSN, the previous record's LSN, a
        future resolved when it is durable, or None when sync is False or
        on_done is given). on_done (sync only) is called instead, from the
        event loop, as soon as the flush's outcome is known: no future, no
        callback scheduled (the commonest commit waits this way)."""
        if self.fatal is not None:
            raise errors.IoError(f'the WAL of tenant "{self.tenant_name}" is unusable: '
                                 f"{self.fatal}")
        seg = self.seg
        assert seg is not None
        rec_len = self._rec_fixed + len(payload)
        if rec_len > MAX_RECORD_LEN:
            raise errors.ProgramLimitExceeded(
                f"the transaction is too large to commit: its WAL record would be {rec_len:,} "
                f"bytes, more than the limit of {MAX_RECORD_LEN:,}",
                hint="Split the work into several transactions.")
        if self.end + rec_len + SWITCH_LEN > seg.end:
            nxt = self._take_next(SEG_HDR_SIZE + rec_len + SWITCH_LEN)
            sw = encode_record(self.end, self.last, self.flushed, SWITCH, 0,
                               time.time_ns() // 1000, U64.pack(seg.end), self.sealer,
                               self.ad_tenant, self.epoch)
            self._buffer(seg, sw)
            self.last = self.end
            self.end = nxt.start + SEG_HDR_SIZE
            self.seg = seg = nxt
        lsn = self.end
        prev = self.last
        rec = encode_record(lsn, prev, self.flushed, rtype, xid, time.time_ns() // 1000,
                            payload, self.sealer, self.ad_tenant, self.epoch)
        p = self._pending
        if p and p[-1][0] is seg and type(p[-1][2]) is bytearray:
            p[-1][2] += rec      # the batch's write to this segment grows (_buffer)
        else:
            self._buffer(seg, rec)
        self.last = lsn
        n = len(rec)
        self.end = lsn + n
        self.appended_bytes += n
        self.commits += 1
        if self._next is None and self.end - seg.start > seg.size // 2:
            self._precreate()
        if sync:
            if on_done is None:
                loop = self._loop
                if loop is None or not loop.is_running():
                    loop = self.loop()
                fut = loop.create_future()
            else:
                fut = None
                self._hooks.append(on_done)
            self._waiters.append((self.end, fut))
            # else the flush to come takes this record too, or the one in
            # flight schedules the next batch as it ends (_flush_done)
            if not self._flushing and (self._flush_handle is None or not self._flush_soon):
                self._schedule(True)
            return lsn, prev, fut
        self._async_in_batch = True
        self._schedule(False)
        return lsn, prev, None

    @property
    def written(self) -> int:
        """The end of what has been written to the segment files: a batch the
        sync process is syncing was written before it was handed over."""
        return self._inflight.end if self._inflight is not None else self.flushed

    def _buffer(self, seg: _Seg, rec: bytes | bytearray) -> None:
        p = self._pending
        if p and p[-1][0] is seg:
            buf = p[-1][2]
            if type(buf) is not bytearray:
                buf = p[-1][2] = bytearray(buf)
            buf += rec
        else:
            # kept as it is (encode_record's fresh bytearray): a big record is
            # not copied again, and the batch's next records extend it
            p.append([seg, self.end - seg.start, rec])

    def _schedule(self, soon: bool) -> None:
        h = self._flush_handle
        if h is not None:
            if not soon or self._flush_soon:
                return
            h.cancel()
        loop = self.loop()
        self._flush_soon = soon
        if soon:
            self._flush_handle = loop.call_soon(self._flush)
        else:
            self._flush_handle = loop.call_later(self.async_delay, self._flush)

    # --- flushing -----------------------------------------------------------------------------
    def _flush(self) -> None:
        self._flush_handle = None
        if not self._pending:
            return
        if self.flush_mode == "process":
            if self._flushing:
                return  # _flush_done schedules the next batch
            # A lone commit with nobody committing alongside is faster inline:
            # handing it over costs two process wake-ups (≈0.1 ms here) and
            # there is nothing to overlap. Company in a batch, or commits
            # arriving during the last hand-off, switch to the sync process.
            if (len(self._waiters) > 1 or self._overlap or self.offload_always) and \
                    all(hasattr(p[0].file, "fd") for p in self._pending):
                proc = sync_process(self.loop())
                if proc is not None:
                    self._flush_via(proc)
                    return
            # a lone commit, no sync process, or a file that cannot be handed over: inline
        elif self.flush_mode == "thread":
            if self._flushing:
                return  # _flush_done schedules the next batch
            self._flushing = True
            batch = self._take_batch()
            fut = asyncio.get_running_loop().run_in_executor(self._pool, self._write,
                                                             batch.pending)
            fut.add_done_callback(lambda f: self._flush_done(batch, f.exception()))
            return
        batch = self._take_batch()
        try:
            self._write(batch.pending)
        except OSError as exc:
            self._complete(batch, exc)
            return
        self._complete(batch, None)

    def _flush_via(self, proc: SyncProcess) -> None:
        """Process mode: write here, have the sync process fdatasync."""
        batch = self._take_batch()
        try:
            for seg, off, data in batch.pending:
                seg.file.pwrite(data, off)
            handles = []
            for seg in {id(s): s for s, _o, _d in batch.pending}.values():
                if seg.synced_by is None or seg.synced_by[0] is not proc:
                    seg.synced_by = (proc, proc.register(seg.file.fd))  # type: ignore[attr-defined]
                handles.append(seg.synced_by[1])
        except OSError as exc:
            self._complete(batch, exc)
            return
        self._flushing = True
        self._inflight = batch
        left = [len(handles)]
        failed: list[OSError] = []

        def done(exc: OSError | None) -> None:
            if exc is not None:
                failed.append(exc)
            left[0] -= 1
            if left[0] == 0 and self._inflight is batch:   # else close() finished it
                self._inflight = None
                self._overlap = bool(self._pending)
                if not failed:
                    self.flushes += 1
                self._flush_done(batch, failed[0] if failed else None)

        for h in handles:
            try:
                proc.sync(h, done)
            except OSError as exc:
                done(exc)

    def _close_seg(self, seg: _Seg) -> None:
        if seg.synced_by is not None:
            proc, handle = seg.synced_by
            seg.synced_by = None
            proc.unregister(handle)
        seg.file.close()

    def _take_batch(self) -> _Batch:
        batch = _Batch(self._pending, self._waiters, self._hooks, self.flushed,
                       self.flushed_last, self.end, self.last, self._async_in_batch)
        self._pending, self._waiters, self._hooks, self._async_in_batch = [], [], [], False
        return batch

    def _write(self, pending: list[list]) -> None:
        for seg, off, data in pending:
            seg.file.pwrite(data, off)
        for seg in {id(s): s for s, _o, _d in pending}.values():
            seg.file.fdatasync()
        self.flushes += 1

    def _flush_done(self, batch: _Batch, exc: BaseException | None) -> None:
        self._flushing = False
        if exc is not None and not isinstance(exc, OSError):
            exc = OSError(errno.EIO, f"WAL flush thread failed: {exc!r}")
        self._complete(batch, exc)
        if self._pending and (self._flush_handle is None or
                              self._waiters and not self._flush_soon):
            self._schedule(bool(self._waiters))

    def _complete(self, batch: _Batch, exc: OSError | None) -> None:
        if exc is None:
            self.flushed = batch.end
            self.flushed_last = batch.end_last
            self._close_retired(batch.pending)
            for _end, fut in batch.waiters:
                if fut is not None and not fut.done():
                    fut.set_result(None)
            if batch.hooks:
                self._call_hooks(batch.hooks, None)
            return
        self._fail(batch, exc)

    def _call_hooks(self, hooks: list[Hook],
                    error: Callable[[], BaseException] | None) -> None:
        """Each hook with None, or with its own instance of error()."""
        for hook in hooks:
            try:
                hook(None if error is None else error())
            except Exception:  # noqa: BLE001 - the other commits still finish
                log.exception('tenant "%s": finishing a commit failed', self.tenant_name)

    def _close_retired(self, pending: list[list]) -> None:
        """Close segments left behind by a switch once their last write is done."""
        if len(pending) == 1 and pending[0][0] is self.seg:
            return          # the common case: one write to the current segment
        live = {id(self.seg)} | {id(p[0]) for p in self._pending}
        for seg in {id(s): s for s, _o, _d in pending}.values():
            if id(seg) not in live:
                self._close_seg(seg)

    async def flush(self) -> None:
        """Wait until everything appended so far is durable (raises on failure)."""
        if self.fatal is not None:
            raise errors.IoError(f'the WAL of tenant "{self.tenant_name}" is unusable: '
                                 f"{self.fatal}")
        if self.flushed >= self.end and not self._flushing:
            return
        fut = self.loop().create_future()
        self._waiters.append((self.end, fut))
        if not self._pending:
            # nothing new to write (thread mode: the in-flight batch covers it)
            self._pending.append([self.seg, self.end - self.seg.start, bytearray()])
        self._schedule(True)
        await fut

    # --- maintenance --------------------------------------------------------------------------
    def remove_segments_before(self, lsn: int,
                               archive: Callable[[str], None] | None = None) -> int:
        """Delete segments wholly below `lsn` (never the current or next one).
        `archive(path)` is called first for each (the WAL-archiving hook)."""
        keep = {self.seg.path if self.seg else None}
        removed = 0
        for name in self.fs.listdir(self.waldir):
            start = parse_segment_name(name)
            if start is None:
                continue
            path = os.path.join(self.waldir, name)
            if path in keep or start >= lsn:
                continue
            f = self.fs.open(path, "r")
            size = f.size()
            f.close()
            if start + size > lsn:
                continue
            if archive is not None:
                archive(path)
            self.fs.remove(path)
            removed += 1
        if removed:
            self.fs.fsync_dir(self.waldir)
        return removed

    def close(self) -> None:
        """Flush what is pending (its waiters learn the outcome), then release
        the files and threads."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # let an in-flight batch finish
        if self._inflight is not None:
            # process mode: finish the batch in flight here (its late reply is ignored)
            batch, self._inflight = self._inflight, None
            self._flushing = False
            try:
                for seg in {id(s): s for s, _o, _d in batch.pending}.values():
                    seg.file.fdatasync()
                self._complete(batch, None)
            except OSError as exc:
                self._complete(batch, exc)
        if self._pending and self.fatal is None:
            batch = self._take_batch()
            try:
                self._write(batch.pending)
                self._complete(batch, None)
            except OSError as exc:
                self._complete(batch, exc)
        for _end, fut in self._waiters:
            if fut is not None and not fut.done():
                fut.set_exception(errors.AdminShutdown("the server is shutting down"))
        hooks, self._waiters, self._hooks = self._hooks, [], []
        self._call_hooks(hooks, lambda: errors.AdminShutdown("the server is shutting down"))
        if self._next is not None:
            try:
                nxt = self._next.result()
                self._close_seg(nxt)
            except (OSError, concurrent.futures.CancelledError):
                pass
            self._next = None
        if self.seg is not None:
            self._close_seg(self.seg)
            self.seg = None
