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

from aiondb.sql.expr import Col, Expr, compile_expr
from aiondb.sql.fn_core import NUM

# loop(rows, ctx, groups): adds every row to groups {key: [group values, state...]}
GroupLoop = Callable[[Iterable[tuple], Any, dict], None]


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {}

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
        parts = [src.value(g) for g in group_exprs]
        src.emit(1, "for row in rows:")
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
    ns = dict(src.ns)
    exec("\n".join(src.lines), ns)  # noqa: S102 - generated source, see the module doc
    return ns["loop"]  # type: ignore[no-any-return]
