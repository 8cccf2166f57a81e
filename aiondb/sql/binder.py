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
from aiondb.sql import casts, errpos, functions
from aiondb.sql.bind_calls import CallBinder
from aiondb.sql.bind_predicates import _BINARY_OPS, PredicateBinder, _row_items
from aiondb.sql.dialect import AionDB, PgOperator
from aiondb.sql.expr import (
    ArrayCtor,
    Call,
    Case,
    Cast,
    Const,
    Expr,
    Param,
    RowCtor,
    is_constant,
)
from aiondb.sql.scope import Scope
from aiondb.sql.textio import parse_text
from aiondb.sql.typenames import resolve_type, sqlglot_type_text, type_from_name  # noqa: F401

functions.load_builtins()

class Binder(PredicateBinder, CallBinder):
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
        self.allow_srf = False      # set-returning functions: select lists only
        self.windows: dict[str, exp.Window] = {}
        self.volatile = False
        self._cte_ids = 0
        self.views_read: set[int] = set()   # views the statement names (CREATE VIEW's depends)

    # --- literals and parameters -------------------------------------------------------------
    def literal(self, node: exp.Literal) -> Expr:
        text = node.this
        if node.is_string:
            return Const(text, T.UNKNOWN, node)
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
            try:
                if target.oid in (T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid,
                                  T.REGNAMESPACE.oid, T.REGROLE.oid):
                    return self._reg_const(e.value, target)
                return Const(parse_text(target, e.value, self.session.tz,
                                        self.session.statement_time()), target)
            except errors.DatabaseError as exc:
                # as PostgreSQL: the literal is pointed at (LINE 1: ... ^)
                if e.src is not None:
                    errpos.locate(exc, e.src)
                raise
        if isinstance(e, Const) and e.value is None:
            return Const(None, target)
        ctxt = casts.coercion(src, target)
        if ctxt == "e" and target.oid == T.REGCLASS.oid and src.oid in (T.TEXT.oid,
                                                                         T.VARCHAR.oid):
            ctxt = "i"   # text → regclass is implicit (function resolution allows it)
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
        # now(), current_date ...: the statement's values, not the binding's
        # (plans are cached and prepared statements run many times)
        from aiondb.sql.expr import walk
        if any(isinstance(n, Call) and n.needs_ctx for n in walk(e)):
            return e
        from aiondb.sql.expr_compile import compile_expr
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
        try:
            if method is not None:
                return method(self, node, scope)
            if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous):
                return self._builtin_class(node, scope)
        except errpos.LOCATED as exc:
            errpos.locate(exc, node)
            raise
        raise errors.FeatureNotSupported(
            f"expression {type(node).__name__} is not supported: {node.sql(dialect=AionDB)}")

    def _column(self, node: exp.Column, scope: Scope) -> Expr:
        if isinstance(node.this, exp.Star):
            if node.table:          # f(t.*): the whole row of t
                row = self._whole_row(node.table, scope)
                if row is not None:
                    return row
                raise errors.UndefinedTable(
                    f'missing FROM-clause entry for table "{node.table}"')
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
            row = self._whole_row(name, scope)
            if row is not None:
                return row
        return scope.resolve(table, name, schema)

    def _whole_row(self, alias: str, scope: Scope) -> Expr | None:
        """A FROM item's name used as a value: its row, with field names."""
        s: Scope | None = scope
        while s is not None and s.find_entry(alias) is None:
            s = s.parent
        if s is None:
            return None
        entry = s.find_entry(alias)
        assert entry is not None
        names = [n for n in entry.names if not n.startswith("?")]
        elems = [scope.resolve(alias, n) for n in names]
        return RowCtor(elems, T.RECORD, names)

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
        if isinstance(node.this, exp.Paren) and isinstance(inner, exp.Identifier):
            return self._field(self.expr(node.this, scope), inner.name)
        if isinstance(inner, exp.Identifier) or isinstance(inner, exp.Column):
            # (composite).field is not supported; a.b.c column references come as Column
            raise errors.FeatureNotSupported(
                f"field selection is not supported: {node.sql(dialect=AionDB)}")
        return self.expr(inner, scope)

    def _field(self, value: Expr, name: str) -> Expr:
        """(row).field: a field of a whole-row reference or named ROW."""
        if isinstance(value, RowCtor) and value.names is not None:
            if name == "*":
                return value
            for n, e in zip(value.names, value.elems, strict=True):
                if n == name:
                    return e
            raise errors.UndefinedColumn(f'column "{name}" not found in data type record')
        if value.type.oid != T.RECORD.oid:
            raise errors.WrongObjectType(
                f"column notation .{name} applied to type {value.type.sql_name()}, which is "
                "not a composite type")
        raise errors.FeatureNotSupported(
            f"field selection from an anonymous record is not supported: .{name}")

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
        to = node.args["to"]
        try:
            target = resolve_type(to)
        except errors.UndefinedObject as exc:
            err: errors.DatabaseError = exc
            kind = to.args.get("kind")
            if isinstance(kind, exp.Dot) and isinstance(kind.this, exp.Identifier) and \
                    kind.this.name not in ("pg_catalog", "public") and \
                    self.catalog.schema(kind.this.name) is None:
                # schema.type: PostgreSQL looks the schema up first
                err = errors.InvalidSchemaName(f'schema "{kind.this.name}" does not exist')
            errpos.locate(err, to)      # PostgreSQL points at the type name
            raise err from None
        inner = node.this
        if isinstance(inner, exp.Array) and inner.expressions and target.elem is not None and \
                target.elem.elem is None:
            # ARRAY[...]::type[]: as in PostgreSQL the elements take the element
            # type (a bad literal among them is pointed at)
            elems = [self.expr(e, scope) for e in inner.expressions]
            if all(e.type.elem is None for e in elems):
                return ArrayCtor([self.coerce(e, target.elem, "e") for e in elems], target)
            return self.coerce(self._array_of(elems, inner), target, "e")
        arg = self.expr(inner, scope)
        return self.coerce(arg, target, "e")    # a literal is read now (reg* names resolved)

    def _reg_const(self, text: str, target: T.SqlType) -> Expr:
        """A reg* literal ('seq'::regclass) names a catalog object: resolved now,
        as PostgreSQL does during parse analysis. Plans are cached per catalog
        version and search_path, so the resolved OID cannot go stale; resolving
        per row made every serial-column INSERT look the sequence up again."""
        from aiondb.sql.fn_system import resolve_reg
        ctx = self.session.const_context()
        ctx.catalog = self.catalog
        return Const(resolve_reg(self.session, target, text, ctx), target)

    def _unicode_string(self, node: exp.Expr, scope: Scope) -> Expr:
        """U&'d\\0061t\\+000061': \\XXXX and \\+XXXXXX code points, \\\\ a backslash."""
        text = node.this
        out = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            if text.startswith("\\", i + 1):
                out.append("\\")
                i += 2
                continue
            n = 6 if text.startswith("+", i + 1) else 4
            start = i + 1 + (n == 6)
            digits = text[start:start + n]
            if len(digits) != n or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise errors.SyntaxError("invalid Unicode escape",
                                         hint="Unicode escapes must be \\XXXX or \\+XXXXXX.")
            out.append(chr(int(digits, 16)))
            i = start + n
        return Const("".join(out), T.UNKNOWN)

    def _bitwise_not(self, node: exp.BitwiseNot, scope: Scope) -> Expr:
        return self.operator("~", None, self.expr(node.this, scope))

    def _overlaps(self, node: exp.Overlaps, scope: Scope) -> Expr:
        """(start1, end1) OVERLAPS (start2, end2); an end may be an interval."""
        pairs = []
        for side in (node.this, node.expression):
            items = _row_items(side)
            if items is None or len(items) != 2:
                raise errors.SyntaxError("wrong number of parameters on side of OVERLAPS "
                                         "expression")
            start, end = (self.expr(i, scope) for i in items)
            if end.type.oid == T.INTERVAL.oid:
                end = self.operator("+", start, end)
            pairs.append((start, end))
        t = self.common_type([e for pair in pairs for e in pair], "OVERLAPS")
        if t.category != "D":
            raise errors.UndefinedFunction(f"function overlaps({', '.join([t.sql_name()] * 4)}) "
                                           "does not exist")
        args = [self.coerce(e, t) for pair in pairs for e in pair]
        from aiondb.sql.fn_datetime import overlaps
        return Call("overlaps", args, T.BOOL, overlaps, strict=False)

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
        return self._array_of([self.expr(e, scope) for e in node.expressions], node)

    def _array_of(self, elems: list[Expr], node: exp.Array) -> Expr:
        if not elems:
            if isinstance(node.parent, exp.Cast):     # ARRAY[]::int[]
                return Const([], T.TEXT.array_of())
            raise errors.IndeterminateDatatype(
                "cannot determine type of empty array",
                hint="Explicitly cast to the desired type, for example ARRAY[]::integer[].")
        if all(e.type.elem is not None for e in elems):
            # ARRAY[ARRAY[..], ..]: a multi-dimensional array keeps the inner element type
            t = self.common_type(elems, "ARRAY")
            return ArrayCtor([self.coerce(e, t) for e in elems], t)
        t = self.common_type(elems, "ARRAY")
        return ArrayCtor([self.coerce(e, t) for e in elems], t.array_of())

    def _tuple(self, node: exp.Tuple, scope: Scope) -> Expr:
        return RowCtor([self.expr(e, scope) for e in node.expressions])

    def _bracket(self, node: exp.Bracket, scope: Scope) -> Expr:
        # a[i][j] arrives as nested Bracket nodes: gather every subscript
        subs: list[exp.Expr] = []
        inner: exp.Expr = node
        while isinstance(inner, exp.Bracket):
            subs = list(inner.expressions) + subs
            inner = inner.this
        base = self.expr(inner, scope)
        if base.type.oid == T.UNKNOWN.oid:
            base = self.coerce(base, T.TEXT.array_of())
        if base.type.oid == T.JSONB.oid:
            out = base
            for sub in subs:
                out = self.operator("->", out, self.expr(sub, scope))
            return out
        if base.type.oid == T.NAME.oid and len(subs) == 1 and \
                not isinstance(subs[0], exp.Slice):
            # name is a fixed char[64] in PostgreSQL, subscripted from 0 (pg_dump:
            # typname[0] = '_')
            return Call("name_subscript", [base, self.coerce(self.expr(subs[0], scope), T.INT4)],
                        T.CHAR, _name_char)
        if base.type.elem is None:
            raise errors.DatatypeMismatch(
                f"cannot subscript type {base.type.sql_name()} because it does not support "
                "subscripting")
        from aiondb.sql.fn_array import array_slices, array_subscripts
        if any(isinstance(x, exp.Slice) for x in subs):
            # any slice makes every subscript a slice; a plain [i] means [1:i]
            bounds: list[Expr] = []
            for sub in subs:
                if isinstance(sub, exp.Slice):
                    lo = self.coerce(self.expr(sub.this, scope), T.INT4) \
                        if sub.this is not None else Const(None, T.INT4)
                    hi = self.coerce(self.expr(sub.expression, scope), T.INT4) \
                        if sub.expression is not None else Const(None, T.INT4)
                else:
                    lo, hi = Const(1, T.INT4), self.coerce(self.expr(sub, scope), T.INT4)
                bounds += [lo, hi]
            return Call("slice", [base] + bounds, base.type, array_slices, strict=False)
        idx = [self.coerce(self.expr(sub, scope), T.INT4) for sub in subs]
        return Call("subscript", [base] + idx, base.type.elem, array_subscripts)

    def _interval(self, node: exp.Interval, scope: Scope) -> Expr:
        this = node.this
        unit = node.args.get("unit")
        if isinstance(this, exp.Literal) and this.is_string:
            if unit is None:
                return Const(parse_text(T.INTERVAL, this.this), T.INTERVAL)
            fields = (unit.name if isinstance(unit, exp.Expr) else str(unit)).lower().split()
            from aiondb.sql.textio import parse_interval
            # a bare number counts in the last field; smaller fields are dropped
            value = parse_interval(this.this, fields[-1])
            return Const(_truncate_interval(value, fields[-1]), T.INTERVAL)
        e = self.expr(this, scope)
        if unit is not None:
            u = unit.name.lower() if isinstance(unit, exp.Expr) else str(unit).lower()
            from aiondb.sql.textio import parse_interval
            one = parse_interval("1 " + u)
            return self.operator("*", self.coerce(e, T.FLOAT8), Const(one, T.INTERVAL))
        return self.coerce(e, T.INTERVAL, "e")

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

    def bind_query_node(self, q: exp.Expr, scope: Scope) -> Any:
        raise NotImplementedError  # provided by QueryBinder

def _truncate_interval(v: Any, field: str) -> Any:
    """INTERVAL '...' HOUR etc.: zero the parts below the named field."""
    from aiondb.values import Interval
    unit = {"hour": 3_600_000_000, "minute": 60_000_000, "second": 1}.get(field)
    if field == "year":
        return Interval(v.months - v.months % 12, 0, 0)
    if field == "month":
        return Interval(v.months, 0, 0)
    if field == "day":
        return Interval(v.months, v.days, 0)
    if unit is not None and unit > 1:
        return Interval(v.months, v.days, int(v.micros / unit) * unit)
    return v


_EXPR_DISPATCH: dict[type, Any] = {
    exp.Column: Binder._column, exp.Dot: Binder._dot, exp.Paren: Binder._paren,
    exp.Null: Binder._null, exp.Boolean: Binder._boolean, exp.Literal: Binder._literal,
    exp.ByteString: Binder._bytestring, exp.RawString: Binder._bytestring,
    exp.BitwiseNot: Binder._bitwise_not, exp.Overlaps: Binder._overlaps,
    exp.UnicodeString: Binder._unicode_string, exp.National: Binder._bytestring,
    exp.Parameter: Binder._parameter,
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
    exp.WithinGroup: Binder._within_group,
    exp.CurrentTimestamp: Binder._no_paren_fn, exp.CurrentDate: Binder._no_paren_fn,
    exp.CurrentTime: Binder._no_paren_fn, exp.CurrentUser: Binder._no_paren_fn,
    exp.SessionUser: Binder._no_paren_fn, exp.CurrentSchema: Binder._no_paren_fn,
    exp.CurrentCatalog: Binder._no_paren_fn, exp.Localtimestamp: Binder._no_paren_fn,
    exp.Localtime: Binder._no_paren_fn,
}
for _cls in _BINARY_OPS:
    _EXPR_DISPATCH[_cls] = Binder._binary


def _name_char(name: str, i: int) -> str | None:
    """name[i]: its i-th byte (from 0) as "char"; NUL past the end, NULL
    outside the 64 bytes."""
    if not 0 <= i < 64:
        return None
    b = name.encode()
    return chr(b[i]) if i < len(b) else ""
