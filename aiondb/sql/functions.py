"""Registry of functions, operators, set-returning functions and aggregates,
and the overload resolution PostgreSQL users expect (exact match, then the
candidate needing the fewest and cheapest implicit casts; an unknown-typed
literal takes the type of the other operand).

Built-ins live in the fn_*.py modules; each registers itself with the
decorators below. Adding a function is adding one decorated Python function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.casts import coercion

# Polymorphic argument markers
ANY = "any"                # any type, passed as is
ANYELEMENT = "anyelement"  # all anyelement args share one type
ANYARRAY = "anyarray"      # an array whose element type is the anyelement type
ANYNONARRAY = "anynonarray"

ArgType = T.SqlType | str
RetType = T.SqlType | str | Callable[[list[T.SqlType]], T.SqlType]


@dataclass(frozen=True)
class FuncDef:
    name: str
    args: tuple[ArgType, ...]
    ret: RetType
    impl: Callable[..., Any]
    strict: bool = True
    needs_ctx: bool = False
    volatile: bool = False
    variadic: ArgType | None = None   # type of any further arguments
    oid: int = 0


@dataclass(frozen=True)
class SrfDef:
    """Set-returning function: impl(ctx, *args) yields tuples."""

    name: str
    args: tuple[ArgType, ...]
    columns: Callable[[list[T.SqlType]], list[tuple[str, T.SqlType]]]
    impl: Callable[..., Any]
    strict: bool = True
    variadic: ArgType | None = None


FUNCTIONS: dict[str, list[FuncDef]] = {}
OPERATORS: dict[str, list[FuncDef]] = {}
SRFS: dict[str, list[SrfDef]] = {}
AGGREGATES: dict[str, list[Any]] = {}
WINDOW_FUNCTIONS: dict[str, Any] = {}

_next_oid = [9200]


def _alloc_oid() -> int:
    _next_oid[0] += 1
    return _next_oid[0]


def func(name: str | tuple[str, ...], args: tuple[ArgType, ...], ret: RetType, *,
         strict: bool = True, needs_ctx: bool = False, volatile: bool = False,
         variadic: ArgType | None = None) -> Callable[[Callable], Callable]:
    """Register a scalar function under one or more names."""
    names = (name,) if isinstance(name, str) else name

    def deco(fn: Callable) -> Callable:
        for n in names:
            FUNCTIONS.setdefault(n, []).append(
                FuncDef(n, tuple(args), ret, fn, strict, needs_ctx, volatile, variadic,
                        _alloc_oid()))
        return fn
    return deco


def op(symbol: str, left: ArgType | None, right: ArgType, ret: RetType, *,
       strict: bool = True, needs_ctx: bool = False) -> Callable[[Callable], Callable]:
    """Register a binary (or, with left None, prefix) operator."""
    args = (right,) if left is None else (left, right)
    key = symbol if left is not None else "prefix" + symbol

    def deco(fn: Callable) -> Callable:
        OPERATORS.setdefault(key, []).append(
            FuncDef(symbol, args, ret, fn, strict, needs_ctx, False, None, _alloc_oid()))
        return fn
    return deco


def srf(name: str, args: tuple[ArgType, ...],
        columns: Callable[[list[T.SqlType]], list[tuple[str, T.SqlType]]], *,
        strict: bool = True, variadic: ArgType | None = None) -> Callable[[Callable], Callable]:
    def deco(fn: Callable) -> Callable:
        SRFS.setdefault(name, []).append(SrfDef(name, tuple(args), columns, fn, strict,
                                                variadic))
        return fn
    return deco


# --- resolution ------------------------------------------------------------------------------------

def _arity_ok(d: FuncDef | SrfDef, n: int) -> bool:
    if d.variadic is not None:
        return n >= len(d.args)
    return n == len(d.args)


def _expand(d: FuncDef | SrfDef, n: int) -> list[ArgType]:
    args = list(d.args)
    if d.variadic is not None:
        args += [d.variadic] * (n - len(args))
    return args


def _numeric_distance(src: T.SqlType, dst: T.SqlType) -> int:
    rs = T.NUMERIC_RANK.get(src.oid)
    rd = T.NUMERIC_RANK.get(dst.oid)
    if rs is not None and rd is not None:
        return rd - rs
    return 5


def _match(decl: list[ArgType], actual: list[T.SqlType], operator: bool = False
           ) -> tuple[int, int, int,
                                                                  list[T.SqlType],
                                                                  T.SqlType | None] | None:
    """(exact matches, preferred-type conversions, cast cost, resolved arg
    types, anyelement type) or None."""
    exact = 0
    preferred = 0
    cost = 0
    resolved: list[T.SqlType] = []
    elem: T.SqlType | None = None
    # determine the polymorphic element type from known actual args first
    for d, a in zip(decl, actual, strict=True):
        if a.oid == T.UNKNOWN.oid:
            continue
        if d in (ANYELEMENT, ANYNONARRAY):
            cand = a
        elif d == ANYARRAY:
            if a.elem is None:
                return None
            cand = a.elem
        else:
            continue
        if elem is None:
            elem = cand
        elif elem.oid != cand.oid:
            c = coercion(cand, elem)
            if c == "i":
                continue
            c2 = coercion(elem, cand)
            if c2 == "i":
                elem = cand
                continue
            return None
    for d, a in zip(decl, actual, strict=True):
        if d == ANY:
            resolved.append(a)
            continue
        if d in (ANYELEMENT, ANYNONARRAY):
            target = elem or T.TEXT
            if d == ANYNONARRAY and a.elem is not None:
                return None
        elif d == ANYARRAY:
            target = (elem or T.TEXT).array_of()
        else:
            assert isinstance(d, T.SqlType)
            target = d
        if a.oid == target.oid and (a.elem is None or target.elem is None
                                    or a.elem.oid == target.elem.oid):
            # a polymorphic parameter is never an exact match (PostgreSQL)
            exact += not isinstance(d, str)
            resolved.append(a if a.typmod != -1 and a.oid == target.oid else target)
            continue
        if a.oid == T.UNKNOWN.oid:
            resolved.append(target)
            # unknown literals prefer string types, then the preferred type
            cost += 0 if target.category == "S" else (1 if target.preferred else 2)
            continue
        c = coercion(a, target)
        if c == "e" and not operator and target.oid == T.REGCLASS.oid and \
                a.oid in (T.TEXT.oid, T.VARCHAR.oid):
            # text → regclass is an implicit cast in PostgreSQL: currval(text) works.
            # (Operators never need it: regclass compares through oid there.)
            c = "i"
        if c != "i":
            return None
        if target.preferred and target.category == a.category:
            preferred += 1
        cost += 10 + _numeric_distance(a, target)
        resolved.append(target)
    return exact, preferred, cost, resolved, elem


def _ret_type(d: FuncDef | SrfDef, resolved: list[T.SqlType], elem: T.SqlType | None) -> Any:
    ret = getattr(d, "ret", None)
    if ret == ANYELEMENT or ret == ANYNONARRAY:
        return elem or T.TEXT
    if ret == ANYARRAY:
        return (elem or T.TEXT).array_of()
    if callable(ret) and not isinstance(ret, T.SqlType):
        return ret(resolved)
    return ret


def resolve(candidates: list[Any], actual: list[T.SqlType], what: str) -> tuple[Any,
                                                                              list[T.SqlType],
                                                                              Any]:
    """Pick the best overload: (def, argument types to cast to, return type)."""
    best = None
    best_key = None
    ambiguous = False
    # PostgreSQL: if exactly one side of a binary operator is unknown, assume it has the
    # other side's type.
    if len(actual) == 2 and (actual[0].oid == T.UNKNOWN.oid) != (actual[1].oid == T.UNKNOWN.oid):
        known = actual[1] if actual[0].oid == T.UNKNOWN.oid else actual[0]
        for d in candidates:
            if not _arity_ok(d, 2):
                continue
            decl = _expand(d, 2)
            if all(isinstance(x, T.SqlType) and x.oid == known.oid for x in decl):
                return d, [known, known], _ret_type(d, [known, known], known)
    for d in candidates:
        if not _arity_ok(d, len(actual)):
            continue
        m = _match(_expand(d, len(actual)), actual, what.startswith("operator"))
        if m is None:
            continue
        # PostgreSQL's func_select_candidate: most exact matches, then most
        # conversions to a preferred type of the argument's category (float8
        # for numbers), then (our tie-break) the cheapest conversions
        exact, preferred, cost, resolved, elem = m
        key = (-exact, -preferred, cost)
        if best_key is None or key < best_key:
            best, best_key, ambiguous = (d, resolved, elem), key, False
        elif key == best_key:
            ambiguous = True
    if best is None:
        raise errors.UndefinedFunction(_missing(what), hint=_no_match_hint(what, len(actual)))
    if ambiguous and any(a.oid == T.UNKNOWN.oid for a in actual) and \
            all(a.oid == T.UNKNOWN.oid for a in actual):
        # all-unknown arguments: prefer the text variant, as PostgreSQL does
        for d in candidates:
            if _arity_ok(d, len(actual)):
                decl = _expand(d, len(actual))
                if all(isinstance(x, T.SqlType) and x.category == "S" for x in decl):
                    res = [x for x in decl if isinstance(x, T.SqlType)]
                    return d, res, _ret_type(d, res, None)
    d, resolved, elem = best
    return d, resolved, _ret_type(d, resolved, elem)


def _no_match_hint(what: str, nargs: int) -> str:
    if not what.startswith("operator"):
        return ("No function matches the given name and argument types. You might need to "
                "add explicit type casts.")
    if nargs == 1:      # PostgreSQL words it in the singular for a prefix operator
        return ("No operator matches the given name and argument type. You might need to "
                "add an explicit type cast.")
    return ("No operator matches the given name and argument types. You might need to add "
            "explicit type casts.")


def _missing(what: str) -> str:
    """PostgreSQL's wording: "function f(integer) does not exist",
    "operator does not exist: text = integer"."""
    if what.startswith("operator "):
        return "operator does not exist: " + what[len("operator "):]
    return f"{what} does not exist"


def describe_call(name: str, actual: list[T.SqlType]) -> str:
    return f"function {name}({', '.join(a.sql_name() for a in actual)})"


def describe_op(symbol: str, actual: list[T.SqlType]) -> str:
    if len(actual) == 1:
        return f"operator {symbol} {actual[0].sql_name()}"
    return f"operator {actual[0].sql_name()} {symbol} {actual[1].sql_name()}"


def resolve_function(name: str, actual: list[T.SqlType]) -> tuple[FuncDef, list[T.SqlType],
                                                                 T.SqlType]:
    cands = FUNCTIONS.get(name)
    if not cands:
        raise errors.UndefinedFunction(
            f"{describe_call(name, actual)} does not exist",
            hint="No function matches the given name and argument types. You might need to "
                 "add explicit type casts.")
    return resolve(cands, actual, describe_call(name, actual))


def resolve_operator(symbol: str, actual: list[T.SqlType]) -> tuple[FuncDef, list[T.SqlType],
                                                                   T.SqlType]:
    key = symbol if len(actual) == 2 else "prefix" + symbol
    cands = OPERATORS.get(key)
    if not cands:
        what = describe_op(symbol, actual)
        raise errors.UndefinedFunction(_missing(what), hint=_no_match_hint(what, len(actual)))
    return resolve(cands, actual, describe_op(symbol, actual))


def resolve_srf(name: str, actual: list[T.SqlType]) -> tuple[SrfDef, list[T.SqlType], Any]:
    cands = SRFS.get(name)
    if not cands:
        raise errors.UndefinedFunction(f"{describe_call(name, actual)} does not exist")
    d, resolved, _ = resolve(cands, actual, describe_call(name, actual))
    return d, resolved, d.columns(resolved)


def load_builtins() -> None:
    """Import the modules that register built-ins (idempotent)."""
    from aiondb.sql import (  # noqa: F401
        agg_stats,
        aggregates,
        fn_array,
        fn_core,
        fn_datetime,
        fn_format,
        fn_json,
        fn_numeric,
        fn_numformat,
        fn_string,
        fn_system,
        fn_wal,
        windows,
    )
