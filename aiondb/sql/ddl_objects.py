"""CREATE INDEX / VIEW / SCHEMA / SEQUENCE, ALTER SEQUENCE, DROP and TRUNCATE."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import ddl_parse as D
from aiondb.sql import temp_tables
from aiondb.sql.bind_query import figure_colname
from aiondb.sql.binder import type_from_name
from aiondb.sql.ddl_common import (
    _binder,
    _lookup_table,
    _result,
    _sql,
    _table_scope,
    _unique_name,
    check_pseudo_types,
)
from aiondb.sql.ddl_constraints import _attnums, _check_unique
from aiondb.sql.index_keys import check_index_expression
from aiondb.sql.scope import Scope
from aiondb.sql.view_names import qualify_relations, relation_constants
from aiondb.storage.catalog import (
    Catalog,
    ColumnDef,
    IndexDef,
    MatViewDef,
    SequenceDef,
    TableDef,
    ViewDef,
)
from aiondb.storage.table import TableData

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction

# --- CREATE INDEX / VIEW / SCHEMA / SEQUENCE ---------------------------------------------------------

def create_index(session: Session, txn: Transaction, node: exp.Create) -> Result:
    index = node.this
    params = index.args.get("params")
    table_node = index.args.get("table")
    cat = txn.begin_ddl()
    tdef = _lookup_table(session, cat, (table_node.db or None, table_node.name))
    assert tdef is not None
    using = params.args.get("using") if params is not None else None
    method = (using.name if isinstance(using, exp.Expr) else str(using or "btree")).lower()
    if method not in ("btree", "hash"):
        raise errors.FeatureNotSupported(f'access method "{method}" is not supported yet')
    attnums_list: list[int] = []
    exprs: list[str] = []
    name_parts: list[str] = []
    desc = []
    binder = _binder(session, cat)
    scope = _table_scope(binder, tdef)
    for o in params.args.get("columns") or []:
        target = o.this if isinstance(o, exp.Ordered) else o
        if isinstance(target, exp.Opclass):
            target = target.this
        desc.append(bool(o.args.get("desc")) if isinstance(o, exp.Ordered) else False)
        if isinstance(target, exp.Column):
            attnums_list.append(_attnums(tdef, [target.name])[0])
            name_parts.append(target.name)
            continue
        # PostgreSQL's grammar: a function call or a parenthesized expression
        if not isinstance(target, (exp.Paren, exp.Func)):
            raise errors.SyntaxError(f'syntax error at or near "{_sql(target)[:20]}"')
        while isinstance(target, exp.Paren):
            target = target.this
        if isinstance(target, exp.Column):      # (col) is the column itself
            attnums_list.append(_attnums(tdef, [target.name])[0])
            name_parts.append(target.name)
            continue
        e = binder.expr(target, scope)
        check_index_expression(e, "expression")
        attnums_list.append(0)
        exprs.append(_sql(target))
        label = figure_colname(target)
        name_parts.append("expr" if label == "?column?" else label)
    where = params.args.get("where") if params is not None else None
    predicate = None
    if where is not None:
        pe = binder.to_bool(binder.expr(where.this, scope), "WHERE")
        check_index_expression(pe, "predicate")
        predicate = _sql(where.this)
    attnums = tuple(attnums_list)
    names = name_parts
    unique = bool(node.args.get("unique"))
    name = index.name if index.this is not None else None
    if name is not None and (tdef.schema_oid, name) in cat.names:
        if node.args.get("exists"):
            session.notice(f'relation "{name}" already exists, skipping', code="42P07")
            return _result("CREATE INDEX")
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    if name is None:
        name = _unique_name(cat, tdef.schema_oid, f"{tdef.name}_{'_'.join(names)}_idx")
    txn.lock_table_exclusive(tdef.oid)
    idx = IndexDef(cat.allocate_oid(), name, tdef.schema_oid, tdef.oid, attnums, unique,
                   method="btree", descending=tuple(desc), exprs=tuple(exprs),
                   predicate=predicate)
    if unique:
        _check_unique(txn, tdef, idx)
    cat.add_relation(idx)
    return _result("CREATE INDEX")


def create_view(session: Session, txn: Transaction, node: exp.Create) -> Result:
    target = node.this
    table = target.this if isinstance(target, exp.Schema) else target
    cat = txn.begin_ddl()
    props = node.args.get("properties")
    temporary = any(isinstance(p, exp.TemporaryProperty)
                    for p in (props.expressions if props is not None else [])) or \
        bool(table.db and temp_tables.is_temp_schema(table.db))
    query = node.args.get("expression")
    binder = _binder(session, cat)
    plan = binder.bind_query_node(query, Scope())
    temp_oid = temp_tables.own_schema_oid(session, cat)
    if not temporary and temp_oid is not None and any(
            getattr(p, "table", None) is not None and getattr(p.table, "schema_oid", 0) == temp_oid
            for p in _walk(plan)):
        # PostgreSQL: a view over temporary tables is itself temporary
        session.notice(f'view "{table.name}" will be a temporary view')
        temporary = True
    if temporary:
        if table.db and not temp_tables.is_temp_schema(table.db):
            raise errors.InvalidTableDefinition(
                "cannot create temporary relation in non-temporary schema")
        schema_oid = temp_tables.ensure_schema(session, txn, cat)
    else:
        schema_oid = session.creation_schema(cat, table.db or None)
    if binder.params:
        raise errors.UndefinedParameter("there is no parameter $1")
    names = [c.name for c in plan.columns]
    if isinstance(target, exp.Schema) and target.expressions:
        given = [i.name for i in target.expressions]
        if len(given) > len(names):
            raise errors.SyntaxError("CREATE VIEW specifies more column names than columns")
        names[:len(given)] = given
    cols = tuple(ColumnDef(n, c.type if c.type.oid != T.UNKNOWN.oid else T.TEXT, i + 1)
                 for i, (n, c) in enumerate(zip(names, plan.columns, strict=True)))
    check_pseudo_types(cols)
    from aiondb.sql.plan import walk_plan
    # the tables it reads (through views too, which are inlined) and the
    # views it names, so neither can be dropped from under it
    depends = tuple(sorted({p.table.oid for p in walk_plan(plan) if hasattr(p, "table") and
                            isinstance(p.table, TableDef)} | binder.views_read))
    existing = cat.lookup(schema_oid, table.name)
    sql = _sql(qualify_relations(session, cat, query))
    if existing is not None:
        if not node.args.get("replace") or not isinstance(existing, ViewDef):
            raise errors.DuplicateTable(f'relation "{table.name}" already exists')
        cat.replace_relation(ViewDef(existing.oid, table.name, schema_oid, sql, cols, depends))
        return _result("CREATE VIEW")
    cat.add_relation(ViewDef(cat.allocate_oid(), table.name, schema_oid, sql, cols, depends))
    return _result("CREATE VIEW")


def create_schema(session: Session, txn: Transaction, node: D.CreateSchema) -> Result:
    cat = txn.begin_ddl()
    if node.name in cat.schemas:
        if node.if_not_exists:
            session.notice(f'schema "{node.name}" already exists, skipping', code="42P06")
            return _result("CREATE SCHEMA")
        raise errors.DuplicateSchema(f'schema "{node.name}" already exists')
    if node.name.startswith("pg_"):
        raise errors.ReservedName(f'unacceptable schema name "{node.name}"',
                                  detail='The prefix "pg_" is reserved for system schemas.')
    cat.add_schema(node.name)
    return _result("CREATE SCHEMA")


def alter_schema(session: Session, txn: Transaction, node: D.AlterSchema) -> Result:
    cat = txn.begin_ddl()
    if node.name not in cat.schemas:
        raise errors.InvalidSchemaName(f'schema "{node.name}" does not exist')
    if node.new_name is not None:
        if node.new_name in cat.schemas:
            raise errors.DuplicateSchema(f'schema "{node.new_name}" already exists')
        if node.new_name.startswith("pg_") or node.name in ("pg_catalog", "information_schema"):
            raise errors.ReservedName(
                f'unacceptable schema name "{node.new_name}"',
                detail='The prefix "pg_" is reserved for system schemas.')
        cat.rename_schema(node.name, node.new_name)
    return _result("ALTER SCHEMA")


def _seq_bounds(t: T.SqlType, inc: int, opts: dict) -> tuple[int, int]:
    lo, hi, _ = T.INT_RANGES[t.oid]
    minv = opts.get("minvalue")
    maxv = opts.get("maxvalue")
    if minv is None:
        minv = 1 if inc > 0 else lo
    if maxv is None:
        maxv = hi if inc > 0 else -1
    return minv, maxv


def create_sequence(session: Session, txn: Transaction, node: D.CreateSequence) -> Result:
    cat = txn.begin_ddl()
    schema_oid = temp_tables.ensure_schema(session, txn, cat) \
        if node.name[0] is not None and temp_tables.is_temp_schema(node.name[0]) else \
        session.creation_schema(cat, node.name[0])
    name = node.name[1]
    if (schema_oid, name) in cat.names:
        if node.if_not_exists:
            session.notice(f'relation "{name}" already exists, skipping', code="42P07")
            return _result("CREATE SEQUENCE")
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    opts = node.options
    t = type_from_name(opts["type"]) if "type" in opts else T.INT8
    if t.oid not in T.INTEGER_TYPES:
        raise errors.InvalidParameterValue("sequence type must be smallint, integer, or bigint")
    inc = opts.get("increment", 1)
    if inc == 0:
        raise errors.InvalidParameterValue("INCREMENT must not be zero")
    minv, maxv = _seq_bounds(t, inc, opts)
    start = opts.get("start", minv if inc > 0 else maxv)
    if not minv <= start <= maxv:
        raise errors.InvalidParameterValue(
            f"START value ({start}) cannot be {'less than MINVALUE' if start < minv else 'greater than MAXVALUE'} "
            f"({minv if start < minv else maxv})")
    seq = SequenceDef(cat.allocate_oid(), name, schema_oid, t, start, inc, minv, maxv,
                      bool(opts.get("cycle")), opts.get("cache", 1))
    if opts.get("owned_by"):
        seq = replace(seq, owned_by=_owner(session, cat, seq, opts["owned_by"]))
    cat.add_relation(seq)
    txn.db.seq_values[seq.oid] = [seq.start, False]
    txn.sequences.add(seq.oid)
    return _result("CREATE SEQUENCE")


def _owner(session: Session, cat: Catalog, seq: SequenceDef,
           owned: tuple[str, ...]) -> tuple[int, int]:
    """OWNED BY [schema.]table.column → (table oid, attnum), checked as
    PostgreSQL checks it."""
    if len(owned) < 2:
        raise errors.InvalidParameterValue("invalid OWNED BY option",
                                           hint="Specify OWNED BY table.column or OWNED BY NONE.")
    if len(owned) > 3:
        raise errors.SyntaxError("improper qualified name (too many dotted names): "
                                 + ".".join(owned))
    tdef = _lookup_table(session, cat, (owned[0] if len(owned) == 3 else None, owned[-2]))
    assert tdef is not None
    if tdef.schema_oid != seq.schema_oid:
        raise errors.ObjectNotInPrerequisiteState(
            "sequence must be in same schema as table it is linked to")
    col = tdef.column(owned[-1])
    if col is None:
        raise errors.UndefinedColumn(
            f'column "{owned[-1]}" of relation "{tdef.name}" does not exist')
    return tdef.oid, col.attnum


def alter_sequence(session: Session, txn: Transaction, node: D.AlterSequence) -> Result:
    cat = txn.begin_ddl()
    try:
        rel, _ = session.resolve_relation(cat, node.name[0], node.name[1])
    except errors.UndefinedTable:
        if node.if_exists:
            session.notice(f'relation "{node.name[1]}" does not exist, skipping')
            return _result("ALTER SEQUENCE")
        raise
    if not isinstance(rel, SequenceDef):
        raise errors.WrongObjectType(f'"{node.name[1]}" is not a sequence')
    rel = apply_sequence_options(txn, cat, rel, node.options)
    if "owned_by" in node.options:
        owned = node.options["owned_by"]
        cat.replace_relation(replace(rel, owned_by=_owner(session, cat, rel, owned)
                                     if owned else (0, 0)))
    return _result("ALTER SEQUENCE")


def apply_sequence_options(txn: Transaction, cat: Catalog, seq: SequenceDef,
                           opts: dict[str, Any]) -> SequenceDef:
    """ALTER SEQUENCE's options (also an identity column's ALTER COLUMN ...
    SET / RESTART) applied to seq."""
    changes: dict[str, Any] = {}
    if "increment" in opts:
        changes["increment"] = opts["increment"]
    if "minvalue" in opts:
        changes["min_value"] = opts["minvalue"] if opts["minvalue"] is not None else 1
    if "maxvalue" in opts:
        changes["max_value"] = opts["maxvalue"] if opts["maxvalue"] is not None else \
            T.INT_RANGES[seq.type.oid][1]
    if "start" in opts:
        changes["start"] = opts["start"]
    if "cycle" in opts:
        changes["cycle"] = opts["cycle"]
    if "cache" in opts:
        changes["cache"] = opts["cache"]
    seq = replace(seq, **changes)
    cat.replace_relation(seq)
    if "restart" in opts:
        value = seq.start if opts["restart"] is True else opts["restart"]
        txn.db.setval(txn, seq, value, False)
    return seq


# --- DROP ------------------------------------------------------------------------------------------------

def drop(session: Session, txn: Transaction, node: D.DropStmt) -> Result:
    cat = txn.begin_ddl()
    tag = f"DROP {node.kind.upper()}"
    if node.kind == "schema":
        for _, name in node.names:
            sdef = cat.schema(name)
            if sdef is None:
                if node.if_exists:
                    session.notice(f'schema "{name}" does not exist, skipping')
                    continue
                raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
            members = [r for r in cat.relations.values() if r.schema_oid == sdef.oid]
            inside = frozenset(r.oid for r in members)
            # as PostgreSQL reports them: an index or an owned sequence goes
            # with its table, unnamed
            listed = [r for r in members if not isinstance(r, IndexDef) and not (
                isinstance(r, SequenceDef) and r.owned_by[0] in inside)]
            if listed and not node.cascade:
                raise errors.DependentObjectsStillExist(
                    f"cannot drop schema {name} because other objects depend on it",
                    detail=_dependents_detail([f"{_kind_name(r)} {name}.{r.name} depends on "
                                               f"schema {name}" for r in listed]),
                    hint="Use DROP ... CASCADE to drop the dependent objects too.")
            cascaded = [f"{_kind_name(r)} {name}.{r.name}" for r in listed]
            for r in members:
                if r.oid in cat.relations:
                    _drop_relation(session, txn, cat, r, True, inside, cascaded)
            cat.drop_schema(name)
            _cascade_notice(session, cascaded)
        return _result(tag)
    # every name is resolved first: objects named together are dropped
    # together, and one depending on another of them does not block it
    rels = []
    for schema, name in node.names:
        try:
            rel, sysv = session.resolve_relation(cat, schema, name)
        except (errors.UndefinedTable, errors.InvalidSchemaName):
            if node.if_exists:
                what = node.kind
                session.notice(f'{what} "{name}" does not exist, skipping')
                continue
            if node.kind == "index":
                raise errors.UndefinedObject(f'index "{name}" does not exist') from None
            raise
        if sysv is not None:
            raise errors.InsufficientPrivilege(f'permission denied: "{name}" is a system '
                                               "catalog")
        expected = {"table": TableDef, "index": IndexDef, "view": ViewDef,
                    "sequence": SequenceDef, "materialized view": MatViewDef}[node.kind]
        if not isinstance(rel, expected) or (node.kind == "table" and
                                             isinstance(rel, MatViewDef)):
            raise errors.WrongObjectType(f'"{name}" is not a{"n" if node.kind == "index" else ""}'
                                         f" {node.kind}",
                                         hint=f"Use DROP {_kind_name(rel).upper()} to remove "
                                              f"a{'n' if isinstance(rel, IndexDef) else ''} "
                                              f"{_kind_name(rel)}.")
        rels.append(rel)
    dropping = frozenset(r.oid for r in rels)
    cascaded: list[str] = []
    try:
        for rel in rels:
            if rel.oid in cat.relations:      # else gone with another one named here
                _drop_relation(session, txn, cat, rel, node.cascade, dropping, cascaded)
    except errors.DependentObjectsStillExist as exc:
        if len(rels) > 1:     # PostgreSQL's wording when several objects are named
            exc.message = "cannot drop desired object(s) because other objects depend on them"
            exc.args = (exc.message,)
        raise
    _cascade_notice(session, cascaded)
    return _result(tag)


def _cascade_notice(session: Session, cascaded: list[str]) -> None:
    """PostgreSQL's one notice for the statement, the objects in its detail."""
    if len(cascaded) == 1:
        session.notice(f"drop cascades to {cascaded[0]}")
    elif cascaded:
        session.notice(f"drop cascades to {len(cascaded)} other objects",
                       detail=_dependents_detail([f"drop cascades to {c}" for c in cascaded]))


def _dependents_detail(lines: list[str]) -> str:
    """At most 100 lines, as PostgreSQL reports them (the rest counted)."""
    if len(lines) <= 100:
        return "\n".join(lines)
    more = len(lines) - 100
    return "\n".join(lines[:100]) + \
        f"\nand {more} other object{'s' if more > 1 else ''} (see server log for list)"


def _cascades(session: Session, cascaded: list[str] | None, what: str) -> None:
    if cascaded is None:
        session.notice(f"drop cascades to {what}")
    elif what not in cascaded:
        cascaded.append(what)


def _kind_name(rel: Any) -> str:
    return {"r": "table", "v": "view", "i": "index", "S": "sequence",
            "m": "materialized view"}[rel.kind]


def _drop_relation(session: Session, txn: Transaction, cat: Catalog, rel: Any,
                   cascade: bool, dropping: frozenset[int] = frozenset(),
                   cascaded: list[str] | None = None) -> None:
    """Drop rel; `dropping`: the other relations the statement names, whose
    dependence on rel goes with them (no error, no cascade notice);
    `cascaded` collects what CASCADE takes along, for one notice (else each
    is a notice of its own)."""
    if isinstance(rel, TableDef):
        txn.lock_table_exclusive(rel.oid)
        deps, along = [], []     # along: dependents named in the statement too
        for con in cat.referencing(rel.oid):
            if con.table_oid != rel.oid:
                (along if con.table_oid in dropping else deps).append(
                    ("constraint", con, f"constraint {con.name} on table "
                     f"{cat.relations[con.table_oid].name} depends on table {rel.name}"))
        views = [v for v in cat.relations.values()
                 if isinstance(v, (ViewDef, MatViewDef)) and rel.oid in v.depends]
        for v in views:
            # a view over another of these views is reported through it (its
            # depends also holds the tables that view reads), as PostgreSQL does
            via = next((w for w in views if w.oid in v.depends), rel)
            (along if v.oid in dropping else deps).append(
                ("view", v, f"{_kind_name(v)} {v.name} depends on "
                            f"{_kind_name(via)} {via.name}"))
        if deps and not cascade:
            raise errors.DependentObjectsStillExist(
                f"cannot drop table {rel.name} because other objects depend on it",
                detail="\n".join(d[2] for d in deps),
                hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for kind, obj, _text in along:
            if kind == "constraint":
                cat.drop_constraint(obj.oid)
            elif obj.oid in cat.relations:
                _drop_relation(session, txn, cat, obj, cascade, dropping, cascaded)
        for kind, obj, text in deps:
            _cascades(session, cascaded, text.split(" depends")[0])
            if kind == "constraint":
                cat.drop_constraint(obj.oid)
            elif obj.oid in cat.relations:
                _drop_relation(session, txn, cat, obj, True, dropping, cascaded)
        for idx in cat.indexes_of(rel.oid):
            cat.drop_relation(idx.oid)
        for seq in cat.sequences():
            if seq.owned_by[0] == rel.oid:
                cat.drop_relation(seq.oid)
        cat.drop_relation(rel.oid)
        txn.pending.pop(rel.oid, None)
        txn.writes.pop(rel.oid, None)
        return
    if isinstance(rel, IndexDef):
        for con in cat.constraints_of(rel.table_oid):
            if con.index_oid == rel.oid:
                raise errors.DependentObjectsStillExist(
                    f"cannot drop index {rel.name} because constraint {con.name} on table "
                    f"{cat.relations[rel.table_oid].name} requires it",
                    hint=f"You can drop constraint {con.name} on table "
                         f"{cat.relations[rel.table_oid].name} instead.")
        txn.lock_table_exclusive(rel.table_oid)
        cat.drop_relation(rel.oid)
        return
    if isinstance(rel, ViewDef):
        dependents = [v for v in cat.relations.values()
                      if isinstance(v, (ViewDef, MatViewDef)) and rel.oid in v.depends]
        blocking = [v for v in dependents if v.oid not in dropping]
        if blocking and not cascade:
            v = blocking[0]
            raise errors.DependentObjectsStillExist(
                f"cannot drop view {rel.name} because other objects depend on it",
                detail=f"{_kind_name(v)} {v.name} depends on view {rel.name}",
                hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for v in dependents:
            if v.oid in cat.relations:
                # one named in the statement too is dropped on its own terms
                if v.oid not in dropping:
                    _cascades(session, cascaded, f"{_kind_name(v)} {v.name}")
                _drop_relation(session, txn, cat, v, cascade or v.oid not in dropping,
                               dropping, cascaded)
        cat.drop_relation(rel.oid)
        return
    if isinstance(rel, SequenceDef):
        # serial / identity columns, and defaults that call nextval on it
        # (bound by OID: sql/view_names.py)
        def uses(c: Any) -> bool:
            return c.sequence_oid == rel.oid or rel.oid in relation_constants(c.default)
        users = [(t, c) for t in cat.tables() if t.oid not in dropping
                 for c in t.columns if uses(c)]
        if users and not cascade:
            t, c = users[0]
            raise errors.DependentObjectsStillExist(
                f"cannot drop sequence {rel.name} because other objects depend on it",
                detail=f"default value for column {c.name} of table {t.name} depends on "
                       f"sequence {rel.name}",
                hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for t, c in users:
            _cascades(session, cascaded, f"default value for column {c.name} of table {t.name}")
        for t in {id(t): t for t, _c in users}.values():
            t = cat.relations[t.oid]
            cols = tuple(replace(c, default=None, sequence_oid=0) if uses(c) else c
                         for c in t.columns)
            cat.replace_relation(replace(t, columns=cols))
        cat.drop_relation(rel.oid)


# --- TRUNCATE ---------------------------------------------------------------------------------------

def truncate(session: Session, txn: Transaction, node: D.TruncateStmt) -> Result:
    cat = txn.begin_ddl()
    targets: list[TableDef] = []
    for qn in node.names:
        t = _lookup_table(session, cat, qn)
        assert t is not None
        targets.append(t)
    oids = {t.oid for t in targets}
    for t in list(targets):
        for con in cat.referencing(t.oid):
            if con.table_oid in oids:
                continue
            if not node.cascade:
                raise errors.FeatureNotSupported(
                    "cannot truncate a table referenced in a foreign key constraint",
                    detail=f'Table "{cat.relations[con.table_oid].name}" references '
                           f'"{t.name}".',
                    hint=f'Truncate table "{cat.relations[con.table_oid].name}" at the same '
                         "time, or use TRUNCATE ... CASCADE.")
            child = cat.table(con.table_oid)
            session.notice(f'truncate cascades to table "{child.name}"')
            targets.append(child)
            oids.add(child.oid)
    for t in targets:
        if isinstance(t, MatViewDef):
            raise errors.WrongObjectType(f'"{t.name}" is not a table')
        txn.lock_table_exclusive(t.oid)
        td = TableData(t, cat.indexes_of(t.oid))
        txn.replace_table_data(t.oid, td, "truncated")
        if node.restart_identity:
            for seq in cat.sequences():
                if seq.owned_by[0] == t.oid:
                    txn.db.setval(txn, seq, seq.start, False)
    return _result("TRUNCATE TABLE")


def _walk(plan: Any) -> Any:
    from aiondb.sql.plan import walk_plan
    return walk_plan(plan)
