"""pg_get_viewdef: a view's stored SELECT printed the way PostgreSQL 15's
ruleutils.c prints a view's query (columns qualified by their range table
entry, one target per line, FROM/WHERE/GROUP BY on their own indented lines,
set operations and subqueries laid out as get_setop_query / get_sublink_expr
do, ';' at the end). Queries outside what we can analyse (CTEs, subqueries in
FROM, window functions...) fall back to the stored text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql.dialect import AionDB
from aiondb.sql.pg_catalog import exprtree as X
from aiondb.sql.pg_catalog.analyze import Analyzer
from aiondb.sql.pg_catalog.deparse import PRETTYINDENT_STD, PRETTYINDENT_VAR, Printer
from aiondb.sql.pg_catalog.deparse import quote_ident as qi

PRETTYINDENT_JOIN = 4
_JOIN_WORDS = {"LEFT": " LEFT JOIN ", "RIGHT": " RIGHT JOIN ", "FULL": " FULL JOIN "}
_SETOPS = {exp.Union: "UNION", exp.Except: "EXCEPT", exp.Intersect: "INTERSECT"}


class _Rte:
    def __init__(self, label: str, refname: str, columns: list[tuple[str, T.SqlType]],
                 write: Callable[[Printer], None] | None = None) -> None:
        self.label = label          # how the FROM clause names the relation
        self.refname = refname      # how columns are qualified
        self.columns = dict(columns)
        self.order = [c for c, _ in columns]
        self.write = write          # a derived table prints its query

    def print(self, p: Printer) -> None:
        if self.write is not None:
            self.write(p)
        p.buf += self.label


class ViewPrinter:
    def __init__(self, ctx: Any, pretty: bool, outer: list[_Rte] | None = None) -> None:
        self.ctx = ctx
        self.pretty = pretty
        self.outer = outer or []    # enclosing queries' entries, for correlated subqueries
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

    def _derived(self, sub: exp.Subquery) -> _Rte:
        """A subquery in FROM: (query) alias, columns named by the query."""
        from aiondb.sql.bind_query import figure_colname
        alias = sub.args.get("alias")
        if alias is None or sub.args.get("lateral") or not isinstance(_unwrap(sub.this),
                                                                     exp.Select):
            raise X.Unsupported("derived table")
        sel = _unwrap(sub.this)
        names = [figure_colname(e) for e in sel.expressions]
        types = ViewPrinter(self.ctx, self.pretty, self.outer).query(
            Printer(self.pretty), sel, names, True)
        names = [c.name for c in alias.columns] + names[len(alias.columns):]

        def write(p: Printer) -> None:
            saved = p.indent
            p.buf += "("
            ViewPrinter(self.ctx, self.pretty, self.outer).query(p, sel, names, True)
            p.buf += ")"
            p.indent = saved
        label = " " + qi(alias.name)
        if alias.columns:
            label += "(" + ", ".join(qi(n) for n in names) + ")"
        return _Rte(label, alias.name, list(zip(names, types, strict=False)), write)

    def _from_item(self, item: exp.Expr) -> _Rte:
        if isinstance(item, exp.Table):
            return self._rte(item)
        if isinstance(item, exp.Subquery):
            return self._derived(item)
        raise X.Unsupported("FROM item")

    def resolve(self, qualifier: str | None, name: str) -> tuple[str | None, T.SqlType] | None:
        for level in (self.rtes, self.outer):
            found = [r for r in level if (qualifier is None or r.refname == qualifier)
                     and name in r.columns]
            if len(found) > 1:
                return None
            if found:
                return found[0].refname, found[0].columns[name]
        return None

    def subquery(self, sel: exp.Expr) -> tuple[Callable[[Any], None], T.SqlType]:
        from aiondb.sql.bind_query import figure_colname
        outer = self.rtes + self.outer
        first = _unwrap(sel)
        while type(first) in _SETOPS:
            first = _unwrap(first.this)
        # a subquery's columns keep the names the parser gave them (resname)
        names = [figure_colname(e) for e in first.expressions] \
            if isinstance(first, exp.Select) else []
        probe = ViewPrinter(self.ctx, self.pretty, outer)
        types = probe.query(Printer(self.pretty), sel, names, False)

        def write(p: Printer) -> None:
            saved = p.indent
            ViewPrinter(self.ctx, self.pretty, outer).query(p, sel, names, False)
            p.indent = saved
        return write, types[0] if types else X.UNKNOWN

    # --- queries ----------------------------------------------------------------------------
    def query(self, p: Printer, q: exp.Expr, colnames: list[str],
              names_visible: bool) -> list[T.SqlType]:
        """get_query_def: writes the query into `p`; returns its column types."""
        q = _unwrap(q)
        if type(q) in _SETOPS:
            return self._setop_query(p, q, colnames)
        if not isinstance(q, exp.Select) or q.args.get("with"):
            raise X.Unsupported("query shape")
        return self._select(p, q, colnames, names_visible)

    def _setop_query(self, p: Printer, q: exp.Expr, colnames: list[str]) -> list[T.SqlType]:
        types = self._setop(p, q, colnames, True)
        self._order_limit(p, None, q, colnames)
        return types

    def _setop(self, p: Printer, q: exp.Expr, colnames: list[str],
               visible: bool) -> list[T.SqlType]:
        """get_setop_query."""
        q = _unwrap(q)
        if type(q) not in _SETOPS:   # a leaf SELECT
            leaf_paren = any(q.args.get(k) for k in ("order", "limit", "offset", "with"))
            p.buf += "(" if leaf_paren else ""
            saved = p.indent   # the leaf has its own context, as in get_query_def
            types = ViewPrinter(self.ctx, self.pretty, self.outer).query(p, q, colnames,
                                                                        visible)
            p.indent = saved
            p.buf += ")" if leaf_paren else ""
            return types
        left, right = _unwrap(q.this), _unwrap(q.expression)
        kind, all_ = _SETOPS[type(q)], not q.args.get("distinct")
        paren = type(left) in _SETOPS and (type(left) is not type(q) or
                                           (not left.args.get("distinct")) != all_)
        sub = PRETTYINDENT_STD if paren else 0
        if paren:
            p.buf += "("
            p.keyword("", sub, 0, 0)
        types = self._setop(p, left, colnames, visible)
        p.keyword(") " if paren else "", -sub, 0, 0)
        p.buf += kind + " " + ("ALL " if all_ else "")
        paren = type(right) in _SETOPS
        sub = PRETTYINDENT_STD if paren else 0
        p.buf += "(" if paren else ""
        p.keyword("", sub, 0, 0)
        self._setop(p, right, colnames, False)
        p.indent -= sub
        if paren:
            p.keyword(")", 0, 0, 0)
        return types

    def _select(self, p: Printer, sel: exp.Select, colnames: list[str],
                names_visible: bool) -> list[T.SqlType]:
        from_ = sel.args.get("from") or sel.args.get("from_")
        # FROM items: each a first relation and the joins hanging off it
        groups: list[tuple[_Rte, list[tuple[exp.Join, _Rte]]]] = []
        joins_after = list(sel.args.get("joins") or [])
        if from_ is not None:
            first = from_.this
            # FROM (a JOIN b ON ...), as PostgreSQL prints joins (and so a
            # restored dump's views read): the same join tree as FROM a JOIN b
            while isinstance(first, exp.Subquery) and not first.args.get("alias") and \
                    isinstance(first.this, exp.Table) and first.this.args.get("joins"):
                inner = first.this.copy()
                joins_after = list(inner.args.get("joins") or []) + joins_after
                inner.set("joins", None)
                first = inner
            groups.append((self._from_item(first), []))
        for j in joins_after:
            rte = self._from_item(j.this)
            if _is_comma(j):
                groups.append((rte, []))
            else:
                groups[-1][1].append((j, rte))
        self.rtes = [r for first, joins in groups for r in [first] + [r for _, r in joins]]
        an = Analyzer(self.resolve, self.subquery)
        p.indent += PRETTYINDENT_STD
        p.buf += " SELECT"
        if sel.args.get("distinct") is not None:
            p.buf += " DISTINCT"
        types = self._targets(p, an, sel, colnames, names_visible)
        for i, (first, joins) in enumerate(groups):
            if i == 0:
                p.keyword(" FROM ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 2)
            else:   # wrap column 0: each further FROM item on a new line
                p.buf += ", "
                p.keyword("", -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_VAR)
            if not self.pretty:   # each join of the left-deep tree is parenthesized
                p.buf += "(" * len(joins)
            first.print(p)
            for j, rte in joins:
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
                p.sortgroup(an.expr(self._by_position(sel, g)))
        having = sel.args.get("having")
        if having is not None:
            p.keyword(" HAVING ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
            p.expr(an.expr(having.this), False)
        self._order_limit(p, an, sel)
        return types

    def _targets(self, p: Printer, an: Analyzer, sel: exp.Select, colnames: list[str],
                 names_visible: bool) -> list[T.SqlType]:
        """get_target_list, with wrap column 0: each further target on a new line."""
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
        for i, (node, own) in enumerate(targets):
            p.buf += ", " if i else " "
            sub = Printer(self.pretty, p.indent)
            sub.expr(node, True)
            colname = colnames[i] if i < len(colnames) else own
            attname = node.name if isinstance(node, X.Var) else (
                None if names_visible else "?column?")
            if colname and attname != colname:
                sub.buf += " AS " + qi(colname)
            text = sub.buf
            if text.startswith("\n"):
                p.buf = p.buf.rstrip(" ")
            elif i > 0:
                p.keyword("", -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_VAR)
            p.buf += text
        return [n.type for n, _ in targets]

    def _join(self, p: Printer, an: Analyzer, j: exp.Join, rte: _Rte) -> None:
        side = (j.side or "").upper()
        on, using = j.args.get("on"), j.args.get("using")
        word = _JOIN_WORDS.get(side, " JOIN " if on is not None or using else " CROSS JOIN ")
        if (j.kind or "").upper() == "CROSS":
            word = " CROSS JOIN "
        p.keyword(word, -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_JOIN)
        rte.print(p)
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

    def _order_limit(self, p: Printer, an: Analyzer | None, q: exp.Expr,
                     colnames: list[str] | None = None) -> None:
        order = q.args.get("order")
        if order is not None:
            p.keyword(" ORDER BY ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
            items = []
            for o in order.expressions:
                if an is None:   # a set operation's ORDER BY prints column numbers
                    target = o.this
                    node: X.Node = X.Raw(target.this if isinstance(target, exp.Literal)
                                         else str((colnames or []).index(target.name) + 1))
                else:
                    node = an.expr(self._by_position(q, o.this))
                items.append((node, bool(o.args.get("desc")), o.args.get("nulls_first")))
            p.orderby(items)
        limit, offset = q.args.get("limit"), q.args.get("offset")
        lim_an = an or Analyzer(lambda q, n: None)
        if offset is not None:
            p.keyword(" OFFSET ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
            p.expr(lim_an.expr(offset.expression), False)
        if limit is not None:
            p.keyword(" LIMIT ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
            p.expr(lim_an.expr(limit.expression), False)


def _is_comma(j: exp.Join) -> bool:
    """`FROM a, b`: sqlglot keeps b as a join with no kind, side or condition."""
    return not (j.kind or j.side or j.args.get("on") or j.args.get("using"))


def _unwrap(q: exp.Expr) -> exp.Expr:
    """(SELECT ...) and (a UNION b) as written are the query itself."""
    while isinstance(q, exp.Subquery) and not q.args.get("alias") and not any(
            q.args.get(k) for k in ("order", "limit", "offset")):
        q = q.this
    return q


def view_query_text(ctx: Any, sql: str, colnames: list[str], pretty: bool) -> str:
    """The view's query as pg_get_viewdef prints it, without the ';'."""
    try:
        q = sqlglot.parse_one(sql, read=AionDB)
        p = Printer(pretty)
        ViewPrinter(ctx, pretty).query(p, q, colnames, True)
        return p.buf
    except (X.Unsupported, sqlglot.errors.ParseError, KeyError, IndexError, ValueError,
            errors.DatabaseError):
        # what the printer does not model (WITH, for one): the stored text,
        # whose relations are qualified (view_names.py), so it reads the same
        return " " + sql
