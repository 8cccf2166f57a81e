"""Catalog functions psql, pg_dump-style tools and drivers call:
pg_get_expr / pg_get_constraintdef / pg_get_indexdef / pg_get_viewdef /
pg_get_triggerdef / pg_get_function_*, format_type, the *_is_visible family,
object descriptions and the small helpers psql 15's describe queries use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql.dialect import AionDB
from aiondb.sql.functions import ANY, func, srf
from aiondb.sql.pg_catalog import exprtree as X
from aiondb.sql.pg_catalog.analyze import Analyzer
from aiondb.sql.pg_catalog.deparse import print_expr, quote_literal
from aiondb.sql.pg_catalog.deparse import quote_ident as qi
from aiondb.sql.pg_catalog.pg_type import row_type_relation
from aiondb.sql.pg_catalog.registry import (
    CLASS_OID,
    PG_DATABASE_OWNER,
    SYSTEM_OIDS,
    rowtype_oid,
)
from aiondb.sql.view_names import REGCLASS_OID
from aiondb.storage.catalog import (
    BOOTSTRAP_ROLE_OID,
    ColumnDef,
    ConstraintDef,
    IndexDef,
    MatViewDef,
    SequenceDef,
    TableDef,
    ViewDef,
)


class NodeTree(str):
    """A pg_node_tree value: our SQL text, plus the type an expression is
    assigned to (a column default), which PostgreSQL keeps in the tree."""

    target: T.SqlType | None = None


def node_tree(text: str, target: T.SqlType | None = None) -> NodeTree:
    v = NodeTree(text)
    v.target = target
    return v


@lru_cache(maxsize=512)
def parse_expression(text: str) -> exp.Expr:
    return sqlglot.parse_one(text, read=AionDB)


def _columns_resolver(columns: tuple[ColumnDef, ...] | list[Any]) -> Any:
    types = {c.name: c.type for c in columns}

    def resolve(qualifier: str | None, name: str) -> tuple[str | None, T.SqlType] | None:
        t = types.get(name)
        return None if t is None else (None, t)
    return resolve


def deparse(text: str, columns: Any, pretty: bool, target: T.SqlType | None = None) -> str:
    """Expression text as PostgreSQL prints the analysed expression; our text
    unchanged if it uses something the analyser does not model."""
    try:
        node = Analyzer(_columns_resolver(columns)).expr(parse_expression(text))
        if target is not None:
            node = X.coerce(node, target)
        return print_expr(node, pretty)
    except (X.Unsupported, sqlglot.errors.ParseError):
        return text


def stored_default(col: ColumnDef) -> str | None:
    """The default PostgreSQL would store: none for DEFAULT NULL (a null
    constant, possibly cast), which it drops."""
    if col.default is None or col.identity:   # identity columns have no default
        return None
    try:
        node = parse_expression(col.default)
    except sqlglot.errors.ParseError:
        return col.default
    while isinstance(node, (exp.Cast, exp.Paren)):
        node = node.this
    return None if isinstance(node, exp.Null) else col.default


def named_relations(ctx: Any, text: str) -> str:
    """Expression text with its relation OIDs (bound by
    sql/view_names.py bind_relation_constants) as names, as regclass prints
    them: bare where visible on the search_path, else schema-qualified."""
    if "'" not in text:
        return text

    def name(m: re.Match) -> str:
        oid = int(m.group(1) or m.group(2))
        if oid not in ctx.catalog.relations:
            return m.group(0)
        return f"{quote_literal(relation_name(ctx, oid))}::regclass"
    return REGCLASS_OID.sub(name, text)


def default_text(ctx: Any, rel: Any, col: ColumnDef, pretty: bool) -> str:
    return deparse(named_relations(ctx, col.default or ""), rel.columns, pretty, col.type)


def _rel_columns(ctx: Any, oid: int) -> tuple[ColumnDef, ...]:
    rel = ctx.catalog.relations.get(int(oid)) if oid else None
    return rel.columns if isinstance(rel, (TableDef, ViewDef)) else ()


def _get_expr(ctx: Any, tree: str, relid: int, pretty: bool = False) -> str:
    return deparse(named_relations(ctx, str(tree)), _rel_columns(ctx, relid), bool(pretty),
                   getattr(tree, "target", None))


func("pg_get_expr", (T.PG_NODE_TREE, T.OID), T.TEXT, needs_ctx=True)(_get_expr)
func("pg_get_expr", (T.PG_NODE_TREE, T.OID, T.BOOL), T.TEXT, needs_ctx=True)(_get_expr)


# --- relations and types by OID ------------------------------------------------------------------

def relation_name(ctx: Any, oid: int, qualified: bool = False) -> str:
    """generate_relation_name: schema-qualified only when not visible."""
    from aiondb.sql.fn_system import relation_label
    rel = ctx.catalog.relations.get(oid)
    if qualified and rel is not None:
        schema = ctx.catalog.schema_by_oid(rel.schema_oid)
        return f"{qi(schema.name if schema else '?')}.{qi(rel.name)}"
    return relation_label(ctx.session, ctx.catalog, oid)


def type_name(ctx: Any, oid: int, typmod: int = -1) -> str:
    """format_type, including tables' row types."""
    t = T.BY_OID.get(oid)
    if t is not None:
        if oid in (T.INT2VECTOR.oid, T.OIDVECTOR.oid):
            return t.name
        return (t if typmod == -1 else t.with_typmod(typmod)).sql_name()
    rel = row_type_relation(ctx.catalog, oid) if ctx is not None else None
    if rel is not None:
        base = relation_name(ctx, rel.oid)
        return base if oid == rowtype_oid(rel.oid) else base + "[]"
    return "???"


@func("format_type", (T.OID, T.INT4), T.TEXT, strict=False, needs_ctx=True)
def _format_type(ctx: Any, oid: int | None, typmod: int | None) -> str | None:
    if oid is None:
        return None
    if oid == T.BPCHAR.oid and typmod is not None and typmod < 0:
        return "bpchar"   # a given -1 is not character(1)
    return type_name(ctx, oid, typmod if typmod is not None else -1)


@func("pg_get_userbyid", (T.OID,), T.NAME, needs_ctx=True)
def _userbyid(ctx: Any, oid: int) -> str:
    if oid == BOOTSTRAP_ROLE_OID:
        return ctx.session.user
    if oid == PG_DATABASE_OWNER:
        return "pg_database_owner"
    return f"unknown (OID={oid})"


# --- visibility ------------------------------------------------------------------------------------------

@func("pg_table_is_visible", (T.OID,), T.BOOL, needs_ctx=True)
def _table_is_visible(ctx: Any, oid: int) -> bool:
    from aiondb.sql.fn_system import is_visible
    rel = ctx.catalog.relations.get(oid)
    if rel is None:   # system relations live in pg_catalog, always searched first
        v = SYSTEM_OIDS.get(oid)
        return v is not None and v.schema == "pg_catalog"
    return is_visible(ctx.session, ctx.catalog, rel)


@func("pg_type_is_visible", (T.OID,), T.BOOL, needs_ctx=True)
def _type_is_visible(ctx: Any, oid: int) -> bool:
    rel = row_type_relation(ctx.catalog, oid)
    return _table_is_visible(ctx, rel.oid) if rel is not None else oid in T.BY_OID


for _name in ("pg_function_is_visible", "pg_operator_is_visible", "pg_opclass_is_visible",
              "pg_opfamily_is_visible", "pg_collation_is_visible", "pg_conversion_is_visible",
              "pg_statistics_obj_is_visible", "pg_ts_config_is_visible",
              "pg_ts_dict_is_visible", "pg_ts_parser_is_visible",
              "pg_ts_template_is_visible"):
    # everything of these kinds is built in, in pg_catalog
    func(_name, (T.OID,), T.BOOL)(lambda oid: True)


# --- definitions ------------------------------------------------------------------------------------------

def index_definition(cat: Any, idx: IndexDef, column: int = 0, pretty: bool = False) -> str:
    """pg_get_indexdef: the CREATE INDEX statement, or with column the text
    of that key (a column's name, or its expression)."""
    table = cat.relations.get(idx.table_oid)
    tcols = table.columns if isinstance(table, TableDef) else ()
    exprs = iter(idx.exprs)
    cols = []
    for i, a in enumerate(idx.attnums):
        if a:
            key = qi(table.columns[table.position(a)].name) if isinstance(table, TableDef) \
                else str(a)
        else:
            sql = next(exprs, "")
            key = deparse(sql, tcols, pretty)
            if not looks_like_function(sql):
                key = f"({key})"       # as PostgreSQL: ((a + b)), but lower(name)
        if column:
            if i + 1 == column:
                return key
            continue
        text = key + (" " + idx.opclass if idx.opclass else "")
        cols.append(text + (" DESC" if idx.descending and idx.descending[i] else ""))
    if column:
        return ""
    schema = cat.schema_by_oid(idx.schema_oid)
    text = (f"CREATE {'UNIQUE ' if idx.unique else ''}INDEX {qi(idx.name)} ON "
            f"{qi(schema.name if schema else 'public')}.{qi(table.name if table else '?')} "
            f"USING {idx.method} ({', '.join(cols)})")
    if idx.options:
        text += " WITH (" + ", ".join(f"{k}='{v}'" for k, v in idx.options) + ")"
    if idx.predicate:
        text += " WHERE " + deparse(idx.predicate, tcols, pretty, T.BOOL)
    return text


def _key_node(sql: str) -> exp.Expr | None:
    try:
        e = parse_expression(sql)
    except sqlglot.errors.ParseError:
        return None
    while isinstance(e, exp.Paren):
        e = e.this
    return e


def looks_like_function(sql: str) -> bool:
    """An index expression PostgreSQL prints without parentheses of its own."""
    e = _key_node(sql)
    return isinstance(e, (exp.Anonymous, exp.Func)) and not isinstance(e, exp.Cast)


def expression_column_name(sql: str) -> str:
    """The name PostgreSQL gives an index's expression column: a function's
    name, a cast column's name, else "expr"."""
    e = _key_node(sql)
    while isinstance(e, (exp.Paren, exp.Cast)):
        e = e.this
    if isinstance(e, exp.Column):
        return e.name
    if isinstance(e, exp.Anonymous):
        return str(e.this).lower()
    if isinstance(e, exp.Func):
        return e.sql_name().lower()
    return "expr"


def _indexdef(ctx: Any, oid: int, column: int = 0, pretty: bool = False) -> str | None:
    idx = ctx.catalog.relations.get(oid)
    return index_definition(ctx.catalog, idx, column or 0, bool(pretty)) \
        if isinstance(idx, IndexDef) else None


func("pg_get_indexdef", (T.OID,), T.TEXT, needs_ctx=True)(_indexdef)
func("pg_get_indexdef", (T.OID, T.INT4, T.BOOL), T.TEXT, needs_ctx=True)(_indexdef)

_FK_ACTION = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def constraint_definition(ctx: Any, con: ConstraintDef, pretty: bool) -> str:
    cat = ctx.catalog
    table = cat.relations.get(con.table_oid)

    def names(t: Any, attnums: tuple[int, ...]) -> str:
        return ", ".join(qi(t.columns[t.position(a)].name) for a in attnums)
    if con.kind == "c":
        cols = table.columns if isinstance(table, TableDef) else ()
        text = f"CHECK ({deparse(con.expr or '', cols, pretty, T.BOOL)})"
        return text if con.validated else text + " NOT VALID"
    if con.kind in ("p", "u"):
        text = f"{'PRIMARY KEY' if con.kind == 'p' else 'UNIQUE'} ({names(table, con.attnums)})"
    else:
        parent = cat.relations.get(con.ref_table_oid)
        text = (f"FOREIGN KEY ({names(table, con.attnums)}) REFERENCES "
                f"{relation_name(ctx, con.ref_table_oid)}({names(parent, con.ref_attnums)})")
        if con.on_update in _FK_ACTION:
            text += f" ON UPDATE {_FK_ACTION[con.on_update]}"
        if con.on_delete in _FK_ACTION:
            text += f" ON DELETE {_FK_ACTION[con.on_delete]}"
    if con.deferrable:
        text += " DEFERRABLE"
    if con.initially_deferred:
        text += " INITIALLY DEFERRED"
    return text if con.validated else text + " NOT VALID"


@func("pg_get_constraintdef", (T.OID,), T.TEXT, needs_ctx=True)
def _constraintdef(ctx: Any, oid: int, pretty: bool = False) -> str | None:
    con = ctx.catalog.constraints.get(oid)
    return constraint_definition(ctx, con, bool(pretty)) if con is not None else None


func("pg_get_constraintdef", (T.OID, T.BOOL), T.TEXT, needs_ctx=True)(_constraintdef)


def view_definition(ctx: Any, view: ViewDef | MatViewDef, pretty: bool) -> str:
    from aiondb.sql.pg_catalog.viewdef import view_query_text
    return view_query_text(ctx, view.sql, [c.name for c in view.columns], pretty) + ";"


def _viewdef(ctx: Any, v: Any, pretty: Any = False) -> str | None:
    if isinstance(v, str):
        from aiondb.sql.fn_system import resolve_reg
        v = resolve_reg(ctx.session, T.REGCLASS, v, ctx)
    view = ctx.catalog.relations.get(int(v))
    # an integer second argument is a wrap column: pretty, as in PostgreSQL
    return view_definition(ctx, view, bool(pretty)) if isinstance(
        view, (ViewDef, MatViewDef)) else None


func("pg_get_viewdef", (T.OID,), T.TEXT, needs_ctx=True)(_viewdef)
func("pg_get_viewdef", (T.OID, T.BOOL), T.TEXT, needs_ctx=True)(_viewdef)
func("pg_get_viewdef", (T.OID, T.INT4), T.TEXT, needs_ctx=True)(_viewdef)
func("pg_get_viewdef", (T.TEXT,), T.TEXT, needs_ctx=True)(_viewdef)
func("pg_get_viewdef", (T.TEXT, T.BOOL), T.TEXT, needs_ctx=True)(_viewdef)


@func("pg_get_ruledef", (T.OID, T.BOOL), T.TEXT, needs_ctx=True)
def _ruledef(ctx: Any, oid: int, pretty: bool = False) -> str | None:
    from aiondb.sql.pg_catalog.relations import rule_oid
    for v in ctx.catalog.relations.values():
        if isinstance(v, (ViewDef, MatViewDef)) and rule_oid(v.oid) == oid:
            return (f'CREATE RULE "_RETURN" AS\n    ON SELECT TO {relation_name(ctx, v.oid)} '
                    f"DO INSTEAD {view_definition(ctx, v, bool(pretty))}")
    return None


func("pg_get_ruledef", (T.OID,), T.TEXT, needs_ctx=True)(_ruledef)

_TG_EVENTS = ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"))


@func("pg_get_triggerdef", (T.OID, T.BOOL), T.TEXT, needs_ctx=True)
def _triggerdef(ctx: Any, oid: int, pretty: bool = False) -> str | None:
    from aiondb.sql.pg_catalog.relations import all_triggers
    for tg in all_triggers(ctx.catalog):
        if tg["oid"] == oid:
            events = " OR ".join(w for bit, w in _TG_EVENTS if tg["tgtype"] & bit)
            return (f"CREATE CONSTRAINT TRIGGER {qi(tg['tgname'])} AFTER {events} ON "
                    f"{relation_name(ctx, tg['tgrelid'], qualified=True)} FROM "
                    f"{relation_name(ctx, tg['tgconstrrelid'])} "
                    f"{'DEFERRABLE' if tg['tgdeferrable'] else 'NOT DEFERRABLE'} "
                    f"INITIALLY {'DEFERRED' if tg['tginitdeferred'] else 'IMMEDIATE'} "
                    "FOR EACH ROW EXECUTE FUNCTION "
                    f"{qi(tg['tgfname'])}()")
    return None


func("pg_get_triggerdef", (T.OID,), T.TEXT, needs_ctx=True)(_triggerdef)


# --- functions ----------------------------------------------------------------------------------------------

def _proc(oid: int) -> Any:
    from aiondb.sql.pg_catalog.shared import builtin_functions
    return next((d for o, d, _ in builtin_functions() if o == oid), None)


def _arg_name(ctx: Any, a: Any) -> str:
    if isinstance(a, T.SqlType):
        return type_name(ctx, a.oid, a.typmod)
    return '"any"' if a == ANY else str(a)


def _ret_name(ctx: Any, d: Any) -> str:
    return type_name(ctx, d.ret.oid, d.ret.typmod) if isinstance(d.ret, T.SqlType) \
        else "anyelement"


@func(("pg_get_function_arguments", "pg_get_function_identity_arguments"), (T.OID,),
      T.TEXT, needs_ctx=True)
def _function_arguments(ctx: Any, oid: int) -> str | None:
    d = _proc(oid)
    if d is None:
        return None
    args = [_arg_name(ctx, a) for a in d.args]
    if getattr(d, "variadic", None) is not None:
        args.append("VARIADIC " + _arg_name(ctx, d.variadic) + "[]")
    return ", ".join(args)


@func("pg_get_function_result", (T.OID,), T.TEXT, needs_ctx=True)
def _function_result(ctx: Any, oid: int) -> str | None:
    d = _proc(oid)
    return _ret_name(ctx, d) if d is not None else None


func("pg_get_function_sqlbody", (T.OID,), T.TEXT, strict=False)(lambda oid: None)


@func("pg_get_functiondef", (T.OID,), T.TEXT, needs_ctx=True)
def _functiondef(ctx: Any, oid: int) -> str | None:
    d = _proc(oid)
    if d is None:
        return None
    from aiondb.sql.pg_catalog.shared import volatility
    word = {"v": "VOLATILE", "s": "STABLE", "i": "IMMUTABLE"}[volatility(d)]
    strict = " STRICT" if getattr(d, "strict", True) else ""
    return (f"CREATE OR REPLACE FUNCTION pg_catalog.{qi(d.name)}"
            f"({_function_arguments(ctx, oid)})\n RETURNS {_ret_name(ctx, d)}\n"
            f" LANGUAGE internal\n {word} PARALLEL SAFE{strict}\n"
            f"AS $function${d.name}$function$\n")


# --- descriptions and small helpers -----------------------------------------------------------------------

def _describe(ctx: Any, oid: int | None, catalog: str | None, subid: int = 0) -> str | None:
    from aiondb.sql.pg_catalog.shared import describe
    if oid is None or catalog is None:
        return None
    classoid = CLASS_OID.get(catalog.split(".")[-1])
    return describe(ctx, oid, classoid, subid) if classoid else None


func(("obj_description", "shobj_description"), (T.OID, T.NAME), T.TEXT, strict=False,
     needs_ctx=True)(_describe)
# the deprecated one-argument form: any catalog's description of the object
func("obj_description", (T.OID,), T.TEXT, strict=False, needs_ctx=True)(
    lambda ctx, oid: None if oid is None else ctx.catalog.comments.get((oid, 0)))
func("col_description", (T.OID, T.INT4), T.TEXT, strict=False, needs_ctx=True)(
    lambda ctx, oid, n: _describe(ctx, oid, "pg_class", n))


@func("pg_describe_object", (T.OID, T.OID, T.INT4), T.TEXT, needs_ctx=True)
def _describe_object(ctx: Any, classid: int, objid: int, subid: int) -> str | None:
    cat = ctx.catalog
    if classid == CLASS_OID["pg_class"]:
        rel = cat.relations.get(objid)
        kind = {TableDef: "table", ViewDef: "view", IndexDef: "index",
                SequenceDef: "sequence"}.get(type(rel))
        if rel is None or kind is None:
            return None
        if subid and isinstance(rel, (TableDef, ViewDef)):
            col = next((c for c in rel.columns if c.attnum == subid), None)
            return f"column {col.name} of {kind} {relation_name(ctx, objid)}" if col else None
        return f"{kind} {relation_name(ctx, objid)}"
    if classid == CLASS_OID["pg_constraint"]:
        con = cat.constraints.get(objid)
        return f"constraint {con.name} on table {relation_name(ctx, con.table_oid)}" \
            if con else None
    if classid == CLASS_OID["pg_type"]:
        return f"type {type_name(ctx, objid)}"
    if classid == CLASS_OID["pg_namespace"]:
        s = cat.schema_by_oid(objid)
        return f"schema {s.name}" if s else None
    return None


@srf("pg_partition_ancestors", (T.REGCLASS,), lambda args: [("relid", T.REGCLASS)])
def _partition_ancestors(ctx: Any, rel: Any) -> Iterator[tuple]:
    """No partitioning in AionDB: a relation's only ancestor is itself."""
    if int(rel) in ctx.catalog.relations:
        yield (rel,)


# The same, usable in a select list (psql 15 writes `IN (SELECT
# pg_partition_ancestors(x) UNION ALL ...)`): exactly one row, so a scalar.
func("pg_partition_ancestors", (T.REGCLASS,), T.REGCLASS)(lambda rel: rel)


func("pg_encoding_to_char", (T.INT4,), T.NAME)(lambda e: "UTF8" if e == 6 else "SQL_ASCII")
func("pg_char_to_encoding", (T.NAME,), T.INT4)(
    lambda name: 6 if name.upper().replace("-", "") == "UTF8" else 0)
func("getdatabaseencoding", (), T.NAME)(lambda: "UTF8")
func("pg_tablespace_location", (T.OID,), T.TEXT)(lambda oid: "")
func(("pg_get_statisticsobjdef_columns", "pg_get_partkeydef",
      "pg_get_partition_constraintdef"), (T.OID,), T.TEXT, strict=False)(lambda oid: None)
func("pg_relation_is_publishable", (T.REGCLASS,), T.BOOL)(lambda oid: False)
func("pg_is_other_temp_schema", (T.OID,), T.BOOL)(lambda oid: False)
func("pg_my_temp_schema", (), T.OID)(lambda: 0)
for _name in ("has_table_privilege", "has_schema_privilege", "has_database_privilege",
              "has_sequence_privilege", "has_column_privilege", "has_function_privilege",
              "has_type_privilege", "has_tablespace_privilege", "has_parameter_privilege"):
    # no privilege system: the bootstrap user may do everything
    func(_name, (ANY, ANY), T.BOOL, strict=False)(lambda a, b: True)
    func(_name, (ANY, ANY, ANY), T.BOOL, strict=False)(lambda a, b, c: True)
func("pg_has_role", (ANY, ANY), T.BOOL, strict=False)(lambda a, b: True)
func("pg_has_role", (ANY, ANY, ANY), T.BOOL, strict=False)(lambda a, b, c: True)


# --- privileges ---------------------------------------------------------------------------------------

# PostgreSQL 15's built-in default privileges by object kind (acl.c,
# acldefault): (what PUBLIC gets, what the owner gets)
_DEFAULT_ACL = {
    "c": ("", ""), "r": ("", "arwdDxt"), "s": ("", "rwU"), "d": ("Tc", "CTc"),
    "f": ("X", "X"), "l": ("U", "U"), "L": ("", "rw"), "n": ("", "UC"), "t": ("", "C"),
    "F": ("", "U"), "S": ("", "U"), "T": ("U", "U"), "p": ("", "sA"),
}


@func("acldefault", (T.CHAR, T.OID), T.ACLITEM.array_of(), needs_ctx=True)
def _acldefault(ctx: Any, kind: str, owner: int) -> list[str]:
    """The privileges an object has when its ACL is NULL (pg_dump compares
    ACLs with it to decide what to GRANT or REVOKE)."""
    rights = _DEFAULT_ACL.get(kind)
    if rights is None:
        raise errors.InternalError(f"unrecognized objtype abbreviation: {kind}")
    name = _userbyid(ctx, owner)
    world, own = rights
    out = [f"={world}/{name}"] if world else []
    if own:
        out.append(f"{name}={own}/{name}")
    return out


@srf("pg_options_to_table", (T.TEXT.array_of(),),
     lambda args: [("option_name", T.TEXT), ("option_value", T.TEXT)])
def _options_to_table(ctx: Any, options: list[str | None]) -> Iterator[tuple]:
    """reloptions-style "name=value" entries as rows (a name alone has a
    NULL value)."""
    for opt in options:
        if opt is not None:
            name, eq, value = opt.partition("=")
            yield (name, value if eq else None)
