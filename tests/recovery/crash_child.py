"""Child process for test_kill.py: commits numbered transactions on a real
data directory and prints "ACK <n>" after each commit returns, until killed.

    python crash_child.py DATA_DIR SESSIONS
"""

from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from helpers_recovery import KEY, create_table, table  # noqa: E402

from aiondb.config import Settings  # noqa: E402
from aiondb.storage.durable import DurableRegistry  # noqa: E402


async def main(path: str, sessions: int) -> None:
    reg = DurableRegistry(Settings(data_dir=path, master_key=KEY, wal_segment_size=256 * 1024,
                                   checkpoint_interval=0.0, max_wal_size=512 * 1024))
    await reg.open()
    db = reg.get("postgres")
    if db.catalog.lookup(2200, "t") is None:
        txn = db.begin()
        create_table(txn, "t")
        await txn.commit()
    base = max((k // 2 for k in db.tables[table(db, "t").oid].rows), default=0) + 1
    out = sys.stdout

    async def session(s: int) -> None:
        n = base * 100 + s
        while True:
            txn = db.begin()
            t = table(db, "t")
            txn.insert(t, (2 * n, "x" * (n % 200)))
            txn.insert(t, (2 * n + 1, "y"))
            await txn.commit()
            out.write(f"ACK {n}\n")
            out.flush()
            n += sessions

    out.write("READY\n")
    out.flush()
    await asyncio.gather(*(session(s) for s in range(sessions)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
