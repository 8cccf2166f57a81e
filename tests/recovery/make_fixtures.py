"""Regenerates the data-directory fixtures under tests/recovery/fixtures/.

    python tests/recovery/make_fixtures.py

format-v1/  a data directory in the current storage format (version 1),
            encrypted with helpers_recovery.KEY: tenant "postgres" with table
            t (20 rows: 10 in a checkpoint, 10 in the WAL after it) and tenant
            "acme" with table kv (3 rows, WAL only).
format-v0/  the same directory in the version-0 layout (before the FORMAT
            manifest): made from format-v1 by `downgrade_to_v0`, the inverse
            of the upgrade step.

Run it only when a new storage format version is introduced: keep the old
fixture as format-v<old>/ and teach the upgrade tests the new step. The
fixtures are what guard the on-disk format against accidental change.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from helpers_recovery import KEY, create_table, insert_rows  # noqa: E402

from aiondb.config import Settings  # noqa: E402
from aiondb.recovery.datadir import DataDir  # noqa: E402
from aiondb.recovery.fs import OsFS  # noqa: E402
from aiondb.storage.durable import DurableRegistry  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
EXPECTED = {
    "postgres": {"t": {i: (i, f"row {i}") for i in range(20)}},
    "acme": {"kv": {i: (i, f"value {i}") for i in range(3)}},
}


def fixture_settings(path: str) -> Settings:
    return Settings(data_dir=path, master_key=KEY, wal_segment_size=16 * 1024,
                    checkpoint_interval=0.0)


async def build(path: str) -> None:
    reg = DurableRegistry(fixture_settings(path))
    await reg.open()
    db = reg.get("postgres")
    txn = db.begin()
    create_table(txn, "t")
    await txn.commit()
    rows = sorted(EXPECTED["postgres"]["t"].values())
    await insert_rows(db, "t", rows[:10])
    await reg.checkpoint("postgres")
    for r in rows[10:]:
        await insert_rows(db, "t", [r])
    acme = await reg.create("acme")
    txn = acme.begin()
    create_table(txn, "kv")
    await txn.commit()
    await insert_rows(acme, "kv", sorted(EXPECTED["acme"]["kv"].values()))
    await reg.close()
    os.remove(os.path.join(path, "LOCK"))


def downgrade_to_v0(path: str) -> None:
    """Version 1 → 0: the encryption mode and key fingerprint go back into the
    cluster file; FORMAT and the tenant manifests disappear."""
    dd = DataDir(OsFS(), path)
    master = bytes.fromhex(KEY)
    fmt = dd.read_format()
    assert fmt is not None
    cluster = dd.load_cluster(master)
    del cluster["format_version"]
    cluster["encryption"] = fmt["encryption"]
    cluster["key_fingerprint"] = fmt["key_fingerprint"]
    cluster.pop("checksum")
    dd.save_cluster(cluster, master)
    for entry in cluster["tenants"].values():
        os.remove(dd.tenant_paths(int(entry["oid"])).manifest)
    os.remove(os.path.join(path, "FORMAT"))


def main() -> None:
    v1, v0 = os.path.join(HERE, "format-v1"), os.path.join(HERE, "format-v0")
    for p in (v1, v0):
        shutil.rmtree(p, ignore_errors=True)
    asyncio.run(build(v1))
    shutil.copytree(v1, v0)
    downgrade_to_v0(v0)
    print(json.dumps({"written": [v1, v0]}))


if __name__ == "__main__":
    main()
