"""A session's settings: SET / SET LOCAL / RESET and SHOW, the transaction
isolation and read-only settings, search_path, and the parameters reported
to the client (ParameterStatus). Session (session.py) inherits it; the
values are undone at transaction end by Session._end_txn_settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from aiondb import errors
from aiondb.sql import settings as S
from aiondb.sql.textio import get_timezone


class SettingsMixin:
    """Session methods for its settings; the attributes are Session's."""

    engine: Any
    txn: Any
    user: str
    in_block: bool
    values: dict[str, str]
    tz: dt.tzinfo
    block_isolation: str | None
    block_read_only: bool | None
    changed_reported: list[tuple[str, str]]
    _txn_settings_undo: list[tuple[str, str]]
    _local_settings: list[tuple[str, str]]

    notice: Callable[..., None]     # Session's

    # --- settings -----------------------------------------------------------------------------------
    def reported_parameters(self) -> list[tuple[str, str]]:
        return [(s.display or s.name, self.values[s.name]) for s in S.REPORTED]

    def take_reported_changes(self) -> list[tuple[str, str]]:
        out = self.changed_reported
        self.changed_reported = []
        return out

    def set_value(self, name: str, value: str | None, local: bool = False) -> None:
        if value is None:
            s = S.lookup(name)
            value = s.default if s is not None else ""
            if s is not None and s.name == "synchronous_commit":
                value = "on" if getattr(self.engine.config, "synchronous_commit", True) else "off"
        s, checked = S.check_value(name, value)
        key = s.name if s is not None else name.lower()
        old = self.values.get(key, "")
        if key == "transaction_isolation":
            self._set_txn_isolation(checked)
            return
        if key == "transaction_read_only":
            if self.txn is not None:
                self.txn.read_only = checked == "on"
            self.block_read_only = checked == "on"
            return
        if self.in_block:
            (self._local_settings if local else self._txn_settings_undo).append((key, old))
        elif local:
            self.notice("SET LOCAL can only be used in transaction blocks", "WARNING")
            return
        self._apply_value(key, checked)
        if key == "synchronous_commit" and checked == "off" and old != "off" and \
                getattr(self.engine.config, "backend", "memory") == "durable":
            self.notice("synchronous_commit is off: COMMIT returns before its WAL record is "
                        "flushed, so a crash can lose the last few milliseconds of commits "
                        "(never part of a transaction)")

    def _apply_value(self, key: str, value: str) -> None:
        self.values[key] = value
        if key == "timezone":
            self.tz = get_timezone(value)
        s = S.lookup(key)
        if s is not None and s.reported:
            self.changed_reported.append((s.display or s.name, value))

    def _set_txn_isolation(self, level: str) -> None:
        if self.txn is not None and (self.txn.snapshot is not None or self.txn.queried):
            raise errors.ActiveSqlTransaction(
                "SET TRANSACTION ISOLATION LEVEL must be called before any query")
        if self.txn is not None and self.txn.savepoints:
            raise errors.ActiveSqlTransaction(
                "SET TRANSACTION ISOLATION LEVEL must not be called in a subtransaction")
        if self.txn is not None:
            from aiondb.storage.txn import READ_COMMITTED
            self.txn.isolation = READ_COMMITTED if level == "read uncommitted" else level
        self.block_isolation = level

    def show(self, name: str) -> tuple[str, str]:
        low = name.lower()
        if low == "transaction_isolation":
            iso = self.txn.isolation if self.txn is not None else (
                self.block_isolation or self.values["default_transaction_isolation"])
            return "transaction_isolation", iso
        if low == "transaction_read_only":
            ro = self.txn.read_only if self.txn is not None else self.values[
                "default_transaction_read_only"] == "on"
            return "transaction_read_only", "on" if ro else "off"
        s = S.lookup(low)
        if s is None:
            if low in self.values:
                return low, self.values[low]
            raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
        return s.display or s.name, self.values[s.name]   # PostgreSQL's column name

    def search_path(self) -> list[str]:
        out = []
        for part in self.values["search_path"].split(","):
            p = part.strip()
            if p.startswith('"') and p.endswith('"'):
                p = p[1:-1]
            else:
                p = p.lower()
            if p == "$user":
                p = self.user
            if p:
                out.append(p)
        return out
