"""fdatasync in a separate process, so a WAL flush neither stops the event
loop (as flushing inline does) nor fights it for the GIL (as a flusher
thread does: the thread needs the GIL to report back, and gets it only when
the busy loop lets go of it).

The server keeps writing WAL records itself (pwrite into the page cache is
cheap); only the wait for the disk moves to the sync process
(syncer_child.py), which receives each segment's descriptor once and
answers every sync request over a Unix socket watched by the event loop.
Statements keep running during the flush, and commits that arrive meanwhile
form the next batch, which is what lets group commit keep up with a slow
disk on a machine whose other core would otherwise sit idle.

If the process dies, every flush in flight fails (the writer treats it as a
failed fdatasync: those commits are reported as not committed) and the
writer falls back to flushing inline.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable

from aiondb.recovery.syncer_child import REP, REQ

log = logging.getLogger("aiondb.recovery")

Callback = Callable[[OSError | None], None]


class SyncProcess:
    """One sync process per server (event loop), shared by every tenant."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # replies come back over a pipe (see syncer_child.py)
        reply_r, reply_w = os.pipe()
        child = os.path.join(os.path.dirname(os.path.abspath(__file__)), "syncer_child.py")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", child, str(theirs.fileno()), str(reply_w)],
                pass_fds=[theirs.fileno(), reply_w], stdin=subprocess.DEVNULL)
        except BaseException:
            os.close(reply_r)
            raise
        finally:
            theirs.close()
            os.close(reply_w)
        self.sock = ours
        self.replies = reply_r
        os.set_blocking(reply_r, False)
        self.loop = loop
        self.dead: str | None = None
        self._next_id = 1
        self._waiting: dict[int, Callback] = {}
        self._buf = b""
        ours.setblocking(False)
        loop.add_reader(reply_r, self._on_readable)

    def _id(self) -> int:
        i = self._next_id
        self._next_id = i + 1
        return i

    def register(self, fd: int) -> int:
        """Hand a descriptor to the process; returns its handle."""
        handle = self._id()
        self._send(REQ.pack(b"R", handle, 0), [fd])
        return handle

    def unregister(self, handle: int) -> None:
        if self.dead is None:
            self._send(REQ.pack(b"C", handle, 0))

    def sync(self, handle: int, done: Callback) -> None:
        """fdatasync the handle's file; done(None) or done(OSError) follows
        from the event loop."""
        if self.dead is not None:
            raise OSError(errno.EIO, f"the WAL sync process {self.dead}")
        rid = self._id()
        self._send(REQ.pack(b"S", handle, rid))
        self._waiting[rid] = done       # (replies are read by the loop, later)

    def _send(self, data: bytes, fds: list[int] | None = None) -> None:
        try:
            if fds:
                sent = socket.send_fds(self.sock, [data], fds)
            else:
                sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._die(f"is unreachable ({exc})")
            raise OSError(errno.EIO, f"the WAL sync process {self.dead}") from None
        if sent < len(data):
            # never in practice (a few bytes per flush); block rather than drop
            self.sock.setblocking(True)
            try:
                self.sock.sendall(data[sent:])
            finally:
                self.sock.setblocking(False)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.replies, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._die(f"failed ({exc})")
            return
        if not data:
            self._die(f"exited (status {self.proc.poll()})")
            return
        buf = self._buf + data
        n = len(buf) // REP.size
        self._buf = buf[n * REP.size:]
        for i in range(n):
            rid, err = REP.unpack_from(buf, i * REP.size)
            done = self._waiting.pop(rid, None)
            if done is not None:
                done(None if err == 0 else OSError(err, os.strerror(err)))

    def _die(self, why: str, expected: bool = False) -> None:
        if self.dead is not None:
            return
        self.dead = why
        if not expected:
            log.error("the WAL sync process %s; WAL flushes continue in the server process",
                      why)
        try:
            self.loop.remove_reader(self.replies)
        except (ValueError, OSError, RuntimeError):
            pass
        waiting, self._waiting = self._waiting, {}
        for done in waiting.values():
            done(OSError(errno.EIO, f"the WAL sync process {why}; "
                                    "the flush's outcome is unknown"))

    def close(self) -> None:
        """End the process (it exits when its socket closes)."""
        if self.dead is None:
            self._die("was stopped", expected=True)
        self.sock.close()
        if self.replies >= 0:
            os.close(self.replies)
            self.replies = -1
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_PROCESSES: dict[asyncio.AbstractEventLoop, SyncProcess] = {}


def sync_process(loop: asyncio.AbstractEventLoop | None = None) -> SyncProcess | None:
    """The (running) loop's sync process, started on first use; None if it
    cannot be started (then the caller flushes inline)."""
    if loop is None:
        loop = asyncio.get_running_loop()
    p = _PROCESSES.get(loop)
    if p is not None and p.dead is None:
        return p
    if p is not None:
        return None         # it died: the caller flushes inline from now on
    try:
        p = _PROCESSES[loop] = SyncProcess(loop)
    except OSError as exc:
        log.warning("could not start the WAL sync process (%s); flushing inline", exc)
        return None
    return p


_USERS: dict[asyncio.AbstractEventLoop, int] = {}


def retain() -> None:
    """A data directory on the running loop will use the sync process."""
    loop = asyncio.get_running_loop()
    _USERS[loop] = _USERS.get(loop, 0) + 1


def release() -> None:
    """The reverse of retain(); the last user's release stops the process."""
    loop = asyncio.get_running_loop()
    n = _USERS.get(loop, 0) - 1
    if n > 0:
        _USERS[loop] = n
        return
    _USERS.pop(loop, None)
    p = _PROCESSES.pop(loop, None)
    if p is not None:
        p.close()
