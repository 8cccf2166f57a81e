"""Window functions and the window operator.

Frames follow PostgreSQL: with ORDER BY the default frame is RANGE BETWEEN
UNBOUNDED PRECEDING AND CURRENT ROW (peers included); without it, the whole
partition. ROWS, RANGE and GROUPS frames take offsets; RANGE offsets are in
the ORDER BY key's units (an interval for date/time keys); EXCLUDE CURRENT
ROW / GROUP / TIES leave rows out of each row's frame."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql.exec_base import ExecContext, Operator, hashable, sort_rows, sort_value_fn
from aiondb.sql.expr_compile import compile_expr
from aiondb.sql.functions import ANYELEMENT, WINDOW_FUNCTIONS


@dataclass(frozen=True)
class WindowDef:
    name: str
    args: tuple
    ret: Any
    fn: Callable[..., list]   # fn(partition_rows_args, peers_groups, ctx) → list of values
    variadic: Any = None      # overload resolution treats window functions like functions


def window(name: str, args: tuple, ret: Any) -> Callable[[Callable], Callable]:
    def deco(fn: Callable) -> Callable:
        WINDOW_FUNCTIONS.setdefault(name, []).append(WindowDef(name, args, ret, fn))
        return fn
    return deco


# Each window function gets: n (partition size), args (list of per-row arg lists),
# peer_start/peer_end (index range of each row's peer group), frame(i) → the row
# indexes of row i's frame, in order (a range unless EXCLUDE removes some).

@window("row_number", (), T.INT8)
def _row_number(n: int, args: list, peers: list, frame: Callable) -> list:
    return list(range(1, n + 1))


@window("rank", (), T.INT8)
def _rank(n: int, args: list, peers: list, frame: Callable) -> list:
    return [peers[i][0] + 1 for i in range(n)]


@window("dense_rank", (), T.INT8)
def _dense_rank(n: int, args: list, peers: list, frame: Callable) -> list:
    out = []
    rank = 0
    last = None
    for i in range(n):
        if peers[i] != last:
            rank += 1
            last = peers[i]
        out.append(rank)
    return out


@window("percent_rank", (), T.FLOAT8)
def _percent_rank(n: int, args: list, peers: list, frame: Callable) -> list:
    return [0.0 if n <= 1 else peers[i][0] / (n - 1) for i in range(n)]


@window("cume_dist", (), T.FLOAT8)
def _cume_dist(n: int, args: list, peers: list, frame: Callable) -> list:
    return [peers[i][1] / n for i in range(n)]


@window("ntile", (T.INT4,), T.INT4)
def _ntile(n: int, args: list, peers: list, frame: Callable) -> list:
    if n == 0:
        return []
    buckets = args[0][0]
    if buckets is None:
        return [None] * n
    if buckets <= 0:
        raise errors.InvalidParameterValue("argument of ntile must be greater than zero")
    out = []
    base, extra = divmod(n, buckets)
    b = 1
    count = 0
    size = base + (1 if extra > 0 else 0)
    for _ in range(n):
        if count >= size:
            b += 1
            count = 0
            size = base + (1 if b <= extra else 0)
        out.append(b)
        count += 1
    return out


def _lag_lead(sign: int) -> Callable:
    def fn(n: int, args: list, peers: list, frame: Callable) -> list:
        out = []
        for i in range(n):
            a = args[i]
            off = a[1] if len(a) > 1 else 1
            default = a[2] if len(a) > 2 else None
            if off is None:
                out.append(None)
                continue
            j = i + sign * off
            out.append(args[j][0] if 0 <= j < n else default)
        return out
    return fn


for _name, _sign in (("lag", -1), ("lead", 1)):
    window(_name, (ANYELEMENT,), ANYELEMENT)(_lag_lead(_sign))
    window(_name, (ANYELEMENT, T.INT4), ANYELEMENT)(_lag_lead(_sign))
    window(_name, (ANYELEMENT, T.INT4, ANYELEMENT), ANYELEMENT)(_lag_lead(_sign))


@window("first_value", (ANYELEMENT,), ANYELEMENT)
def _first_value(n: int, args: list, peers: list, frame: Callable) -> list:
    out = []
    for i in range(n):
        rows = frame(i)
        out.append(args[rows[0]][0] if len(rows) else None)
    return out


@window("last_value", (ANYELEMENT,), ANYELEMENT)
def _last_value(n: int, args: list, peers: list, frame: Callable) -> list:
    out = []
    for i in range(n):
        rows = frame(i)
        out.append(args[rows[-1]][0] if len(rows) else None)
    return out


@window("nth_value", (ANYELEMENT, T.INT4), ANYELEMENT)
def _nth_value(n: int, args: list, peers: list, frame: Callable) -> list:
    out = []
    for i in range(n):
        rows = frame(i)
        k = args[i][1]
        if k is not None and k <= 0:
            raise errors.InvalidParameterValue("argument of nth_value must be greater than zero")
        out.append(args[rows[k - 1]][0] if k is not None and k <= len(rows) else None)
    return out


def is_window_function(name: str) -> bool:
    return name in WINDOW_FUNCTIONS


# --- operator -------------------------------------------------------------------------------------

class WindowOp(Operator):
    __slots__ = ("input", "calls")

    def __init__(self, p: P.Window, input_op: Operator) -> None:
        self.input = input_op
        self.calls = []
        for c in p.calls:
            self.calls.append((
                c,
                [compile_expr(a) for a in c.args],
                [compile_expr(e) for e in c.partition],
                [(compile_expr(o[0]), o[1], o[2], sort_value_fn(o[0].type)) for o in c.order],
                compile_expr(c.filter) if c.filter is not None else None,
            ))

    def rows(self, ctx: ExecContext) -> list[tuple]:
        data = list(self.input.rows(ctx))
        n = len(data)
        results: list[list[Any]] = [[] for _ in range(n)]
        for call, argfns, partfns, order, flt in self.calls:
            values = self._compute(data, call, argfns, partfns, order, flt, ctx)
            for i in range(n):
                results[i].append(values[i])
        return [data[i] + tuple(results[i]) for i in range(n)]

    def _compute(self, data: list[tuple], call: Any, argfns: list, partfns: list, order: list,
                 flt: Any, ctx: ExecContext) -> list[Any]:
        n = len(data)
        out: list[Any] = [None] * n
        parts: dict[Any, list[int]] = {}
        for i, r in enumerate(data):
            k = tuple(hashable(f(r, ctx)) for f in partfns)
            parts.setdefault(k, []).append(i)
        for idxs in parts.values():
            if order:
                keyed = [(data[i], i) for i in idxs]
                sort_rows(keyed, [(lambda r, c, f=f: f(r[0], c), d, nf, conv)
                                  for f, d, nf, conv in order], ctx)
                idxs = [i for _, i in keyed]
            m = len(idxs)
            okeys = [tuple(hashable(f(data[i], ctx)) for f, _, _, _ in order) for i in idxs]
            peers: list[tuple[int, int]] = [(0, 0)] * m
            s = 0
            while s < m:
                e = s + 1
                while e < m and okeys[e] == okeys[s]:
                    e += 1
                for j in range(s, e):
                    peers[j] = (s, e)
                s = e
            keys = None
            if call.frame is not None and call.frame[4] is not None:
                keys = [order[0][0](data[i], ctx) for i in idxs]
            frame = _frame_fn(call.frame, bool(order), m, peers, keys,
                              bool(order and order[0][1]), ctx)
            rows_args = [[f(data[i], ctx) for f in argfns] for i in idxs]
            if call.is_aggregate:
                vals = _aggregate_over_frames(call.impl, rows_args, frame, m,
                                              [flt(data[i], ctx) is True for i in idxs]
                                              if flt is not None else None)
            else:
                vals = call.impl.fn(m, rows_args, peers, frame)
            for j, i in enumerate(idxs):
                out[i] = vals[j]
        return out


def _frame_fn(spec: Any, ordered: bool, m: int, peers: list, keys: list | None,
              desc: bool, ctx: ExecContext) -> Callable[[int], tuple[int, int]]:
    """frame(i) → [start, end) of row i's frame within its sorted partition.
    keys: the single ORDER BY key of each row (RANGE offset frames only)."""
    if spec is None:
        if not ordered:
            whole = range(0, m)
            return lambda i: whole
        return lambda i: range(0, peers[i][1])
    mode, start, end, exclude, range_ops = spec
    groups: list[int] = []
    group_starts: list[int] = []
    if mode == "groups":
        for i in range(m):
            if peers[i][0] == i:
                group_starts.append(i)
            groups.append(len(group_starts) - 1)
        group_starts.append(m)

    def offset(b: tuple, is_start: bool) -> Any:
        v = b[1]((), ctx)
        if v is None or _negative(v):
            raise errors.InvalidPrecedingOrFollowingSize(
                "invalid preceding or following size in window function")
        return v

    def range_bound(i: int, b: tuple, is_start: bool) -> int:
        v = keys[i] if keys is not None else None
        if v is None:   # a NULL key's offset frame is its peer group (the other NULLs)
            return peers[i][0] if is_start else peers[i][1]
        plus, minus, lt, gt = range_ops
        forward = (b[0] == "following") != desc
        t = (plus if forward else minus)((v, offset(b, is_start)), ctx)
        # non-NULL keys are sorted; NULLs sit at one end and are never in range
        lo, hi = _non_null_span(keys, peers)
        # first row past the bound: start → not (key before t); end → key after t
        before = gt if desc else lt
        after = lt if desc else gt
        while lo < hi:
            mid = (lo + hi) // 2
            k = keys[mid]
            past = not before((k, t), ctx) if is_start else bool(after((k, t), ctx))
            if past:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def bound(i: int, b: tuple, is_start: bool) -> int:
        kind = b[0]
        if kind == "unbounded_preceding":
            return 0
        if kind == "unbounded_following":
            return m
        if kind == "current":
            if mode in ("range", "groups"):
                return peers[i][0] if is_start else peers[i][1]
            return i if is_start else i + 1
        if mode == "range":
            return range_bound(i, b, is_start)
        off = offset(b, is_start)
        if mode == "groups":
            g = groups[i] - off if kind == "preceding" else groups[i] + off
            if is_start:
                return group_starts[max(0, min(len(group_starts) - 1, g))]
            return group_starts[max(0, min(len(group_starts) - 1, g + 1))]
        j = i - off if kind == "preceding" else i + off
        return max(0, min(m, j if is_start else j + 1))

    def frame(i: int) -> Sequence[int]:
        s = bound(i, start, True)
        e = max(s, bound(i, end, False))
        if exclude is None:
            return range(s, e)
        if exclude == "current row":
            return [j for j in range(s, e) if j != i]
        p0, p1 = peers[i]
        if exclude == "group":
            return [j for j in range(s, e) if not p0 <= j < p1]
        return [j for j in range(s, e) if j == i or not p0 <= j < p1]     # ties
    return frame


def _negative(v: Any) -> bool:
    from aiondb.values import Interval
    if isinstance(v, Interval):
        return (v.months * 30 + v.days) * 86_400_000_000 + v.micros < 0
    return v < 0


def _non_null_span(keys: list, peers: list) -> tuple[int, int]:
    """[lo, hi) of the rows with a non-NULL key (NULLs sort first or last)."""
    m = len(keys)
    if m and keys[0] is None:
        return peers[0][1], m
    if m and keys[-1] is None:
        return 0, peers[m - 1][0]
    return 0, m


def _aggregate_over_frames(impl: Any, rows_args: list, frame: Callable, m: int,
                           include: list[bool] | None) -> list[Any]:
    out: list[Any] = []
    cache_key: Any = None
    cache_val = None
    for i in range(m):
        rows = frame(i)
        key = (rows.start, rows.stop) if isinstance(rows, range) else None
        if key is not None and key == cache_key:
            out.append(cache_val)
            continue
        state = impl.init()
        for j in rows:
            if include is not None and not include[j]:
                continue
            args = rows_args[j]
            if impl.strict and None in args:
                continue
            state = impl.step(state, *args)
        # states may be mutable (lists): final must not be shared across rows
        cache_val = impl.final(state)
        cache_key = key
        out.append(cache_val)
    return out
