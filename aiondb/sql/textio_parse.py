"""Text input of the scalar types: integers, numeric, floats, bool, uuid,
pg_lsn, bytea, json/jsonb and vector, raising PostgreSQL's SQLSTATEs.

Split from textio.py, whose `parse_text` dispatches to these (and which
re-exports them); arrays and the date/time types are parsed elsewhere
(textio.py, textio_time.py).
"""

from __future__ import annotations

import json
import math
import re
import struct
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.textio_time import _invalid, type_label
from aiondb.values import JSON_NULL

# PostgreSQL 15's pg_strtoint: spaces, a sign, digits, spaces (underscores
# and hexadecimal came in 16)
_INT_RE = re.compile(r"^\s*([+-]?)(\d+)\s*$", re.ASCII)


def parse_int(t: T.SqlType, text: str) -> int:
    m = _INT_RE.match(text)
    if m is None:
        raise _invalid(t, text)
    value = int(m.group(2))
    if m.group(1) == "-":
        value = -value
    lo, hi, label = T.INT_RANGES[t.oid]
    if not lo <= value <= hi:
        raise errors.NumericValueOutOfRange(f'value "{text}" is out of range for type {label}')
    return value


_NUMERIC_RE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$", re.ASCII)


def parse_numeric(t: T.SqlType, text: str) -> Decimal:
    s = text.strip()
    low = s.lower()
    if low == "nan":
        return Decimal("NaN")
    if low in ("infinity", "+infinity", "inf", "+inf"):
        return Decimal("Infinity")
    if low in ("-infinity", "-inf"):
        return Decimal("-Infinity")
    if not _NUMERIC_RE.match(s):
        raise _invalid(T.NUMERIC, text)
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise _invalid(T.NUMERIC, text) from None
    if t.typmod != -1:
        from aiondb.sql.casts import apply_numeric_typmod
        value = apply_numeric_typmod(value, t.typmod)
    return value


_FLOAT_SPECIAL = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf,
                  "-infinity": -math.inf, "inf": math.inf, "+inf": math.inf,
                  "-inf": -math.inf}


def parse_float(t: T.SqlType, text: str) -> float:
    s = text.strip()
    special = _FLOAT_SPECIAL.get(s.lower())
    if special is not None:
        return special
    try:
        if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", s, re.ASCII):
            raise ValueError
        value = float(s)
    except ValueError:
        raise _invalid(t, text) from None
    if math.isinf(value):
        raise errors.NumericValueOutOfRange(
            f'"{s}" is out of range for type {type_label(t)}')
    if t.oid == T.FLOAT4.oid:
        try:
            value = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:
            raise errors.NumericValueOutOfRange(
                f'"{s}" is out of range for type real') from None
    return value


def parse_bool(text: str) -> bool:
    s = text.strip().lower()
    if s:
        if s in ("t", "y") or s == "on" or s == "1":
            return True
        if s in ("f", "n") or s == "off" or s == "0":
            return False
        if s != "o":
            for w in ("true", "yes"):
                if w.startswith(s):
                    return True
            for w in ("false", "no"):
                if w.startswith(s):
                    return False
    raise _invalid(T.BOOL, text)


def parse_uuid(text: str) -> uuid.UUID:
    s = text.strip()
    try:
        if not re.fullmatch(r"\{?[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\}?", s):
            raise ValueError
        return uuid.UUID(s.strip("{}"))
    except ValueError:
        raise _invalid(T.UUID, text) from None


_LSN_RE = re.compile(r"([0-9a-fA-F]{1,8})/([0-9a-fA-F]{1,8})")


def parse_lsn(text: str) -> int:
    """pg_lsn: two groups of 1-8 hex digits, "16/B374D848"; as in
    PostgreSQL no spaces are allowed."""
    m = _LSN_RE.fullmatch(text)
    if m is None:
        raise _invalid(T.PG_LSN, text)
    return int(m.group(1), 16) << 32 | int(m.group(2), 16)


def parse_bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        hexpart = re.sub(r"\s+", "", text[2:])
        try:
            return bytes.fromhex(hexpart)
        except ValueError:
            bad = next((c for c in hexpart if c not in "0123456789abcdefABCDEF"), "")
            if bad:
                raise errors.InvalidTextRepresentation(
                    f'invalid hexadecimal digit: "{bad}"') from None
            raise errors.InvalidTextRepresentation("invalid hexadecimal data: odd number of "
                                                   "digits") from None
    out = bytearray()
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
        elif text[i + 1:i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif re.match(r"[0-3][0-7]{2}", text[i + 1:i + 4]):
            out.append(int(text[i + 1:i + 4], 8))
            i += 4
        else:
            raise errors.InvalidTextRepresentation('invalid input syntax for type bytea')
    return bytes(out)


def _jsonb_object(pairs: list[tuple[str, Any]]) -> dict:
    return dict(pairs)  # duplicate keys: the last one wins, as in jsonb


def _json_constant(name: str) -> Any:
    raise ValueError(f"invalid token {name}")


def parse_jsonb(text: str) -> Any:
    try:
        v = json.loads(text, parse_float=Decimal, object_pairs_hook=_jsonb_object,
                       parse_constant=_json_constant)
    except (ValueError, RecursionError) as exc:
        raise errors.InvalidTextRepresentation(
            "invalid input syntax for type json", detail=_json_detail(exc)) from None
    return JSON_NULL if v is None else _normalize_json_numbers(v)


def _normalize_json_numbers(v: Any) -> Any:
    # PostgreSQL keeps numbers as numeric: 1e3 → 1000, 1.0 stays 1.0
    if isinstance(v, Decimal):
        if v == v.to_integral_value() and "e" in str(v).lower():
            return int(v)
        return v
    if isinstance(v, dict):
        return {k: _normalize_json_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_normalize_json_numbers(x) for x in v]
    return v


def _json_detail(exc: Exception) -> str:
    msg = str(exc)
    return f"Token is invalid: {msg.split(':')[0]}." if msg else "Token is invalid."


def parse_json(text: str) -> str:
    parse_jsonb(text)
    return text


def parse_vector(text: str) -> tuple[float, ...]:
    s = text.strip()
    if not (s.startswith("[") and s.endswith("]")):
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type vector: "{text}"',
            detail='Vector contents must start with "[".')
    body = s[1:-1].strip()
    if not body:
        raise errors.DataException("vector must have at least 1 dimension")
    try:
        vals = tuple(struct.unpack("f", struct.pack("f", float(x)))[0] for x in body.split(","))
    except (ValueError, OverflowError):
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type vector: "{text}"') from None
    for v in vals:
        if math.isnan(v):
            raise errors.DataException("NaN not allowed in vector")
        if math.isinf(v):
            raise errors.DataException("infinite value not allowed in vector")
    return vals
