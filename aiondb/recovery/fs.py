"""The one file-system layer through which WAL, checkpoint and metadata I/O
goes. `OsFS` is the real thing; tests swap in the doubles of
recovery/fakefs.py (fail after N operations, ENOSPC, crash dropping unsynced
writes) without the callers knowing.

The interface is deliberately small and explicit about durability: nothing
written is durable before `fsync`/`fdatasync` of the file, and a created,
renamed or removed name is durable only after `fsync_dir` of its directory.
Helpers built on these primitives (atomic replace, zero-filled
pre-allocation, tree removal) live here so every double gets them for free.
"""

from __future__ import annotations

import errno
import fcntl
import os
from typing import Protocol

from aiondb import errors

ZERO_CHUNK = bytes(1 << 20)
TEMP_SUFFIX = ".tmp"


class File(Protocol):
    """An open file. Writes are positional (pwrite) or appending (write)."""

    path: str

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> None: ...

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def pread(self, size: int, offset: int) -> bytes: ...

    def size(self) -> int: ...

    def truncate(self, size: int) -> None: ...

    def fsync(self) -> None: ...

    def fdatasync(self) -> None: ...

    def close(self) -> None: ...


class FileSystem:
    """Primitive operations (overridden by each implementation) plus helpers."""

    def open(self, path: str, mode: str) -> File:
        """mode: 'r' read, 'rw' read/write existing, 'w' create or truncate,
        'x' create exclusively (FileExistsError if present)."""
        raise NotImplementedError

    def rename(self, src: str, dst: str) -> None:
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def rmdir(self, path: str) -> None:
        raise NotImplementedError

    def makedirs(self, path: str) -> None:
        raise NotImplementedError

    def listdir(self, path: str) -> list[str]:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def isdir(self, path: str) -> bool:
        raise NotImplementedError

    def fsync_dir(self, path: str) -> None:
        raise NotImplementedError

    def lock(self, path: str) -> object:
        """Take an exclusive advisory lock on `path` (created if missing);
        BlockingIOError if another process holds it."""
        raise NotImplementedError

    def unlock(self, token: object) -> None:
        raise NotImplementedError

    def is_locked(self, path: str) -> bool:
        """Whether another process holds the lock (without taking or creating it)."""
        raise NotImplementedError

    # --- helpers built on the primitives ------------------------------------------------
    def read_file(self, path: str) -> bytes:
        f = self.open(path, "r")
        try:
            return f.pread(f.size(), 0)
        finally:
            f.close()

    def write_atomic(self, path: str, data: bytes) -> None:
        """Replace `path` by `data` so that a crash leaves either the old or
        the new content: write temp, fsync, rename, fsync the directory."""
        tmp = path + TEMP_SUFFIX
        f = self.open(tmp, "w")
        try:
            f.write(data)
            f.fsync()
        finally:
            f.close()
        self.rename(tmp, path)
        self.fsync_dir(os.path.dirname(path) or ".")

    def preallocate(self, f: File, size: int) -> None:
        """Zero-fill `f` up to `size` bytes. Real zeros, not fallocate: later
        overwrites then need no extent conversion, so fdatasync stays cheap."""
        pos = f.size()
        while pos < size:
            n = min(len(ZERO_CHUNK), size - pos)
            f.pwrite(ZERO_CHUNK[:n] if n < len(ZERO_CHUNK) else ZERO_CHUNK, pos)
            pos += n

    def rmtree(self, path: str) -> None:
        if not self.exists(path):
            return
        for name in self.listdir(path):
            p = os.path.join(path, name)
            if self.isdir(p):
                self.rmtree(p)
            else:
                self.remove(p)
        self.rmdir(path)


class _OsFile:
    __slots__ = ("path", "fd")

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self.fd, view, offset)
            if n <= 0:  # pragma: no cover - the kernel reports errors by raising
                raise OSError(errno.EIO, "short write", self.path)
            view = view[n:]
            offset += n

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def pread(self, size: int, offset: int) -> bytes:
        chunks = []
        while size > 0:
            b = os.pread(self.fd, size, offset)
            if not b:
                break
            chunks.append(b)
            size -= len(b)
            offset += len(b)
        return b"".join(chunks)

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def fsync(self) -> None:
        os.fsync(self.fd)

    def fdatasync(self) -> None:
        os.fdatasync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


_MODES = {
    "r": os.O_RDONLY,
    "rw": os.O_RDWR,
    "w": os.O_RDWR | os.O_CREAT | os.O_TRUNC,
    "x": os.O_RDWR | os.O_CREAT | os.O_EXCL,
}


class OsFS(FileSystem):
    """The real file system."""

    def open(self, path: str, mode: str) -> File:
        return _OsFile(path, os.open(path, _MODES[mode] | getattr(os, "O_CLOEXEC", 0), 0o600))

    def rename(self, src: str, dst: str) -> None:
        os.rename(src, dst)

    def remove(self, path: str) -> None:
        os.remove(path)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def makedirs(self, path: str) -> None:
        os.makedirs(path, mode=0o700, exist_ok=True)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


    def lock(self, path: str) -> object:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise BlockingIOError(errno.EAGAIN, "locked by another process", path) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd

    def unlock(self, token: object) -> None:
        assert isinstance(token, int)
        os.close(token)

    def is_locked(self, path: str) -> bool:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except OSError:
            return True
        finally:
            os.close(fd)


def error_class(exc: OSError) -> type[errors.DatabaseError]:
    """The SQLSTATE class for a failed file operation: disk full (53100) or
    I/O error (58030)."""
    return errors.DiskFull if exc.errno in (errno.ENOSPC, errno.EDQUOT) else errors.IoError


def os_error_message(exc: OSError) -> str:
    """'No space left on device (ENOSPC) on /d/wal/x' for client messages."""
    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    where = f" on {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc} ({code}){where}"
