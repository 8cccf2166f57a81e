"""pg_catalog and information_schema as views computed from the tenant's
catalog when queried. Column lists and types follow PostgreSQL 15, because
clients (psql above all) read result columns by position."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiondb import types as T
from aiondb.sql.plan import OutCol
from aiondb.storage.catalog import (
    BOOTSTRAP_ROLE_OID,
    INFORMATION_SCHEMA_OID,
    PG_CATALOG_OID,
    Catalog,
    ColumnDef,
    IndexDef,
    TableDef,
    ViewDef,
)

HEAP_AM = 2
BTREE_AM = 403
DEFAULT_COLLATION = 100
ARR = T.SqlType.array_of


@dataclass
class SystemView:
    name: str
    oid: int
    columns: list[OutCol]
    producer: Callable[[Any], Iterable[tuple]]


VIEWS: dict[str, SystemView] = {}
INFO_VIEWS: dict[str, SystemView] = {}
SYSTEM_OIDS: dict[int, str] = {}
_next_oid = [12000]


def view(name: str, cols: list[tuple[str, T.SqlType]], oid: int | None = None,
         schema: str = "pg_catalog") -> Callable:
    def deco(fn: Callable[[Any], Iterable[tuple]]) -> Callable:
        nonlocal oid
        if oid is None:
            _next_oid[0] += 1
            oid = _next_oid[0]
        v = SystemView(name, oid, [OutCol(n, t) for n, t in cols], fn)
        (VIEWS if schema == "pg_catalog" else INFO_VIEWS)[name] = v
        SYSTEM_OIDS[oid] = name
        return fn
    return deco


def _empty(name: str, cols: list[tuple[str, T.SqlType]], oid: int | None = None) -> None:
    view(name, cols, oid)(lambda ctx: ())


def _schemas(cat: Catalog) -> list[tuple[int, str, int]]:
    out = [(PG_CATALOG_OID, "pg_catalog", BOOTSTRAP_ROLE_OID),
           (INFORMATION_SCHEMA_OID, "information_schema", BOOTSTRAP_ROLE_OID)]
    out += [(s.oid, s.name, s.owner) for s in cat.schemas.values()]
    return out


def _schema_name(cat: Catalog, oid: int) -> str:
    for soid, name, _ in _schemas(cat):
        if soid == oid:
            return name
    return "?"


# --- pg_namespace / pg_class / pg_attribute ---------------------------------------------------------

@view("pg_namespace", [("oid", T.OID), ("nspname", T.NAME), ("nspowner", T.OID),
                       ("nspacl", ARR(T.ACLITEM))], 2615)
def _pg_namespace(ctx: Any) -> Iterable[tuple]:
    return [(oid, name, owner, None) for oid, name, owner in _schemas(ctx.catalog)]


_CLASS_COLS = [
    ("oid", T.OID), ("relname", T.NAME), ("relnamespace", T.OID), ("reltype", T.OID),
    ("reloftype", T.OID), ("relowner", T.OID), ("relam", T.OID), ("relfilenode", T.OID),
    ("reltablespace", T.OID), ("relpages", T.INT4), ("reltuples", T.FLOAT4),
    ("relallvisible", T.INT4), ("reltoastrelid", T.OID), ("relhasindex", T.BOOL),
    ("relisshared", T.BOOL), ("relpersistence", T.CHAR), ("relkind", T.CHAR),
    ("relnatts", T.INT2), ("relchecks", T.INT2), ("relhasrules", T.BOOL),
    ("relhastriggers", T.BOOL), ("relhassubclass", T.BOOL), ("relrowsecurity", T.BOOL),
    ("relforcerowsecurity", T.BOOL), ("relispopulated", T.BOOL), ("relreplident", T.CHAR),
    ("relispartition", T.BOOL), ("relrewrite", T.OID), ("relfrozenxid", T.XID),
    ("relminmxid", T.XID), ("relacl", ARR(T.ACLITEM)), ("reloptions", ARR(T.TEXT)),
    ("relpartbound", T.PG_NODE_TREE),
]


@view("pg_class", _CLASS_COLS, 1259)
def _pg_class(ctx: Any) -> Iterable[tuple]:
    cat: Catalog = ctx.catalog
    db = ctx.db
    for rel in cat.relations.values():
        kind = rel.kind
        natts = len(rel.columns) if isinstance(rel, (TableDef, ViewDef)) else (
            len(rel.attnums) if isinstance(rel, IndexDef) else 3)
        tuples = 0.0
        if isinstance(rel, TableDef) and db is not None and rel.oid in db.tables:
            tuples = float(len(db.tables[rel.oid].rows))
        am = HEAP_AM if kind == "r" else (BTREE_AM if kind == "i" else 0)
        checks = sum(1 for c in cat.constraints_of(rel.oid) if c.kind == "c") \
            if kind == "r" else 0
        has_index = kind == "r" and bool(cat.indexes_of(rel.oid))
        yield (rel.oid, rel.name, rel.schema_oid, 0, 0, BOOTSTRAP_ROLE_OID, am, rel.oid, 0,
               max(1, int(tuples) // 64) if kind == "r" else 0, tuples if kind == "r" else
               -1.0, 0, 0, has_index, False, "p", kind, natts, checks, False, False, False,
               False, False, True, "d" if kind != "i" else "n", False, 0, 0, 0, None, None,
               None)


_ATTR_COLS = [
    ("attrelid", T.OID), ("attname", T.NAME), ("atttypid", T.OID), ("attstattarget", T.INT4),
    ("attlen", T.INT2), ("attnum", T.INT2), ("attndims", T.INT4), ("attcacheoff", T.INT4),
    ("atttypmod", T.INT4), ("attbyval", T.BOOL), ("attalign", T.CHAR), ("attstorage", T.CHAR),
    ("attcompression", T.CHAR), ("attnotnull", T.BOOL), ("atthasdef", T.BOOL),
    ("atthasmissing", T.BOOL), ("attidentity", T.CHAR), ("attgenerated", T.CHAR),
    ("attisdropped", T.BOOL), ("attislocal", T.BOOL), ("attinhcount", T.INT4),
    ("attcollation", T.OID), ("attacl", ARR(T.ACLITEM)), ("attoptions", ARR(T.TEXT)),
    ("attfdwoptions", ARR(T.TEXT)), ("attmissingval", T.TEXT),
]


def _collation_of(t: T.SqlType) -> int:
    base = t.elem or t
    return DEFAULT_COLLATION if base.category == "S" and base.oid != T.CHAR.oid else 0


def _attr_row(rel_oid: int, c: ColumnDef, attnum: int) -> tuple:
    t = c.type
    return (rel_oid, c.name, t.oid, -1, t.typlen, attnum, 1 if t.elem is not None else 0, -1,
            t.typmod, t.typlen in (1, 2, 4, 8), "i", "p" if t.typlen == -1 else "p", "",
            c.not_null, c.default is not None, False, c.identity, c.generated, False, True, 0,
            _collation_of(t), None, None, None, None)


@view("pg_attribute", _ATTR_COLS, 1249)
def _pg_attribute(ctx: Any) -> Iterable[tuple]:
    cat: Catalog = ctx.catalog
    for rel in cat.relations.values():
        if isinstance(rel, (TableDef, ViewDef)):
            for c in rel.columns:
                yield _attr_row(rel.oid, c, c.attnum)
        elif isinstance(rel, IndexDef):
            table = cat.relations.get(rel.table_oid)
            if isinstance(table, TableDef):
                for i, a in enumerate(rel.attnums):
                    c = table.columns[table.position(a)]
                    yield _attr_row(rel.oid, ColumnDef(c.name, c.type, i + 1), i + 1)


@view("pg_attrdef", [("oid", T.OID), ("adrelid", T.OID), ("adnum", T.INT2),
                     ("adbin", T.PG_NODE_TREE)], 2604)
def _pg_attrdef(ctx: Any) -> Iterable[tuple]:
    for t in ctx.catalog.tables():
        for c in t.columns:
            if c.default is not None:
                yield (t.oid * 1000 + c.attnum, t.oid, c.attnum, c.default)


# --- pg_type -----------------------------------------------------------------------------------------

_TYPE_COLS = [
    ("oid", T.OID), ("typname", T.NAME), ("typnamespace", T.OID), ("typowner", T.OID),
    ("typlen", T.INT2), ("typbyval", T.BOOL), ("typtype", T.CHAR), ("typcategory", T.CHAR),
    ("typispreferred", T.BOOL), ("typisdefined", T.BOOL), ("typdelim", T.CHAR),
    ("typrelid", T.OID), ("typsubscript", T.REGPROC), ("typelem", T.OID), ("typarray", T.OID),
    ("typinput", T.REGPROC), ("typoutput", T.REGPROC), ("typreceive", T.REGPROC),
    ("typsend", T.REGPROC), ("typmodin", T.REGPROC), ("typmodout", T.REGPROC),
    ("typanalyze", T.REGPROC), ("typalign", T.CHAR), ("typstorage", T.CHAR),
    ("typnotnull", T.BOOL), ("typbasetype", T.OID), ("typtypmod", T.INT4),
    ("typndims", T.INT4), ("typcollation", T.OID), ("typdefaultbin", T.PG_NODE_TREE),
    ("typdefault", T.TEXT), ("typacl", ARR(T.ACLITEM)),
]


@view("pg_type", _TYPE_COLS, 1247)
def _pg_type(ctx: Any) -> Iterable[tuple]:
    for oid, t in sorted(T.BY_OID.items()):
        elem = t.elem.oid if t.elem is not None else 0
        arr = T.ARRAY_OIDS.get(oid, 0)
        ttype = "p" if t.category == "P" else "b"
        yield (oid, t.name, PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, t.typlen,
               t.typlen in (1, 2, 4, 8), ttype, t.category if t.category != "X" else "X",
               t.preferred, True, ",", 0, 0, elem, arr, 0, 0, 0, 0, 0, 0, 0, "i",
               "x" if t.typlen == -1 else "p", False, 0, -1, 0, _collation_of(t), None, None,
               None)


# --- indexes and constraints -----------------------------------------------------------------------

_INDEX_COLS = [
    ("indexrelid", T.OID), ("indrelid", T.OID), ("indnatts", T.INT2), ("indnkeyatts", T.INT2),
    ("indisunique", T.BOOL), ("indnullsnotdistinct", T.BOOL), ("indisprimary", T.BOOL),
    ("indisexclusion", T.BOOL), ("indimmediate", T.BOOL), ("indisclustered", T.BOOL),
    ("indisvalid", T.BOOL), ("indcheckxmin", T.BOOL), ("indisready", T.BOOL),
    ("indislive", T.BOOL), ("indisreplident", T.BOOL), ("indkey", T.INT2VECTOR),
    ("indcollation", T.OIDVECTOR), ("indclass", T.OIDVECTOR), ("indoption", T.INT2VECTOR),
    ("indexprs", T.PG_NODE_TREE), ("indpred", T.PG_NODE_TREE),
]


@view("pg_index", _INDEX_COLS, 2610)
def _pg_index(ctx: Any) -> Iterable[tuple]:
    for rel in ctx.catalog.relations.values():
        if isinstance(rel, IndexDef):
            n = len(rel.attnums)
            yield (rel.oid, rel.table_oid, n, n, rel.unique, False, rel.primary, False, True,
                   False, True, False, True, True, False, list(rel.attnums), [0] * n, [0] * n,
                   [1 if d else 0 for d in (rel.descending or (False,) * n)], None, None)


_CON_COLS = [
    ("oid", T.OID), ("conname", T.NAME), ("connamespace", T.OID), ("contype", T.CHAR),
    ("condeferrable", T.BOOL), ("condeferred", T.BOOL), ("convalidated", T.BOOL),
    ("conrelid", T.OID), ("contypid", T.OID), ("conindid", T.OID), ("conparentid", T.OID),
    ("confrelid", T.OID), ("confupdtype", T.CHAR), ("confdeltype", T.CHAR),
    ("confmatchtype", T.CHAR), ("conislocal", T.BOOL), ("coninhcount", T.INT4),
    ("connoinherit", T.BOOL), ("conkey", ARR(T.INT2)), ("confkey", ARR(T.INT2)),
    ("conpfeqop", ARR(T.OID)), ("conppeqop", ARR(T.OID)), ("conffeqop", ARR(T.OID)),
    ("confdelsetcols", ARR(T.INT2)), ("conexclop", ARR(T.OID)), ("conbin", T.PG_NODE_TREE),
]


@view("pg_constraint", _CON_COLS, 2606)
def _pg_constraint(ctx: Any) -> Iterable[tuple]:
    cat: Catalog = ctx.catalog
    for c in cat.constraints.values():
        table = cat.relations.get(c.table_oid)
        ns = table.schema_oid if table is not None else 0
        fk = c.kind == "f"
        yield (c.oid, c.name, ns, c.kind, c.deferrable, False, True, c.table_oid, 0,
               c.index_oid, 0, c.ref_table_oid, c.on_update if fk else " ",
               c.on_delete if fk else " ", "s" if fk else " ", True, 0, False,
               list(c.attnums) or None, list(c.ref_attnums) or None, None, None, None, None,
               None, c.expr)


@view("pg_am", [("oid", T.OID), ("amname", T.NAME), ("amhandler", T.REGPROC),
                ("amtype", T.CHAR)], 2601)
def _pg_am(ctx: Any) -> Iterable[tuple]:
    return [(HEAP_AM, "heap", 0, "t"), (BTREE_AM, "btree", 0, "i"), (405, "hash", 0, "i")]


# --- databases, roles, settings ---------------------------------------------------------------------

_DB_COLS = [
    ("oid", T.OID), ("datname", T.NAME), ("datdba", T.OID), ("encoding", T.INT4),
    ("datlocprovider", T.CHAR), ("datistemplate", T.BOOL), ("datallowconn", T.BOOL),
    ("datconnlimit", T.INT4), ("datfrozenxid", T.XID), ("datminmxid", T.XID),
    ("dattablespace", T.OID), ("datcollate", T.TEXT), ("datctype", T.TEXT),
    ("daticulocale", T.TEXT), ("datcollversion", T.TEXT), ("datacl", ARR(T.ACLITEM)),
]


@view("pg_database", _DB_COLS, 1262)
def _pg_database(ctx: Any) -> Iterable[tuple]:
    reg = ctx.session.engine.registry
    for name in reg.names():
        db = reg.tenants.get(name)
        oid = db.oid if db is not None else 0
        yield (oid, name, BOOTSTRAP_ROLE_OID, 6, "c", False, True, -1, 0, 0, 1663, "C", "C",
               None, None, None)


_ROLE_COLS = [
    ("rolname", T.NAME), ("rolsuper", T.BOOL), ("rolinherit", T.BOOL),
    ("rolcreaterole", T.BOOL), ("rolcreatedb", T.BOOL), ("rolcanlogin", T.BOOL),
    ("rolreplication", T.BOOL), ("rolconnlimit", T.INT4), ("rolpassword", T.TEXT),
    ("rolvaliduntil", T.TIMESTAMPTZ), ("rolbypassrls", T.BOOL), ("rolconfig", ARR(T.TEXT)),
    ("oid", T.OID),
]


@view("pg_roles", _ROLE_COLS, 1261)
def _pg_roles(ctx: Any) -> Iterable[tuple]:
    return [(ctx.session.user, True, True, True, True, True, True, -1, "********", None, True,
             None, BOOTSTRAP_ROLE_OID)]


@view("pg_user", [("usename", T.NAME), ("usesysid", T.OID), ("usecreatedb", T.BOOL),
                  ("usesuper", T.BOOL), ("userepl", T.BOOL), ("usebypassrls", T.BOOL),
                  ("passwd", T.TEXT), ("valuntil", T.TIMESTAMPTZ), ("useconfig", ARR(T.TEXT))])
def _pg_user(ctx: Any) -> Iterable[tuple]:
    return [(ctx.session.user, BOOTSTRAP_ROLE_OID, True, True, True, True, "********", None,
             None)]


_SETTINGS_COLS = [
    ("name", T.TEXT), ("setting", T.TEXT), ("unit", T.TEXT), ("category", T.TEXT),
    ("short_desc", T.TEXT), ("extra_desc", T.TEXT), ("context", T.TEXT), ("vartype", T.TEXT),
    ("source", T.TEXT), ("min_val", T.TEXT), ("max_val", T.TEXT), ("enumvals", ARR(T.TEXT)),
    ("boot_val", T.TEXT), ("reset_val", T.TEXT), ("sourcefile", T.TEXT),
    ("sourceline", T.INT4), ("pending_restart", T.BOOL),
]


@view("pg_settings", _SETTINGS_COLS)
def _pg_settings(ctx: Any) -> Iterable[tuple]:
    from aiondb.sql import settings as S
    for s in sorted(S.SETTINGS.values(), key=lambda s: s.name):
        v = ctx.session.values.get(s.name, s.default)
        yield (s.display or s.name, v, None, "", "", None, "user" if s.settable else
               "internal", "string", "default", None, None, None, s.default, s.default, None,
               None, False)


@view("pg_collation", [("oid", T.OID), ("collname", T.NAME), ("collnamespace", T.OID),
                       ("collowner", T.OID), ("collprovider", T.CHAR),
                       ("collisdeterministic", T.BOOL), ("collencoding", T.INT4),
                       ("collcollate", T.TEXT), ("collctype", T.TEXT),
                       ("colliculocale", T.TEXT), ("collversion", T.TEXT)], 3456)
def _pg_collation(ctx: Any) -> Iterable[tuple]:
    return [(100, "default", PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, "d", True, -1, None, None,
             None, None),
            (950, "C", PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, "c", True, -1, "C", "C", None, None),
            (951, "POSIX", PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, "c", True, -1, "POSIX",
             "POSIX", None, None)]


@view("pg_tablespace", [("oid", T.OID), ("spcname", T.NAME), ("spcowner", T.OID),
                        ("spcacl", ARR(T.ACLITEM)), ("spcoptions", ARR(T.TEXT))], 1213)
def _pg_tablespace(ctx: Any) -> Iterable[tuple]:
    return [(1663, "pg_default", BOOTSTRAP_ROLE_OID, None, None),
            (1664, "pg_global", BOOTSTRAP_ROLE_OID, None, None)]


@view("pg_proc", [("oid", T.OID), ("proname", T.NAME), ("pronamespace", T.OID),
                  ("proowner", T.OID), ("prolang", T.OID), ("prokind", T.CHAR),
                  ("proisstrict", T.BOOL), ("proretset", T.BOOL), ("provolatile", T.CHAR),
                  ("pronargs", T.INT2), ("prorettype", T.OID), ("proargtypes", T.OIDVECTOR),
                  ("prosrc", T.TEXT)], 1255)
def _pg_proc(ctx: Any) -> Iterable[tuple]:
    from aiondb.sql import functions as F
    for name, defs in sorted(F.FUNCTIONS.items()):
        for d in defs:
            ret = d.ret.oid if isinstance(d.ret, T.SqlType) else T.ANYELEMENT.oid
            args = [a.oid if isinstance(a, T.SqlType) else T.ANYELEMENT.oid for a in d.args]
            yield (d.oid, name, PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, 12, "f", d.strict, False,
                   "v" if d.volatile else "i", len(args), ret, args, name)


# --- convenience views ---------------------------------------------------------------------------

@view("pg_tables", [("schemaname", T.NAME), ("tablename", T.NAME), ("tableowner", T.NAME),
                    ("tablespace", T.NAME), ("hasindexes", T.BOOL), ("hasrules", T.BOOL),
                    ("hastriggers", T.BOOL), ("rowsecurity", T.BOOL)])
def _pg_tables(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for t in cat.tables():
        yield (_schema_name(cat, t.schema_oid), t.name, ctx.session.user, None,
               bool(cat.indexes_of(t.oid)), False, False, False)


@view("pg_views", [("schemaname", T.NAME), ("viewname", T.NAME), ("viewowner", T.NAME),
                   ("definition", T.TEXT)])
def _pg_views(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for v in cat.relations.values():
        if isinstance(v, ViewDef):
            yield (_schema_name(cat, v.schema_oid), v.name, ctx.session.user, " " + v.sql + ";")


@view("pg_indexes", [("schemaname", T.NAME), ("tablename", T.NAME), ("indexname", T.NAME),
                     ("tablespace", T.NAME), ("indexdef", T.TEXT)])
def _pg_indexes(ctx: Any) -> Iterable[tuple]:
    from aiondb.sql.fn_system import index_definition
    cat = ctx.catalog
    for i in cat.relations.values():
        if isinstance(i, IndexDef):
            t = cat.relations.get(i.table_oid)
            yield (_schema_name(cat, i.schema_oid), t.name if t else "?", i.name, None,
                   index_definition(cat, i))


@view("pg_sequences", [("schemaname", T.NAME), ("sequencename", T.NAME),
                       ("sequenceowner", T.NAME), ("data_type", T.REGTYPE),
                       ("start_value", T.INT8), ("min_value", T.INT8), ("max_value", T.INT8),
                       ("increment_by", T.INT8), ("cycle", T.BOOL), ("cache_size", T.INT8),
                       ("last_value", T.INT8)])
def _pg_sequences(ctx: Any) -> Iterable[tuple]:
    from aiondb.sql.fn_system import RegValue
    cat = ctx.catalog
    for s in cat.sequences():
        state = ctx.db.seq_values.get(s.oid) if ctx.db is not None else None
        last = state[0] if state and state[1] else None
        yield (_schema_name(cat, s.schema_oid), s.name, ctx.session.user,
               RegValue(s.type.oid, s.type.sql_name()), s.start, s.min_value, s.max_value,
               s.increment, s.cycle, s.cache, last)


@view("pg_sequence", [("seqrelid", T.OID), ("seqtypid", T.OID), ("seqstart", T.INT8),
                      ("seqincrement", T.INT8), ("seqmax", T.INT8), ("seqmin", T.INT8),
                      ("seqcache", T.INT8), ("seqcycle", T.BOOL)], 2224)
def _pg_sequence(ctx: Any) -> Iterable[tuple]:
    for s in ctx.catalog.sequences():
        yield (s.oid, s.type.oid, s.start, s.increment, s.max_value, s.min_value, s.cache,
               s.cycle)


_ACTIVITY_COLS = [
    ("datid", T.OID), ("datname", T.NAME), ("pid", T.INT4), ("leader_pid", T.INT4),
    ("usesysid", T.OID), ("usename", T.NAME), ("application_name", T.TEXT),
    ("client_addr", T.TEXT), ("client_hostname", T.TEXT), ("client_port", T.INT4),
    ("backend_start", T.TIMESTAMPTZ), ("xact_start", T.TIMESTAMPTZ),
    ("query_start", T.TIMESTAMPTZ), ("state_change", T.TIMESTAMPTZ),
    ("wait_event_type", T.TEXT), ("wait_event", T.TEXT), ("state", T.TEXT),
    ("backend_xid", T.XID), ("backend_xmin", T.XID), ("query_id", T.INT8), ("query", T.TEXT),
    ("backend_type", T.TEXT),
]


@view("pg_stat_activity", _ACTIVITY_COLS)
def _pg_stat_activity(ctx: Any) -> Iterable[tuple]:
    for s in list(ctx.session.engine.sessions.values()):
        state = "active" if s is ctx.session else ("idle in transaction" if s.in_block
                                                   else "idle")
        yield (s.db.oid, s.db.name, s.pid, None, BOOTSTRAP_ROLE_OID, s.user,
               s.values.get("application_name", ""), "127.0.0.1", None, None,
               s.engine.started_at, s.txn_started_at if s.txn is not None else None,
               s.stmt_started_at, s.stmt_started_at, None, None, state, None, None, None,
               "", "client backend")


@view("pg_stat_user_tables", [("relid", T.OID), ("schemaname", T.NAME), ("relname", T.NAME),
                              ("seq_scan", T.INT8), ("n_live_tup", T.INT8),
                              ("n_dead_tup", T.INT8)])
def _pg_stat_user_tables(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for t in cat.tables():
        td = ctx.db.tables.get(t.oid)
        yield (t.oid, _schema_name(cat, t.schema_oid), t.name, 0,
               len(td.rows) if td is not None else 0, 0)


_empty("pg_description", [("objoid", T.OID), ("classoid", T.OID), ("objsubid", T.INT4),
                          ("description", T.TEXT)], 2609)
_empty("pg_shdescription", [("objoid", T.OID), ("classoid", T.OID), ("description", T.TEXT)])
_empty("pg_inherits", [("inhrelid", T.OID), ("inhparent", T.OID), ("inhseqno", T.INT4),
                       ("inhdetachpending", T.BOOL)], 2611)
_empty("pg_policy", [("oid", T.OID), ("polname", T.NAME), ("polrelid", T.OID),
                     ("polcmd", T.CHAR), ("polpermissive", T.BOOL), ("polroles", ARR(T.OID)),
                     ("polqual", T.PG_NODE_TREE), ("polwithcheck", T.PG_NODE_TREE)], 3256)
_empty("pg_statistic_ext", [("oid", T.OID), ("stxrelid", T.OID), ("stxname", T.NAME),
                            ("stxnamespace", T.OID), ("stxowner", T.OID),
                            ("stxstattarget", T.INT4), ("stxkeys", T.INT2VECTOR),
                            ("stxkind", ARR(T.CHAR)), ("stxexprs", T.PG_NODE_TREE)], 3381)
_empty("pg_publication", [("oid", T.OID), ("pubname", T.NAME), ("pubowner", T.OID),
                          ("puballtables", T.BOOL), ("pubinsert", T.BOOL),
                          ("pubupdate", T.BOOL), ("pubdelete", T.BOOL),
                          ("pubtruncate", T.BOOL), ("pubviaroot", T.BOOL)], 6104)
_empty("pg_publication_namespace", [("oid", T.OID), ("pnpubid", T.OID), ("pnnspid", T.OID)],
       6237)
_empty("pg_publication_rel", [("oid", T.OID), ("prpubid", T.OID), ("prrelid", T.OID),
                              ("prqual", T.PG_NODE_TREE), ("prattrs", T.INT2VECTOR)], 6106)
_empty("pg_trigger", [("oid", T.OID), ("tgrelid", T.OID), ("tgparentid", T.OID),
                      ("tgname", T.NAME), ("tgfoid", T.OID), ("tgtype", T.INT2),
                      ("tgenabled", T.CHAR), ("tgisinternal", T.BOOL)], 2620)
_empty("pg_rewrite", [("oid", T.OID), ("rulename", T.NAME), ("ev_class", T.OID)], 2618)
_empty("pg_depend", [("classid", T.OID), ("objid", T.OID), ("objsubid", T.INT4),
                     ("refclassid", T.OID), ("refobjid", T.OID), ("refobjsubid", T.INT4),
                     ("deptype", T.CHAR)], 2608)
_empty("pg_enum", [("oid", T.OID), ("enumtypid", T.OID), ("enumsortorder", T.FLOAT4),
                   ("enumlabel", T.NAME)], 3501)
_empty("pg_range", [("rngtypid", T.OID), ("rngsubtype", T.OID)], 3541)
_empty("pg_locks", [("locktype", T.TEXT), ("database", T.OID), ("relation", T.OID),
                    ("pid", T.INT4), ("mode", T.TEXT), ("granted", T.BOOL)])
_empty("pg_foreign_table", [("ftrelid", T.OID), ("ftserver", T.OID)], 3118)
_empty("pg_partitioned_table", [("partrelid", T.OID), ("partstrat", T.CHAR)], 3350)
_empty("pg_event_trigger", [("oid", T.OID), ("evtname", T.NAME)], 3466)
_empty("pg_cast", [("oid", T.OID), ("castsource", T.OID), ("casttarget", T.OID),
                   ("castfunc", T.OID), ("castcontext", T.CHAR), ("castmethod", T.CHAR)], 2605)
_empty("pg_operator", [("oid", T.OID), ("oprname", T.NAME), ("oprnamespace", T.OID),
                       ("oprleft", T.OID), ("oprright", T.OID), ("oprresult", T.OID)], 2617)


@view("pg_extension", [("oid", T.OID), ("extname", T.NAME), ("extowner", T.OID),
                       ("extnamespace", T.OID), ("extrelocatable", T.BOOL),
                       ("extversion", T.TEXT), ("extconfig", ARR(T.OID)),
                       ("extcondition", ARR(T.TEXT))], 3079)
def _pg_extension(ctx: Any) -> Iterable[tuple]:
    return [(13500, "plpgsql", BOOTSTRAP_ROLE_OID, PG_CATALOG_OID, False, "1.0", None, None),
            (13501, "vector", BOOTSTRAP_ROLE_OID, PG_CATALOG_OID, True, "0.7.0", None, None)]


# --- information_schema ------------------------------------------------------------------------------

def _info(name: str, cols: list[tuple[str, T.SqlType]]) -> Callable:
    return view(name, cols, schema="information_schema")


def _data_type(t: T.SqlType) -> str:
    if t.elem is not None:
        return "ARRAY"
    if t.oid == T.VECTOR.oid:
        return "USER-DEFINED"
    return t.base.sql_name()


@_info("schemata", [("catalog_name", T.NAME), ("schema_name", T.NAME),
                    ("schema_owner", T.NAME), ("default_character_set_catalog", T.NAME),
                    ("default_character_set_schema", T.NAME),
                    ("default_character_set_name", T.NAME), ("sql_path", T.TEXT)])
def _schemata(ctx: Any) -> Iterable[tuple]:
    for _oid, name, _owner in _schemas(ctx.catalog):
        yield (ctx.session.db.name, name, ctx.session.user, None, None, None, None)


@_info("tables", [("table_catalog", T.NAME), ("table_schema", T.NAME), ("table_name", T.NAME),
                  ("table_type", T.TEXT), ("self_referencing_column_name", T.NAME),
                  ("reference_generation", T.TEXT), ("user_defined_type_catalog", T.NAME),
                  ("user_defined_type_schema", T.NAME), ("user_defined_type_name", T.NAME),
                  ("is_insertable_into", T.TEXT), ("is_typed", T.TEXT),
                  ("commit_action", T.TEXT)])
def _tables(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for rel in cat.relations.values():
        if isinstance(rel, (TableDef, ViewDef)):
            kind = "BASE TABLE" if isinstance(rel, TableDef) else "VIEW"
            yield (ctx.session.db.name, _schema_name(cat, rel.schema_oid), rel.name, kind,
                   None, None, None, None, None, "YES" if kind == "BASE TABLE" else "NO", "NO",
                   None)


_COLUMN_COLS = [
    ("table_catalog", T.NAME), ("table_schema", T.NAME), ("table_name", T.NAME),
    ("column_name", T.NAME), ("ordinal_position", T.INT4), ("column_default", T.TEXT),
    ("is_nullable", T.TEXT), ("data_type", T.TEXT), ("character_maximum_length", T.INT4),
    ("character_octet_length", T.INT4), ("numeric_precision", T.INT4),
    ("numeric_precision_radix", T.INT4), ("numeric_scale", T.INT4),
    ("datetime_precision", T.INT4), ("udt_catalog", T.NAME), ("udt_schema", T.NAME),
    ("udt_name", T.NAME), ("is_identity", T.TEXT), ("identity_generation", T.TEXT),
    ("is_generated", T.TEXT), ("is_updatable", T.TEXT),
]


@_info("columns", _COLUMN_COLS)
def _columns(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for rel in cat.relations.values():
        if not isinstance(rel, (TableDef, ViewDef)):
            continue
        schema = _schema_name(cat, rel.schema_oid)
        for i, c in enumerate(rel.columns):
            t = c.type
            charlen = T.char_length_limit(t)
            prec = scale = None
            radix = None
            if t.oid == T.NUMERIC.oid:
                ps = T.numeric_precision_scale(t.typmod)
                if ps:
                    prec, scale = ps
                radix = 10
            elif t.oid in (T.INT2.oid, T.INT4.oid, T.INT8.oid):
                prec = {T.INT2.oid: 16, T.INT4.oid: 32, T.INT8.oid: 64}[t.oid]
                scale = 0
                radix = 2
            elif t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
                prec = 24 if t.oid == T.FLOAT4.oid else 53
                radix = 2
            dtp = 6 if t.oid in (T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.TIME.oid,
                                 T.DATE.oid) else None
            if t.oid == T.DATE.oid:
                dtp = 0
            yield (ctx.session.db.name, schema, rel.name, c.name, i + 1, c.default,
                   "NO" if c.not_null else "YES", _data_type(t), charlen,
                   charlen * 4 if charlen else (1073741824 if t.category == "S" else None),
                   prec, radix, scale, dtp, ctx.session.db.name, "pg_catalog", t.name,
                   "YES" if c.identity else "NO",
                   {"a": "ALWAYS", "d": "BY DEFAULT"}.get(c.identity), "NEVER",
                   "YES" if isinstance(rel, TableDef) else "NO")


@_info("views", [("table_catalog", T.NAME), ("table_schema", T.NAME), ("table_name", T.NAME),
                 ("view_definition", T.TEXT), ("check_option", T.TEXT),
                 ("is_updatable", T.TEXT), ("is_insertable_into", T.TEXT)])
def _views(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for v in cat.relations.values():
        if isinstance(v, ViewDef):
            yield (ctx.session.db.name, _schema_name(cat, v.schema_oid), v.name, v.sql, "NONE",
                   "NO", "NO")


@_info("table_constraints", [("constraint_catalog", T.NAME), ("constraint_schema", T.NAME),
                             ("constraint_name", T.NAME), ("table_catalog", T.NAME),
                             ("table_schema", T.NAME), ("table_name", T.NAME),
                             ("constraint_type", T.TEXT), ("is_deferrable", T.TEXT),
                             ("initially_deferred", T.TEXT), ("enforced", T.TEXT)])
def _table_constraints(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    names = {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "f": "FOREIGN KEY"}
    for c in cat.constraints.values():
        t = cat.relations.get(c.table_oid)
        if t is None:
            continue
        schema = _schema_name(cat, t.schema_oid)
        yield (ctx.session.db.name, schema, c.name, ctx.session.db.name, schema, t.name,
               names[c.kind], "NO", "NO", "YES")


@_info("key_column_usage", [("constraint_catalog", T.NAME), ("constraint_schema", T.NAME),
                            ("constraint_name", T.NAME), ("table_catalog", T.NAME),
                            ("table_schema", T.NAME), ("table_name", T.NAME),
                            ("column_name", T.NAME), ("ordinal_position", T.INT4),
                            ("position_in_unique_constraint", T.INT4)])
def _key_column_usage(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for c in cat.constraints.values():
        if c.kind not in ("p", "u", "f"):
            continue
        t = cat.relations.get(c.table_oid)
        if not isinstance(t, TableDef):
            continue
        schema = _schema_name(cat, t.schema_oid)
        for i, a in enumerate(c.attnums):
            yield (ctx.session.db.name, schema, c.name, ctx.session.db.name, schema, t.name,
                   t.columns[t.position(a)].name, i + 1, i + 1 if c.kind == "f" else None)


@_info("sequences", [("sequence_catalog", T.NAME), ("sequence_schema", T.NAME),
                     ("sequence_name", T.NAME), ("data_type", T.TEXT),
                     ("start_value", T.TEXT), ("minimum_value", T.TEXT),
                     ("maximum_value", T.TEXT), ("increment", T.TEXT),
                     ("cycle_option", T.TEXT)])
def _sequences(ctx: Any) -> Iterable[tuple]:
    cat = ctx.catalog
    for s in cat.sequences():
        yield (ctx.session.db.name, _schema_name(cat, s.schema_oid), s.name,
               s.type.sql_name(), str(s.start), str(s.min_value), str(s.max_value),
               str(s.increment), "YES" if s.cycle else "NO")

