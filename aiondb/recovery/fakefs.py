"""File-system doubles for tests (SQLite's habits):

- `MemoryFS`: an in-memory file system that models durability exactly as
  POSIX promises it. File content is durable only after fsync/fdatasync; a
  name (create, rename, remove) only after fsync_dir of its directory.
  `crash()` reverts to the durable state, optionally keeping a random subset
  of the unsynced writes, each torn at 512-byte sector granularity (the
  kernel may write back any dirty page, in any order, before power fails).
- `FaultyFS`: wraps any FileSystem and fails operations: after N operations
  (EIO by default), only writes (ENOSPC), or everything from a point on
  ("power off", then `crash()` the inner MemoryFS).
"""

from __future__ import annotations

import errno
import os
import random
import threading

from aiondb.recovery.fs import File, FileSystem

SECTOR = 512


class _Inode:
    __slots__ = ("data", "synced", "unsynced")

    def __init__(self) -> None:
        self.data = bytearray()
        self.synced = b""
        # writes since the last sync: (offset, bytes) or (-1, new size) for truncate
        self.unsynced: list[tuple[int, bytes | int]] = []


def _norm(path: str) -> str:
    return os.path.normpath(path)


class _MemFile:
    def __init__(self, fs: MemoryFS, path: str, inode: _Inode, writable: bool) -> None:
        self.fs = fs
        self.path = path
        self.inode = inode
        self.writable = writable
        self.pos = 0

    def _check(self) -> None:
        if not self.writable:
            raise OSError(errno.EBADF, "file not open for writing", self.path)

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> None:
        self._check()
        b = bytes(data)
        with self.fs.lock_:
            d = self.inode.data
            if len(d) < offset:
                d.extend(bytes(offset - len(d)))
            d[offset:offset + len(b)] = b
            self.inode.unsynced.append((offset, b))

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.pwrite(data, self.pos)
        self.pos += len(data)

    def pread(self, size: int, offset: int) -> bytes:
        with self.fs.lock_:
            return bytes(self.inode.data[offset:offset + size])

    def size(self) -> int:
        return len(self.inode.data)

    def truncate(self, size: int) -> None:
        self._check()
        with self.fs.lock_:
            d = self.inode.data
            if size < len(d):
                del d[size:]
            else:
                d.extend(bytes(size - len(d)))
            self.inode.unsynced.append((-1, size))

    def fsync(self) -> None:
        with self.fs.lock_:
            self.inode.synced = bytes(self.inode.data)
            self.inode.unsynced.clear()
        self.fs.syncs += 1

    fdatasync = fsync

    def close(self) -> None:
        pass


class MemoryFS(FileSystem):
    """In-memory file system with a POSIX durability model and crash()."""

    def __init__(self) -> None:
        self.lock_ = threading.RLock()
        self.files: dict[str, _Inode] = {}      # current names
        self.durable: dict[str, _Inode] = {}    # names that survive a crash
        self.dirs: set[str] = {"/", "."}
        self.syncs = 0
        self.locks: set[str] = set()

    def open(self, path: str, mode: str) -> File:
        path = _norm(path)
        with self.lock_:
            ino = self.files.get(path)
            if mode in ("r", "rw"):
                if ino is None:
                    raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
            elif mode == "x" and ino is not None:
                raise FileExistsError(errno.EEXIST, "File exists", path)
            else:
                if os.path.dirname(path) not in self.dirs:
                    raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
                if ino is None:
                    ino = self.files[path] = _Inode()
                elif mode == "w":
                    ino.data.clear()
                    ino.unsynced.append((-1, 0))
            return _MemFile(self, path, ino, mode != "r")

    def rename(self, src: str, dst: str) -> None:
        src, dst = _norm(src), _norm(dst)
        with self.lock_:
            if src in self.dirs:
                for p in [p for p in self.files if p.startswith(src + os.sep)]:
                    self.files[dst + p[len(src):]] = self.files.pop(p)
                    if p in self.durable:  # a directory rename moves its durable names too
                        self.durable[dst + p[len(src):]] = self.durable.pop(p)
                self.dirs = {dst + d[len(src):] if d == src or d.startswith(src + os.sep) else d
                             for d in self.dirs}
                return
            if src not in self.files:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", src)
            self.files[dst] = self.files.pop(src)

    def remove(self, path: str) -> None:
        path = _norm(path)
        with self.lock_:
            if path not in self.files:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
            del self.files[path]

    def rmdir(self, path: str) -> None:
        path = _norm(path)
        with self.lock_:
            if self.listdir(path):
                raise OSError(errno.ENOTEMPTY, "Directory not empty", path)
            self.dirs.discard(path)
            for p in [p for p in self.durable if os.path.dirname(p) == path]:
                del self.durable[p]

    def makedirs(self, path: str) -> None:
        path = _norm(path)
        with self.lock_:
            while path not in self.dirs:
                self.dirs.add(path)
                path = os.path.dirname(path) or "."

    def listdir(self, path: str) -> list[str]:
        path = _norm(path)
        with self.lock_:
            if path not in self.dirs:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
            names = {os.path.basename(p) for p in self.files if os.path.dirname(p) == path}
            names |= {os.path.basename(d) for d in self.dirs
                      if os.path.dirname(d) == path and d != path}
            return sorted(names)

    def exists(self, path: str) -> bool:
        path = _norm(path)
        return path in self.files or path in self.dirs

    def isdir(self, path: str) -> bool:
        return _norm(path) in self.dirs

    def fsync_dir(self, path: str) -> None:
        path = _norm(path)
        with self.lock_:
            for p in [p for p in self.durable if os.path.dirname(p) == path]:
                del self.durable[p]
            for p, ino in self.files.items():
                if os.path.dirname(p) == path:
                    self.durable[p] = ino
        self.syncs += 1

    def lock(self, path: str) -> object:
        path = _norm(path)
        with self.lock_:
            if path in self.locks:
                raise BlockingIOError(errno.EAGAIN, "locked by another process", path)
            self.locks.add(path)
            if path not in self.files:
                self.files[path] = _Inode()
        return path

    def unlock(self, token: object) -> None:
        self.locks.discard(str(token))

    def is_locked(self, path: str) -> bool:
        return _norm(path) in self.locks

    # --- crash simulation -----------------------------------------------------------
    def crash(self, rng: random.Random | None = None, keep_probability: float = 0.5) -> None:
        """Power loss: durable names and synced content survive (locks are
        released, as by a dying process); with `rng`,
        each unsynced write survives with `keep_probability`, torn to a random
        subset of its sectors. Directories (not modelled) survive as they are."""
        with self.lock_:
            self.locks.clear()
            self.files = dict(self.durable)
            for ino in set(self.files.values()):
                data = bytearray(ino.synced)
                if rng is not None:
                    for off, w in ino.unsynced:
                        if off < 0 or rng.random() >= keep_probability:
                            continue
                        assert isinstance(w, bytes)
                        for s in range(0, len(w), SECTOR):
                            if rng.random() < keep_probability:
                                piece = w[s:s + SECTOR]
                                end = off + s + len(piece)
                                if len(data) < end:
                                    data.extend(bytes(end - len(data)))
                                data[off + s:end] = piece
                ino.data = data
                ino.synced = bytes(data)
                ino.unsynced = []

    def snapshot_names(self) -> list[str]:
        return sorted(self.files)


class FaultInjected(OSError):
    """An OSError raised by FaultyFS (so tests can tell it from real ones)."""


_WRITE_OPS = frozenset({"pwrite", "write", "truncate", "open_create"})


class _FaultyFile:
    def __init__(self, fs: FaultyFS, inner: File) -> None:
        self.fs = fs
        self.inner = inner
        self.path = inner.path

    def pwrite(self, data: bytes | bytearray | memoryview, offset: int) -> None:
        self.fs.tick("pwrite", self.path)
        self.inner.pwrite(data, offset)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.fs.tick("write", self.path)
        self.inner.write(data)

    def pread(self, size: int, offset: int) -> bytes:
        self.fs.tick("pread", self.path)
        return self.inner.pread(size, offset)

    def size(self) -> int:
        return self.inner.size()

    def truncate(self, size: int) -> None:
        self.fs.tick("truncate", self.path)
        self.inner.truncate(size)

    def fsync(self) -> None:
        self.fs.tick("fsync", self.path)
        self.inner.fsync()

    def fdatasync(self) -> None:
        self.fs.tick("fdatasync", self.path)
        self.inner.fdatasync()

    def close(self) -> None:
        self.inner.close()


class FaultyFS(FileSystem):
    """Wraps a FileSystem; fails chosen operations with an OSError.

    - `fail_after(n, err)`: the (n+1)-th counted operation and every later one
      fails (n advancing from 0 until a task completes is SQLite's loop);
      with persistent=False only that one.
    - `fail_writes(err)`: writes and creations fail (ENOSPC), reads work.
    - `only`: restrict counting/failing to operations on paths containing it.
    - `heal()`: stop failing.
    """

    def __init__(self, inner: FileSystem) -> None:
        self.inner = inner
        self.ops = 0
        self.fail_at: int | None = None
        self.err = errno.EIO
        self.writes_only = False
        self.only: str | None = None
        self.persistent = True
        self.failures = 0

    def fail_after(self, n: int, err: int = errno.EIO, only: str | None = None,
                   persistent: bool = True) -> None:
        """Fail the (n+1)-th operation and, if persistent, every later one."""
        self.ops = 0
        self.fail_at = n
        self.err = err
        self.writes_only = False
        self.only = only
        self.persistent = persistent

    def fail_writes(self, err: int = errno.ENOSPC, only: str | None = None) -> None:
        self.fail_at = 0
        self.ops = 0
        self.err = err
        self.writes_only = True
        self.only = only
        self.persistent = True

    def heal(self) -> None:
        self.fail_at = None

    def tick(self, op: str, path: str) -> None:
        if self.only is not None and self.only not in path:
            return
        if self.writes_only and op not in _WRITE_OPS:
            return
        self.ops += 1
        if self.fail_at is not None and self.ops > self.fail_at:
            self.failures += 1
            if not self.persistent:
                self.fail_at = None
            raise FaultInjected(self.err, os.strerror(self.err), path)

    def open(self, path: str, mode: str) -> File:
        self.tick("open_create" if mode in ("w", "x") else "open", path)
        return _FaultyFile(self, self.inner.open(path, mode))

    def rename(self, src: str, dst: str) -> None:
        self.tick("rename", src)
        self.inner.rename(src, dst)

    def remove(self, path: str) -> None:
        self.tick("remove", path)
        self.inner.remove(path)

    def rmdir(self, path: str) -> None:
        self.tick("rmdir", path)
        self.inner.rmdir(path)

    def makedirs(self, path: str) -> None:
        self.tick("open_create", path)
        self.inner.makedirs(path)

    def listdir(self, path: str) -> list[str]:
        return self.inner.listdir(path)

    def exists(self, path: str) -> bool:
        return self.inner.exists(path)

    def isdir(self, path: str) -> bool:
        return self.inner.isdir(path)

    def fsync_dir(self, path: str) -> None:
        self.tick("fsync", path)
        self.inner.fsync_dir(path)

    def lock(self, path: str) -> object:
        return self.inner.lock(path)

    def unlock(self, token: object) -> None:
        self.inner.unlock(token)

    def is_locked(self, path: str) -> bool:
        return self.inner.is_locked(path)
