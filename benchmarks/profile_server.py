"""Where does the AionDB server's time go? Samples a real server process with
py-spy while pgbench or psycopg drives one workload, and prints the top costs.

    pip install py-spy                               # once
    python benchmarks/profile_server.py              # all workloads, 10 s each
    python benchmarks/profile_server.py --workloads point-select,insert --seconds 20
    python benchmarks/profile_server.py --out /tmp/prof   # keep the raw stacks
                                  # (collapsed format: speedscope, flamegraph.pl)

Workloads (each on a fresh server):
  point-select   pgbench -S -M prepared, 1 client, -s 1         (--ephemeral)
  point-select-8 the same with 8 clients
  insert         single-row autocommit INSERT via pgbench -f, -M prepared,
                 8 clients, durable data dir (fsync, group commit)
  insert-1       the same with 1 client
  insert-async   the same, 8 clients, synchronous_commit=off: the CPU path of
                 an INSERT without the fsync wait
  point-select-simple  pgbench -S -M simple, 1 client (simple Query protocol)
  point-select-psycopg compare.py's psycopg prepared point SELECT, 1 connection
  tpcb           pgbench default tpcb-like script, -M prepared, 1 client  (--ephemeral)
  join           the region-revenue join + aggregate of sql_workloads.py on
                 10k customers / 100k orders, one psycopg connection  (--ephemeral)
  copy           pgbench -i -I g (COPY FROM STDIN of -s 1: 100k accounts rows)

For each: throughput, the server's CPU per operation (from /proc, measured
without the profiler in a separate run of the same length); then from a run
under `perf record -e cpu-clock` (if perf works here) the CPU split by shared
object (interpreter, kernel, uvloop, libc, ...) and the top C symbols; from a
run under `strace -c -f` the system calls per operation; and from the
py-spy samples (idle threads are not sampled; --gil: only while the GIL is
held): the samples in C calls and system calls apart, then for the Python
samples the time by source file of the innermost frame and the top functions
by self and inclusive time, as shares and as µs per operation (share × the
interpreter's CPU per op, i.e. server CPU × perf's libpython share).
py-spy attributes time spent in C code and system calls (uvloop's socket
writes, fdatasync) to the Python frame that called them, and samples wall
time of running or runnable threads: on a loaded machine a thread preempted
right after a send (waking its client) inflates that frame. The kernel share
from /proc is printed next to each profile for that reason.
Sampling skews very short functions; the in-process, deterministic view of the
point-select path is `python benchmarks/micro_pointselect.py --profile`.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402

INSERT_SCRIPT = ("\\set id random(1, 4611686018427387904)\n"
                 "INSERT INTO bench_commit (id, client, v) VALUES (:id, :client_id, "
                 "'a short text payload of forty bytes....');\n")

# Frames that are the entry to everything and carry no information.
_ENTRY = ("<module>", "_run_module_as_main", "_run_code", "run (asyncio/runners.py)",
          "main (aiondb/cli.py)", "serve (aiondb/cli.py)", "run (asyncio/runners.py)")


class Workload:
    def __init__(self, name: str, mode: str, setup: Callable[[H.Target, str], None],
                 load: Callable[[H.Target, str, float], int], unit: str = "txn",
                 env: dict[str, str] | None = None) -> None:
        self.name, self.mode, self.setup, self.load, self.unit = name, mode, setup, load, unit
        self.env = env or {}


def _pgbench_init(scale: int) -> Callable[[H.Target, str], None]:
    def setup(t: H.Target, _tmp: str) -> None:
        H.run_pgbench_init(t, ["-i", "-I", "dtgp", "-s", str(scale), "-q"])
    return setup


def _pgbench_load(args: list[str], clients: int) -> Callable[[H.Target, str, float], int]:
    def load(t: H.Target, tmp: str, seconds: float) -> int:
        full = [a.replace("{tmp}", tmp) for a in args]
        jobs = str(min(clients, os.cpu_count() or 1))
        out = H.run_pgbench(t, ["-T", str(round(seconds)), "-c", str(clients), "-j", jobs,
                                *full])
        return out["processed"]
    return load


def _insert_setup(t: H.Target, tmp: str) -> None:
    import psycopg
    with psycopg.connect(t.dsn(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_commit")
        conn.execute("CREATE TABLE bench_commit (id bigint PRIMARY KEY, client int, v text)")
    path = os.path.join(tmp, "insert.sql")
    with open(path, "w") as fh:
        fh.write(INSERT_SCRIPT)
    os.chmod(path, 0o644)


def _join_setup(t: H.Target, _tmp: str) -> None:
    import sql_workloads
    sql_workloads.load_join_tables(t, 10_000, 100_000)


def _join_load(t: H.Target, _tmp: str, seconds: float) -> int:
    import psycopg
    import sql_workloads
    sql = sql_workloads.JOIN_QUERIES["region-revenue"][0]
    n = 0
    with psycopg.connect(t.dsn(), autocommit=True) as conn:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            conn.execute(sql).fetchall()
            n += 1
    return n


def _psycopg_point_setup(t: H.Target, _tmp: str) -> None:
    import compare
    compare.setup_tables(t, 100_000)


def _psycopg_point_load(t: H.Target, _tmp: str, seconds: float) -> int:
    import compare
    import psycopg
    n = 0
    with psycopg.connect(t.dsn(), autocommit=True) as conn:
        op = compare.point_select(conn, 0, 100_000, "prepared")
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            op()
            n += 1
    return n


def _copy_setup(t: H.Target, _tmp: str) -> None:
    H.run_pgbench_init(t, ["-i", "-I", "dt", "-s", "1", "-q"])


def _copy_load(t: H.Target, _tmp: str, seconds: float) -> int:
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or n == 0:
        import psycopg
        with psycopg.connect(t.dsn(), autocommit=True) as conn:
            conn.execute("TRUNCATE pgbench_accounts, pgbench_branches, pgbench_tellers, "
                         "pgbench_history")
        H.run_pgbench_init(t, ["-i", "-I", "g", "-s", "1", "-q"])
        n += 100_000
    return n


WORKLOADS = {
    "point-select": Workload("point-select", "ephemeral", _pgbench_init(1),
                             _pgbench_load(["-S", "-M", "prepared"], 1)),
    "point-select-8": Workload("point-select-8", "ephemeral", _pgbench_init(1),
                               _pgbench_load(["-S", "-M", "prepared"], 8)),
    "insert": Workload("insert", "durable", _insert_setup,
                       _pgbench_load(["-n", "-M", "prepared", "-f", "{tmp}/insert.sql"], 8)),
    "insert-1": Workload("insert-1", "durable", _insert_setup,
                         _pgbench_load(["-n", "-M", "prepared", "-f", "{tmp}/insert.sql"], 1)),
    "point-select-psycopg": Workload("point-select-psycopg", "ephemeral", _psycopg_point_setup,
                                     _psycopg_point_load),
    "insert-async": Workload("insert-async", "durable", _insert_setup,
                             _pgbench_load(["-n", "-M", "prepared", "-f", "{tmp}/insert.sql"], 8),
                             env={"AIONDB_SYNCHRONOUS_COMMIT": "false"}),
    "point-select-simple": Workload("point-select-simple", "ephemeral", _pgbench_init(1),
                                    _pgbench_load(["-S", "-M", "simple"], 1)),
    "tpcb": Workload("tpcb", "ephemeral", _pgbench_init(1),
                     _pgbench_load(["-M", "prepared"], 1)),
    "join": Workload("join", "ephemeral", _join_setup, _join_load, unit="query"),
    "copy": Workload("copy", "ephemeral", _copy_setup, _copy_load, unit="row"),
}


def parse_raw(path: str) -> tuple[int, list[tuple[list[str], int]]]:
    stacks = []
    total = 0
    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            try:
                c = int(count)
            except ValueError:
                continue
            frames = [f for f in stack.split(";") if f]
            # py-spy puts the thread name first in raw output with -t; drop
            # a leading "process ..." or "thread ..." pseudo-frame if present
            frames = [f for f in frames if not f.startswith(("process ", "thread "))]
            stacks.append((frames, c))
            total += c
    return total, stacks


def _file_of(frame: str) -> str:
    if frame.endswith(")") and " (" in frame:
        return frame[frame.rindex(" (") + 2:-1]
    return frame


# Python frames whose own samples are time in C code or system calls (socket
# writes in uvloop, the uvloop run loop with epoll and reads, WAL file calls).
# Their samples are shown apart: on a loaded machine they also collect the
# time the thread spends preempted right after waking a client.
C_LEAVES = ("ClientProtocol.flush (", "Runner.run (asyncio/runners.py)", "_OsFile.fdatasync (",
            "_OsFile.pwrite (")


def summarize(total: int, stacks: list[tuple[list[str], int]], cpu_us: float | None,
              top: int, py_us: float | None = None) -> str:
    """Tables of the py-spy samples. `py_us` is the interpreter's CPU per op
    (server CPU × perf's libpython share): the Python samples (all but those
    whose innermost frame is a C_LEAVES wrapper) are scaled to it."""
    if not total:
        return "(no samples)\n"
    c_samples: collections.Counter[str] = collections.Counter()
    by_file: collections.Counter[str] = collections.Counter()
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    py_total = 0
    for frames, c in stacks:
        if not frames:
            continue
        leaf = frames[-1]
        if leaf.startswith(C_LEAVES):
            c_samples[leaf] += c
            continue
        py_total += c
        self_t[leaf] += c
        by_file[_file_of(leaf)] += c
        for f in set(frames):
            incl[f] += c
    scale = py_us if py_us else (cpu_us or 0) * py_total / total

    def us(c: int) -> str:
        return f"{c / py_total * scale:.1f}" if py_total and scale else "–"

    lines = [f"{total} samples; {total - py_total} ({(total - py_total) / total:.0%}) in C "
             "calls and system calls: " + ", ".join(
                 f"`{k}` {v / total:.0%}" for k, v in c_samples.most_common()),
             f"\nThe other {py_total} samples are Python code; µs/op below = their share × "
             + (f"the interpreter's CPU per op from perf ({py_us:.1f} µs)." if py_us else
                "the server CPU per op × their share of all samples."), "",
             "| source file (innermost frame) | share of Python samples | µs/op |",
             "|---|---|---|"]
    for f, c in by_file.most_common(top):
        lines.append(f"| {f} | {c / py_total:.1%} | {us(c)} |")
    lines += ["", "| function (self time) | share | µs/op |", "|---|---|---|"]
    for f, c in self_t.most_common(top):
        lines.append(f"| `{f}` | {c / py_total:.1%} | {us(c)} |")
    lines += ["", "| function (inclusive, Python time only) | share | µs/op |", "|---|---|---|"]
    shown = 0
    for f, c in incl.most_common():
        if any(f.startswith(e) or f == e for e in _ENTRY) or c == py_total:
            continue
        lines.append(f"| `{f}` | {c / py_total:.1%} | {us(c)} |")
        shown += 1
        if shown >= top:
            break
    return "\n".join(lines) + "\n"


def _stop(proc: subprocess.Popen) -> None:
    """Stop a profiler we started (by its handle) and let it write its output."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def perf_run(perf: str, t: H.Target, wl: Workload, tmp: str, seconds: float,
             out: str | None, name: str, top: int) -> tuple[str, float | None]:
    """A third run under `perf record -e cpu-clock` (true CPU samples, kernel
    and C code included): the CPU split by shared object and the top symbols."""
    data = os.path.join(out or tmp, f"{name}.perf.data")
    proc = subprocess.Popen([perf, "record", "-e", "cpu-clock", "-F", "999", "-p", str(t.pid),
                             "-o", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        ops = wl.load(t, tmp, seconds)
    finally:
        _stop(proc)
    if not os.path.exists(data):
        return "\n(perf record produced no data)\n", None

    def report(sort: str) -> list[tuple[float, str]]:
        rep = subprocess.run([perf, "report", "-i", data, "--no-children", "--sort", sort,
                              "-g", "none", "--stdio"], capture_output=True, text=True)
        rows = []
        for line in rep.stdout.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "%" not in line:
                continue
            pct, _, rest = line.partition("%")
            try:
                rows.append((float(pct), " ".join(rest.split())))
            except ValueError:
                continue
        return rows

    lines = [f"\nperf (cpu-clock, {ops} ops): CPU by shared object\n",
             "| shared object | share of server CPU |", "|---|---|"]
    dsos = report("dso")
    py_share = sum(p for p, d in dsos if d.startswith("libpython")) / 100 or None
    for pct, dso in dsos[:8]:
        lines.append(f"| {dso} | {pct:.1f}% |")
    lines += ["", "| symbol (self) | share |", "|---|---|"]
    for pct, sym in report("dso,sym")[:top]:
        lines.append(f"| `{sym}` | {pct:.1f}% |")
    return "\n".join(lines) + "\n", py_share


def strace_run(strace: str, t: H.Target, wl: Workload, tmp: str, seconds: float,
               top: int) -> str:
    """A fourth run under `strace -c -f`: system calls per operation (strace
    slows the server; only the counts matter)."""
    out = os.path.join(tmp, "strace.txt")
    proc = subprocess.Popen([strace, "-c", "-f", "-p", str(t.pid), "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        ops = wl.load(t, tmp, seconds)
    finally:
        _stop(proc)
    if not ops or not os.path.exists(out):
        return ""
    calls = []
    with open(out) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                try:
                    calls.append((int(parts[3]), parts[-1]))
                except ValueError:
                    continue
    calls.sort(reverse=True)
    return ("\nstrace -c: system calls per operation: " +
            ", ".join(f"{name} {n / ops:.2f}" for n, name in calls[:top]) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma-separated: " + ", ".join(WORKLOADS))
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="duration of the measured and of the profiled run (default 10)")
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--top", type=int, default=15, help="rows per table (default 15)")
    ap.add_argument("--out", help="keep the raw (collapsed) stacks in this directory")
    ap.add_argument("--gil", action="store_true",
                    help="py-spy --gil: sample only while the GIL is held (drops time in "
                         "system calls that release it, such as fdatasync)")
    ap.add_argument("--no-perf", action="store_true",
                    help="skip the `perf record -e cpu-clock` run (CPU by shared object)")
    ap.add_argument("--no-strace", action="store_true",
                    help="skip the `strace -c` run (system calls per operation)")
    ap.add_argument("--quick", action="store_true", help="3 s per workload")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 3.0
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        raise SystemExit("py-spy not found: pip install py-spy")
    perf = shutil.which("perf")
    strace = shutil.which("strace")
    names = H.parse_list(args.workloads)
    for n in names:
        if n not in WORKLOADS:
            ap.error(f"unknown workload {n!r}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    info = H.machine_info()
    report = [H.header_lines(info, "AionDB server profiles (benchmarks/profile_server.py)")]

    for name in names:
        wl = WORKLOADS[name]
        with H.Bench(verbose=not args.quiet) as b:
            t = b.aiondb(wl.mode, env=wl.env)
            os.chmod(b.tmp, 0o755)
            b.log(f"[{name}] setting up")
            wl.setup(t, b.tmp)
            # 1) unprofiled run: throughput and CPU per op
            with H.Window(t) as w:
                ops = wl.load(t, b.tmp, args.seconds)
            res = w.finish(H.Result(name, t.name, 0, "", 1, ops / w.wall), ops)
            b.check_alive()
            # 2) profiled run
            raw = os.path.join(args.out or b.tmp, f"{name}.txt")
            spy = subprocess.Popen([pyspy, "record", "-p", str(t.pid), "-f", "raw",
                                    "--nolineno", "-r", str(args.rate), "-o", raw,
                                    *(["--gil"] if args.gil else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                time.sleep(1.0)
                with H.Window(t) as w2:
                    ops2 = wl.load(t, b.tmp, args.seconds)
            finally:
                spy.send_signal(signal.SIGINT)
                try:
                    spy.wait(30)
                except subprocess.TimeoutExpired:
                    spy.kill()
                    spy.wait()
            b.check_alive()
            extra = ""
            py_share = None
            if perf and not args.no_perf:
                text, py_share = perf_run(perf, t, wl, b.tmp, args.seconds, args.out, name,
                                          args.top)
                extra += text
                b.check_alive()
            if strace and not args.no_strace:
                extra += strace_run(strace, t, wl, b.tmp, args.seconds, args.top)
                b.check_alive()
            total, stacks = parse_raw(raw) if os.path.exists(raw) else (0, [])
            if not total and spy.stderr:
                b.log(spy.stderr.read().decode(errors="replace")[-2000:])
            slowdown = (ops / w.wall) / (ops2 / w2.wall) if ops2 else float("nan")
            report.append(
                f"### {name} (AionDB {wl.mode})\n\n"
                f"{ops / w.wall:,.0f} {wl.unit}/s without the profiler, server CPU "
                f"{res.server_cpu_us} µs/{wl.unit} (of which kernel {res.server_sys_us} µs), "
                f"load {res.load_before:.2f}→"
                f"{res.load_after:.2f}, other processes {res.others_cores} cores; under "
                f"py-spy {ops2 / w2.wall:,.0f} {wl.unit}/s ({slowdown:.2f}× slower).\n\n"
                + summarize(total, stacks, res.server_cpu_us, args.top,
                            res.server_cpu_us * py_share
                            if py_share and res.server_cpu_us else None) + extra)
            if not args.quiet:
                print(report[-1], file=sys.stderr, flush=True)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
