"""Shared helpers for the recovery tests (imported by the test modules)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiondb import types as T
from aiondb.config import Settings
from aiondb.recovery.fs import FileSystem
from aiondb.storage.catalog import PUBLIC_OID, ColumnDef, IndexDef, TableDef
from aiondb.storage.database import Database
from aiondb.storage.durable import DurableRegistry
from aiondb.storage.txn import Transaction

KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
OTHER_KEY = "ff" * 32
DATA = "/data"


def make_settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": DATA, "master_key": KEY, "wal_segment_size": 64 * 1024,
                            "checkpoint_interval": 0.0}
    base.update(kw)
    return Settings(**base)


async def open_registry(fs: FileSystem, progress: Any = None, **kw: Any) -> DurableRegistry:
    reg = DurableRegistry(make_settings(**kw), fs)
    await reg.open(progress)
    return reg


def reopen(fs: FileSystem, progress: Any = None, **kw: Any) -> DurableRegistry:
    """Recover into a new registry and inspect it (outside any loop). The
    directory lock is released, as if that process had gone away."""
    reg = asyncio.run(open_registry(fs, progress, **kw))
    reg.datadir.unlock()
    return reg


def create_table(txn: Transaction, name: str, cols: tuple[tuple[str, T.SqlType], ...] = (
        ("id", T.INT8), ("v", T.TEXT)), pk: bool = True) -> TableDef:
    cat = txn.begin_ddl()
    oid = cat.allocate_oid()
    columns = tuple(ColumnDef(n, t, i + 1) for i, (n, t) in enumerate(cols))
    t = TableDef(oid, name, PUBLIC_OID, columns, pk=(1,) if pk else (),
                 next_attnum=len(cols) + 1)
    cat.add_relation(t)
    if pk:
        cat.add_relation(IndexDef(cat.allocate_oid(), f"{name}_pkey", PUBLIC_OID, oid, (1,),
                                  unique=True, primary=True))
    txn.create_table_data(t)
    return t


def add_index(txn: Transaction, table: TableDef, attnum: int, unique: bool = False) -> None:
    cat = txn.begin_ddl()
    cat.add_relation(IndexDef(cat.allocate_oid(), f"{table.name}_{attnum}_idx", PUBLIC_OID,
                              table.oid, (attnum,), unique=unique))


def table(db: Database, name: str) -> TableDef:
    rel = db.catalog.lookup(PUBLIC_OID, name)
    assert isinstance(rel, TableDef), name
    return rel


async def insert_rows(db: Database, name: str, rows: list[tuple], sync: bool = True) -> None:
    txn = db.begin()
    txn.synchronous_commit = sync
    t = table(db, name)
    for r in rows:
        txn.insert(t, r)
    await txn.commit()


def rows_of(db: Database, name: str) -> dict[Any, tuple]:
    return dict(db.tables[table(db, name).oid].rows)


def state(db: Database) -> dict[str, Any]:
    """Everything recovery must reproduce, in comparable form; also checks
    that every secondary index agrees with its table's rows."""
    cat = db.catalog.to_dict()
    cat.pop("version")
    for td in db.tables.values():
        for idx in td.indexes.values():
            expect: dict[Any, set] = {}
            for k, r in td.rows.items():
                expect.setdefault(idx.key_fn(r), set()).add(k)
            got = {ik: set(idx.lookup(ik)) for ik in idx.map}
            assert got == expect, f"index {idx.definition.name} disagrees with its rows"
        if td.key_fn is not None:
            assert all(td.key_fn(r) == k for k, r in td.rows.items())
    return {"catalog": cat, "tables": {oid: dict(td.rows) for oid, td in db.tables.items()},
            "sequences": {k: list(v) for k, v in db.seq_values.items()}}
