"""SQL type descriptors shared by every layer (a leaf module, like errors).

A SqlType is an immutable value: base type (name, OID, category) plus a type
modifier (varchar length, numeric precision/scale, vector dimensions) and, for
arrays, the element type. Python value representation per type:

  int2/int4/int8 → int        numeric → decimal.Decimal   float4/8 → float
  bool → bool                 text/varchar/bpchar/name → str   bytea → bytes
  date/time/timestamp(tz) → datetime.date/time/datetime (tz-aware for timestamptz)
  interval → values.Interval  uuid → uuid.UUID   json → str (text as given)
  jsonb → dict/list/str/int/Decimal/bool/None, top-level JSON null = values.JSON_NULL
  arrays → list   vector → tuple[float, ...]   oid/reg* → int
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SqlType:
    name: str          # pg_type.typname, e.g. "int4", "_text"
    oid: int
    category: str      # pg_type.typcategory: N numeric, S string, B bool, D datetime ...
    typlen: int = -1
    typmod: int = -1
    elem: SqlType | None = None
    preferred: bool = False

    def with_typmod(self, typmod: int) -> SqlType:
        return SqlType(self.name, self.oid, self.category, self.typlen, typmod, self.elem,
                       self.preferred)

    @property
    def base(self) -> SqlType:
        return self if self.typmod == -1 else self.with_typmod(-1)

    @property
    def is_array(self) -> bool:
        return self.elem is not None

    def array_of(self) -> SqlType:
        aoid = ARRAY_OIDS.get(self.oid)
        if aoid is None:
            from aiondb import errors
            raise errors.UndefinedObject(f"could not find array type for data type {self.sql_name()}")
        return SqlType("_" + self.name, aoid, "A", -1, self.typmod, self)

    def sql_name(self) -> str:
        """format_type(): how PostgreSQL prints the type, with its modifier."""
        if self.elem is not None:
            return self.elem.sql_name() + "[]"
        display = DISPLAY_NAMES.get(self.name, self.name)
        mod = self.typmod
        if mod == -1:
            return display
        if self.name in ("varchar", "bpchar"):
            return f"{display}({mod - 4})"
        if self.name == "numeric":
            prec = ((mod - 4) >> 16) & 0xFFFF
            scale = (mod - 4) & 0xFFFF
            return f"numeric({prec},{scale})"
        if self.name in ("timestamp", "timestamptz", "time", "timetz"):
            base, _, rest = display.partition(" ")
            return f"{base}({mod}) {rest}".strip()
        if self.name == "vector":
            return f"vector({mod})"
        return display

    def __repr__(self) -> str:
        return f"SqlType({self.sql_name()})"


def _t(name: str, oid: int, cat: str, typlen: int = -1, preferred: bool = False) -> SqlType:
    return SqlType(name, oid, cat, typlen, -1, None, preferred)


BOOL = _t("bool", 16, "B", 1, True)
BYTEA = _t("bytea", 17, "U")
CHAR = _t("char", 18, "Z", 1)
NAME = _t("name", 19, "S", 64)
INT8 = _t("int8", 20, "N", 8)
INT2 = _t("int2", 21, "N", 2)
INT2VECTOR = SqlType("int2vector", 22, "A", -1, -1, INT2)
INT4 = _t("int4", 23, "N", 4)
REGPROC = _t("regproc", 24, "N", 4)
TEXT = _t("text", 25, "S", -1, True)
OID = _t("oid", 26, "N", 4, True)
XID = _t("xid", 28, "U", 4)
OIDVECTOR = SqlType("oidvector", 30, "A", -1, -1, OID)
JSON = _t("json", 114, "U")
PG_NODE_TREE = _t("pg_node_tree", 194, "Z")
FLOAT4 = _t("float4", 700, "N", 4)
FLOAT8 = _t("float8", 701, "N", 8, True)
UNKNOWN = _t("unknown", 705, "X", -2)
ACLITEM = _t("aclitem", 1033, "U", 16)
BPCHAR = _t("bpchar", 1042, "S")
VARCHAR = _t("varchar", 1043, "S")
DATE = _t("date", 1082, "D", 4)
TIME = _t("time", 1083, "D", 8)
TIMESTAMP = _t("timestamp", 1114, "D", 8)
TIMESTAMPTZ = _t("timestamptz", 1184, "D", 8, True)
INTERVAL = _t("interval", 1186, "T", 16, True)
NUMERIC = _t("numeric", 1700, "N")
REGCLASS = _t("regclass", 2205, "N", 4)
REGTYPE = _t("regtype", 2206, "N", 4)
REGNAMESPACE = _t("regnamespace", 4089, "N", 4)
REGROLE = _t("regrole", 4096, "N", 4)
UUID = _t("uuid", 2950, "U", 16)
PG_LSN = _t("pg_lsn", 3220, "U", 8)   # a WAL position; values are ints
JSONB = _t("jsonb", 3802, "U")
RECORD = _t("record", 2249, "P")
VOID = _t("void", 2278, "P", 4)
ANYELEMENT = _t("anyelement", 2283, "P", 4)
ANYARRAY = _t("anyarray", 2277, "P")
VECTOR = _t("vector", 9100, "U")  # pgvector's type; a fixed OID below user objects

# base type OID → its array type OID (pg_type.typarray)
ARRAY_OIDS: dict[int, int] = {
    16: 1000, 17: 1001, 18: 1002, 19: 1003, 20: 1016, 21: 1005, 23: 1007, 24: 1008,
    25: 1009, 26: 1028, 114: 199, 700: 1021, 701: 1022, 1033: 1034, 1042: 1014, 1043: 1015,
    1082: 1182, 1083: 1183, 1114: 1115, 1184: 1185, 1186: 1187, 1700: 1231, 2205: 2210,
    2206: 2211, 2950: 2951, 3220: 3221, 3802: 3807, 28: 1011, 2249: 2287, 9100: 9101,
}

DISPLAY_NAMES = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bool": "boolean", "varchar": "character varying",
    "bpchar": "character", "time": "time without time zone",
    "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
    "char": '"char"',
}

BASE_TYPES: tuple[SqlType, ...] = (
    BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT2VECTOR, INT4, REGPROC, TEXT, OID, XID, OIDVECTOR,
    JSON, PG_NODE_TREE, FLOAT4, FLOAT8, UNKNOWN, ACLITEM, BPCHAR, VARCHAR, DATE, TIME,
    TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC, REGCLASS, REGTYPE, REGNAMESPACE, REGROLE, UUID,
    PG_LSN, JSONB, RECORD, VOID, ANYELEMENT, ANYARRAY, VECTOR,
)

BY_OID: dict[int, SqlType] = {t.oid: t for t in BASE_TYPES}
BY_NAME: dict[str, SqlType] = {t.name: t for t in BASE_TYPES}
for _base in BASE_TYPES:
    if _base.oid in ARRAY_OIDS:
        _arr = _base.array_of()
        BY_OID[_arr.oid] = _arr
        BY_NAME[_arr.name] = _arr
del _base, _arr

# SQL spellings → type (lower-case, single spaces)
ALIASES: dict[str, SqlType] = {
    "smallint": INT2, "int2": INT2, "integer": INT4, "int": INT4, "int4": INT4,
    "bigint": INT8, "int8": INT8, "real": FLOAT4, "float4": FLOAT4,
    "double precision": FLOAT8, "float8": FLOAT8, "float": FLOAT8, "double": FLOAT8,
    "numeric": NUMERIC, "decimal": NUMERIC, "boolean": BOOL, "bool": BOOL,
    "text": TEXT, "varchar": VARCHAR, "character varying": VARCHAR,
    "char": BPCHAR, "character": BPCHAR, "bpchar": BPCHAR, "name": NAME, '"char"': CHAR,
    "bytea": BYTEA, "date": DATE, "time": TIME, "time without time zone": TIME,
    "timestamp": TIMESTAMP, "timestamp without time zone": TIMESTAMP,
    "timestamptz": TIMESTAMPTZ, "timestamp with time zone": TIMESTAMPTZ,
    "interval": INTERVAL, "uuid": UUID, "json": JSON, "jsonb": JSONB, "oid": OID,
    "pg_lsn": PG_LSN,
    "regclass": REGCLASS, "regtype": REGTYPE, "regproc": REGPROC,
    "regnamespace": REGNAMESPACE, "regrole": REGROLE, "xid": XID, "vector": VECTOR,
    "int2vector": INT2VECTOR, "oidvector": OIDVECTOR, "pg_node_tree": PG_NODE_TREE,
    "aclitem": ACLITEM, "record": RECORD, "void": VOID, "anyelement": ANYELEMENT,
    "anyarray": ANYARRAY, "unknown": UNKNOWN,
}

INTEGER_TYPES = frozenset((INT2.oid, INT4.oid, INT8.oid))
NUMERIC_RANK = {INT2.oid: 1, INT4.oid: 2, INT8.oid: 3, NUMERIC.oid: 4, FLOAT4.oid: 5,
                FLOAT8.oid: 6, OID.oid: 2}
STRING_TYPES = frozenset((TEXT.oid, VARCHAR.oid, BPCHAR.oid, NAME.oid, UNKNOWN.oid, CHAR.oid))
INT_RANGES = {INT2.oid: (-32768, 32767, "smallint"),
              INT4.oid: (-2147483648, 2147483647, "integer"),
              INT8.oid: (-9223372036854775808, 9223372036854775807, "bigint"),
              OID.oid: (0, 4294967295, "oid")}


def numeric_typmod(precision: int, scale: int = 0) -> int:
    return ((precision << 16) | scale) + 4


def numeric_precision_scale(typmod: int) -> tuple[int, int] | None:
    if typmod < 4:
        return None
    return ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF


def char_length_limit(t: SqlType) -> int | None:
    if t.name in ("varchar", "bpchar") and t.typmod >= 4:
        return t.typmod - 4
    return None


def type_size(t: SqlType) -> int:
    """RowDescription's type size (pg_type.typlen)."""
    return t.typlen
