"""information_schema views, computed the way PostgreSQL 15 defines them
(src/backend/catalog/information_schema.sql) for the objects AionDB has.
Everything is visible: the bootstrap user is a superuser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiondb import types as T
from aiondb.sql.pg_catalog.registry import (
    SYSTEM_OIDS,
    empty,
    relation,
    schema_name,
    schemas,
)
from aiondb.storage.catalog import (
    Catalog,
    ColumnDef,
    ConstraintDef,
    SequenceDef,
    TableDef,
    ViewDef,
)

empty("information_schema.applicable_roles", "information_schema.column_privileges",
      "information_schema.table_privileges", "information_schema.triggers",
      "information_schema.routines", "information_schema.parameters")

_CON_TYPES = {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "f": "FOREIGN KEY"}
_FK_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
             "d": "SET DEFAULT"}


def _yn(b: bool) -> str:
    return "YES" if b else "NO"


def data_type(t: T.SqlType) -> str:
    """information_schema's data_type: the SQL-standard name, ARRAY, or
    USER-DEFINED for types outside the standard."""
    if t.elem is not None and t.oid not in (T.INT2VECTOR.oid, T.OIDVECTOR.oid):
        return "ARRAY"
    if t.oid == T.VECTOR.oid:
        return "USER-DEFINED"
    return t.base.sql_name().strip('"')


def _numeric_facts(t: T.SqlType) -> tuple[int | None, int | None, int | None]:
    """(numeric_precision, numeric_precision_radix, numeric_scale)."""
    bits = {T.INT2.oid: 16, T.INT4.oid: 32, T.INT8.oid: 64}
    if t.oid in bits:
        return bits[t.oid], 2, 0
    if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
        return (24 if t.oid == T.FLOAT4.oid else 53), 2, None
    if t.oid == T.NUMERIC.oid:
        ps = T.numeric_precision_scale(t.typmod)
        return (ps[0], 10, ps[1]) if ps else (None, 10, None)
    return None, None, None


def _datetime_precision(t: T.SqlType) -> int | None:
    if t.oid == T.DATE.oid:
        return 0
    if t.oid in (T.TIME.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.INTERVAL.oid):
        return 6
    return None


def column_row(ctx: Any, rel: Any, c: ColumnDef, schema: str, updatable: bool) -> dict:
    from aiondb.sql.pg_catalog.functions import default_text, stored_default
    t = c.type
    db = ctx.session.db.name
    charlen = T.char_length_limit(t)
    octets = charlen * 4 if charlen else (1073741824 if t.oid in (
        T.TEXT.oid, T.VARCHAR.oid, T.BPCHAR.oid) else None)
    prec, radix, scale = _numeric_facts(t)
    udt = t.elem if t.elem is not None and t.oid not in (22, 30) else t
    row = {"table_catalog": db, "table_schema": schema, "table_name": rel.name,
           "column_name": c.name, "ordinal_position": c.attnum,
           "column_default": default_text(ctx, rel, c, False) if stored_default(c) else None,
           "is_nullable": _yn(not c.not_null), "data_type": data_type(t),
           "character_maximum_length": charlen, "character_octet_length": octets,
           "numeric_precision": prec, "numeric_precision_radix": radix,
           "numeric_scale": scale, "datetime_precision": _datetime_precision(t),
           "udt_catalog": db, "udt_schema": "pg_catalog",
           "udt_name": t.name if t.elem is None or t.oid in (22, 30) else "_" + udt.name,
           "dtd_identifier": str(c.attnum), "is_self_referencing": "NO", "identity_cycle": "NO",
           "is_identity": _yn(bool(c.identity)), "is_generated": "NEVER" if not c.generated
           else "ALWAYS", "is_updatable": _yn(updatable)}
    if c.identity:
        seq = ctx.catalog.relations.get(c.sequence_oid)
        row["identity_generation"] = "ALWAYS" if c.identity == "a" else "BY DEFAULT"
        if isinstance(seq, SequenceDef):
            row.update(identity_start=str(seq.start), identity_increment=str(seq.increment),
                       identity_maximum=str(seq.max_value),
                       identity_minimum=str(seq.min_value),
                       identity_cycle=_yn(seq.cycle))
    return row


def _user_relations(cat: Catalog) -> Iterator[TableDef | ViewDef]:
    for rel in cat.relations.values():
        if isinstance(rel, (TableDef, ViewDef)):
            yield rel


@relation("information_schema.schemata")
def _schemata(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.shared import role_name
    for _oid, name, owner in schemas(ctx.catalog):
        yield (ctx.session.db.name, name, role_name(ctx, owner), None, None, None, None)


@relation("information_schema.tables")
def _tables(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    db = ctx.session.db.name
    for rel in _user_relations(cat):
        table = isinstance(rel, TableDef)
        yield (db, schema_name(cat, rel.schema_oid), rel.name,
               "BASE TABLE" if table else "VIEW", None, None, None, None, None, _yn(table),
               "NO", None)
    for v in SYSTEM_OIDS.values():
        yield (db, v.schema, v.name, "BASE TABLE" if v.kind == "r" else "VIEW", None, None,
               None, None, None, _yn(v.kind == "r"), "NO", None)


@relation("information_schema.columns")
def _columns(ctx: Any) -> Iterator[dict]:
    cat: Catalog = ctx.catalog
    for rel in _user_relations(cat):
        schema = schema_name(cat, rel.schema_oid)
        for c in rel.columns:
            yield column_row(ctx, rel, c, schema, isinstance(rel, TableDef))
    for v in SYSTEM_OIDS.values():
        for i, oc in enumerate(v.columns):
            yield column_row(ctx, v, ColumnDef(oc.name, oc.type, i + 1), v.schema, False)


@relation("information_schema.views")
def _views(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.functions import view_definition
    cat: Catalog = ctx.catalog
    for v in cat.relations.values():
        if isinstance(v, ViewDef):
            check = dict(v.options).get("check_option", "none").upper()
            yield (ctx.session.db.name, schema_name(cat, v.schema_oid), v.name,
                   view_definition(ctx, v, False), check, "NO", "NO", "NO", "NO", "NO")


def _constraints(cat: Catalog) -> Iterator[tuple[ConstraintDef, TableDef, str]]:
    for c in cat.constraints.values():
        t = cat.relations.get(c.table_oid)
        if isinstance(t, TableDef):
            yield c, t, schema_name(cat, t.schema_oid)


def _col_names(t: TableDef, attnums: tuple[int, ...]) -> list[str]:
    return [t.columns[t.position(a)].name for a in attnums]


@relation("information_schema.table_constraints")
def _table_constraints(ctx: Any) -> Iterator[tuple]:
    db = ctx.session.db.name
    for c, t, schema in _constraints(ctx.catalog):
        yield (db, schema, c.name, db, schema, t.name, _CON_TYPES[c.kind],
               _yn(c.deferrable), _yn(c.initially_deferred), "YES", "YES" if c.kind == "u" else None)
    # PostgreSQL also lists NOT NULL columns as CHECK constraints named
    # schema-oid_table-oid_attnum_not_null
    for t in ctx.catalog.tables():
        schema = schema_name(ctx.catalog, t.schema_oid)
        for col in t.columns:
            if col.not_null:
                name = f"{t.schema_oid}_{t.oid}_{col.attnum}_not_null"
                yield (db, schema, name, db, schema, t.name, "CHECK", "NO", "NO", "YES", None)


@relation("information_schema.check_constraints")
def _check_constraints(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.functions import constraint_definition
    db = ctx.session.db.name
    for c, _t, schema in _constraints(ctx.catalog):
        if c.kind == "c":
            # PostgreSQL: substring(pg_get_constraintdef(oid) from 7), "CHECK " cut
            yield (db, schema, c.name, constraint_definition(ctx, c, False)[6:])
    for t in ctx.catalog.tables():
        schema = schema_name(ctx.catalog, t.schema_oid)
        for col in t.columns:
            if col.not_null:
                yield (db, schema, f"{t.schema_oid}_{t.oid}_{col.attnum}_not_null",
                       f"{col.name} IS NOT NULL")


@relation("information_schema.key_column_usage")
def _key_column_usage(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    db = ctx.session.db.name
    for c, t, schema in _constraints(cat):
        if c.kind not in ("p", "u", "f"):
            continue
        for i, name in enumerate(_col_names(t, c.attnums)):
            pos = None
            if c.kind == "f":
                pos = (list(_ref_unique(cat, c).attnums).index(c.ref_attnums[i]) + 1
                       if _ref_unique(cat, c) is not None else i + 1)
            yield (db, schema, c.name, db, schema, t.name, name, i + 1, pos)


def _ref_unique(cat: Catalog, fk: ConstraintDef) -> ConstraintDef | None:
    for c in cat.constraints_of(fk.ref_table_oid):
        if c.kind in ("p", "u") and set(c.attnums) == set(fk.ref_attnums):
            return c
    return None


@relation("information_schema.referential_constraints")
def _referential_constraints(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    db = ctx.session.db.name
    for c, _t, schema in _constraints(cat):
        if c.kind == "f":
            uc = _ref_unique(cat, c)
            ref = cat.relations.get(c.ref_table_oid)
            yield (db, schema, c.name, db if uc else None,
                   schema_name(cat, ref.schema_oid) if uc and ref else None,
                   uc.name if uc else None, "NONE", _FK_RULES[c.on_update],
                   _FK_RULES[c.on_delete])


@relation("information_schema.constraint_column_usage")
def _constraint_column_usage(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    db = ctx.session.db.name
    for c, t, schema in _constraints(cat):
        if c.kind == "f":   # a foreign key uses the referenced columns
            ref = cat.relations.get(c.ref_table_oid)
            if isinstance(ref, TableDef):
                rschema = schema_name(cat, ref.schema_oid)
                for name in _col_names(ref, c.ref_attnums):
                    yield (db, rschema, ref.name, name, db, schema, c.name)
            continue
        attnums = c.attnums
        if c.kind == "c":
            from aiondb.sql.pg_catalog.deparse import referenced_columns
            attnums = tuple(col.attnum for col in t.columns
                            if col.name in referenced_columns(c.expr or ""))
        for name in _col_names(t, attnums):
            yield (db, schema, t.name, name, db, schema, c.name)


@relation("information_schema.sequences")
def _sequences(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    identity = {c.sequence_oid for t in cat.tables() for c in t.columns if c.identity}
    for s in cat.sequences():
        if s.oid in identity:   # PostgreSQL leaves identity sequences out
            continue
        prec, radix, scale = _numeric_facts(s.type)
        yield (ctx.session.db.name, schema_name(cat, s.schema_oid), s.name,
               data_type(s.type), prec, radix, scale, str(s.start), str(s.min_value),
               str(s.max_value), str(s.increment), _yn(s.cycle))


@relation("information_schema.enabled_roles")
def _enabled_roles(ctx: Any) -> list[tuple]:
    return [(ctx.session.user,)]


@relation("information_schema.character_sets")
def _character_sets(ctx: Any) -> list[tuple]:
    return [(None, None, "UTF8", "UCS", "UTF8", ctx.session.db.name, "pg_catalog", "C")]
