"""SQL type names → SqlType: the spellings PostgreSQL accepts
('varchar(10)', 'numeric(5,2)', 'timestamp with time zone', 'int[]') and
sqlglot's DataType nodes."""

from __future__ import annotations

import re

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql.dialect import AionDB

_TYPE_RE = re.compile(r"^\s*(.*?)\s*(\(\s*([^)]*)\))?\s*((?:\[\s*\d*\s*\])*)\s*$")


# PostgreSQL built-in types AionDB does not implement: a clean 0A000, not 42704
_UNSUPPORTED_TYPES = frozenset((
    "xml", "money", "point", "line", "lseg", "box", "path", "polygon", "circle", "inet",
    "cidr", "macaddr", "macaddr8", "bit", "varbit", "bit varying", "tsvector", "tsquery",
    "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
    "int4multirange", "int8multirange", "nummultirange", "tsmultirange", "tstzmultirange",
    "datemultirange", "txid_snapshot", "pg_snapshot", "jsonpath",
))


def type_from_name(text: str) -> T.SqlType:
    """SQL type spelling ('varchar(10)', 'numeric(5,2)', 'int[]') → SqlType."""
    m = _TYPE_RE.match(text)
    if m is None:
        raise errors.UndefinedObject(f'type "{text}" does not exist')
    base, _, mods, arrays = m.groups()
    name = " ".join(base.lower().replace('"char"', '"char"').split())
    if name.startswith("pg_catalog."):
        name = name[len("pg_catalog."):]
    if name.startswith('"') and name.endswith('"') and name != '"char"':
        name = name[1:-1]
    # with time zone / precision forms
    tz = False
    if name.endswith(" with time zone"):
        name = name[: -len(" with time zone")]
        tz = True
    elif name.endswith(" without time zone"):
        name = name[: -len(" without time zone")]
    if name.startswith("timestamp") and tz:
        name = "timestamptz"
    elif name == "time" and tz:
        name = "timetz"
    if name in ("serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"):
        raise errors.UndefinedObject(f'type "{name}" does not exist')
    t = T.ALIASES.get(name)
    if t is None:
        if name == "timetz":
            raise errors.FeatureNotSupported("type time with time zone is not supported")
        if name in _UNSUPPORTED_TYPES:
            raise errors.FeatureNotSupported(f"type {name} is not supported")
        raise errors.UndefinedObject(f'type "{text.strip()}" does not exist')
    if mods:
        parts = [p.strip() for p in mods.split(",") if p.strip()]
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise errors.SyntaxError(f'invalid type modifier for "{text}"') from None
        t = _with_modifiers(t, nums)
    elif name in ("char", "character") and t.oid == T.BPCHAR.oid:
        t = T.BPCHAR.with_typmod(1 + 4)   # char without length is char(1)
    for _ in range(arrays.count("[")):
        t = t.array_of()
    return t


def _with_modifiers(t: T.SqlType, nums: list[int]) -> T.SqlType:
    if t.oid in (T.VARCHAR.oid, T.BPCHAR.oid):
        if len(nums) != 1 or nums[0] < 1:
            raise errors.InvalidParameterValue(
                f"length for type {T.DISPLAY_NAMES[t.name]} must be at least 1")
        if nums[0] > 10485760:
            raise errors.InvalidParameterValue(
                f"length for type {T.DISPLAY_NAMES[t.name]} cannot exceed 10485760")
        return t.with_typmod(nums[0] + 4)
    if t.oid == T.NUMERIC.oid:
        prec = nums[0]
        scale = nums[1] if len(nums) > 1 else 0
        if not 1 <= prec <= 1000:
            raise errors.InvalidParameterValue(
                f"NUMERIC precision {prec} must be between 1 and 1000")
        if not 0 <= scale <= prec:
            raise errors.InvalidParameterValue(
                f"NUMERIC scale {scale} must be between 0 and precision {prec}")
        return t.with_typmod(T.numeric_typmod(prec, scale))
    if t.oid in (T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.TIME.oid):
        # fractional-second digits kept (rounded to on input and casts); at most 6
        if len(nums) != 1 or nums[0] < 0:
            raise errors.InvalidParameterValue(
                f"{T.DISPLAY_NAMES[t.name].split(' ')[0].upper()}({nums[0] if nums else ''}) "
                "precision must not be negative")
        return t.with_typmod(min(nums[0], 6))
    if t.oid == T.INTERVAL.oid:
        return t   # interval(p): precision accepted, microseconds kept
    if t.oid == T.VECTOR.oid:
        if len(nums) != 1 or not 1 <= nums[0] <= 16000:
            raise errors.InvalidParameterValue("dimensions for type vector must be between 1 "
                                               "and 16000")
        return t.with_typmod(nums[0])
    if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
        p = nums[0]
        if p < 1 or p > 53:
            raise errors.InvalidParameterValue(
                f"precision for type float must be {'at least 1 bit' if p < 1 else 'less than 54 bits'}")
        return T.FLOAT4 if p <= 24 else T.FLOAT8
    return t


def sqlglot_type_text(node: exp.DataType) -> str:
    if node.this == exp.DType.USERDEFINED:
        kind = node.args.get("kind")
        return kind.sql(dialect=AionDB) if isinstance(kind, exp.Expr) else str(kind)
    if node.this == exp.DType.DOUBLE:
        return "double precision"
    if node.this == exp.DType.ARRAY and node.expressions:
        inner = node.expressions[0]
        return sqlglot_type_text(inner) + "[]" if isinstance(inner, exp.DataType) \
            else node.sql(dialect=AionDB)
    text = node.sql(dialect=AionDB)
    return text


def resolve_type(node: exp.Expr) -> T.SqlType:
    if isinstance(node, exp.DataType):
        if node.this == exp.DType.USERDEFINED:
            kind = node.args.get("kind")
            name = kind.sql(dialect=AionDB) if isinstance(kind, exp.Expr) else str(kind)
            return type_from_name(name)
        if node.this == exp.DType.ARRAY and node.expressions:
            try:
                return resolve_type(node.expressions[0]).array_of()
            except errors.UndefinedObject as exc:
                m = re.fullmatch(r'type "(.*)" does not exist', str(exc.message))
                if m is None:
                    raise
                raise errors.UndefinedObject(f'type "{m.group(1)}[]" does not exist') from None
        if node.this in (exp.DType.SERIAL, exp.DType.BIGSERIAL, exp.DType.SMALLSERIAL):
            raise errors.UndefinedObject(f'type "{node.this.value.lower()}" does not exist')
        return type_from_name(_DTYPE_TEXT.get(node.this, None) or sqlglot_type_text(node)) \
            if not node.expressions else type_from_name(sqlglot_type_text(node))
    return type_from_name(node.sql(dialect=AionDB))


_DTYPE_TEXT = {
    exp.DType.INT: "integer", exp.DType.BIGINT: "bigint", exp.DType.SMALLINT: "smallint",
    exp.DType.TEXT: "text", exp.DType.BOOLEAN: "boolean", exp.DType.DOUBLE: "double precision",
    exp.DType.FLOAT: "real", exp.DType.DECIMAL: "numeric", exp.DType.VARCHAR: "varchar",
    exp.DType.CHAR: "char", exp.DType.DATE: "date", exp.DType.TIMESTAMP: "timestamp",
    exp.DType.TIMESTAMPTZ: "timestamptz", exp.DType.INTERVAL: "interval",
    exp.DType.UUID: "uuid", exp.DType.JSON: "json", exp.DType.JSONB: "jsonb",
    exp.DType.TIME: "time", exp.DType.VARBINARY: "bytea",
}
