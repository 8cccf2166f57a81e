"""JSON and JSONB operators and functions. jsonb values are Python
structures (see types.py); json values are their text."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import ANY, func, op, srf
from aiondb.sql.textio import format_float8, format_jsonb, format_text, guess_type
from aiondb.values import JSON_NULL, Interval

JB = T.JSONB


def to_jsonb_value(v: Any) -> Any:
    """A SQL value as a jsonb value (to_jsonb)."""
    if v is None:
        return JSON_NULL
    if v is JSON_NULL or isinstance(v, (bool, str, int, Decimal, dict)):
        return v
    if isinstance(v, float):
        # as PostgreSQL: the float's shortest text read as numeric; NaN/inf as strings
        if not math.isfinite(v):
            return format_float8(v)
        d = Decimal(format_float8(v))
        return d.quantize(Decimal(1)) if d.as_tuple().exponent > 0 else d
    if isinstance(v, list):
        return [to_jsonb_value(x) for x in v]
    if isinstance(v, tuple):
        names = getattr(v, "names", ())
        if names:
            return {n: to_jsonb_value(x) for n, x in zip(names, v, strict=True)}
        return {f"f{i + 1}": to_jsonb_value(x) for i, x in enumerate(v)}
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (Interval, uuid.UUID)):
        return str(v)
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    return format_text(guess_type(v), v)


def _as_text(v: Any) -> str | None:
    """->> and #>>: strings unquoted, JSON null as SQL NULL, others as JSON text."""
    if v is JSON_NULL or v is None:
        return None
    if isinstance(v, str):
        return v
    return format_jsonb(v)


def _get(v: Any, key: Any) -> Any:
    """Member of an object / element of an array; None when absent. A JSON
    null member (None inside a parsed value) comes back as JSON_NULL."""
    if isinstance(key, str):
        if isinstance(v, dict) and key in v:
            x = v[key]
            return JSON_NULL if x is None else x
        return None
    if isinstance(v, list):
        idx = key if key >= 0 else len(v) + key
        if 0 <= idx < len(v):
            x = v[idx]
            return JSON_NULL if x is None else x
    return None


op("->", JB, T.TEXT, JB)(_get)
op("->", JB, T.INT4, JB)(_get)
op("->>", JB, T.TEXT, T.TEXT)(lambda v, k: _as_text(_get(v, k)))
op("->>", JB, T.INT4, T.TEXT)(lambda v, k: _as_text(_get(v, k)))


def _path(v: Any, path: list) -> Any:
    cur = v
    for p in path:
        if p is None:
            return None
        if isinstance(cur, list):
            try:
                p = int(p)
            except (TypeError, ValueError):
                return None
        if cur is JSON_NULL:
            return None
        cur = _get(cur, p)
        if cur is None:
            return None
    return cur


op("#>", JB, T.TEXT.array_of(), JB)(_path)
op("#>>", JB, T.TEXT.array_of(), T.TEXT)(lambda v, p: _as_text(_path(v, p)))


def contains(a: Any, b: Any) -> bool:
    """jsonb @> semantics."""
    if isinstance(b, dict):
        if not isinstance(a, dict):
            return False
        return all(k in a and contains(a[k], x) for k, x in b.items())
    if isinstance(b, list):
        if isinstance(a, list):
            return all(any(contains(y, x) for y in a) for x in b)
        return False
    if isinstance(a, list) and not isinstance(b, (dict, list)):
        return any(contains(y, b) for y in a if not isinstance(y, (dict, list))) or a == [b]
    from aiondb.sql.fn_core import _jsonb_eq
    return _jsonb_eq(a, b)


op("@>", JB, JB, T.BOOL)(contains)
op("<@", JB, JB, T.BOOL)(lambda a, b: contains(b, a))


def _has_key(v: Any, k: str) -> bool:
    if isinstance(v, dict):
        return k in v
    if isinstance(v, list):
        return k in [x for x in v if isinstance(x, str)]
    return isinstance(v, str) and v == k


op("?", JB, T.TEXT, T.BOOL)(_has_key)
op("?|", JB, T.TEXT.array_of(), T.BOOL)(lambda v, ks: any(_has_key(v, k) for k in ks
                                                          if k is not None))
op("?&", JB, T.TEXT.array_of(), T.BOOL)(lambda v, ks: all(_has_key(v, k) for k in ks
                                                          if k is not None))


def _concat(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        r = dict(a)
        r.update(b)
        return r
    la = a if isinstance(a, list) else [a]
    lb = b if isinstance(b, list) else [b]
    return la + lb


op("||", JB, JB, JB)(_concat)


def _delete_key(v: Any, k: Any) -> Any:
    if isinstance(v, dict) and isinstance(k, str):
        return {x: y for x, y in v.items() if x != k}
    if isinstance(v, list):
        if isinstance(k, str):
            return [x for x in v if x != k]
        idx = k if k >= 0 else len(v) + k
        return [x for i, x in enumerate(v) if i != idx]
    raise errors.InvalidParameterValue("cannot delete from scalar")


op("-", JB, T.TEXT, JB)(_delete_key)
op("-", JB, T.INT4, JB)(_delete_key)
op("-", JB, T.TEXT.array_of(), JB)(
    lambda v, ks: {x: y for x, y in v.items() if x not in ks} if isinstance(v, dict) else
    [x for x in v if x not in ks])


def _delete_path(v: Any, path: list) -> Any:
    if not path:
        return v
    head, rest = path[0], path[1:]
    if isinstance(v, dict):
        if head not in v:
            return v
        r = dict(v)
        if rest:
            r[head] = _delete_path(v[head], rest)
        else:
            del r[head]
        return r
    if isinstance(v, list):
        try:
            i = int(head)
        except ValueError:
            raise errors.InvalidTextRepresentation(
                f'path element at position 1 is not an integer: "{head}"') from None
        idx = i if i >= 0 else len(v) + i
        if not 0 <= idx < len(v):
            return v
        r2 = list(v)
        if rest:
            r2[idx] = _delete_path(v[idx], rest)
        else:
            del r2[idx]
        return r2
    raise errors.InvalidParameterValue("cannot delete path in scalar")


op("#-", JB, T.TEXT.array_of(), JB)(_delete_path)


# --- constructors ---------------------------------------------------------------------------------

@func("jsonb_build_object", (), JB, strict=False, variadic=ANY)
def _build_object(*args: Any) -> dict:
    if len(args) % 2:
        raise errors.InvalidParameterValue(
            "argument list must have even number of elements",
            hint="The arguments of jsonb_build_object() must consist of alternating keys and "
                 "values.")
    out: dict[str, Any] = {}
    for i in range(0, len(args), 2):
        k = args[i]
        if k is None:
            raise errors.NullValueNotAllowed(f"argument {i + 1}: key must not be null")
        out[k if isinstance(k, str) else format_text(guess_type(k), k)] = \
            to_jsonb_value(args[i + 1])
    return out


@func("jsonb_build_array", (), JB, strict=False, variadic=ANY)
def _build_array(*args: Any) -> list:
    return [to_jsonb_value(a) for a in args]


func("to_jsonb", (ANY,), JB)(to_jsonb_value)


@func(("jsonb_object", "json_object"), (T.TEXT.array_of(),), JB)
def _jsonb_object(arr: list) -> dict:
    flat = [x for sub in arr for x in (sub if isinstance(sub, list) else [sub])]
    if len(flat) % 2:
        raise errors.ArraySubscriptError("array must have even number of elements")
    return {flat[i]: (JSON_NULL if flat[i + 1] is None else flat[i + 1])
            for i in range(0, len(flat), 2)}


# --- accessors ----------------------------------------------------------------------------------------

@func(("jsonb_typeof", "json_typeof"), (JB,), T.TEXT)
def _typeof(v: Any) -> str:
    if v is JSON_NULL:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float, Decimal)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


@func(("jsonb_array_length", "json_array_length"), (JB,), T.INT4)
def _array_length(v: Any) -> int:
    if not isinstance(v, list):
        raise errors.InvalidParameterValue("cannot get array length of a "
                                           f"{'scalar' if not isinstance(v, dict) else 'non-array'}")
    return len(v)


func(("jsonb_extract_path", "json_extract_path"), (JB, T.TEXT), JB, variadic=T.TEXT)(
    lambda v, *p: _path(v, list(p)))
func(("jsonb_extract_path_text", "json_extract_path_text"), (JB, T.TEXT), T.TEXT,
     variadic=T.TEXT)(lambda v, *p: _as_text(_path(v, list(p))))
func("jsonb_pretty", (JB,), T.TEXT)(lambda v: _pretty(v, 0))
func("jsonb_strip_nulls", (JB,), JB)(lambda v: _strip_nulls(v))


def _pretty(v: Any, indent: int) -> str:
    pad = "    " * (indent + 1)
    if isinstance(v, dict):
        if not v:
            return "{\n" + "    " * indent + "}"
        items = sorted(v.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
        inner = ",\n".join(f'{pad}{format_jsonb(k)}: {_pretty(x, indent + 1)}' for k, x in items)
        return "{\n" + inner + "\n" + "    " * indent + "}"
    if isinstance(v, list):
        if not v:
            return "[\n" + "    " * indent + "]"
        inner = ",\n".join(pad + _pretty(x, indent + 1) for x in v)
        return "[\n" + inner + "\n" + "    " * indent + "]"
    return format_jsonb(v)


def _strip_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_nulls(x) for k, x in v.items() if x is not JSON_NULL and x is not None}
    if isinstance(v, list):
        return [_strip_nulls(x) for x in v]
    return v


def _set_path(v: Any, path: list, new: Any, create: bool, insert_after: bool | None) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(v, dict):
        r = dict(v)
        if head in r:
            if rest:
                r[head] = _set_path(r[head], rest, new, create, insert_after)
            elif insert_after is not None:
                raise errors.InvalidParameterValue("cannot replace existing key",
                                                   hint="Try using the function jsonb_set to "
                                                        "replace key value.")
            else:
                r[head] = new
        elif not rest and (create or insert_after is not None):
            r[head] = new
        return r
    if isinstance(v, list):
        try:
            i = int(head)
        except ValueError:
            raise errors.InvalidTextRepresentation(
                f'path element at position 1 is not an integer: "{head}"') from None
        r2 = list(v)
        idx = i if i >= 0 else len(v) + i
        if rest:
            if 0 <= idx < len(v):
                r2[idx] = _set_path(v[idx], rest, new, create, insert_after)
            return r2
        if insert_after is not None:
            pos = idx + (1 if insert_after else 0)
            r2.insert(max(0, min(pos, len(r2))), new)
            return r2
        if 0 <= idx < len(v):
            r2[idx] = new
        elif create:
            if idx < 0:
                r2.insert(0, new)
            else:
                r2.append(new)
        return r2
    raise errors.InvalidParameterValue("cannot set path in scalar")


func("jsonb_set", (JB, T.TEXT.array_of(), JB), JB)(
    lambda v, p, n: _set_path(v, p, n, True, None))
func("jsonb_set", (JB, T.TEXT.array_of(), JB, T.BOOL), JB)(
    lambda v, p, n, c: _set_path(v, p, n, c, None))
_NULL_TREATMENTS = ("delete_key", "return_target", "use_json_null", "raise_exception")


def _set_lax(v: Any, path: list | None, new: Any, create: bool | None = True,
             treatment: str | None = "use_json_null") -> Any:
    """jsonb_set that says what an SQL NULL new value means."""
    if v is None or path is None or create is None:
        return None
    if treatment is None or (new is None and treatment not in _NULL_TREATMENTS):
        raise errors.InvalidParameterValue(
            'null_value_treatment must be "delete_key", "return_target", "use_json_null", '
            'or "raise_exception"')
    if new is not None:
        return _set_path(v, path, new, create, None)
    if treatment == "raise_exception":
        raise errors.NullValueNotAllowed(
            "JSON value must not be null",
            detail='Exception was raised because null_value_treatment is "raise_exception".',
            hint="To avoid, either change the null_value_treatment argument or ensure that an "
                 "SQL NULL is not passed.")
    if treatment == "delete_key":
        return _delete_path(v, path)
    if treatment == "return_target":
        return v
    return _set_path(v, path, JSON_NULL, create, None)


for _args in ((JB, T.TEXT.array_of(), JB), (JB, T.TEXT.array_of(), JB, T.BOOL),
              (JB, T.TEXT.array_of(), JB, T.BOOL, T.TEXT)):
    func("jsonb_set_lax", _args, JB, strict=False)(_set_lax)
func("jsonb_insert", (JB, T.TEXT.array_of(), JB), JB)(
    lambda v, p, n: _set_path(v, p, n, False, False))
func("jsonb_insert", (JB, T.TEXT.array_of(), JB, T.BOOL), JB)(
    lambda v, p, n, after: _set_path(v, p, n, False, after))
func("jsonb_exists", (JB, T.TEXT), T.BOOL)(_has_key)
func("jsonb_contains", (JB, JB), T.BOOL)(contains)


# --- set-returning ------------------------------------------------------------------------------------

def _each_cols(value_type: T.SqlType) -> Any:
    return lambda ts: [("key", T.TEXT), ("value", value_type)]


@srf("jsonb_each", (JB,), _each_cols(JB))
def _each(ctx: Any, v: Any) -> Any:
    if not isinstance(v, dict):
        raise errors.InvalidParameterValue("cannot call jsonb_each on a non-object")
    return [(k, JSON_NULL if x is None else x) for k, x in v.items()]


@srf("jsonb_each_text", (JB,), _each_cols(T.TEXT))
def _each_text(ctx: Any, v: Any) -> Any:
    if not isinstance(v, dict):
        raise errors.InvalidParameterValue("cannot call jsonb_each_text on a non-object")
    return [(k, _as_text(x)) for k, x in v.items()]


@srf("jsonb_object_keys", (JB,), lambda ts: [("jsonb_object_keys", T.TEXT)])
def _object_keys(ctx: Any, v: Any) -> Any:
    if not isinstance(v, dict):
        raise errors.InvalidParameterValue("cannot call jsonb_object_keys on a "
                                           f"{'scalar' if not isinstance(v, list) else 'array'}")
    keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
    return [(k,) for k in keys]


@srf("jsonb_array_elements", (JB,), lambda ts: [("value", JB)])
def _array_elements(ctx: Any, v: Any) -> Any:
    if not isinstance(v, list):
        raise errors.InvalidParameterValue("cannot extract elements from "
                                           f"{'a scalar' if not isinstance(v, dict) else 'an object'}")
    return [(JSON_NULL if x is None else x,) for x in v]


@srf("jsonb_array_elements_text", (JB,), lambda ts: [("value", T.TEXT)])
def _array_elements_text(ctx: Any, v: Any) -> Any:
    if not isinstance(v, list):
        raise errors.InvalidParameterValue("cannot extract elements from a scalar")
    return [(_as_text(x),) for x in v]


# json (text) variants read through jsonb
for _name in ("json_each", "json_each_text", "json_object_keys", "json_array_elements",
              "json_array_elements_text"):
    from aiondb.sql.functions import SRFS
    for _d in list(SRFS[_name.replace("json", "jsonb", 1)]):
        SRFS.setdefault(_name, []).append(_d)


def json_to_rows(ctx: Any, doc: Any, cols: list[tuple[str, T.SqlType]],
                 many: bool) -> list[tuple]:
    """jsonb_to_record(set): object members by column name, converted to the
    declared column types through their text forms."""
    from aiondb.sql.textio import parse_text
    if many:
        if not isinstance(doc, list):
            raise errors.InvalidParameterValue("cannot call jsonb_to_recordset on a non-array")
        objs = doc
    else:
        objs = [doc]
    out = []
    for obj in objs:
        if not isinstance(obj, dict):
            raise errors.InvalidParameterValue(
                "cannot call jsonb_to_record on a non-object" if not many else
                "argument of jsonb_to_recordset must be an array of objects")
        row = []
        for name, t in cols:
            v = obj.get(name)
            if v is None or v is JSON_NULL:
                row.append(None)
            elif t.oid == T.JSONB.oid:
                row.append(v)
            elif t.oid == T.JSON.oid:
                row.append(format_jsonb(v))
            elif isinstance(v, str):
                row.append(parse_text(t, v, ctx.tz, ctx.statement_time))
            else:
                row.append(parse_text(t, format_jsonb(v), ctx.tz, ctx.statement_time))
        out.append(tuple(row))
    return out


def jsonb_assign(doc: Any, value: Any, *keys: Any) -> Any:
    """UPDATE ... SET doc['a'][2] = v (PostgreSQL 14's jsonb subscripting):
    missing levels are created, arrays padded with nulls; a NULL document
    becomes an object (or an array for an integer subscript)."""
    if any(k is None for k in keys):
        raise errors.NullValueNotAllowed("jsonb subscript in assignment must not be null")
    value = JSON_NULL if value is None else value

    def fresh(k: Any) -> Any:
        return [] if isinstance(k, int) else {}

    def put(cur: Any, i: int) -> Any:
        k = keys[i]
        last = i == len(keys) - 1
        if cur is None or cur is JSON_NULL:
            cur = fresh(k)
        if isinstance(cur, dict):
            out = dict(cur)
            key = k if isinstance(k, str) else str(k)
            out[key] = value if last else put(cur.get(key), i + 1)
            return out
        if isinstance(cur, list):
            if not isinstance(k, int):
                try:
                    k = int(k)
                except ValueError:
                    raise errors.InvalidTextRepresentation(
                        f'path element at position {i + 1} is not an integer: "{k}"') from None
            out2 = list(cur)
            idx = k if k >= 0 else len(out2) + k
            if idx < 0:
                raise errors.InvalidParameterValue(
                    f"path element at position {i + 1} is out of range: {k}")
            if idx >= len(out2):
                out2 += [None] * (idx + 1 - len(out2))
            out2[idx] = value if last else put(out2[idx], i + 1)
            return out2
        raise errors.InvalidParameterValue(
            "cannot replace existing key",
            detail="The path assumes key is a composite object, but it is a scalar value.")
    return put(doc, 0)
