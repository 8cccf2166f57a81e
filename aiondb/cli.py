"""The `aiondb` command: serve (default), doctor, upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any, NoReturn

from aiondb import __version__
from aiondb.config import FIELDS, ConfigError, Settings, default_text, load_settings
from aiondb.errors import DatabaseError

SUBCOMMANDS = ("serve", "doctor", "upgrade")

_FLAG_HELP_ORDER = ("ephemeral", "data_dir", "storage_backend", "host", "port", "log_level",
                    "user", "password", "auth_method", "config_file", "master_key_file",
                    "allow_unencrypted_storage", "checkpoint_interval", "max_wal_size",
                    "wal_segment_size", "wal_flush", "synchronous_commit", "max_connections",
                    "max_message_size")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"aiondb: error: {message} (see aiondb --help)\n")


def _add_setting_flags(p: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    for name in names:
        f = FIELDS[name]
        flag = "--config" if name == "config_file" else "--" + name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        default = default_text(name)
        if default is not None and name != "password":
            help_text += f" (default: {default})"
        if f.type in ("bool", bool):
            # a bare flag turns it on; `--flag off` turns it off
            p.add_argument(flag, dest=name, nargs="?", const="true", default=None,
                           metavar="on|off", help=help_text)
        else:
            p.add_argument(flag, dest=name, default=None, metavar=name.upper(),
                           help=help_text)


_EPILOG = ("Every setting can also come from an AIONDB_<NAME> environment variable (e.g. "
           "AIONDB_PORT, AIONDB_PASSWORD, AIONDB_MASTER_KEY) or a TOML file (--config); "
           "flags win over the environment, which wins over the file.")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="aiondb",
        description="AionDB: a multi-model database server speaking the PostgreSQL wire "
                    "protocol. Without a subcommand, runs the server.",
        epilog=_EPILOG)
    p.add_argument("--version", action="version", version=f"aiondb {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{serve,doctor,upgrade}")
    serve = sub.add_parser(
        "serve", help="run the server (default)",
        usage="aiondb [serve] [options]",
        description="Run the AionDB server (the default command). Other commands: "
                    "aiondb doctor, aiondb upgrade (see aiondb doctor --help).",
        epilog=_EPILOG)
    _add_setting_flags(serve, _FLAG_HELP_ORDER)
    for name, helptext in (("doctor", "check a data directory (manifest, keys, checkpoints, "
                                      "WAL) and report whether an upgrade is possible"),
                           ("upgrade", "upgrade a data directory's storage format in place")):
        sp = sub.add_parser(name, help=helptext)
        _add_setting_flags(sp, ("data_dir", "master_key_file", "allow_unencrypted_storage",
                                "config_file", "log_level"))
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    # serve is the default command, so its flags are what `aiondb --help` explains
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] != "--version"):
        argv = ["serve"] + argv
    return parser.parse_args(argv)


def _settings(ns: argparse.Namespace) -> Settings:
    flags = {k: v for k, v in vars(ns).items() if k in FIELDS}
    return load_settings(flags)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _banner(settings: Settings, server: Any) -> None:
    desc = server.registry.description
    print(f"AionDB {__version__}: {desc}", flush=True)
    if settings.backend == "durable" and not settings.synchronous_commit:
        print("synchronous_commit is off by default: COMMIT returns before its WAL record "
              "is flushed, so a crash can lose the last few milliseconds of commits "
              "(never part of a transaction)", flush=True)
    print(f"listening on {settings.host}:{server.port}", flush=True)
    print(f"connect with: psql -h {settings.host} -p {server.port} -U {settings.user} "
          f"-d postgres", flush=True)


def serve(settings: Settings) -> int:
    from aiondb.server import run_server
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(run_server(settings, lambda srv: _banner(settings, srv)))
    except OSError as exc:
        print(f"aiondb: error: cannot listen on {settings.host}:{settings.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"aiondb: error: {exc}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
        # e.g. a wrong master key or a data directory in another format: the
        # message names what is wrong; no traceback
        print(f"aiondb: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ns = parse_args(args)
    try:
        settings = _settings(ns)
    except ConfigError as exc:
        print(f"aiondb: error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    command = ns.command or "serve"
    if command == "serve":
        return serve(settings)
    if not settings.data_dir:
        print(f"aiondb: error: {command} needs --data-dir", file=sys.stderr)
        return 2
    if command == "doctor":
        from aiondb.recovery import doctor
        return int(doctor.run_doctor(settings))  # type: ignore[attr-defined]
    from aiondb.recovery import doctor as d
    return int(d.run_upgrade(settings))  # type: ignore[attr-defined]
