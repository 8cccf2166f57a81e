"""pg_get_viewdef: a view's stored SELECT printed the way PostgreSQL 15's
ruleutils.c prints a view's query (columns qualified by their range table
entry, one target per line when pretty, FROM/WHERE/GROUP BY on their own
indented lines, ';' at the end). Queries outside what we can analyse
(set operations, subqueries, CTEs) fall back to the stored text."""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from aiondb import types as T
from aiondb.sql.dialect import AionDB
from aiondb.sql.pg_catalog import exprtree as X
from aiondb.sql.pg_catalog.analyze import Analyzer
from aiondb.sql.pg_catalog.deparse import PRETTYINDENT_STD, PRETTYINDENT_VAR, Printer
from aiondb.sql.pg_catalog.deparse import quote_ident as qi

PRETTYINDENT_JOIN = 4
_JOIN_WORDS = {"LEFT": " LEFT JOIN ", "RIGHT": " RIGHT JOIN ", "FULL": " FULL JOIN "}


class _Rte:
    def __init__(self, label: str, refname: str, columns: list[tuple[str, T.SqlType]]) -> None:
        self.label = label          # how the FROM clause names the relation
        self.refname = refname      # how columns are qualified
        self.columns = dict(columns)
        self.order = [c for c, _ in columns]


class ViewPrinter:
    def __init__(self, ctx: Any, pretty: bool) -> None:
        self.ctx = ctx
        self.pretty = pretty
        self.rtes: list[_Rte] = []

    # --- range table ------------------------------------------------------------------------
    def _rte(self, t: exp.Table) -> _Rte:
        from aiondb.sql.fn_system import relation_label
        session, cat = self.ctx.session, self.ctx.catalog
        rel, sysv = session.resolve_relation(cat, t.db or None, t.name)
        if sysv is not None:
            cols = [(c.name, c.type) for c in sysv.columns]
            label = sysv.name if sysv.schema == "pg_catalog" else f"{sysv.schema}.{sysv.name}"
        elif rel is not None and hasattr(rel, "columns"):
            cols = [(c.name, c.type) for c in rel.columns]
            label = relation_label(session, cat, rel.oid)
        else:
            raise X.Unsupported("relation")
        alias = t.alias or None
        refname = alias or t.name
        return _Rte(label + (" " + qi(alias) if alias and alias != t.name else ""), refname,
                    cols)

    def resolve(self, qualifier: str | None, name: str) -> tuple[str | None, T.SqlType] | None:
        found = [r for r in self.rtes if (qualifier is None or r.refname == qualifier)
                 and name in r.columns]
        if len(found) != 1:
            return None
        return found[0].refname, found[0].columns[name]

    # --- the query --------------------------------------------------------------------------
    def query(self, sel: exp.Expr, colnames: list[str]) -> str:
        if not isinstance(sel, exp.Select) or sel.args.get("with"):
            raise X.Unsupported("query shape")
        from_ = sel.args.get("from") or sel.args.get("from_")
        items: list[exp.Expr] = [from_.this] if from_ is not None else []
        joins = sel.args.get("joins") or []
        for item in items + [j.this for j in joins]:
            if not isinstance(item, exp.Table):
                raise X.Unsupported("FROM item")
            self.rtes.append(self._rte(item))
        an = Analyzer(self.resolve)
        p = Printer(self.pretty)
        p.indent += PRETTYINDENT_STD
        p.buf += " SELECT"
        if sel.args.get("distinct") is not None:
            p.buf += " DISTINCT"
        self._targets(p, an, sel, colnames)
        if items:
            p.keyword(" FROM ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 2)
            if not self.pretty:   # each join of the left-deep tree is parenthesized
                p.buf += "(" * len(joins)
            p.buf += self.rtes[0].label
            for j, rte in zip(joins, self.rtes[1:], strict=True):
                self._join(p, an, j, rte)
        where = sel.args.get("where")
        if where is not None:
            p.keyword(" WHERE ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
            p.expr(X.coerce(an.expr(where.this), T.BOOL), False)
        group = sel.args.get("group")
        if group is not None:
            p.keyword(" GROUP BY ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
            for i, g in enumerate(group.expressions):
                p.buf += ", " if i else ""
                p.expr(an.expr(self._by_position(sel, g)), False)
        having = sel.args.get("having")
        if having is not None:
            p.keyword(" HAVING ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
            p.expr(an.expr(having.this), False)
        self._order_limit(p, an, sel)
        return p.buf

    def _targets(self, p: Printer, an: Analyzer, sel: exp.Select, colnames: list[str]) -> None:
        targets: list[tuple[X.Node, str]] = []
        for e in sel.expressions:
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and
                                           isinstance(e.this, exp.Star)):
                for r in self.rtes:
                    if isinstance(e, exp.Column) and e.table and e.table != r.refname:
                        continue
                    targets += [(X.Var(c, r.refname, type=r.columns[c]), c) for c in r.order]
                continue
            name = e.alias if isinstance(e, exp.Alias) else None
            node = an.expr(e.this if isinstance(e, exp.Alias) else e)
            if node.type.oid == X.UNKNOWN.oid:
                node = X.coerce(node, T.TEXT)
            targets.append((node, name or ""))
        for i, (node, _) in enumerate(targets):
            p.buf += ", " if i else " "
            sub = Printer(self.pretty, p.indent)
            sub.expr(node, True)
            colname = colnames[i] if i < len(colnames) else targets[i][1]
            if not (isinstance(node, X.Var) and node.name == colname):
                sub.buf += " AS " + qi(colname)
            text = sub.buf
            if text.startswith("\n"):
                p.buf = p.buf.rstrip(" ")
            elif i > 0:   # wrap column 0: every further target on its own line
                p.keyword("", -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_VAR)
            p.buf += text

    def _join(self, p: Printer, an: Analyzer, j: exp.Join, rte: _Rte) -> None:
        side = (j.side or "").upper()
        on, using = j.args.get("on"), j.args.get("using")
        word = _JOIN_WORDS.get(side, " JOIN " if on is not None or using else " CROSS JOIN ")
        if (j.kind or "").upper() == "CROSS":
            word = " CROSS JOIN "
        p.keyword(word, -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_JOIN)
        p.buf += rte.label
        if using:
            p.buf += " USING (" + ", ".join(qi(u.name) for u in using) + ")"
        elif on is not None:
            p.buf += " ON "
            p.open()
            p.expr(X.coerce(an.expr(on), T.BOOL), False)
            p.close()
        elif side:
            p.buf += " ON TRUE"
        p.close()

    @staticmethod
    def _by_position(sel: exp.Select, g: exp.Expr) -> exp.Expr:
        if isinstance(g, exp.Literal) and not g.is_string and g.this.isdigit():
            target = sel.expressions[int(g.this) - 1]
            return target.this if isinstance(target, exp.Alias) else target
        return g

    def _order_limit(self, p: Printer, an: Analyzer, sel: exp.Select) -> None:
        order = sel.args.get("order")
        if order is not None:
            p.keyword(" ORDER BY ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
            for i, o in enumerate(order.expressions):
                p.buf += ", " if i else ""
                p.expr(an.expr(self._by_position(sel, o.this)), False)
                desc = bool(o.args.get("desc"))
                p.buf += " DESC" if desc else ""
                nulls_first = o.args.get("nulls_first")
                if nulls_first is not None and bool(nulls_first) != desc:
                    p.buf += " NULLS FIRST" if nulls_first else " NULLS LAST"
        limit, offset = sel.args.get("limit"), sel.args.get("offset")
        if offset is not None:
            p.keyword(" OFFSET ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
            p.expr(an.expr(offset.expression), False)
        if limit is not None:
            p.keyword(" LIMIT ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
            p.expr(an.expr(limit.expression), False)


def view_query_text(ctx: Any, sql: str, colnames: list[str], pretty: bool) -> str:
    """The view's query as pg_get_viewdef prints it, without the ';'."""
    try:
        sel = sqlglot.parse_one(sql, read=AionDB)
        return ViewPrinter(ctx, pretty).query(sel, colnames)
    except (X.Unsupported, sqlglot.errors.ParseError, KeyError, IndexError, ValueError):
        return " " + sql
