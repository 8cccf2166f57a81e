"""Deferrable foreign keys: DEFERRABLE [INITIALLY DEFERRED | IMMEDIATE],
SET CONSTRAINTS { ALL | name, ... } { DEFERRED | IMMEDIATE }, and the
checks a deferred constraint owes at COMMIT.

A deferred check is not a list of rows to re-check but of key values: at
COMMIT (or SET CONSTRAINTS ... IMMEDIATE) a child key is a violation if some
row still holds it and no parent row has it; a deleted parent key is one if
no parent row has it again and some child row still references it. That is
what PostgreSQL's deferred RI triggers conclude, whatever happened in
between (rows changed back, savepoints rolled back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors

if TYPE_CHECKING:
    from aiondb.sql.dml import ForeignKey
    from aiondb.sql.exec_base import ExecContext
    from aiondb.sql.session import Session
    from aiondb.storage.catalog import ConstraintDef


def constraint_timing(options: list[Any] | None) -> tuple[bool, bool]:
    """(deferrable, initially deferred) from a constraint's attribute words."""
    words = [str(o).upper() for o in options or []]
    deferred = "INITIALLY DEFERRED" in words
    if "NOT DEFERRABLE" in words and (deferred or "DEFERRABLE" in words):
        what = "INITIALLY DEFERRED" if deferred else "DEFERRABLE"
        raise errors.SyntaxError(
            "constraint declared INITIALLY DEFERRED must be DEFERRABLE" if deferred else
            f"conflicting NOT DEFERRABLE and {what} clauses")
    # INITIALLY DEFERRED implies DEFERRABLE, as in PostgreSQL
    return "DEFERRABLE" in words or deferred, deferred


def reject_deferrable(node: exp.Expr) -> None:
    """Deferrable unique and primary keys would need deferred uniqueness checks."""
    deferrable, _ = constraint_timing(node.args.get("options"))
    if deferrable:
        raise errors.FeatureNotSupported(
            "DEFERRABLE unique and primary key constraints are not supported")


@dataclass
class DeferredState:
    """One transaction's SET CONSTRAINTS settings and its owed checks."""

    all_deferred: bool | None = None                     # SET CONSTRAINTS ALL ...
    by_oid: dict[int, bool] = field(default_factory=dict)
    # (fk, 'out' | 'in', key values, a row for the error detail)
    owed: list[tuple[ForeignKey, str, tuple, tuple]] = field(default_factory=list)


def _state(session: Session) -> DeferredState:
    st = session.deferred
    if st is None:
        st = session.deferred = DeferredState()
    return st


def is_deferred(ctx: ExecContext, con: ConstraintDef) -> bool:
    """Whether a check of this constraint waits for COMMIT right now."""
    if not con.deferrable:
        return False
    st = ctx.session.deferred if ctx.session is not None else None
    if st is not None:
        mode = st.by_oid.get(con.oid)
        if mode is not None:
            return mode
        if st.all_deferred is not None:
            return st.all_deferred
    return con.initially_deferred


def owe(ctx: ExecContext, fk: ForeignKey, side: str, values: tuple, row: tuple) -> None:
    _state(ctx.session).owed.append((fk, side, values, row))


def run_checks(ctx: ExecContext, only: set[int] | None = None) -> None:
    """Run the owed checks (of the constraints in `only`, or all)."""
    from aiondb.sql.dml import _restrict_error, find_rows, fk_violation
    st = ctx.session.deferred
    if st is None or not st.owed:
        return
    keep = []
    for item in st.owed:
        fk, side, values, row = item
        if only is not None and fk.con.oid not in only:
            keep.append(item)
            continue
        if fk.con.oid not in ctx.catalog.constraints:
            continue          # dropped in this transaction
        if find_rows(ctx, fk.parent, fk.parent_pos, values):
            continue
        children = find_rows(ctx, fk.child, fk.child_pos, values)
        if children:
            st.owed = keep
            if side == "out":
                raise fk_violation(fk, children[0][1], ctx)
            raise _restrict_error(fk, row, ctx)
    st.owed = keep


def before_commit(session: Session) -> None:
    """COMMIT: every deferred check still owed must pass."""
    st = session.deferred
    if st is None or not st.owed or session.txn is None:
        return
    catalog = session.current_catalog()
    ctx = session.make_context(session.txn, [], catalog)
    run_checks(ctx)


@dataclass(frozen=True)
class SetConstraints:
    names: tuple[tuple[str | None, str], ...] | None    # None: ALL
    deferred: bool


def parse_set_constraints(u: Any) -> SetConstraints:
    """SET CONSTRAINTS (after the two words), on stmt_utility's reader."""
    names: list[tuple[str | None, str]] | None = None
    if not u.word("all"):
        names = []
        while True:
            a = u.ident()
            names.append((a, u.ident()) if u.op(".") else (None, a))
            if not u.op(","):
                break
    mode = u.expect("deferred", "immediate")
    u.end()
    return SetConstraints(tuple(names) if names is not None else None, mode == "deferred")


def set_constraints(session: Session, node: SetConstraints) -> None:
    if not session.in_block:
        session.notice("SET CONSTRAINTS can only be used in transaction blocks", "WARNING",
                       "25P01")
        return
    catalog = session.current_catalog()
    st = _state(session)
    oids: set[int] | None = None
    if node.names is None:
        st.all_deferred = node.deferred
        st.by_oid.clear()
    else:
        oids = set()
        search = [s.oid for s in (catalog.schema(n) for n in session.search_path())
                  if s is not None]
        for schema, name in node.names:
            schemas = search
            if schema is not None:
                sdef = catalog.schema(schema)
                if sdef is None:
                    raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')
                schemas = [sdef.oid]
            found = [c for c in catalog.constraints.values() if c.name == name and
                     getattr(catalog.relations.get(c.table_oid), "schema_oid", None)
                     in schemas]
            if not found:
                raise errors.UndefinedObject(f'constraint "{name}" does not exist')
            for con in found:
                if not con.deferrable:
                    raise errors.WrongObjectType(f'constraint "{name}" is not deferrable')
                st.by_oid[con.oid] = node.deferred
                oids.add(con.oid)
    if not node.deferred and st.owed and session.txn is not None:
        # switching to IMMEDIATE runs the checks owed so far, now
        run_checks(session.make_context(session.txn, [], catalog), oids)
