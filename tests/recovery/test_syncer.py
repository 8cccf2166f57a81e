"""WAL flushes through the sync process (wal_flush = process, the default):
the fdatasync happens there while the event loop keeps running; if the
process dies, the flush in flight is reported as failed (never as success),
its records are undone, and later commits are flushed inline."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from aiondb import errors
from aiondb.recovery import syncer
from aiondb.recovery.crypto import Sealer
from aiondb.recovery.fs import OsFS
from aiondb.recovery.wal import COMMIT, WalWriter
from aiondb.recovery.walformat import WalScanner

KEY = bytes(range(32))


def _writer(waldir: str) -> WalWriter:
    w = WalWriter(OsFS(), waldir, 5, "t", Sealer(KEY), 1 << 20, flush_mode="process")
    w.open(64, 0)
    w.offload_always = True     # single commits here: no company to wait for
    return w


def _payloads(waldir: str) -> list[bytes]:
    sc = WalScanner(OsFS(), waldir, 5, Sealer(KEY), 0, 0)
    return [r.payload for r in sc.records() if r.type == COMMIT]


async def _loop_turns_while(fut: asyncio.Future, seconds: float) -> int:
    """How many times the loop ran other work while `fut` stayed pending."""
    turns = 0
    end = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < end:
        assert not fut.done()
        await asyncio.sleep(0.005)
        turns += 1
    return turns


def test_flush_waits_for_the_sync_process_not_the_loop(tmp_path) -> None:
    waldir = str(tmp_path)

    async def go() -> None:
        syncer.retain()
        w = _writer(waldir)
        try:
            _lsn, _prev, fut = w.append(COMMIT, 1, b"first")
            await fut                               # starts the process, flushes there
            proc = syncer.sync_process()
            assert proc is not None and proc.proc.poll() is None
            os.kill(proc.proc.pid, signal.SIGSTOP)  # the disk "hangs"
            try:
                _lsn, _prev, fut = w.append(COMMIT, 2, b"second")
                # the commit waits, and the loop keeps serving meanwhile
                assert await _loop_turns_while(fut, 0.3) > 10
            finally:
                os.kill(proc.proc.pid, signal.SIGCONT)
            await asyncio.wait_for(fut, 10)
            assert w.flushes == 2
        finally:
            w.close()
            syncer.release()

    asyncio.run(go())
    assert _payloads(waldir) == [b"first", b"second"]


def test_death_of_the_sync_process_fails_the_flush_then_flushes_inline(tmp_path) -> None:
    waldir = str(tmp_path)

    async def go() -> None:
        syncer.retain()
        w = _writer(waldir)
        try:
            _lsn, _prev, fut = w.append(COMMIT, 1, b"kept")
            await fut
            proc = syncer.sync_process()
            assert proc is not None
            os.kill(proc.proc.pid, signal.SIGSTOP)
            _lsn, _prev, fut = w.append(COMMIT, 2, b"in flight")
            await _loop_turns_while(fut, 0.05)
            os.kill(proc.proc.pid, signal.SIGKILL)
            with pytest.raises(errors.IoError, match="sync process"):
                await asyncio.wait_for(fut, 10)
            assert syncer.sync_process() is None     # not restarted: inline from now on
            _lsn, _prev, fut = w.append(COMMIT, 3, b"after")
            await asyncio.wait_for(fut, 10)
            assert w.fatal is None
        finally:
            w.close()
            syncer.release()

    asyncio.run(go())
    # the failed flush's record was undone: recovery never replays it
    assert _payloads(waldir) == [b"kept", b"after"]


def test_lone_commits_flush_inline_and_groups_use_the_process(tmp_path) -> None:
    waldir = str(tmp_path)

    async def go() -> None:
        syncer.retain()
        w = _writer(waldir)
        w.offload_always = False
        loop = asyncio.get_running_loop()
        try:
            await w.append(COMMIT, 1, b"alone")[2]
            assert loop not in syncer._PROCESSES          # nothing to overlap: inline
            futs = [w.append(COMMIT, 2 + i, b"group")[2] for i in range(3)]
            await asyncio.gather(*futs)
            assert loop in syncer._PROCESSES                  # a group: handed over
        finally:
            w.close()
            syncer.release()

    asyncio.run(go())
    assert _payloads(waldir) == [b"alone"] + [b"group"] * 3


def test_commits_during_a_flush_go_in_the_next_batch_at_once(tmp_path) -> None:
    """Commits arriving while a batch is with the sync process schedule no
    flush of their own; the batch's end starts the next one at once, also
    when an asynchronous commit among them had asked for a delayed flush."""
    waldir = str(tmp_path)

    async def go() -> None:
        syncer.retain()
        w = _writer(waldir)
        w.async_delay = 60.0          # a delayed flush would fail the wait below
        try:
            await w.append(COMMIT, 1, b"first")[2]
            proc = syncer.sync_process()
            assert proc is not None
            os.kill(proc.proc.pid, signal.SIGSTOP)
            try:
                in_flight = w.append(COMMIT, 2, b"in flight")[2]
                await _loop_turns_while(in_flight, 0.05)
                w.append(COMMIT, 3, b"async", sync=False)
                later = [w.append(COMMIT, 4 + i, b"later")[2] for i in range(3)]
                await _loop_turns_while(in_flight, 0.05)
                assert w.flushes == 1
            finally:
                os.kill(proc.proc.pid, signal.SIGCONT)
            await asyncio.wait_for(asyncio.gather(in_flight, *later), 10)
            assert w.flushes == 3         # first, the one in flight, then all the rest
        finally:
            w.close()
            syncer.release()

    asyncio.run(go())
    assert _payloads(waldir) == [b"first", b"in flight", b"async"] + [b"later"] * 3
