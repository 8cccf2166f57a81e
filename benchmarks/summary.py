"""One headline table from the JSON results of the comparison benchmarks.

    python benchmarks/compare.py --json /tmp/compare.json
    python benchmarks/pgbench_compare.py --json /tmp/pgbench.json
    python benchmarks/sql_workloads.py --json /tmp/sql.json
    python benchmarks/commit_bench.py --json /tmp/commit.json
    python benchmarks/summary.py /tmp/compare.json /tmp/pgbench.json /tmp/sql.json \\
        /tmp/commit.json

Each row: the workload, PostgreSQL's median, AionDB's median, the ratio
AionDB/PostgreSQL (throughput-like: > 1 means AionDB is faster), the ratio of
server CPU per operation (PostgreSQL ÷ AionDB, which the machine's load
disturbs far less than throughput), the issue's target where there is one, and
the load-average range and other processes' CPU during those runs. The
per-script tables carry every figure; this is the digest for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402

# (source script, bench, mode, clients, AionDB target, label, target text)
ROWS: list[tuple[str, str, str, int, str, str, str]] = [
    ("compare", "point-select", "pgbench -M prepared", 1, "aion-ephemeral",
     "point SELECT, pgbench -f, -M prepared", "≥ 0.5× (issue 2)"),
    ("compare", "point-select", "pgbench -M prepared", 8, "aion-ephemeral",
     "point SELECT, pgbench -f, -M prepared", ""),
    ("compare", "point-select", "psycopg prepared", 1, "aion-ephemeral",
     "point SELECT, psycopg prepared", "≥ 0.5× (issue 2)"),
    ("compare", "point-select", "psycopg prepared", 8, "aion-ephemeral",
     "point SELECT, psycopg prepared", ""),
    ("compare", "point-select", "psycopg default", 1, "aion-ephemeral",
     "point SELECT, psycopg default", ""),
    ("compare", "point-select", "psycopg default", 8, "aion-ephemeral",
     "point SELECT, psycopg default", ""),
    ("compare", "point-select", "psycopg unprepared", 1, "aion-ephemeral",
     "point SELECT, psycopg unprepared", ""),
    ("compare", "insert", "psycopg prepared", 1, "aion-durable",
     "INSERT, psycopg prepared, durable", ""),
    ("compare", "insert", "psycopg prepared", 8, "aion-durable",
     "INSERT, psycopg prepared, durable", ""),
    ("compare", "insert", "psycopg prepared", 1, "aion-ephemeral",
     "INSERT, psycopg prepared, AionDB in memory", ""),
    ("compare", "insert", "psycopg prepared", 8, "aion-ephemeral",
     "INSERT, psycopg prepared, AionDB in memory", ""),
    ("pgbench", "select-only", "-S -M prepared", 1, "aion-durable",
     "pgbench -S -M prepared (-s 10)", "≥ 0.5× (issue 3)"),
    ("pgbench", "select-only", "-S -M prepared", 8, "aion-durable",
     "pgbench -S -M prepared (-s 10)", ""),
    ("pgbench", "tpcb-like simple", "-M simple", 1, "aion-durable",
     "pgbench tpcb-like -M simple, durable", ""),
    ("pgbench", "tpcb-like simple", "-M simple", 8, "aion-durable",
     "pgbench tpcb-like -M simple, durable", ""),
    ("pgbench", "tpcb-like prepared", "-M prepared", 1, "aion-durable",
     "pgbench tpcb-like -M prepared, durable", ""),
    ("pgbench", "tpcb-like prepared", "-M prepared", 8, "aion-durable",
     "pgbench tpcb-like -M prepared, durable", ""),
    ("pgbench", "tpcb-like prepared", "-M prepared", 1, "aion-ephemeral",
     "pgbench tpcb-like -M prepared, AionDB in memory", ""),
    ("pgbench", "tpcb-like prepared", "-M prepared", 8, "aion-ephemeral",
     "pgbench tpcb-like -M prepared, AionDB in memory", ""),
    ("commit", "insert autocommit", "pgbench -M prepared", 1, "aion-durable",
     "commit: INSERT autocommit, pgbench", ""),
    ("commit", "insert autocommit", "pgbench -M prepared", 8, "aion-durable",
     "commit: INSERT autocommit, pgbench", "≥ 1.0× (issue 4)"),
    ("commit", "insert autocommit", "psycopg prepared", 1, "aion-durable",
     "commit: INSERT autocommit, psycopg", ""),
    ("commit", "insert autocommit", "psycopg prepared", 8, "aion-durable",
     "commit: INSERT autocommit, psycopg", "≥ 1.0× (issue 4)"),
    ("commit", "insert autocommit", "pgbench -M prepared", 8, "aion-thread",
     "commit: INSERT, pgbench, --wal-flush thread", ""),
    ("commit", "insert autocommit", "pgbench -M prepared", 8, "aion-async",
     "commit: INSERT, pgbench, AionDB synchronous_commit=off", ""),
]


def detect(doc: dict[str, Any]) -> str:
    benches = {r["bench"] for r in doc["results"]}
    if "select-only" in benches or "init" in doc:
        return "pgbench"
    if "insert autocommit" in benches:
        return "commit"
    if any(b.startswith(("join: ", "lookup: ")) for b in benches):
        return "sql"
    return "compare"


def cell_row(rs: list[H.Result], pg: str, aion: str) -> tuple[str, str, str, str, str, str]:
    p = [r for r in rs if r.target == pg]
    a = [r for r in rs if r.target == aion]
    if not p or not a:
        return ("–",) * 6
    unit = p[0].unit
    pm, am = H.med([r.value for r in p]), H.med([r.value for r in a])
    hib = unit == "ops/s"
    ratio = (am / pm if hib else pm / am) if pm and am else float("nan")
    pc = [r.server_cpu_us for r in p if r.server_cpu_us]
    ac = [r.server_cpu_us for r in a if r.server_cpu_us]
    cpu = f"{H.med(pc) / H.med(ac):.2f}" if pc and ac else "–"
    loads = [x for r in p + a for x in (r.load_before, r.load_after) if x]
    oth = [r.others_cores for r in p + a if r.others_cores is not None]
    return (H.spread([r.value for r in p], unit), H.spread([r.value for r in a], unit),
            f"**{ratio:.2f}×**", cpu,
            f"{min(loads):.1f}–{max(loads):.1f}" if loads else "–",
            f"{H.med(oth):.2f}" if oth else "–")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("files", nargs="+", help="JSON files written with --json")
    args = ap.parse_args()
    docs: dict[str, dict[str, Any]] = {}
    for f in args.files:
        with open(f) as fh:
            d = json.load(fh)
        docs[detect(d)] = d
    out = ["| workload | clients | PostgreSQL 15 | AionDB | AionDB / PG | CPU/op PG ÷ AionDB "
           "| target | load 1-min | others (cores) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for src, bench, mode, clients, aion, label, target in ROWS:
        d = docs.get(src)
        if d is None:
            continue
        rs = [H.Result(**r) for r in d["results"] if r["bench"] == bench and
              r["mode"] == mode and r["clients"] == clients]
        if not rs:
            continue
        cells = cell_row(rs, "postgres", aion)
        unit = rs[0].unit
        out.append(f"| {label} [{unit}] ({aion}) | {clients} | {cells[0]} | {cells[1]} | "
                   f"{cells[2]} | {cells[3]} | {target} | {cells[4]} | {cells[5]} |")
    sql = docs.get("sql")
    if sql:
        benches: list[tuple[str, int]] = []
        for r in sql["results"]:
            k = (r["bench"], r["clients"])
            if k not in benches and "EXPLAIN" not in r["bench"]:
                benches.append(k)
        order: dict[str, int] = {}
        for i, (b, _n) in enumerate(benches):
            order.setdefault(b, i)
        benches.sort(key=lambda k: (order[k[0]], k[1]))
        aion = next((r["target"] for r in sql["results"] if r["target"] != "postgres"), "")
        for bench, n in benches:
            rs = [H.Result(**r) for r in sql["results"] if r["bench"] == bench and
                  r["clients"] == n]
            cells = cell_row(rs, "postgres", aion)
            unit = rs[0].unit
            size = f"{n:,} rows" if bench.startswith("lookup") else "1"
            out.append(f"| {bench} [{unit}] ({aion}) | {size} | {cells[0]} | {cells[1]} | "
                       f"{cells[2]} | {cells[3]} | | {cells[4]} | {cells[5]} |")
    init = docs.get("pgbench", {}).get("init")
    if init:
        pg = init.get("postgres", {}).get("wall_s")
        for name, v in init.items():
            if name == "postgres" or not pg:
                continue
            out.append(f"| pgbench -i -I dtgp -s {docs['pgbench']['args']['scale']} [s] "
                       f"({name}) | 1 | {pg:.1f} | {v['wall_s']:.1f} | "
                       f"**{pg / v['wall_s']:.2f}×** | – | | "
                       f"{v['load_before']:.1f}–{v['load_after']:.1f} | – |")
    dates = sorted({d["machine"]["date"] for d in docs.values()})
    m = next(iter(docs.values()))["machine"]
    print(f"Runs of {', '.join(dates)} · {m['cores']} cores ({m['cpu']}) · {m['postgres']} · "
          f"Python {m['python']} · git {m['git']}\n")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
