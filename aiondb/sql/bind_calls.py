"""Binding of function-call syntax: plain and schema-qualified calls,
aggregates (DISTINCT, ORDER BY, FILTER), window functions and their frames,
the calls with special argument syntax (EXTRACT, SUBSTRING ... FROM, TRIM,
POSITION, OVERLAY) and the keyword-like calls PostgreSQL treats specially
(COALESCE, NULLIF, GREATEST, LEAST, ROW, ARRAY(subquery), pg_typeof).

A mixin of Binder (binder.py): methods use its coercion and resolution."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import functions
from aiondb.sql.dialect import AionDB
from aiondb.sql.expr import (
    AggCall,
    Call,
    Coalesce,
    Col,
    Const,
    Expr,
    RowCtor,
    SrfCall,
    WindowCall,
    walk,
)
from aiondb.sql.fn_jsontext import JSON_CALLS, json_call
from aiondb.sql.scope import Scope

_TEXTUAL_MINMAX = frozenset((T.VARCHAR.oid, T.NAME.oid))


class CallBinder:
    """Function-call binding; mixed into Binder."""

    # provided by Binder
    expr: Any
    coerce: Any
    call: Any
    operator: Any
    common_type: Any
    to_bool: Any
    subquery_expr: Any
    allow_aggregates: bool
    allow_windows: bool
    agg_level: int
    windows: dict
    volatile: bool

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
                exp.Localtimestamp: "localtimestamp", exp.Localtime: "localtime"}[type(node)]
        return self.call(name, [])

    def _builtin_class(self, node: exp.Func, scope: Scope) -> Expr:
        # the prefix operators |/ and ||/ parse as sqlglot's Sqrt and Cbrt
        if isinstance(node, (exp.Sqrt, exp.Cbrt)):
            name = "sqrt" if isinstance(node, exp.Sqrt) else "cbrt"
            # PostgreSQL defines them for double precision only
            return self.call(name, [self.coerce(self.expr(node.this, scope), T.FLOAT8)])
        raise errors.FeatureNotSupported(
            f"function {node.sql_name()} is not supported: {node.sql(dialect=AionDB)}")

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
        feature = UNSUPPORTED_FUNCTIONS.get(name)
        if feature is not None and name not in functions.FUNCTIONS:
            raise errors.FeatureNotSupported(f"{feature} is not supported: {name}()")
        args = self._call_args(name, raw_args, scope)
        if name in JSON_CALLS:
            return self._json_call(name, args)
        return self.call(name, args)

    def _call_args(self, name: str, raw_args: list, scope: Scope) -> list[Expr]:
        """Bound arguments in positional order: named arguments (`days => 3`)
        and omitted trailing ones take their place from the parameter list
        of functions that declare one (PARAMETERS)."""
        params = PARAMETERS.get(name)
        positional: list[Expr] = []
        named: dict[str, Expr] = {}
        for a in raw_args:
            if isinstance(a, (exp.Kwarg, exp.PropertyEQ)):
                key = a.this.name.lower()
                if params is None or key not in [p for p, _ in params]:
                    raise errors.UndefinedFunction(
                        f"function {name}({key} => ...) does not exist",
                        hint="No function matches the given name and argument types.")
                if key in named:
                    raise errors.SyntaxError(f'argument name "{key}" used more than once')
                named[key] = self.expr(a.expression, scope)
            else:
                if named:
                    raise errors.SyntaxError("positional argument cannot follow named argument")
                positional.append(self.expr(a, scope))
        if params is None or (not named and any(
                len(d.args) == len(positional) for d in functions.FUNCTIONS.get(name, []))):
            return positional      # an overload takes exactly these arguments
        out = list(positional)
        for pname, default in params[len(positional):]:
            if pname in named:
                out.append(named.pop(pname))
            elif default is not None:
                out.append(Const(default[0], default[1]))
            else:
                raise errors.UndefinedFunction(
                    f"function {name} requires argument \"{pname}\"")
        return out

    def _json_call(self, name: str, args: list[Expr]) -> Expr:
        """json producers: the layout depends on the arguments' SQL types."""
        args = [self.coerce(a, T.TEXT) if a.type.oid == T.UNKNOWN.oid else a for a in args]
        if name == "row_to_json" and (not args or args[0].type.oid != T.RECORD.oid):
            raise errors.UndefinedFunction(
                functions.describe_call(name, [a.type for a in args]) + " does not exist")
        if len(args) == 2 and name in ("row_to_json", "array_to_json"):
            args[1] = self.coerce(args[1], T.BOOL)
        fn = json_call(name, [a.type for a in args])
        if fn is None:
            raise errors.UndefinedFunction(
                functions.describe_call(name, [a.type for a in args]) + " does not exist")
        builders = ("json_build_array", "json_build_object")
        return Call(name, args, T.JSON, fn, strict=name not in builders)

    def srf_in_expression(self, name: str, raw_args: list, scope: Scope) -> Expr:
        """A set-returning function in an expression: only in a select list."""
        if not getattr(self, "allow_srf", False):
            raise errors.FeatureNotSupported(
                f"set-returning functions are not allowed here: {name}()")
        if self.agg_level > 0:
            raise errors.FeatureNotSupported(
                "aggregate function calls cannot contain set-returning function calls")
        args = [self.expr(a, scope) for a in raw_args]
        d, argtypes, cols = functions.resolve_srf(name, [a.type for a in args])
        args = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=False)]
        t = cols[0][1] if len(cols) == 1 else T.RECORD
        return SrfCall(name, args, t, d, cols)

    def aggregate_call(self, name: str, raw_args: list[exp.Expr], scope: Scope,
                       filt: exp.Expr | None, order_node: exp.Order | None = None,
                       over: bool = False, ordered_set: bool = False) -> Expr:
        """An aggregate call; over=True for an aggregate used as a window
        function, whose arguments may themselves hold (grouped) aggregates."""
        from aiondb.sql.aggregates import AGGREGATES
        if not self.allow_aggregates:
            raise errors.GroupingError(self._agg_context_error())
        if self.agg_level > 0 and not over:
            raise errors.GroupingError("aggregate function calls cannot be nested")
        from aiondb.sql.aggregates import ORDERED_SET
        if (name in ORDERED_SET) != ordered_set:
            # PostgreSQL looks these up as plain functions of the arguments written
            raise errors.UndefinedFunction(
                functions.describe_call(name, [self.expr(a, scope).type for a in raw_args]) +
                " does not exist",
                hint="No function matches the given name and argument types. You might need "
                     "to add explicit type casts.")
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
        level = 0 if over else 1
        self.agg_level += level
        try:
            args = [self.expr(a, scope) for a in args_nodes]
            flt = self.to_bool(self.expr(filt, scope), "FILTER") if filt is not None else None
            if order_node is not None:
                for o in order_node.expressions:
                    order.append((self.expr(o.this, scope), bool(o.args.get("desc")),
                                  bool(o.args.get("nulls_first"))))
        finally:
            self.agg_level -= level
        cands = AGGREGATES[name]
        actual = [a.type for a in args]
        d, argtypes, ret = functions.resolve(cands, actual,
                                             functions.describe_call(name, actual))
        if name in ("min", "max") and len(actual) == 1 and actual[0].oid in _TEXTUAL_MINMAX:
            # PostgreSQL has no min/max for these: they resolve to min(text)
            argtypes, ret = [T.TEXT], T.TEXT
        # a function's result carries no type modifier (max(numeric(8,2)) is numeric)
        ret = ret.base if isinstance(ret, T.SqlType) else ret
        args = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=False)]
        if getattr(d, "specialize", None) is not None:
            d = d.specialize([a.type for a in args])
        return AggCall(name, args, ret, d, distinct, flt, order, star)

    def _agg_context_error(self) -> str:
        return "aggregate functions are not allowed here"

    def _within_group(self, node: exp.WithinGroup, scope: Scope,
                      filt: exp.Expr | None = None) -> Expr:
        """percentile_cont(0.5) WITHIN GROUP (ORDER BY x): an ordered-set
        aggregate over the sorted values, with its direct arguments."""
        fn = node.this
        name = fn.name.lower() if isinstance(fn, exp.Anonymous) else ""
        if not name:
            raise errors.WrongObjectType(f"{fn.sql(dialect=AionDB)} is not an ordered-set "
                                         "aggregate, so it cannot have WITHIN GROUP")
        order = node.expression
        if not isinstance(order, exp.Order) or len(order.expressions) != 1:
            raise errors.FeatureNotSupported(
                f"{name} takes exactly one ORDER BY item in WITHIN GROUP")
        return self.aggregate_call(name, list(fn.expressions) + [order.expressions[0].this],
                                   scope, filt, order, ordered_set=True)

    def _filter(self, node: exp.Filter, scope: Scope) -> Expr:
        fn = node.this
        where = node.expression
        cond = where.this if isinstance(where, exp.Where) else where
        if isinstance(fn, exp.WithinGroup):
            return self._within_group(fn, scope, cond)
        if isinstance(fn, exp.Window):
            raise errors.FeatureNotSupported("FILTER with window functions is not supported")
        if not isinstance(fn, exp.Anonymous) or fn.name.lower() not in functions.AGGREGATES:
            raise errors.WrongObjectType("FILTER specified, but it is not an aggregate function")
        return self.aggregate_call(fn.name.lower(), list(fn.expressions), scope, cond)

    def _window(self, node: exp.Window, scope: Scope) -> Expr:
        if self.agg_level > 0:
            raise errors.GroupingError("aggregate function calls cannot contain window "
                                       "function calls")
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
        frame = self._frame(spec.args.get("spec"), scope, order)
        args_nodes = list(fn.expressions)
        if name in functions.WINDOW_FUNCTIONS:
            args = [self.expr(a, scope) for a in args_nodes]
            d, argtypes, ret = functions.resolve(functions.WINDOW_FUNCTIONS[name],
                                                 [a.type for a in args],
                                                 functions.describe_call(name,
                                                                         [a.type for a in args]))
            args = [self.coerce(a, t) for a, t in zip(args, argtypes, strict=False)]
            ret = ret.base if isinstance(ret, T.SqlType) else ret
            return WindowCall(name, args, ret, d, partition, order, frame, None, False)
        if name in functions.AGGREGATES:
            saved = self.allow_aggregates
            self.allow_aggregates = True
            try:
                agg = self.aggregate_call(name, args_nodes, scope, flt, over=True)
            finally:
                self.allow_aggregates = saved
            assert isinstance(agg, AggCall)
            if agg.distinct:
                raise errors.FeatureNotSupported("DISTINCT is not implemented for window "
                                                 "functions")
            return WindowCall(name, agg.args, agg.type, agg.impl, partition, order, frame,
                              agg.filter, True)
        raise errors.UndefinedFunction(f"function {name} is not a window function")

    def _frame(self, spec: exp.WindowSpec | None, scope: Scope,
               order: list[tuple[Expr, bool, bool]]) -> Any:
        """(mode, start, end, exclude, range_ops): bounds are (kind, offset fn).
        RANGE offsets are in the ORDER BY key's units (an interval for
        date/time keys); range_ops compares keys with key +/- offset."""
        if spec is None:
            return None
        mode = (spec.args.get("kind") or "ROWS").lower()
        range_key: Expr | None = None
        if mode == "range":
            range_key = order[0][0] if len(order) == 1 else None
        from aiondb.sql.expr_compile import compile_expr

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
            if mode == "range":
                if range_key is None:
                    raise errors.WindowingError(
                        "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY "
                        "column")
                off = self.coerce(off, _range_offset_type(range_key.type))
            else:
                off = self.coerce(off, T.INT8)
            return ("preceding" if s == "PRECEDING" else "following", compile_expr(off))

        start = bound(spec.args.get("start"), spec.args.get("start_side"))
        end_v = spec.args.get("end")
        end = bound(end_v, spec.args.get("end_side")) if end_v is not None else ("current", None)
        ex = spec.args.get("exclude")
        exclude = (ex.name if isinstance(ex, exp.Expr) else str(ex or "")).lower() or None
        if exclude == "no others":
            exclude = None
        if exclude not in (None, "current row", "group", "ties"):
            raise errors.SyntaxError(f"syntax error at or near \"{exclude}\"")
        range_ops = None
        if mode == "range" and range_key is not None and any(
                b[0] in ("preceding", "following") for b in (start, end)):
            range_ops = self._range_ops(range_key.type)
        return (mode, start, end, exclude, range_ops)

    def _range_ops(self, ktype: T.SqlType) -> tuple[Any, Any, Any, Any]:
        """(key + offset, key - offset, key < threshold, key > threshold) as
        functions over a row (value, other) for RANGE offset frames."""
        from aiondb.sql.expr_compile import compile_expr
        otype = _range_offset_type(ktype)
        key, off = Col(0, ktype), Col(1, otype)
        plus = self.operator("+", key, off, fold=False)
        minus = self.operator("-", key, off, fold=False)
        lt = self.operator("<", key, Col(1, plus.type), fold=False)
        gt = self.operator(">", key, Col(1, plus.type), fold=False)
        return tuple(compile_expr(e) for e in (plus, minus, lt, gt))  # type: ignore[return-value]

    def _coalesce(self, args_nodes: list, scope: Scope) -> Expr:
        if not args_nodes:
            raise errors.SyntaxError('syntax error at or near ")"')
        args = [self.expr(a, scope) for a in args_nodes]
        t = self.common_type(args, "COALESCE")
        return Coalesce([self.coerce(a, t) for a in args], t)

    def _nullif(self, args_nodes: list, scope: Scope) -> Expr:
        if len(args_nodes) != 2:
            raise errors.SyntaxError('syntax error at or near ")"' if len(args_nodes) < 2
                                     else 'syntax error at or near ","')
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
        if not args_nodes:
            raise errors.SyntaxError('syntax error at or near ")"')
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
        arg = self.expr(args_nodes[0], scope)
        t = arg.type
        value = RegValue(t.oid, t.base.sql_name() if t.elem is None else t.sql_name())
        if not any(isinstance(n, (AggCall, WindowCall)) for n in walk(arg)):
            return Const(value, T.REGTYPE)
        # keep the argument: an aggregate or window inside decides the query's shape
        return Call("pg_typeof", [arg], T.REGTYPE, lambda _v: value, strict=False)

    def _grouping(self, args_nodes: list, scope: Scope) -> Expr:
        """GROUPING(...): a placeholder the aggregation stage resolves."""
        if not self.allow_aggregates or self.agg_level > 0:
            raise errors.GroupingError("grouping operations are not allowed here")
        if not args_nodes or len(args_nodes) > 31:
            raise errors.TooManyArguments("GROUPING must have fewer than 32 arguments") \
                if args_nodes else errors.SyntaxError("GROUPING requires arguments")
        args = [self.expr(a, scope) for a in args_nodes]
        return Call("grouping", args, T.INT4, grouping_marker, strict=False)

    def _row_call(self, args_nodes: list, scope: Scope) -> Expr:
        return RowCtor([self.expr(a, scope) for a in args_nodes])

    def _array_call(self, args_nodes: list, scope: Scope) -> Expr:
        if len(args_nodes) == 1 and isinstance(args_nodes[0], (exp.Select, exp.Union,
                                                               exp.Subquery)):
            q = args_nodes[0]
            return self.subquery_expr("array", q.this if isinstance(q, exp.Subquery) else q,
                                      scope, None)
        raise errors.SyntaxError("syntax error at or near \"ARRAY\"")

# Parameter names (and defaults) of built-ins callable with named arguments
PARAMETERS: dict[str, list[tuple[str, tuple[Any, T.SqlType] | None]]] = {
    "make_interval": [("years", (0, T.INT4)), ("months", (0, T.INT4)), ("weeks", (0, T.INT4)),
                      ("days", (0, T.INT4)), ("hours", (0, T.INT4)), ("mins", (0, T.INT4)),
                      ("secs", (0.0, T.FLOAT8))],
    "make_date": [("year", None), ("month", None), ("day", None)],
    "make_time": [("hour", None), ("min", None), ("sec", None)],
    "make_timestamp": [("year", None), ("month", None), ("mday", None), ("hour", None),
                       ("min", None), ("sec", None)],
    "make_timestamptz": [("year", None), ("month", None), ("mday", None), ("hour", None),
                         ("min", None), ("sec", None), ("timezone", None)],
}

# PostgreSQL built-in functions of features AionDB does not have: 0A000, not 42883
UNSUPPORTED_FUNCTIONS = {
    **{f: "the SQL/JSON path language (jsonpath)" for f in (
        "jsonb_path_exists", "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array",
        "jsonb_path_query_first", "jsonb_path_exists_tz", "jsonb_path_match_tz",
        "jsonb_path_query_tz", "jsonb_path_query_array_tz", "jsonb_path_query_first_tz")},
    **{f: "full text search" for f in (
        "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery",
        "websearch_to_tsquery", "ts_rank", "ts_rank_cd", "ts_headline", "setweight")},
    **{f: "XML" for f in ("xmlparse", "xmlserialize", "xmlelement", "xmlforest", "xmlagg",
                          "xpath", "xpath_exists", "xmlconcat", "query_to_xml")},
    **{f: "the large object interface" for f in ("lo_create", "lo_import", "lo_export", "lo_unlink",
                                     "lo_open", "lo_get", "lo_put")},
    "pg_notify": "LISTEN/NOTIFY",
    **{f: "advisory locking" for f in (
        "pg_advisory_lock", "pg_advisory_unlock", "pg_try_advisory_lock",
        "pg_advisory_xact_lock", "pg_try_advisory_xact_lock", "pg_advisory_lock_shared",
        "pg_advisory_unlock_all")},
}


def grouping_marker(*args: Any) -> Any:
    """Stands for GROUPING(...) until aggregation rewrites it."""
    raise errors.GroupingError("GROUPING is only allowed with GROUP BY")


def _range_offset_type(ktype: T.SqlType) -> T.SqlType:
    """The type of a RANGE frame offset for an ORDER BY key of type ktype."""
    if ktype.category == "D" or ktype.oid == T.INTERVAL.oid:
        return T.INTERVAL
    if ktype.category == "N" and ktype.elem is None:
        return ktype.base
    raise errors.FeatureNotSupported(
        f"RANGE with offset PRECEDING/FOLLOWING is not supported for column type "
        f"{ktype.sql_name()}")


_SPECIAL_CALLS = {
    "coalesce": CallBinder._coalesce,
    "nullif": CallBinder._nullif,
    "greatest": CallBinder._greatest,
    "least": CallBinder._least,
    "row": CallBinder._row_call,
    "grouping": CallBinder._grouping,
    "pg_typeof": CallBinder._pg_typeof,
    "array": CallBinder._array_call,
}
