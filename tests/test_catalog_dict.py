"""Catalog fields added after the first release survive the WAL/checkpoint
encoding, and catalogs written before them still load."""

from __future__ import annotations

from aiondb import types as T
from aiondb.storage import records
from aiondb.storage.catalog import Catalog, ColumnDef, ConstraintDef, TableDef, ViewDef


def _round_trip(cat: Catalog) -> Catalog:
    return Catalog.from_dict(records.loads(records.dumps(cat.to_dict())))


def test_view_options_and_fk_timing_round_trip() -> None:
    cat = Catalog.bootstrap()
    cat.add_relation(TableDef(20000, "t", 2200, (ColumnDef("a", T.INT4, 1),), pk=(1,)))
    cat.add_relation(ViewDef(20001, "v", 2200, "SELECT a FROM t", (ColumnDef("a", T.INT4, 1),),
                             (20000,), (("security_barrier", "true"),
                                        ("check_option", "local"))))
    cat.add_constraint(ConstraintDef(20002, "f", "f", 20000, (1,), ref_table_oid=20000,
                                     ref_attnums=(1,), deferrable=True,
                                     initially_deferred=True))
    back = _round_trip(cat)
    assert back.relations[20001] == cat.relations[20001]
    assert back.constraints[20002] == cat.constraints[20002]


def test_catalog_without_new_fields_loads() -> None:
    cat = Catalog.bootstrap()
    cat.add_relation(ViewDef(20001, "v", 2200, "SELECT 1", (ColumnDef("x", T.INT4, 1),)))
    cat.add_constraint(ConstraintDef(20002, "c", "c", 20001, expr="true"))
    d = cat.to_dict()
    for r in d["relations"]:
        r.pop("options", None)
    for c in d["constraints"]:
        c.pop("initially_deferred")
    back = Catalog.from_dict(d)
    assert back.relations[20001].options == ()
    assert back.constraints[20002].initially_deferred is False
