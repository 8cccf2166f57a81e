"""The WAL sync process: runs fdatasync for the server, outside its GIL.

Started by aiondb.recovery.syncer with one end of a Unix socket pair for
requests and the write end of a pipe for replies. Only the standard library
is imported, so it starts fast and shares nothing with the server but these
and the file descriptors passed over the socket (the same open file
descriptions: an fdatasync here is the server's own, and a write error is
reported here as it would be there).

Replies go over their own pipe, not back over the socket: when the server
reads a reply from a socket this process is blocked receiving on, the
kernel wakes this process for the freed space (a wake-up, and on another
core an interrupt, per flush for nothing).

Requests (17 bytes, little-endian): kind, handle u64, request id u64.
    R  register: the descriptor travels with the message (SCM_RIGHTS)
    S  sync: fdatasync the handle's file; reply (request id u64, errno i32)
    C  close the handle's descriptor
Sync requests for one handle queued together share a single fdatasync:
each was sent after its data was written. The process exits when the
server closes its end (or dies).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import struct
import sys

REQ = struct.Struct("<cQQ")
REP = struct.Struct("<Qi")


def serve(sock: socket.socket, reply_fd: int) -> None:
    fds: dict[int, int] = {}
    passed: list[int] = []
    buf = b""
    while True:
        try:
            data, new_fds, _flags, _addr = socket.recv_fds(sock, 65536, 64)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        passed.extend(new_fds)
        buf += data
        n = len(buf) // REQ.size
        reqs = [REQ.unpack_from(buf, i * REQ.size) for i in range(n)]
        buf = buf[n * REQ.size:]
        synced: dict[int, int] = {}      # handle → errno of this round's fdatasync
        replies = []
        for kind, handle, rid in reqs:
            if kind == b"R":
                fds[handle] = passed.pop(0)
            elif kind == b"C":
                fd = fds.pop(handle, None)
                if fd is not None:
                    os.close(fd)
            elif kind == b"S":
                err = synced.get(handle)
                if err is None:
                    err = _fdatasync(fds.get(handle))
                    synced[handle] = err
                replies.append(REP.pack(rid, err))
        if replies:
            out = memoryview(b"".join(replies))
            while out:
                out = out[os.write(reply_fd, out):]


def _fdatasync(fd: int | None) -> int:
    if fd is None:
        return errno.EBADF      # never registered
    try:
        os.fdatasync(fd)
        return 0
    except OSError as exc:
        return exc.errno or errno.EIO


if __name__ == "__main__":
    # the server handles Ctrl-C and SIGTERM; this process ends with its socket
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(socket.socket(fileno=int(sys.argv[1])), int(sys.argv[2]))
