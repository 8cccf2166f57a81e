"""Regenerate tab_complete.sql: the catalog queries psql 15 sends for tab
completion, captured from PostgreSQL 15 with log_statement=all while an
interactive psql (driven through a pty) presses TAB after each prefix below,
on the schema of describe.sql.

    python -m tests.psql.capture_tab_complete
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pexpect

from tests.support.servers import start_postgres

HERE = Path(__file__).parent
PREFIXES = [
    "SELECT * FROM cu", "SELECT * FROM app.", "\\d or", "\\d app.ev", "INSERT INTO ord",
    "ALTER TABLE customers ", "ALTER TABLE customers ALTER COLUMN ", "DROP TABLE ",
    "DROP INDEX ", "DROP VIEW ", "DROP SEQUENCE ", "\\c ", "\\dn ", "SET search",
    "SET search_path TO ", "UPDATE customers SET ", "SELECT * FROM customers WHERE ",
    "CREATE INDEX ON orders (", "\\df ", "\\dT ", "DROP SCHEMA ", "DELETE FROM ", "COPY ",
    "TRUNCATE ", "SELECT nextval(", "GRANT ", "COMMENT ON TABLE ", "CREATE TABLE x (a ",
    "DROP FUNCTION ", "SELECT * FROM customers c JOIN ", "ALTER TABLE orders DROP CONSTRAINT ",
    "SHOW ", "\\dt ", "\\l ", "ANALYZE ", "VACUUM ", "\\du ",
]
_STATEMENT = re.compile(r"LOG:  statement: (.*?)(?=\n\d{4}-\d\d-\d\d |\Z)", re.S)


def main() -> None:
    pg = start_postgres({"log_statement": "'all'"})
    assert pg is not None, "PostgreSQL 15 is needed"
    try:
        psql = ["psql", "-X", "-h", pg.host, "-p", str(pg.port), "-U", pg.user]
        subprocess.run(psql + ["-d", "postgres", "-c", "CREATE DATABASE tabdb"], check=True)
        subprocess.run(psql + ["-q", "-d", "tabdb", "-f", str(HERE / "describe.sql")],
                       check=True, capture_output=True)
        log = Path(pg.datadir).parent / "log"
        start = log.stat().st_size
        child = pexpect.spawn(psql[0], psql[1:] + ["-d", "tabdb"], encoding="utf-8",
                              timeout=5, env={**os.environ, "TERM": "dumb"})
        child.expect("tabdb=#")
        for prefix in PREFIXES:
            child.send(prefix + "\t\t")
            child.expect(pexpect.TIMEOUT, timeout=0.5)
            child.send("\x03")   # ^C abandons the line
            child.expect("tabdb=#")
        child.sendline("\\q")
        child.expect(pexpect.EOF)
        text = log.read_text()[start:]
    finally:
        pg.stop()
    queries: list[str] = []
    for q in _STATEMENT.findall(text):
        q = q.strip()
        if q not in queries:
            queries.append(q)
    header = ("-- Catalog queries psql 15 sends for tab completion, captured from "
              "PostgreSQL 15\n-- by capture_tab_complete.py. One query per block, "
              "each ended by ';'.\n\n")
    (HERE / "tab_complete.sql").write_text(header + "".join(q + ";\n\n" for q in queries))
    print(f"{len(queries)} queries")


if __name__ == "__main__":
    main()
