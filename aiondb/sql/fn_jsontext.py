"""Producers of the json type (as opposed to jsonb): to_json, row_to_json,
array_to_json, json_build_object/array, json_agg, json_object_agg.

A json value is text, and PostgreSQL's producers each lay it out their own
way (`{"a" : 1}` from json_build_object, `{"a":1}` from row_to_json, a
newline between rows in json_agg), so they are written here against the
argument's SQL type: a text argument becomes a JSON string while a json
argument is embedded as it is. The binder calls json_call() with the bound
argument types (bind_calls.py); aggregates are specialized the same way."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.textio import (
    _json_string,
    format_float4,
    format_float8,
    format_jsonb,
    format_numeric,
    format_text,
    guess_type,
)

_STRINGS = frozenset((T.TEXT.oid, T.VARCHAR.oid, T.BPCHAR.oid, T.NAME.oid, T.CHAR.oid,
                      T.UNKNOWN.oid))


def json_text(v: Any, t: T.SqlType) -> str:
    """One SQL value as json text (PostgreSQL's datum_to_json)."""
    if v is None:
        return "null"
    oid = t.oid
    if t.elem is not None or isinstance(v, list):
        et = t.elem or (guess_type(v[0]) if v else T.TEXT)
        return "[" + ",".join(json_text(x, et) for x in v) + "]"
    if isinstance(v, tuple) and not isinstance(v, (str, bytes)):
        return record_json(v)
    if oid == T.BOOL.oid or isinstance(v, bool):
        return "true" if v else "false"
    if oid in (T.INT2.oid, T.INT4.oid, T.INT8.oid, T.OID.oid) or isinstance(v, int):
        return str(v)
    if oid == T.NUMERIC.oid or isinstance(v, Decimal):
        return format_numeric(v) if v.is_finite() else _json_string(format_numeric(v))
    if oid in (T.FLOAT4.oid, T.FLOAT8.oid) or isinstance(v, float):
        text = format_float4(v) if oid == T.FLOAT4.oid else format_float8(v)
        return text if math.isfinite(v) else _json_string(text)
    if oid == T.JSON.oid:
        return v
    if oid == T.JSONB.oid:
        return format_jsonb(v)
    if oid in _STRINGS or isinstance(v, str):
        return _json_string(v)
    if isinstance(v, (dt.date, dt.time)):
        return _json_string(v.isoformat())
    return _json_string(format_text(t, v))


def record_json(r: tuple, pretty: bool = False) -> str:
    """row_to_json: {"f1":v1,...}; anonymous ROW() fields are f1, f2 ..."""
    names = getattr(r, "names", ()) or tuple(f"f{i + 1}" for i in range(len(r)))
    types = getattr(r, "types", ()) or tuple(guess_type(x) if x is not None else T.TEXT
                                             for x in r)
    sep = ",\n " if pretty else ","
    return "{" + sep.join(f"{_json_string(n)}:{json_text(x, t)}"
                          for n, x, t in zip(names, r, types, strict=True)) + "}"


def _key_text(k: Any, t: T.SqlType) -> str:
    if k is None:
        raise errors.NullValueNotAllowed("null value not allowed for object key")
    return k if isinstance(k, str) else format_text(t, k)


def json_call(name: str, types: list[T.SqlType]) -> Callable[..., Any] | None:
    """The implementation of a json producer for these argument types."""
    if name == "to_json" and len(types) == 1:
        t = types[0]
        return lambda v: json_text(v, t)
    if name == "row_to_json" and len(types) in (1, 2):
        return lambda r, pretty=False: record_json(r, bool(pretty))
    if name == "array_to_json" and len(types) in (1, 2) and types[0].elem is not None:
        et = types[0].elem
        return lambda a, pretty=False: "[" + (",\n " if pretty else ",").join(
            json_text(x, et) for x in a) + "]"
    if name == "json_build_array":
        return lambda *vals: "[" + ", ".join(json_text(v, t) for v, t in
                                             zip(vals, types, strict=True)) + "]"
    if name == "json_build_object":
        if len(types) % 2:
            raise errors.InvalidParameterValue(
                "argument list must have even number of elements",
                hint="The arguments of json_build_object() must consist of alternating keys "
                     "and values.")

        def build(*vals: Any) -> str:
            parts = []
            for i in range(0, len(vals), 2):
                if vals[i] is None:
                    raise errors.NullValueNotAllowed(f"argument {i + 1}: key must not be null")
                key = _key_text(vals[i], types[i])
                parts.append(f"{_json_string(key)} : {json_text(vals[i + 1], types[i + 1])}")
            return "{" + ", ".join(parts) + "}"
        return build
    return None


JSON_CALLS = ("to_json", "row_to_json", "array_to_json", "json_build_array",
              "json_build_object")


# --- aggregates --------------------------------------------------------------------------------

def json_agg_parts(t: T.SqlType) -> tuple[Callable, Callable, Callable]:
    """(init, step, final) of json_agg over values of type t."""
    structured = t.elem is not None or t.oid == T.RECORD.oid

    def step(s: list, v: Any) -> list:
        if v is None:
            s.append(("", "null"))
        else:
            s.append(("\n " if structured else "", json_text(v, t)))
        return s

    def final(s: list) -> str | None:
        if not s:
            return None
        out = [s[0][1]]
        for ws, text in s[1:]:
            out.append(", " + ws + text)
        return "[" + "".join(out) + "]"
    return list, step, final


def json_object_agg_parts(kt: T.SqlType, vt: T.SqlType) -> tuple[Callable, Callable,
                                                                   Callable]:
    def step(s: list, k: Any, v: Any) -> list:
        if k is None:
            raise errors.InvalidParameterValue("field name must not be null")
        s.append(f"{_json_string(_key_text(k, kt))} : {json_text(v, vt)}")
        return s
    return list, step, lambda s: "{ " + ", ".join(s) + " }" if s else None
