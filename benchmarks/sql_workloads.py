"""SQL engine workloads, AionDB vs PostgreSQL 15. Issue 3's benchmark.

    python benchmarks/sql_workloads.py               # full run (≈ 10 min; 1M-row tables)
    python benchmarks/sql_workloads.py --quick       # 20k orders, sizes 10k and 100k
    python benchmarks/sql_workloads.py --part lookup --sizes 10000,100000,1000000

Part "join" — a join + aggregate workload on
    customers (id PK, name, region, segment)            --customers rows (10k)
    orders (id PK, customer_id, amount numeric(10,2),   --orders rows (100k),
            status, ordered_on date)                    index on customer_id
  queries (each run --runs times after a warm-up; results checked equal):
    region-revenue   JOIN, GROUP BY region: count, sum, avg     (whole tables)
    top-customers    JOIN, WHERE status, GROUP BY customer, ORDER BY sum DESC LIMIT 10
    monthly-segment  JOIN, GROUP BY date_trunc('month'), segment
    small-join       10 customers by primary-key range JOIN their orders
                     through the customer_id index, GROUP BY (prepared)

Part "lookup" — index lookups at each --sizes (10k, 100k, 1M rows) on
    lk_N (id int PK, k int indexed, u int not indexed, pad text), k and u a
    random permutation of 1..N
  for each size: round trip per prepared lookup by primary key and by the
  secondary index (random keys, --lookups of them), the server's own execution
  time from EXPLAIN ANALYZE (median over 200 keys), and, for contrast, a
  lookup on the unindexed column u (a full scan: O(n)). A prepared `SELECT 1`
  gives the round-trip floor. O(log n) shows as a per-lookup time that stays
  flat from 10k to 1M while the scan grows 100×.

Timings are client wall-clock (a single psycopg connection, prepared
statements), medians with min–max; ratios are PostgreSQL time / AionDB time
(throughput-like: > 1 means AionDB is faster). AionDB runs --ephemeral by
default (this is about the SQL engine; see commit_bench.py for durability).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import statistics
import sys
import time
from decimal import Decimal
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402

REGIONS = ["north", "south", "east", "west", "central", "coast", "mountain", "islands"]
SEGMENTS = ["retail", "smb", "enterprise"]
STATUSES = ["shipped", "shipped", "shipped", "open", "cancelled"]

JOIN_QUERIES: dict[str, tuple[str, bool]] = {
    # name: (sql, ordered result)
    "region-revenue": (
        "SELECT c.region, count(*) AS n, sum(o.amount) AS revenue, avg(o.amount) AS avg_amount "
        "FROM orders o JOIN customers c ON c.id = o.customer_id "
        "GROUP BY c.region ORDER BY c.region", True),
    "top-customers": (
        "SELECT c.id, c.name, sum(o.amount) AS revenue, count(*) AS n "
        "FROM customers c JOIN orders o ON o.customer_id = c.id "
        "WHERE o.status = 'shipped' "
        "GROUP BY c.id, c.name ORDER BY revenue DESC, c.id LIMIT 10", True),
    "monthly-segment": (
        "SELECT date_trunc('month', o.ordered_on) AS month, c.segment, count(*) AS n, "
        "sum(o.amount) AS revenue "
        "FROM orders o JOIN customers c ON c.id = o.customer_id "
        "GROUP BY 1, 2 ORDER BY 1, 2", True),
    "small-join": (
        "SELECT c.id, c.name, count(*) AS n, sum(o.amount) AS revenue "
        "FROM customers c JOIN orders o ON o.customer_id = c.id "
        "WHERE c.id BETWEEN %s AND %s GROUP BY c.id, c.name ORDER BY c.id", True),
}


def _copy(conn: Any, sql: str, lines: Any, chunk: int = 20000) -> None:
    with conn.cursor() as cur, cur.copy(sql) as cp:
        buf: list[str] = []
        for line in lines:
            buf.append(line)
            if len(buf) >= chunk:
                cp.write("".join(buf))
                buf.clear()
        if buf:
            cp.write("".join(buf))


def load_join_tables(target: H.Target, customers: int, orders: int) -> dict[str, float]:
    import psycopg
    rnd = random.Random(42)
    base = dt.date(2023, 1, 1)
    times = {}
    with psycopg.connect(target.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS orders")
        conn.execute("DROP TABLE IF EXISTS customers")
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, "
                     "region text NOT NULL, segment text NOT NULL)")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, "
                     "amount numeric(10,2) NOT NULL, status text NOT NULL, "
                     "ordered_on date NOT NULL)")
        t0 = time.perf_counter()
        _copy(conn, "COPY customers (id, name, region, segment) FROM STDIN",
              (f"{i}\tcustomer {i:06d}\t{REGIONS[rnd.randrange(8)]}\t"
               f"{SEGMENTS[rnd.randrange(3)]}\n" for i in range(1, customers + 1)))
        _copy(conn, "COPY orders (id, customer_id, amount, status, ordered_on) FROM STDIN",
              (f"{i}\t{rnd.randint(1, customers)}\t{rnd.randint(100, 99999) / 100:.2f}\t"
               f"{STATUSES[rnd.randrange(5)]}\t{base + dt.timedelta(days=rnd.randrange(730))}\n"
               for i in range(1, orders + 1)))
        times["copy_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute("CREATE INDEX orders_customer_id ON orders (customer_id)")
        times["index_s"] = time.perf_counter() - t0
        if target.kind == "pg":
            conn.execute("VACUUM ANALYZE customers")
            conn.execute("VACUUM ANALYZE orders")
    return times


def normalize(rows: list[tuple], ordered: bool) -> list[tuple]:
    out = []
    for row in rows:
        vals = []
        for v in row:
            if isinstance(v, (Decimal, float)):
                vals.append(round(float(v), 6))
            elif isinstance(v, dt.datetime):
                vals.append(v.replace(tzinfo=None).isoformat())
            elif isinstance(v, dt.date):
                vals.append(dt.datetime(v.year, v.month, v.day).isoformat())
            else:
                vals.append(v)
        out.append(tuple(vals))
    return out if ordered else sorted(out, key=repr)


def run_join(b: H.Bench, targets: list[H.Target], args: argparse.Namespace,
             results: list[H.Result], mismatches: list[str]) -> dict[str, dict[str, float]]:
    import psycopg
    loads = {}
    for t in targets:
        b.log(f"loading {args.customers} customers + {args.orders} orders into {t.name}")
        loads[t.name] = load_join_tables(t, args.customers, args.orders)
        b.log(f"  {loads[t.name]}")
    conns = {t.name: psycopg.connect(t.dsn(), autocommit=True) for t in targets}
    try:
        answers: dict[str, dict[str, list[tuple]]] = {}
        rnd = random.Random(7)
        for name, (sql, ordered) in JOIN_QUERIES.items():
            params_list = [None]
            if "%s" in sql:
                params_list = []
                for _ in range(args.runs * 20):
                    lo = rnd.randint(1, args.customers - 9)
                    params_list.append((lo, lo + 9))
            for t in targets:
                conn = conns[t.name]
                p0 = params_list[0]
                rows = conn.execute(sql, p0, prepare=p0 is not None).fetchall()   # warm-up
                answers.setdefault(name, {})[t.name] = normalize(rows, ordered)
            ref = answers[name][targets[0].name]
            for t in targets[1:]:
                if answers[name][t.name] != ref:
                    mismatches.append(f"{name}: {t.name} returned {answers[name][t.name][:3]}"
                                      f"... PostgreSQL {ref[:3]}...")
            for rep in range(1, args.runs + 1):
                order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                for t in order:
                    H.wait_for_quiet(args.max_load)
                    conn = conns[t.name]
                    batch = params_list if params_list[0] is not None else [None]
                    batch = batch[(rep - 1) * 20:rep * 20] if batch[0] is not None else batch
                    with H.Window(t) as w:
                        for p in batch:
                            conn.execute(sql, p, prepare=p is not None).fetchall()
                    per = w.wall / len(batch) * 1000
                    res = H.Result("join: " + name, t.name, 1, "", rep, per, unit="ms",
                                   seconds=w.wall)
                    w.finish(res, len(batch), client_cpu=w.self_cpu)
                    if not args.quiet:
                        H.progress(res)
                    results.append(res)
            b.check_alive()
    finally:
        for c in conns.values():
            c.close()
    return loads


def load_lookup_table(target: H.Target, n: int) -> dict[str, float]:
    import psycopg
    rnd = random.Random(n)
    perm = list(range(1, n + 1))
    rnd.shuffle(perm)
    with psycopg.connect(target.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS lk_{n}")
        conn.execute(f"CREATE TABLE lk_{n} (id int PRIMARY KEY, k int NOT NULL, "
                     f"u int NOT NULL, pad text NOT NULL)")
        t0 = time.perf_counter()
        _copy(conn, f"COPY lk_{n} (id, k, u, pad) FROM STDIN",
              (f"{i}\t{perm[i - 1]}\t{perm[i - 1]}\tpadding-{i:08d}\n"
               for i in range(1, n + 1)))
        copy_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute(f"CREATE INDEX lk_{n}_k ON lk_{n} (k)")
        index_s = time.perf_counter() - t0
        if target.kind == "pg":
            conn.execute(f"VACUUM ANALYZE lk_{n}")
    return {"copy_s": copy_s, "index_s": index_s}


_EXEC_RE = re.compile(r"Execution Time: ([\d.]+) ms")


def explain_exec_us(conn: Any, sql: str, keys: list[int]) -> float | None:
    """Median server-side execution time (µs) from EXPLAIN ANALYZE. The key is
    inlined: AionDB mishandles bind parameters in EXPLAIN (see docs)."""
    vals = []
    for k in keys:
        q = "EXPLAIN ANALYZE " + sql.replace("%s", str(int(k)))
        text = "\n".join(r[0] for r in conn.execute(q).fetchall())
        m = _EXEC_RE.search(text)
        if m:
            vals.append(float(m.group(1)) * 1000)
    return statistics.median(vals) if vals else None


def explain_plan(conn: Any, sql: str, key: int) -> str:
    rows = conn.execute("EXPLAIN " + sql.replace("%s", str(int(key)))).fetchall()
    return " / ".join(r[0].strip() for r in rows[:3])


def run_lookup(b: H.Bench, targets: list[H.Target], args: argparse.Namespace,
               results: list[H.Result], plans: dict[str, str]) -> dict[str, Any]:
    import psycopg
    loads: dict[str, Any] = {}
    sizes = H.parse_list(args.sizes, int)
    for n in sizes:
        for t in targets:
            b.log(f"loading lk_{n} into {t.name}")
            loads[f"{t.name} lk_{n}"] = load_lookup_table(t, n)
            b.log(f"  {loads[f'{t.name} lk_{n}']}")
            b.check_alive()
    conns = {t.name: psycopg.connect(t.dsn(), autocommit=True) for t in targets}
    try:
        for n in sizes:
            rnd = random.Random(1000 + n)
            queries = {
                "SELECT 1 (floor)": ("SELECT %s::int", args.lookups),
                "primary key": (f"SELECT pad FROM lk_{n} WHERE id = %s", args.lookups),
                "secondary index": (f"SELECT pad FROM lk_{n} WHERE k = %s", args.lookups),
                "unindexed (scan)": (f"SELECT pad FROM lk_{n} WHERE u = %s",
                                     max(3, min(args.lookups, 2_000_000 // n))),
            }
            for label, (sql, count) in queries.items():
                if label.startswith("SELECT 1") and n != sizes[0]:
                    continue
                for t in targets:
                    conn = conns[t.name]
                    if not label.startswith("SELECT 1"):
                        plans[f"{t.name} lk_{n} {label}"] = explain_plan(conn, sql, 1)
                    for _ in range(min(count, 50)):        # warm-up, prepares
                        conn.execute(sql, (rnd.randint(1, n),), prepare=True).fetchall()
                for rep in range(1, args.reps + 1):
                    order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                    for t in order:
                        H.wait_for_quiet(args.max_load)
                        conn = conns[t.name]
                        keys = [rnd.randint(1, n) for _ in range(count)]
                        with H.Window(t) as w:
                            for k in keys:
                                row = conn.execute(sql, (k,), prepare=True).fetchone()
                                if row is None:
                                    raise RuntimeError(f"{t.name}: no row for {sql} {k}")
                        res = H.Result(f"lookup: {label}", t.name, n, "", rep,
                                       w.wall / count * 1e6, unit="us", seconds=w.wall)
                        w.finish(res, count, client_cpu=w.self_cpu)
                        if not args.quiet:
                            H.progress(res)
                        results.append(res)
                if label in ("primary key", "secondary index"):
                    for t in targets:
                        keys = [rnd.randint(1, n) for _ in range(200)]
                        us = explain_exec_us(conns[t.name], sql, keys)
                        if us is not None:
                            results.append(H.Result(f"lookup: {label} (EXPLAIN ANALYZE)",
                                                    t.name, n, "", 1, us, unit="us"))
                b.check_alive()
    finally:
        for c in conns.values():
            c.close()
    return loads


def lookup_table(results: list[H.Result], names: list[str]) -> str:
    """Rows: size; columns: per query kind, each server's µs per lookup."""
    kinds = []
    for r in results:
        if r.bench.startswith("lookup: ") and r.bench not in kinds:
            kinds.append(r.bench)
    sizes = sorted({r.clients for r in results if r.bench.startswith("lookup: ")})
    base = names[0]
    head = ["query", "rows"] + [f"{n} [µs/lookup]" for n in names] + \
        [f"{n} / {base}" for n in names[1:]] + ["server CPU µs/lookup (" + " / ".join(names)
                                                 + ")", "load 1-min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in kinds:
        for n in sizes:
            rs = [r for r in results if r.bench == kind and r.clients == n]
            if not rs:
                continue
            cells = [kind.removeprefix("lookup: "), f"{n:,}"]
            meds = {}
            for name in names:
                vals = [r.value for r in rs if r.target == name]
                cells.append(H.spread(vals, "us"))
                meds[name] = H.med(vals)
            for name in names[1:]:
                ok = meds[name] == meds[name] and meds[base] == meds[base] and meds[name]
                cells.append(f"**{meds[base] / meds[name]:.2f}×**" if ok else "–")
            per = []
            for name in names:
                vals = [r.server_cpu_us for r in rs if r.target == name and r.server_cpu_us]
                per.append(H.fmt_num(H.med(vals), "us") if vals else "–")
            cells.append(" / ".join(per))
            loads = [x for r in rs for x in (r.load_before, r.load_after) if x]
            cells.append(f"{min(loads):.2f}–{max(loads):.2f}" if loads else "–")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    H.common_args(ap, seconds=0.0, reps=3)
    ap.add_argument("--part", default="join,lookup", help="join, lookup (default both)")
    ap.add_argument("--aiondb", default="ephemeral", help="AionDB mode: ephemeral or durable")
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5,
                    help="timed runs of each join query (default 5)")
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="lookup table sizes (default 10000,100000,1000000)")
    ap.add_argument("--lookups", type=int, default=2000,
                    help="lookups per timed batch (default 2000)")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.runs = 1, 2
        args.orders = min(args.orders, 20_000)
        args.customers = min(args.customers, 2_000)
        if args.sizes == ap.get_default("sizes"):
            args.sizes = "10000,100000"
        args.lookups = min(args.lookups, 500)
    parts = H.parse_list(args.part)
    info = H.machine_info()
    results: list[H.Result] = []
    mismatches: list[str] = []
    plans: dict[str, str] = {}
    loads: dict[str, Any] = {}

    with H.Bench(verbose=not args.quiet) as b:
        targets = [b.postgres(), b.aiondb(args.aiondb)]
        names = [t.name for t in targets]
        if "join" in parts:
            loads["join"] = run_join(b, targets, args, results, mismatches)
        if "lookup" in parts:
            loads["lookup"] = run_lookup(b, targets, args, results, plans)

    print(H.header_lines(info, "SQL workloads (benchmarks/sql_workloads.py)"))
    if "join" in parts:
        print(f"### Join + aggregate: {args.customers:,} customers, {args.orders:,} orders "
              f"({args.runs} runs, ms per query; small-join: 20 prepared executions per run)\n")
        print(H.summary_table([r for r in results if r.bench.startswith("join: ")], names[0],
                              names, higher_is_better=False, unit="ms",
                              key=lambda r: (r.bench.removeprefix("join: "),),
                              key_names=("query",)))
        print("\nLoad (COPY) and CREATE INDEX, seconds: " + "; ".join(
            f"{k}: COPY {v['copy_s']:.1f}, index {v['index_s']:.2f}"
            for k, v in loads["join"].items()))
        print("Results identical on both servers." if not mismatches else
              "RESULT MISMATCHES:\n" + "\n".join(mismatches))
    if "lookup" in parts:
        print(f"\n### Index lookups ({args.lookups} random keys per batch, {args.reps} "
              "batches; µs per lookup, round trip over one connection, prepared)\n")
        print(lookup_table(results, names))
        print("\nLoad (COPY) and CREATE INDEX, seconds: " + "; ".join(
            f"{k}: COPY {v['copy_s']:.1f}, index {v['index_s']:.2f}"
            for k, v in loads["lookup"].items()))
        print("\nPlans (EXPLAIN, first lines):")
        for k, v in plans.items():
            print(f"- {k}: {v}")
    H.save_json(args.json, info, results, {"args": vars(args), "loads": loads,
                                           "mismatches": mismatches, "plans": plans})
    return 0


if __name__ == "__main__":
    sys.exit(main())
