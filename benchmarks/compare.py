"""AionDB vs PostgreSQL 15: point SELECT by primary key and single-row INSERT
over psycopg 3, on 1 and 8 connections, plus pgbench with a custom -f script
(prepared point SELECT on our table). Issue 2's benchmark.

    python benchmarks/compare.py                 # full run (≈ 10 min)
    python benchmarks/compare.py --quick         # smoke run (≈ 1 min)
    python benchmarks/compare.py --aiondb ephemeral --modes prepared --clients 1

Servers (started here, stopped and removed at exit):
  postgres        PostgreSQL 15, initdb in a temp dir, fsync on, synchronous_commit on
  aion-ephemeral  `aiondb --ephemeral` (in memory: its INSERTs are not durable)
  aion-durable    `aiondb --data-dir TMP` (encrypted WAL, fsync, group commit)

psycopg modes (--modes):
  prepared    cursor.execute(q, params, prepare=True): named server-side
              statement, Bind/Execute/Sync per query
  default     psycopg's defaults: the first 5 executions send Parse+Bind+Execute
              (unnamed statement), then psycopg prepares it (prepare_threshold=5)
  unprepared  prepare_threshold=None: Parse+Bind+Describe+Execute+Sync every time
              (exercises the server's statement cache keyed by SQL text)
  simple      psycopg.ClientCursor: values inlined client-side, simple Query

Each psycopg connection runs in its own process by default (--client-impl):
8 threads in one Python process share one GIL, and psycopg's per-query Python
work (≈ 30-60 µs) would then cap the client near the server's own rate.

Every figure is a median over --reps runs (min–max shown), with the load
average before/after and the CPU of unrelated processes during the run. The
final table gives throughput ratios AionDB/PostgreSQL (> 1: AionDB faster) and
the server CPU per operation.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402

POINT_SQL = "SELECT v FROM bench_point WHERE id = %s"
INSERT_SQL = "INSERT INTO bench_insert (id, k, v) VALUES (%s, %s, %s)"
PAYLOAD = "a short text payload of forty bytes...."


def setup_tables(target: H.Target, rows: int) -> None:
    import psycopg
    with psycopg.connect(target.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_point")
        conn.execute("DROP TABLE IF EXISTS bench_insert")
        conn.execute("CREATE TABLE bench_point (id int PRIMARY KEY, v text NOT NULL)")
        conn.execute("CREATE TABLE bench_insert (id bigint PRIMARY KEY, k int, v text)")
        with conn.cursor() as cur, cur.copy("COPY bench_point (id, v) FROM STDIN") as cp:
            step = 20000
            for lo in range(1, rows + 1, step):
                hi = min(rows, lo + step - 1)
                cp.write("".join(f"{i}\tvalue-{i:09d}\n" for i in range(lo, hi + 1)))
        n = conn.execute("SELECT count(*) FROM bench_point").fetchone()[0]
        if n != rows:
            raise RuntimeError(f"{target.name}: bench_point has {n} rows, expected {rows}")
        if target.kind == "pg":
            conn.execute("VACUUM ANALYZE bench_point")
            conn.execute("CHECKPOINT")


def _cursor(conn: object, mode: str) -> object:
    import psycopg
    if mode == "unprepared":
        conn.prepare_threshold = None
    if mode == "simple":
        return psycopg.ClientCursor(conn)
    return conn.cursor()


def point_select(conn: object, idx: int, rows: int, mode: str) -> object:
    rnd = random.Random(7919 * idx + 17)
    cur = _cursor(conn, mode)
    execute, fetchone, randint = cur.execute, cur.fetchone, rnd.randint
    prepare = True if mode == "prepared" else None

    def op() -> object:
        execute(POINT_SQL, (randint(1, rows),), prepare=prepare)
        row = fetchone()
        if row is None:
            raise RuntimeError("point select returned no row")
        return row

    return op


def single_insert(conn: object, idx: int, base: int, mode: str) -> object:
    ids = itertools.count(base + idx * 1_000_000_000)
    cur = _cursor(conn, mode)
    execute = cur.execute
    prepare = True if mode == "prepared" else None

    def op() -> object:
        return execute(INSERT_SQL, (next(ids), idx, PAYLOAD), prepare=prepare)

    return op


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    H.common_args(ap, seconds=4.0, reps=3)
    ap.add_argument("--aiondb", default="ephemeral,durable",
                    help="AionDB modes to run: ephemeral, durable (default both)")
    ap.add_argument("--clients", default="1,8", help="connection counts (default 1,8)")
    ap.add_argument("--modes", default="prepared,default,unprepared",
                    help="psycopg modes: prepared, default, unprepared, simple "
                         "(default prepared,default,unprepared)")
    ap.add_argument("--benches", default="pgbench,select,insert",
                    help="which of pgbench, select, insert to run (default all)")
    ap.add_argument("--rows", type=int, default=100_000,
                    help="rows in the point-select table (default 100000)")
    ap.add_argument("--client-impl", choices=("processes", "threads", "both"),
                    default="processes",
                    help="one process per psycopg connection (default) or threads")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds = 1, min(args.seconds, 2.0)
        args.modes = "prepared,default" if args.modes == ap.get_default("modes") else args.modes
        args.rows = min(args.rows, 20_000)
    clients = H.parse_list(args.clients, int)
    modes = H.parse_list(args.modes)
    benches = H.parse_list(args.benches)
    impls = ["processes", "threads"] if args.client_impl == "both" else [args.client_impl]
    info = H.machine_info()
    results: list[H.Result] = []
    run_no = itertools.count(1)

    with H.Bench(verbose=not args.quiet) as b:
        targets = [b.postgres()]
        for m in H.parse_list(args.aiondb):
            targets.append(b.aiondb(m))
        for t in targets:
            b.log(f"loading {args.rows} rows into {t.name}")
            setup_tables(t, args.rows)
        script = os.path.join(b.tmp, "point_select.sql")
        with open(script, "w") as fh:
            fh.write(f"\\set id random(1, {args.rows})\n"
                     "SELECT v FROM bench_point WHERE id = :id;\n")
        os.chmod(b.tmp, 0o755)
        os.chmod(script, 0o644)

        plan: list[tuple[str, str, int, str]] = []
        if "pgbench" in benches:
            plan += [("point-select", "pgbench -M prepared", c, "") for c in clients]
        for impl in impls:
            suffix = "" if args.client_impl == "processes" else f" [{impl}]"
            for bench in ("select", "insert"):
                if bench not in benches:
                    continue
                name = "point-select" if bench == "select" else "insert"
                plan += [(name, f"psycopg {m}{suffix}", c, impl) for m in modes
                         for c in clients]
        for rep in range(1, args.reps + 1):
            b.log(f"--- repetition {rep}/{args.reps}")
            for bench, mode, c, impl in plan:
                # rotate the server order each repetition so no server always
                # runs right after another's heavy run
                order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                for t in order:
                    H.wait_for_quiet(args.max_load)
                    if mode.startswith("pgbench"):
                        res = H.pgbench_measure(t, bench, mode, c, rep,
                                                ["-n", "-M", "prepared", "-f", script],
                                                args.seconds)
                    elif bench == "point-select":
                        m = mode.split()[1]
                        res = H.psycopg_measure(t, bench, mode, c, rep, point_select,
                                                args.seconds, {"rows": args.rows, "mode": m},
                                                use=impl)
                    else:
                        m = mode.split()[1]
                        res = H.psycopg_measure(t, bench, mode, c, rep, single_insert,
                                                args.seconds,
                                                {"base": next(run_no) * 10**13, "mode": m},
                                                use=impl)
                    if not args.quiet:
                        H.progress(res)
                    results.append(res)
                    b.check_alive()

    print(H.header_lines(info, "Point SELECT and single-row INSERT (benchmarks/compare.py)"))
    print(f"{args.reps} repetition(s) of {args.seconds:g} s; {args.rows} rows; psycopg "
          f"clients as {args.client_impl}; ratios are throughput AionDB/PostgreSQL; "
          f"'CPU µs/op' is the server's CPU per operation.\n")
    print(H.summary_table(results, "postgres", [t.name for t in targets]))
    print("\nNotes: aion-ephemeral INSERTs are in memory (not durable); postgres and "
          "aion-durable fsync every commit (group commit).")
    H.save_json(args.json, info, results, {"args": vars(args)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
