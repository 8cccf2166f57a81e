"""A view's stored query names its relations as they resolved when it was
created, as PostgreSQL binds them then (by OID): an unqualified table
becomes schema.table. So a later search_path (pg_dump sets it empty) or a
new table of the same name earlier in the path does not change what the view
reads; pg_get_viewdef still prints a name bare where it is visible."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from aiondb import errors


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
