"""psycopg features that read the catalog (TypeInfo and friends), checked
against PostgreSQL 15: same answers for built-in types, same shape for the
row types of tables (whose OIDs differ)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg.types import TypeInfo
from psycopg.types.composite import CompositeInfo
from psycopg.types.enum import EnumInfo

from tests.support.servers import AionServer, PgServer

BUILTIN = ["int2", "int4", "integer", "int8", "bigint", "text", "varchar", "character varying",
           "bpchar", "char", '"char"', "name", "bool", "boolean", "bytea", "numeric",
           "float4", "float8", "double precision", "date", "time", "timestamp",
           "timestamptz", "timestamp with time zone", "interval", "json", "jsonb", "uuid",
           "oid", "regclass", "regtype", "text[]", "_int4", "int4[]", "jsonb[]", "record"]
SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE customers (id serial PRIMARY KEY, email varchar(200), score numeric(10,2),
                        tags text[], created timestamptz);
CREATE TABLE app.settings (key text PRIMARY KEY, value jsonb, updated date);
"""


def _info(i: TypeInfo | None) -> tuple | None:
    return None if i is None else (i.name, i.oid, i.array_oid, i.regtype, i.delimiter)


@pytest.fixture()
def both(conn: psycopg.Connection, postgres: PgServer,
         tenant: str) -> tuple[psycopg.Connection, psycopg.Connection]:
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {tenant}")
    ref = psycopg.connect(postgres.dsn(tenant), autocommit=True)
    for c in (conn, ref):
        c.execute(SCHEMA)
    yield conn, ref
    ref.close()
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {tenant}")


def test_typeinfo_builtin_types(both: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    ours, ref = both
    for name in BUILTIN:
        assert _info(TypeInfo.fetch(ours, name)) == _info(TypeInfo.fetch(ref, name)), name


def test_typeinfo_unknown_type_is_none(both: tuple) -> None:
    ours, ref = both
    assert TypeInfo.fetch(ours, "no_such_type") is None
    assert TypeInfo.fetch(ref, "no_such_type") is None


def test_typeinfo_in_transaction_keeps_it_usable(aiondb: AionServer, tenant: str) -> None:
    """psycopg fetches inside a savepoint when a transaction is open."""
    with psycopg.connect(aiondb.dsn(tenant)) as c:
        c.execute("CREATE TABLE t (x int)")
        assert TypeInfo.fetch(c, "no_such_type") is None
        assert _info(TypeInfo.fetch(c, "int4"))[1] == 23
        c.execute("INSERT INTO t VALUES (1)")
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        c.commit()
        assert c.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_typeinfo_async(aiondb: AionServer, tenant: str) -> None:
    async def run() -> tuple | None:
        async with await psycopg.AsyncConnection.connect(aiondb.dsn(tenant)) as c:
            return _info(await TypeInfo.fetch(c, "numeric"))
    assert asyncio.run(run()) == ("numeric", 1700, 1231, "numeric", ",")


@pytest.mark.parametrize("name", ["customers", "public.customers", "app.settings"])
def test_composite_info_of_tables(both: tuple, name: str) -> None:
    ours, ref = both
    a, b = CompositeInfo.fetch(ours, name), CompositeInfo.fetch(ref, name)
    assert a is not None and b is not None
    assert (a.name, a.regtype, a.field_names, a.field_types) == \
        (b.name, b.regtype, b.field_names, b.field_types)
    assert a.oid and a.array_oid and a.oid != a.array_oid
    # the row type's OID leads back to the table, as in PostgreSQL
    assert ours.execute("SELECT typrelid::regclass::text FROM pg_type WHERE oid = %s",
                        [a.oid]).fetchone() == \
        ref.execute("SELECT typrelid::regclass::text FROM pg_type WHERE oid = %s",
                    [b.oid]).fetchone()
    assert ours.execute("SELECT %s::regtype::text, %s::regtype::text",
                        [a.oid, a.array_oid]).fetchone() == \
        ref.execute("SELECT %s::regtype::text, %s::regtype::text",
                    [b.oid, b.array_oid]).fetchone()


def test_enum_info_missing(both: tuple) -> None:
    ours, ref = both
    assert EnumInfo.fetch(ours, "mood") is None
    assert EnumInfo.fetch(ref, "mood") is None


def test_vector_type_info_matches_result_columns(conn: psycopg.Connection) -> None:
    """pgvector's Python adapter starts with TypeInfo.fetch('vector'): the OID
    it gets must be the one result columns of type vector carry."""
    info = TypeInfo.fetch(conn, "vector")
    assert info is not None and info.name == "vector"
    cur = conn.execute("SELECT '[1,2,3]'::vector, ARRAY['[1]'::vector]")
    assert [d.type_code for d in cur.description] == [info.oid, info.array_oid]
