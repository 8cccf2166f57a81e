"""System and catalog functions: version(), current_*(), sequences,
pg_sleep, reg* lookups, and the pg_get_*def family psql relies on."""

from __future__ import annotations

import platform
import uuid
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import ANY, func
from aiondb.sql.settings import SERVER_VERSION
from aiondb.storage.catalog import (
    BOOTSTRAP_ROLE_OID,
    INFORMATION_SCHEMA_OID,
    PG_CATALOG_OID,
    Catalog,
    IndexDef,
    SequenceDef,
    TableDef,
    ViewDef,
)


class RegValue(int):
    """An OID that prints as a name (regclass, regtype, ...)."""

    label: str

    def __new__(cls, oid: int, label: str) -> RegValue:
        obj = super().__new__(cls, oid)
        obj.label = label
        return obj


def version_string() -> str:
    return (f"PostgreSQL {SERVER_VERSION} on {platform.machine()}-pc-linux-gnu, "
            f"compiled by Python {platform.python_version()}, 64-bit")


# --- name and reg* resolution ---------------------------------------------------------------------

def _split_name(text: str) -> list[str]:
    parts = []
    cur = []
    quoted = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            quoted = not quoted
        elif c == "." and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c if quoted else c.lower())
        i += 1
    parts.append("".join(cur))
    return [p.strip() if not p.startswith(" ") else p for p in parts]


def relation_label(session: Any, catalog: Catalog, oid: int) -> str:
    rel = catalog.relations.get(oid)
    if rel is None:
        from aiondb.sql import pg_catalog
        name = pg_catalog.SYSTEM_OIDS.get(oid)
        return name if name is not None else str(oid)
    schema = catalog.schema_by_oid(rel.schema_oid)
    if schema is None:
        return rel.name
    if _visible(session, catalog, rel):
        return _quote_ident(rel.name)
    return f"{_quote_ident(schema.name)}.{_quote_ident(rel.name)}"


def _quote_ident(name: str) -> str:
    if name and (name[0].isalpha() or name[0] == "_") and \
            all(c.islower() or c.isdigit() or c == "_" for c in name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _visible(session: Any, catalog: Catalog, rel: Any) -> bool:
    for sname in session.search_path():
        sdef = catalog.schema(sname)
        if sdef is None:
            continue
        found = catalog.lookup(sdef.oid, rel.name)
        if found is not None:
            return found.oid == rel.oid
    return False


def type_label(oid: int, typmod: int = -1) -> str:
    t = T.BY_OID.get(oid)
    if t is None:
        return "???"
    return (t if typmod == -1 else t.with_typmod(typmod)).sql_name()


def resolve_reg(session: Any, t: T.SqlType, v: Any, ctx: Any) -> RegValue:
    catalog = ctx.catalog if ctx is not None and ctx.catalog is not None else \
        session.current_catalog()
    if isinstance(v, int):
        oid = int(v)
        if t.oid == T.REGCLASS.oid:
            return RegValue(oid, relation_label(session, catalog, oid))
        if t.oid == T.REGTYPE.oid:
            return RegValue(oid, type_label(oid))
        if t.oid == T.REGNAMESPACE.oid:
            s = catalog.schema_by_oid(oid)
            return RegValue(oid, s.name if s else {PG_CATALOG_OID: "pg_catalog",
                                                   INFORMATION_SCHEMA_OID:
                                                   "information_schema"}.get(oid, str(oid)))
        if t.oid == T.REGROLE.oid:
            return RegValue(oid, session.user if oid == BOOTSTRAP_ROLE_OID else str(oid))
        return RegValue(oid, str(oid))
    text = str(v).strip()
    if text.isdigit():
        return resolve_reg(session, t, int(text), ctx)
    if t.oid == T.REGCLASS.oid:
        parts = _split_name(text)
        schema, name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[-1])
        rel, sysv = session.resolve_relation(catalog, schema, name)
        if sysv is not None:
            return RegValue(sysv.oid, name)
        return RegValue(rel.oid, relation_label(session, catalog, rel.oid))
    if t.oid == T.REGTYPE.oid:
        from aiondb.sql.binder import type_from_name
        tt = type_from_name(text)
        return RegValue(tt.oid, tt.base.sql_name() if tt.elem is None else tt.sql_name())
    if t.oid == T.REGNAMESPACE.oid:
        name = _split_name(text)[0]
        if name == "pg_catalog":
            return RegValue(PG_CATALOG_OID, name)
        if name == "information_schema":
            return RegValue(INFORMATION_SCHEMA_OID, name)
        s = catalog.schema(name)
        if s is None:
            raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
        return RegValue(s.oid, s.name)
    if t.oid == T.REGROLE.oid:
        name = _split_name(text)[0]
        if name != session.user:
            raise errors.UndefinedObject(f'role "{name}" does not exist')
        return RegValue(BOOTSTRAP_ROLE_OID, name)
    if t.oid == T.REGPROC.oid:
        from aiondb.sql.functions import FUNCTIONS
        name = _split_name(text)[-1]
        defs = FUNCTIONS.get(name)
        if not defs:
            raise errors.UndefinedFunction(f'function "{name}" does not exist')
        return RegValue(defs[0].oid, name)
    raise errors.InternalError(f"cannot resolve {t.sql_name()}")


# --- session information --------------------------------------------------------------------------------

func("version", (), T.TEXT)(version_string)
func(("current_user", "session_user", "user", "current_role"), (), T.NAME, needs_ctx=True)(
    lambda ctx: ctx.session.user)
func("current_database", (), T.NAME, needs_ctx=True)(lambda ctx: ctx.session.db.name)
func("current_catalog", (), T.NAME, needs_ctx=True)(lambda ctx: ctx.session.db.name)


@func("current_schema", (), T.NAME, needs_ctx=True)
def _current_schema(ctx: Any) -> str | None:
    cat = ctx.catalog
    for s in ctx.session.search_path():
        if cat.schema(s) is not None:
            return s
    return None


@func("current_schemas", (T.BOOL,), T.NAME.array_of(), needs_ctx=True)
def _current_schemas(ctx: Any, implicit: bool) -> list[str]:
    out = ["pg_catalog"] if implicit else []
    cat = ctx.catalog
    out += [s for s in ctx.session.search_path() if cat.schema(s) is not None]
    return out


func("pg_backend_pid", (), T.INT4, needs_ctx=True)(lambda ctx: ctx.session.pid)
func("pg_postmaster_start_time", (), T.TIMESTAMPTZ, needs_ctx=True)(
    lambda ctx: ctx.session.engine.started_at)
func("pg_conf_load_time", (), T.TIMESTAMPTZ, needs_ctx=True)(
    lambda ctx: ctx.session.engine.started_at)
func("pg_is_in_recovery", (), T.BOOL)(lambda: False)
func(("txid_current", "pg_current_xact_id"), (), T.INT8, needs_ctx=True, volatile=True)(
    lambda ctx: ctx.txn.xid)
func("inet_server_port", (), T.INT4, needs_ctx=True)(
    lambda ctx: getattr(ctx.session.engine.config, "port", 5432))
func(("inet_server_addr", "inet_client_addr"), (), T.TEXT, strict=False)(lambda: None)
func("gen_random_uuid", (), T.UUID, volatile=True)(uuid.uuid4)
func("uuid_generate_v4", (), T.UUID, volatile=True)(uuid.uuid4)


@func("current_setting", (T.TEXT,), T.TEXT, needs_ctx=True)
def _current_setting(ctx: Any, name: str, missing_ok: bool = False) -> str | None:
    try:
        return ctx.session.show(name)[1]
    except errors.UndefinedObject:
        if missing_ok:
            return None
        raise


func("current_setting", (T.TEXT, T.BOOL), T.TEXT, needs_ctx=True)(_current_setting)


@func("set_config", (T.TEXT, T.TEXT, T.BOOL), T.TEXT, needs_ctx=True, strict=False,
      volatile=True)
def _set_config(ctx: Any, name: str, value: str | None, local: bool) -> str:
    ctx.session.set_value(name, value, bool(local))
    return ctx.session.show(name)[1]


# --- sleeping --------------------------------------------------------------------------------------------

@func("pg_sleep", (T.FLOAT8,), T.VOID, needs_ctx=True, volatile=True)
def pg_sleep(ctx: Any, seconds: float) -> None:
    """Statements run synchronously; a sleep asks the session to await and
    re-run the statement, skipping the sleeps already done."""
    from aiondb.sql.session import SleepRequest
    idx = ctx.cache.get("sleep_idx", 0)
    ctx.cache["sleep_idx"] = idx + 1
    if idx < ctx.session.sleeps_done:
        return None
    raise SleepRequest(seconds)


# --- sequences ------------------------------------------------------------------------------------------

def _sequence(ctx: Any, reg: Any) -> SequenceDef:
    rel = ctx.catalog.relations.get(int(reg))
    if not isinstance(rel, SequenceDef):
        name = getattr(reg, "label", str(reg))
        raise errors.WrongObjectType(f'"{name}" is not a sequence')
    return rel


@func("nextval", (T.REGCLASS,), T.INT8, needs_ctx=True, volatile=True)
def _nextval(ctx: Any, reg: Any) -> int:
    seq = _sequence(ctx, reg)
    if ctx.txn is not None and ctx.txn.read_only:
        raise errors.ReadOnlySqlTransaction(
            'cannot execute nextval() in a read-only transaction')
    value = ctx.db.nextval(ctx.txn, seq)
    ctx.session.sequence_values[seq.oid] = value
    ctx.session.last_sequence_value = value
    return value


@func("currval", (T.REGCLASS,), T.INT8, needs_ctx=True, volatile=True)
def _currval(ctx: Any, reg: Any) -> int:
    seq = _sequence(ctx, reg)
    v = ctx.session.sequence_values.get(seq.oid)
    if v is None:
        raise errors.ObjectNotInPrerequisiteState(
            f'currval of sequence "{seq.name}" is not yet defined in this session')
    return v


@func("lastval", (), T.INT8, needs_ctx=True, volatile=True)
def _lastval(ctx: Any) -> int:
    v = ctx.session.last_sequence_value
    if v is None:
        raise errors.ObjectNotInPrerequisiteState("lastval is not yet defined in this session")
    return v


def _setval(ctx: Any, reg: Any, value: int, is_called: bool = True) -> int:
    seq = _sequence(ctx, reg)
    ctx.db.setval(ctx.txn, seq, value, is_called)
    if is_called:
        ctx.session.sequence_values[seq.oid] = value
    return value


func("setval", (T.REGCLASS, T.INT8), T.INT8, needs_ctx=True, volatile=True)(_setval)
func("setval", (T.REGCLASS, T.INT8, T.BOOL), T.INT8, needs_ctx=True, volatile=True)(_setval)


@func("pg_get_serial_sequence", (T.TEXT, T.TEXT), T.TEXT, needs_ctx=True)
def _serial_sequence(ctx: Any, table: str, column: str) -> str | None:
    reg = resolve_reg(ctx.session, T.REGCLASS, table, ctx)
    rel = ctx.catalog.relations.get(int(reg))
    if not isinstance(rel, TableDef):
        return None
    col = rel.column(column)
    if col is None:
        raise errors.UndefinedColumn(f'column "{column}" of relation "{rel.name}" does not '
                                     "exist")
    seq = ctx.catalog.relations.get(col.sequence_oid)
    if seq is None:
        return None
    schema = ctx.catalog.schema_by_oid(seq.schema_oid)
    return f"{schema.name if schema else 'public'}.{seq.name}"


# --- catalog helpers for psql ------------------------------------------------------------------------------

@func("pg_table_is_visible", (T.OID,), T.BOOL, needs_ctx=True)
def _table_is_visible(ctx: Any, oid: int) -> bool:
    rel = ctx.catalog.relations.get(oid)
    if rel is None:
        return oid < 16384
    return _visible(ctx.session, ctx.catalog, rel)


@func(("pg_type_is_visible", "pg_function_is_visible"), (T.OID,), T.BOOL)
def _type_visible(oid: int) -> bool:
    return True


@func("pg_get_userbyid", (T.OID,), T.NAME, needs_ctx=True)
def _userbyid(ctx: Any, oid: int) -> str:
    return ctx.session.user if oid == BOOTSTRAP_ROLE_OID else f"unknown (OID={oid})"


@func("format_type", (T.OID, T.INT4), T.TEXT, strict=False)
def _format_type(oid: int | None, typmod: int | None) -> str | None:
    if oid is None:
        return None
    return type_label(oid, typmod if typmod is not None else -1)


func("pg_encoding_to_char", (T.INT4,), T.NAME)(lambda e: "UTF8" if e == 6 else "SQL_ASCII")
func(("obj_description", "shobj_description"), (T.OID, T.NAME), T.TEXT, strict=False)(
    lambda oid, cat: None)
func("obj_description", (T.OID,), T.TEXT, strict=False)(lambda oid: None)
func("col_description", (T.OID, T.INT4), T.TEXT, strict=False)(lambda oid, n: None)
func("pg_get_expr", (T.PG_NODE_TREE, T.OID), T.TEXT)(lambda e, rel: e)
func("pg_get_expr", (T.PG_NODE_TREE, T.OID, T.BOOL), T.TEXT)(lambda e, rel, pretty: e)
func("pg_get_statisticsobjdef_columns", (T.OID,), T.TEXT, strict=False)(lambda oid: None)
func("pg_relation_is_publishable", (T.REGCLASS,), T.BOOL)(lambda oid: False)
for _name in ("has_table_privilege", "has_schema_privilege", "has_database_privilege",
              "has_sequence_privilege", "has_column_privilege", "has_function_privilege"):
    func(_name, (T.TEXT, T.TEXT), T.BOOL, strict=False)(lambda a, b: True)
    func(_name, (T.TEXT, T.TEXT, T.TEXT), T.BOOL, strict=False)(lambda a, b, c: True)
func("pg_has_role", (T.TEXT, T.TEXT), T.BOOL, strict=False)(lambda a, b: True)


def index_definition(catalog: Catalog, idx: IndexDef) -> str:
    table = catalog.relations.get(idx.table_oid)
    schema = catalog.schema_by_oid(idx.schema_oid)
    sname = schema.name if schema else "public"
    cols = []
    for i, a in enumerate(idx.attnums):
        name = table.columns[table.position(a)].name if isinstance(table, TableDef) else str(a)
        cols.append(_quote_ident(name) + (" DESC" if idx.descending and idx.descending[i]
                                          else ""))
    unique = "UNIQUE " if idx.unique else ""
    return (f"CREATE {unique}INDEX {_quote_ident(idx.name)} ON {sname}."
            f"{_quote_ident(table.name if table else '?')} USING {idx.method} "
            f"({', '.join(cols)})")


@func("pg_get_indexdef", (T.OID,), T.TEXT, needs_ctx=True)
def _indexdef(ctx: Any, oid: int, col: int = 0, pretty: bool = False) -> str | None:
    idx = ctx.catalog.relations.get(oid)
    if not isinstance(idx, IndexDef):
        return None
    return index_definition(ctx.catalog, idx)


func("pg_get_indexdef", (T.OID, T.INT4, T.BOOL), T.TEXT, needs_ctx=True)(_indexdef)

_FK_TEXT = {"a": "", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def constraint_definition(catalog: Catalog, con: Any) -> str:
    table = catalog.relations.get(con.table_oid)

    def names(t: Any, attnums: tuple[int, ...]) -> str:
        return ", ".join(_quote_ident(t.columns[t.position(a)].name) for a in attnums)
    if con.kind == "p":
        return f"PRIMARY KEY ({names(table, con.attnums)})"
    if con.kind == "u":
        return f"UNIQUE ({names(table, con.attnums)})"
    if con.kind == "c":
        return f"CHECK (({con.expr}))" if not (con.expr or "").startswith("(") else \
            f"CHECK ({con.expr})"
    if con.kind == "f":
        parent = catalog.relations.get(con.ref_table_oid)
        text = (f"FOREIGN KEY ({names(table, con.attnums)}) REFERENCES "
                f"{_quote_ident(parent.name) if parent else '?'}"
                f"({names(parent, con.ref_attnums) if parent else ''})")
        if con.on_update != "a":
            text += f" ON UPDATE {_FK_TEXT[con.on_update]}"
        if con.on_delete != "a":
            text += f" ON DELETE {_FK_TEXT[con.on_delete]}"
        return text
    return ""


@func("pg_get_constraintdef", (T.OID,), T.TEXT, needs_ctx=True)
def _constraintdef(ctx: Any, oid: int, pretty: bool = False) -> str | None:
    con = ctx.catalog.constraints.get(oid)
    if con is None:
        return None
    return constraint_definition(ctx.catalog, con)


func("pg_get_constraintdef", (T.OID, T.BOOL), T.TEXT, needs_ctx=True)(_constraintdef)


@func("pg_get_viewdef", (T.OID,), T.TEXT, needs_ctx=True)
def _viewdef(ctx: Any, oid: int, pretty: bool = False) -> str | None:
    v = ctx.catalog.relations.get(oid)
    return (" " + v.sql + ";") if isinstance(v, ViewDef) else None


func("pg_get_viewdef", (T.OID, T.BOOL), T.TEXT, needs_ctx=True)(_viewdef)


@func("pg_typeof", (ANY,), T.REGTYPE, strict=False)
def _pg_typeof(v: Any) -> Any:   # the binder replaces this with the static type
    return None


# --- sizes --------------------------------------------------------------------------------------------------

def _relation_bytes(ctx: Any, oid: int) -> int:
    td = ctx.db.tables.get(int(oid)) if ctx.db is not None else None
    if td is None:
        return 0
    return 8192 * (1 + len(td.rows) // 64)


for _name in ("pg_relation_size", "pg_total_relation_size", "pg_table_size"):
    func(_name, (T.REGCLASS,), T.INT8, needs_ctx=True)(_relation_bytes)
func("pg_indexes_size", (T.REGCLASS,), T.INT8, needs_ctx=True)(
    lambda ctx, oid: 8192 * len(ctx.catalog.indexes_of(int(oid))))
func("pg_database_size", (T.NAME,), T.INT8, needs_ctx=True)(
    lambda ctx, name: sum(_relation_bytes(ctx, o) for o in ctx.db.tables))


@func("pg_size_pretty", (T.INT8,), T.TEXT)
def _size_pretty(size: int) -> str:
    """PostgreSQL's algorithm: one extra bit is kept for half-rounding."""
    def half_rounded(x: int) -> int:
        return int((x + (-1 if x < 0 else 1)) / 2)
    limit = 10 * 1024
    limit2 = limit * 2 - 1
    if abs(size) < limit:
        return f"{size} bytes"
    size >>= 9
    for unit in ("kB", "MB", "GB"):
        if abs(size) < limit2:
            return f"{half_rounded(size)} {unit}"
        size >>= 10
    return f"{half_rounded(size)} TB"


func("pg_size_pretty", (T.NUMERIC,), T.TEXT)(lambda n: _size_pretty(int(n)))
func("to_regclass", (T.TEXT,), T.REGCLASS, needs_ctx=True)(
    lambda ctx, name: _try_reg(ctx, T.REGCLASS, name))
func("to_regtype", (T.TEXT,), T.REGTYPE, needs_ctx=True)(
    lambda ctx, name: _try_reg(ctx, T.REGTYPE, name))


def _try_reg(ctx: Any, t: T.SqlType, name: str) -> Any:
    try:
        return resolve_reg(ctx.session, t, name, ctx)
    except errors.DatabaseError:
        return None


func("pg_column_size", (ANY,), T.INT4)(lambda v: len(str(v).encode()))
