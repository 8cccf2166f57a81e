"""One settings object, fed by (lowest to highest precedence) defaults, an
optional TOML file, AIONDB_* environment variables and command-line flags.

A bad value anywhere raises ConfigError with a one-line message; the CLI
prints it and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any


class ConfigError(Exception):
    """A setting has a bad value; the message names the setting and source."""


def _parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean (true/false), got {text!r}")


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1024, "k": 1024, "mb": 1024**2, "m": 1024**2,
               "gb": 1024**3, "g": 1024**3}
_TIME_UNITS = {"": 1.0, "s": 1.0, "ms": 0.001, "min": 60.0, "m": 60.0, "h": 3600.0}


def _parse_size(text: str) -> int:
    t = text.strip().lower().replace(" ", "")
    num = t.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = t[len(num):]
    number = _number(num) if unit in _SIZE_UNITS else None
    if number is None or not math.isfinite(number * _SIZE_UNITS[unit]):
        raise ValueError(f"expected a size such as 64MB, got {text!r}")
    value = int(number * _SIZE_UNITS[unit])
    if value <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return value


def _parse_seconds(text: str) -> float:
    t = text.strip().lower().replace(" ", "")
    num = t.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = t[len(num):]
    number = _number(num) if unit in _TIME_UNITS else None
    if number is None or not math.isfinite(number):
        raise ValueError(f"expected a duration such as 30s or 5min, got {text!r}")
    value = number * _TIME_UNITS[unit]
    if value < 0:
        raise ValueError(f"duration must not be negative, got {text!r}")
    return value


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def _parse_port(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"port must be between 0 and 65535, got {value}")
    return value


def _parse_log_level(text: str) -> str:
    t = text.strip().upper()
    if t not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"expected one of debug, info, warning, error; got {text!r}")
    return t


def _parse_backend(text: str) -> str:
    t = text.strip().lower()
    if t not in ("memory", "durable"):
        raise ValueError(f"expected 'memory' or 'durable', got {text!r}")
    return t


def _parse_auth(text: str) -> str:
    t = text.strip().lower()
    if t not in ("trust", "scram-sha-256"):
        raise ValueError(f"expected 'trust' or 'scram-sha-256', got {text!r}")
    return t


def _choice(text: str, options: tuple[str, ...], name: str) -> str:
    t = text.strip().lower()
    if t not in options:
        raise ValueError(f"expected one of {', '.join(options)}; got {text!r}")
    return t


def _parse_positive_int(text: str) -> int:
    value = _integer(text)
    if value <= 0:
        raise ValueError(f"expected a positive integer, got {value}")
    return value


def _parse_sync_commit(text: str) -> bool:
    return _parse_bool(text)


@dataclass
class Settings:
    """Server settings. Field metadata names the parser and the help text."""

    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on"})
    port: int = field(default=5432, metadata={"parse": _parse_port,
                      "help": "TCP port; 0 picks a free port and prints it"})
    data_dir: str | None = field(default=None, metadata={
        "help": "data directory for durable storage (created if missing)"})
    ephemeral: bool = field(default=False, metadata={
        "parse": _parse_bool, "help": "keep everything in memory and write nothing to disk"})
    storage_backend: str | None = field(default=None, metadata={
        "parse": _parse_backend,
        "help": "'memory' or 'durable' (durable is the default when --data-dir is given)"})
    log_level: str = field(default="INFO", metadata={
        "parse": _parse_log_level, "help": "debug, info, warning or error"})
    user: str = field(default="aion", metadata={"help": "bootstrap superuser name"})
    password: str | None = field(default=None, metadata={
        "help": "bootstrap user's password; when set, clients authenticate with SCRAM-SHA-256"})
    auth_method: str | None = field(default=None, metadata={
        "parse": _parse_auth,
        "help": "'trust' or 'scram-sha-256' (default: scram when a password is set)"})
    max_message_size: int = field(default=64 * 1024 * 1024, metadata={
        "parse": _parse_size, "help": "largest protocol message accepted, e.g. 64MB"})
    max_connections: int = field(default=200, metadata={
        "parse": _parse_positive_int, "help": "most concurrent client sessions"})
    master_key: str | None = field(default=None, metadata={
        "help": "master key (64 hex chars or base64 of 32 bytes) wrapping tenant keys"})
    master_key_file: str | None = field(default=None, metadata={
        "help": "file holding the master key"})
    allow_unencrypted_storage: bool = field(default=False, metadata={
        "parse": _parse_bool, "help": "permit a durable data directory without encryption"})
    checkpoint_interval: float = field(default=300.0, metadata={
        "parse": _parse_seconds, "help": "seconds between automatic checkpoints (0: never)"})
    max_wal_size: int = field(default=256 * 1024**2, metadata={
        "parse": _parse_size, "help": "WAL volume that triggers a checkpoint, e.g. 1GB"})
    wal_segment_size: int = field(default=16 * 1024 * 1024, metadata={
        "parse": _parse_size, "help": "size of each pre-allocated WAL segment file"})
    wal_flush: str = field(default="process", metadata={
        "parse": lambda v: _choice(v, ("process", "inline", "thread"), "wal_flush"),
        "help": "'process': fdatasync in a helper process, so statements keep running "
                "during a flush; 'inline': fdatasync in the event loop; 'thread': in a "
                "flusher thread"})
    synchronous_commit: bool = field(default=True, metadata={
        "parse": _parse_sync_commit,
        "help": "default for the session setting: wait for fsync before COMMIT returns"})
    config_file: str | None = field(default=None, metadata={
        "help": "TOML file with any of these settings"})

    # --- derived -----------------------------------------------------------
    @property
    def backend(self) -> str:
        """Effective storage backend after applying the defaults."""
        if self.ephemeral:
            return "memory"
        if self.storage_backend:
            return self.storage_backend
        return "durable" if self.data_dir else "memory"

    @property
    def effective_auth(self) -> str:
        if self.auth_method:
            return self.auth_method
        return "scram-sha-256" if self.password else "trust"

    def validate(self) -> None:
        if self.ephemeral and self.storage_backend == "durable":
            raise ConfigError("--ephemeral cannot be combined with --storage-backend durable")
        if self.backend == "durable" and not self.data_dir:
            raise ConfigError("--storage-backend durable needs --data-dir")
        if self.effective_auth == "scram-sha-256" and not self.password:
            raise ConfigError("auth_method scram-sha-256 needs a password (AIONDB_PASSWORD)")
        if self.max_message_size < 1024:
            raise ConfigError("max_message_size must be at least 1kB")


FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(Settings)}


def default_text(name: str) -> str | None:
    """A setting's default as a user would write it (64MB, 300s), or None."""
    f = FIELDS[name]
    value, parser = f.default, f.metadata.get("parse")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    if parser is _parse_size:
        for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
            if value % size == 0:
                return f"{value // size}{unit}"
    if parser is _parse_seconds:
        return f"{value:g}s"
    return str(value)


def _convert(name: str, value: Any, source: str) -> Any:
    f = FIELDS[name]
    parser = f.metadata.get("parse")
    try:
        if isinstance(value, str):
            return parser(value) if parser else value
        if isinstance(value, bool) and parser in (_parse_bool, _parse_sync_commit):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and parser:
            return parser(str(value))
        if value is None:
            return None
        raise ValueError(f"unexpected value {value!r}")
    except ValueError as exc:
        raise ConfigError(f"invalid value for {name} ({source}): {exc}") from None


def load_settings(flags: dict[str, Any], environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from flags (already-parsed CLI values; None = not given),
    the environment and the TOML file named by either."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    config_file = flags.get("config_file") or env.get("AIONDB_CONFIG_FILE") or env.get(
        "AIONDB_CONFIG")
    if config_file:
        try:
            with open(config_file, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in FIELDS or name == "config_file":
                raise ConfigError(f"unknown setting {key!r} in config file {config_file}")
            values[name] = _convert(name, value, f"config file {config_file}")
        values["config_file"] = config_file

    for name in FIELDS:
        env_name = "AIONDB_" + name.upper()
        if env_name in env and name != "config_file":
            values[name] = _convert(name, env[env_name], f"environment {env_name}")

    for name, value in flags.items():
        if value is None or name not in FIELDS:
            continue
        values[name] = _convert(name, value, "--" + name.replace("_", "-"))

    settings = Settings(**values)
    settings.validate()
    return settings
