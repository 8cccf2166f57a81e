"""The registry of system relations: each pg_catalog / information_schema
relation is a layout (from layout.py) plus a producer computing its rows from
the tenant catalog when a query scans it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aiondb import types as T
from aiondb.sql.pg_catalog.layout import LAYOUTS
from aiondb.sql.plan import OutCol
from aiondb.storage.catalog import (
    BOOTSTRAP_ROLE_OID,
    INFORMATION_SCHEMA_OID,
    PG_CATALOG_OID,
    PUBLIC_OID,
    Catalog,
)

Producer = Callable[[Any], Iterable[Any]]

# Fixed OIDs PostgreSQL 15 uses for built-in objects we mirror.
HEAP_AM = 2
BTREE_AM = 403
HASH_AM = 405
HNSW_AM = 16000           # pgvector's access method has no fixed OID; ours is fixed
DEFAULT_COLLATION = 100
C_COLLATION = 950
DEFAULT_TABLESPACE = 1663
PG_DATABASE_OWNER = 6171  # owns schema public in PostgreSQL 15
PLPGSQL_LANG = 13563
PG_TOAST_OID = 99         # exists (empty): PostgreSQL lists it among the schemas
INTERNAL_LANG = 12
SQL_LANG = 14
CLASS_OID = {"pg_class": 1259, "pg_constraint": 2606, "pg_type": 1247, "pg_proc": 1255,
             "pg_namespace": 2615, "pg_database": 1262, "pg_trigger": 2620,
             "pg_extension": 3079, "pg_language": 2612, "pg_am": 2601, "pg_attrdef": 2604,
             "pg_rewrite": 2618, "pg_authid": 1260, "pg_tablespace": 1213}

# A table's row type has no OID of its own in our catalog: derive one above any
# OID the tenant will allocate (user OIDs count up from 16384).
ROWTYPE_BASE = 0x40000000
ROWTYPE_ARRAY_BASE = 0x60000000


def rowtype_oid(rel_oid: int) -> int:
    return ROWTYPE_BASE + rel_oid


def rowtype_array_oid(rel_oid: int) -> int:
    return ROWTYPE_ARRAY_BASE + rel_oid


@dataclass
class SystemView:
    name: str
    oid: int
    columns: list[OutCol]
    producer: Producer
    schema: str = "pg_catalog"
    kind: str = "r"            # relkind PostgreSQL gives it: r catalog table, v view
    nullable: frozenset[str] = frozenset()


VIEWS: dict[str, SystemView] = {}
INFO_VIEWS: dict[str, SystemView] = {}
SYSTEM_OIDS: dict[int, SystemView] = {}


def _type(name: str) -> T.SqlType:
    return T.BY_NAME[name]


def _default(t: T.SqlType) -> Any:
    """Value of an unset NOT NULL column of a catalog table."""
    if t.oid == T.BOOL.oid:
        return False
    if t.oid in (T.OID.oid, T.INT2.oid, T.INT4.oid, T.INT8.oid, T.XID.oid):
        return 0
    if t.oid == T.FLOAT4.oid:
        return 0.0
    if t.oid == T.NAME.oid:
        return ""
    return None


def relation(key: str) -> Callable[[Producer], Producer]:
    """Register the producer of system relation `key` ("pg_class",
    "information_schema.tables"). It yields tuples in layout order or dicts
    naming some columns (the rest take their defaults)."""
    oid, kind, spec = LAYOUTS[key]
    schema, _, name = key.rpartition(".")
    schema = schema or "pg_catalog"
    pairs = [p.split(":") for p in spec.split()]
    cols = [OutCol(n, _type(t.rstrip("?"))) for n, t in pairs]
    nullable = {n for n, t in pairs if t.endswith("?") or kind != "r"}
    defaults = tuple(None if c.name in nullable else _default(c.type) for c in cols)
    index = {c.name: i for i, c in enumerate(cols)}
    regproc = [i for i, c in enumerate(cols) if c.type.oid == T.REGPROC.oid]

    def deco(fn: Producer) -> Producer:
        def produce(ctx: Any) -> Iterator[tuple]:
            for r in fn(ctx):
                if isinstance(r, dict):
                    row = list(defaults)
                    for k, v in r.items():
                        row[index[k]] = v
                else:
                    row = list(r)
                for i in regproc:   # regproc 0 prints as '-'
                    if row[i] == 0 and not hasattr(row[i], "label"):
                        row[i] = reg_value(0, "-")
                yield tuple(row)
        v = SystemView(name, oid, cols, produce, schema, kind, frozenset(nullable))
        (VIEWS if schema == "pg_catalog" else INFO_VIEWS)[name] = v
        SYSTEM_OIDS[oid] = v
        return fn
    return deco


def empty(*keys: str) -> None:
    """Relations that exist (so queries bind) but hold no rows in AionDB."""
    for key in keys:
        relation(key)(lambda ctx: ())


def reg_value(oid: int, label: str) -> Any:
    from aiondb.sql.fn_system import RegValue
    return RegValue(oid, label)


# --- schemas ------------------------------------------------------------------------------------

def schemas(cat: Catalog) -> list[tuple[int, str, int]]:
    """(oid, name, owner) of every schema, system ones first."""
    out = [(PG_TOAST_OID, "pg_toast", BOOTSTRAP_ROLE_OID),
           (PG_CATALOG_OID, "pg_catalog", BOOTSTRAP_ROLE_OID),
           (INFORMATION_SCHEMA_OID, "information_schema", BOOTSTRAP_ROLE_OID)]
    out += [(s.oid, s.name, PG_DATABASE_OWNER if s.oid == PUBLIC_OID else s.owner)
            for s in cat.schemas.values()]
    return out


def schema_name(cat: Catalog, oid: int) -> str:
    if oid == PG_CATALOG_OID:
        return "pg_catalog"
    if oid == INFORMATION_SCHEMA_OID:
        return "information_schema"
    if oid == PG_TOAST_OID:
        return "pg_toast"
    s = cat.schema_by_oid(oid)
    return s.name if s is not None else "?"


def system_schema_oid(v: SystemView) -> int:
    return PG_CATALOG_OID if v.schema == "pg_catalog" else INFORMATION_SCHEMA_OID
