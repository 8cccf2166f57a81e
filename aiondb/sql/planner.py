"""Optimizer: an ordered list of passes, each plan → plan.

1. push_filters     move WHERE conjuncts into scans and below joins
2. access_paths     primary-key / index equality → KeyLookup, ranges → KeyRange
3. hash_joins       equi-joins → HashJoin (with an index probe of the inner table
                    when one fits: used at run time if the outer side is small)
4. index_order      ORDER BY <key> [LIMIT] over a table → ordered key scan, no sort
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql.expr import BoolOp, Call, Col, Expr, SubqueryExpr, transform, walk
from aiondb.sql.plan_index import canon, index_slots, key_side, predicate_implied, usable
from aiondb.storage.catalog import Catalog, IndexDef


def conjuncts(e: Expr | None) -> list[Expr]:
    if e is None:
        return []
    if isinstance(e, BoolOp) and e.op == "and":
        out: list[Expr] = []
        for a in e.args:
            out += conjuncts(a)
        return out
    return [e]


def conjoin(parts: list[Expr]) -> Expr | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else BoolOp("and", parts)


def columns_used(e: Expr) -> set[int]:
    return {n.index for n in walk(e) if isinstance(n, Col)}


def _has_volatile_or_subquery(e: Expr) -> bool:
    return any(isinstance(n, SubqueryExpr) or (isinstance(n, Call) and n.volatile)
               for n in walk(e))


def shift(e: Expr, delta: int) -> Expr:
    return transform(e, lambda n: Col(n.index + delta, n.type, n.name)
                     if isinstance(n, Col) else None)


def _map_children(p: P.Plan, fn: Callable[[P.Plan], P.Plan]) -> P.Plan:
    if isinstance(p, (P.Filter, P.Project, P.Aggregate, P.Window, P.Sort, P.Limit, P.Distinct,
                      P.LockRows, P.ProjectSet, P.RunCtes)):
        return replace(p, input=fn(p.input))
    if isinstance(p, (P.NestedLoopJoin, P.HashJoin, P.SetOp)):
        return replace(p, left=fn(p.left), right=fn(p.right))
    if isinstance(p, (P.Insert, P.Update, P.Delete)):
        return replace(p, source=fn(p.source))
    if isinstance(p, P.CteScan):
        cte = p.cte
        if cte.plan is not None and not getattr(cte, "_optimized", False):
            cte._optimized = True  # type: ignore[attr-defined]
            cte.plan = fn(cte.plan)
            if cte.recursive_plan is not None:
                cte.recursive_plan = fn(cte.recursive_plan)
        return p
    return p


# --- 1. filter push-down -------------------------------------------------------------------------

def push_filters(p: P.Plan, catalog: Catalog) -> P.Plan:
    p = _map_children(p, lambda c: push_filters(c, catalog))
    if not isinstance(p, P.Filter):
        return p
    inp = p.input
    if isinstance(inp, (P.Scan, P.KeyLookup, P.KeyRange, P.SystemScan)):
        merged = conjoin(conjuncts(inp.filter) + conjuncts(p.predicate))
        return replace(inp, filter=merged)
    if isinstance(inp, P.Filter):
        return push_filters(P.Filter(inp.input, conjoin(conjuncts(inp.predicate) +
                                                       conjuncts(p.predicate)),  # type: ignore
                                     inp.columns), catalog)
    if isinstance(inp, P.NestedLoopJoin) and inp.kind in ("inner", "left"):
        nleft = len(inp.left.columns)
        left_parts: list[Expr] = []
        right_parts: list[Expr] = []
        keep: list[Expr] = []
        for c in conjuncts(p.predicate):
            used = columns_used(c)
            if _has_volatile_or_subquery(c) or not used:
                keep.append(c)
            elif max(used) < nleft:
                left_parts.append(c)
            elif min(used) >= nleft and inp.kind == "inner":
                right_parts.append(shift(c, -nleft))
            else:
                keep.append(c)
        left = inp.left
        right = inp.right
        if left_parts:
            left = push_filters(P.Filter(left, conjoin(left_parts), left.columns),  # type: ignore
                                catalog)
        if right_parts:
            right = push_filters(P.Filter(right, conjoin(right_parts),  # type: ignore
                                          right.columns), catalog)
        cond = inp.condition
        if inp.kind == "inner" and keep:
            cond = conjoin(conjuncts(cond) + keep)
            keep = []
        join = replace(inp, left=left, right=right, condition=cond)
        return P.Filter(join, conjoin(keep), join.columns) if keep else join  # type: ignore
    return p


def push_join_conditions(p: P.Plan, catalog: Catalog) -> P.Plan:
    """Single-side conjuncts of an inner join's condition go below the join."""
    p = _map_children(p, lambda c: push_join_conditions(c, catalog))
    if isinstance(p, P.NestedLoopJoin) and p.kind == "inner" and p.condition is not None:
        nleft = len(p.left.columns)
        left_parts, right_parts, keep = [], [], []
        for c in conjuncts(p.condition):
            used = columns_used(c)
            if _has_volatile_or_subquery(c) or not used:
                keep.append(c)
            elif max(used) < nleft:
                left_parts.append(c)
            elif min(used) >= nleft:
                right_parts.append(shift(c, -nleft))
            else:
                keep.append(c)
        if left_parts or right_parts:
            left = push_filters(P.Filter(p.left, conjoin(left_parts), p.left.columns),  # type: ignore
                                catalog) if left_parts else p.left
            right = push_filters(P.Filter(p.right, conjoin(right_parts),  # type: ignore
                                          p.right.columns), catalog) if right_parts else p.right
            return replace(p, left=left, right=right, condition=conjoin(keep))
    return p


# --- 2. access paths --------------------------------------------------------------------------------

def access_paths(p: P.Plan, catalog: Catalog) -> P.Plan:
    p = _map_children(p, lambda c: access_paths(c, catalog))
    if not isinstance(p, P.Scan) or p.filter is None:
        return p
    tdef = p.table
    parts = conjuncts(p.filter)
    # conditions by the structure of their indexed side (a column or expression)
    eq: dict[Any, tuple[int, Expr]] = {}
    ranges: dict[Any, list[tuple[int, Expr, str]]] = {}
    for i, c in enumerate(parts):
        ks = key_side(c, len(tdef.columns))
        if ks is None:
            continue
        side, key, op = ks
        if not usable(side.type, key):
            continue
        if op == "=":
            eq.setdefault(canon(side), (i, key))
        else:
            ranges.setdefault(canon(side), []).append((i, key, op))
    pk = tdef.pk_positions
    pk_slots = [canon(Col(c, tdef.columns[c].type)) for c in pk]
    if pk and all(s in eq for s in pk_slots):
        used = {eq[s][0] for s in pk_slots}
        rest = conjoin([c for i, c in enumerate(parts) if i not in used])
        return P.KeyLookup(tdef, [eq[s][1] for s in pk_slots], p.columns, None, p.with_key,
                           rest)
    # usable indexes: their slots, and the conjuncts a partial index makes true
    indexes: list[tuple[IndexDef, list[Any], set[int]]] = []
    for idx in catalog.indexes_of(tdef.oid):
        if idx.primary or idx.method != "btree":
            continue
        slots, pred = index_slots(tdef, idx)
        implied = predicate_implied(pred, parts)
        if implied is not None:
            indexes.append((idx, [canon(s) for s in slots], implied))
    best: tuple[IndexDef, list[Any], set[int]] | None = None
    for entry in indexes:
        if all(s in eq for s in entry[1]) and (best is None or entry[0].unique and
                                               not best[0].unique):
            best = entry
    if best is not None:
        idx, slots, implied = best
        used = {eq[s][0] for s in slots} | implied
        rest = conjoin([c for i, c in enumerate(parts) if i not in used])
        return P.KeyLookup(tdef, [eq[s][1] for s in slots], p.columns, idx, p.with_key, rest)
    candidates: list[tuple[IndexDef | None, Any, set[int]]] = []
    if len(pk) == 1:
        candidates.append((None, pk_slots[0], set()))
    for idx, slots, implied in indexes:
        if len(slots) == 1:
            candidates.append((idx, slots[0], implied))
    for idx_or_none, slot, implied in candidates:
        rs = ranges.get(slot)
        if not rs:
            continue
        lo = hi = None
        lo_inc = hi_inc = True
        lo_at = hi_at = -1
        for at, key, op in rs:
            if op in (">", ">="):
                lo, lo_inc, lo_at = [key], op == ">=", at
            else:
                hi, hi_inc, hi_at = [key], op == "<=", at
        # the conjuncts that became bounds need no re-check; the others stay
        rest = conjoin([c for i, c in enumerate(parts)
                        if i not in (lo_at, hi_at) and i not in implied])
        return P.KeyRange(tdef, p.columns, idx_or_none, lo, hi, lo_inc, hi_inc, False,
                          p.with_key, rest)
    return p


# --- 3. hash joins -------------------------------------------------------------------------------

def hash_joins(p: P.Plan, catalog: Catalog) -> P.Plan:
    p = _map_children(p, lambda c: hash_joins(c, catalog))
    if not isinstance(p, P.NestedLoopJoin) or p.lateral_corr or p.condition is None:
        return p
    nleft = len(p.left.columns)
    lkeys: list[Expr] = []
    rkeys: list[Expr] = []
    residual: list[Expr] = []
    for c in conjuncts(p.condition):
        if isinstance(c, Call) and c.name == "=" and len(c.args) == 2 and \
                not _has_volatile_or_subquery(c):
            a, b = c.args
            ua, ub = columns_used(a), columns_used(b)
            if ua and ub and max(ua) < nleft and min(ub) >= nleft and \
                    a.type.oid == b.type.oid and a.type.oid not in (T.FLOAT4.oid,
                                                                    T.FLOAT8.oid,
                                                                    T.BPCHAR.oid):
                lkeys.append(a)
                rkeys.append(shift(b, -nleft))
                continue
            if ua and ub and max(ub) < nleft and min(ua) >= nleft and \
                    a.type.oid == b.type.oid and a.type.oid not in (T.FLOAT4.oid,
                                                                    T.FLOAT8.oid,
                                                                    T.BPCHAR.oid):
                lkeys.append(b)
                rkeys.append(shift(a, -nleft))
                continue
        residual.append(c)
    if not lkeys:
        return p
    probe = _index_probe(p.right, lkeys, rkeys, catalog) if p.kind in (
        "inner", "left", "semi", "anti") else None
    return P.HashJoin(p.left, p.right, p.kind, lkeys, rkeys, conjoin(residual), p.columns,
                      probe)


def _index_probe(right: P.Plan, lkeys: list[Expr], rkeys: list[Expr],
                 catalog: Catalog) -> P.KeyLookup | None:
    """A lookup of the inner table by the join keys (computed over the outer
    row), when the inner side is a plain scan and its primary key or a
    btree index covers exactly the join columns."""
    if not isinstance(right, P.Scan) or right.with_key:
        return None
    if not all(type(k) is Col for k in rkeys):
        return None
    tdef = right.table
    by_pos = {k.index: lk for k, lk in zip(rkeys, lkeys, strict=True)}  # type: ignore[attr-defined]
    if len(by_pos) != len(rkeys) or max(by_pos) >= len(tdef.columns):
        return None
    if any(not usable(tdef.columns[pos].type, lk) for pos, lk in by_pos.items()):
        return None
    pk = tdef.pk_positions
    if pk and set(pk) == set(by_pos):
        return P.KeyLookup(tdef, [by_pos[c] for c in pk], right.columns, None, False,
                           right.filter)
    for idx in catalog.indexes_of(tdef.oid):
        if idx.primary or idx.method != "btree" or idx.predicate or idx.exprs or \
                not all(idx.attnums):
            continue
        positions = [tdef.position(a) for a in idx.attnums]
        if len(positions) == len(by_pos) and set(positions) == set(by_pos):
            return P.KeyLookup(tdef, [by_pos[c] for c in positions], right.columns, idx,
                               False, right.filter)
    return None


# --- 4. index order ---------------------------------------------------------------------------------

def index_order(p: P.Plan, catalog: Catalog) -> P.Plan:
    p = _map_children(p, lambda c: index_order(c, catalog))
    if not isinstance(p, P.Sort) or len(p.keys) != 1:
        return p
    key = p.keys[0]
    inp = p.input
    project = None
    if isinstance(inp, P.Project):
        project = inp
        inp = inp.input
    if not isinstance(inp, (P.Scan, P.KeyRange)) or not isinstance(key.expr, Col):
        return p
    col_index = key.expr.index
    if project is not None:
        src = project.exprs[col_index]
        if not isinstance(src, Col):
            return p
        col_index = src.index
    # PostgreSQL's defaults: ASC NULLS LAST / DESC NULLS FIRST match the index order
    if key.nulls_first is not None and key.nulls_first != key.desc:
        return p
    tdef = inp.table
    if col_index >= len(tdef.columns):
        return p
    index: IndexDef | None | bool = False
    if tdef.pk_positions == (col_index,):
        index = None
    else:
        for idx in catalog.indexes_of(tdef.oid):
            if not idx.primary and idx.method == "btree" and len(idx.attnums) == 1 and \
                    idx.attnums[0] and not idx.predicate and \
                    tdef.position(idx.attnums[0]) == col_index:
                index = idx
                break
    if index is False:
        return p
    if isinstance(inp, P.KeyRange):
        if inp.index is not index:
            return p
        scan: P.Plan = replace(inp, reverse=key.desc)
    else:
        scan = P.KeyRange(tdef, inp.columns, index, None, None, True, True,  # type: ignore
                          key.desc, inp.with_key, inp.filter)
    if project is not None:
        return replace(project, input=scan)
    return scan


PASSES: list[Callable[[P.Plan, Catalog], P.Plan]] = [
    push_filters, push_join_conditions, access_paths, hash_joins, index_order,
]


def optimize(p: P.Plan, catalog: Catalog) -> P.Plan:
    for fn in PASSES:
        p = fn(p, catalog)
    return p

