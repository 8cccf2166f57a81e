"""WAL: append/read, group commit, torn tails vs corruption, missing
segments, and I/O failures (EIO, ENOSPC) via the fault-injecting fs."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiondb import errors
from aiondb.recovery import walformat
from aiondb.recovery.crypto import PlainSealer, Sealer
from aiondb.recovery.fakefs import FaultyFS, MemoryFS
from aiondb.recovery.wal import WalWriter
from aiondb.recovery.walformat import (
    COMMIT,
    REC_HDR_SIZE,
    WalCorruption,
    WalScanner,
    crc_extension_used,
    crc_extension_warning,
    list_segments,
)

WAL = "/t/wal"
KEY = bytes(range(32))


def new_fs() -> MemoryFS:
    fs = MemoryFS()
    fs.makedirs(WAL)
    return fs


def writer(fs, sealer=None, seg=8192, mode="inline", fatal=None) -> WalWriter:
    w = WalWriter(fs, WAL, 5, "t", sealer or Sealer(KEY), seg, on_fatal=fatal, flush_mode=mode)
    w.open(64, 0)
    return w


async def commit(w: WalWriter, payloads: list[bytes]) -> list[int]:
    """Append all in one loop iteration (one group) and wait."""
    out = [w.append(COMMIT, i + 1, p) for i, p in enumerate(payloads)]
    await asyncio.gather(*(f for _, _, f in out))
    return [lsn for lsn, _, _ in out]


def scan(fs, sealer=None, repair=False, start=0, prev=0):
    sc = WalScanner(fs, WAL, 5, sealer or Sealer(KEY), start, prev, repair=repair)
    recs = [r for r in sc.records() if r.type == COMMIT]
    return recs, sc.result


def write_log(fs, batches: list[list[bytes]], **kw) -> WalWriter:
    async def go() -> WalWriter:
        w = writer(fs, **kw)
        for b in batches:
            await commit(w, b)
        w.close()
        return w
    return asyncio.run(go())


def patch(fs: MemoryFS, path: str, offset: int, data: bytes) -> None:
    f = fs.open(path, "rw")
    f.pwrite(data, offset)
    f.fsync()


def flip_bit(fs: MemoryFS, path: str, offset: int) -> None:
    f = fs.open(path, "rw")
    b = f.pread(1, offset)
    patch(fs, path, offset, bytes([b[0] ^ 0x10]))


def test_crc_extension_is_used() -> None:
    assert crc_extension_used(), crc_extension_warning()
    assert crc_extension_warning() is None


@given(st.binary(max_size=2000))
def test_record_crc_kernel_equals_crc32c(data: bytes) -> None:
    """encode_record calls crcmod's loop directly with its own table: the
    same CRC as crcmod's CRC-32C, which the scanner checks records with."""
    assert walformat._CRC_TABLE is not None      # the direct call, not a fallback
    assert walformat._CRC_KERNEL(data, 0xFFFFFFFF, walformat._CRC_TABLE) ^ 0xFFFFFFFF == \
        walformat.crc32c(data)
    rec = walformat.encode_record(64, 0, 0, COMMIT, 7, 1, data, PlainSealer(), b"t", 1)
    assert walformat.CRC.unpack_from(rec, len(rec) - 4)[0] == walformat.crc32c(rec[:-4])


@pytest.mark.parametrize("sealer", [Sealer(KEY), PlainSealer()], ids=["encrypted", "plain"])
@pytest.mark.parametrize("mode", ["inline", "thread"])
def test_append_and_read_back_across_segments(sealer, mode) -> None:
    fs = new_fs()
    payloads = [os.urandom(i % 700) for i in range(300)]
    write_log(fs, [payloads[i:i + 7] for i in range(0, 300, 7)], sealer=sealer, mode=mode)
    assert len(list_segments(fs, WAL)) > 5
    recs, res = scan(fs, sealer)
    assert [r.payload for r in recs] == payloads
    assert res.tail is None
    assert [r.xid for r in recs[:7]] == list(range(1, 8))


def test_concurrent_commits_share_one_flush() -> None:
    fs = new_fs()

    async def go() -> tuple[int, int]:
        w = writer(fs, seg=1 << 20)
        syncs = fs.syncs
        await commit(w, [b"x" * 100] * 50)
        n = w.flushes, fs.syncs - syncs
        w.close()
        return n

    assert asyncio.run(go()) == (1, 1)


def test_payload_is_encrypted_on_disk() -> None:
    fs = new_fs()
    write_log(fs, [[b"SECRET-PAYLOAD-" * 4]])
    raw = fs.read_file(list_segments(fs, WAL)[0].path)
    assert b"SECRET-PAYLOAD-" not in raw
    fs2 = new_fs()
    write_log(fs2, [[b"SECRET-PAYLOAD-" * 4]], sealer=PlainSealer())
    assert b"SECRET-PAYLOAD-" in fs2.read_file(list_segments(fs2, WAL)[0].path)


def test_torn_final_record_is_cut() -> None:
    fs = new_fs()
    write_log(fs, [[b"a" * 50], [b"b" * 50], [b"c" * 300]])
    recs, _ = scan(fs)
    seg = list_segments(fs, WAL)[0].path
    last = recs[-1].lsn
    patch(fs, seg, last + REC_HDR_SIZE + 100, bytes(50))  # half of it never made it
    recs2, res = scan(fs, repair=True)
    assert [r.payload for r in recs2] == [b"a" * 50, b"b" * 50]
    assert res.tail is not None and res.tail.offset == last and res.tail.records == 1
    recs3, res3 = scan(fs)
    assert len(recs3) == 2 and res3.tail is None  # repaired: zeroed


def test_bit_flip_mid_log_is_corruption_not_skipped() -> None:
    fs = new_fs()
    write_log(fs, [[b"a" * 50], [b"b" * 50], [b"c" * 50]])
    recs, _ = scan(fs)
    seg = list_segments(fs, WAL)[0].path
    flip_bit(fs, seg, recs[1].lsn + REC_HDR_SIZE + 10)
    with pytest.raises(WalCorruption) as ei:
        scan(fs, repair=True)
    assert ei.value.segment == seg and ei.value.offset == recs[1].lsn
    assert seg in str(ei.value) and f"offset {recs[1].lsn}" in str(ei.value)


def test_bit_flip_in_length_field_mid_log_is_found() -> None:
    fs = new_fs()
    write_log(fs, [[b"a" * 50], [b"b" * 50], [b"c" * 50]])
    recs, _ = scan(fs)
    seg = list_segments(fs, WAL)[0].path
    patch(fs, seg, recs[0].lsn, b"\xff\xff\x00\x00")  # garbage length
    with pytest.raises(WalCorruption):
        scan(fs)


def test_damage_within_the_last_unacknowledged_flush_is_a_torn_tail() -> None:
    # records of one flush may reach the disk in any order: a damaged record
    # followed only by records of the same (interrupted) flush is a torn tail
    fs = new_fs()
    write_log(fs, [[b"a" * 50], [b"b" * 50, b"c" * 50, b"d" * 50]])
    recs, _ = scan(fs)
    seg = list_segments(fs, WAL)[0].path
    flip_bit(fs, seg, recs[1].lsn + REC_HDR_SIZE + 3)
    recs2, res = scan(fs, repair=True)
    assert [r.payload for r in recs2] == [b"a" * 50]
    assert res.tail is not None and res.tail.records == 3


def test_missing_middle_segment_is_reported() -> None:
    fs = new_fs()
    write_log(fs, [[os.urandom(500)] for _ in range(60)])
    segs = list_segments(fs, WAL)
    assert len(segs) >= 3
    fs.remove(segs[1].path)
    with pytest.raises(WalCorruption, match="segment missing"):
        scan(fs)


def test_missing_last_segment_after_switch_is_reported() -> None:
    fs = new_fs()
    write_log(fs, [[os.urandom(500)] for _ in range(30)])
    segs = list_segments(fs, WAL)
    used = [s for s in segs if len(fs.read_file(s.path).rstrip(b"\0")) > 64]
    fs.remove(used[-1].path)
    for s in segs:
        if s.start > used[-1].start:
            fs.remove(s.path)
    with pytest.raises(WalCorruption, match="absent"):
        scan(fs)


def test_tampered_record_with_valid_crc_fails_authentication() -> None:
    from aiondb.recovery.walformat import CRC, crc32c
    fs = new_fs()
    write_log(fs, [[b"a" * 50], [b"b" * 50]])
    recs, _ = scan(fs)
    seg = list_segments(fs, WAL)[0].path
    r = recs[0]
    raw = bytearray(fs.read_file(seg)[r.lsn:r.lsn + r.length])
    raw[REC_HDR_SIZE + 1] ^= 1
    raw[-4:] = CRC.pack(crc32c(bytes(raw[:-4])))  # attacker fixes the CRC
    patch(fs, seg, r.lsn, bytes(raw))
    with pytest.raises(WalCorruption, match="authentication"):
        scan(fs)


def test_wrong_tenant_key_cannot_read() -> None:
    fs = new_fs()
    write_log(fs, [[b"a" * 50], [b"b" * 50]])
    with pytest.raises(WalCorruption, match="authentication"):
        scan(fs, sealer=Sealer(bytes(32)))


def test_enospc_creating_a_segment_fails_the_commit_cleanly() -> None:
    mem = new_fs()
    fs = FaultyFS(mem)

    async def go() -> None:
        w = writer(fs, seg=4096)
        await commit(w, [b"a" * 100])
        fs.fail_writes(errno.ENOSPC, only=".wal.tmp")
        with pytest.raises(errors.DiskFull, match="not committed"):
            for _ in range(100):  # until the segment fills up and a new one is needed
                await commit(w, [b"b" * 100])
        fs.heal()
        await commit(w, [b"c" * 100])
        w.close()

    asyncio.run(go())
    payloads = [r.payload for r in scan(mem)[0]]
    assert payloads[0] == b"a" * 100 and payloads[-1] == b"c" * 100
    assert set(payloads[1:-1]) <= {b"b" * 100}


@pytest.mark.parametrize("err,cls", [(errno.EIO, errors.IoError),
                                     (errno.ENOSPC, errors.DiskFull)])
def test_failed_fsync_reports_error_and_leaves_nothing_to_replay(err, cls) -> None:
    mem = new_fs()
    fs = FaultyFS(mem)

    async def go() -> None:
        w = writer(fs, seg=1 << 20)
        await commit(w, [b"ok1"])
        fs.fail_after(1, err, only=".wal", persistent=False)  # the fdatasync fails once
        with pytest.raises(cls, match="not committed"):
            await commit(w, [b"lost1", b"lost2"])
        fs.heal()
        await commit(w, [b"ok2"])
        w.close()

    asyncio.run(go())
    recs, res = scan(mem)
    assert [r.payload for r in recs] == [b"ok1", b"ok2"]
    assert res.tail is None


def test_failed_fsync_and_failed_undo_make_the_wal_unusable() -> None:
    mem = new_fs()
    fs = FaultyFS(mem)
    fatal: list[str] = []

    async def go() -> None:
        w = writer(fs, seg=1 << 20, fatal=fatal.append)
        await commit(w, [b"ok1"])
        fs.fail_after(1, errno.EIO, only=".wal")  # everything after the pwrite fails
        with pytest.raises(errors.IoError, match="may or may not"):
            await commit(w, [b"unknown"])
        fs.heal()
        with pytest.raises(errors.IoError, match="unusable"):
            w.append(COMMIT, 9, b"more")
        w.close()

    asyncio.run(go())
    assert fatal and "could not be undone" in fatal[0]


def test_async_commit_is_flushed_soon_without_waiting() -> None:
    fs = new_fs()

    async def go() -> None:
        w = writer(fs, seg=1 << 20)
        lsn, _prev, fut = w.append(COMMIT, 1, b"async", sync=False)
        assert fut is None and w.flushed <= lsn
        await asyncio.sleep(0.1)  # far longer than async_delay
        assert w.flushed == w.end
        w.close()

    asyncio.run(go())
    assert [r.payload for r in scan(fs)[0]] == [b"async"]


def test_async_commit_lost_to_a_failed_flush_is_fatal() -> None:
    mem = new_fs()
    fs = FaultyFS(mem)
    fatal: list[str] = []

    async def go() -> None:
        w = writer(fs, seg=1 << 20, fatal=fatal.append)
        fs.fail_after(0, errno.EIO, only=".wal", persistent=False)
        w.append(COMMIT, 1, b"async", sync=False)
        await asyncio.sleep(0.1)
        fs.heal()
        w.close()

    asyncio.run(go())
    assert fatal and "synchronous_commit=off" in fatal[0]


def test_reopen_continues_the_log() -> None:
    fs = new_fs()
    write_log(fs, [[b"a"], [b"b"]])
    _recs, res = scan(fs)

    async def go() -> None:
        w = WalWriter(fs, WAL, 5, "t", Sealer(KEY), 8192)
        w.open(res.end_lsn, res.last_lsn)
        await commit(w, [b"c"])
        w.close()

    asyncio.run(go())
    assert [r.payload for r in scan(fs)[0]] == [b"a", b"b", b"c"]


def test_segment_files_are_closed_after_a_switch(tmp_path) -> None:
    from aiondb.recovery.fs import OsFS
    waldir = str(tmp_path / "wal")
    os.makedirs(waldir)

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def go() -> tuple[int, int]:
        w = WalWriter(OsFS(), waldir, 5, "t", Sealer(KEY), 2048)
        w.open(64, 0)
        await commit(w, [b"x" * 100])
        before = open_fds()
        for _ in range(100):
            await commit(w, [b"x" * 300])
        after = open_fds()
        w.close()
        return before, after

    before, after = asyncio.run(go())
    assert len(os.listdir(waldir)) > 10
    assert after <= before + 1


def test_failed_batch_after_a_switch_leaves_a_contiguous_log() -> None:
    mem = new_fs()
    fs = FaultyFS(mem)

    async def go() -> None:
        w = writer(fs, seg=2048)
        await commit(w, [b"a" * 1000])  # past half the segment: the next is pre-created
        assert w._next is not None
        w._next.result()
        # the write into the second segment fails; by then a third one is being
        # pre-created (c fills the second past half)
        fs.fail_after(0, errno.EIO, only="0000000000000800.wal", persistent=False)
        with pytest.raises(errors.IoError, match="not committed"):
            await commit(w, [b"b" * 400, b"c" * 1000])  # c spills into the next segment
        assert len(list_segments(mem, WAL)) == 1
        await commit(w, [b"d" * 100])
        w.close()

    asyncio.run(go())
    recs, res = scan(mem)
    assert [r.payload[:1] for r in recs] == [b"a", b"d"] and res.tail is None


def test_corruption_is_found_past_a_second_damaged_record() -> None:
    # b and x are damaged; c (same flush as b) is intact but proves nothing;
    # d was written after b's flush had completed, so b was durable: corruption
    fs = new_fs()
    write_log(fs, [[b"a" * 50], [b"b" * 50, b"c" * 50, b"x" * 50], [b"d" * 50]])
    recs, _ = scan(fs)
    seg = list_segments(fs, WAL)[0].path
    for r in (recs[1], recs[3]):
        flip_bit(fs, seg, r.lsn + REC_HDR_SIZE + 5)
    with pytest.raises(WalCorruption) as ei:
        scan(fs, repair=True)
    assert ei.value.offset == recs[1].lsn
