"""Print exprtree nodes as PostgreSQL 15's ruleutils.c prints expressions:
the same parentheses (every operator wrapped unless pretty, isSimpleNode
rules when pretty), implicit casts shown below the top level, constants
labelled with their type, CASE laid out on indented lines when pretty."""

from __future__ import annotations

import re

from sqlglot import exp

from aiondb import types as T
from aiondb.sql.pg_catalog import exprtree as X

PRETTYINDENT_STD = 8
PRETTYINDENT_VAR = 4
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_$]*$")
# PostgreSQL 15's keywords that are not unreserved: quote_identifier quotes them
_RESERVED = frozenset("""all analyse analyze and any array as asc asymmetric authorization
between bigint binary bit boolean both case cast char character check coalesce collate
collation column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user dec decimal default
deferrable desc distinct do else end except exists extract false fetch float for foreign
freeze from full grant greatest group grouping having ilike in initially inner inout int
integer intersect interval into is isnull join lateral leading least left like limit
localtime localtimestamp national natural nchar none normalize not notnull null nullif
numeric offset on only or order out outer overlaps overlay placing position precision
primary real references returning right row select session_user setof similar smallint
some substring symmetric table tablesample then time timestamp to trailing treat trim true
union unique user using values varchar variadic verbose when where window with
xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot
xmlserialize xmltable""".split())


def quote_ident(name: str) -> str:
    if _IDENT_RE.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def type_label(t: T.SqlType) -> str:
    """format_type_with_typemod: bpchar without a length is "bpchar", since
    "character" would mean character(1)."""
    if t.oid == T.BPCHAR.oid and t.typmod == -1:
        return "bpchar"
    if t.elem is not None and t.elem.oid == T.BPCHAR.oid and t.typmod == -1:
        return "bpchar[]"
    return t.sql_name()


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tag(n: X.Node | None) -> str:
    """PostgreSQL's node tag for the parenthesisation rules."""
    if isinstance(n, X.Coerce):
        return "FuncExpr" if n.kind == "func" else "RelabelType"
    if isinstance(n, X.Func):
        return "Aggref" if n.agg else "FuncExpr"
    return {X.Op: "OpExpr", X.BoolExpr: "BoolExpr", X.Test: "NullTest",
            X.Distinct: "DistinctExpr", X.ArrayOp: "ScalarArrayOpExpr",
            X.ArrayExpr: "ArrayExpr", X.Case: "CaseExpr", X.Coalesce: "CoalesceExpr",
            X.SqlSyntax: "FuncExpr", X.Subscript: "SubscriptingRef"}.get(type(n), "Other")


def _is_cast_parent(p: X.Node | None) -> bool:
    return isinstance(p, (X.Coerce, X.SqlSyntax))


_OWN_PARENS = ("BoolExpr", "SubscriptingRef", "ArrayExpr", "CoalesceExpr", "Aggref",
               "CaseExpr")


def is_simple(n: X.Node, parent: X.Node | None) -> bool:
    """ruleutils.c's isSimpleNode, for pretty printing."""
    if isinstance(n, (X.Var, X.Const, X.SqlValue, X.Raw, X.ArrayExpr, X.Coalesce, X.Func,
                      X.SqlSyntax, X.Case, X.Subscript, X.Window)):
        return True
    if isinstance(n, X.Coerce):
        return True if n.kind == "func" else is_simple(n.arg, n)
    if isinstance(n, X.Op) and isinstance(parent, X.Op):
        op, pop = n.op, parent.op
        lo, hi = op[0] in "+-", op[0] in "*/%"
        plo, phi = pop[0] in "+-", pop[0] in "*/%"
        if n.left is None or parent.left is None or not (lo or hi) or not (plo or phi):
            return False
        if hi and plo:
            return True
        if lo and phi:
            return False
        return n is parent.left
    if isinstance(n, (X.Op, X.Test, X.Distinct, X.SubLink)):
        tag = _tag(parent)
        if tag == "FuncExpr":
            return not _is_cast_parent(parent)
        return tag in _OWN_PARENS
    if isinstance(n, X.BoolExpr):
        if isinstance(parent, X.BoolExpr):
            if n.kind in ("NOT", "AND"):
                return parent.kind in ("AND", "OR")
            return parent.kind == "OR"
        tag = _tag(parent)
        if tag == "FuncExpr":
            return not _is_cast_parent(parent)
        return tag in _OWN_PARENS[1:]
    return False


class Printer:
    """Writes into one buffer, as ruleutils does, because pretty layout
    (appendContextKeyword) edits what is already written."""

    def __init__(self, pretty: bool, indent: int = 0) -> None:
        # `pretty` is PRETTYFLAG_PAREN (fewer parentheses). PRETTYFLAG_INDENT is
        # always on: PostgreSQL sets it for pg_get_expr & co. even when not pretty.
        self.pretty = pretty
        self.indent = indent
        self.buf = ""

    def keyword(self, text: str, before: int, after: int, plus: int) -> None:
        """appendContextKeyword."""
        self.indent += before
        self.buf = self.buf.rstrip(" ") + "\n" + " " * (max(self.indent, 0) + plus)
        self.buf += text
        self.indent = max(self.indent + after, 0)

    def open(self) -> None:
        if not self.pretty:
            self.buf += "("

    def close(self) -> None:
        if not self.pretty:
            self.buf += ")"

    def paren(self, n: X.Node, showimplicit: bool, parent: X.Node) -> None:
        """get_rule_expr_paren."""
        need = self.pretty and not is_simple(n, parent)
        if need:
            self.buf += "("
        self.expr(n, showimplicit)
        if need:
            self.buf += ")"

    def expr(self, n: X.Node, showimplicit: bool = False) -> None:
        getattr(self, "_" + type(n).__name__.lower())(n, showimplicit)

    def _var(self, n: X.Var, s: bool) -> None:
        if n.qualifier:
            self.buf += quote_ident(n.qualifier) + "."
        self.buf += quote_ident(n.name)

    def _raw(self, n: X.Raw, s: bool) -> None:
        self.buf += n.text

    def _const(self, n: X.Const, s: bool, showtype: int = 0) -> None:
        t = n.type
        if n.text is None:
            self.buf += "NULL"
            if showtype >= 0 and t.oid != X.UNKNOWN.oid:
                self.buf += "::" + type_label(t)
            return
        label = False
        if t.oid == T.INT4.oid:
            if n.text.startswith("-"):
                self.buf += quote_literal(n.text)
                label = True
            else:
                self.buf += n.text
        elif t.oid == T.NUMERIC.oid:
            if n.text[:1].isdigit() and any(c in n.text for c in ".eE"):
                self.buf += n.text
            else:
                self.buf += quote_literal(n.text)
                label = True
        elif t.oid == T.BOOL.oid:
            self.buf += "true" if n.text in ("t", "true") else "false"
        else:
            self.buf += quote_literal(n.text)
        if showtype < 0:
            return
        if t.oid in (T.BOOL.oid, X.UNKNOWN.oid):
            label = False
        elif t.oid == T.NUMERIC.oid:
            label = label or t.typmod >= 0
        elif t.oid != T.INT4.oid:
            label = True
        if label or showtype > 0:
            self.buf += "::" + type_label(t)

    def _coerce(self, n: X.Coerce, showimplicit: bool) -> None:
        if not n.explicit and not showimplicit:
            self.paren(n.arg, False, n)
            return
        arg = n.arg
        if isinstance(arg, X.Const) and arg.type.oid == n.type.oid and arg.type.typmod == -1:
            self._const(arg, False, -1)
        else:
            self.open()
            self.paren(arg, False, n)
            self.close()
        self.buf += "::" + type_label(n.type)

    def _op(self, n: X.Op, s: bool) -> None:
        self.open()
        if n.left is not None:
            self.paren(n.left, True, n)
            self.buf += f" {n.op} "
        else:
            self.buf += f"{n.op} "
        self.paren(n.right, True, n)
        self.close()

    def _boolexpr(self, n: X.BoolExpr, s: bool) -> None:
        self.open()
        if n.kind == "NOT":
            self.buf += "NOT "
            self.paren(n.args[0], False, n)
        else:
            for i, a in enumerate(n.args):
                if i:
                    self.buf += f" {n.kind} "
                self.paren(a, False, n)
        self.close()

    def _test(self, n: X.Test, s: bool) -> None:
        self.open()
        self.paren(n.arg, True, n)
        self.buf += " " + n.what
        self.close()

    def _distinct(self, n: X.Distinct, s: bool) -> None:
        self.open()
        self.paren(n.left, True, n)
        self.buf += " IS DISTINCT FROM "
        self.paren(n.right, True, n)
        self.close()

    def _arrayop(self, n: X.ArrayOp, s: bool) -> None:
        self.open()
        self.paren(n.left, True, n)
        self.buf += f" {n.op} {'ANY' if n.use_or else 'ALL'} ("
        self.paren(n.right, True, n)
        self.buf += ")"
        self.close()

    def _list(self, items: list[X.Node], showimplicit: bool = True) -> None:
        for i, a in enumerate(items):
            if i:
                self.buf += ", "
            self.expr(a, showimplicit)

    def _arrayexpr(self, n: X.ArrayExpr, s: bool) -> None:
        self.buf += "ARRAY["
        self._list(n.elems)
        self.buf += "]"
        if not n.elems:
            self.buf += "::" + type_label(n.type)

    def _coalesce(self, n: X.Coalesce, s: bool) -> None:
        self.buf += n.name + "("
        self._list(n.args)
        self.buf += ")"

    def _sqlvalue(self, n: X.SqlValue, s: bool) -> None:
        self.buf += n.keyword

    def _func(self, n: X.Func, s: bool) -> None:
        self.buf += quote_ident(n.name) + "("
        if n.star:
            self.buf += "*"
        if n.distinct:
            self.buf += "DISTINCT "
        self._list(n.args)
        self.buf += ")"
        if n.agg_filter is not None:
            self.buf += " FILTER (WHERE "
            self.expr(n.agg_filter, False)
            self.buf += ")"

    def _sqlsyntax(self, n: X.SqlSyntax, s: bool) -> None:
        parts = []
        for a in n.args:
            sub = Printer(self.pretty, self.indent)
            sub.expr(a, False)
            parts.append(sub.buf)
        self.buf += n.template.format(*parts)

    def _subscript(self, n: X.Subscript, s: bool) -> None:
        need = not isinstance(n.arg, (X.Var, X.Func))
        self.buf += "(" if need else ""
        self.expr(n.arg, True)
        self.buf += ")" if need else ""
        for i in n.index:
            self.buf += "["
            self.expr(i, False)
            self.buf += "]"

    def sortgroup(self, node: X.Node) -> None:
        """get_rule_sortgroupclause: parentheses keep an expression from being
        read as a column number or a grouping construct."""
        if isinstance(node, X.Const):
            self._const(node, True, 1)
        elif isinstance(node, (X.Var, X.Raw)):
            self.expr(node, True)
        else:
            paren = self.pretty or isinstance(node, (X.Func, X.Window))
            self.buf += "(" if paren else ""
            self.expr(node, True)
            self.buf += ")" if paren else ""

    def orderby(self, items: list[tuple[X.Node, bool, bool | None]]) -> None:
        for i, (node, desc, nulls_first) in enumerate(items):
            self.buf += ", " if i else ""
            self.sortgroup(node)
            self.buf += " DESC" if desc else ""
            if nulls_first is not None and bool(nulls_first) != desc:
                self.buf += " NULLS FIRST" if nulls_first else " NULLS LAST"

    def _window(self, n: X.Window, s: bool) -> None:
        self.expr(n.func, True)
        self.buf += " OVER ("
        parts = 0
        if n.partition:
            self.buf += "PARTITION BY "
            for i, x in enumerate(n.partition):
                self.buf += ", " if i else ""
                self.sortgroup(x)
            parts += 1
        if n.order:
            self.buf += " " if parts else ""
            self.buf += "ORDER BY "
            self.orderby(n.order)
            parts += 1
        if n.frame:
            self.buf += (" " if parts else "") + n.frame
        self.buf += ")"

    def _sublink(self, n: X.SubLink, s: bool) -> None:
        """get_sublink_expr."""
        self.buf += "("
        if n.test is not None:
            self.expr(n.test, True)
            self.buf += " IN " if n.op == "=" else f" {n.op} ANY "
        if n.kind != "EXPR":
            self.buf += "EXISTS (" if n.kind == "EXISTS" else "("
        n.query(self)
        self.buf += "))" if n.kind != "EXPR" else ")"

    def _case(self, n: X.Case, s: bool) -> None:
        self.keyword("CASE", 0, PRETTYINDENT_VAR, 0)
        if n.arg is not None:
            self.buf += " "
            self.expr(n.arg, True)
        for cond, result in n.whens:
            self.keyword("WHEN ", 0, 0, 0)
            if n.arg is not None and isinstance(cond, X.Op):
                cond = cond.right
            self.expr(cond, False)
            self.buf += " THEN "
            self.expr(result, True)
        self.keyword("ELSE ", 0, 0, 0)
        self.expr(n.default if n.default is not None else X.Const(None, type=n.type), True)
        self.keyword("END", -PRETTYINDENT_VAR, 0, 0)


def print_expr(n: X.Node, pretty: bool) -> str:
    p = Printer(pretty)
    p.expr(n, False)
    return p.buf


def referenced_columns(text: str) -> set[str]:
    """Column names an expression's text mentions (constraint_column_usage)."""
    from aiondb.sql.pg_catalog.functions import parse_expression
    try:
        node = parse_expression(text)
    except Exception:   # noqa: BLE001 - unparsable text references nothing we can name
        return set()
    return {c.name for c in node.find_all(exp.Column)}
