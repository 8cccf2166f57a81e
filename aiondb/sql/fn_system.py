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
        sysv = pg_catalog.SYSTEM_OIDS.get(oid)
        if sysv is None:
            return str(oid)
        return sysv.name if sysv.schema == "pg_catalog" else f"{sysv.schema}.{sysv.name}"
    schema = catalog.schema_by_oid(rel.schema_oid)
    if schema is None:
        return rel.name
    if is_visible(session, catalog, rel):
        return _quote_ident(rel.name)
    return f"{_quote_ident(schema.name)}.{_quote_ident(rel.name)}"


def _quote_ident(name: str) -> str:
    if name and (name[0].isalpha() or name[0] == "_") and \
            all(c.islower() or c.isdigit() or c == "_" for c in name):
        return name
    return '"' + name.replace('"', '""') + '"'


def is_visible(session: Any, catalog: Catalog, rel: Any) -> bool:
    """Found first on the search path (pg_table_is_visible)."""
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


def _row_type_label(session: Any, catalog: Catalog, oid: int) -> str | None:
    from aiondb.sql.pg_catalog.pg_type import row_type_relation
    from aiondb.sql.pg_catalog.registry import rowtype_oid
    rel = row_type_relation(catalog, oid)
    if rel is None:
        return None
    label = relation_label(session, catalog, rel.oid)
    return label if oid == rowtype_oid(rel.oid) else label + "[]"


def _resolve_type_name(session: Any, catalog: Catalog, text: str) -> RegValue:
    """regtype input: a type name, an internal name (_int4), or a table's
    row type (its name, optionally schema-qualified, optionally with [])."""
    from aiondb.sql.binder import type_from_name
    from aiondb.sql.pg_catalog.registry import rowtype_array_oid, rowtype_oid
    try:
        tt = type_from_name(text)
        return RegValue(tt.oid, tt.base.sql_name() if tt.elem is None else tt.sql_name())
    except errors.UndefinedObject:
        pass
    name = text.strip()
    internal = T.BY_NAME.get(name.lower())
    if internal is not None:
        return RegValue(internal.oid, type_label(internal.oid))
    array = name.endswith("[]")
    parts = _split_name(name[:-2] if array else name)
    schema, rel_name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[-1])
    try:
        rel, _ = session.resolve_relation(catalog, schema, rel_name)
    except errors.DatabaseError:
        rel = None
    if isinstance(rel, (TableDef, ViewDef)):
        oid = rowtype_array_oid(rel.oid) if array else rowtype_oid(rel.oid)
        return RegValue(oid, _row_type_label(session, catalog, oid) or rel.name)
    raise errors.UndefinedObject(f'type "{text.strip()}" does not exist')


def resolve_reg(session: Any, t: T.SqlType, v: Any, ctx: Any) -> RegValue:
    catalog = ctx.catalog if ctx is not None and ctx.catalog is not None else \
        session.current_catalog()
    if isinstance(v, int):
        oid = int(v)
        if t.oid == T.REGCLASS.oid:
            return RegValue(oid, relation_label(session, catalog, oid))
        if t.oid == T.REGTYPE.oid:
            return RegValue(oid, _row_type_label(session, catalog, oid) or type_label(oid))
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
        return _resolve_type_name(session, catalog, text)
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
def _other_backend(ctx: Any, pid: int) -> Any:
    target = ctx.session.engine.sessions.get(pid)
    if target is None:
        ctx.session.notice(f"PID {pid} is not a PostgreSQL backend process", "WARNING")
    return target


@func("pg_cancel_backend", (T.INT4,), T.BOOL, needs_ctx=True, volatile=True)
def _cancel_backend(ctx: Any, pid: int) -> bool:
    """Cancel the session's running statement, as its client's CancelRequest
    would (a session that is idle is not affected)."""
    target = _other_backend(ctx, pid)
    if target is None:
        return False
    target.cancel()
    return True


def _terminate_backend(ctx: Any, pid: int, timeout: int = 0) -> bool:
    """End the session: 57P01 to its client, its transaction rolled back."""
    if timeout < 0:
        raise errors.NumericValueOutOfRange('"timeout" must not be negative')
    target = _other_backend(ctx, pid)
    if target is None:
        return False
    if target.terminator is None:
        return False
    target.terminator()
    return True


func("pg_terminate_backend", (T.INT4,), T.BOOL, needs_ctx=True, volatile=True)(
    _terminate_backend)
func("pg_terminate_backend", (T.INT4, T.INT8), T.BOOL, needs_ctx=True, volatile=True)(
    _terminate_backend)
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


@func("pg_typeof", (ANY,), T.REGTYPE, strict=False)
def _pg_typeof(v: Any) -> Any:   # the binder replaces this with the static type
    return None


# --- sizes --------------------------------------------------------------------------------------------------

PAGE = 8192


def _needs_toast(table: TableDef) -> bool:
    """PostgreSQL gives a table a TOAST table (whose empty index is one page)
    when a row could outgrow a page: an unbounded variable-length column."""
    return any(c.type.typlen == -1 and T.char_length_limit(c.type) is None and
               T.numeric_precision_scale(c.type.typmod) is None for c in table.columns)


def relation_bytes(ctx: Any, oid: int, what: str = "relation") -> int:
    """Size estimates shaped like PostgreSQL's on-disk sizes (AionDB keeps live
    data in memory): a heap page per 64 rows, a btree metapage plus a page per
    256 entries, one page per sequence; exact for empty objects."""
    cat = ctx.catalog
    rel = cat.relations.get(int(oid))
    rows = 0
    if isinstance(rel, (TableDef, IndexDef)) and ctx.db is not None:
        td = ctx.db.tables.get(rel.oid if isinstance(rel, TableDef) else rel.table_oid)
        rows = len(td.rows) if td is not None else 0
    if isinstance(rel, IndexDef):
        return PAGE * (1 + (rows + 255) // 256)
    if isinstance(rel, SequenceDef):
        return PAGE
    if not isinstance(rel, TableDef):
        return 0
    size = PAGE * ((rows + 63) // 64)
    if what != "relation" and _needs_toast(rel):
        size += PAGE
    if what == "total":
        size += sum(relation_bytes(ctx, i.oid) for i in cat.indexes_of(rel.oid))
    return size


func("pg_relation_size", (T.REGCLASS,), T.INT8, needs_ctx=True)(relation_bytes)
func("pg_table_size", (T.REGCLASS,), T.INT8, needs_ctx=True)(
    lambda ctx, oid: relation_bytes(ctx, oid, "table"))
func("pg_total_relation_size", (T.REGCLASS,), T.INT8, needs_ctx=True)(
    lambda ctx, oid: relation_bytes(ctx, oid, "total"))
func("pg_indexes_size", (T.REGCLASS,), T.INT8, needs_ctx=True)(
    lambda ctx, oid: sum(relation_bytes(ctx, i.oid) for i in ctx.catalog.indexes_of(int(oid))))
func("pg_database_size", (T.NAME,), T.INT8, needs_ctx=True)(
    lambda ctx, name: sum(relation_bytes(ctx, o, "total") for o in ctx.catalog.relations))


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


# The catalog functions (pg_get_*def, format_type, visibility...) and the system
# relations live in the pg_catalog package; importing it registers them.
from aiondb.sql import pg_catalog  # noqa: E402,F401
