"""pg_export_snapshot and SET TRANSACTION SNAPSHOT (what pg_dump -j relies
on): a transaction that imports another's snapshot sees exactly what the
exporter sees, whatever commits meanwhile, until the exporter ends. The same
test runs against AionDB and PostgreSQL 15."""

from __future__ import annotations

import psycopg
import pytest


@pytest.fixture(params=["aiondb", "postgres"])
def dsn(request: pytest.FixtureRequest) -> str:
    if request.param == "aiondb":
        return request.getfixturevalue("tenant_dsn")
    pg = request.getfixturevalue("postgres")
    with psycopg.connect(pg.dsn(), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS snapshots")
        c.execute("CREATE DATABASE snapshots")
    return pg.dsn("snapshots")


@pytest.fixture()
def tenant_dsn(aiondb, tenant: str) -> str:
    return aiondb.dsn(tenant)


def test_an_imported_snapshot_sees_what_the_exporter_sees(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE s (id int PRIMARY KEY, v text)")
        setup.execute("INSERT INTO s VALUES (1, 'old'), (2, 'old')")
    with psycopg.connect(dsn) as leader, psycopg.connect(dsn, autocommit=True) as writer, \
            psycopg.connect(dsn) as worker:
        leader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        sid = leader.execute("SELECT pg_export_snapshot()").fetchone()[0]
        writer.execute("UPDATE s SET v = 'new' WHERE id = 1")
        writer.execute("DELETE FROM s WHERE id = 2")
        writer.execute("INSERT INTO s VALUES (3, 'new')")
        worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        worker.execute(f"SET TRANSACTION SNAPSHOT '{sid}'")
        before = [(1, "old"), (2, "old")]
        assert worker.execute("SELECT * FROM s ORDER BY id").fetchall() == before
        assert leader.execute("SELECT * FROM s ORDER BY id").fetchall() == before
        writer.execute("UPDATE s SET v = 'newer' WHERE id = 1")   # later still: same answer
        assert worker.execute("SELECT * FROM s ORDER BY id").fetchall() == before
        worker.rollback()
        leader.rollback()
        # the exporter has ended: its snapshot is gone
        worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.errors.InvalidParameterValue,
                           match="invalid snapshot identifier"):
            worker.execute(f"SET TRANSACTION SNAPSHOT '{sid}'")
        worker.rollback()
        assert worker.execute("SELECT * FROM s ORDER BY id").fetchall() == [
            (1, "newer"), (3, "new")]


def test_importing_is_checked(dsn: str) -> None:
    with psycopg.connect(dsn) as leader, psycopg.connect(dsn) as worker:
        sid = leader.execute("SELECT pg_export_snapshot()").fetchone()[0]   # in a READ COMMITTED
        worker.execute("BEGIN")      # READ COMMITTED cannot import
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="REPEATABLE READ"):
            worker.execute(f"SET TRANSACTION SNAPSHOT '{sid}'")
        worker.rollback()
        worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        worker.execute("SELECT 1")
        with pytest.raises(psycopg.errors.ActiveSqlTransaction, match="before any query"):
            worker.execute(f"SET TRANSACTION SNAPSHOT '{sid}'")
        worker.rollback()
        worker.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="non-serializable"):
            worker.execute(f"SET TRANSACTION SNAPSHOT '{sid}'")
        worker.rollback()
        worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        worker.execute(f"SET TRANSACTION SNAPSHOT '{sid}'")    # a READ COMMITTED exporter's: fine
        assert worker.execute("SELECT 1").fetchone() == (1,)


def test_a_snapshot_stays_in_its_database(dsn: str) -> None:
    other = psycopg.conninfo.make_conninfo(dsn, dbname="postgres")
    with psycopg.connect(dsn) as leader, psycopg.connect(other) as worker:
        sid = leader.execute("SELECT pg_export_snapshot()").fetchone()[0]
        worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="different database"):
            worker.execute(f"SET TRANSACTION SNAPSHOT '{sid}'")
