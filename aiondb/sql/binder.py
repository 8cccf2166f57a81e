"""Binder: sqlglot syntax → typed expressions and plans.

This module holds the Binder's state and expression binding; query and DML
binding are mixins (bind_query.py, bind_dml.py). Every node sqlglot may
produce that we do not understand is rejected with a SQLSTATE, never
guessed at.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import casts, functions
from aiondb.sql.dialect import AionDB, PgOperator
from aiondb.sql.expr import (
    AggCall,
    ArrayCtor,
    BoolOp,
    Call,
    Case,
    Cast,
    Coalesce,
    Const,
    Expr,
    InList,
    IsBool,
    IsNull,
    Not,
    Param,
    RowCtor,
    SubqueryExpr,
    WindowCall,
    is_constant,
)
from aiondb.sql.scope import Scope
from aiondb.sql.textio import parse_text

functions.load_builtins()

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

_TYPE_RE = re.compile(r"^\s*(.*?)\s*(\(\s*([^)]*)\))?\s*((?:\[\s*\d*\s*\])*)\s*$")


def type_from_name(text: str) -> T.SqlType:
    """SQL type spelling ('varchar(10)', 'numeric(5,2)', 'int[]') → SqlType."""
    m = _TYPE_RE.match(text)
    if m is None:
        raise errors.UndefinedObject(f'type "{text}" does not exist')
    base, _, mods, arrays = m.groups()
    name = " ".join(base.lower().replace('"char"', '"char"').split())
    if name.startswith("pg_catalog."):
        name = name[len("pg_catalog."):]
    if name.startswith('"') and name.endswith('"') and name != '"char"':
        name = name[1:-1]
    # with time zone / precision forms
    tz = False
    if name.endswith(" with time zone"):
        name = name[: -len(" with time zone")]
        tz = True
    elif name.endswith(" without time zone"):
        name = name[: -len(" without time zone")]
    if name.startswith("timestamp") and tz:
        name = "timestamptz"
    elif name == "time" and tz:
        name = "timetz"
    if name in ("serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"):
        raise errors.UndefinedObject(f'type "{name}" does not exist')
    t = T.ALIASES.get(name)
    if t is None:
        if name == "timetz":
            raise errors.FeatureNotSupported("type time with time zone is not supported")
        raise errors.UndefinedObject(f'type "{text.strip()}" does not exist')
    if mods:
        parts = [p.strip() for p in mods.split(",") if p.strip()]
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise errors.SyntaxError(f'invalid type modifier for "{text}"') from None
        t = _with_modifiers(t, nums)
    elif name in ("char", "character") and t.oid == T.BPCHAR.oid:
        t = T.BPCHAR.with_typmod(1 + 4)   # char without length is char(1)
    for _ in range(arrays.count("[")):
        t = t.array_of()
    return t


def _with_modifiers(t: T.SqlType, nums: list[int]) -> T.SqlType:
    if t.oid in (T.VARCHAR.oid, T.BPCHAR.oid):
        if len(nums) != 1 or nums[0] < 1:
            raise errors.InvalidParameterValue(
                f"length for type {T.DISPLAY_NAMES[t.name]} must be at least 1")
        if nums[0] > 10485760:
            raise errors.InvalidParameterValue(
                f"length for type {T.DISPLAY_NAMES[t.name]} cannot exceed 10485760")
        return t.with_typmod(nums[0] + 4)
    if t.oid == T.NUMERIC.oid:
        prec = nums[0]
        scale = nums[1] if len(nums) > 1 else 0
        if not 1 <= prec <= 1000:
            raise errors.InvalidParameterValue(
                f"NUMERIC precision {prec} must be between 1 and 1000")
        if not 0 <= scale <= prec:
            raise errors.InvalidParameterValue(
                f"NUMERIC scale {scale} must be between 0 and precision {prec}")
        return t.with_typmod(T.numeric_typmod(prec, scale))
    if t.oid in (T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.TIME.oid, T.INTERVAL.oid):
        return t   # fractional-second precision accepted, microseconds kept
    if t.oid == T.VECTOR.oid:
        if len(nums) != 1 or not 1 <= nums[0] <= 16000:
            raise errors.InvalidParameterValue("dimensions for type vector must be between 1 "
                                               "and 16000")
        return t.with_typmod(nums[0])
    if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
        p = nums[0]
        if p < 1 or p > 53:
            raise errors.InvalidParameterValue(
                f"precision for type float must be {'at least 1 bit' if p < 1 else 'less than 54 bits'}")
        return T.FLOAT4 if p <= 24 else T.FLOAT8
    return t


def sqlglot_type_text(node: exp.DataType) -> str:
    if node.this == exp.DType.USERDEFINED:
        kind = node.args.get("kind")
        return kind.sql(dialect=AionDB) if isinstance(kind, exp.Expr) else str(kind)
    if node.this == exp.DType.DOUBLE:
        return "double precision"
    if node.this == exp.DType.ARRAY and node.expressions:
        inner = node.expressions[0]
        return sqlglot_type_text(inner) + "[]" if isinstance(inner, exp.DataType) \
            else node.sql(dialect=AionDB)
    text = node.sql(dialect=AionDB)
    return text


def resolve_type(node: exp.Expr) -> T.SqlType:
    if isinstance(node, exp.DataType):
        if node.this == exp.DType.USERDEFINED:
            kind = node.args.get("kind")
            name = kind.sql(dialect=AionDB) if isinstance(kind, exp.Expr) else str(kind)
            return type_from_name(name)
        if node.this == exp.DType.ARRAY and node.expressions:
            return resolve_type(node.expressions[0]).array_of()
        if node.this in (exp.DType.SERIAL, exp.DType.BIGSERIAL, exp.DType.SMALLSERIAL):
            raise errors.UndefinedObject(f'type "{node.this.value.lower()}" does not exist')
        return type_from_name(_DTYPE_TEXT.get(node.this, None) or sqlglot_type_text(node)) \
            if not node.expressions else type_from_name(sqlglot_type_text(node))
    return type_from_name(node.sql(dialect=AionDB))


_DTYPE_TEXT = {
    exp.DType.INT: "integer", exp.DType.BIGINT: "bigint", exp.DType.SMALLINT: "smallint",
    exp.DType.TEXT: "text", exp.DType.BOOLEAN: "boolean", exp.DType.DOUBLE: "double precision",
    exp.DType.FLOAT: "real", exp.DType.DECIMAL: "numeric", exp.DType.VARCHAR: "varchar",
    exp.DType.CHAR: "char", exp.DType.DATE: "date", exp.DType.TIMESTAMP: "timestamp",
    exp.DType.TIMESTAMPTZ: "timestamptz", exp.DType.INTERVAL: "interval",
    exp.DType.UUID: "uuid", exp.DType.JSON: "json", exp.DType.JSONB: "jsonb",
    exp.DType.TIME: "time", exp.DType.VARBINARY: "bytea",
}


class Binder:
    """Binds one statement. `params` grows as $n are met; inferred types are
    written back so Describe reports them."""

    def __init__(self, catalog: Any, session: Any, params: list[T.SqlType] | None = None) -> None:
        self.catalog = catalog
        self.session = session
        self.params: list[T.SqlType] = params if params is not None else []
        self.cte_stack: list[dict[str, Any]] = []
        self.agg_level = 0          # > 0 while binding an aggregate's arguments
        self.allow_aggregates = False
        self.allow_windows = False
        self.windows: dict[str, exp.Window] = {}
        self.volatile = False
        self._cte_ids = 0

    # --- literals and parameters -------------------------------------------------------------
    def literal(self, node: exp.Literal) -> Expr:
        text = node.this
        if node.is_string:
            return Const(text, T.UNKNOWN)
        if re.fullmatch(r"\d+", text):
            v = int(text)
            if v <= 2147483647:
                return Const(v, T.INT4)
            if v <= 9223372036854775807:
                return Const(v, T.INT8)
            return Const(Decimal(v), T.NUMERIC)
        try:
            if text.lower().startswith("0x"):
                return Const(int(text, 16), T.INT8 if int(text, 16) > 2**31 - 1 else T.INT4)
            return Const(Decimal(text.replace("_", "")), T.NUMERIC)
        except Exception:
            raise errors.SyntaxError(f'invalid numeric literal "{text}"') from None

    def param(self, index: int) -> Param:
        if index < 0 or index > 65535:
            raise errors.UndefinedParameter(f"there is no parameter ${index + 1}")
        while len(self.params) <= index:
            self.params.append(T.UNKNOWN)
        return Param(index, self.params[index])

    # --- coercion ------------------------------------------------------------------------------
    def coerce(self, e: Expr, target: T.SqlType, context: str = "i",
               column: str | None = None) -> Expr:
        """Cast e to target if allowed in context ('i','a','e'); unknown
        literals are parsed now, unknown parameters take the type."""
        src = e.type
        if src.oid == target.oid and (target.typmod == -1 or src.typmod == target.typmod) and \
                (src.elem is None or target.elem is None or src.elem.oid == target.elem.oid):
            return e
        if isinstance(e, Param) and src.oid == T.UNKNOWN.oid:
            base = target if target.oid != T.UNKNOWN.oid else T.TEXT
            self.params[e.index] = base.base if base.elem is None else base
            p = Param(e.index, self.params[e.index])
            if target.typmod != -1 or target.oid in (T.BPCHAR.oid,):
                return Cast(p, target, casts.cast_function(p.type, target, context == "e"))
            return p
        if isinstance(e, Const) and src.oid == T.UNKNOWN.oid:
            if e.value is None:
                return Const(None, target)
            if target.oid == T.UNKNOWN.oid:
                return e
            if target.oid in (T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid,
                              T.REGNAMESPACE.oid, T.REGROLE.oid):
                return Cast(e, target, casts.cast_function(T.TEXT, target, True))
            return Const(parse_text(target, e.value, self.session.tz,
                                    self.session.statement_time()), target)
        if isinstance(e, Const) and e.value is None:
            return Const(None, target)
        ctxt = casts.coercion(src, target)
        order = {"i": 0, "a": 1, "e": 2}
        if ctxt is None or order[ctxt] > order[context]:
            if column is not None:
                raise errors.DatatypeMismatch(
                    f'column "{column}" is of type {target.sql_name()} but expression is of '
                    f"type {src.sql_name()}",
                    hint="You will need to rewrite or cast the expression.")
            raise errors.CannotCoerce(
                f"cannot cast type {src.sql_name()} to {target.sql_name()}") if ctxt is None \
                else errors.DatatypeMismatch(
                    f"cannot cast type {src.sql_name()} to {target.sql_name()} implicitly")
        fn = casts.cast_function(src, target, context == "e")
        node = Cast(e, target, fn)
        return self.fold(node)

    def fold(self, e: Expr) -> Expr:
        """Evaluate constant, non-volatile expressions now."""
        if isinstance(e, Const) or not is_constant(e):
            return e
        if isinstance(e, (Call,)) and e.needs_ctx:
            return e
        from aiondb.sql.expr import compile_expr
        try:
            value = compile_expr(e)((), self.session.const_context())
        except errors.DatabaseError:
            return e  # keep: the error surfaces at execution, where PostgreSQL raises it
        return Const(value, e.type)

    def to_bool(self, e: Expr, what: str) -> Expr:
        if e.type.oid == T.BOOL.oid:
            return e
        if e.type.oid == T.UNKNOWN.oid:
            return self.coerce(e, T.BOOL)
        raise errors.DatatypeMismatch(
            f"argument of {what} must be type boolean, not type {e.type.sql_name()}")

    def common_type(self, exprs: list[Expr], what: str) -> T.SqlType:
        """PostgreSQL's UNION/CASE/COALESCE type resolution (simplified)."""
        known = [e.type for e in exprs if e.type.oid != T.UNKNOWN.oid]
        if not known:
            return T.TEXT
        result = known[0]
        for t in known[1:]:
            if t.oid == result.oid:
                if t.typmod != result.typmod:
                    result = result.base
                continue
            if casts.coercion(result, t) == "i" and casts.coercion(t, result) != "i":
                result = t
            elif casts.coercion(t, result) == "i":
                continue
            elif result.category == t.category == "S":
                result = T.TEXT
            else:
                raise errors.DatatypeMismatch(
                    f"{what} types {result.sql_name()} and {t.sql_name()} cannot be matched")
        return result

    # --- expressions -----------------------------------------------------------------------------
    def expr(self, node: exp.Expr, scope: Scope) -> Expr:
        method = _EXPR_DISPATCH.get(type(node))
        if method is not None:
            return method(self, node, scope)
        if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous):
            return self._builtin_class(node, scope)
        raise errors.FeatureNotSupported(
            f"expression {type(node).__name__} is not supported: {node.sql(dialect=AionDB)}")

    def _column(self, node: exp.Column, scope: Scope) -> Expr:
        if isinstance(node.this, exp.Star):
            raise errors.FeatureNotSupported("* is not allowed here")
        name = node.name
        table = node.table or None
        schema = node.db or None
        e = scope.resolve_or_none(table, name, schema)
        if e is not None:
            return e
        if table is None:
            special = self._keyword_value(name, node)
            if special is not None:
                return special
            alias = self._alias_ref(scope, name)
            if alias is not None:
                return alias
        return scope.resolve(table, name, schema)

    def _alias_ref(self, scope: Scope, name: str) -> Expr | None:
        return None

    def _keyword_value(self, name: str, node: exp.Column) -> Expr | None:
        quoted = isinstance(node.this, exp.Identifier) and node.this.quoted
        if quoted:
            return None
        low = name.lower()
        if low in ("user", "current_user", "session_user", "current_role"):
            return self.call("current_user", [])
        if low in ("current_schema",):
            return self.call("current_schema", [])
        if low in ("current_catalog",):
            return self.call("current_database", [])
        if low in ("localtimestamp",):
            return self.call("localtimestamp", [])
        if low in ("localtime",):
            return self.call("localtime", [])
        if low == "default":
            raise errors.FeatureNotSupported("DEFAULT is not allowed in this context")
        return None

    def _dot(self, node: exp.Dot, scope: Scope) -> Expr:
        inner = node.expression
        if isinstance(inner, (exp.Anonymous, exp.Func)):
            return self.expr(inner, scope)  # schema-qualified function: pg_catalog.f(...)
        if isinstance(inner, exp.Identifier) or isinstance(inner, exp.Column):
            # (composite).field is not supported; a.b.c column references come as Column
            raise errors.FeatureNotSupported(
                f"field selection is not supported: {node.sql(dialect=AionDB)}")
        return self.expr(inner, scope)

    def _paren(self, node: exp.Paren, scope: Scope) -> Expr:
        return self.expr(node.this, scope)

    def _null(self, node: exp.Null, scope: Scope) -> Expr:
        return Const(None, T.UNKNOWN)

    def _boolean(self, node: exp.Boolean, scope: Scope) -> Expr:
        return Const(bool(node.this), T.BOOL)

    def _literal(self, node: exp.Literal, scope: Scope) -> Expr:
        return self.literal(node)

    def _bytestring(self, node: exp.Expr, scope: Scope) -> Expr:
        return Const(node.this, T.UNKNOWN)

    def _parameter(self, node: exp.Parameter, scope: Scope) -> Expr:
        inner = node.this
        text = inner.name if isinstance(inner, exp.Expr) else str(inner)
        if not text.isdigit():
            raise errors.SyntaxError(f'syntax error at or near "${text}"')
        return self.param(int(text) - 1)

    def _placeholder(self, node: exp.Placeholder, scope: Scope) -> Expr:
        raise errors.SyntaxError('syntax error at or near "?"')

    def _cast(self, node: exp.Cast, scope: Scope) -> Expr:
        target = resolve_type(node.args["to"])
        arg = self.expr(node.this, scope)
        if arg.type.oid == T.UNKNOWN.oid and isinstance(arg, Const) and arg.value is not None:
            if target.oid in (T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid, T.REGNAMESPACE.oid,
                              T.REGROLE.oid):
                return Cast(arg, target, casts.cast_function(T.TEXT, target, True))
        return self.coerce(arg, target, "e")

    def _neg(self, node: exp.Neg, scope: Scope) -> Expr:
        inner = node.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            lit = self.literal(inner)
            assert isinstance(lit, Const)
            v = -lit.value
            if lit.type.oid == T.INT8.oid and v == -2147483648:
                return Const(v, T.INT4)
            if lit.type.oid == T.NUMERIC.oid and isinstance(v, Decimal) and \
                    v == v.to_integral_value() and "." not in inner.this and \
                    v == -9223372036854775808:
                return Const(int(v), T.INT8)
            return Const(v, lit.type)
        return self.operator("-", None, self.expr(inner, scope))

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
        left = node.this
        right = node.expression
        if isinstance(right, (exp.Any, exp.All)):
            return self._quantified(sym, left, right, scope)
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
        if not isinstance(like, (exp.Like, exp.ILike)):
            raise errors.FeatureNotSupported("ESCAPE is only supported with LIKE")
        s = self.coerce(self.expr(like.this, scope), T.TEXT)
        p = self.coerce(self.expr(like.expression, scope), T.TEXT)
        from aiondb.sql.fn_core import like_escape
        call: Expr = Call("like_escape", [s, p, esc], T.BOOL, like_escape)
        if isinstance(like, exp.ILike):
            call = Call("ilike_escape", [Call("lower", [s], T.TEXT, str.lower),
                                          Call("lower", [p], T.TEXT, str.lower), esc],
                        T.BOOL, like_escape)
        return Not(call) if negate else call

    def _similar(self, node: exp.SimilarTo, scope: Scope) -> Expr:
        from aiondb.sql.fn_core import similar_to
        s = self.coerce(self.expr(node.this, scope), T.TEXT)
        p = self.coerce(self.expr(node.expression, scope), T.TEXT)
        return Call("similar_to", [s, p], T.BOOL, similar_to)

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

        def quantified(v: Any, items: list, ctx: Any) -> Any:
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

        return Call(f"{sym} {kind}", [larg, arr], T.BOOL, quantified, needs_ctx=True)

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

    def _case(self, node: exp.Case, scope: Scope) -> Expr:
        operand = node.this
        op_expr = self.expr(operand, scope) if operand is not None else None
        conds = []
        results = []
        for ifn in node.args.get("ifs") or []:
            if op_expr is not None:
                conds.append(self.operator("=", op_expr, self.expr(ifn.this, scope)))
            else:
                conds.append(self.to_bool(self.expr(ifn.this, scope), "CASE/WHEN"))
            results.append(self.expr(ifn.args["true"], scope))
        default = node.args.get("default")
        dexpr = self.expr(default, scope) if default is not None else None
        t = self.common_type(results + ([dexpr] if dexpr is not None else []), "CASE")
        results = [self.coerce(r, t) for r in results]
        if dexpr is not None:
            dexpr = self.coerce(dexpr, t)
        return Case(list(zip(conds, results, strict=True)), dexpr, t)

    def _if(self, node: exp.If, scope: Scope) -> Expr:
        cond = self.to_bool(self.expr(node.this, scope), "CASE/WHEN")
        a = self.expr(node.args["true"], scope)
        f = node.args.get("false")
        b = self.expr(f, scope) if f is not None else None
        t = self.common_type([a] + ([b] if b is not None else []), "CASE")
        return Case([(cond, self.coerce(a, t))], self.coerce(b, t) if b is not None else None, t)

    def _array(self, node: exp.Array, scope: Scope) -> Expr:
        elems = [self.expr(e, scope) for e in node.expressions]
        if not elems:
            return Const([], T.TEXT.array_of())
        if all(e.type.elem is not None for e in elems):
            # ARRAY[ARRAY[..], ..]: a multi-dimensional array keeps the inner element type
            t = self.common_type(elems, "ARRAY")
            return ArrayCtor([self.coerce(e, t) for e in elems], t)
        t = self.common_type(elems, "ARRAY")
        return ArrayCtor([self.coerce(e, t) for e in elems], t.array_of())

    def _tuple(self, node: exp.Tuple, scope: Scope) -> Expr:
        return RowCtor([self.expr(e, scope) for e in node.expressions])

    def _bracket(self, node: exp.Bracket, scope: Scope) -> Expr:
        base = self.expr(node.this, scope)
        if base.type.oid == T.UNKNOWN.oid:
            base = self.coerce(base, T.TEXT.array_of())
        if base.type.oid == T.JSONB.oid:
            idx = self.expr(node.expressions[0], scope)
            return self.operator("->", base, idx)
        if base.type.elem is None:
            raise errors.DatatypeMismatch(
                f"cannot subscript type {base.type.sql_name()} because it does not support "
                "subscripting")
        out = base
        for sub in node.expressions:
            if isinstance(sub, exp.Slice):
                lo = self.coerce(self.expr(sub.this, scope), T.INT4) if sub.this is not None \
                    else Const(None, T.INT4)
                hi = self.coerce(self.expr(sub.expression, scope), T.INT4) \
                    if sub.expression is not None else Const(None, T.INT4)
                from aiondb.sql.fn_array import array_slice
                out = Call("slice", [out, lo, hi], out.type, array_slice, strict=False)
            else:
                i = self.coerce(self.expr(sub, scope), T.INT4)
                from aiondb.sql.fn_array import array_subscript
                elem = out.type.elem or T.TEXT
                out = Call("subscript", [out, i], elem, array_subscript)
        return out

    def _interval(self, node: exp.Interval, scope: Scope) -> Expr:
        this = node.this
        unit = node.args.get("unit")
        if isinstance(this, exp.Literal) and this.is_string:
            text = this.this
            if unit is not None:
                u = unit.name if isinstance(unit, exp.Expr) else str(unit)
                text = f"{text} {u.lower()}"
            return Const(parse_text(T.INTERVAL, text), T.INTERVAL)
        e = self.expr(this, scope)
        if unit is not None:
            u = unit.name.lower() if isinstance(unit, exp.Expr) else str(unit).lower()
            from aiondb.sql.textio import parse_interval
            one = parse_interval("1 " + u)
            return self.operator("*", self.coerce(e, T.FLOAT8), Const(one, T.INTERVAL))
        return self.coerce(e, T.INTERVAL, "e")

    def _exists(self, node: exp.Exists, scope: Scope) -> Expr:
        q = node.this
        if isinstance(q, exp.Subquery):
            q = q.this
        return self.subquery_expr("exists", q, scope, T.BOOL)

    def _subquery(self, node: exp.Subquery, scope: Scope) -> Expr:
        return self.subquery_expr("scalar", node.this, scope, None)

    def _select_as_expr(self, node: exp.Expr, scope: Scope) -> Expr:
        return self.subquery_expr("scalar", node, scope, None)

    def _at_time_zone(self, node: exp.AtTimeZone, scope: Scope) -> Expr:
        return self.call("timezone", [self.expr(node.args["zone"], scope),
                                      self.expr(node.this, scope)])

    def _collate(self, node: exp.Collate, scope: Scope) -> Expr:
        coll = node.expression
        name = coll.name if isinstance(coll, exp.Expr) else str(coll)
        if name.lower() not in ("c", "posix", "default", "ucs_basic"):
            raise errors.FeatureNotSupported(
                f'collation "{name}" is not supported (only "C" ordering)')
        return self.expr(node.this, scope)

    def _extract(self, node: exp.Extract, scope: Scope) -> Expr:
        field = node.this.name if isinstance(node.this, exp.Expr) else str(node.this)
        return self.call("extract", [Const(field.lower(), T.TEXT),
                                     self.expr(node.expression, scope)])

    def _substring(self, node: exp.Substring, scope: Scope) -> Expr:
        args = [self.expr(node.this, scope)]
        start = node.args.get("start")
        length = node.args.get("length")
        args.append(self.expr(start, scope) if start is not None else Const(1, T.INT4))
        if length is not None:
            args.append(self.expr(length, scope))
        return self.call("substring", args)

    def _position(self, node: exp.StrPosition, scope: Scope) -> Expr:
        return self.call("strpos", [self.expr(node.this, scope),
                                    self.expr(node.args["substr"], scope)])

    def _trim(self, node: exp.Trim, scope: Scope) -> Expr:
        pos = (node.args.get("position") or "BOTH").upper()
        chars = node.args.get("expression")
        args = [self.expr(node.this, scope)]
        if chars is not None:
            args.append(self.expr(chars, scope))
        name = {"BOTH": "btrim", "LEADING": "ltrim", "TRAILING": "rtrim"}[pos]
        return self.call(name, args)

    def _overlay(self, node: exp.Overlay, scope: Scope) -> Expr:
        args = [self.expr(node.this, scope), self.expr(node.expression, scope),
                self.expr(node.args["from_"], scope)]
        if node.args.get("for_") is not None:
            args.append(self.expr(node.args["for_"], scope))
        return self.call("overlay", args)

    def _no_paren_fn(self, node: exp.Expr, scope: Scope) -> Expr:
        name = {exp.CurrentTimestamp: "now", exp.CurrentDate: "current_date",
                exp.CurrentTime: "current_time", exp.CurrentUser: "current_user",
                exp.SessionUser: "current_user", exp.CurrentSchema: "current_schema",
                exp.CurrentCatalog: "current_database",
                exp.Localtimestamp: "localtimestamp"}[type(node)]
        return self.call(name, [])

    def _builtin_class(self, node: exp.Func, scope: Scope) -> Expr:
        raise errors.FeatureNotSupported(
            f"function {node.sql_name()} is not supported: {node.sql(dialect=AionDB)}")

    # --- operators and calls ------------------------------------------------------------------------
    def operator(self, sym: str, left: Expr | None, right: Expr, fold: bool = True) -> Expr:
        """Resolve and apply an operator. fold=False always returns the Call
        (callers that need the resolved function itself)."""
        if sym == "!=":
            sym = "<>"
        actual = [right.type] if left is None else [left.type, right.type]
        fdef, argtypes, ret = functions.resolve_operator(sym, actual)
        args = [right] if left is None else [left, right]
        args = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=True)]
        call = Call(sym, args, ret, fdef.impl, fdef.strict, fdef.needs_ctx)
        return self.fold(call) if fold else call

    def call(self, name: str, args: list[Expr]) -> Expr:
        fdef, argtypes, ret = functions.resolve_function(name, [a.type for a in args])
        coerced = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=False)]
        if fdef.volatile:
            self.volatile = True
        node = Call(name, coerced, ret, fdef.impl, fdef.strict, fdef.needs_ctx, fdef.volatile)
        return self.fold(node) if not fdef.volatile else node

    def _anonymous(self, node: exp.Anonymous, scope: Scope) -> Expr:
        name = node.name.lower()
        raw_args = list(node.expressions)
        special = _SPECIAL_CALLS.get(name)
        if special is not None:
            return special(self, raw_args, scope)
        if functions.AGGREGATES.get(name) is not None and name not in functions.FUNCTIONS:
            return self.aggregate_call(name, raw_args, scope, None)
        if name in functions.WINDOW_FUNCTIONS and name not in functions.FUNCTIONS:
            raise errors.WindowingError(f"window function {name} requires an OVER clause")
        if name in functions.SRFS and name not in functions.FUNCTIONS:
            return self.srf_in_expression(name, raw_args, scope)
        args = []
        for a in raw_args:
            if isinstance(a, exp.Kwarg) or isinstance(a, exp.PropertyEQ):
                raise errors.FeatureNotSupported("named arguments are not supported")
            args.append(self.expr(a, scope))
        return self.call(name, args)

    def srf_in_expression(self, name: str, raw_args: list, scope: Scope) -> Expr:
        raise errors.FeatureNotSupported(
            f"set-returning function {name}() is only supported in FROM "
            f"(write SELECT * FROM {name}(...))")

    def aggregate_call(self, name: str, raw_args: list[exp.Expr], scope: Scope,
                       filt: exp.Expr | None, order_node: exp.Order | None = None) -> Expr:
        from aiondb.sql.aggregates import AGGREGATES
        if not self.allow_aggregates:
            raise errors.GroupingError(self._agg_context_error())
        if self.agg_level > 0:
            raise errors.GroupingError("aggregate function calls cannot be nested")
        distinct = False
        star = False
        args_nodes = list(raw_args)
        order: list[tuple[Expr, bool, bool]] = []
        if args_nodes and isinstance(args_nodes[-1], exp.Order):
            o = args_nodes.pop()
            args_nodes.append(o.this)
            order_node = o
        if len(args_nodes) == 1 and isinstance(args_nodes[0], exp.Distinct):
            distinct = True
            args_nodes = list(args_nodes[0].expressions)
        if len(args_nodes) == 1 and isinstance(args_nodes[0], exp.Star):
            if name != "count":
                raise errors.SyntaxError(f"{name}(*) is not valid")
            star = True
            args_nodes = []
        self.agg_level += 1
        try:
            args = [self.expr(a, scope) for a in args_nodes]
            flt = self.to_bool(self.expr(filt, scope), "FILTER") if filt is not None else None
            if order_node is not None:
                for o in order_node.expressions:
                    order.append((self.expr(o.this, scope), bool(o.args.get("desc")),
                                  bool(o.args.get("nulls_first"))))
        finally:
            self.agg_level -= 1
        cands = AGGREGATES[name]
        actual = [a.type for a in args]
        d, argtypes, ret = functions.resolve(cands, actual,
                                             functions.describe_call(name, actual))
        args = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=False)]
        return AggCall(name, args, ret, d, distinct, flt, order, star)

    def _agg_context_error(self) -> str:
        return "aggregate functions are not allowed here"

    def _filter(self, node: exp.Filter, scope: Scope) -> Expr:
        fn = node.this
        where = node.expression
        cond = where.this if isinstance(where, exp.Where) else where
        if isinstance(fn, exp.Window):
            raise errors.FeatureNotSupported("FILTER with window functions is not supported")
        if not isinstance(fn, exp.Anonymous) or fn.name.lower() not in functions.AGGREGATES:
            raise errors.WrongObjectType("FILTER specified, but it is not an aggregate function")
        return self.aggregate_call(fn.name.lower(), list(fn.expressions), scope, cond)

    def _window(self, node: exp.Window, scope: Scope) -> Expr:
        if not self.allow_windows:
            raise errors.WindowingError("window functions are not allowed here")
        fn = node.this
        flt = None
        if isinstance(fn, exp.Filter):
            w = fn.expression
            flt = w.this if isinstance(w, exp.Where) else w
            fn = fn.this
        if not isinstance(fn, exp.Anonymous):
            raise errors.FeatureNotSupported(f"window function {fn.sql(dialect=AionDB)}")
        name = fn.name.lower()
        spec = node
        alias = node.args.get("alias")
        if alias is not None and not node.args.get("partition_by") and not node.args.get(
                "order"):
            ref = self.windows.get(alias.name)
            if ref is None:
                raise errors.UndefinedObject(f'window "{alias.name}" does not exist')
            spec = ref
        partition = [self.expr(p, scope) for p in spec.args.get("partition_by") or []]
        order = []
        order_node = spec.args.get("order")
        if order_node is not None:
            for o in order_node.expressions:
                order.append((self.expr(o.this, scope), bool(o.args.get("desc")),
                              bool(o.args.get("nulls_first"))))
        frame = self._frame(spec.args.get("spec"), scope)
        args_nodes = list(fn.expressions)
        if name in functions.WINDOW_FUNCTIONS:
            args = [self.expr(a, scope) for a in args_nodes]
            d, argtypes, ret = functions.resolve(functions.WINDOW_FUNCTIONS[name],
                                                 [a.type for a in args],
                                                 functions.describe_call(name,
                                                                         [a.type for a in args]))
            args = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=False)]
            return WindowCall(name, args, ret, d, partition, order, frame, None, False)
        if name in functions.AGGREGATES:
            saved = self.allow_aggregates
            self.allow_aggregates = True
            try:
                agg = self.aggregate_call(name, args_nodes, scope, flt)
            finally:
                self.allow_aggregates = saved
            assert isinstance(agg, AggCall)
            if agg.distinct:
                raise errors.FeatureNotSupported("DISTINCT is not implemented for window "
                                                 "functions")
            return WindowCall(name, agg.args, agg.type, agg.impl, partition, order, frame,
                              agg.filter, True)
        raise errors.UndefinedFunction(f"function {name} is not a window function")

    def _frame(self, spec: exp.WindowSpec | None, scope: Scope) -> Any:
        if spec is None:
            return None
        mode = (spec.args.get("kind") or "ROWS").lower()

        def bound(value: Any, side: Any) -> tuple[str, Any]:
            v = value if isinstance(value, str) else (value.name if isinstance(value, exp.Var)
                                                      else value)
            s = (side or "").upper() if isinstance(side, str) else side
            if isinstance(v, str) and v.upper() == "UNBOUNDED":
                return ("unbounded_preceding" if s == "PRECEDING" else "unbounded_following",
                        None)
            if isinstance(v, str) and v.upper() == "CURRENT ROW":
                return ("current", None)
            off = self.expr(value, scope)
            from aiondb.sql.expr import compile_expr
            f = compile_expr(self.coerce(off, T.INT8))
            return ("preceding" if s == "PRECEDING" else "following", f)

        start = bound(spec.args.get("start"), spec.args.get("start_side"))
        end_v = spec.args.get("end")
        end = bound(end_v, spec.args.get("end_side")) if end_v is not None else ("current", None)
        exclude = spec.args.get("exclude")
        if exclude:
            raise errors.FeatureNotSupported("frame EXCLUDE is not supported")
        return (mode, start, end, None)

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

    def bind_query_node(self, q: exp.Expr, scope: Scope) -> Any:
        raise NotImplementedError  # provided by QueryBinder

    # --- special function-call syntax -------------------------------------------------------------------
    def _coalesce(self, args_nodes: list, scope: Scope) -> Expr:
        args = [self.expr(a, scope) for a in args_nodes]
        t = self.common_type(args, "COALESCE")
        return Coalesce([self.coerce(a, t) for a in args], t)

    def _nullif(self, args_nodes: list, scope: Scope) -> Expr:
        if len(args_nodes) != 2:
            raise errors.UndefinedFunction("function nullif requires two arguments")
        a = self.expr(args_nodes[0], scope)
        b = self.expr(args_nodes[1], scope)
        eq = self.operator("=", a, b, fold=False)
        assert isinstance(eq, Call)
        fn = eq.fn
        a2 = eq.args[0]
        return Call("nullif", [a2, eq.args[1]], a2.type if a.type.oid != T.UNKNOWN.oid else
                    eq.args[0].type,
                    lambda x, y: None if x is None else (x if y is None or not fn(x, y) else None),
                    strict=False)

    def _greatest(self, args_nodes: list, scope: Scope) -> Expr:
        return self._extreme("greatest", max, args_nodes, scope)

    def _least(self, args_nodes: list, scope: Scope) -> Expr:
        return self._extreme("least", min, args_nodes, scope)

    def _extreme(self, name: str, pick: Any, args_nodes: list, scope: Scope) -> Expr:
        args = [self.expr(a, scope) for a in args_nodes]
        t = self.common_type(args, name.upper())
        args = [self.coerce(a, t) for a in args]

        def fn(*vals: Any) -> Any:
            present = [v for v in vals if v is not None]
            return pick(present) if present else None
        return Call(name, args, t, fn, strict=False)

    def _pg_typeof(self, args_nodes: list, scope: Scope) -> Expr:
        from aiondb.sql.fn_system import RegValue
        if len(args_nodes) != 1:
            raise errors.UndefinedFunction("function pg_typeof requires one argument")
        t = self.expr(args_nodes[0], scope).type
        return Const(RegValue(t.oid, t.base.sql_name() if t.elem is None else t.sql_name()),
                     T.REGTYPE)

    def _row_call(self, args_nodes: list, scope: Scope) -> Expr:
        return RowCtor([self.expr(a, scope) for a in args_nodes])

    def _array_call(self, args_nodes: list, scope: Scope) -> Expr:
        if len(args_nodes) == 1 and isinstance(args_nodes[0], (exp.Select, exp.Union,
                                                               exp.Subquery)):
            q = args_nodes[0]
            return self.subquery_expr("array", q.this if isinstance(q, exp.Subquery) else q,
                                      scope, None)
        raise errors.SyntaxError("syntax error at or near \"ARRAY\"")


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


_SPECIAL_CALLS = {
    "coalesce": Binder._coalesce,
    "nullif": Binder._nullif,
    "greatest": Binder._greatest,
    "least": Binder._least,
    "row": Binder._row_call,
    "pg_typeof": Binder._pg_typeof,
    "array": Binder._array_call,
}

_EXPR_DISPATCH: dict[type, Any] = {
    exp.Column: Binder._column, exp.Dot: Binder._dot, exp.Paren: Binder._paren,
    exp.Null: Binder._null, exp.Boolean: Binder._boolean, exp.Literal: Binder._literal,
    exp.ByteString: Binder._bytestring, exp.Parameter: Binder._parameter,
    exp.Placeholder: Binder._placeholder, exp.Cast: Binder._cast, exp.Neg: Binder._neg,
    exp.Not: Binder._not, exp.And: Binder._bool_op, exp.Or: Binder._bool_op,
    PgOperator: Binder._pg_operator, exp.Operator: Binder._operator_node,
    exp.Escape: Binder._escape, exp.SimilarTo: Binder._similar, exp.Is: Binder._is,
    exp.NullSafeEQ: Binder._distinct_from, exp.NullSafeNEQ: Binder._distinct_from,
    exp.Between: Binder._between, exp.In: Binder._in, exp.Case: Binder._case,
    exp.If: Binder._if, exp.Array: Binder._array, exp.Tuple: Binder._tuple,
    exp.Bracket: Binder._bracket, exp.Interval: Binder._interval, exp.Exists: Binder._exists,
    exp.Subquery: Binder._subquery, exp.Select: Binder._select_as_expr,
    exp.AtTimeZone: Binder._at_time_zone, exp.Collate: Binder._collate,
    exp.Extract: Binder._extract, exp.Substring: Binder._substring,
    exp.StrPosition: Binder._position, exp.Trim: Binder._trim, exp.Overlay: Binder._overlay,
    exp.Anonymous: Binder._anonymous, exp.Filter: Binder._filter, exp.Window: Binder._window,
    exp.CurrentTimestamp: Binder._no_paren_fn, exp.CurrentDate: Binder._no_paren_fn,
    exp.CurrentTime: Binder._no_paren_fn, exp.CurrentUser: Binder._no_paren_fn,
    exp.SessionUser: Binder._no_paren_fn, exp.CurrentSchema: Binder._no_paren_fn,
    exp.CurrentCatalog: Binder._no_paren_fn, exp.Localtimestamp: Binder._no_paren_fn,
}
for _cls in _BINARY_OPS:
    _EXPR_DISPATCH[_cls] = Binder._binary
