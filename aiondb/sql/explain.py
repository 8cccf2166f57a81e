"""EXPLAIN: the plan as an indented tree, in PostgreSQL's vocabulary
(Seq Scan, Index Scan, Hash Join ...), without cost estimates."""

from __future__ import annotations

from typing import Any

from aiondb.sql import plan as P
from aiondb.sql.expr import (
    AggCall,
    BoolOp,
    Call,
    Case,
    Cast,
    Coalesce,
    Col,
    Const,
    Expr,
    InList,
    IsBool,
    IsNull,
    Not,
    OuterRef,
    Param,
    SubqueryExpr,
    WindowCall,
)
from aiondb.sql.textio import format_text
from aiondb.storage.table import index_labels


def describe(e: Expr | None, cols: list[P.OutCol]) -> str:
    if e is None:
        return ""
    if isinstance(e, Col):
        return cols[e.index].name if e.index < len(cols) else e.name or f"${e.index}"
    if isinstance(e, Const):
        if e.value is None:
            return "NULL"
        text = format_text(e.type, e.value)
        return text if e.type.category in ("N", "B") else f"'{text}'::{e.type.sql_name()}"
    if isinstance(e, Param):
        return f"${e.index + 1}"
    if isinstance(e, OuterRef):
        return f"$outer{e.index}"
    if isinstance(e, Call):
        args = [describe(a, cols) for a in e.args]
        if len(args) == 2 and not e.name.isidentifier():
            return f"({args[0]} {e.name} {args[1]})"
        if len(args) == 1 and not e.name.isidentifier():
            return f"({e.name}{args[0]})"
        return f"{e.name}({', '.join(args)})"
    if isinstance(e, Cast):
        return f"({describe(e.arg, cols)})::{e.type.sql_name()}"
    if isinstance(e, BoolOp):
        return "(" + f" {e.op.upper()} ".join(describe(a, cols) for a in e.args) + ")"
    if isinstance(e, Not):
        return f"(NOT {describe(e.arg, cols)})"
    if isinstance(e, IsNull):
        return f"({describe(e.arg, cols)} IS {'NOT ' if e.negate else ''}NULL)"
    if isinstance(e, IsBool):
        v = {True: "TRUE", False: "FALSE", None: "UNKNOWN"}[e.value]
        return f"({describe(e.arg, cols)} IS {'NOT ' if e.negate else ''}{v})"
    if isinstance(e, InList):
        items = ", ".join(describe(i, cols) for i in e.items)
        return f"({describe(e.arg, cols)} {'NOT ' if e.negate else ''}IN ({items}))"
    if isinstance(e, Coalesce):
        return f"COALESCE({', '.join(describe(a, cols) for a in e.args)})"
    if isinstance(e, Case):
        return "CASE ... END"
    if isinstance(e, SubqueryExpr):
        return f"(SubPlan {e.kind})"
    if isinstance(e, (AggCall, WindowCall)):
        return f"{e.name}({', '.join(describe(a, cols) for a in e.args)})"
    return type(e).__name__


def _input_cols(p: P.Plan) -> list[P.OutCol]:
    ins = p.inputs()
    if len(ins) == 1:
        return ins[0].columns
    if len(ins) == 2:
        return ins[0].columns + ins[1].columns
    return p.columns


def _node_lines(p: P.Plan) -> tuple[str, list[str]]:
    """(node title, detail lines)."""
    details: list[str] = []
    if isinstance(p, P.Scan):
        if p.filter is not None:
            details.append(f"Filter: {describe(p.filter, p.columns)}")
        return f"Seq Scan on {p.table.name}", details
    if isinstance(p, P.KeyLookup):
        if p.index is None:
            labels = [p.table.columns[pos].name for pos in p.table.pk_positions]
            title = f"Index Scan using {p.table.name}_pkey on {p.table.name}"
        else:
            labels = index_labels(p.table, p.index)
            title = f"Index Scan using {p.index.name} on {p.table.name}"
        conds = [f"({label} = {describe(k, p.columns)})"
                 for label, k in zip(labels, p.keys, strict=False)]
        details.append("Index Cond: " + (conds[0] if len(conds) == 1 else
                                          "(" + " AND ".join(conds) + ")"))
        if p.filter is not None:
            details.append(f"Filter: {describe(p.filter, p.columns)}")
        return title, details
    if isinstance(p, P.KeyRange):
        name = p.index.name if p.index is not None else f"{p.table.name}_pkey"
        title = f"Index Scan{' Backward' if p.reverse else ''} using {name} on {p.table.name}"
        col = p.table.columns[p.table.pk_positions[0]].name if p.index is None else \
            index_labels(p.table, p.index)[0]
        bounds = []
        if p.lo:
            op = ">=" if p.lo_inclusive else ">"
            bounds.append(f"({col} {op} {describe(p.lo[0], p.columns)})")
        if p.hi:
            op = "<=" if p.hi_inclusive else "<"
            bounds.append(f"({col} {op} {describe(p.hi[0], p.columns)})")
        if bounds:
            details.append("Index Cond: " + (bounds[0] if len(bounds) == 1 else
                                              "(" + " AND ".join(bounds) + ")"))
        if p.filter is not None:
            details.append(f"Filter: {describe(p.filter, p.columns)}")
        return title, details
    if isinstance(p, P.SystemScan):
        if p.filter is not None:
            details.append(f"Filter: {describe(p.filter, p.columns)}")
        return f"Function Scan on {p.name}", details
    if isinstance(p, P.FunctionScan):
        return f"Function Scan on {p.fn.name}", details
    if isinstance(p, P.Filter):
        details.append(f"Filter: {describe(p.predicate, _input_cols(p))}")
        return "Filter", details
    if isinstance(p, P.Project):
        return "Result" if not isinstance(p.input, P.Result) else "Result", details
    if isinstance(p, P.NestedLoopJoin):
        kind = {"inner": "", "left": " Left Join", "right": " Right Join",
                "full": " Full Join", "semi": " Semi Join", "anti": " Anti Join"}[p.kind]
        if p.condition is not None:
            details.append(f"Join Filter: {describe(p.condition, p.columns)}")
        return f"Nested Loop{kind}", details
    if isinstance(p, P.HashJoin):
        kind = {"inner": "Hash Join", "left": "Hash Left Join", "right": "Hash Right Join",
                "full": "Hash Full Join", "semi": "Hash Semi Join",
                "anti": "Hash Anti Join"}[p.kind]
        conds = " AND ".join(
            f"{describe(lk, p.left.columns)} = {describe(rk, p.right.columns)}"
            for lk, rk in zip(p.left_keys, p.right_keys, strict=True))
        details.append(f"Hash Cond: ({conds})")
        probe = p.index_probe
        if probe is not None:
            # exec_joins.HashJoinOp: per outer row lookups when the outer side is small
            name = probe.index.name if probe.index is not None else f"{probe.table.name}_pkey"
            labels = index_labels(probe.table, probe.index) if probe.index is not None else \
                [probe.table.columns[pos].name for pos in probe.table.pk_positions]
            keys = " AND ".join(f"{label} = {describe(k, p.left.columns)}"
                                for label, k in zip(labels, probe.keys, strict=False))
            details.append(f"Small Outer Side: Index Scan using {name} on "
                           f"{probe.table.name} ({keys}) per outer row")
        return kind, details
    if isinstance(p, P.Aggregate):
        if p.group_exprs:
            details.append("Group Key: " + ", ".join(describe(g, p.input.columns)
                                                     for g in p.group_exprs))
            return "HashAggregate", details
        return "Aggregate", details
    if isinstance(p, P.Window):
        return "WindowAgg", details
    if isinstance(p, P.ProjectSet):
        return "ProjectSet", details
    if isinstance(p, P.Sort):
        keys = []
        for k in p.keys:
            keys.append(describe(k.expr, p.input.columns) + (" DESC" if k.desc else ""))
        details.append("Sort Key: " + ", ".join(keys))
        return "Sort", details
    if isinstance(p, P.Limit):
        return "Limit", details
    if isinstance(p, P.Distinct):
        return "Unique" if p.on else "HashAggregate", details
    if isinstance(p, P.SetOp):
        name = {"union": "Append" if p.all else "HashAggregate",
                "intersect": "HashSetOp Intersect", "except": "HashSetOp Except"}[p.op]
        return name, details
    if isinstance(p, P.CteScan):
        return f"CTE Scan on {p.cte.name}", details
    if isinstance(p, P.WorkTableScan):
        return f"WorkTable Scan on {p.cte.name}", details
    if isinstance(p, P.LockRows):
        return "LockRows", details
    if isinstance(p, P.Values):
        return 'Values Scan on "*VALUES*"', details
    if isinstance(p, P.Result):
        return "Result", details
    if isinstance(p, P.Insert):
        return f"Insert on {p.table.name}", details
    if isinstance(p, P.Update):
        return f"Update on {p.table.name}", details
    if isinstance(p, P.Delete):
        return f"Delete on {p.table.name}", details
    return type(p).__name__, details


def explain_lines(p: P.Plan) -> list[str]:
    lines: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if isinstance(node, P.Project):
            # PostgreSQL computes the target list inside the node below
            walk(node.input, depth)
            return
        title, details = _node_lines(node)
        # "->  " sits 6 columns right of its parent's title; details 2 right of the arrow
        prefix = "" if depth == 0 else " " * (6 * depth - 4) + "->  "
        lines.append(prefix + title)
        pad = " " * (6 * depth + 2) if depth else "  "
        for d in details:
            lines.append(pad + d)
        children = list(node.inputs())
        if isinstance(node, (P.Insert, P.Update, P.Delete)):
            children = [node.source]
        if isinstance(node, P.CteScan) and node.cte.plan is not None and depth == 0:
            children = [node.cte.plan]
        for c in children:
            walk(c, depth + 1)
    walk(p, 0)
    return lines
