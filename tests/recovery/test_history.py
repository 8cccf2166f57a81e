"""Property: any history of transactions (inserts, updates, deletes, DDL,
truncations, rewrites, sequences, rollbacks) run through the real
Transaction API on a durable tenant, with checkpoints and restarts mixed in,
recovers to exactly the in-memory state."""

from __future__ import annotations

import asyncio
from typing import Any

from helpers_recovery import add_index, create_table, open_registry, state
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aiondb import errors
from aiondb import types as T
from aiondb.recovery.fakefs import MemoryFS
from aiondb.storage.catalog import PUBLIC_OID, ColumnDef, SequenceDef, replace
from aiondb.storage.database import Database
from aiondb.storage.txn import Transaction

texts = st.one_of(st.none(), st.text(max_size=6))  # column v (indexable: one type)
values = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=6),  # column j (jsonb)
                   st.floats(allow_nan=False), st.dictionaries(st.text(max_size=3),
                                                              st.integers(), max_size=2))
op = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 3), st.integers(0, 8), texts, values),
    st.tuples(st.just("update"), st.integers(0, 3), st.integers(0, 8), texts, values),
    st.tuples(st.just("delete"), st.integers(0, 3), st.integers(0, 8)),
    st.tuples(st.just("create"), st.booleans()),
    st.tuples(st.just("drop"), st.integers(0, 3)),
    st.tuples(st.just("truncate"), st.integers(0, 3)),
    st.tuples(st.just("add_column"), st.integers(0, 3)),
    st.tuples(st.just("index"), st.integers(0, 3)),
    st.tuples(st.just("nextval"),),
)
txn_end = st.sampled_from(["commit", "commit", "commit", "async", "rollback"])
step = st.one_of(st.tuples(st.just("txn"), st.lists(op, min_size=1, max_size=5), txn_end),
                 st.tuples(st.just("checkpoint")), st.tuples(st.just("restart")))


def apply_op(db: Database, txn: Transaction, o: tuple, names: list[int]) -> None:
    kind = o[0]
    ts = sorted(txn.catalog.tables(), key=lambda t: t.oid)
    if kind == "create":
        names[0] += 1
        create_table(txn, f"t{names[0]}", (("id", T.INT8), ("v", T.TEXT), ("j", T.JSONB)),
                     pk=o[1])
        if not txn.catalog.sequences():
            cat = txn.begin_ddl()
            cat.add_relation(SequenceDef(cat.allocate_oid(), "seq", PUBLIC_OID))
        return
    if kind == "nextval":
        seqs = txn.catalog.sequences()
        if seqs:
            db.nextval(txn, seqs[0])
        return
    if not ts:
        return
    t = ts[o[1] % len(ts)]
    t = txn.catalog.table(t.oid)
    if kind == "insert":
        row = (o[2], o[3], o[4]) + tuple(0 for _ in t.columns[3:])
        if not t.pk or txn.get(t.oid, o[2]) is None:
            txn.insert(t, row)
    elif kind in ("update", "delete"):
        keys = [k for k, _ in txn.scan_items(t.oid)]
        if not keys:
            return
        key = keys[o[2] % len(keys)]
        old = txn.get(t.oid, key)
        if kind == "delete":
            txn.delete(t, key)
        else:
            new = (old[0], o[3], o[4]) + old[3:]
            txn.update(t, key, new)
    elif kind == "drop":
        txn.lock_table_exclusive(t.oid)
        txn.begin_ddl().drop_relation(t.oid)
    elif kind == "truncate":
        txn.lock_table_exclusive(t.oid)
        txn.replace_table_data(t.oid, txn.data(t.oid).copy_empty(), "truncated")
    elif kind == "add_column":
        txn.lock_table_exclusive(t.oid)
        cat = txn.begin_ddl()
        new = replace(t, columns=t.columns + (ColumnDef(f"c{t.next_attnum}", T.INT4,
                                                        t.next_attnum),),
                      next_attnum=t.next_attnum + 1)
        cat.replace_relation(new)
        items = list(txn.scan_items(t.oid))
        td = txn.data(t.oid).copy_empty()
        td.load((k, r + (len(r),)) for k, r in items)
        txn.replace_table_data(t.oid, td, "rewritten")
    elif kind == "index":
        txn.lock_table_exclusive(t.oid)
        if not txn.catalog.indexes_of(t.oid) or len(txn.catalog.indexes_of(t.oid)) < 2:
            add_index(txn, t, 2)


async def run_history(steps: list[tuple]) -> None:
    fs = MemoryFS()
    reg = await open_registry(fs)
    db = reg.get("postgres")
    names = [0]
    for s in steps:
        if s[0] == "checkpoint":
            await reg.checkpoint()
        elif s[0] == "restart":
            expected = state(db)
            await reg.close()
            reg = await open_registry(fs)
            db = reg.get("postgres")
            assert state(db) == expected
            names[0] = 1000 + len(db.catalog.relations)
        else:
            _, ops, end = s
            txn = db.begin()
            try:
                for o in ops:
                    apply_op(db, txn, o, names)
            except errors.DatabaseError:
                txn.rollback()
                continue
            if end == "rollback":
                txn.rollback()
            else:
                txn.synchronous_commit = end != "async"
                await txn.commit()
    expected = state(db)
    await reg.close()
    reg = await open_registry(fs)
    assert state(reg.get("postgres")) == expected
    await reg.close()


# found by hypothesis, kept as regressions: a rolled-back nextval must survive a
# restart (sequences are not transactional)
@example([("txn", [("create", False)], "commit"), ("txn", [("nextval",)], "rollback"),
          ("restart",)])
@given(st.lists(step, min_size=1, max_size=25))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_histories_recover_to_the_in_memory_state(steps: list[Any]) -> None:
    asyncio.run(run_history(steps))
