"""Shared machinery for the comparison benchmarks (compare.py, pgbench_compare.py,
sql_workloads.py, commit_bench.py). Not a benchmark itself.

What it provides:

* server lifecycle: PostgreSQL 15 (initdb into a temp dir, run as the ordinary
  user `pgref`, via tests/support/servers.py) and AionDB (`--ephemeral` or
  durable in a temp data dir with a random AIONDB_MASTER_KEY), always stopped
  and their directories removed on exit, on error, on Ctrl-C or SIGTERM. Only
  processes started here are ever signalled, by PID.
* measurement: every figure is taken together with the 1-minute load average
  before and after, the CPU the server used per operation (from /proc: the
  AionDB process and its helpers, such as the WAL sync process; for
  PostgreSQL the postmaster, its children and the reaped backends), the
  client's CPU, and the CPU that *other* processes on the
  machine used during the window ("others", in cores; the machine has 2).
* clients: pgbench (C, cheapest client) and psycopg 3 in worker processes
  (default) or threads, each worker with its own connection, started together
  behind a barrier.
* summaries: medians with min/max over repetitions, ratios AionDB/PostgreSQL
  (always throughput-like: > 1 means AionDB is faster), printed as Markdown.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import multiprocessing as mp
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tests.support import servers as _servers  # noqa: E402

PG_USER = _servers.PG_USER
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- machine and load -----------------------------------------------------------------------------

def load1() -> float:
    return os.getloadavg()[0]


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    bindir = _servers.pg_bindir()
    pgver = ""
    if bindir:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            pgver = subprocess.run([os.path.join(bindir, "postgres"), "--version"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    try:
        import uvloop  # noqa: F401
        has_uvloop = True
    except ImportError:
        has_uvloop = False
    try:
        import psycopg
        psycopg_version = psycopg.__version__
    except ImportError:
        psycopg_version = "missing"
    return {"date": _dt.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "mem_mb": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "server_python": _server_python(),
            "postgres": pgver, "psycopg": psycopg_version, "uvloop": has_uvloop,
            "git": _git_head(), "load_at_start": os.getloadavg()}


def _server_python() -> str:
    """The AionDB server's interpreter: path, version, and how it was built
    (a shared libpython without profile-guided optimisation, pyenv's default,
    runs the server 10–20 % slower than a distribution's static PGO build)."""
    exe = _servers.server_python()
    code = ("import sys, sysconfig as s; a = s.get_config_var('CONFIG_ARGS') or ''; "
            "print(sys.version.split()[0], 'shared libpython' if s.get_config_var('Py_ENABLE_SHARED') "
            "else 'static libpython', '+ --enable-optimizations' if 'enable-optimizations' in a else '')")
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run([exe, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
        return f"{exe} {' '.join(out)}"
    return exe


def _git_head() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "aiondb"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty aiondb/" if dirty else "")
    return "?"


def wait_for_quiet(max_load: float | None, timeout: float = 90.0) -> None:
    """Wait (up to `timeout`) until the 1-minute load average drops below
    `max_load`; a no-op when max_load is None."""
    if max_load is None:
        return
    deadline = time.monotonic() + timeout
    while load1() > max_load and time.monotonic() < deadline:
        time.sleep(2)


def _proc_cpu_ticks(pid: int, children: bool = False) -> tuple[int, int]:
    """(user, system) CPU ticks of a process (plus its reaped children)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            data = fh.read()
    except OSError:
        return 0, 0
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is state (field 3); utime is field 14, stime 15, cutime 16, cstime 17
    user, system = int(fields[11]), int(fields[12])
    if children:
        user += int(fields[13])
        system += int(fields[14])
    return user, system


def _busy_ticks() -> int:
    with open("/proc/stat") as fh:
        parts = fh.readline().split()
    vals = [int(x) for x in parts[1:]]
    # user nice system idle iowait irq softirq steal ...
    return vals[0] + vals[1] + vals[2] + vals[5] + vals[6] + (vals[7] if len(vals) > 7 else 0)


# --- servers --------------------------------------------------------------------------------------

@dataclass
class Target:
    """A running server to benchmark."""
    name: str            # e.g. "postgres", "aion-durable"
    kind: str            # "pg" or "aion"
    host: str
    port: int
    user: str
    dbname: str = "postgres"
    note: str = ""
    handle: Any = None   # AionServer or PgServer
    session_sql: list[str] = field(default_factory=list)   # run at connect by psycopg clients
    pgbench_env: dict[str, str] = field(default_factory=dict)  # e.g. PGOPTIONS

    def dsn(self, dbname: str | None = None) -> str:
        return (f"host={self.host} port={self.port} user={self.user} "
                f"dbname={dbname or self.dbname} connect_timeout=20")

    def pgbench_conn_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, self.dbname]

    @property
    def pid(self) -> int | None:
        if self.kind == "aion":
            return self.handle.proc.pid
        return _postmaster_pid(self.handle)

    def cpu_ticks(self) -> tuple[int, int]:
        """(user, system) CPU ticks the server has used so far (all its processes)."""
        if self.kind == "aion":
            # the server and its helpers (front-end and WAL sync processes)
            return _tree_cpu_ticks(self.handle.proc.pid)
        return _pg_cpu_ticks(self.handle)

    def alive(self) -> bool:
        if self.kind == "aion":
            return self.handle.proc.poll() is None
        return _postmaster_pid(self.handle) is not None

    def log_tail(self, n: int = 40) -> str:
        if self.kind == "aion":
            return "\n".join(self.handle.log_text().splitlines()[-n:])
        path = os.path.join(os.path.dirname(self.handle.datadir), "log")
        with contextlib.suppress(OSError), open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-n:])
        return ""


def _postmaster_pid(pg: Any) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(os.path.join(pg.datadir, "postmaster.pid")) as fh:
            pid = int(fh.readline())
        os.kill(pid, 0)
        return pid
    return None


def _children_of(pid: int) -> tuple[dict[int, tuple[int, int]], bool]:
    """({child pid: its (user, system) CPU ticks} for the live children of
    `pid`, whether any of them is a zombie)."""
    kids = {}
    zombie = False
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        if int(fields[1]) == pid:          # field 4: ppid
            kids[int(entry)] = (int(fields[11]), int(fields[12]))
            zombie = zombie or fields[0] in ("Z", "X")
    return kids, zombie


def _pg_cpu_ticks(pg: Any) -> tuple[int, int]:
    """All CPU used by this PostgreSQL cluster: the postmaster, its live
    children (checkpointer, walwriter, backends ...) and what it has reaped
    from exited backends. Other engineers run PostgreSQL clusters as the same
    user, so processes are selected by parent PID, not by user. A backend
    between exit and being reaped shows its CPU nowhere, so zombies are
    waited for (up to 2 s)."""
    pm = _postmaster_pid(pg)
    if pm is None:
        return 0, 0
    return _tree_cpu_ticks(pm)


def _tree_cpu_ticks(pm: int) -> tuple[int, int]:
    """CPU of process `pm`, its live children and its reaped ones."""
    deadline = time.monotonic() + 2.0
    while True:
        before = _proc_cpu_ticks(pm, children=True)
        kids, zombie = _children_of(pm)
        after = _proc_cpu_ticks(pm, children=True)
        if (not zombie and before == after) or time.monotonic() > deadline:
            return (after[0] + sum(k[0] for k in kids.values()),
                    after[1] + sum(k[1] for k in kids.values()))
        time.sleep(0.005)


class Bench(contextlib.ExitStack):
    """Owns every server and temp dir a benchmark starts; closing it (always,
    via `with Bench() as b:`) stops them and removes their files. SIGTERM and
    SIGHUP are turned into SystemExit so the cleanup runs then too."""

    def __init__(self, verbose: bool = True) -> None:
        super().__init__()
        self.verbose = verbose
        self.targets: list[Target] = []
        self._tmp = tempfile.mkdtemp(prefix="aiondb-bench-")
        self.callback(shutil.rmtree, self._tmp, True)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _raise_exit)

    @property
    def tmp(self) -> str:
        return self._tmp

    def log(self, *args: object) -> None:
        if self.verbose:
            print(*args, file=sys.stderr, flush=True)

    def postgres(self, name: str = "postgres", conf: dict[str, str] | None = None,
                 note: str = "synchronous_commit=on, fsync=on") -> Target:
        self.log(f"starting PostgreSQL ({name})")
        pg = _servers.start_postgres(conf)
        if pg is None:
            raise SystemExit("PostgreSQL 15 binaries not found (looked in pg_config --bindir "
                             "and /usr/lib/postgresql/15/bin)")
        self.callback(pg.stop)
        t = Target(name, "pg", pg.host, pg.port, pg.user, note=note, handle=pg)
        self.targets.append(t)
        return t

    def aiondb(self, mode: str = "ephemeral", name: str | None = None,
               flags: Iterable[str] = (), env: dict[str, str] | None = None,
               note: str = "") -> Target:
        """mode: "ephemeral" (in memory) or "durable" (temp data dir on the same
        disk as PostgreSQL's, encrypted, fsync on)."""
        name = name or f"aion-{mode}"
        full_env = {"AIONDB_LOG_LEVEL": "WARNING"}
        full_env.update(env or {})
        data_dir = None
        if mode == "ephemeral":
            args = ["--ephemeral", *flags]
        elif mode == "durable":
            data_dir = os.path.join(self._tmp, f"{name}-data")
            full_env.setdefault("AIONDB_MASTER_KEY", os.urandom(32).hex())
            args = ["--data-dir", data_dir, *flags]
        else:
            raise ValueError(f"unknown AionDB mode {mode!r}")
        self.log(f"starting AionDB ({name}: {' '.join(args)})")
        srv = _servers.start_aiondb(*args, env=full_env, data_dir=data_dir)

        def stop() -> None:
            srv.stop()
            if srv.log_path:
                with contextlib.suppress(OSError):
                    os.unlink(srv.log_path)

        self.callback(stop)
        t = Target(name, "aion", srv.host, srv.port, srv.user, note=note, handle=srv)
        self.targets.append(t)
        return t

    def check_alive(self) -> None:
        for t in self.targets:
            if not t.alive():
                raise ServerDied(t.name, t.log_tail())


class ServerDied(RuntimeError):
    def __init__(self, name: str, log: str) -> None:
        super().__init__(f"server {name} is no longer running; last log lines:\n{log}")


def _raise_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


# --- measurements ---------------------------------------------------------------------------------

@dataclass
class Result:
    bench: str           # e.g. "point-select"
    target: str          # server name
    clients: int
    mode: str            # e.g. "prepared", "pgbench -M prepared"
    rep: int
    value: float         # ops/s (or seconds for timings; see unit)
    unit: str = "ops/s"
    ops: int = 0
    seconds: float = 0.0
    server_cpu_us: float | None = None   # server CPU per operation (user + system)
    server_sys_us: float | None = None   # of which in the kernel (system time)
    client_cpu_us: float | None = None   # client CPU per operation
    others_cores: float | None = None    # CPU used by unrelated processes during the run
    load_before: float = 0.0
    load_after: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Window:
    """Samples load, machine CPU and server CPU around one measurement."""

    def __init__(self, target: Target | None) -> None:
        self.target = target

    def __enter__(self) -> Window:
        self.load_before = load1()
        self.t0 = time.perf_counter()
        self.busy0 = _busy_ticks()
        self.srv0 = self.target.cpu_ticks() if self.target else (0, 0)
        self.child0 = _children_cpu()
        self.self0 = _self_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.busy = (_busy_ticks() - self.busy0) / CLK_TCK
        srv1 = self.target.cpu_ticks() if self.target else (0, 0)
        self.server_user = (srv1[0] - self.srv0[0]) / CLK_TCK
        self.server_sys = (srv1[1] - self.srv0[1]) / CLK_TCK
        self.server_cpu = self.server_user + self.server_sys
        self.children_cpu = _children_cpu() - self.child0
        self.self_cpu = _self_cpu() - self.self0
        self.load_after = load1()

    def finish(self, res: Result, ops: int, client_cpu: float | None = None,
               client_in_self: bool = False) -> Result:
        """Fill in the per-op CPU and noise figures; client_cpu defaults to the
        CPU of reaped child processes (pgbench); client_in_self says the client
        ran as threads of this process."""
        if client_cpu is None:
            client_cpu = self.children_cpu
        res.ops = ops
        res.load_before = round(self.load_before, 2)
        res.load_after = round(self.load_after, 2)
        if ops:
            if self.target:
                res.server_cpu_us = round(self.server_cpu / ops * 1e6, 1)
                res.server_sys_us = round(self.server_sys / ops * 1e6, 1)
            res.client_cpu_us = round(client_cpu / ops * 1e6, 1)
        ours = self.server_cpu + (max(client_cpu, self.self_cpu) if client_in_self
                                  else client_cpu + self.self_cpu)
        others = self.busy - ours
        res.others_cores = round(max(0.0, others) / self.wall, 2) if self.wall > 0 else None
        return res


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def fsync_probe(directory: str, n: int = 200) -> float:
    """Median latency (µs) of an 8 kB pwrite + fdatasync into a pre-allocated
    file in `directory`: the disk's commit floor at this moment."""
    path = os.path.join(directory, f"fsync-probe-{os.getpid()}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"\0" * (n * 8192))
        os.fsync(fd)
        buf = os.urandom(8192)
        lat = []
        for i in range(n):
            t0 = time.perf_counter()
            os.pwrite(fd, buf, i * 8192)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t0)
        return statistics.median(lat) * 1e6
    finally:
        os.close(fd)
        os.unlink(path)


# --- pgbench --------------------------------------------------------------------------------------

def pgbench_path(name: str = "pgbench") -> str:
    bindir = _servers.pg_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL 15 binaries not found")
    return os.path.join(bindir, name)


_TPS_RE = re.compile(r"tps = ([\d.]+) \(without initial connection time\)")
_PROCESSED_RE = re.compile(r"number of transactions actually processed: (\d+)")
_FAILED_RE = re.compile(r"number of failed transactions: (\d+)")
_RETRIED_RE = re.compile(r"number of transactions retried: (\d+)")
_LAT_RE = re.compile(r"latency average = ([\d.]+) ms")


def run_pgbench(target: Target, args: list[str], timeout: float = 600) -> dict[str, Any]:
    """Run pgbench against `target`; returns tps, processed, failed, retried,
    latency_ms and the raw output. Raises with pgbench's output on failure."""
    cmd = [pgbench_path(), *args, *target.pgbench_conn_args()]
    env = dict(os.environ)
    env.update(target.pgbench_env)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    out = proc.stdout + proc.stderr
    m = _TPS_RE.search(out)
    if proc.returncode != 0 or not m:
        raise PgbenchFailed(target.name, cmd, proc.returncode, out)

    def grab(rx: re.Pattern[str], cast: Callable[[str], Any] = int) -> Any:
        mm = rx.search(out)
        return cast(mm.group(1)) if mm else 0

    return {"tps": float(m.group(1)), "processed": grab(_PROCESSED_RE),
            "failed": grab(_FAILED_RE), "retried": grab(_RETRIED_RE),
            "latency_ms": grab(_LAT_RE, float), "output": out}


def run_pgbench_init(target: Target, args: list[str], timeout: float = 3600) -> str:
    """pgbench -i ... (no TPS line to parse); returns its output."""
    cmd = [pgbench_path(), *args, *target.pgbench_conn_args()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise PgbenchFailed(target.name, cmd, proc.returncode, out)
    return out


class PgbenchFailed(RuntimeError):
    def __init__(self, name: str, cmd: list[str], rc: int, out: str) -> None:
        tail = "\n".join(out.splitlines()[-25:])
        super().__init__(f"pgbench against {name} failed (exit {rc}): {' '.join(cmd)}\n{tail}")
        self.output = out


def pgbench_measure(target: Target, bench: str, mode: str, clients: int, rep: int,
                    args: list[str], seconds: float) -> Result:
    """One timed pgbench run (-T seconds, -c clients, -j min(clients, cores))."""
    jobs = max(1, min(clients, os.cpu_count() or 1))
    full = ["-T", str(max(1, round(seconds))), "-c", str(clients), "-j", str(jobs), *args]
    with Window(target) as w:
        out = run_pgbench(target, full, timeout=seconds * 4 + 120)
    res = Result(bench, target.name, clients, mode, rep, out["tps"], seconds=w.wall,
                 extra={"failed": out["failed"], "retried": out["retried"],
                        "latency_ms": out["latency_ms"]})
    return w.finish(res, out["processed"])


# --- psycopg clients ------------------------------------------------------------------------------

# A workload factory receives (conn, worker_index, **params) and returns a
# zero-argument callable that performs one operation. It must be a module-level
# function (worker processes are forked, so closures work too, but keep it simple).
Factory = Callable[..., Callable[[], object]]


def _client_body(factory: Factory, dsn: str, session_sql: list[str], idx: int,
                 seconds: float, warmup: int, params: dict[str, Any],
                 conn_kwargs: dict[str, Any], barrier: Any, out: Any) -> None:
    import psycopg
    try:
        conn = psycopg.connect(dsn, autocommit=True, **conn_kwargs)
        for sql in session_sql:
            conn.execute(sql)
        op = factory(conn, idx, **params)
        for _ in range(warmup):
            op()
    except BaseException as exc:  # report, release the others
        out.put((idx, 0, 0.0, 0.0, f"{type(exc).__name__}: {exc}"))
        with contextlib.suppress(Exception):
            barrier.abort()
        return
    try:
        barrier.wait(timeout=120)
    except Exception as exc:
        out.put((idx, 0, 0.0, 0.0, f"barrier: {exc!r}"))
        return
    n = 0
    err = None
    c0 = time.thread_time()
    t0 = time.perf_counter()
    end = t0 + seconds
    try:
        while True:
            op()
            n += 1
            if time.perf_counter() >= end:
                break
    except Exception as exc:
        err = f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - t0
    cpu = time.thread_time() - c0
    out.put((idx, n, elapsed, cpu, err))
    with contextlib.suppress(Exception):
        conn.close()


def psycopg_measure(target: Target, bench: str, mode: str, clients: int, rep: int,
                    factory: Factory, seconds: float, params: dict[str, Any] | None = None,
                    conn_kwargs: dict[str, Any] | None = None, use: str = "processes",
                    warmup: int = 50) -> Result:
    """Run `clients` psycopg connections, each in its own process (default) or
    thread, for `seconds` after a common start; returns total ops/s."""
    params = params or {}
    conn_kwargs = conn_kwargs or {}
    if use == "processes":
        ctx = mp.get_context("fork")
        barrier = ctx.Barrier(clients + 1)
        out = ctx.Queue()
        workers: list[Any] = [ctx.Process(target=_client_body, daemon=True, args=(
            factory, target.dsn(), target.session_sql, i, seconds, warmup, params,
            conn_kwargs, barrier, out)) for i in range(clients)]
    else:
        import queue
        barrier = threading.Barrier(clients + 1)
        out = queue.Queue()
        workers = [threading.Thread(target=_client_body, daemon=True, args=(
            factory, target.dsn(), target.session_sql, i, seconds, warmup, params,
            conn_kwargs, barrier, out)) for i in range(clients)]
    for wk in workers:
        wk.start()
    rows = []
    try:
        try:
            barrier.wait(timeout=180)
        except threading.BrokenBarrierError:
            pass
        with Window(target) as w:
            for _ in range(clients):
                rows.append(out.get(timeout=seconds + 180))
    finally:
        for wk in workers:
            wk.join(timeout=30)
            if use == "processes" and wk.is_alive():
                wk.kill()    # our own worker process, by its handle
                wk.join(5)
    errors = [r[4] for r in rows if r[4]]
    if errors:
        raise ClientError(target.name, bench, mode, errors)
    ops = sum(r[1] for r in rows)
    rate = sum(r[1] / r[2] for r in rows if r[2] > 0)
    client_cpu = sum(r[3] for r in rows)
    res = Result(bench, target.name, clients, mode, rep, rate, seconds=w.wall)
    return w.finish(res, ops, client_cpu=client_cpu, client_in_self=use != "processes")


class ClientError(RuntimeError):
    def __init__(self, name: str, bench: str, mode: str, errors: list[str]) -> None:
        uniq = sorted(set(errors))
        super().__init__(f"{bench}/{mode} against {name}: {len(errors)} client(s) failed: "
                         + "; ".join(uniq[:3]))
        self.errors = errors


# --- summaries ------------------------------------------------------------------------------------

def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_num(v: float | None, unit: str = "ops/s") -> str:
    if v is None or v != v:
        return "–"
    if unit == "ops/s":
        return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"
    if unit == "ms":
        return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"
    if unit == "us":
        return f"{v:.1f}" if v < 100 else f"{v:.0f}"
    if unit == "s":
        return f"{v:.2f}" if v < 10 else f"{v:.1f}"
    return f"{v:g}"


def spread(values: list[float], unit: str) -> str:
    if not values:
        return "–"
    m = fmt_num(med(values), unit)
    if len(values) == 1:
        return m
    return f"{m} ({fmt_num(min(values), unit)}–{fmt_num(max(values), unit)})"


def summary_table(results: list[Result], baseline: str, order: list[str],
                  higher_is_better: bool = True, unit: str = "ops/s",
                  cpu: bool = True, key: Callable[[Result], tuple] | None = None,
                  key_names: tuple[str, ...] = ("benchmark", "clients", "client / mode"),
                  ) -> str:
    """Markdown table: one row per (bench, clients, mode) (or `key`), one
    column per target with median (min–max), ratio columns target/baseline
    (throughput-like: > 1.0 means the target is faster), the median server CPU
    per op of each target (and its kernel part), the ratio of CPU per op
    baseline ÷ target (a throughput-like efficiency ratio that the machine's
    load disturbs much less than throughput), the median client CPU per op,
    the load average range of the row's runs and the median CPU of other
    processes."""
    key = key or (lambda r: (r.bench, r.clients, r.mode))
    groups: dict[tuple, dict[str, list[Result]]] = {}
    for r in results:
        groups.setdefault(key(r), {}).setdefault(r.target, []).append(r)
    names = [n for n in order if any(n in g for g in groups.values())]
    others = [n for n in names if n != baseline]
    head = [*key_names, *[f"{n} [{unit}]" for n in names],
            *[f"{n} / {baseline}" for n in others]]
    if cpu:
        head += ["server CPU µs/op, (of which kernel) (" + " / ".join(names) + ")",
                 *[f"CPU/op {baseline} ÷ {n}" for n in others], "client CPU µs/op"]
    head += ["load 1-min", "others (cores)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, g in groups.items():
        cells = [str(x) for x in k]
        meds: dict[str, float] = {}
        for n in names:
            vals = [r.value for r in g.get(n, [])]
            cells.append(spread(vals, unit))
            meds[n] = med(vals)
        for n in others:
            b, v = meds.get(baseline), meds.get(n)
            if b and v and b == b and v == v:
                ratio = v / b if higher_is_better else b / v
                cells.append(f"**{ratio:.2f}×**")
            else:
                cells.append("–")
        if cpu:
            per = []
            for n in names:
                vals = [r.server_cpu_us for r in g.get(n, []) if r.server_cpu_us is not None]
                sysv = [r.server_sys_us for r in g.get(n, []) if r.server_sys_us is not None]
                per.append(f"{fmt_num(med(vals), 'us')} ({fmt_num(med(sysv), 'us')})"
                           if vals else "–")
            cells.append(" / ".join(per))
            cmed = {n: med([r.server_cpu_us for r in g.get(n, []) if r.server_cpu_us])
                    for n in names}
            for n in others:
                b, v = cmed.get(baseline), cmed.get(n)
                cells.append(f"{b / v:.2f}" if b and v and b == b and v == v else "–")
            cvals = [r.client_cpu_us for rs in g.values() for r in rs
                     if r.client_cpu_us is not None]
            cells.append(fmt_num(med(cvals), "us") if cvals else "–")
        allr = [r for rs in g.values() for r in rs]
        loads = [r.load_before for r in allr] + [r.load_after for r in allr]
        cells.append(f"{min(loads):.2f}–{max(loads):.2f}" if loads else "–")
        oth = [r.others_cores for r in allr if r.others_cores is not None]
        cells.append(f"{med(oth):.2f}" if oth else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def header_lines(info: dict[str, Any], what: str) -> str:
    la = info["load_at_start"]
    return (f"## {what}\n\n{info['date']} · {info['cores']} cores ({info['cpu']}) · "
            f"{info['mem_mb']} MB · Linux {info['kernel']} · Python {info['python']} "
            f"(server: {info.get('server_python', '?')}) · "
            f"{info['postgres']} · psycopg {info['psycopg']} · uvloop "
            f"{'yes' if info['uvloop'] else 'no'} · git {info['git']} · load average at "
            f"start {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f}\n")


def save_json(path: str | None, info: dict[str, Any], results: list[Result],
              extra: dict[str, Any] | None = None) -> None:
    if not path:
        return
    with open(path, "w") as fh:
        json.dump({"machine": info, "results": [asdict(r) for r in results],
                   **(extra or {})}, fh, indent=1, default=str)
    print(f"raw results written to {path}", file=sys.stderr)


def progress(res: Result) -> None:
    cpu = (f", server {res.server_cpu_us} µs/op ({res.server_sys_us} sys)"
           if res.server_cpu_us is not None else "")
    print(f"  {res.bench:<22} {res.mode:<26} c={res.clients:<2} {res.target:<16} "
          f"rep {res.rep}: {fmt_num(res.value, res.unit):>8} {res.unit}{cpu}, "
          f"load {res.load_before:.2f}→{res.load_after:.2f}, others "
          f"{res.others_cores} cores", file=sys.stderr, flush=True)


def parse_list(text: str, cast: Callable[[str], Any] = str) -> list[Any]:
    return [cast(x.strip()) for x in text.split(",") if x.strip()]


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """with timed() as t: ...; t[0] is the elapsed wall time in seconds."""
    box: list[float] = []
    t0 = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - t0)


def common_args(parser: Any, seconds: float, reps: int) -> None:
    parser.add_argument("--seconds", type=float, default=seconds,
                        help=f"duration of each timed run (default {seconds})")
    parser.add_argument("--reps", type=int, default=reps,
                        help=f"repetitions of each measurement; medians reported (default {reps})")
    parser.add_argument("--quick", action="store_true",
                        help="short smoke run: 1 repetition, short durations, fewer variants")
    parser.add_argument("--max-load", type=float, default=None,
                        help="before each run, wait (up to 90 s) until the 1-minute load "
                             "average is below this")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
