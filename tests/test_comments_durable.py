"""COMMENT ON is catalog state: transactional, and durable across kill -9
and checkpoints of the real server."""

from __future__ import annotations

import secrets
import tempfile

import psycopg

from aiondb import types as T
from aiondb.storage.catalog import Catalog, ColumnDef, TableDef
from tests.support.servers import AionServer, start_aiondb

_DESCRIPTIONS = """SELECT c.relname, d.objsubid, d.description FROM pg_description d
JOIN pg_class c ON c.oid = d.objoid ORDER BY 1, 2"""


def _start(data_dir: str, key: str) -> AionServer:
    return start_aiondb("--data-dir", data_dir, env={"AIONDB_MASTER_KEY": key})


def test_comments_survive_kill9_and_rollback_undoes_them() -> None:
    key = secrets.token_hex(32)
    with tempfile.TemporaryDirectory(prefix="aiondb-comment-") as data_dir:
        srv = _start(data_dir, key)
        try:
            with psycopg.connect(srv.dsn(), autocommit=True) as c:
                c.execute("CREATE TABLE t (a int, b text)")
                c.execute("COMMENT ON TABLE t IS 'the table'")
                c.execute("COMMENT ON COLUMN t.b IS 'column b'")
                with c.transaction(force_rollback=True):
                    c.execute("COMMENT ON TABLE t IS 'rolled back'")
                    c.execute("COMMENT ON COLUMN t.a IS 'rolled back too'")
                c.execute("CHECKPOINT")
                c.execute("COMMENT ON SCHEMA public IS 'after the checkpoint'")
            srv.kill9()
            srv = _start(data_dir, key)
            with psycopg.connect(srv.dsn(), autocommit=True) as c:
                assert c.execute(_DESCRIPTIONS).fetchall() == [
                    ("t", 0, "the table"), ("t", 2, "column b")]
                assert c.execute("SELECT obj_description('public'::regnamespace, "
                                 "'pg_namespace')").fetchone() == ("after the checkpoint",)
                c.execute("ALTER TABLE t DROP COLUMN b")
                assert c.execute(_DESCRIPTIONS).fetchall() == [("t", 0, "the table")]
                c.execute("DROP TABLE t")
                assert c.execute(_DESCRIPTIONS).fetchall() == []
        finally:
            srv.stop()


def test_catalog_round_trip_keeps_comments() -> None:
    cat = Catalog.bootstrap()
    cat.add_relation(TableDef(20000, "t", 2200, (ColumnDef("a", T.INT4, 1),)))
    cat.set_comment(20000, 0, "table")
    cat.set_comment(20000, 1, "col")
    cat.set_comment(2200, 0, "schema")
    back = Catalog.from_dict(cat.to_dict())
    assert back.comments == cat.comments
    back.set_comment(20000, 1, "")
    assert (20000, 1) not in back.comments
    old = cat.to_dict()
    del old["comments"]              # a catalog written before COMMENT ON existed
    assert Catalog.from_dict(old).comments == {}
