"""pg_type: the built-in types AionDB implements, described as PostgreSQL 15
describes them, plus one composite row type (and its array type) per table
and view, as PostgreSQL creates them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiondb import types as T
from aiondb.sql.pg_catalog.registry import (
    C_COLLATION,
    DEFAULT_COLLATION,
    reg_value,
    relation,
    rowtype_array_oid,
    rowtype_oid,
)
from aiondb.storage.catalog import (
    BOOTSTRAP_ROLE_OID,
    PG_CATALOG_OID,
    Catalog,
    TableDef,
    ViewDef,
)

# oid: typlen align storage input output receive send typmodin typmodout subscript
#      category preferred typtype   (PostgreSQL 15's pg_type; '-' is no function)
_BASE = {
    16: "1 c p boolin boolout boolrecv boolsend - - - B 1 b",
    17: "-1 i x byteain byteaout bytearecv byteasend - - - U 0 b",
    18: "1 c p charin charout charrecv charsend - - - Z 0 b",
    19: "64 c p namein nameout namerecv namesend - - raw_array_subscript_handler S 0 b",
    20: "8 d p int8in int8out int8recv int8send - - - N 0 b",
    21: "2 s p int2in int2out int2recv int2send - - - N 0 b",
    22: "-1 i p int2vectorin int2vectorout int2vectorrecv int2vectorsend - - "
        "array_subscript_handler A 0 b",
    23: "4 i p int4in int4out int4recv int4send - - - N 0 b",
    24: "4 i p regprocin regprocout regprocrecv regprocsend - - - N 0 b",
    25: "-1 i x textin textout textrecv textsend - - - S 1 b",
    26: "4 i p oidin oidout oidrecv oidsend - - - N 1 b",
    28: "4 i p xidin xidout xidrecv xidsend - - - U 0 b",
    30: "-1 i p oidvectorin oidvectorout oidvectorrecv oidvectorsend - - "
        "array_subscript_handler A 0 b",
    114: "-1 i x json_in json_out json_recv json_send - - - U 0 b",
    194: "-1 i x pg_node_tree_in pg_node_tree_out pg_node_tree_recv pg_node_tree_send - - - "
         "Z 0 b",
    700: "4 i p float4in float4out float4recv float4send - - - N 0 b",
    701: "8 d p float8in float8out float8recv float8send - - - N 1 b",
    705: "-2 c p unknownin unknownout unknownrecv unknownsend - - - X 0 p",
    1033: "12 i p aclitemin aclitemout - - - - - U 0 b",
    1042: "-1 i x bpcharin bpcharout bpcharrecv bpcharsend bpchartypmodin bpchartypmodout - "
          "S 0 b",
    1043: "-1 i x varcharin varcharout varcharrecv varcharsend varchartypmodin "
          "varchartypmodout - S 0 b",
    1082: "4 i p date_in date_out date_recv date_send - - - D 0 b",
    1083: "8 d p time_in time_out time_recv time_send timetypmodin timetypmodout - D 0 b",
    1114: "8 d p timestamp_in timestamp_out timestamp_recv timestamp_send timestamptypmodin "
          "timestamptypmodout - D 0 b",
    1184: "8 d p timestamptz_in timestamptz_out timestamptz_recv timestamptz_send "
          "timestamptztypmodin timestamptztypmodout - D 1 b",
    1186: "16 d p interval_in interval_out interval_recv interval_send intervaltypmodin "
          "intervaltypmodout - T 1 b",
    1700: "-1 i m numeric_in numeric_out numeric_recv numeric_send numerictypmodin "
          "numerictypmodout - N 0 b",
    2205: "4 i p regclassin regclassout regclassrecv regclasssend - - - N 0 b",
    2206: "4 i p regtypein regtypeout regtyperecv regtypesend - - - N 0 b",
    2249: "-1 d x record_in record_out record_recv record_send - - - P 0 p",
    2277: "-1 d x anyarray_in anyarray_out anyarray_recv anyarray_send - - - P 0 p",
    2278: "4 i p void_in void_out void_recv void_send - - - P 0 p",
    2283: "4 i p anyelement_in anyelement_out - - - - - P 0 p",
    2950: "16 c p uuid_in uuid_out uuid_recv uuid_send - - - U 0 b",
    3220: "8 d p pg_lsn_in pg_lsn_out pg_lsn_recv pg_lsn_send - - - U 0 b",
    3802: "-1 i x jsonb_in jsonb_out jsonb_recv jsonb_send - - jsonb_subscript_handler U 0 b",
    4089: "4 i p regnamespacein regnamespaceout regnamespacerecv regnamespacesend - - - N 0 b",
    4096: "4 i p regrolein regroleout regrolerecv regrolesend - - - N 0 b",
    # pgvector 0.7's vector type (STORAGE = external)
    9100: "-1 i e vector_in vector_out vector_recv vector_send vector_typmod_in - - U 0 b",
}

# obj_description(oid, 'pg_type') in PostgreSQL 15
DESCRIPTIONS = {
    16: "boolean, 'true'/'false'", 17: "variable-length string, binary values escaped",
    18: "single character", 19: "63-byte type for storing system identifiers",
    20: "~18 digit integer, 8-byte storage", 21: "-32 thousand to 32 thousand, 2-byte storage",
    22: "array of int2, used in system tables",
    23: "-2 billion to 2 billion integer, 4-byte storage", 24: "registered procedure",
    25: "variable-length string, no limit specified",
    26: "object identifier(oid), maximum 4 billion", 28: "transaction id",
    30: "array of oids, used in system tables", 114: "JSON stored as text",
    194: "string representing an internal node tree",
    700: "single-precision floating point number, 4-byte storage",
    701: "double-precision floating point number, 8-byte storage",
    705: "pseudo-type representing an undetermined type", 1033: "access control list",
    1042: "char(length), blank-padded string, fixed storage length",
    1043: "varchar(length), non-blank-padded string, variable storage length",
    1082: "date", 1083: "time of day", 1114: "date and time",
    1184: "date and time with time zone", 1186: "@ <number> <units>, time interval",
    1700: "numeric(precision, decimal), arbitrary precision number",
    2205: "registered class", 2206: "registered type",
    2249: "pseudo-type representing any composite type",
    2277: "pseudo-type representing a polymorphic array type",
    2278: "pseudo-type for the result of a function with no real result",
    2283: "pseudo-type representing a polymorphic base type", 2950: "UUID datatype",
    3220: "PostgreSQL LSN datatype",
    3802: "Binary JSON", 4089: "registered namespace", 4096: "registered role",
}


def collation_of(t: T.SqlType) -> int:
    """typcollation: collatable string types use the default collation
    (name uses "C", as in PostgreSQL)."""
    base = t.elem or t
    if base.oid == T.NAME.oid:
        return C_COLLATION
    if base.oid in (T.TEXT.oid, T.VARCHAR.oid, T.BPCHAR.oid, T.PG_NODE_TREE.oid):
        return DEFAULT_COLLATION
    return 0


def storage_of(t: T.SqlType) -> str:
    """typstorage, which pg_attribute.attstorage copies."""
    if t.elem is not None and t.oid not in (T.INT2VECTOR.oid, T.OIDVECTOR.oid):
        return "x"
    spec = _BASE.get(t.oid)
    return spec.split()[2] if spec else "x"


def align_of(t: T.SqlType) -> str:
    if t.elem is not None and t.oid not in (T.INT2VECTOR.oid, T.OIDVECTOR.oid):
        return "d" if align_of(t.elem) == "d" else "i"
    spec = _BASE.get(t.oid)
    return spec.split()[1] if spec else "i"


def typlen_of(t: T.SqlType) -> int:
    if t.elem is not None and t.oid not in (T.INT2VECTOR.oid, T.OIDVECTOR.oid):
        return -1
    spec = _BASE.get(t.oid)
    return int(spec.split()[0]) if spec else t.typlen


def _proc(name: str) -> Any:
    return reg_value(0, name)


def _base_rows() -> Iterator[dict[str, Any]]:
    for oid, t in sorted(T.BY_OID.items()):
        common = {"oid": oid, "typname": t.name, "typnamespace": PG_CATALOG_OID,
                  "typowner": BOOTSTRAP_ROLE_OID, "typisdefined": True, "typdelim": ",",
                  "typtypmod": -1, "typcollation": collation_of(t)}
        spec = _BASE.get(oid)
        if spec is not None:
            (typlen, align, storage, tin, tout, trecv, tsend, modin, modout, subscript, cat,
             pref, typtype) = spec.split()
            yield {**common, "typlen": int(typlen), "typbyval": t.typlen in (1, 2, 4, 8)
                   and typlen != "-1", "typtype": typtype, "typcategory": cat,
                   "typispreferred": pref == "1", "typsubscript": _proc(subscript),
                   "typelem": t.elem.oid if t.elem is not None else 0,
                   "typarray": T.ARRAY_OIDS.get(oid, 0), "typinput": _proc(tin),
                   "typoutput": _proc(tout), "typreceive": _proc(trecv),
                   "typsend": _proc(tsend), "typmodin": _proc(modin),
                   "typmodout": _proc(modout), "typanalyze": _proc("-"), "typalign": align,
                   "typstorage": storage}
        elif t.elem is not None:   # array types are all alike
            espec = (_BASE.get(t.elem.oid) or "- - - - - - - - - - - - -").split()
            yield {**common, "typlen": -1, "typbyval": False,
                   "typtype": "p" if t.elem.category == "P" else "b", "typcategory": "A",
                   "typsubscript": _proc("array_subscript_handler"), "typelem": t.elem.oid,
                   "typinput": _proc("array_in"), "typoutput": _proc("array_out"),
                   "typreceive": _proc("array_recv"), "typsend": _proc("array_send"),
                   "typmodin": _proc(espec[7]), "typmodout": _proc(espec[8]),
                   "typanalyze": _proc("array_typanalyze"), "typalign": align_of(t),
                   "typstorage": "x"}


def _row_types(cat: Catalog) -> Iterator[dict[str, Any]]:
    for rel in cat.relations.values():
        if not isinstance(rel, (TableDef, ViewDef)):
            continue
        oid, arr = rowtype_oid(rel.oid), rowtype_array_oid(rel.oid)
        common = {"typnamespace": rel.schema_oid, "typowner": BOOTSTRAP_ROLE_OID, "typlen": -1,
                  "typisdefined": True, "typdelim": ",", "typalign": "d", "typstorage": "x",
                  "typtypmod": -1, "typmodin": _proc("-"), "typmodout": _proc("-")}
        yield {**common, "oid": oid, "typname": rel.name, "typtype": "c",
               "typcategory": "C", "typrelid": rel.oid, "typsubscript": _proc("-"),
               "typarray": arr, "typinput": _proc("record_in"),
               "typoutput": _proc("record_out"), "typreceive": _proc("record_recv"),
               "typsend": _proc("record_send"), "typanalyze": _proc("-")}
        yield {**common, "oid": arr, "typname": "_" + rel.name, "typtype": "b",
               "typcategory": "A", "typsubscript": _proc("array_subscript_handler"),
               "typelem": oid, "typinput": _proc("array_in"), "typoutput": _proc("array_out"),
               "typreceive": _proc("array_recv"), "typsend": _proc("array_send"),
               "typanalyze": _proc("array_typanalyze")}


_BASE_ROWS: list[dict[str, Any]] = []


@relation("pg_type")
def _pg_type(ctx: Any) -> Iterator[dict[str, Any]]:
    if not _BASE_ROWS:
        _BASE_ROWS.extend(_base_rows())
    yield from _BASE_ROWS
    yield from _row_types(ctx.catalog)


def row_type_relation(cat: Catalog, oid: int) -> TableDef | ViewDef | None:
    """The table or view whose row type (or row array type) has this OID."""
    for base in (rowtype_oid(0), rowtype_array_oid(0)):
        rel = cat.relations.get(oid - base)
        if isinstance(rel, (TableDef, ViewDef)):
            return rel
    return None
