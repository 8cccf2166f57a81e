"""Runs every tests/sql/*.slt script against a real AionDB server.

AIONDB_REGEN=1 rewrites the expected results from AionDB's answers and
AIONDB_REGEN=pg from PostgreSQL 15's (the source of truth); review the
diff before committing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import sqllogic

SCRIPTS = sorted((Path(__file__).parent / "sql").glob("*.slt"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(path: Path, aiondb, request: pytest.FixtureRequest) -> None:
    mode = sqllogic.regen_mode()
    if mode == "pg":
        pg = request.getfixturevalue("postgres")
        outcomes = sqllogic.run_script(path, "postgres", pg.dsn(), pg.dsn)
    else:
        outcomes = sqllogic.run_script(path, "aiondb", aiondb.dsn(), aiondb.dsn)
    if mode in ("1", "pg"):
        records, trailer = sqllogic.parse_file(path)
        path.write_text(sqllogic.render(records, {o.record.line: o for o in outcomes}, trailer))
        return
    report = sqllogic.failure_report(path, outcomes)
    if report:
        pytest.fail(report, pytrace=False)
