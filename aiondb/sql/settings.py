"""Session settings (GUCs): names, defaults, validation, and which ones are
reported to the client in ParameterStatus messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiondb import errors

SERVER_VERSION = "15.0 (AionDB 0.1.0)"
SERVER_VERSION_NUM = "150000"


def _bool(name: str, v: str) -> str:
    low = v.strip().lower()
    if low in ("on", "true", "yes", "1", "t", "y"):
        return "on"
    if low in ("off", "false", "no", "0", "f", "n"):
        return "off"
    raise errors.InvalidParameterValue(f'parameter "{name}" requires a Boolean value')


def _sync_commit(name: str, v: str) -> str:
    """PostgreSQL's values; with no standbys every one but off waits for the
    local flush, as there."""
    low = v.strip().lower()
    if low in ("local", "remote_write", "remote_apply"):
        return low
    try:
        return _bool(name, low)
    except errors.InvalidParameterValue:
        raise errors.InvalidParameterValue(
            f'invalid value for parameter "{name}": "{v}"',
            hint="Available values: local, remote_write, remote_apply, on, off.") from None


def _tablespace(name: str, v: str) -> str:
    """Tablespaces do not exist here beyond PostgreSQL's default one."""
    names = [n.strip().strip('"') for n in v.split(",")] if v.strip() else []
    for n in names:
        if n not in ("pg_default", ""):
            raise errors.InvalidParameterValue(f'invalid value for parameter "{name}": "{v}"',
                                               detail=f'Tablespace "{n}" does not exist.')
    return v.strip()


def _access_method(name: str, v: str) -> str:
    if v.strip() != "heap":
        raise errors.InvalidParameterValue(f'invalid value for parameter "{name}": "{v}"',
                                           detail=f'Table access method "{v}" does not exist.')
    return "heap"


def _toast_compression(name: str, v: str) -> str:
    low = v.strip().lower()
    if low not in ("pglz", "lz4"):
        raise errors.InvalidParameterValue(f'invalid value for parameter "{name}": "{v}"',
                                           hint="Available values: pglz, lz4.")
    return low


def _int(name: str, v: str) -> str:
    try:
        return str(int(v.strip()))
    except ValueError:
        raise errors.InvalidParameterValue(
            f'invalid value for parameter "{name}": "{v}"') from None


def _duration_ms(name: str, v: str) -> str:
    s = v.strip().lower().replace(" ", "")
    units = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000, "": 1, "us": 0.001}
    num = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(num):]
    if unit not in units or not num:
        raise errors.InvalidParameterValue(f'invalid value for parameter "{name}": "{v}"')
    try:
        ms = float(num) * units[unit]
    except ValueError:
        raise errors.InvalidParameterValue(
            f'invalid value for parameter "{name}": "{v}"') from None
    if ms < 0:
        raise errors.InvalidParameterValue(
            f"{int(ms)} ms is outside the valid range for parameter \"{name}\"")
    return str(int(ms))


def _encoding(name: str, v: str) -> str:
    low = v.strip().lower().replace("-", "").replace("_", "")
    if low in ("utf8", "unicode", "auto", "sqlascii"):
        return "UTF8"
    raise errors.FeatureNotSupported(
        f'conversion between UTF8 and {v} is not supported (only UTF8 is)')


def _datestyle(name: str, v: str) -> str:
    parts = [p.strip().upper() for p in v.split(",")]
    if "ISO" not in parts and any(p in ("SQL", "POSTGRES", "GERMAN") for p in parts):
        raise errors.FeatureNotSupported("only DateStyle ISO output is supported")
    order = "MDY"
    for p in parts:
        if p in ("DMY", "EURO", "EUROPEAN"):
            order = "DMY"
        elif p in ("YMD",):
            order = "YMD"
    return f"ISO, {order}"


def _intervalstyle(name: str, v: str) -> str:
    if v.strip().lower() != "postgres":
        raise errors.FeatureNotSupported("only IntervalStyle postgres is supported")
    return "postgres"


def _isolation(name: str, v: str) -> str:
    low = " ".join(v.strip().lower().replace("-", " ").split())
    if low not in ("read committed", "repeatable read", "serializable", "read uncommitted"):
        raise errors.InvalidParameterValue(f'invalid value for parameter "{name}": "{v}"')
    return low


def _timezone(name: str, v: str) -> str:
    from aiondb.sql.textio import get_timezone, numeric_zone
    v = numeric_zone(v) or v      # SET TIME ZONE -7: ISO hours, shown '<-07>+07'
    get_timezone(v)
    return v


def _text(name: str, v: str) -> str:
    return v


def _search_path(name: str, v: str) -> str:
    return v


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    check: Callable[[str, str], str] = _text
    reported: bool = False
    settable: bool = True
    display: str | None = None   # canonical spelling for SHOW and ParameterStatus


_SETTINGS = [
    Setting("server_version", SERVER_VERSION, reported=True, settable=False),
    Setting("server_version_num", SERVER_VERSION_NUM, settable=False),
    Setting("server_encoding", "UTF8", reported=True, settable=False),
    Setting("client_encoding", "UTF8", _encoding, reported=True),
    Setting("datestyle", "ISO, MDY", _datestyle, reported=True, display="DateStyle"),
    Setting("intervalstyle", "postgres", _intervalstyle, reported=True,
            display="IntervalStyle"),
    Setting("timezone", "UTC", _timezone, reported=True, display="TimeZone"),
    Setting("integer_datetimes", "on", reported=True, settable=False),
    Setting("standard_conforming_strings", "on", _bool, reported=True),
    Setting("application_name", "", reported=True),
    Setting("is_superuser", "on", reported=True, settable=False),
    Setting("session_authorization", "", reported=True, settable=False),
    Setting("default_transaction_read_only", "off", _bool, reported=True),
    Setting("in_hot_standby", "off", reported=True, settable=False),
    Setting("search_path", '"$user", public', _search_path),
    Setting("default_transaction_isolation", "read committed", _isolation),
    Setting("transaction_isolation", "read committed", _isolation),
    Setting("transaction_read_only", "off", _bool),
    Setting("statement_timeout", "0", _duration_ms),
    Setting("lock_timeout", "0", _duration_ms),
    Setting("idle_in_transaction_session_timeout", "0", _duration_ms),
    Setting("extra_float_digits", "1", _int),
    Setting("synchronous_commit", "on", _sync_commit),
    Setting("bytea_output", "hex"),
    Setting("client_min_messages", "notice"),
    Setting("max_connections", "200", settable=False),
    Setting("work_mem", "4MB"),
    Setting("maintenance_work_mem", "64MB"),
    Setting("max_parallel_workers_per_gather", "0"),
    Setting("row_security", "on", _bool),
    Setting("lc_messages", "C"),
    Setting("lc_monetary", "C"),
    Setting("lc_numeric", "C"),
    Setting("lc_time", "C"),
    Setting("lc_collate", "C", settable=False),
    Setting("lc_ctype", "C", settable=False),
    Setting("default_text_search_config", "pg_catalog.simple"),
    Setting("enable_seqscan", "on", _bool),
    Setting("enable_indexscan", "on", _bool),
    Setting("enable_hashjoin", "on", _bool),
    # planner switches PostgreSQL users set; accepted, and ignored by AionDB's planner
    Setting("enable_bitmapscan", "on", _bool),
    Setting("enable_indexonlyscan", "on", _bool),
    Setting("enable_mergejoin", "on", _bool),
    Setting("enable_nestloop", "on", _bool),
    Setting("enable_sort", "on", _bool),
    Setting("enable_hashagg", "on", _bool),
    Setting("enable_material", "on", _bool),
    Setting("enable_tidscan", "on", _bool),
    Setting("enable_memoize", "on", _bool),
    Setting("random_page_cost", "4"),
    Setting("seq_page_cost", "1"),
    Setting("effective_cache_size", "4GB"),
    Setting("jit", "off", _bool),
    Setting("check_function_bodies", "on", _bool),
    Setting("xmloption", "content"),
    Setting("escape_string_warning", "on", _bool),
    Setting("block_size", "8192", settable=False),
    Setting("max_identifier_length", "63", settable=False),
    Setting("data_checksums", "on", settable=False),
    Setting("wal_level", "replica", settable=False),
    Setting("fsync", "on", settable=False),
    Setting("geqo", "on", _bool),
    # pg_dump turns it off; every scan here starts at the table's beginning anyway
    Setting("synchronize_seqscans", "on", _bool),
    Setting("cursor_tuple_fraction", "0.1"),
    Setting("default_with_oids", "off", _bool),
    # what pg_dump's scripts set first: accepted for the values that exist here
    Setting("default_tablespace", "", _tablespace),
    Setting("temp_tablespaces", "", _tablespace),
    Setting("default_table_access_method", "heap", _access_method),
    Setting("default_toast_compression", "pglz", _toast_compression),
]

SETTINGS: dict[str, Setting] = {s.name: s for s in _SETTINGS}
REPORTED = [s for s in _SETTINGS if s.reported]


def lookup(name: str) -> Setting | None:
    return SETTINGS.get(name.lower())


def check_value(name: str, value: str) -> tuple[Setting | None, str]:
    """Validate `SET name = value`; unknown dotted names are custom settings."""
    s = lookup(name)
    if s is None:
        if "." in name:
            return None, value
        raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
    if not s.settable:
        raise errors.CantChangeRuntimeParam(f'parameter "{s.display or s.name}" cannot be '
                                            "changed")
    return s, s.check(s.name, value)
