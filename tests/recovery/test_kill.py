"""Kill -9 torture on real files: a child process commits numbered
transactions (max_wal_size small, so checkpoints run too) and is killed at
random moments; after each kill every acknowledged commit is present and no
transaction is half-visible. (Process death keeps the page cache; power
loss is covered by test_crash.py's simulator.)"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from helpers_recovery import KEY, rows_of

from aiondb.config import Settings
from aiondb.storage.durable import DurableRegistry

CHILD = os.path.join(os.path.dirname(__file__), "crash_child.py")


def run_and_kill(path: str, rng: random.Random) -> set[int]:
    p = subprocess.Popen([sys.executable, CHILD, path, "4"], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "READY"
    acked: set[int] = set()
    deadline = time.monotonic() + rng.uniform(0.05, 0.5)
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        acked.add(int(line.split()[1]))
    p.send_signal(signal.SIGKILL)
    for line in p.stdout:  # acknowledged before the kill landed
        if line.startswith("ACK"):
            acked.add(int(line.split()[1]))
    p.wait()
    return acked


def verify(path: str, acked: set[int]) -> int:
    async def go() -> dict:
        reg = DurableRegistry(Settings(data_dir=path, master_key=KEY,
                                       wal_segment_size=256 * 1024, checkpoint_interval=0.0))
        await reg.open()
        rows = rows_of(reg.get("postgres"), "t")
        await reg.close()
        return rows

    rows = asyncio.run(go())
    present = {k // 2 for k in rows}
    for n in present:
        assert 2 * n in rows and 2 * n + 1 in rows, f"transaction {n} is half-visible"
    missing = acked - present
    assert not missing, f"acknowledged commits lost: {sorted(missing)[:10]}"
    return len(present)


def torture(tmp_path, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    path = str(tmp_path / "data")
    all_acked: set[int] = set()
    for _ in range(rounds):
        all_acked |= run_and_kill(path, rng)
        verify(path, all_acked)
    assert len(all_acked) > rounds  # the child really committed between kills


def test_kill_9_keeps_every_acknowledged_commit(tmp_path) -> None:
    torture(tmp_path, rounds=3, seed=1)


@pytest.mark.slow
def test_kill_9_torture_many_rounds(tmp_path) -> None:
    torture(tmp_path, rounds=40, seed=2)
