"""Commit throughput: single-row autocommit INSERTs with fsync on, AionDB
durable vs PostgreSQL 15 with synchronous_commit on, 1 and 8 connections.
Issue 4's benchmark (target: ≥ 1.0× PostgreSQL at 8 connections).

    python benchmarks/commit_bench.py              # full run (≈ 6 min)
    python benchmarks/commit_bench.py --quick      # smoke run
    python benchmarks/commit_bench.py --clients 1,8,32 --no-reference

Every INSERT is its own transaction (autocommit) into
    bench_commit (id bigint PRIMARY KEY, client int, v text)
with a random 63-bit id, so each commit is one WAL record (AionDB) or one
WAL flush (PostgreSQL) and concurrent commits can share an fsync.

Servers and settings (both data directories on the same disk, under /tmp):
  postgres        fsync=on, synchronous_commit=on (PostgreSQL's defaults)
  aion-durable    aiondb --data-dir TMP: encrypted WAL, fdatasync per group commit
References (--no-reference drops them):
  aion-async      AionDB durable, synchronous_commit=off (server default via
                  AIONDB_SYNCHRONOUS_COMMIT=false; psycopg also runs
                  SET synchronous_commit = off per session)
  postgres-async  the same PostgreSQL cluster with synchronous_commit=off per
                  session (PGOPTIONS for pgbench, SET for psycopg)
  aion-inline     AionDB durable with --wal-flush inline (fdatasync in the
                  event loop instead of the sync process, the default)
  aion-thread     AionDB durable with --wal-flush thread (fdatasync in a flusher
                  thread)

Clients (--client): pgbench -M prepared with a custom -f script (C client,
cheapest per transaction, the primary figure), and psycopg 3 with prepared
statements, one process per connection.

The disk's fdatasync latency is probed before and after (8 kB pwrite +
fdatasync into a pre-allocated file): commit throughput at 1 connection is
bounded by it, and other engineers' I/O changes it from run to run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402

PAYLOAD = "a short text payload of forty bytes...."
INSERT_SQL = "INSERT INTO bench_commit (id, client, v) VALUES (%s, %s, %s)"


def setup(target: H.Target) -> str:
    import psycopg
    with psycopg.connect(target.dsn(), autocommit=True) as conn:
        for sql in target.session_sql:
            conn.execute(sql)
        conn.execute("DROP TABLE IF EXISTS bench_commit")
        conn.execute("CREATE TABLE bench_commit (id bigint PRIMARY KEY, client int, v text)")
        return conn.execute("SHOW synchronous_commit").fetchone()[0]


def insert_factory(conn: object, idx: int) -> object:
    rnd = random.SystemRandom()
    execute = conn.cursor().execute
    bits = rnd.getrandbits

    def op() -> object:
        return execute(INSERT_SQL, (bits(62) + 1, idx, PAYLOAD), prepare=True)

    return op


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    H.common_args(ap, seconds=5.0, reps=3)
    ap.add_argument("--clients", default="1,8", help="connection counts (default 1,8)")
    ap.add_argument("--client", default="pgbench,psycopg",
                    help="client programs: pgbench, psycopg (default both)")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the synchronous_commit=off references")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds = 1, min(args.seconds, 2.0)
    clients = H.parse_list(args.clients, int)
    kinds = H.parse_list(args.client)
    info = H.machine_info()
    results: list[H.Result] = []
    probes: list[float] = []

    with H.Bench(verbose=not args.quiet) as b:
        pg = b.postgres()
        aion = b.aiondb("durable", note="fsync on, group commit")
        targets = [pg, aion]
        if not args.no_reference:
            aion_async = b.aiondb("durable", name="aion-async",
                                  env={"AIONDB_SYNCHRONOUS_COMMIT": "false"})
            aion_async.session_sql = ["SET synchronous_commit = off"]
            pg_async = dataclasses.replace(
                pg, name="postgres-async", session_sql=["SET synchronous_commit = off"],
                pgbench_env={"PGOPTIONS": "-c synchronous_commit=off"})
            targets += [aion_async, pg_async]
            if "--wal-flush" in subprocess.run(
                    [sys.executable, "-m", "aiondb", "serve", "--help"], capture_output=True,
                    text=True, cwd=H.REPO).stdout:
                targets.append(b.aiondb("durable", name="aion-inline",
                                        flags=["--wal-flush", "inline"]))
                targets.append(b.aiondb("durable", name="aion-thread",
                                        flags=["--wal-flush", "thread"]))
        settings = {}
        for t in targets:
            settings[t.name] = setup(t)
            b.log(f"{t.name}: synchronous_commit = {settings[t.name]}")
        script = os.path.join(b.tmp, "insert.sql")
        with open(script, "w") as fh:
            fh.write("\\set id random(1, 4611686018427387904)\n"
                     f"INSERT INTO bench_commit (id, client, v) VALUES (:id, :client_id, "
                     f"'{PAYLOAD}');\n")
        os.chmod(b.tmp, 0o755)
        os.chmod(script, 0o644)
        probes.append(H.fsync_probe(b.tmp))
        b.log(f"fdatasync probe: {probes[-1]:.0f} µs")

        for rep in range(1, args.reps + 1):
            b.log(f"--- repetition {rep}/{args.reps}")
            for kind in kinds:
                for c in clients:
                    order = targets[rep % len(targets):] + targets[:rep % len(targets)]
                    for t in order:
                        H.wait_for_quiet(args.max_load)
                        if kind == "pgbench":
                            res = H.pgbench_measure(t, "insert autocommit", "pgbench -M prepared",
                                                    c, rep,
                                                    ["-n", "-M", "prepared", "-f", script],
                                                    args.seconds)
                        else:
                            res = H.psycopg_measure(t, "insert autocommit", "psycopg prepared",
                                                    c, rep, insert_factory, args.seconds)
                        if not args.quiet:
                            H.progress(res)
                        results.append(res)
                        b.check_alive()
            probes.append(H.fsync_probe(b.tmp))
            b.log(f"fdatasync probe: {probes[-1]:.0f} µs")

    print(H.header_lines(info, "Commit throughput (benchmarks/commit_bench.py)"))
    print(f"{args.reps} repetition(s) of {args.seconds:g} s; single-row autocommit INSERT; "
          f"ratios are throughput vs postgres (synchronous_commit=on); synchronous_commit "
          f"as reported by each server: "
          + ", ".join(f"{k}={v}" for k, v in settings.items())
          + "; fdatasync probe (8 kB) before/after each repetition: "
          + " / ".join(f"{p:.0f}" for p in probes) + " µs.\n")
    print(H.summary_table(results, "postgres", [t.name for t in targets]))
    H.save_json(args.json, info, results, {"args": vars(args), "fsync_probe_us": probes})
    return 0


if __name__ == "__main__":
    sys.exit(main())
