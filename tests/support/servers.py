"""Real server processes for tests: AionDB on a free loopback port, and a
PostgreSQL 15 reference cluster (initdb into a temp dir, run as an ordinary
user because PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_USER = "pgref"


@dataclass
class AionServer:
    host: str
    port: int
    proc: subprocess.Popen
    user: str = "aion"
    password: str | None = None
    data_dir: str | None = None
    log_path: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def dsn(self, dbname: str = "postgres", **extra: str) -> str:
        parts = [f"host={self.host}", f"port={self.port}", f"user={self.user}",
                 f"dbname={dbname}", "connect_timeout=10"]
        if self.password:
            parts.append(f"password={self.password}")
        parts += [f"{k}={v}" for k, v in extra.items()]
        return " ".join(parts)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_text(self) -> str:
        if self.log_path and os.path.exists(self.log_path):
            return Path(self.log_path).read_text(errors="replace")
        return ""


_LISTEN_RE = re.compile(r"listening on ([\w.:]+):(\d+)")


def server_python() -> str:
    """The interpreter AionDB servers run on: this one, or the one
    AIONDB_SERVER_PYTHON names (benchmarks compare interpreter builds: see
    docs/performance.md, "The interpreter's build")."""
    return os.environ.get("AIONDB_SERVER_PYTHON") or sys.executable


def start_aiondb(*args: str, env: dict[str, str] | None = None, timeout: float = 30,
                 user: str = "aion", password: str | None = None,
                 data_dir: str | None = None) -> AionServer:
    """Start `python -m aiondb` with the given flags (default --ephemeral) on a
    free port; return once it prints its listening line."""
    flags = list(args) or ["--ephemeral"]
    if "--port" not in flags:
        flags += ["--port", "0"]
    full_env = dict(os.environ)
    full_env.update(env or {})
    log = tempfile.NamedTemporaryFile(prefix="aiondb-test-", suffix=".log", delete=False)
    log.close()
    proc = subprocess.Popen([server_python(), "-m", "aiondb", *flags], stdout=subprocess.PIPE,
                            stderr=open(log.name, "w"), env=full_env, text=True)
    deadline = time.monotonic() + timeout
    lines = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        m = _LISTEN_RE.search(line)
        if m:
            return AionServer(m.group(1), int(m.group(2)), proc, user, password, data_dir,
                              log.name, env or {})
    proc.kill()
    raise RuntimeError("aiondb did not start: " + "".join(lines) +
                       Path(log.name).read_text(errors="replace"))


# --- PostgreSQL reference -------------------------------------------------------------------------

def pg_bindir() -> str | None:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    for d in (out, "/usr/lib/postgresql/15/bin"):
        if d and os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


@dataclass
class PgServer:
    host: str
    port: int
    datadir: str
    bindir: str
    user: str = "postgres"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def stop(self) -> None:
        _as_pg_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir, "-m", "fast",
                     "stop"], check=False)
        shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)


def _ensure_pg_user() -> None:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "-m", PG_USER], check=True, capture_output=True)


def _as_pg_user(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        _ensure_pg_user()
        cmd = ["runuser", "-u", PG_USER, "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres(extra_conf: dict[str, str] | None = None) -> PgServer | None:
    """initdb + start a PostgreSQL 15 cluster on a free port; None if PostgreSQL
    is not installed."""
    bindir = pg_bindir()
    if bindir is None:
        return None
    base = tempfile.mkdtemp(prefix="pgref-")
    os.chmod(base, 0o777)
    datadir = os.path.join(base, "data")
    _as_pg_user([os.path.join(bindir, "initdb"), "-D", datadir, "-U", "postgres",
                 "--no-locale", "-E", "UTF8", "-A", "trust"])
    port = free_port()
    conf = {"listen_addresses": "'127.0.0.1'", "port": str(port),
            "unix_socket_directories": f"'{base}'", "fsync": "on", "max_connections": "100",
            "shared_buffers": "128MB", "timezone": "'UTC'"}
    conf.update(extra_conf or {})
    with open(os.path.join(datadir, "postgresql.auto.conf"), "a") as fh:
        for k, v in conf.items():
            fh.write(f"{k} = {v}\n")
    _as_pg_user([os.path.join(bindir, "pg_ctl"), "-D", datadir, "-w", "-l",
                 os.path.join(base, "log"), "start"])
    return PgServer("127.0.0.1", port, datadir, bindir)


def fresh_database(name: str, *servers: AionServer | PgServer) -> str:
    """Drop and create database `name` on each server; returns the name."""
    import psycopg

    for server in servers:
        with psycopg.connect(server.dsn(), autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name}")
            c.execute(f"CREATE DATABASE {name}")
    return name
