"""INSERT, UPDATE and DELETE execution with PostgreSQL's constraint checks:
NOT NULL (23502), CHECK (23514), UNIQUE/PK (23505, in storage), FOREIGN KEY
(23503) including ON DELETE/UPDATE CASCADE / SET NULL / SET DEFAULT /
RESTRICT / NO ACTION (checked at the end of the statement).

`TableRules` are a table's compiled constraints; the session builds them
per catalog version (ctx.rules_for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiondb import errors
from aiondb.sql import deferred
from aiondb.sql import plan as P
from aiondb.sql.exec_base import ExecContext, Operator
from aiondb.sql.exec_scan import ValuesOp
from aiondb.sql.executor import build
from aiondb.sql.expr_compile import Compiled, compile_expr
from aiondb.sql.textio import format_text
from aiondb.storage.catalog import ConstraintDef, IndexDef, TableDef
from aiondb.storage.table import NOT_INDEXED, index_key, index_key_fn, key_has_null


@dataclass
class ForeignKey:
    con: ConstraintDef
    child: TableDef
    child_pos: tuple[int, ...]
    parent: TableDef
    parent_pos: tuple[int, ...]
    parent_index: IndexDef | None      # None: the parent's primary key
    child_defaults: list[Compiled | None] = field(default_factory=list)


@dataclass
class TableRules:
    table: TableDef
    not_null: list[int]
    checks: list[tuple[str, Compiled]]
    fks_out: list[ForeignKey]          # this table is the child
    fks_in: list[ForeignKey]           # this table is the parent
    # STORED generated columns: (position, expression over the new row)
    generated: list[tuple[int, Compiled]] = field(default_factory=list)
    # key functions of expression / partial indexes: run for each new row so
    # an expression's error is the statement's, not COMMIT's
    index_keys: list[Any] = field(default_factory=list)


def with_generated(rules: TableRules, row: tuple, ctx: ExecContext) -> tuple:
    """The row with its generated columns computed from its other columns."""
    if not rules.generated:
        return row
    out = list(row)
    for pos, fn in rules.generated:
        out[pos] = fn(row, ctx)
    return tuple(out)


def _row_text(table: TableDef, row: tuple, ctx: ExecContext) -> str:
    parts = []
    for c, v in zip(table.columns, row, strict=False):
        parts.append("null" if v is None else format_text(c.type, v, ctx.tz))
    return "Failing row contains (" + ", ".join(parts) + ")."


def _key_text(table: TableDef, positions: tuple[int, ...], row: tuple, ctx: ExecContext,
              names: bool = True) -> str:
    cols = ", ".join(table.columns[p].name for p in positions)
    vals = ", ".join("null" if row[p] is None else
                     format_text(table.columns[p].type, row[p], ctx.tz) for p in positions)
    return f"Key ({cols})=({vals})"


def _about(table: TableDef, ctx: ExecContext, **fields: str) -> dict[str, Any]:
    """The schema/table (and column or constraint) fields of a constraint error."""
    schema = ctx.catalog.schema_by_oid(table.schema_oid)
    return {"schema": schema.name if schema else None, "table": table.name, **fields}


def check_row(rules: TableRules, row: tuple, ctx: ExecContext) -> None:
    table = rules.table
    for pos in rules.not_null:
        if row[pos] is None:
            column = table.columns[pos].name
            raise errors.NotNullViolation(
                f'null value in column "{column}" of relation "{table.name}" '
                f"violates not-null constraint", detail=_row_text(table, row, ctx),
                **_about(table, ctx, column=column))
    for name, fn in rules.checks:
        if fn(row, ctx) is False:
            raise errors.CheckViolation(
                f'new row for relation "{table.name}" violates check constraint "{name}"',
                detail=_row_text(table, row, ctx), **_about(table, ctx, constraint=name))
    for key_fn in rules.index_keys:
        key_fn(row)


def _parent_exists(fk: ForeignKey, values: tuple, ctx: ExecContext) -> bool:
    txn = ctx.txn
    if fk.parent_index is None:
        key = values[0] if len(values) == 1 else values
        if txn.get(fk.parent.oid, key) is None:
            return False
        txn.lock_row_shared(fk.parent.oid, key)
        return True
    found = txn.index_lookup(fk.parent.oid, fk.parent_index.oid, index_key(values))
    for rk, _row in found:
        txn.lock_row_shared(fk.parent.oid, rk)
        return True
    return False


def check_fks_out(rules: TableRules, row: tuple, ctx: ExecContext,
                  old: tuple | None = None) -> None:
    for fk in rules.fks_out:
        vals = tuple(row[p] for p in fk.child_pos)
        if any(v is None for v in vals):
            continue  # MATCH SIMPLE: a NULL column means no check
        if old is not None and tuple(old[p] for p in fk.child_pos) == vals:
            continue
        if not _parent_exists(fk, vals, ctx):
            if fk.con.deferrable and deferred.is_deferred(ctx, fk.con):
                deferred.owe(ctx, fk, "out", vals, row)
                continue
            raise fk_violation(fk, row, ctx)


def fk_violation(fk: ForeignKey, row: tuple, ctx: ExecContext) -> errors.DatabaseError:
    return errors.ForeignKeyViolation(
        f'insert or update on table "{fk.child.name}" violates foreign key constraint '
        f'"{fk.con.name}"',
        detail=f'{_key_text(fk.child, fk.child_pos, row, ctx)} is not present in table '
               f'"{fk.parent.name}".', **_about(fk.child, ctx, constraint=fk.con.name))


def find_rows(ctx: ExecContext, table: TableDef, positions: tuple[int, ...],
              values: tuple) -> list[tuple[Any, tuple]]:
    """Visible (key, row) pairs whose columns at positions equal values, using
    the primary key or an index on exactly those columns when there is one."""
    txn = ctx.txn
    if table.pk and table.pk_positions == positions:
        key = values[0] if len(values) == 1 else values
        row = txn.get(table.oid, key)
        return [] if row is None else [(key, row)]
    attnums = tuple(table.columns[p].attnum for p in positions)
    for idx in ctx.catalog.indexes_of(table.oid):
        if idx.attnums == attnums and not idx.primary and not idx.predicate:
            return list(txn.index_lookup(table.oid, idx.oid, index_key(values)))
    return [(k, r) for k, r in txn.scan_items(table.oid)
            if tuple(r[p] for p in positions) == values]


class _Pending:
    """NO ACTION foreign keys are checked when the statement ends."""

    def __init__(self) -> None:
        self.checks: list[tuple[ForeignKey, tuple, tuple]] = []

    def run(self, ctx: ExecContext) -> None:
        for fk, values, parent_row in self.checks:
            # the referenced key may have been re-inserted or changed back meanwhile
            if find_rows(ctx, fk.parent, fk.parent_pos, values):
                continue
            if find_rows(ctx, fk.child, fk.child_pos, values):
                raise _restrict_error(fk, parent_row, ctx)


def _restrict_error(fk: ForeignKey, parent_row: tuple, ctx: ExecContext) -> errors.DatabaseError:
    return errors.ForeignKeyViolation(
        f'update or delete on table "{fk.parent.name}" violates foreign key constraint '
        f'"{fk.con.name}" on table "{fk.child.name}"',
        detail=f"{_key_text(fk.parent, fk.parent_pos, parent_row, ctx)} is still referenced "
               f'from table "{fk.child.name}".', **_about(fk.child, ctx, constraint=fk.con.name))


def apply_fks_in(rules: TableRules, old: tuple, new: tuple | None, ctx: ExecContext,
                 pending: _Pending, depth: int = 0) -> None:
    """Referencing rows when a parent row is deleted (new None) or its key changes."""
    if depth > 100:
        raise errors.StatementTooComplex("foreign key cascade too deep")
    for fk in rules.fks_in:
        old_vals = tuple(old[p] for p in fk.parent_pos)
        if any(v is None for v in old_vals):
            continue
        if new is not None and tuple(new[p] for p in fk.parent_pos) == old_vals:
            continue
        action = fk.con.on_delete if new is None else fk.con.on_update
        if action == "a":
            if fk.con.deferrable and deferred.is_deferred(ctx, fk.con):
                deferred.owe(ctx, fk, "in", old_vals, old)
            else:
                pending.checks.append((fk, old_vals, old))
            continue
        children = find_rows(ctx, fk.child, fk.child_pos, old_vals)
        if not children:
            continue
        if action == "r":
            raise _restrict_error(fk, old, ctx)
        assert ctx.rules_for is not None
        child_rules = ctx.rules_for(fk.child.oid)
        for ckey, crow in children:
            if action == "c" and new is None:
                apply_fks_in(child_rules, crow, None, ctx, pending, depth + 1)
                ctx.txn.delete(fk.child, ckey)
                continue
            updated = list(crow)
            for i, p in enumerate(fk.child_pos):
                if action == "c":
                    updated[p] = new[fk.parent_pos[i]]  # type: ignore[index]
                elif action == "n":
                    updated[p] = None
                else:  # set default
                    dfn = fk.child_defaults[i] if fk.child_defaults else None
                    updated[p] = dfn((), ctx) if dfn is not None else None
            new_child = tuple(updated)
            check_row(child_rules, new_child, ctx)
            if action == "d":
                check_fks_out(child_rules, new_child, ctx, crow)
            apply_fks_in(child_rules, crow, new_child, ctx, pending, depth + 1)
            ctx.txn.update(fk.child, ckey, new_child)


# --- operators ------------------------------------------------------------------------------

class InsertOp(Operator):
    __slots__ = ("plan", "source", "targets", "defaults", "returning", "ncols", "conflict",
                 "conflict_assign", "conflict_where", "single")

    def __init__(self, p: P.Insert) -> None:
        self.plan = p
        self.source = build(p.source)
        self.targets = p.targets
        self.defaults = [(pos, compile_expr(e)) for pos, e in p.defaults]
        self.returning = [compile_expr(e) for e in p.returning] if p.returning else None
        self.ncols = len(p.table.columns)
        oc = p.on_conflict
        self.conflict = oc
        self.conflict_assign = [(pos, compile_expr(e)) for pos, e in oc.assignments] \
            if oc is not None else []
        self.conflict_where = compile_expr(oc.where) if oc is not None and oc.where is not None \
            else None
        # INSERT ... VALUES (one row) without ON CONFLICT, the commonest
        # write: (position, value) pairs, filled straight into the new row
        self.single: list[tuple[int, Compiled]] | None = None
        if isinstance(self.source, ValuesOp) and len(self.source.rowfns) == 1 and oc is None:
            self.single = list(zip(self.targets, self.source.rowfns[0], strict=True))

    def rows(self, ctx: ExecContext) -> list[tuple]:
        table = self.plan.table
        assert ctx.rules_for is not None
        rules = ctx.rules_for(table.oid)
        if self.single is not None:
            return self._insert_one(table, rules, ctx)
        source = list(self.source.rows(ctx))
        out: list[tuple] = []
        count = 0
        ncols = self.ncols
        txn = ctx.txn
        updated_keys: set = set()
        inserted: list[tuple] = []
        for src in source:
            row = [None] * ncols
            for i, pos in enumerate(self.targets):
                row[pos] = src[i]
            for pos, fn in self.defaults:
                row[pos] = fn((), ctx)
            new = with_generated(rules, tuple(row), ctx)
            if self.conflict is not None:
                existing = self._find_conflict(rules, new, ctx)
                if existing is not None:
                    if self.conflict.action == "nothing":
                        continue
                    res = self._do_update(rules, existing, new, ctx, updated_keys)
                    if res is not None:
                        count += 1
                        if self.returning is not None:
                            out.append(tuple(f(res, ctx) for f in self.returning))
                    continue
            check_row(rules, new, ctx)
            try:
                key = txn.insert(table, new)
            except errors.UniqueViolation:
                if self.conflict is not None and self.conflict.action == "nothing" and \
                        self.conflict.any_constraint:
                    continue
                raise
            if self.conflict is not None:
                # a later row of this command conflicting with this one must not update it
                updated_keys.add(key)
            if rules.fks_out:
                inserted.append(new)
            count += 1
            if self.returning is not None:
                out.append(tuple(f(new, ctx) for f in self.returning))
        # foreign keys are checked once the statement's rows are in (PostgreSQL's
        # after-row triggers): a row may reference itself or a later row
        for row in inserted:
            check_fks_out(rules, row, ctx)
        ctx.cache["rowcount"] = count
        return out

    def _insert_one(self, table: TableDef, rules: TableRules, ctx: ExecContext) -> list[tuple]:
        """rows() for one VALUES row, in the same steps."""
        row = [None] * self.ncols
        assert self.single is not None
        for pos, fn in self.single:
            row[pos] = fn((), ctx)
        for pos, fn in self.defaults:
            row[pos] = fn((), ctx)
        new = with_generated(rules, tuple(row), ctx)
        check_row(rules, new, ctx)
        ctx.txn.insert(table, new)
        if rules.fks_out:
            check_fks_out(rules, new, ctx)
        ctx.cache["rowcount"] = 1
        if self.returning is not None:
            return [tuple(f(new, ctx) for f in self.returning)]
        return []

    def _find_conflict(self, rules: TableRules, new: tuple,
                       ctx: ExecContext) -> tuple[Any, tuple] | None:
        oc = self.conflict
        assert oc is not None
        table = rules.table
        txn = ctx.txn
        candidates: list[IndexDef | None] = []
        if oc.use_pk or (oc.any_constraint and table.pk):
            candidates.append(None)
        if oc.index is not None:
            candidates.append(oc.index)
        if oc.any_constraint:
            candidates += [i for i in ctx.catalog.indexes_of(table.oid)
                           if i.unique and not i.primary]
        for idx in candidates:
            if idx is None:
                pk = table.pk_positions
                key = new[pk[0]] if len(pk) == 1 else tuple(new[p] for p in pk)
                if key is None or (isinstance(key, tuple) and None in key):
                    continue
                txn.lock_row(table.oid, key)
                row = txn.get(table.oid, key)
                if row is not None:
                    return key, row
                continue
            ikey = index_key_fn(table, idx)(new)
            if ikey is NOT_INDEXED or key_has_null(ikey):
                continue
            for rk, row in txn.index_lookup(table.oid, idx.oid, ikey):
                txn.lock_row(table.oid, rk)
                return rk, row
        return None

    def _do_update(self, rules: TableRules, existing: tuple[Any, tuple], excluded: tuple,
                   ctx: ExecContext, updated_keys: set) -> tuple | None:
        key, old = existing
        if key in updated_keys:
            raise errors.CardinalityViolation(
                "ON CONFLICT DO UPDATE command cannot affect row a second time",
                hint="Ensure that no rows proposed for insertion within the same command "
                     "have duplicate constrained values.")
        combined = old + excluded
        if self.conflict_where is not None and self.conflict_where(combined, ctx) is not True:
            return None
        new = list(old)
        for pos, fn in self.conflict_assign:
            new[pos] = fn(combined, ctx)
        newt = with_generated(rules, tuple(new), ctx)
        check_row(rules, newt, ctx)
        check_fks_out(rules, newt, ctx, old)
        pending = _Pending()
        apply_fks_in(rules, old, newt, ctx, pending)
        new_key = ctx.txn.update(rules.table, key, newt)
        pending.run(ctx)
        updated_keys.add(new_key)
        return newt


class UpdateOp(Operator):
    __slots__ = ("plan", "source", "assign", "returning", "ncols")

    def __init__(self, p: P.Update) -> None:
        self.plan = p
        self.source = build(p.source)
        self.assign = [(pos, compile_expr(e)) for pos, e in p.assignments]
        self.returning = [compile_expr(e) for e in p.returning] if p.returning else None
        self.ncols = p.ncols

    def rows(self, ctx: ExecContext) -> list[tuple]:
        table = self.plan.table
        assert ctx.rules_for is not None
        rules = ctx.rules_for(table.oid)
        targets = list(self.source.rows(ctx))
        ncols = self.ncols
        out = []
        count = 0
        seen: set = set()
        pending = _Pending()
        txn = ctx.txn
        check_fk_in = bool(rules.fks_in)
        fk_rows: list[tuple[tuple, tuple]] = []
        # source rows: the target's columns, its row key, then FROM items' columns
        for src in targets:
            key = src[ncols]
            if key in seen:
                continue  # UPDATE ... FROM: a row joined twice is updated once
            seen.add(key)
            old = src[:ncols]
            new = list(old)
            for pos, fn in self.assign:
                new[pos] = fn(src, ctx)
            newt = with_generated(rules, tuple(new), ctx)
            check_row(rules, newt, ctx)
            if rules.fks_out:
                fk_rows.append((newt, old))
            if check_fk_in:
                apply_fks_in(rules, old, newt, ctx, pending)
            new_key = txn.update(table, key, newt)
            if new_key is None:
                continue
            count += 1
            if self.returning is not None:
                out.append(tuple(f(newt + src[ncols:], ctx) for f in self.returning))
        pending.run(ctx)
        for newt, old in fk_rows:      # at the end of the statement, as for INSERT
            check_fks_out(rules, newt, ctx, old)
        ctx.cache["rowcount"] = count
        return out


class DeleteOp(Operator):
    __slots__ = ("plan", "source", "returning", "ncols")

    def __init__(self, p: P.Delete) -> None:
        self.plan = p
        self.source = build(p.source)
        self.returning = [compile_expr(e) for e in p.returning] if p.returning else None
        self.ncols = p.ncols

    def rows(self, ctx: ExecContext) -> list[tuple]:
        table = self.plan.table
        assert ctx.rules_for is not None
        rules = ctx.rules_for(table.oid)
        targets = list(self.source.rows(ctx))
        ncols = self.ncols
        out = []
        count = 0
        seen: set = set()
        pending = _Pending()
        txn = ctx.txn
        for src in targets:
            key = src[ncols]
            if key in seen:
                continue
            seen.add(key)
            old = src[:ncols]
            if rules.fks_in:
                apply_fks_in(rules, old, None, ctx, pending)
            if not txn.delete(table, key):
                continue
            count += 1
            if self.returning is not None:
                out.append(tuple(f(old + src[ncols:], ctx) for f in self.returning))
        pending.run(ctx)
        ctx.cache["rowcount"] = count
        return out


def build_dml(p: P.Plan) -> Operator:
    if isinstance(p, P.Insert):
        return InsertOp(p)
    if isinstance(p, P.Update):
        return UpdateOp(p)
    assert isinstance(p, P.Delete)
    return DeleteOp(p)

