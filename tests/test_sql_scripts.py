"""Runs every tests/sql/*.slt script against a real AionDB server."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support import sqllogic

SCRIPTS = sorted((Path(__file__).parent / "sql").glob("*.slt"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(path: Path, aiondb, postgres_optional) -> None:
    name = f"s_{path.stem}_{uuid.uuid4().hex[:6]}".lower().replace("-", "_")
    with psycopg.connect(aiondb.dsn(), autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    runner = sqllogic.Runner(lambda _c: aiondb.dsn(name), "aiondb")
    try:
        outcomes = sqllogic.run_file(path, runner)
    finally:
        runner.close()
    mode = sqllogic.regen_mode()
    if mode == "1":
        records, trailer = sqllogic.parse_file(path)
        path.write_text(sqllogic.render(records, {o.record.line: o for o in outcomes}, trailer))
        return
    failures = [o for o in outcomes if not o.ok]
    if failures:
        lines = []
        for o in failures:
            lines.append(f"{path.name}:{o.record.line}: {o.message}\n  SQL: {o.record.sql}")
            if o.record.kind == "query":
                lines.append("  expected:\n    " + "\n    ".join(o.record.expected))
                lines.append("  actual:\n    " + "\n    ".join(o.actual))
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture()
def postgres_optional():
    return None
