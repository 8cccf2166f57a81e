"""The hash-aggregation loop, generated as Python source once per plan.

A GROUP BY over many rows spends its time in the per-row work: evaluating
the group key, finding the group, stepping each aggregate. Written as one
generated function, that work has no per-row closure calls for plain column
references, no argument lists and no generic dispatch; common aggregates
(count, sum, avg, min, max) are stepped inline. The source holds only
generated identifiers and integers; everything else (compiled expressions,
step functions) is passed in the function's namespace.

Used for plain GROUP BY (no grouping sets) whose aggregates have no DISTINCT
or ORDER BY; AggregateOp keeps the general path for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiondb import types as T
from aiondb.sql.expr import Call, Col, Const, Expr, Param, SubqueryExpr, walk
from aiondb.sql.expr_compile import compile_expr
from aiondb.sql.fn_core import NUM

# column types whose equal values are indistinguishable to any function (not
# numeric: 1.0 = 1.00 prints differently; not floats: 0.0 = -0.0)
_MEMO_TYPES = frozenset((T.INT2.oid, T.INT4.oid, T.INT8.oid, T.TEXT.oid, T.VARCHAR.oid,
                         T.NAME.oid, T.BOOL.oid, T.OID.oid, T.DATE.oid, T.TIMESTAMP.oid,
                         T.UUID.oid))
MEMO_LIMIT = 4096       # distinct inputs remembered per group expression

# loop(rows, ctx, groups): adds every row to groups {key: [group values, state...]}
GroupLoop = Callable[[Iterable[tuple], Any, dict], None]


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {}
        self.memos: list[str] = []

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def bind(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = value
        return name

    def value(self, e: Expr) -> str:
        """Source for an expression's value over `row`."""
        if type(e) is Col:
            return f"row[{int(e.index)}]"
        return f"{self.bind('f', compile_expr(e))}(row, ctx)"

    def memo_value(self, depth: int, e: Expr, var: str) -> str:
        """Emits code computing a group expression into `var`. An expression
        of one column (date_trunc('month', d), lower(t)) is computed once
        per distinct value of that column in this run, not once per row."""
        col = _single_column(e)
        if col is None:
            return self.value(e)
        f = self.bind("f", compile_expr(e))
        memo = self.bind("memo", None)
        self.memos.append(memo)
        self.emit(depth, f"c = row[{int(col)}]")
        self.emit(depth, "try:")
        self.emit(depth + 1, f"{var} = {memo}[c]")
        self.emit(depth, "except KeyError:")
        self.emit(depth + 1, f"{var} = {f}(row, ctx)")
        self.emit(depth + 1, f"if len({memo}) < {MEMO_LIMIT}:")
        self.emit(depth + 2, f"{memo}[c] = {var}")
        return var


def _single_column(e: Expr) -> int | None:
    """The one column a deterministic, non-trivial expression reads, if
    memoizing it by that column's value is safe."""
    if type(e) is Col:
        return None
    cols = set()
    for n in walk(e):
        if isinstance(n, SubqueryExpr) or (isinstance(n, Call) and n.volatile):
            return None
        if type(n) is Col:
            if n.type.oid not in _MEMO_TYPES:
                return None
            cols.add(n.index)
        elif not n.children() and not isinstance(n, (Const, Param)):
            return None     # outer references, anything else read per row
    return cols.pop() if len(cols) == 1 else None


def compile_group_loop(group_exprs: list[Expr], aggs: list[tuple[Any, list[Expr],
                                                                   Expr | None, bool]],
                       hashable: Callable[[Any], Any]) -> GroupLoop:
    """aggs: (AggregateDef, argument expressions, FILTER or None, strict)."""
    from aiondb.sql import aggregates as A
    src = _Source()
    inits = ", ".join(f"{src.bind('i', impl.init)}()" for impl, _a, _f, _s in aggs)
    new_entry = f"[key, {inits}]" if aggs else "[key]"
    src.emit(0, "def loop(rows, ctx, groups):")
    src.emit(1, "get = groups.get")
    depth = 2
    if not group_exprs:
        # one group: find it once
        src.emit(1, "key = ()")
        src.emit(1, "st = get(key)")
        src.emit(1, "if st is None:")
        src.emit(2, f"st = groups[key] = {new_entry}")
        src.emit(1, "for row in rows:")
        src.emit(2, "pass")
    else:
        src.emit(1, "for row in rows:")
        parts = [src.memo_value(2, g, f"k{i}") for i, g in enumerate(group_exprs)]
        src.emit(2, f"key = ({', '.join(parts)},)")
        src.emit(2, "try:")
        src.emit(3, "st = get(key)")
        src.emit(2, "except TypeError:")
        # a value Python cannot hash (an array, a json document)
        src.emit(3, f"hkey = tuple([{src.bind('h', hashable)}(v) for v in key])")
        src.emit(3, "st = get(hkey)")
        src.emit(3, "if st is None:")
        src.emit(4, f"st = groups[hkey] = {new_entry}")
        src.emit(2, "if st is None:")
        src.emit(3, f"st = groups[key] = {new_entry}")
    for j, (impl, args, flt, strict) in enumerate(aggs):
        slot = j + 1
        d = depth
        if flt is not None:
            src.emit(d, f"if {src.value(flt)} is True:")
            d += 1
        names = []
        for k, a in enumerate(args):
            src.emit(d, f"a{k} = {src.value(a)}")
            names.append(f"a{k}")
        if strict and names:
            src.emit(d, f"if {' and '.join(n + ' is not None' for n in names)}:")
            d += 1
        step = impl.step
        if step is A._count_step:
            src.emit(d, f"st[{slot}] += 1")
        elif step is A._sum_step and len(names) == 1:
            src.emit(d, f"s = st[{slot}]")
            src.emit(d, f"st[{slot}] = a0 if s is None else s + a0")
        elif step is A._sum_numeric and len(names) == 1:
            src.emit(d, f"s = st[{slot}]")
            src.emit(d, f"st[{slot}] = a0 if s is None else {src.bind('add', NUM.add)}(s, a0)")
        elif step is A._avg_step and len(names) == 1:
            src.emit(d, f"s = st[{slot}]")
            src.emit(d, "t = s[0]")
            src.emit(d, "s[0] = a0 if t is None else t + a0")
            src.emit(d, "s[1] += 1")
        elif step is A._min_step and len(names) == 1:
            src.emit(d, f"s = st[{slot}]")
            src.emit(d, "if s is None or a0 < s:")
            src.emit(d + 1, f"st[{slot}] = a0")
        elif step is A._max_step and len(names) == 1:
            src.emit(d, f"s = st[{slot}]")
            src.emit(d, "if s is None or a0 > s:")
            src.emit(d + 1, f"st[{slot}] = a0")
        else:
            call = ", ".join([f"st[{slot}]"] + names)
            src.emit(d, f"st[{slot}] = {src.bind('step', step)}({call})")
    for memo in src.memos:
        # a fresh memo per run: stable functions may differ between statements
        src.lines.insert(1, f"    {memo} = {{}}")
    ns = dict(src.ns)
    exec("\n".join(src.lines), ns)  # noqa: S102 - generated source, see the module doc
    return ns["loop"]  # type: ignore[no-any-return]
