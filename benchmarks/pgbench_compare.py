"""Unmodified pgbench against AionDB and PostgreSQL 15 side by side. Issue 3's
pgbench benchmark (goal: -S -M prepared with 1 client ≥ 0.5× PostgreSQL).

    python benchmarks/pgbench_compare.py             # full run: -s 10 (≈ 10 min)
    python benchmarks/pgbench_compare.py --quick     # -s 1, 1 repetition of 2 s
    python benchmarks/pgbench_compare.py --scale 10 --clients 1,8,32 --aiondb durable

Steps, on every server:
 1. `pgbench -i -I dtgp -s SCALE`: drop, create tables, client-side generate
    (COPY FROM STDIN), primary keys (ALTER TABLE ... ADD PRIMARY KEY). The
    wall time and pgbench's own per-step times are reported.
 2. CHECKPOINT (timed) so the load's WAL does not weigh on the runs.
 3. pgbench runs of --seconds each, at each client count (-j = min(clients, cores)):
      select-only      -S -M prepared
      tpcb-like        -M simple       (the default script: BEGIN; 3 UPDATEs,
      tpcb-like        -M prepared      SELECT, INSERT; END)
    with --max-tries (default 10) so serialization failures are retried as
    pgbench 15 does; retried and failed counts are listed under the table.

Servers: postgres (fsync on, synchronous_commit on), aion-durable (data dir
in a temp dir, encrypted WAL, fsync per group commit) and aion-ephemeral (in
memory, for reference: its tpcb-like commits are not durable).
Server order is rotated every repetition; medians (min–max) are reported.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402

_DONE_RE = re.compile(r"done in ([\d.]+) s \(([^)]*)\)")
_STEP_RE = re.compile(r"(.+?) ([\d.]+) s$")

SCRIPTS = {
    "select-only": ["-S", "-M", "prepared"],
    "tpcb-like simple": ["-M", "simple"],
    "tpcb-like prepared": ["-M", "prepared"],
}


def init(target: H.Target, scale: int) -> dict[str, object]:
    cmd = [H.pgbench_path(), "-i", "-I", "dtgp", "-s", str(scale), "-q",
           *target.pgbench_conn_args()]
    load0 = H.load1()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise H.PgbenchFailed(target.name, cmd, proc.returncode, out)
    steps = {}
    m = _DONE_RE.search(out)
    if m:
        for part in m.group(2).split(","):
            mm = _STEP_RE.match(part.strip())
            if mm:
                steps[mm.group(1)] = float(mm.group(2))
    import psycopg
    with psycopg.connect(target.dsn(), autocommit=True) as conn:
        n = conn.execute("SELECT count(*) FROM pgbench_accounts").fetchone()[0]
        if n != scale * 100_000:
            raise RuntimeError(f"{target.name}: pgbench_accounts has {n} rows, "
                               f"expected {scale * 100_000}")
        t1 = time.perf_counter()
        conn.execute("CHECKPOINT")
        ckpt = time.perf_counter() - t1
    return {"wall_s": wall, "steps": steps, "checkpoint_s": ckpt, "load_before": load0,
            "load_after": H.load1()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    H.common_args(ap, seconds=5.0, reps=3)
    ap.add_argument("--scale", type=int, default=10, help="pgbench scale factor (default 10)")
    ap.add_argument("--clients", default="1,8", help="client counts (default 1,8)")
    ap.add_argument("--aiondb", default="durable,ephemeral",
                    help="AionDB modes: durable, ephemeral (default both)")
    ap.add_argument("--scripts", default=",".join(SCRIPTS),
                    help="which runs: " + ", ".join(SCRIPTS) + " (default all)")
    ap.add_argument("--max-tries", type=int, default=10,
                    help="pgbench --max-tries for the runs (default 10)")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds = 1, min(args.seconds, 2.0)
        if args.scale == ap.get_default("scale"):
            args.scale = 1
    clients = H.parse_list(args.clients, int)
    scripts = H.parse_list(args.scripts)
    for s in scripts:
        if s not in SCRIPTS:
            ap.error(f"unknown script {s!r}; choose from {', '.join(SCRIPTS)}")
    info = H.machine_info()
    results: list[H.Result] = []
    inits: dict[str, dict[str, object]] = {}

    with H.Bench(verbose=not args.quiet) as b:
        targets = [b.postgres()]
        for m in H.parse_list(args.aiondb):
            targets.append(b.aiondb(m))
        for t in targets:
            b.log(f"pgbench -i -I dtgp -s {args.scale} on {t.name}")
            inits[t.name] = init(t, args.scale)
            b.log(f"  {inits[t.name]}")
            b.check_alive()
        for rep in range(1, args.reps + 1):
            b.log(f"--- repetition {rep}/{args.reps}")
            for s in scripts:
                for c in clients:
                    order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                    for t in order:
                        H.wait_for_quiet(args.max_load)
                        res = H.pgbench_measure(t, s, " ".join(SCRIPTS[s]), c, rep,
                                                [*SCRIPTS[s], "--max-tries",
                                                 str(args.max_tries)], args.seconds)
                        if not args.quiet:
                            H.progress(res)
                        results.append(res)
                        b.check_alive()

    print(H.header_lines(info, f"pgbench -s {args.scale} (benchmarks/pgbench_compare.py)"))
    print("### Initialization: `pgbench -i -I dtgp -s "
          f"{args.scale}` then CHECKPOINT\n")
    print("| server | wall [s] | pgbench steps [s] | CHECKPOINT [s] | ratio (postgres / server "
          "time) | load 1-min |")
    print("|---|---|---|---|---|---|")
    base = inits[targets[0].name]["wall_s"]
    for t in targets:
        d = inits[t.name]
        steps = ", ".join(f"{k} {v:.2f}" for k, v in d["steps"].items())
        print(f"| {t.name} | {d['wall_s']:.2f} | {steps} | {d['checkpoint_s']:.2f} | "
              f"{base / d['wall_s']:.2f}× | {d['load_before']:.2f}–{d['load_after']:.2f} |")
    print(f"\n### TPS ({args.reps} repetition(s) of {args.seconds:g} s; ratios are "
          "AionDB/PostgreSQL TPS)\n")
    print(H.summary_table(results, "postgres", [t.name for t in targets],
                          key_names=("script", "clients", "pgbench flags")))
    retried = [r for r in results if r.extra.get("retried") or r.extra.get("failed")]
    if retried:
        print("\nRuns with retried or failed transactions:")
        for r in retried:
            print(f"- {r.bench} c={r.clients} {r.target} rep {r.rep}: retried "
                  f"{r.extra.get('retried')}, failed {r.extra.get('failed')} of {r.ops}")
    H.save_json(args.json, info, results, {"args": vars(args), "init": inits})
    return 0


if __name__ == "__main__":
    sys.exit(main())
