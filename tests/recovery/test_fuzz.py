"""Fuzzing the readers: whatever happens to the bytes on disk, reading a WAL
or a checkpoint either yields a prefix of what was written (WAL) / exactly
what was written (checkpoint), or fails with a clear DataCorrupted error,
never with anything else and never with wrong data."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiondb import errors
from aiondb.recovery.checkpoint import CheckpointReader, CheckpointWriter
from aiondb.recovery.crypto import PlainSealer, Sealer
from aiondb.recovery.fakefs import MemoryFS
from aiondb.recovery.wal import WalWriter
from aiondb.recovery.walformat import COMMIT, WalCorruption, WalScanner, list_segments

KEY = bytes(range(32))
PAYLOADS = [bytes([i]) * (20 + 37 * i % 200) for i in range(40)]
damage = st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(1, 255)), min_size=1,
                  max_size=4)


def build_wal(sealer) -> MemoryFS:
    fs = MemoryFS()
    fs.makedirs("/w")

    async def go() -> None:
        w = WalWriter(fs, "/w", 3, "t", sealer, 2048)
        w.open(64, 0)
        for i in range(0, len(PAYLOADS), 3):  # batches of 3
            futs = [w.append(COMMIT, 1, p)[2] for p in PAYLOADS[i:i + 3]]
            await asyncio.gather(*futs)
        w.close()

    asyncio.run(go())
    return fs


_WALS = {"encrypted": build_wal(Sealer(KEY)), "plain": build_wal(PlainSealer())}


@pytest.mark.parametrize("mode", ["encrypted", "plain"])
@given(damage=damage, truncate=st.booleans())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_wal_reads_a_prefix_or_reports_corruption(mode, damage, truncate) -> None:
    fs = MemoryFS()
    fs.makedirs("/w")
    src = _WALS[mode]
    segs = list_segments(src, "/w")
    for s in segs:
        f = fs.open(s.path, "w")
        f.write(src.read_file(s.path))
    done = set()
    for pos, xor in damage:
        s = segs[pos % len(segs)]
        f = fs.open(s.path, "rw")
        if not f.size():
            continue
        off = (pos // len(segs)) % f.size()
        if truncate:
            f.truncate(off)
        elif (s.path, off) not in done:  # (flipping a byte twice would undo it)
            done.add((s.path, off))
            f.pwrite(bytes([f.pread(1, off)[0] ^ xor]), off)
    sealer = Sealer(KEY) if mode == "encrypted" else PlainSealer()
    try:
        got = [r.payload for r in WalScanner(fs, "/w", 3, sealer, 0, 0).records()
               if r.type == COMMIT]
    except errors.DataCorrupted:
        return
    assert got == PAYLOADS[:len(got)]


@pytest.mark.parametrize("sealer", [Sealer(KEY), PlainSealer()], ids=["encrypted", "plain"])
@given(damage=damage)
@settings(max_examples=100, deadline=None)
def test_damaged_checkpoint_is_rejected(sealer, damage) -> None:
    fs = MemoryFS()
    w = CheckpointWriter(fs, "/c", 3, 4096, sealer)
    chunks = [bytes([i]) * 300 for i in range(5)]
    w.add_file("t1", chunks)
    path = w.commit({}, 100)
    files = [f"{path}/MANIFEST", f"{path}/t1.img"]
    done = set()
    for pos, xor in damage:
        p = files[pos % 2]
        f = fs.open(p, "rw")
        off = (pos // 2) % f.size()
        if (p, off) not in done:
            done.add((p, off))
            f.pwrite(bytes([f.pread(1, off)[0] ^ xor]), off)
    with pytest.raises(errors.DataCorrupted):
        r = CheckpointReader(fs, path, 3, sealer)
        assert list(r.chunks("t1")) == chunks  # if this held, the damage went unseen
        raise AssertionError("damage was not detected")


def test_a_wal_corruption_error_names_the_segment() -> None:
    assert issubclass(WalCorruption, errors.DataCorrupted)
