"""Cluster-wide and built-in catalogs: databases (tenants), roles, languages,
access methods, collations, tablespaces, extensions, functions, settings and
descriptions, with PostgreSQL 15's fixed OIDs where clients may rely on them.

AionDB has no privilege system (the bootstrap user is a superuser), so ACL
columns are NULL except where PostgreSQL 15 shows explicit grants on its
built-in schemas; those are mirrored so psql's listings read the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiondb import types as T
from aiondb.sql.pg_catalog.pg_type import DESCRIPTIONS as TYPE_DESCRIPTIONS
from aiondb.sql.pg_catalog.registry import (
    BTREE_AM,
    CLASS_OID,
    DEFAULT_TABLESPACE,
    HASH_AM,
    HEAP_AM,
    INTERNAL_LANG,
    PG_DATABASE_OWNER,
    PLPGSQL_LANG,
    SQL_LANG,
    reg_value,
    relation,
)
from aiondb.storage.catalog import (
    BOOTSTRAP_ROLE_OID,
    INFORMATION_SCHEMA_OID,
    PG_CATALOG_OID,
    PUBLIC_OID,
)

SCHEMA_ACL = {PG_CATALOG_OID: ["{owner}=UC/{owner}", "=U/{owner}"],
              PUBLIC_OID: ["pg_database_owner=UC/pg_database_owner", "=U/pg_database_owner"],
              INFORMATION_SCHEMA_OID: ["{owner}=UC/{owner}", "=U/{owner}"]}
# the schemas whose privileges initdb recorded (pg_init_privs): pg_dump
# leaves privileges that still equal these alone
INIT_PRIVS_SCHEMAS = (PG_CATALOG_OID, PUBLIC_OID)
SCHEMA_DESCRIPTIONS = {PG_CATALOG_OID: "system catalog schema",
                       PUBLIC_OID: "standard public schema"}
PLPGSQL_EXT, VECTOR_EXT = 13559, 13600
# (oid, name, version, relocatable, description)
EXTENSIONS = [(PLPGSQL_EXT, "plpgsql", "1.0", False, "PL/pgSQL procedural language"),
              (VECTOR_EXT, "vector", "0.7.0", True,
               "vector data type and pgvector's distance operators")]
DATABASE_DESCRIPTIONS = {"postgres": "default administrative connection database"}


def schema_acl(oid: int, user: str) -> list[str] | None:
    acl = SCHEMA_ACL.get(oid)
    return [a.format(owner=user) for a in acl] if acl else None


@relation("pg_init_privs")
def _pg_init_privs(ctx: Any) -> Iterator[tuple]:
    for oid in INIT_PRIVS_SCHEMAS:
        yield (oid, CLASS_OID["pg_namespace"], 0, "i", schema_acl(oid, ctx.session.user))


@relation("pg_database")
def _pg_database(ctx: Any) -> Iterator[dict[str, Any]]:
    reg = ctx.session.engine.registry
    for name in reg.names():
        db = reg.tenants.get(name)
        yield {"oid": db.oid if db is not None else 0, "datname": name,
               "datdba": BOOTSTRAP_ROLE_OID, "encoding": 6, "datlocprovider": "c",
               "datallowconn": True, "datconnlimit": -1, "datfrozenxid": 1,
               "datminmxid": 1, "dattablespace": DEFAULT_TABLESPACE, "datcollate": "C",
               "datctype": "C"}


# --- roles: the session user (superuser) and the owner of schema public -----------------------------

def _roles(ctx: Any) -> list[tuple[int, str, bool]]:
    return [(BOOTSTRAP_ROLE_OID, ctx.session.user, True),
            (PG_DATABASE_OWNER, "pg_database_owner", False)]


def role_name(ctx: Any, oid: int) -> str | None:
    return next((name for roid, name, _ in _roles(ctx) if roid == oid), None)


@relation("pg_authid")
def _pg_authid(ctx: Any) -> Iterator[tuple]:
    for oid, name, su in _roles(ctx):
        yield (oid, name, su, True, su, su, su, su, su, -1, None, None)


@relation("pg_roles")
def _pg_roles(ctx: Any) -> Iterator[tuple]:
    for oid, name, su in _roles(ctx):
        yield (name, su, True, su, su, su, su, -1, "********", None, su, None, oid)


def _users(ctx: Any) -> Iterator[tuple]:
    for oid, name, su in _roles(ctx):
        if su:
            yield (name, oid, True, True, True, True, "********", None, None)


relation("pg_user")(_users)
relation("pg_shadow")(_users)


# --- built-in objects ----------------------------------------------------------------------------------

@relation("pg_language")
def _pg_language(ctx: Any) -> list[tuple]:
    return [(INTERNAL_LANG, "internal", BOOTSTRAP_ROLE_OID, False, False, 0, 0, 2246, None),
            (SQL_LANG, "sql", BOOTSTRAP_ROLE_OID, False, True, 0, 0, 2248, None),
            (PLPGSQL_LANG, "plpgsql", BOOTSTRAP_ROLE_OID, True, True, 13560, 13561, 13562,
             None)]


@relation("pg_am")
def _pg_am(ctx: Any) -> list[tuple]:
    return [(HEAP_AM, "heap", reg_value(0, "heap_tableam_handler"), "t"),
            (BTREE_AM, "btree", reg_value(0, "bthandler"), "i"),
            (HASH_AM, "hash", reg_value(0, "hashhandler"), "i")]


@relation("pg_collation")
def _pg_collation(ctx: Any) -> list[tuple]:
    return [(100, "default", PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, "d", True, -1, None, None,
             None, None),
            (950, "C", PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, "c", True, -1, "C", "C", None, None),
            (951, "POSIX", PG_CATALOG_OID, BOOTSTRAP_ROLE_OID, "c", True, -1, "POSIX",
             "POSIX", None, None)]


@relation("pg_tablespace")
def _pg_tablespace(ctx: Any) -> list[tuple]:
    return [(DEFAULT_TABLESPACE, "pg_default", BOOTSTRAP_ROLE_OID, None, None),
            (1664, "pg_global", BOOTSTRAP_ROLE_OID, None, None)]


@relation("pg_extension")
def _pg_extension(ctx: Any) -> Iterator[tuple]:
    for oid, name, version, reloc, _ in EXTENSIONS:
        yield (oid, name, BOOTSTRAP_ROLE_OID, PG_CATALOG_OID, reloc, version, None, None)


@relation("pg_available_extensions")
def _pg_available_extensions(ctx: Any) -> Iterator[tuple]:
    for _, name, version, _, desc in EXTENSIONS:
        yield (name, version, version, desc)


def _arg_oid(a: Any) -> int:
    if isinstance(a, T.SqlType):
        return a.oid
    return {"anyarray": T.ANYARRAY.oid}.get(a, T.ANYELEMENT.oid)


_PROCS: list[tuple[int, Any, str]] = []


def builtin_functions() -> list[tuple[int, Any, str]]:
    """(oid, definition, prokind) of every built-in function and aggregate.
    Aggregates have no OID of their own: number them after the functions, in
    registration order, which is fixed for a given build."""
    from aiondb.sql import aggregates as A
    from aiondb.sql import functions as F
    if not _PROCS:
        funcs = [(d.oid, d, "f") for defs in F.FUNCTIONS.values() for d in defs]
        nxt = max((o for o, _, _ in funcs), default=9200) + 1
        aggs = [(nxt + i, d, "a")
                for i, d in enumerate(d for defs in A.AGGREGATES.values() for d in defs)]
        _PROCS.extend(funcs + aggs)
    return _PROCS


# Functions PostgreSQL declares STABLE (they read the session or the catalog);
# our registry only knows volatile or not.
_STABLE = frozenset("""now current_setting current_schema current_schemas current_database
current_user session_user current_catalog to_char to_timestamp to_date age date_trunc
pg_get_expr pg_get_constraintdef pg_get_indexdef pg_get_viewdef pg_table_is_visible
pg_type_is_visible pg_function_is_visible pg_get_userbyid format_type to_regclass
to_regtype pg_backend_pid obj_description col_description shobj_description
statement_timestamp transaction_timestamp localtimestamp""".split())


def volatility(d: Any) -> str:
    if getattr(d, "volatile", False):
        return "v"
    return "s" if d.name in _STABLE else "i"


@relation("pg_proc")
def _pg_proc(ctx: Any) -> Iterator[dict[str, Any]]:
    for oid, d, kind in builtin_functions():
        args = [_arg_oid(a) for a in getattr(d, "args", ())]
        ret = d.ret.oid if isinstance(d.ret, T.SqlType) else T.ANYELEMENT.oid
        yield {"oid": oid, "proname": d.name, "pronamespace": PG_CATALOG_OID,
               "proowner": BOOTSTRAP_ROLE_OID, "prolang": INTERNAL_LANG, "procost": 1.0,
               "prosupport": 0, "prokind": kind, "proisstrict": getattr(d, "strict", True),
               "provolatile": volatility(d),
               "proparallel": "s", "pronargs": len(args), "prorettype": ret,
               "proargtypes": args, "prosrc": d.name,
               "provariadic": _arg_oid(d.variadic) if getattr(d, "variadic", None) else 0}


# --- descriptions: built-in objects', and COMMENT ON's from the catalog -------------------------------

def _user_descriptions(ctx: Any) -> Iterator[tuple]:
    cat = ctx.catalog
    schemas = {s.oid for s in cat.schemas.values()}
    for (oid, sub), text in cat.comments.items():
        if oid in schemas:
            classoid = CLASS_OID["pg_namespace"]
        elif oid in cat.constraints:
            classoid = CLASS_OID["pg_constraint"]
        else:
            classoid = CLASS_OID["pg_class"]
        yield (oid, classoid, sub, text)


@relation("pg_description")
def _pg_description(ctx: Any) -> Iterator[tuple]:
    for oid, text in SCHEMA_DESCRIPTIONS.items():
        if (oid, 0) not in ctx.catalog.comments:
            yield (oid, CLASS_OID["pg_namespace"], 0, text)
    yield from _user_descriptions(ctx)
    for oid, _, _, _, text in EXTENSIONS:
        yield (oid, CLASS_OID["pg_extension"], 0, text)
    yield (PLPGSQL_LANG, CLASS_OID["pg_language"], 0, "PL/pgSQL procedural language")
    for oid, text in TYPE_DESCRIPTIONS.items():
        yield (oid, CLASS_OID["pg_type"], 0, text)


@relation("pg_shdescription")
def _pg_shdescription(ctx: Any) -> Iterator[tuple]:
    reg = ctx.session.engine.registry
    for name, text in DATABASE_DESCRIPTIONS.items():
        db = reg.tenants.get(name)
        if db is not None:
            yield (db.oid, CLASS_OID["pg_database"], text)


def describe(ctx: Any, oid: int, classoid: int, subid: int = 0) -> str | None:
    """obj_description / col_description / shobj_description."""
    if classoid != CLASS_OID["pg_database"]:
        text = ctx.catalog.comments.get((oid, subid))
        if text is not None:
            return text if describes(ctx, oid, classoid) else None
    producer = _pg_shdescription if classoid == CLASS_OID["pg_database"] else _pg_description
    for row in producer(ctx):
        if row[0] == oid and row[1] == classoid and (len(row) == 3 or row[2] == subid):
            return row[-1]
    return None


def describes(ctx: Any, oid: int, classoid: int) -> bool:
    """Whether a catalog comment on `oid` belongs to that system catalog."""
    return any(r[0] == oid and r[1] == classoid for r in _user_descriptions(ctx))
