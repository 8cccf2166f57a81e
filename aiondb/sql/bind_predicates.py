"""Binding of predicates and operators: NOT/AND/OR, binary and PostgreSQL
operators, LIKE/SIMILAR TO with ESCAPE, IS [NOT] NULL/TRUE/DISTINCT FROM,
BETWEEN, IN, quantified comparisons (ANY/ALL over arrays and subqueries),
row comparisons, and subquery expressions (scalar, EXISTS, IN).

A mixin of Binder (binder.py)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import casts
from aiondb.sql.dialect import AionDB, PgOperator
from aiondb.sql.expr import (
    BoolOp,
    Call,
    Const,
    Expr,
    InList,
    IsBool,
    IsNull,
    Not,
    RowCtor,
    SubqueryExpr,
)
from aiondb.sql.scope import Scope

# sqlglot classes that are binary operators, by their PostgreSQL spelling
_BINARY_OPS: dict[type, str] = {
    exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.Pow: "^",
    exp.DPipe: "||", exp.BitwiseAnd: "&", exp.BitwiseOr: "|", exp.BitwiseXor: "#",
    exp.BitwiseLeftShift: "<<", exp.BitwiseRightShift: ">>",
    exp.ArrayContainsAll: "@>", exp.ArrayContainedBy: "<@", exp.ArrayOverlaps: "&&",
    exp.JSONBContainsTopKey: "?", exp.JSONBContainsAnyTopKeys: "?|",
    exp.JSONBContainsAllTopKeys: "?&", exp.JSONBDeleteAtPath: "#-",
    exp.RegexpLike: "~", exp.RegexpILike: "~*", exp.Like: "~~", exp.ILike: "~~*",
    exp.IntDiv: "/",
}
_NEGATED = {"~": "!~", "~*": "!~*", "~~": "!~~", "~~*": "!~~*"}


class PredicateBinder:
    """Predicates, operators and subquery expressions; mixed into Binder."""

    # provided by Binder
    expr: Any
    coerce: Any
    operator: Any
    to_bool: Any
    common_type: Any
    bind_query_node: Any

    def _not(self, node: exp.Not, scope: Scope) -> Expr:
        inner = node.this
        if isinstance(inner, exp.In):
            return self._in(inner, scope, negate=True)
        if isinstance(inner, (exp.Like, exp.ILike, exp.RegexpLike, exp.RegexpILike)):
            sym = _NEGATED[_BINARY_OPS[type(inner)]]
            return self.operator(sym, self.expr(inner.this, scope),
                                 self.expr(inner.expression, scope))
        if isinstance(inner, exp.Between):
            return Not(self._between(inner, scope))
        if isinstance(inner, exp.Exists):
            sub = self._exists(inner, scope)
            assert isinstance(sub, SubqueryExpr)
            sub.negate = True
            return sub
        if isinstance(inner, exp.Is):
            return self._is(inner, scope, negate=True)
        if isinstance(inner, exp.SimilarTo):
            return Not(self._similar(inner, scope))
        return Not(self.to_bool(self.expr(inner, scope), "NOT"))

    def _bool_op(self, node: exp.Expr, scope: Scope) -> Expr:
        op = "and" if isinstance(node, exp.And) else "or"
        args: list[Expr] = []
        stack = [node]
        flat: list[exp.Expr] = []
        while stack:
            n = stack.pop()
            if type(n) is type(node):
                stack.append(n.expression)
                stack.append(n.this)
            else:
                flat.append(n)
        for n in flat:
            args.append(self.to_bool(self.expr(n, scope), op.upper()))
        return BoolOp(op, args)

    def _binary(self, node: exp.Expr, scope: Scope) -> Expr:
        sym = _BINARY_OPS[type(node)]
        if node.args.get("negate") and sym in _NEGATED:   # NOT LIKE, !~~ ...
            sym = _NEGATED[sym]
        left = node.this
        right = node.expression
        if isinstance(right, (exp.Any, exp.All)):
            return self._quantified(sym, left, right, scope)
        if isinstance(right, exp.Anonymous) and right.name.lower() in ("all", "any", "some") \
                and len(right.expressions) == 1:
            # sqlglot reads `x op ALL (array)` as a call named ALL
            quant = exp.All if right.name.lower() == "all" else exp.Any
            return self._quantified(sym, left, quant(this=right.expressions[0]), scope)
        if isinstance(left, exp.Tuple) or isinstance(right, exp.Tuple) or \
                _is_row_call(left) or _is_row_call(right):
            return self._row_compare(sym, left, right, scope)
        return self.operator(sym, self.expr(left, scope), self.expr(right, scope))

    def _pg_operator(self, node: PgOperator, scope: Scope) -> Expr:
        return self.operator(node.args["op"], self.expr(node.this, scope),
                             self.expr(node.expression, scope))

    def _operator_node(self, node: exp.Operator, scope: Scope) -> Expr:
        sym = node.args["operator"]
        sym = sym.split(".")[-1] if "." in sym else sym
        return self.operator(sym, self.expr(node.this, scope), self.expr(node.expression, scope))

    def _escape(self, node: exp.Escape, scope: Scope) -> Expr:
        like = node.this
        esc = self.coerce(self.expr(node.expression, scope), T.TEXT)
        negate = False
        if isinstance(like, exp.Not):
            like = like.this
            negate = True
        if like.args.get("negate"):
            negate = not negate
        if isinstance(like, exp.SimilarTo):
            from aiondb.sql.fn_core import similar_to
            call = Call("similar_to", [self.coerce(self.expr(like.this, scope), T.TEXT),
                                       self.coerce(self.expr(like.expression, scope), T.TEXT),
                                       esc], T.BOOL, similar_to)
            return Not(call) if negate else call
        if not isinstance(like, (exp.Like, exp.ILike)):
            raise errors.FeatureNotSupported("ESCAPE is only supported with LIKE and SIMILAR TO")
        s = self.coerce(self.expr(like.this, scope), T.TEXT)
        p = self.coerce(self.expr(like.expression, scope), T.TEXT)
        from aiondb.sql.fn_core import like_escape
        call: Expr = Call("like_escape", [s, p, esc], T.BOOL, like_escape)
        if isinstance(like, exp.ILike):
            from aiondb.sql.fn_string import ascii_lower
            call = Call("ilike_escape", [Call("lower", [s], T.TEXT, ascii_lower),
                                          Call("lower", [p], T.TEXT, ascii_lower), esc],
                        T.BOOL, like_escape)
        return Not(call) if negate else call

    def _similar(self, node: exp.SimilarTo, scope: Scope) -> Expr:
        from aiondb.sql.fn_core import similar_to
        s = self.coerce(self.expr(node.this, scope), T.TEXT)
        p = self.coerce(self.expr(node.expression, scope), T.TEXT)
        call = Call("similar_to", [s, p], T.BOOL, similar_to)
        return Not(call) if node.args.get("negate") else call

    def _is(self, node: exp.Is, scope: Scope, negate: bool = False) -> Expr:
        negate = negate or bool(node.args.get("negate"))
        right = node.expression
        arg = self.expr(node.this, scope)
        if isinstance(right, exp.Null):
            return IsNull(arg, negate)
        if isinstance(right, exp.Boolean):
            return IsBool(self.to_bool(arg, "IS"), bool(right.this), negate)
        if isinstance(right, exp.Var) and right.name.upper() == "UNKNOWN":
            return IsBool(self.to_bool(arg, "IS"), None, negate)
        if isinstance(right, exp.Column) and right.name.upper() == "UNKNOWN":
            return IsBool(self.to_bool(arg, "IS"), None, negate)
        raise errors.FeatureNotSupported(f"IS {right.sql(dialect=AionDB)} is not supported")

    def _distinct_from(self, node: exp.Expr, scope: Scope) -> Expr:
        left = self.expr(node.this, scope)
        right = self.expr(node.expression, scope)
        eq = self.operator("=", left, right, fold=False)
        assert isinstance(eq, Call)
        fn = eq.fn
        not_distinct = isinstance(node, exp.NullSafeEQ)

        def is_not_distinct(a: Any, b: Any) -> bool:
            if a is None or b is None:
                r = a is None and b is None
            else:
                r = fn(a, b) is True
            return r if not_distinct else not r
        return Call("is distinct from", eq.args, T.BOOL, is_not_distinct, strict=False)

    def _between(self, node: exp.Between, scope: Scope) -> Expr:
        x = self.expr(node.this, scope)
        lo = self.expr(node.args["low"], scope)
        hi = self.expr(node.args["high"], scope)
        if node.args.get("symmetric"):
            a = BoolOp("and", [self.operator(">=", x, lo), self.operator("<=", x, hi)])
            b = BoolOp("and", [self.operator(">=", x, hi), self.operator("<=", x, lo)])
            return BoolOp("or", [a, b])
        return BoolOp("and", [self.operator(">=", x, lo), self.operator("<=", x, hi)])

    def _in(self, node: exp.In, scope: Scope, negate: bool = False) -> Expr:
        query = node.args.get("query")
        if query is None and not node.expressions and not node.args.get("unnest") and \
                not node.args.get("field"):
            raise errors.SyntaxError('syntax error at or near ")"')
        if query is not None:
            sub = query.this if isinstance(query, exp.Subquery) else query
            return self.subquery_any("=", node.this, sub, scope, negate)
        unnest = node.args.get("unnest") or node.args.get("field")
        if unnest is not None:
            raise errors.FeatureNotSupported("IN UNNEST is not supported")
        if isinstance(node.this, exp.Tuple):
            parts = [self._row_compare("=", node.this, item, scope) for item in node.expressions]
            r: Expr = BoolOp("or", parts) if len(parts) > 1 else parts[0]
            return Not(r) if negate else r
        arg = self.expr(node.this, scope)
        items = [self.expr(i, scope) for i in node.expressions]
        t = self.common_type([arg] + items, "IN")
        arg = self.coerce(arg, t)
        items = [self.coerce(i, t) for i in items]
        eq = self.operator("=", Const(None, t), Const(None, t), fold=False)
        assert isinstance(eq, Call)
        return InList(arg, items, negate, eq.fn)

    def _quantified(self, sym: str, left: exp.Expr, right: exp.Expr, scope: Scope) -> Expr:
        kind = "any" if isinstance(right, exp.Any) else "all"
        inner = right.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, (exp.Select, exp.Union, exp.Subquery, exp.Values)):
            sub = inner.this if isinstance(inner, exp.Subquery) else inner
            if kind == "any":
                return self.subquery_any(sym, left, sub, scope, False)
            return self.subquery_any(sym, left, sub, scope, False, kind="all")
        larg = self.expr(left, scope)
        arr = self.expr(inner, scope)
        if arr.type.oid == T.UNKNOWN.oid:
            arr = self.coerce(arr, (larg.type if larg.type.oid != T.UNKNOWN.oid
                                    else T.TEXT).array_of())
        if arr.type.elem is None:
            raise errors.WrongObjectType("op ANY/ALL (array) requires array on right side")
        cmp = self.operator(sym, larg, Const(None, arr.type.elem), fold=False)
        assert isinstance(cmp, Call)
        larg = cmp.args[0]
        fn = cmp.fn
        elem_cast = None if cmp.args[1].type.oid == arr.type.elem.oid else \
            casts.cast_function(arr.type.elem, cmp.args[1].type)
        is_any = kind == "any"

        def quantified(ctx: Any, v: Any, items: list | None) -> Any:
            if items is None:
                return None
            if not items:      # an empty array decides alone, even for a NULL operand
                return not is_any
            if v is None:
                return None
            null = False
            for w in items:
                if w is None:
                    null = True
                    continue
                if elem_cast is not None:
                    w = elem_cast(w, ctx)
                r = fn(v, w)
                if is_any and r is True:
                    return True
                if not is_any and r is False:
                    return False
            if null:
                return None
            return not is_any

        return Call(f"{sym} {kind}", [larg, arr], T.BOOL, quantified, strict=False,
                    needs_ctx=True)

    def _row_compare(self, sym: str, left: exp.Expr, right: exp.Expr, scope: Scope) -> Expr:
        lefts = _row_items(left)
        rights = _row_items(right)
        if lefts is None or rights is None:
            raise errors.FeatureNotSupported("row comparison with a non-row operand")
        if len(lefts) != len(rights):
            raise errors.SyntaxError("unequal number of entries in row expressions")
        pairs = [(self.expr(a, scope), self.expr(b, scope)) for a, b in zip(lefts, rights,
                                                                              strict=True)]
        if sym in ("=", "<>"):
            eqs = [self.operator("=", a, b) for a, b in pairs]
            conj: Expr = BoolOp("and", eqs) if len(eqs) > 1 else eqs[0]
            return Not(conj) if sym == "<>" else conj
        # lexicographic <, <=, >, >=
        strict = sym[0]
        terms: list[Expr] = []
        for i in range(len(pairs)):
            conds = [self.operator("=", a, b) for a, b in pairs[:i]]
            last_sym = strict if i < len(pairs) - 1 else sym
            conds.append(self.operator(last_sym, *pairs[i]))
            terms.append(BoolOp("and", conds) if len(conds) > 1 else conds[0])
        return BoolOp("or", terms) if len(terms) > 1 else terms[0]

    def _exists(self, node: exp.Exists, scope: Scope) -> Expr:
        q = node.this
        if isinstance(q, exp.Subquery):
            q = q.this
        return self.subquery_expr("exists", q, scope, T.BOOL)

    def _subquery(self, node: exp.Subquery, scope: Scope) -> Expr:
        return self.subquery_expr("scalar", node.this, scope, None)

    def _select_as_expr(self, node: exp.Expr, scope: Scope) -> Expr:
        return self.subquery_expr("scalar", node, scope, None)

    # --- subqueries -----------------------------------------------------------------------------------
    def subquery_expr(self, kind: str, q: exp.Expr, scope: Scope,
                      t: T.SqlType | None) -> Expr:
        sub_scope = Scope(parent=scope)
        plan = self.bind_query_node(q, sub_scope)
        if kind == "scalar":
            if len(plan.columns) != 1:
                raise errors.SyntaxError("subquery must return only one column")
            t = plan.columns[0].type
        elif kind == "array":
            if len(plan.columns) != 1:
                raise errors.SyntaxError("subquery must return only one column")
            t = plan.columns[0].type.array_of()
        assert t is not None
        return SubqueryExpr(kind, plan, list(sub_scope.corr), t)

    def subquery_any(self, sym: str, left: exp.Expr, q: exp.Expr, scope: Scope,
                     negate: bool, kind: str = "any") -> Expr:
        larg = self.expr(left, scope) if not isinstance(left, exp.Tuple) else \
            RowCtor([self.expr(x, scope) for x in left.expressions])
        sub_scope = Scope(parent=scope)
        plan = self.bind_query_node(q, sub_scope)
        if isinstance(larg, RowCtor):
            if len(plan.columns) != len(larg.elems):
                raise errors.SyntaxError("subquery has too few columns" if len(plan.columns) <
                                         len(larg.elems) else "subquery has too many columns")
            eqs = [self.operator("=", a, Const(None, c.type), fold=False) for a, c in
                   zip(larg.elems, plan.columns, strict=True)]
            fns = [e.fn for e in eqs]  # type: ignore[attr-defined]
            larg = RowCtor([e.args[0] for e in eqs])  # type: ignore[attr-defined]

            def row_eq(a: tuple, b: tuple) -> Any:
                null = False
                for f, x, y in zip(fns, a, b, strict=True):
                    if x is None or y is None:
                        null = True
                        continue
                    if not f(x, y):
                        return False
                return None if null else True
            return SubqueryExpr(kind, plan, list(sub_scope.corr), T.BOOL, larg, row_eq, negate)
        if len(plan.columns) != 1:
            raise errors.SyntaxError("subquery has too many columns")
        cmp = self.operator(sym, larg, Const(None, plan.columns[0].type), fold=False)
        assert isinstance(cmp, Call)
        rtype = plan.columns[0].type
        fn = cmp.fn
        if cmp.args[1].type.oid != rtype.oid:
            conv = casts.cast_function(rtype, cmp.args[1].type)
            base = fn

            def fn(a: Any, b: Any) -> Any:  # noqa: F811 - wraps the resolved comparison
                return base(a, conv(b, None))
        return SubqueryExpr(kind, plan, list(sub_scope.corr), T.BOOL, cmp.args[0], fn, negate)


def _row_items(node: exp.Expr) -> list[exp.Expr] | None:
    if isinstance(node, exp.Tuple):
        return list(node.expressions)
    if _is_row_call(node):
        return list(node.expressions)
    if isinstance(node, exp.Paren) and isinstance(node.this, exp.Tuple):
        return list(node.this.expressions)
    return None


def _is_row_call(node: exp.Expr) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == "row"
