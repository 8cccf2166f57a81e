"""Checkpoint files: write/load, truncation and damage fall back to an older
checkpoint, tampering and chunk swaps are detected."""

from __future__ import annotations

import asyncio
import os

import pytest
from helpers_recovery import DATA, create_table, insert_rows, open_registry, reopen, rows_of, state

from aiondb.recovery.checkpoint import (
    FRAME,
    IMG_HDR,
    CheckpointInvalid,
    CheckpointReader,
    CheckpointWriter,
    list_checkpoints,
)
from aiondb.recovery.crypto import PlainSealer, Sealer
from aiondb.recovery.fakefs import MemoryFS

KEY = bytes(range(32))
CK = "/c/checkpoints"


def write_ckpt(fs, sealer, lsn=1000, files=None) -> str:
    w = CheckpointWriter(fs, CK, 7, lsn, sealer)
    for name, chunks in (files or {"a": [b"one", b"two", b"three"], "b": [b"x" * 100]}).items():
        w.add_file(name, chunks)
    return w.commit({"note": "hi"}, prev_lsn=900)


@pytest.mark.parametrize("sealer", [Sealer(KEY), PlainSealer()], ids=["encrypted", "plain"])
def test_write_and_read(sealer) -> None:
    fs = MemoryFS()
    path = write_ckpt(fs, sealer)
    r = CheckpointReader(fs, path, 7, sealer)
    assert r.lsn == 1000 and r.prev_lsn == 900 and r.manifest["note"] == "hi"
    assert list(r.chunks("a")) == [b"one", b"two", b"three"]
    assert list_checkpoints(fs, CK) == [(1000, path)]


def read_all(fs, path, sealer, name="a"):
    return list(CheckpointReader(fs, path, 7, sealer).chunks(name))


@pytest.mark.parametrize("sealer", [Sealer(KEY), PlainSealer()], ids=["encrypted", "plain"])
def test_truncated_file_is_detected(sealer) -> None:
    fs = MemoryFS()
    path = write_ckpt(fs, sealer)
    f = fs.open(os.path.join(path, "a.img"), "rw")
    f.truncate(f.size() - 3)
    with pytest.raises(CheckpointInvalid, match="truncated"):
        read_all(fs, path, sealer)


@pytest.mark.parametrize("sealer", [Sealer(KEY), PlainSealer()], ids=["encrypted", "plain"])
def test_swapped_chunks_are_detected(sealer) -> None:
    fs = MemoryFS()
    path = write_ckpt(fs, sealer, files={"a": [b"AAAA", b"BBBB"]})
    p = os.path.join(path, "a.img")
    raw = fs.read_file(p)
    pos = IMG_HDR.size
    frames = []
    while pos < len(raw):
        n = FRAME.unpack_from(raw, pos)[1]
        frames.append(raw[pos:pos + FRAME.size + n])
        pos += FRAME.size + n
    f = fs.open(p, "w")
    f.write(raw[:IMG_HDR.size] + frames[1] + frames[0])
    with pytest.raises(CheckpointInvalid):
        read_all(fs, path, sealer)


def test_chunk_moved_between_files_fails_authentication() -> None:
    fs = MemoryFS()
    sealer = Sealer(KEY)
    path = write_ckpt(fs, sealer, files={"a": [b"AAAA"], "b": [b"BBBB"]})
    a, b = (fs.read_file(os.path.join(path, n)) for n in ("a.img", "b.img"))
    f = fs.open(os.path.join(path, "a.img"), "w")
    f.write(a[:IMG_HDR.size] + b[IMG_HDR.size:])  # same size, valid CRC, wrong place
    r = CheckpointReader(fs, path, 7, sealer)
    with pytest.raises(CheckpointInvalid, match="authentication"):
        list(r.chunks("a"))


def test_renamed_checkpoint_fails_authentication() -> None:
    fs = MemoryFS()
    sealer = Sealer(KEY)
    path = write_ckpt(fs, sealer, lsn=1000)
    fs.rename(path, os.path.join(CK, "ckpt-0000000000002000"))
    with pytest.raises(CheckpointInvalid, match="authentication"):
        CheckpointReader(fs, os.path.join(CK, "ckpt-0000000000002000"), 7, sealer)


def test_interrupted_checkpoint_is_not_listed() -> None:
    fs = MemoryFS()
    w = CheckpointWriter(fs, CK, 7, 500, PlainSealer())
    w.add_file("a", [b"x"])
    assert list_checkpoints(fs, CK) == []  # still *.tmp: swept at start


async def _history(fs) -> dict:
    reg = await open_registry(fs)
    db = reg.get("postgres")
    txn = db.begin()
    create_table(txn, "t")
    await txn.commit()
    await insert_rows(db, "t", [(i, f"a{i}") for i in range(50)])
    await reg.checkpoint("postgres")
    await insert_rows(db, "t", [(i, f"b{i}") for i in range(50, 80)])
    await reg.checkpoint("postgres")
    await insert_rows(db, "t", [(i, f"c{i}") for i in range(80, 90)])
    st = state(db)
    await reg.close()
    return st


def test_recovery_from_checkpoint_plus_wal() -> None:
    fs = MemoryFS()
    before = asyncio.run(_history(fs))
    reg = reopen(fs)
    assert state(reg.get("postgres")) == before
    rep = reg.reports["postgres"]
    assert rep.checkpoint_rows == 80 and rep.transactions == 1
    assert len(list_checkpoints(fs, f"{DATA}/tenants/16384/checkpoints")) == 2


def test_truncated_newest_checkpoint_falls_back_to_the_older_one(caplog) -> None:
    fs = MemoryFS()
    before = asyncio.run(_history(fs))
    newest = list_checkpoints(fs, f"{DATA}/tenants/16384/checkpoints")[0][1]
    img = [n for n in fs.listdir(newest) if n.startswith("t")][0]
    f = fs.open(os.path.join(newest, img), "rw")
    f.truncate(f.size() // 2)
    msgs: list[str] = []
    reg = reopen(fs, progress=msgs.append)
    db = reg.get("postgres")
    assert state(db) == before
    assert len(rows_of(db, "t")) == 90
    assert any("unusable" in m and "falling back" in m for m in msgs)
