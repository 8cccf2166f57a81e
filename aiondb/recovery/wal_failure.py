"""What the WAL writer does when a batch cannot be made durable (EIO,
ENOSPC): the batch's bytes are zeroed back on disk so recovery cannot replay
what the client was told had failed, the LSNs are reused with a fresh nonce
epoch, and every commit waiting on the batch (and on those buffered after
it) gets errors.IoError or errors.DiskFull. If the zeroing fails too, or
the batch held commits already acknowledged without waiting
(synchronous_commit off), the tenant becomes read-only until restart
(WalWriter.on_fatal)."""

from __future__ import annotations

import concurrent.futures
import logging
import secrets
from typing import TYPE_CHECKING, Any

from aiondb.recovery.fs import error_class, os_error_message

if TYPE_CHECKING:
    from aiondb.recovery.wal import _Batch, _Seg

log = logging.getLogger("aiondb.recovery")


class WalFailure:
    """WalWriter's failure path (a mixin: the state is the writer's)."""

    _pending: list[list]
    _waiters: list[tuple[int, Any]]
    _hooks: list[Any]
    _async_in_batch: bool
    _flush_handle: Any
    _next: Any
    seg: Any
    fatal: str | None

    def _fail(self, batch: _Batch, exc: OSError) -> None:
        # records buffered after the failed batch (thread mode) follow it in the
        # log: they fail with it
        pending = batch.pending + self._pending
        waiters = batch.waiters + self._waiters
        hooks = batch.hooks + self._hooks
        had_async = batch.had_async or self._async_in_batch
        self._pending, self._waiters, self._hooks, self._async_in_batch = [], [], [], False
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        cls = error_class(exc)
        why = os_error_message(exc)
        why2 = ""
        try:
            for seg, off, data in pending:
                seg.file.pwrite(bytes(len(data)), off)
            for seg in {id(s): s for s, _o, _d in pending}.values():
                seg.file.fdatasync()
            repaired = True
        except OSError as exc2:
            repaired = False
            why2 = os_error_message(exc2)
        if repaired:
            first = pending[0][0] if pending else self.seg
            self._rewind(first, batch.start, batch.start_last)
            self._close_retired([p for p in pending if p[0] is not first])
        if not repaired or had_async:
            reason = (f"a WAL write failed ({why}) and could not be undone ({why2})"
                      if not repaired else
                      f"a WAL write failed ({why}) after commits with synchronous_commit=off "
                      f"were acknowledged")
            self.fatal = reason
            log.error('tenant "%s": %s; the tenant is read-only until restart',
                      self.tenant_name, reason)
            if self.on_fatal is not None:
                self.on_fatal(reason)
            msg = (f'could not make the commit durable in the WAL of tenant "{self.tenant_name}"'
                   f": {why}; the tenant is now read-only until restart"
                   + ("; this transaction may or may not be present after restart"
                      if not repaired else "; the transaction was not committed"))
        else:
            log.error('tenant "%s": WAL write failed (%s); %d commit(s) reported as failed',
                      self.tenant_name, why, len(waiters))
            msg = (f'could not write the WAL of tenant "{self.tenant_name}": {why}; '
                   f"the transaction was not committed")
        for _end, fut in waiters:
            if fut is not None and not fut.done():
                fut.set_exception(cls(msg))
        if hooks:
            self._call_hooks(hooks, lambda: cls(msg))

    def _rewind(self, first: _Seg | None, start: int, start_last: int) -> None:
        """After zeroing a failed batch: continue at its start. Segments the
        batch switched to (and one pre-created after them) hold only zeros
        now and are removed, newest first, so what stays is contiguous."""
        if first is not None and first is not self.seg and self.seg is not None:
            doomed = [self.seg]
            if self._next is not None:
                try:
                    doomed.append(self._next.result())
                except (OSError, concurrent.futures.CancelledError):
                    pass
                self._next = None
            self.seg = first
            try:
                for seg in reversed(doomed):
                    self._close_seg(seg)
                    self.fs.remove(seg.path)
                self.fs.fsync_dir(self.waldir)
            except OSError:
                pass  # zero-filled segments after the end of the log are harmless
        self.end, self.last = start, start_last
        self.epoch = secrets.randbits(32)  # these LSNs will be reused: fresh nonces

