"""The `aiondb` command as a user meets it: --help, one-line errors with exit
status 2 for bad flags, environment variables and TOML values, settings
precedence, --port 0, and a clean shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors as pe

from aiondb import cli
from aiondb.config import FIELDS, load_settings
from tests.support.servers import AionServer, start_aiondb


def run_aiondb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AIONDB_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "aiondb", *args], capture_output=True,
                          text=True, env=full_env, timeout=60)


# --- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["serve", "--help"]])
def test_help_explains_each_flag(argv: list[str]) -> None:
    res = run_aiondb(*argv)
    assert res.returncode == 0 and res.stderr == ""
    text = " ".join(res.stdout.split())
    for name in cli._FLAG_HELP_ORDER:
        flag = "--config" if name == "config_file" else "--" + name.replace("_", "-")
        assert flag in text, flag
        help_text = " ".join(FIELDS[name].metadata["help"].split())
        assert help_text in text, name
    assert "AIONDB_" in text and "doctor" in text
    assert "0 picks a free port" in text


def test_version() -> None:
    res = run_aiondb("--version")
    assert res.returncode == 0 and res.stdout.startswith("aiondb ")


# --- bad values: one line, exit status 2 -----------------------------------------------------------

BAD_FLAGS = [
    (["--port", "abc"], "port"),
    (["--port", "70000"], "port"),
    (["--port", "-1"], "port"),
    (["--bogus"], "--bogus"),
    (["serve", "extra"], "extra"),
    (["--max-message-size", "12parsecs"], "max_message_size"),
    (["--max-message-size", "1e400"], "max_message_size"),
    (["--max-message-size", "10"], "max_message_size"),
    (["--log-level", "loud"], "log_level"),
    (["--storage-backend", "tape"], "storage_backend"),
    (["--ephemeral", "--storage-backend", "durable"], "--ephemeral"),
    (["--auth-method", "md5"], "auth_method"),
    (["--auth-method", "scram-sha-256"], "password"),
    (["--checkpoint-interval=-5s"], "checkpoint_interval"),
    (["--checkpoint-interval", "1e999s"], "checkpoint_interval"),
    (["--max-connections", "0"], "max_connections"),
    (["--max-connections", "2.5"], "max_connections"),
    (["--synchronous-commit", "maybe"], "synchronous_commit"),
    (["--ephemeral", "perhaps"], "ephemeral"),
    (["--config", "/nonexistent/aiondb.toml"], "/nonexistent/aiondb.toml"),
    (["--port"], "--port"),
]


def check_one_line_error(code: int, out: str, err: str, mentions: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("aiondb: error: ")
    assert mentions in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(("argv", "mentions"), BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_bad_flag(argv: list[str], mentions: str, capsys: pytest.CaptureFixture[str],
                  monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AIONDB_"):
            monkeypatch.delenv(key)
    try:
        code = cli.main(argv)
    except SystemExit as exc:   # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    check_one_line_error(code, out, err, mentions)


BAD_ENV = [
    ({"AIONDB_PORT": "x"}, "AIONDB_PORT"),
    ({"AIONDB_EPHEMERAL": "maybe"}, "AIONDB_EPHEMERAL"),
    ({"AIONDB_MAX_CONNECTIONS": "-3"}, "AIONDB_MAX_CONNECTIONS"),
    ({"AIONDB_LOG_LEVEL": "verbose"}, "AIONDB_LOG_LEVEL"),
    ({"AIONDB_MAX_MESSAGE_SIZE": "lots"}, "AIONDB_MAX_MESSAGE_SIZE"),
]

BAD_TOML = [
    ('port = "x"\n', "port"),
    ("port = true\n", "port"),
    ("max_connections = 1.5\n", "max_connections"),
    ("host = 5\n", "host"),
    ("colour = 'blue'\n", "colour"),
    ("port = \n", "not valid TOML"),
    ("log_level = ['info']\n", "log_level"),
    ("config_file = 'other.toml'\n", "config_file"),
]


@pytest.mark.parametrize(("env", "mentions"), BAD_ENV, ids=[next(iter(e)) for e, _ in BAD_ENV])
def test_bad_environment_value(env: dict[str, str], mentions: str) -> None:
    res = run_aiondb("--ephemeral", "--port", "0", env=env)
    check_one_line_error(res.returncode, res.stdout, res.stderr, mentions)


@pytest.mark.parametrize(("toml", "mentions"), BAD_TOML, ids=[t for t, _ in BAD_TOML])
def test_bad_toml_value(toml: str, mentions: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("AIONDB_"):
            monkeypatch.delenv(key)
    path = tmp_path / "aiondb.toml"
    path.write_text(toml)
    code = cli.main(["--ephemeral", "--config", str(path)])
    out, err = capsys.readouterr()
    check_one_line_error(code, out, err, mentions)


def test_bad_toml_value_through_the_real_command(tmp_path: Path) -> None:
    path = tmp_path / "aiondb.toml"
    path.write_text("max_message_size = '64 parsecs'\n")
    res = run_aiondb("--config", str(path))
    check_one_line_error(res.returncode, res.stdout, res.stderr, "max_message_size")
    res = run_aiondb(env={"AIONDB_CONFIG_FILE": str(path)})
    check_one_line_error(res.returncode, res.stdout, res.stderr, "max_message_size")


def test_bad_flag_through_the_real_command() -> None:
    res = run_aiondb("--port", "seventy")
    check_one_line_error(res.returncode, res.stdout, res.stderr, "port")
    res = run_aiondb("--no-such-flag")
    check_one_line_error(res.returncode, res.stdout, res.stderr, "--no-such-flag")


# --- settings precedence, --port 0 ---------------------------------------------------------------

def _can_login(srv: AionServer, user: str) -> bool:
    try:
        with psycopg.connect(srv.dsn(), user=user) as c:
            return c.execute("select current_user").fetchone() == (user,)
    except psycopg.OperationalError:
        return False


@pytest.mark.parametrize(("use_env", "use_flag", "expected"), [
    (False, False, "tomluser"), (True, False, "envuser"), (True, True, "flaguser")])
def test_flags_beat_environment_beat_toml(tmp_path: Path, use_env: bool, use_flag: bool,
                                          expected: str) -> None:
    path = tmp_path / "aiondb.toml"
    path.write_text('user = "tomluser"\nmax_connections = 7\n')
    env = {"AIONDB_CONFIG_FILE": str(path)}
    if use_env:
        env["AIONDB_USER"] = "envuser"
    flags = {"user": "flaguser"} if use_flag else {}
    settings = load_settings(flags, env)
    assert settings.user == expected
    assert settings.max_connections == 7   # from the file, whatever else is set


def test_precedence_in_the_real_command(tmp_path: Path) -> None:
    path = tmp_path / "aiondb.toml"
    path.write_text('user = "tomluser"\nephemeral = true\n')
    srv = start_aiondb("--port", "0", "--user", "flaguser",
                       env={"AIONDB_CONFIG_FILE": str(path), "AIONDB_USER": "envuser"})
    try:
        logins = {u: _can_login(srv, u) for u in ("tomluser", "envuser", "flaguser")}
        assert logins == {"tomluser": False, "envuser": False, "flaguser": True}
    finally:
        assert srv.stop() == 0


def test_port_zero_prints_the_chosen_port() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "aiondb", "--ephemeral", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[1].startswith("listening on 127.0.0.1:")
        port = int(lines[1].rsplit(":", 1)[1])
        assert port != 0
        assert f"psql -h 127.0.0.1 -p {port} -U aion" in lines[2]
        with psycopg.connect(f"host=127.0.0.1 port={port} user=aion dbname=postgres") as c:
            assert c.execute("select 1").fetchone() == (1,)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_port_in_use_is_a_one_line_error(aiondb: AionServer) -> None:
    res = run_aiondb("--ephemeral", "--port", str(aiondb.port))
    assert res.returncode == 1
    assert res.stderr.splitlines() == [res.stderr.strip()]
    assert f"cannot listen on 127.0.0.1:{aiondb.port}" in res.stderr


# --- shutdown ---------------------------------------------------------------------------------------

def _wait_running(srv: AionServer, pid: int) -> None:
    with psycopg.connect(srv.dsn(), autocommit=True) as w:
        for _ in range(20_000):
            row = w.execute("select count(*) from pg_stat_activity where pid = %s and "
                            "xact_start is not null", [pid]).fetchone()
            if row and row[0]:
                return
    raise AssertionError("the statement never started")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_clean_shutdown(sig: int) -> None:
    srv = start_aiondb("--ephemeral")
    busy = psycopg.connect(srv.dsn(), autocommit=True)
    idle = psycopg.connect(srv.dsn(), autocommit=True)
    in_txn = psycopg.connect(srv.dsn(), autocommit=True)
    in_txn.execute("begin")
    in_txn.execute("select 1")
    outcome: list[Any] = []

    def sleeper() -> None:
        try:
            busy.execute("select pg_sleep(30)")
            outcome.append("finished")
        except psycopg.Error as exc:
            outcome.append(exc)
    t = threading.Thread(target=sleeper)
    t.start()
    try:
        _wait_running(srv, busy.info.backend_pid)
        srv.proc.send_signal(sig)
        assert srv.proc.wait(timeout=30) == 0
        t.join()
        # the in-flight statement was cancelled and its client told why
        assert len(outcome) == 1 and isinstance(outcome[0], pe.AdminShutdown), outcome
        assert outcome[0].sqlstate == "57P01"
        # idle sessions, in a transaction or not, were told too and closed
        for c in (idle, in_txn):
            with pytest.raises(psycopg.OperationalError) as info:
                c.execute("select 1")
            assert "terminating connection due to administrator command" in str(info.value)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(srv.dsn(), connect_timeout=5)
        assert srv.proc.stdout is not None
        log = srv.log_text()
        assert "Traceback" not in log and "ERROR" not in log
    finally:
        srv.kill9()
        for c in (busy, idle, in_txn):
            c.close()
