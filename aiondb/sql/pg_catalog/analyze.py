"""Parse analysis, PostgreSQL's way, of the SQL text we store for defaults,
CHECK constraints and views: sqlglot syntax → exprtree nodes with types,
folded literals and implicit casts."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql.pg_catalog import exprtree as X

# column name (with optional qualifier) → (qualifier to print, type)
Resolver = Callable[[str | None, str], tuple[str | None, T.SqlType] | None]

_BINARY = {
    exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.Pow: "^",
    exp.DPipe: "||", exp.Like: "~~", exp.ILike: "~~*", exp.RegexpLike: "~",
    exp.RegexpILike: "~*", exp.ArrayContainsAll: "@>", exp.ArrayContainedBy: "<@",
    exp.ArrayOverlaps: "&&", exp.BitwiseAnd: "&", exp.BitwiseOr: "|",
    exp.BitwiseXor: "#", exp.JSONBContainsTopKey: "?",
}
_NEGATED = {"~~": "!~~", "~~*": "!~~*", "~": "!~", "~*": "!~*"}
_SQL_VALUES = {exp.CurrentTimestamp: ("CURRENT_TIMESTAMP", T.TIMESTAMPTZ),
               exp.CurrentDate: ("CURRENT_DATE", T.DATE),
               exp.CurrentTime: ("CURRENT_TIME", T.TIME),
               exp.Localtimestamp: ("LOCALTIMESTAMP", T.TIMESTAMP),
               exp.CurrentUser: ("CURRENT_USER", T.NAME),
               exp.SessionUser: ("SESSION_USER", T.NAME),
               exp.CurrentSchema: ("CURRENT_SCHEMA", T.NAME),
               exp.CurrentCatalog: ("CURRENT_CATALOG", T.NAME)}
_AGGREGATES = ("count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every",
               "string_agg", "array_agg", "json_agg", "jsonb_agg", "stddev", "variance")
_INT_RE = re.compile(r"^\d+$")


# a subquery → (printer of the subquery, its first column's type)
Subquery = Callable[[exp.Expr], tuple[Callable[[object], None], T.SqlType]]


class Analyzer:
    def __init__(self, resolve: Resolver, subquery: Subquery | None = None) -> None:
        self.resolve = resolve
        self.subquery = subquery

    def _sublink(self, kind: str, query: exp.Expr, test: X.Node | None = None,
                 op: str = "=") -> X.Node:
        if self.subquery is None:
            raise X.Unsupported("subquery")
        printer, t = self.subquery(query)
        return X.SubLink(kind, printer, test, op, type=t if kind == "EXPR" else T.BOOL)

    def _exists(self, e: exp.Exists) -> X.Node:
        return self._sublink("EXISTS", e.this)

    def _subquery(self, e: exp.Subquery) -> X.Node:
        return self._sublink("EXPR", e.this)

    def expr(self, e: exp.Expr) -> X.Node:
        method = getattr(self, "_" + type(e).__name__.lower(), None)
        if method is not None:
            return method(e)
        cls = type(e)
        if cls in _BINARY:
            op = _BINARY[cls]
            if e.args.get("negate"):
                op = _NEGATED.get(op, op)
            return self.binary(op, e.this, e.expression)
        if cls in _SQL_VALUES:
            kw, t = _SQL_VALUES[cls]
            prec = e.this if cls in (exp.CurrentTimestamp, exp.CurrentTime) else None
            if isinstance(prec, exp.Literal):
                kw = f"{kw}({prec.this})"
            return X.SqlValue(kw, type=t)
        raise X.Unsupported(type(e).__name__)

    # --- leaves ---------------------------------------------------------------------------------------
    def _paren(self, e: exp.Paren) -> X.Node:
        return self.expr(e.this)

    def _column(self, e: exp.Column) -> X.Node:
        if isinstance(e.this, exp.Star):
            raise X.Unsupported("star")
        found = self.resolve(e.table or None, e.name)
        if found is None:
            raise X.Unsupported(f"column {e.name}")
        qualifier, t = found
        return X.Var(e.name, qualifier, type=t)

    def _literal(self, e: exp.Literal) -> X.Node:
        text = e.this
        if e.is_string:
            return X.Const(text, type=X.UNKNOWN)
        return X.Const(text, type=_number_type(text))

    def _boolean(self, e: exp.Boolean) -> X.Node:
        return X.Const("true" if e.this else "false", type=T.BOOL)

    def _null(self, e: exp.Null) -> X.Node:
        return X.Const(None, type=X.UNKNOWN)

    def _neg(self, e: exp.Neg) -> X.Node:
        inner = e.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return X.Const("-" + inner.this, type=_number_type(inner.this))
        arg = self.expr(inner)
        return X.Op("-", None, arg, type=arg.type)

    def _interval(self, e: exp.Interval) -> X.Node:
        from aiondb.sql.textio import format_text, parse_text
        unit = e.args.get("unit")
        text = e.this.this if isinstance(e.this, exp.Literal) else e.this.sql()
        if unit is not None:
            text = f"{text} {unit.name}"
        try:
            text = format_text(T.INTERVAL, parse_text(T.INTERVAL, text.lower()))
        except errors.DatabaseError:
            pass
        return X.Const(text, type=T.INTERVAL)

    # --- casts ----------------------------------------------------------------------------------------
    def _cast(self, e: exp.Cast) -> X.Node:
        from aiondb.sql.binder import resolve_type
        try:
            target = resolve_type(e.args["to"])
        except errors.DatabaseError as err:
            raise X.Unsupported("type") from err
        return X.coerce(self.expr(e.this), target, explicit=True)

    # --- operators ------------------------------------------------------------------------------------
    def binary(self, op: str, a: exp.Expr, b: exp.Expr) -> X.Node:
        if isinstance(b, exp.Any) or isinstance(b, exp.All):
            return self._array_op(op, a, b)
        left, right, t = X.resolve_binary(op, self.expr(a), self.expr(b))
        return X.Op(op, left, right, type=t)

    def _pgoperator(self, e: exp.Expr) -> X.Node:
        return self.binary(e.args["op"], e.this, e.expression)

    def _array_op(self, op: str, a: exp.Expr, b: exp.Expr) -> X.Node:
        left = self.expr(a)
        arr = self.expr(b.this)
        if isinstance(arr, X.ArrayExpr) and left.type.oid != X.UNKNOWN.oid:
            elems = [X.coerce(x, left.type.base) for x in arr.elems]
            arr = X.ArrayExpr(elems, type=left.type.base.array_of())
        left, arr = _as_text_array(left, arr)
        return X.ArrayOp(op, isinstance(b, exp.Any), left, arr, type=T.BOOL)

    def _and(self, e: exp.Expr) -> X.Node:
        return self._bool("AND", e, exp.And)

    def _or(self, e: exp.Expr) -> X.Node:
        return self._bool("OR", e, exp.Or)

    def _bool(self, kind: str, e: exp.Expr, cls: type) -> X.Node:
        args: list[X.Node] = []
        for part in (e.this, e.expression):
            if isinstance(part, cls):   # a AND b AND c is one node, as in PostgreSQL
                args.extend(self._bool(kind, part, cls).args)
            else:
                args.append(X.coerce(self.expr(part), T.BOOL))
        return X.BoolExpr(kind, args, type=T.BOOL)

    def _not(self, e: exp.Not) -> X.Node:
        inner = e.this
        if isinstance(inner, exp.In):
            return self._in(inner, negate=True)
        if isinstance(inner, exp.Between):
            return self._between(inner, negate=True)
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Boolean):
            return X.Test(self.expr(inner.this),
                          "IS NOT " + ("TRUE" if inner.expression.this else "FALSE"),
                          type=T.BOOL)
        return X.BoolExpr("NOT", [X.coerce(self.expr(inner), T.BOOL)], type=T.BOOL)

    def _between(self, e: exp.Between, negate: bool = False) -> X.Node:
        lo = self.binary("<" if negate else ">=", e.this, e.args["low"])
        hi = self.binary(">" if negate else "<=", e.this, e.args["high"])
        return X.BoolExpr("OR" if negate else "AND", [lo, hi], type=T.BOOL)

    def _in(self, e: exp.In, negate: bool = False) -> X.Node:
        query = e.args.get("query")
        if query is not None:
            node = self._sublink("ANY", query.this if isinstance(query, exp.Subquery)
                                 else query, self.expr(e.this))
            return X.BoolExpr("NOT", [node], type=T.BOOL) if negate else node
        if not e.expressions:
            raise X.Unsupported("IN ()")
        op = "<>" if negate else "="
        if len(e.expressions) == 1:
            return self.binary(op, e.this, e.expressions[0])
        left = self.expr(e.this)
        elems = [self.expr(x) for x in e.expressions]
        t = X.common_type([left.type] + [x.type for x in elems])
        arr = X.ArrayExpr([X.coerce(x, t) for x in elems], type=t.array_of())
        left, arr = _as_text_array(X.coerce(left, t), arr)
        return X.ArrayOp(op, not negate, left, arr, type=T.BOOL)

    def _is(self, e: exp.Is) -> X.Node:
        what = e.expression
        neg = " NOT" if e.args.get("negate") else ""
        if isinstance(what, exp.Null):
            return X.Test(self.expr(e.this), f"IS{neg} NULL", type=T.BOOL)
        if isinstance(what, exp.Boolean):
            return X.Test(self.expr(e.this), f"IS{neg} {'TRUE' if what.this else 'FALSE'}",
                          type=T.BOOL)
        raise X.Unsupported("IS")

    def _nullsafeneq(self, e: exp.Expr) -> X.Node:
        left, right, _ = X.resolve_binary("=", self.expr(e.this), self.expr(e.expression))
        return X.Distinct(left, right, type=T.BOOL)

    def _nullsafeeq(self, e: exp.Expr) -> X.Node:
        return X.BoolExpr("NOT", [self._nullsafeneq(e)], type=T.BOOL)

    # --- conditionals and functions -------------------------------------------------------------------
    def _case(self, e: exp.Case) -> X.Node:
        arg = self.expr(e.this) if e.this is not None else None
        conds, results = [], []
        for w in e.args.get("ifs") or []:
            c = self.expr(w.this)
            if arg is not None:
                _, c, _ = X.resolve_binary("=", arg, c)
            conds.append(c if arg is not None else X.coerce(c, T.BOOL))
            results.append(self.expr(w.args["true"]))
        default = self.expr(e.args["default"]) if e.args.get("default") is not None else None
        t = X.common_type([r.type for r in results] + ([default.type] if default else []))
        results = [X.coerce(r, t) for r in results]
        if default is not None:
            default = X.coerce(default, t)
        return X.Case(arg, list(zip(conds, results, strict=True)), default, type=t)

    def _dot(self, e: exp.Dot) -> X.Node:
        if isinstance(e.this, exp.Identifier) and e.this.name == "pg_catalog":
            return self.expr(e.expression)
        raise X.Unsupported("qualified name")

    def _anonymous(self, e: exp.Anonymous) -> X.Node:
        name = e.name.lower()
        raw = list(e.expressions)
        if name in ("coalesce", "greatest", "least", "nullif"):
            args = [self.expr(a) for a in raw]
            t = X.common_type([a.type for a in args])
            if name == "nullif":
                left, right, _ = X.resolve_binary("=", args[0], args[1])
                return X.Coalesce("NULLIF", [left, right], type=left.type)
            return X.Coalesce(name.upper(), [X.coerce(a, t) for a in args], type=t)
        distinct = len(raw) == 1 and isinstance(raw[0], exp.Distinct)
        if distinct:
            raw = list(raw[0].expressions)
        star = len(raw) == 1 and isinstance(raw[0], exp.Star)
        args = [] if star else [self.expr(a) for a in raw]
        args, ret = X.function_type(name, args)
        if name in _AGGREGATES:
            ret = _aggregate_type(name, args, star)
        return X.Func(name, args, star=star, distinct=distinct, agg=name in _AGGREGATES,
                      type=ret)

    def _filter(self, e: exp.Filter) -> X.Node:
        f = self.expr(e.this)
        if not isinstance(f, X.Func):
            raise X.Unsupported("FILTER")
        f.agg_filter = self.expr(e.expression.this)
        return f

    def _window(self, e: exp.Window) -> X.Node:
        if e.args.get("alias") is not None or not isinstance(e.this, exp.Anonymous):
            raise X.Unsupported("named window")
        func = self.expr(e.this)
        if func.type.oid == X.UNKNOWN.oid:
            func.type = _WINDOW_TYPES.get(e.this.name.lower(), X.UNKNOWN)
        order = e.args.get("order")
        items = [(self.expr(o.this), bool(o.args.get("desc")), o.args.get("nulls_first"))
                 for o in (order.expressions if order is not None else [])]
        return X.Window(func, [self.expr(x) for x in e.args.get("partition_by") or []],
                        items, _frame(e.args.get("spec")), type=func.type)

    def _array(self, e: exp.Array) -> X.Node:
        elems = [self.expr(x) for x in e.expressions]
        t = X.common_type([x.type for x in elems])
        return X.ArrayExpr([X.coerce(x, t) for x in elems], type=t.array_of())

    def _bracket(self, e: exp.Bracket) -> X.Node:
        arg = self.expr(e.this)
        idx = [X.coerce(self.expr(i), T.INT4) for i in e.expressions]
        return X.Subscript(arg, idx, type=arg.type.elem or X.UNKNOWN)

    def _extract(self, e: exp.Extract) -> X.Node:
        field = e.this.name.lower()
        return X.SqlSyntax(f"EXTRACT({field} FROM {{0}})", [self.expr(e.expression)],
                           type=T.NUMERIC)

    def _trim(self, e: exp.Trim) -> X.Node:
        where = (e.args.get("position") or "BOTH").upper()
        args = [X.coerce(self.expr(e.this), T.TEXT)]
        chars = e.expression
        if chars is not None:
            args.append(X.coerce(self.expr(chars), T.TEXT))
            return X.SqlSyntax(f"TRIM({where} {{1}} FROM {{0}})", args, type=T.TEXT)
        return X.SqlSyntax(f"TRIM({where} FROM {{0}})", args, type=T.TEXT)

    def _substring(self, e: exp.Substring) -> X.Node:
        args = [X.coerce(self.expr(e.this), T.TEXT)]
        tmpl = "SUBSTRING({0}"
        for key, word in (("start", "FROM"), ("length", "FOR")):
            if e.args.get(key) is not None:
                tmpl += f" {word} {{{len(args)}}}"
                args.append(X.coerce(self.expr(e.args[key]), T.INT4))
        return X.SqlSyntax(tmpl + ")", args, type=T.TEXT)

    def _strposition(self, e: exp.StrPosition) -> X.Node:
        args = [X.coerce(self.expr(e.args["substr"]), T.TEXT),
                X.coerce(self.expr(e.this), T.TEXT)]
        return X.SqlSyntax("POSITION(({0}) IN ({1}))", args, type=T.INT4)

    def _attimezone(self, e: exp.AtTimeZone) -> X.Node:
        arg = self.expr(e.this)
        zone = X.coerce(self.expr(e.args["zone"]), T.TEXT)
        t = T.TIMESTAMP if arg.type.oid == T.TIMESTAMPTZ.oid else T.TIMESTAMPTZ
        return X.SqlSyntax("({0} AT TIME ZONE {1})", [arg, zone], type=t)


def _as_text_array(left: X.Node, arr: X.Node) -> tuple[X.Node, X.Node]:
    """varchar has no operators: `v = ANY (varchar[])` runs as text = ANY
    (text[]), with both sides relabelled."""
    if left.type.oid != T.VARCHAR.oid:
        return left, arr
    return (X.coerce(left, T.TEXT),
            X.Coerce(arr, False, "relabel", type=T.TEXT.array_of()))


_WINDOW_TYPES = {"row_number": T.INT8, "rank": T.INT8, "dense_rank": T.INT8,
                 "ntile": T.INT4, "percent_rank": T.FLOAT8, "cume_dist": T.FLOAT8}


def _frame(spec: exp.Expr | None) -> str:
    """A window frame in PostgreSQL's spelling ('' for the default)."""
    if spec is None or not spec.args.get("kind"):
        return ""

    def bound(value: object, side: object) -> str:
        v = value.sql() if isinstance(value, exp.Expr) else str(value)
        return v.upper() if v.upper() in ("CURRENT ROW",) else f"{v} {str(side).upper()}"
    text = str(spec.args["kind"]).upper() + " "
    start = bound(spec.args.get("start"), spec.args.get("start_side"))
    if spec.args.get("end") is not None:
        end = bound(spec.args.get("end"), spec.args.get("end_side"))
        return text + f"BETWEEN {start} AND {end}"
    return text + start


def _number_type(text: str) -> T.SqlType:
    if _INT_RE.match(text):
        v = int(text)
        if v <= 2147483647:
            return T.INT4
        if v <= 9223372036854775807:
            return T.INT8
    return T.NUMERIC


def _aggregate_type(name: str, args: list[X.Node], star: bool) -> T.SqlType:
    if name == "count":
        return T.INT8
    if not args:
        return X.UNKNOWN
    t = args[0].type
    if name == "sum":
        return {T.INT2.oid: T.INT8, T.INT4.oid: T.INT8, T.INT8.oid: T.NUMERIC,
                T.FLOAT4.oid: T.FLOAT4}.get(t.oid, t.base)
    if name == "avg":
        return T.FLOAT8 if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid) else T.NUMERIC
    if name in ("bool_and", "bool_or", "every"):
        return T.BOOL
    if name == "string_agg":
        return T.TEXT
    if name == "array_agg":
        return t.base.array_of()
    if name in ("json_agg", "jsonb_agg"):
        return T.JSON if name == "json_agg" else T.JSONB
    return t.base
