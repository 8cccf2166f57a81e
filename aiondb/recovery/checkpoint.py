"""Checkpoint files: a directory of image files plus a MANIFEST naming the
LSN they are consistent at.

    checkpoints/ckpt-<LSN as 16 hex digits>/
        MANIFEST          sealed JSON: lsn, prev_lsn, files (chunks, bytes,
                          sha256), and whatever the storage layer adds
        <name>.img        header, then chunks

Chunk frame: u32 index, u32 sealed length, u32 CRC-32C (of index, length and
sealed bytes), then the sealed bytes (encrypted: 12-byte random nonce +
AES-256-GCM ciphertext with associated data = tenant, checkpoint LSN, file
name, chunk index). A chunk therefore cannot be moved to another position,
file, checkpoint or tenant, and the manifest's per-file chunk count, size and
SHA-256 catch truncation and reordering in unencrypted mode too.

A checkpoint is written in `ckpt-<LSN>.tmp/`; each file is fsynced, then the
MANIFEST, then the directory is renamed to its final name and its parent
fsynced. A directory without a valid MANIFEST is not a checkpoint; the
startup sweep removes `*.tmp` leftovers.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterable, Iterator
from typing import Any

from aiondb import errors
from aiondb.recovery.crypto import NONCE_LEN, PlainSealer, Sealer, TamperedError
from aiondb.recovery.fs import TEMP_SUFFIX, FileSystem
from aiondb.recovery.walformat import crc32c, format_lsn

IMG_MAGIC = b"AIONIMG\x00"
MAN_MAGIC = b"AIONMAN\x00"
IMG_VERSION = 1
IMG_HDR = struct.Struct("<8sHHQQ")   # magic, version, reserved, tenant oid, lsn
FRAME = struct.Struct("<III")         # index, sealed length, crc
MAN_HDR = struct.Struct("<8sII")      # magic, length, crc
PREFIX = "ckpt-"


class CheckpointInvalid(errors.DataCorrupted):
    """A checkpoint that cannot be used (truncated, corrupt, tampered)."""


def checkpoint_dirname(lsn: int) -> str:
    return f"{PREFIX}{lsn:016X}"


def parse_checkpoint_dirname(name: str) -> int | None:
    if not name.startswith(PREFIX) or len(name) != len(PREFIX) + 16:
        return None
    try:
        return int(name[len(PREFIX):], 16)
    except ValueError:
        return None


def list_checkpoints(fs: FileSystem, ckdir: str) -> list[tuple[int, str]]:
    """Completed checkpoint directories, newest first (validity not checked)."""
    if not fs.exists(ckdir):
        return []
    out = []
    for name in fs.listdir(ckdir):
        lsn = parse_checkpoint_dirname(name)
        if lsn is not None:
            out.append((lsn, os.path.join(ckdir, name)))
    out.sort(reverse=True)
    return out


def _ad(kind: bytes, tenant_oid: int, lsn: int, name: str, index: int) -> bytes:
    return (b"aiondb checkpoint\0" + kind + struct.pack("<QQQ", tenant_oid, lsn, index)
            + name.encode())


class CheckpointWriter:
    """Writes one checkpoint directory. Not thread-safe; run in one thread."""

    def __init__(self, fs: FileSystem, ckdir: str, tenant_oid: int, lsn: int,
                 sealer: Sealer | PlainSealer) -> None:
        self.fs = fs
        self.ckdir = ckdir
        self.tenant_oid = tenant_oid
        self.lsn = lsn
        self.sealer = sealer
        self.final = os.path.join(ckdir, checkpoint_dirname(lsn))
        self.tmp = self.final + TEMP_SUFFIX
        self.files: dict[str, dict[str, Any]] = {}
        fs.makedirs(ckdir)
        fs.rmtree(self.tmp)
        fs.makedirs(self.tmp)

    def add_file(self, name: str, chunks: Iterable[bytes]) -> dict[str, Any]:
        """Write one image file from its chunk payloads; returns its entry."""
        f = self.fs.open(os.path.join(self.tmp, name + ".img"), "x")
        sha = hashlib.sha256()
        try:
            hdr = IMG_HDR.pack(IMG_MAGIC, IMG_VERSION, 0, self.tenant_oid, self.lsn)
            f.write(hdr)
            sha.update(hdr)
            size = len(hdr)
            n = 0
            for payload in chunks:
                if self.sealer.encrypted:
                    nonce = os.urandom(NONCE_LEN)
                    sealed = nonce + self.sealer.seal(
                        nonce, payload, _ad(b"C", self.tenant_oid, self.lsn, name, n))
                else:
                    sealed = payload
                head = struct.pack("<II", n, len(sealed))
                frame = head + struct.pack("<I", crc32c(sealed, crc32c(head))) + sealed
                f.write(frame)
                sha.update(frame)
                size += len(frame)
                n += 1
            f.fsync()
        finally:
            f.close()
        entry = {"chunks": n, "bytes": size, "sha256": sha.hexdigest()}
        self.files[name] = entry
        return entry

    def commit(self, meta: dict[str, Any], prev_lsn: int) -> str:
        """Write the MANIFEST and publish the checkpoint atomically."""
        body = dict(meta)
        body.update({"format": 1, "lsn": self.lsn, "prev_lsn": prev_lsn,
                     "tenant_oid": self.tenant_oid, "files": self.files})
        data = json.dumps(body, sort_keys=True).encode()
        if self.sealer.encrypted:
            nonce = os.urandom(NONCE_LEN)
            data = nonce + self.sealer.seal(nonce, data,
                                            _ad(b"M", self.tenant_oid, self.lsn, "MANIFEST", 0))
        f = self.fs.open(os.path.join(self.tmp, "MANIFEST"), "x")
        try:
            f.write(MAN_HDR.pack(MAN_MAGIC, len(data), crc32c(data)) + data)
            f.fsync()
        finally:
            f.close()
        self.fs.fsync_dir(self.tmp)
        self.fs.rename(self.tmp, self.final)
        self.fs.fsync_dir(self.ckdir)
        return self.final

    def abort(self) -> None:
        try:
            self.fs.rmtree(self.tmp)
        except OSError:
            pass  # the startup sweep removes it


class CheckpointReader:
    """Reads and verifies one checkpoint directory."""

    def __init__(self, fs: FileSystem, path: str, tenant_oid: int,
                 sealer: Sealer | PlainSealer) -> None:
        self.fs = fs
        self.path = path
        self.tenant_oid = tenant_oid
        self.sealer = sealer
        lsn = parse_checkpoint_dirname(os.path.basename(path))
        if lsn is None:
            raise CheckpointInvalid(f"{path} is not a checkpoint directory")
        self.lsn = lsn
        self.manifest = self._read_manifest()

    def _bad(self, what: str) -> CheckpointInvalid:
        return CheckpointInvalid(f"checkpoint {self.path} (LSN {format_lsn(self.lsn)}): {what}")

    def _read_manifest(self) -> dict[str, Any]:
        p = os.path.join(self.path, "MANIFEST")
        try:
            raw = self.fs.read_file(p)
        except FileNotFoundError:
            raise self._bad("MANIFEST is missing") from None
        if len(raw) < MAN_HDR.size:
            raise self._bad("MANIFEST is truncated")
        magic, n, crc = MAN_HDR.unpack_from(raw)
        data = raw[MAN_HDR.size:]
        if magic != MAN_MAGIC or len(data) != n or crc32c(data) != crc:
            raise self._bad("MANIFEST is damaged or truncated")
        if self.sealer.encrypted:
            try:
                data = self.sealer.open(data[:NONCE_LEN], data[NONCE_LEN:],
                                        _ad(b"M", self.tenant_oid, self.lsn, "MANIFEST", 0))
            except TamperedError:
                raise self._bad("MANIFEST fails authentication (altered, renamed, or "
                                "written under another key)") from None
        try:
            m = json.loads(data)
        except ValueError:
            raise self._bad("MANIFEST is not readable (unencrypted data directory "
                            "holding encrypted files?)") from None
        if m.get("lsn") != self.lsn or m.get("tenant_oid") != self.tenant_oid:
            raise self._bad("MANIFEST belongs to another checkpoint or tenant")
        if m.get("format") != 1:
            raise self._bad(f"unsupported checkpoint format {m.get('format')!r}")
        return m

    @property
    def prev_lsn(self) -> int:
        return int(self.manifest["prev_lsn"])

    def file_names(self) -> list[str]:
        return sorted(self.manifest["files"])

    def chunks(self, name: str) -> Iterator[bytes]:
        """The chunk payloads of one file, each verified before it is returned;
        the whole file (size, count, SHA-256) is verified at the end."""
        entry = self.manifest["files"].get(name)
        if entry is None:
            raise self._bad(f"no file {name!r} in the manifest")
        path = os.path.join(self.path, name + ".img")
        try:
            f = self.fs.open(path, "r")
        except FileNotFoundError:
            raise self._bad(f"{name}.img is missing") from None
        try:
            size = f.size()
            if size != entry["bytes"]:
                raise self._bad(f"{name}.img is {size} bytes, the manifest says "
                                f"{entry['bytes']} (truncated?)")
            sha = hashlib.sha256()
            hdr = f.pread(IMG_HDR.size, 0)
            sha.update(hdr)
            if len(hdr) < IMG_HDR.size:
                raise self._bad(f"{name}.img is truncated")
            magic, ver, _r, oid, lsn = IMG_HDR.unpack(hdr)
            if magic != IMG_MAGIC or ver != IMG_VERSION or oid != self.tenant_oid \
                    or lsn != self.lsn:
                raise self._bad(f"{name}.img has a wrong header")
            pos = IMG_HDR.size
            for n in range(entry["chunks"]):
                head = f.pread(FRAME.size, pos)
                if len(head) < FRAME.size:
                    raise self._bad(f"{name}.img is truncated in chunk {n}")
                index, length, crc = FRAME.unpack(head)
                sealed = f.pread(length, pos + FRAME.size)
                if index != n or len(sealed) != length or crc32c(sealed, crc32c(head[:8])) != crc:
                    raise self._bad(f"{name}.img chunk {n} at offset {pos} is damaged")
                sha.update(head)
                sha.update(sealed)
                pos += FRAME.size + length
                if self.sealer.encrypted:
                    try:
                        payload = self.sealer.open(
                            sealed[:NONCE_LEN], sealed[NONCE_LEN:],
                            _ad(b"C", self.tenant_oid, self.lsn, name, n))
                    except TamperedError:
                        raise self._bad(f"{name}.img chunk {n} fails authentication (altered, "
                                        f"swapped or moved)") from None
                else:
                    payload = sealed
                yield payload
            if pos != size or sha.hexdigest() != entry["sha256"]:
                raise self._bad(f"{name}.img does not match its checksum in the manifest")
        finally:
            f.close()

    def verify(self) -> None:
        for name in self.file_names():
            for _ in self.chunks(name):
                pass


def prune_checkpoints(fs: FileSystem, ckdir: str, keep: int) -> list[str]:
    """Remove all but the `keep` newest checkpoints; returns removed paths."""
    removed = []
    for _lsn, path in list_checkpoints(fs, ckdir)[keep:]:
        fs.rmtree(path)
        removed.append(path)
    if removed:
        fs.fsync_dir(ckdir)
    return removed
