"""Names bound when a definition is created, as PostgreSQL binds them then
(by OID), so a later search_path (pg_dump sets it empty), a new relation of
the same name earlier in the path, or a rename does not change what the
definition refers to:

- a view's stored query names its relations schema-qualified;
- a column default's relation constants (`'seq'::regclass`, the argument of
  nextval / currval / setval) are stored as OIDs.

pg_get_viewdef and pg_get_expr still print each name bare where it is
visible (pg_catalog/functions.py)."""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T

# functions whose first argument is a regclass
_REGCLASS_FIRST = {"nextval", "currval", "setval"}
# a relation constant as bind_relation_constants stores it (either spelling)
REGCLASS_OID = re.compile(r"'(\d+)'::regclass|CAST\('(\d+)' AS REGCLASS\)", re.I)


def relation_constants(text: str | None) -> set[int]:
    """The OIDs of the relations a stored default names (bound by OID)."""
    if not text or "'" not in text:
        return set()
    return {int(m.group(1) or m.group(2)) for m in REGCLASS_OID.finditer(text)}


def qualify_relations(session: Any, cat: Any, query: exp.Expr) -> exp.Expr:
    """A copy of query with its unqualified table references qualified."""
    q = query.copy()
    ctes = {c.alias_or_name for c in q.find_all(exp.CTE)}
    for t in q.find_all(exp.Table):
        if t.args.get("db") or not isinstance(t.this, exp.Identifier) or t.name in ctes:
            continue
        try:
            rel, sysv = session.resolve_relation(cat, None, t.name)
        except errors.DatabaseError:
            continue        # bound already, so not a relation (a function's result ...)
        if sysv is not None:
            schema = sysv.schema
        else:
            sdef = cat.schema_by_oid(rel.schema_oid) if rel is not None else None
            schema = sdef.name if sdef is not None else None
        if schema:
            t.set("db", exp.to_identifier(schema))
    return q


def bind_relation_constants(session: Any, cat: Any, node: exp.Expr) -> exp.Expr:
    """A copy of a default expression with its regclass string constants
    replaced by the OID they resolve to now ('s'::regclass → '16390'::regclass;
    nextval('s') → nextval('16390'::regclass)). A name that does not resolve
    is left for evaluation to report."""
    from aiondb.sql.fn_system import resolve_reg

    class _Ctx:
        catalog = cat

    node = node.copy()
    for lit in list(node.find_all(exp.Literal)):
        if not lit.is_string:
            continue
        p = lit.parent
        if isinstance(p, exp.Cast) and p.to.sql().lower() == "regclass":
            cast = False
        elif isinstance(p, exp.Anonymous) and str(p.this).lower() in _REGCLASS_FIRST and \
                p.expressions and p.expressions[0] is lit:
            cast = True
        else:
            continue
        try:
            oid = int(resolve_reg(session, T.REGCLASS, lit.this, _Ctx))
        except errors.DatabaseError:
            continue
        if oid not in cat.relations:
            continue        # a system catalog: its name never changes
        new = exp.Literal.string(str(oid))
        lit.replace(exp.Cast(this=new, to=exp.DataType.build("regclass", dialect="postgres"))
                    if cast else new)
    return node
