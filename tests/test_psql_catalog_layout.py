"""Every pg_catalog / information_schema relation AionDB serves has
PostgreSQL 15's columns, in PostgreSQL's order, with PostgreSQL's result
types: clients read catalog rows by position and some check types."""

from __future__ import annotations

import psycopg

from tests.support.servers import AionServer, PgServer

# Types AionDB does not have; their catalog columns are served as text.
AS_TEXT = {"inet", "_pg_statistic", "pg_ndistinct", "pg_dependencies",
           "pg_mcv_list"}
LIST = """SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"""


def _columns(conn: psycopg.Connection, rel: str) -> list[tuple[str, int]]:
    cur = conn.execute(f"SELECT * FROM {rel} LIMIT 0")
    return [(d.name, d.type_code) for d in cur.description]


def test_system_relations_have_postgres_columns(aiondb: AionServer, postgres: PgServer,
                                                tenant: str) -> None:
    with psycopg.connect(aiondb.dsn(tenant), autocommit=True) as ours, \
            psycopg.connect(postgres.dsn(), autocommit=True) as ref:
        rels = ours.execute(LIST).fetchall()
        assert len(rels) > 100
        text_oid = 25
        for schema, name in rels:
            rel = f"{schema}.{name}"
            expected = []
            for col, typ in ref.execute(
                    "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON "
                    "t.oid = a.atttypid WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
                    "AND NOT a.attisdropped ORDER BY a.attnum", [rel]).fetchall():
                expected.append(col if typ not in AS_TEXT else (col, "as text"))
            got = _columns(ours, rel)
            reference = _columns(ref, rel)
            assert [c for c, _ in got] == [c for c, _ in reference], rel
            for (col, oid), (_, ref_oid), exp in zip(got, reference, expected, strict=True):
                want = text_oid if isinstance(exp, tuple) else ref_oid
                assert oid == want, f"{rel}.{col}: {oid} != {want}"


def test_catalog_oids_and_kinds_match(aiondb: AionServer, postgres: PgServer,
                                      tenant: str) -> None:
    """Catalog tables keep PostgreSQL's fixed OIDs ('pg_class'::regclass is
    1259 everywhere) and relkinds."""
    q = """SELECT c.relname, c.oid, c.relkind FROM pg_class c
           WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'
           ORDER BY 1"""
    with psycopg.connect(aiondb.dsn(tenant)) as ours, psycopg.connect(postgres.dsn()) as ref:
        mine = ours.execute(q).fetchall()
        theirs = {r[0]: r for r in ref.execute(q).fetchall()}
    assert mine
    for row in mine:
        assert theirs[row[0]] == row


def test_settings_are_postgres_settings(aiondb: AionServer, postgres: PgServer,
                                        tenant: str) -> None:
    """pg_settings lists only real PostgreSQL 15 settings, described as
    PostgreSQL describes them (psql's SET completion filters on context)."""
    q = "SELECT name, unit, context, vartype, category FROM pg_settings"
    with psycopg.connect(aiondb.dsn(tenant)) as ours, psycopg.connect(postgres.dsn()) as ref:
        mine = ours.execute(q).fetchall()
        theirs = {r[0]: r for r in ref.execute(q).fetchall()}
    assert len(mine) > 30
    for row in mine:
        assert theirs.get(row[0]) == row, row
