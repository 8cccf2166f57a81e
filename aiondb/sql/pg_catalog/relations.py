"""pg_namespace, pg_class, pg_attribute, pg_attrdef, pg_index, pg_constraint,
pg_trigger, pg_depend, pg_rewrite, pg_sequence: the tenant's schemas and
relations (and our own system relations) as PostgreSQL 15 lays them out.

Expression columns (adbin, conbin, ev_action) hold our SQL text rather than a
node tree; pg_get_expr() and friends deparse that text PostgreSQL's way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aiondb import types as T
from aiondb.sql.pg_catalog.functions import expression_column_name, node_tree, stored_default
from aiondb.sql.pg_catalog.pg_type import align_of, collation_of, storage_of, typlen_of
from aiondb.sql.pg_catalog.registry import (
    BTREE_AM,
    C_COLLATION,
    CLASS_OID,
    HASH_AM,
    HEAP_AM,
    HNSW_AM,
    SYSTEM_OIDS,
    relation,
    rowtype_oid,
    schemas,
    system_schema_oid,
)
from aiondb.storage.catalog import (
    BOOTSTRAP_ROLE_OID,
    PUBLIC_OID,
    Catalog,
    ColumnDef,
    ConstraintDef,
    IndexDef,
    MatViewDef,
    SequenceDef,
    TableDef,
    ViewDef,
)

INDEX_AMS = {"btree": BTREE_AM, "hash": HASH_AM, "hnsw": HNSW_AM}
# default btree operator class and equality operator per type (PostgreSQL 15 OIDs)
_BTREE_OPCLASS = {16: 10003, 17: 10006, 18: 10007, 19: 10028, 20: 3124, 21: 1979, 23: 1978,
                  25: 3126, 26: 1981, 700: 10012, 701: 3123, 1042: 10004, 1043: 3126,
                  1082: 3122, 1083: 10038, 1114: 3128, 1184: 3127, 1186: 10022, 1700: 3125,
                  2950: 10065, 3802: 10088}
_EQ_OPERATOR = {16: 91, 17: 1955, 19: 93, 20: 410, 21: 94, 23: 96, 25: 98, 26: 607, 700: 620,
                701: 670, 1042: 1054, 1043: 98, 1082: 1093, 1114: 2060, 1184: 1320,
                1186: 1330, 1700: 1752, 2950: 2972, 3802: 3240}
INDOPTION_DESC_NULLS_FIRST = 3


def derived_oid(base: int, k: int, slots: int = 4) -> int:
    """OID of an object that exists only in these views (the triggers behind
    a foreign key, a view's rule): unique within its catalog."""
    return base * slots + k


@relation("pg_namespace")
def _pg_namespace(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.shared import schema_acl
    for oid, name, owner in schemas(ctx.catalog):
        yield (oid, name, owner, schema_acl(oid, ctx.session.user))


# --- pg_class -------------------------------------------------------------------------------------

def has_triggers(cat: Catalog, rel_oid: int) -> bool:
    """PostgreSQL enforces foreign keys with triggers on both tables, and psql
    only looks for foreign keys when relhastriggers is set."""
    return any(c.kind == "f" and rel_oid in (c.table_oid, c.ref_table_oid)
               for c in cat.constraints.values())


def _class_row(cat: Catalog, db: Any, rel: Any) -> dict[str, Any]:
    kind = rel.kind
    row: dict[str, Any] = {
        "oid": rel.oid, "relname": rel.name, "relnamespace": rel.schema_oid,
        "relowner": BOOTSTRAP_ROLE_OID, "relfilenode": rel.oid, "relpersistence": "p",
        "relkind": kind, "relispopulated": True, "relreplident": "n", "reltuples": -1.0}
    if isinstance(rel, TableDef):
        rows = len(db.tables[rel.oid].rows) if db is not None and rel.oid in db.tables else 0
        row.update(reltype=rowtype_oid(rel.oid), relam=HEAP_AM, relpages=(rows + 63) // 64,
                   reltuples=float(rows), relhasindex=bool(cat.indexes_of(rel.oid)),
                   relnatts=len(rel.columns), relreplident="d",
                   relchecks=sum(1 for c in cat.constraints_of(rel.oid) if c.kind == "c"),
                   relhastriggers=has_triggers(cat, rel.oid), relfrozenxid=1, relminmxid=1)
        if isinstance(rel, MatViewDef):
            # its query is a _RETURN rule, as for a view
            row.update(relhasrules=True, relispopulated=rel.populated)
    elif isinstance(rel, ViewDef):
        row.update(reltype=rowtype_oid(rel.oid), relnatts=len(rel.columns), relfilenode=0,
                   relhasrules=True,
                   reloptions=[f"{k}={v}" for k, v in rel.options] if rel.options else None)
    elif isinstance(rel, IndexDef):
        row.update(relam=INDEX_AMS.get(rel.method, BTREE_AM), relnatts=len(rel.attnums),
                   relpages=1, reltuples=0.0)
    elif isinstance(rel, SequenceDef):
        row.update(relnatts=3, relpages=1, reltuples=1.0)
    return row


@relation("pg_class")
def _pg_class(ctx: Any) -> Iterator[dict[str, Any]]:
    cat: Catalog = ctx.catalog
    for rel in cat.relations.values():
        yield _class_row(cat, ctx.db, rel)
    for v in SYSTEM_OIDS.values():
        yield {"oid": v.oid, "relname": v.name, "relnamespace": system_schema_oid(v),
               "relowner": BOOTSTRAP_ROLE_OID, "relkind": v.kind, "relpersistence": "p",
               "relnatts": len(v.columns), "relispopulated": True, "relreplident": "n",
               "relam": HEAP_AM if v.kind == "r" else 0, "relhasrules": v.kind == "v",
               # PostgreSQL's catalogs have indexes; ours are computed, so psql asks
               # for them (same queries) and finds none ("or recently had", say the docs)
               "relhasindex": v.kind == "r",
               "reltuples": -1.0, "relfilenode": v.oid if v.kind == "r" else 0}


# --- pg_attribute ---------------------------------------------------------------------------------

def attribute_row(rel_oid: int, c: ColumnDef, attnum: int, catalog: bool = False) -> tuple:
    """A pg_attribute row. Text columns of catalog tables use collation "C"."""
    t = c.type
    typlen = typlen_of(t)
    collation = collation_of(t)
    if catalog and collation:
        collation = C_COLLATION
    return (rel_oid, c.name, t.oid, -1, typlen, attnum, 1 if t.elem is not None else 0, -1,
            t.typmod, typlen in (1, 2, 4, 8), align_of(t), storage_of(t), "", c.not_null,
            stored_default(c) is not None, False, c.identity, c.generated, False, True, 0, collation,
            None, None, None, None)


def index_columns(cat: Catalog, idx: IndexDef) -> list[ColumnDef]:
    """The index's columns: a table column, or for an expression key (attnum
    0) a column named as PostgreSQL names it (the function's name, else
    "expr", made unique) of the expression's type."""
    table = cat.relations.get(idx.table_oid)
    if not isinstance(table, TableDef):
        return []
    if all(idx.attnums):
        return [table.columns[table.position(a)] for a in idx.attnums]
    from aiondb.sql.index_keys import bind_index
    slots = bind_index(table, idx).slots
    exprs = iter(idx.exprs)
    out: list[ColumnDef] = []
    for a, slot in zip(idx.attnums, slots, strict=True):
        if a:
            out.append(table.columns[table.position(a)])
            continue
        base = expression_column_name(next(exprs))
        name, n = base, 0
        while any(c.name == name for c in out):
            n += 1
            name = f"{base}{n}"
        out.append(ColumnDef(name, slot.type, len(out) + 1))
    return out


@relation("pg_attribute")
def _pg_attribute(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    for rel in cat.relations.values():
        if isinstance(rel, (TableDef, ViewDef)):
            for c in rel.columns:
                yield attribute_row(rel.oid, c, c.attnum)
        elif isinstance(rel, IndexDef):
            for i, c in enumerate(index_columns(cat, rel)):
                yield attribute_row(rel.oid, ColumnDef(c.name, c.type, i + 1), i + 1)
        elif isinstance(rel, SequenceDef):
            for i, (name, t) in enumerate((("last_value", T.INT8), ("log_cnt", T.INT8),
                                           ("is_called", T.BOOL))):
                yield attribute_row(rel.oid, ColumnDef(name, t, i + 1, True), i + 1)
    if not _SYSTEM_ATTRIBUTES:   # static: computed once
        _SYSTEM_ATTRIBUTES.extend(
            attribute_row(v.oid, ColumnDef(c.name, c.type, i + 1, c.name not in v.nullable),
                          i + 1, v.kind == "r")
            for v in SYSTEM_OIDS.values() for i, c in enumerate(v.columns))
    yield from _SYSTEM_ATTRIBUTES


_SYSTEM_ATTRIBUTES: list[tuple] = []


def attrdef_oid(rel_oid: int, attnum: int) -> int:
    return derived_oid(rel_oid, attnum, 2048)


@relation("pg_attrdef")
def _pg_attrdef(ctx: Any) -> Iterator[tuple]:
    for t in ctx.catalog.tables():
        for c in t.columns:
            if stored_default(c) is not None:
                yield (attrdef_oid(t.oid, c.attnum), t.oid, c.attnum,
                       node_tree(c.default, c.type))


# --- indexes and constraints ----------------------------------------------------------------------

@relation("pg_index")
def _pg_index(ctx: Any) -> Iterator[dict[str, Any]]:
    cat: Catalog = ctx.catalog
    for rel in cat.relations.values():
        if not isinstance(rel, IndexDef):
            continue
        cols = index_columns(cat, rel)
        n = len(rel.attnums)
        desc = rel.descending or (False,) * n
        yield {"indexrelid": rel.oid, "indrelid": rel.table_oid, "indnatts": n,
               "indnkeyatts": n, "indisunique": rel.unique, "indisprimary": rel.primary,
               "indimmediate": True, "indisvalid": True, "indisready": True,
               "indislive": True, "indkey": list(rel.attnums),
               "indcollation": [collation_of(c.type) for c in cols],
               "indclass": [_BTREE_OPCLASS.get(c.type.oid, 0) if rel.method == "btree" else 0
                            for c in cols],
               "indoption": [INDOPTION_DESC_NULLS_FIRST if d else 0 for d in desc]}


def _fk_index(cat: Catalog, con: ConstraintDef) -> int:
    """A foreign key's conindid: the unique index on the referenced columns."""
    for idx in cat.indexes_of(con.ref_table_oid):
        if idx.unique and set(idx.attnums) == set(con.ref_attnums):
            return idx.oid
    return 0


def _eq_ops(cat: Catalog, con: ConstraintDef) -> list[int] | None:
    table = cat.relations.get(con.table_oid)
    if not isinstance(table, TableDef):
        return None
    return [_EQ_OPERATOR.get(table.columns[table.position(a)].type.oid, 0)
            for a in con.attnums]


@relation("pg_constraint")
def _pg_constraint(ctx: Any) -> Iterator[dict[str, Any]]:
    cat: Catalog = ctx.catalog
    for c in cat.constraints.values():
        table = cat.relations.get(c.table_oid)
        fk = c.kind == "f"
        ops = _eq_ops(cat, c) if fk else None
        yield {"oid": c.oid, "conname": c.name,
               "connamespace": table.schema_oid if table is not None else 0,
               "contype": c.kind, "condeferrable": c.deferrable,
               "condeferred": c.initially_deferred, "convalidated": c.validated,
               "conrelid": c.table_oid, "conindid": _fk_index(cat, c) if fk else c.index_oid,
               "confrelid": c.ref_table_oid, "confupdtype": c.on_update if fk else " ",
               "confdeltype": c.on_delete if fk else " ",
               "confmatchtype": "s" if fk else " ", "conislocal": True,
               "connoinherit": c.kind != "c", "conkey": list(c.attnums) or None,
               "confkey": list(c.ref_attnums) or None, "conpfeqop": ops, "conppeqop": ops,
               "conffeqop": ops,
               "conbin": node_tree(c.expr or "", T.BOOL) if c.kind == "c" else None}


# --- triggers, dependencies, rules ----------------------------------------------------------------

# (suffix, event bits, function) of the four triggers PostgreSQL makes per FK:
# two on the referencing table (check insert/update), two on the referenced one.
_RI_ACTION = {"a": "noaction", "r": "restrict", "c": "cascade", "n": "setnull",
              "d": "setdefault"}
TG_ROW, TG_INSERT, TG_DELETE, TG_UPDATE = 1, 4, 8, 16


def fk_triggers(con: ConstraintDef) -> list[dict[str, Any]]:
    out = []
    for k, (rel, other, side, events, fn) in enumerate((
            (con.ref_table_oid, con.table_oid, "a", TG_DELETE,
             f"RI_FKey_{_RI_ACTION[con.on_delete]}_del"),
            (con.ref_table_oid, con.table_oid, "a", TG_UPDATE,
             f"RI_FKey_{_RI_ACTION[con.on_update]}_upd"),
            (con.table_oid, con.ref_table_oid, "c", TG_INSERT, "RI_FKey_check_ins"),
            (con.table_oid, con.ref_table_oid, "c", TG_UPDATE, "RI_FKey_check_upd"))):
        oid = derived_oid(con.oid, k)
        # PostgreSQL's action triggers other than NO ACTION are never deferrable
        timed = con.deferrable and (side == "c" or "noaction" in fn)
        out.append({"oid": oid, "tgrelid": rel, "tgname": f"RI_ConstraintTrigger_{side}_{oid}",
                    "tgfoid": 0, "tgfname": fn, "tgtype": TG_ROW | events, "tgenabled": "O",
                    "tgisinternal": True, "tgconstrrelid": other, "tgconstrindid": 0,
                    "tgconstraint": con.oid, "tgdeferrable": timed,
                    "tginitdeferred": timed and con.initially_deferred, "tgnargs": 0, "tgattr": [], "tgargs": b""})
    return out


def all_triggers(cat: Catalog) -> Iterator[dict[str, Any]]:
    for con in cat.constraints.values():
        if con.kind == "f":
            yield from fk_triggers(con)


@relation("pg_trigger")
def _pg_trigger(ctx: Any) -> Iterator[dict[str, Any]]:
    for tg in all_triggers(ctx.catalog):
        yield {k: v for k, v in tg.items() if k != "tgfname"}


@relation("pg_depend")
def _pg_depend(ctx: Any) -> Iterator[tuple]:
    """The dependencies psql and dump tools follow: a sequence owned by a
    column (serial 'a', identity 'i'), an index owned by its constraint, a
    view's rule on its view ('i') and on what it reads ('n': pg_dump creates
    views after the relations they read)."""
    cat: Catalog = ctx.catalog
    pg_class, pg_constraint = CLASS_OID["pg_class"], CLASS_OID["pg_constraint"]
    pg_rewrite, pg_attrdef = CLASS_OID["pg_rewrite"], CLASS_OID["pg_attrdef"]
    for rel in cat.relations.values():
        if isinstance(rel, TableDef) and not isinstance(rel, MatViewDef):
            for c in rel.columns:
                # a default's sequence: pg_dump then sets the default after
                # creating the sequence (ALTER TABLE ... SET DEFAULT)
                d = stored_default(c)
                for seq in _sequences_in(cat, rel, d) if d else ():
                    yield (pg_attrdef, attrdef_oid(rel.oid, c.attnum), 0, pg_class, seq, 0, "n")
        if isinstance(rel, (ViewDef, MatViewDef)):
            rule = rule_oid(rel.oid)
            yield (pg_rewrite, rule, 0, pg_class, rel.oid, 0, "i")
            # PostgreSQL 15's view rules also name the view itself (its OLD
            # and NEW entries)
            yield (pg_rewrite, rule, 0, pg_class, rel.oid, 0, "n")
            for dep in rel.depends:
                if dep != rel.oid and dep in cat.relations:
                    yield (pg_rewrite, rule, 0, pg_class, dep, 0, "n")
        if isinstance(rel, SequenceDef) and rel.owned_by[0]:
            table = cat.relations.get(rel.owned_by[0])
            col = None
            if isinstance(table, TableDef):
                col = next((c for c in table.columns if c.attnum == rel.owned_by[1]), None)
            yield (pg_class, rel.oid, 0, pg_class, rel.owned_by[0], rel.owned_by[1],
                   "i" if col is not None and col.identity else "a")
    for con in cat.constraints.values():
        if con.index_oid:
            yield (pg_class, con.index_oid, 0, pg_constraint, con.oid, 0, "i")
        for a in con.attnums:
            yield (pg_constraint, con.oid, 0, pg_class, con.table_oid, a, "a")
        if con.kind == "f":
            # on the referenced key's unique index and columns: pg_restore -j
            # adds the foreign key only once that key exists
            idx = _fk_index(cat, con)
            if idx:
                yield (pg_constraint, con.oid, 0, pg_class, idx, 0, "n")
            for a in con.ref_attnums:
                yield (pg_constraint, con.oid, 0, pg_class, con.ref_table_oid, a, "n")


_NEXTVAL = re.compile(r"nextval\(\s*(?:cast\(\s*)?'((?:[^']|'')+)'", re.I)


def _sequences_in(cat: Catalog, table: TableDef, default: str) -> Iterator[int]:
    """The sequences a default's nextval('name') calls name."""
    for m in _NEXTVAL.finditer(default):
        name = m.group(1).replace("''", "'")
        if name.isdigit():          # bound by OID (sql/view_names.py)
            if isinstance(cat.relations.get(int(name)), SequenceDef):
                yield int(name)
            continue
        schema, _, rel = name.rpartition(".")
        schema_oid = table.schema_oid
        if schema:
            sdef = cat.schema(schema.strip('"'))
            if sdef is None:
                continue
            schema_oid = sdef.oid
        found = cat.lookup(schema_oid, rel.strip('"')) or cat.lookup(PUBLIC_OID, rel.strip('"'))
        if isinstance(found, SequenceDef):
            yield found.oid


def rule_oid(view_oid: int) -> int:
    return derived_oid(view_oid, 1, 2)


@relation("pg_rewrite")
def _pg_rewrite(ctx: Any) -> Iterator[tuple]:
    for v in ctx.catalog.relations.values():
        if isinstance(v, (ViewDef, MatViewDef)):
            yield (rule_oid(v.oid), "_RETURN", v.oid, "1", "O", True, None, v.sql)


@relation("pg_sequence")
def _pg_sequence(ctx: Any) -> Iterator[tuple]:
    for s in ctx.catalog.sequences():
        yield (s.oid, s.type.oid, s.start, s.increment, s.max_value, s.min_value, s.cache,
               s.cycle)
