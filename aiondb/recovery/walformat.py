"""WAL on-disk format and reader.

A tenant's log is a sequence of segment files in `wal/`, each named by the
LSN of its first byte (`%016X.wal`) and pre-allocated with zeros. LSNs are
byte positions in the logical log: a record's LSN is where it starts, the
next segment starts where the previous one ends, so a gap in the names is a
missing segment.

Segment header (64 bytes): magic, version, tenant oid, start LSN, size,
creation time, CRC-32C.

Record (little-endian), CRC-32C over everything before it:

    u32 length     whole record, header to CRC inclusive (0 = unused space)
    u64 lsn        == its position; stale bytes never pass for a record
    u64 prev_lsn   previous record: a chain, so a lost record is noticed
    u64 sync_lsn   everything below this was fsynced when the record was
                   written; tells a torn tail from corruption (see scan)
    u8  type       COMMIT, SWITCH (rest of the segment unused; next segment)
    u8  flags      SEALED: payload is AES-256-GCM sealed
    u16 reserved
    u32 epoch      nonce prefix, fresh whenever an LSN might be reused
    u64 xid        tenant-local transaction id
    i64 timestamp  commit time, microseconds since the Unix epoch
    ... payload    (sealed: nonce = epoch|lsn, associated data = header|tenant)
    u32 crc32c

Reading stops at the first position that does not hold the expected record.
If nothing after it was durable when written (every later intact record has
sync_lsn <= that position) it is a torn tail: the last, unacknowledged
flush was interrupted, and it is cut off. Otherwise an intact, once-durable
record follows a bad one: that is corruption in the middle of the log, which
is reported with segment and offset and never skipped.
"""

from __future__ import annotations

import os
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import crcmod.predefined

from aiondb import errors
from aiondb.recovery.crypto import PlainSealer, Sealer, TamperedError
from aiondb.recovery.fs import FileSystem

crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def _crc_kernel() -> tuple[Callable[[Any, int, Any], int], Any]:
    """crcmod's own CRC loop and our table for it, for encode_record to
    call without crc32c's Python wrapper (a frame per record):
    kernel(data, 0xFFFFFFFF, table) ^ 0xFFFFFFFF == crc32c(data)."""
    table = []
    for i in range(256):        # the reflected CRC-32C (Castagnoli) table
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    try:
        from crcmod import _crcfunext as mod
        packed: Any = struct.pack("256I", *table)
    except ImportError:
        from crcmod import _crcfunpy as mod
        packed = table
    kernel = mod._crc32r
    try:
        if kernel(b"123456789", 0xFFFFFFFF, packed) ^ 0xFFFFFFFF == crc32c(b"123456789"):
            return kernel, packed
    except Exception:  # noqa: BLE001 - crcmod's internals changed: use its wrapper
        pass
    return (lambda data, crc, table: crc32c(data) ^ 0xFFFFFFFF), None


_CRC_KERNEL, _CRC_TABLE = _crc_kernel()


def crc_extension_used() -> bool:
    """True when crcmod runs its C extension (≈350 MB/s, not ≈6 MB/s).
    `crcmod.crcmod` as an attribute is shadowed by a function of that name,
    hence the sys.modules lookup."""
    mod = sys.modules.get("crcmod.crcmod")
    return bool(getattr(mod, "_usingExtension", False))


def crc_extension_warning() -> str | None:
    """A warning for the server to log at start, or None when all is well."""
    if crc_extension_used():
        return None
    return ("crcmod's C extension is not in use: WAL checksums run in pure Python "
            "(about 6 MB/s instead of 350 MB/s). Reinstall crcmod with a C compiler "
            "and Python headers available (pip install --no-binary crcmod crcmod).")


SEG_MAGIC = b"AIONWAL\x00"
SEG_VERSION = 1
SEG_HDR = struct.Struct("<8sHHQQQq")
SEG_HDR_SIZE = 64
REC_HDR = struct.Struct("<IQQQBBHIQq")
REC_HDR_SIZE = REC_HDR.size  # 52
CRC = struct.Struct("<I")
NONCE = struct.Struct("<IQ")
U64 = struct.Struct("<Q")
MIN_RECORD = REC_HDR_SIZE + CRC.size

COMMIT = 1
SWITCH = 2
FLAG_SEALED = 1


class WalCorruption(errors.DataCorrupted):
    """Corruption in the middle of the log (or a missing segment)."""

    def __init__(self, message: str, segment: str | None = None, offset: int | None = None):
        super().__init__(message)
        self.segment = segment
        self.offset = offset


def format_lsn(lsn: int) -> str:
    """PostgreSQL's spelling: high/low 32 bits in hex."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def segment_name(start: int) -> str:
    return f"{start:016X}.wal"


def parse_segment_name(name: str) -> int | None:
    if len(name) != 20 or not name.endswith(".wal"):
        return None
    try:
        return int(name[:16], 16)
    except ValueError:
        return None


def encode_segment_header(tenant_oid: int, start: int, size: int) -> bytes:
    hdr = SEG_HDR.pack(SEG_MAGIC, SEG_VERSION, 0, tenant_oid, start, size,
                       time.time_ns() // 1000)
    hdr += CRC.pack(crc32c(hdr))
    return hdr + bytes(SEG_HDR_SIZE - len(hdr))


def encode_record(lsn: int, prev: int, sync: int, rtype: int, xid: int, ts: int,
                  payload: bytes | bytearray, sealer: Sealer | PlainSealer, ad_tenant: bytes,
                  epoch: int) -> bytearray:
    length = REC_HDR_SIZE + len(payload) + sealer.overhead + 4
    if sealer.encrypted:
        hdr = REC_HDR.pack(length, lsn, prev, sync, rtype, FLAG_SEALED, 0, epoch, xid, ts)
        body = sealer.seal(NONCE.pack(epoch, lsn), payload, hdr + ad_tenant)
    else:
        hdr = REC_HDR.pack(length, lsn, prev, sync, rtype, 0, 0, epoch, xid, ts)
        body = payload
    # one copy of the body, however big, and one CRC call over header and body
    rec = bytearray(hdr)
    rec += body
    rec += CRC.pack(_CRC_KERNEL(rec, 0xFFFFFFFF, _CRC_TABLE) ^ 0xFFFFFFFF)
    return rec


@dataclass(slots=True)
class Record:
    lsn: int
    prev: int
    sync: int
    type: int
    xid: int
    timestamp: int
    payload: bytes
    length: int
    flags: int = 0
    epoch: int = 0


@dataclass
class Segment:
    path: str
    start: int
    size: int
    tenant_oid: int = 0
    header_ok: bool = True

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def list_segments(fs: FileSystem, waldir: str) -> list[Segment]:
    """Segments by start LSN, with header checks (a bad header is kept, flagged)."""
    segs = []
    for name in fs.listdir(waldir):
        start = parse_segment_name(name)
        if start is None:
            continue
        path = os.path.join(waldir, name)
        f = fs.open(path, "r")
        try:
            size = f.size()
            hdr = f.pread(SEG_HDR_SIZE, 0)
        finally:
            f.close()
        seg = Segment(path, start, size)
        if len(hdr) < SEG_HDR_SIZE or CRC.unpack_from(hdr, SEG_HDR.size)[0] != crc32c(
                hdr[:SEG_HDR.size]):
            seg.header_ok = False
        else:
            magic, _ver, _r, oid, hstart, hsize, _ts = SEG_HDR.unpack_from(hdr)
            seg.tenant_oid = oid
            seg.header_ok = magic == SEG_MAGIC and hstart == start and hsize == size
        segs.append(seg)
    segs.sort(key=lambda s: s.start)
    return segs


@dataclass
class TornTail:
    segment: str
    offset: int
    lsn: int
    records: int        # records discarded (intact but unacknowledged, plus the torn one)
    bytes: int          # non-zero bytes discarded


@dataclass
class ScanResult:
    start_lsn: int
    end_lsn: int = 0          # where the next record goes
    last_lsn: int = 0         # last intact record (0: none)
    records: int = 0
    bytes: int = 0
    tail: TornTail | None = None
    segments: list[Segment] = field(default_factory=list)


class WalScanner:
    """Iterates the records of a tenant's log from `start_lsn`.

    `expected_prev` is the LSN of the record before start_lsn (from the
    checkpoint manifest) so the chain is checked from the first record on.
    After iteration, `result` tells where the log ends and what was cut.
    With `repair`, a torn tail is zeroed and later segments removed (the
    server's recovery); without it nothing is written (doctor).
    """

    def __init__(self, fs: FileSystem, waldir: str, tenant_oid: int,
                 sealer: Sealer | PlainSealer, start_lsn: int, expected_prev: int,
                 repair: bool = False) -> None:
        self.fs = fs
        self.waldir = waldir
        self.tenant_oid = tenant_oid
        self.ad_tenant = U64.pack(tenant_oid)
        self.sealer = sealer
        self.expected_prev = expected_prev
        self.repair = repair
        self.result = ScanResult(start_lsn)

    # --- record parsing -------------------------------------------------------------------
    def _parse(self, buf: bytes, off: int, seg_start: int, prev: int | None) -> Record | None:
        """The record at buf[off:] if intact and in place, else None."""
        if off + MIN_RECORD > len(buf):
            return None
        length, lsn, rprev, sync, rtype, flags, _r, epoch, xid, ts = REC_HDR.unpack_from(buf, off)
        if (length < MIN_RECORD or off + length > len(buf) or lsn != seg_start + off
                or (prev is not None and rprev != prev)):
            return None
        end = off + length - 4
        if CRC.unpack_from(buf, end)[0] != crc32c(buf[off:end]):
            return None
        return Record(lsn, rprev, sync, rtype, xid, ts, buf[off + REC_HDR_SIZE:end], length,
                      flags, epoch)

    def _open_payload(self, rec: Record, buf: bytes, off: int, seg: Segment) -> bytes:
        if not rec.flags & FLAG_SEALED:
            if self.sealer.encrypted:
                raise WalCorruption(
                    f"WAL record at LSN {format_lsn(rec.lsn)} in {seg.path} (offset {off}) is "
                    f"not sealed in an encrypted data directory (altered)", seg.path, off)
            return rec.payload
        if not self.sealer.encrypted:
            raise WalCorruption(f"WAL record at LSN {format_lsn(rec.lsn)} in {seg.path} is "
                                f"encrypted but no key is available", seg.path, off)
        hdr = buf[off:off + REC_HDR_SIZE]
        try:
            return self.sealer.open(NONCE.pack(rec.epoch, rec.lsn), rec.payload,
                                    hdr + self.ad_tenant)
        except TamperedError:
            raise WalCorruption(
                f"WAL record at LSN {format_lsn(rec.lsn)} in {seg.path} (offset {off}) fails "
                f"authentication: it was altered, moved or written under another key",
                seg.path, off) from None

    # --- reading --------------------------------------------------------------------------
    def _read(self, seg: Segment) -> bytes:
        return self.fs.read_file(seg.path)

    def records(self) -> Iterator[Record]:
        res = self.result
        segs = list_segments(self.fs, self.waldir)
        res.segments = segs
        pos = res.start_lsn
        live = [s for s in segs if s.end > pos]
        if not live:
            res.end_lsn, res.last_lsn = pos, self.expected_prev
            return
        for a, b in zip(live, live[1:], strict=False):
            if b.start != a.end:
                raise WalCorruption(
                    f"WAL segment missing: expected {segment_name(a.end)} after {a.path} "
                    f"(LSN {format_lsn(a.end)} to {format_lsn(b.start)} is absent)",
                    os.path.join(self.waldir, segment_name(a.end)), 0)
        if live[0].start > pos:
            raise WalCorruption(
                f"WAL segment missing: no segment holds LSN {format_lsn(pos)} (the "
                f"checkpoint's start); the first present is {live[0].path}",
                os.path.join(self.waldir, segment_name(pos)), 0)
        prev = self.expected_prev
        k = 0
        pos = max(pos, live[0].start + SEG_HDR_SIZE)
        while True:
            seg = live[k]
            if not seg.header_ok or (seg.tenant_oid and seg.tenant_oid != self.tenant_oid):
                raise WalCorruption(f"WAL segment {seg.path} has a damaged header or belongs "
                                    f"to another tenant", seg.path, 0)
            buf = self._read(seg)
            off = pos - seg.start
            while True:
                rec = self._parse(buf, off, seg.start, prev)
                if rec is None:
                    self._end_of_log(live, k, buf, off, prev)
                    return
                payload = self._open_payload(rec, buf, off, seg)
                res.records += 1
                res.bytes += rec.length
                prev = rec.lsn
                res.last_lsn = rec.lsn
                if rec.type == SWITCH:
                    nxt = U64.unpack_from(payload)[0] if len(payload) >= 8 else -1
                    if nxt != seg.end or k + 1 >= len(live):
                        raise WalCorruption(
                            f"WAL segment missing: {seg.path} continues in "
                            f"{segment_name(seg.end)}, which is absent",
                            os.path.join(self.waldir, segment_name(seg.end)), 0)
                    k += 1
                    pos = live[k].start + SEG_HDR_SIZE
                    res.end_lsn = pos
                    break
                rec.payload = payload
                off += rec.length
                res.end_lsn = seg.start + off
                yield rec

    # --- end of log: torn tail or corruption --------------------------------------------
    def _end_of_log(self, live: list[Segment], k: int, buf: bytes, off: int, prev: int) -> None:
        seg = live[k]
        res = self.result
        pos = seg.start + off  # the first position without the expected record
        res.end_lsn = pos
        res.last_lsn = prev
        tail_end = len(buf.rstrip(b"\0"))
        if tail_end < off:
            tail_end = off
        found, max_sync = self._intact_after(buf, off, seg.start, tail_end, pos)
        dirty_bytes = tail_end - off
        for s in live[k + 1:]:
            sbuf = self._read(s)
            used = len(sbuf.rstrip(b"\0"))
            if s.header_ok and used > SEG_HDR_SIZE:
                n, ms = self._intact_after(sbuf, SEG_HDR_SIZE - 1, s.start, used,
                                           s.start + SEG_HDR_SIZE - 1)
                found += n
                max_sync = max(max_sync, ms)
            dirty_bytes += max(used - SEG_HDR_SIZE, 0)
        if max_sync > pos:
            raise WalCorruption(
                f"WAL corruption in {live[k].path} at offset {off} (LSN {format_lsn(pos)}): "
                f"the record there is damaged but intact records written after it was made "
                f"durable follow; refusing to skip committed data", live[k].path, off)
        if dirty_bytes == 0:
            return
        res.tail = TornTail(live[k].path, off, pos, found + (1 if tail_end > off else 0),
                            dirty_bytes)
        if self.repair:
            self._cut(live, k, off, tail_end)

    def _intact_after(self, buf: bytes, off: int, seg_start: int, tail_end: int,
                      bad_lsn: int) -> tuple[int, int]:
        """Count intact records after the bad position in this segment and the
        highest sync_lsn among them, across any further damaged stretches."""
        n = max_sync = 0
        while off < tail_end:
            cand = self._next_intact(buf, off, seg_start, tail_end, bad_lsn)
            if cand is None:
                break
            k, ms, off = self._chain_from(buf, cand, seg_start)
            n += k
            max_sync = max(max_sync, ms)
            bad_lsn = seg_start + off
        return n, max_sync

    def _next_intact(self, buf: bytes, off: int, seg_start: int, tail_end: int,
                     bad_lsn: int) -> int | None:
        """Offset of the first intact record after a damaged one at `off`. Its
        successor names it as prev_lsn, which finds it even when the damaged
        length is garbage; failing that (two damaged in a row), any record
        whose LSN matches its place."""
        needle = U64.pack(bad_lsn)
        i = buf.find(needle, off + 1, tail_end)
        while i != -1:
            cand = i - 12  # prev_lsn sits 12 bytes into the header
            if cand > off and self._parse(buf, cand, seg_start, None) is not None:
                return cand
            i = buf.find(needle, i + 1, tail_end)
        for cand in range(off + 1, tail_end - MIN_RECORD + 1):
            if U64.unpack_from(buf, cand + 4)[0] == seg_start + cand:
                if self._parse(buf, cand, seg_start, None) is not None:
                    return cand
        return None

    def _chain_from(self, buf: bytes, off: int, seg_start: int) -> tuple[int, int, int]:
        """(records, highest sync_lsn, offset where the chain breaks)."""
        n = max_sync = 0
        prev = None
        while True:
            rec = self._parse(buf, off, seg_start, prev)
            if rec is None:
                return n, max_sync, off
            n += 1
            max_sync = max(max_sync, rec.sync)
            prev = rec.lsn
            off += rec.length

    def _cut(self, live: list[Segment], k: int, off: int, tail_end: int) -> None:
        """Zero the torn tail and remove later segments (all unacknowledged)."""
        seg = live[k]
        f = self.fs.open(seg.path, "rw")
        try:
            pos = off
            while pos < tail_end:
                n = min(1 << 20, tail_end - pos)
                f.pwrite(bytes(n), pos)
                pos += n
            f.fdatasync()
        finally:
            f.close()
        removed = False
        for s in live[k + 1:]:
            self.fs.remove(s.path)
            removed = True
        if removed:
            self.fs.fsync_dir(self.waldir)


def quarantine(fs: FileSystem, path: str, qdir: str) -> str:
    """Move a damaged file aside (kept for inspection, out of the log)."""
    fs.makedirs(qdir)
    dst = os.path.join(qdir, f"{os.path.basename(path)}.{time.strftime('%Y%m%dT%H%M%S')}")
    fs.rename(path, dst)
    fs.fsync_dir(os.path.dirname(path))
    fs.fsync_dir(qdir)
    return dst
