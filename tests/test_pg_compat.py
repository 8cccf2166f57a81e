"""The differential half of the SQL corpus: every tests/sql/*.slt script runs
against PostgreSQL 15 too, which proves its expected results are
PostgreSQL's answers. Records where AionDB intentionally differs carry
`skipif postgres` / `skipif aiondb` with the reason (see
docs/compatibility.md). Skipped when PostgreSQL is not installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import sqllogic

SCRIPTS = sorted((Path(__file__).parent / "sql").glob("*.slt"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script_on_postgres(path: Path, postgres) -> None:
    if sqllogic.regen_mode():
        pytest.skip("regenerating expected results")
    outcomes = sqllogic.run_script(path, "postgres", postgres.dsn(), postgres.dsn)
    report = sqllogic.failure_report(path, outcomes)
    if report:
        pytest.fail(report, pytrace=False)
