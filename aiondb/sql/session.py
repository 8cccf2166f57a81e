"""A client session: settings, transaction state and statement execution.
The extended protocol's side (prepared statements, portals, the fast lane)
is in session_extended.py, name resolution for the binder in
session_names.py, SET/SHOW and the reported parameters in
session_settings.py; Session inherits all three. The server (top layer)
drives it; this module never touches sockets.

Transactions follow PostgreSQL: statements outside BEGIN run in an implicit
transaction that ends with the simple Query message (or at Sync in the
extended protocol); an error inside BEGIN ... leaves the transaction failed
(25P02) until ROLLBACK.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import deferred, errpos, temp_tables
from aiondb.sql import settings as S
from aiondb.sql import statements as st
from aiondb.sql.bind_dml import StatementBinder
from aiondb.sql.exec_base import ExecContext
from aiondb.sql.executor import build
from aiondb.sql.normalize import normalize
from aiondb.sql.plan import Plan
from aiondb.sql.planner import optimize
from aiondb.sql.prepared import Cursor, PlanEntry, Portal, PreparedStatement
from aiondb.sql.results import Result, collect
from aiondb.sql.session_extended import DML, QUERY, ExtendedProtocolMixin
from aiondb.sql.session_names import NameResolutionMixin
from aiondb.sql.session_settings import SettingsMixin
from aiondb.sql.textio import UTC, get_timezone, parse_text
from aiondb.storage.catalog import Catalog
from aiondb.storage.database import Database
from aiondb.storage.txn import LockWait, Transaction

log = logging.getLogger("aiondb.session")

_REG_OIDS = frozenset((T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid, T.REGNAMESPACE.oid,
                       T.REGROLE.oid))


class SleepRequest(Exception):
    """pg_sleep: the session awaits, then re-runs the statement (see fn_system)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class Engine:
    """State shared by all sessions of one server."""

    def __init__(self, registry: Any, config: Any) -> None:
        self.registry = registry
        self.config = config
        self.statements = st.StatementCache()
        self.started_at = dt.datetime.now(UTC)
        self.sessions: dict[int, Session] = {}

    def parse(self, sql: str, normalize_literals: bool = False) -> list[st.Statement]:
        return self.statements.parse(sql, normalize_literals)


class Session(NameResolutionMixin, ExtendedProtocolMixin, SettingsMixin):
    def __init__(self, engine: Engine, db: Database, user: str, startup: dict[str, str],
                 pid: int) -> None:
        self.engine = engine
        self.db = db
        self.user = user
        self.pid = pid
        self.values: dict[str, str] = {s.name: s.default for s in S.SETTINGS.values()}
        self.values["session_authorization"] = user
        self.values["synchronous_commit"] = "on" if getattr(engine.config, "synchronous_commit",
                                                            True) else "off"
        self._txn_settings_undo: list[tuple[str, str]] = []
        self._local_settings: list[tuple[str, str]] = []
        self.changed_reported: list[tuple[str, str]] = []
        for key, value in startup.items():
            if key in ("options", "replication"):
                continue
            try:
                s, v = S.check_value(key, value)
                self.values[s.name if s else key.lower()] = v
            except errors.DatabaseError as exc:
                log.debug("ignoring startup parameter %s=%r: %s", key, value, exc.message)
        self.tz = get_timezone(self.values["timezone"])
        self.txn: Transaction | None = None
        self.in_block = False
        self.failed = False
        self.implicit_txn = False
        self.block_isolation: str | None = None
        self.block_read_only: bool | None = None
        self.prepared: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self.cursors: dict[str, Cursor] = {}
        self.notices: list[tuple[str, str, str | None, str | None]] = []
        self.txn_started_at: dt.datetime | None = None
        self._stmt_t = time.time()      # when the statement started (see stmt_started_at)
        self._stmt_dt: dt.datetime | None = None
        self._rules: dict[tuple[int, int], Any] = {}
        self._waiting: asyncio.Future | None = None
        self.cancel_requested = False
        # pg_terminate_backend: the connection's callback that ends the session
        self.terminator: Callable[[], None] | None = None
        self.terminate_requested = False
        self.running = False    # the connection is handling this session's messages
        self.current_query = ""  # pg_stat_activity.query: the last query text started
        self.sleeps_done = 0
        self.started = False        # the running statement got past planning
        self.temp_on_commit: dict[int, str] = {}    # temp table oid → 'delete' | 'drop'
        # an express INSERT's commit, begun at Execute, for the Sync to hand over
        self.express_commit: Any = None
        self.deferred: Any = None     # deferred.DeferredState of the transaction, if any
        self.last_sequence_value: int | None = None
        self.sequence_values: dict[int, int] = {}
        self._views: dict[tuple[int, int], Plan] = {}
        self.plan_cache: dict[tuple, PlanEntry] = {}

    # --- status -----------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        if self.failed:
            return "E"
        if self.in_block:
            return "T"
        return "I"

    def take_notices(self) -> list[tuple[str, str, str | None, str | None]]:
        out = self.notices
        self.notices = []
        return out

    def notice(self, message: str, severity: str = "NOTICE", code: str | None = None,
               detail: str | None = None) -> None:
        """code: the SQLSTATE PostgreSQL gives this notice (e.g. 25P01 for "there
        is no transaction in progress"); None means 00000, or 01000 for a WARNING."""
        self.notices.append((severity, message, code, detail))

    @property
    def stmt_started_at(self) -> dt.datetime:
        """statement_timestamp(): the datetime is made on first use (most
        statements never ask; the fast lane only notes the time)."""
        v = self._stmt_dt
        if v is None:
            v = self._stmt_dt = dt.datetime.fromtimestamp(self._stmt_t, UTC)
        return v

    @stmt_started_at.setter
    def stmt_started_at(self, value: dt.datetime) -> None:
        self._stmt_dt = value       # (_stmt_t only matters while this is None)

    def statement_time(self) -> dt.datetime:
        return self.stmt_started_at

    def const_context(self) -> ExecContext:
        now = self.stmt_started_at
        ctx = ExecContext(None, self, [], self.db.catalog, self.tz, now, now)
        return ctx

    # --- transactions ------------------------------------------------------------------------------
    def _ensure_txn(self) -> Transaction:
        if self.txn is None:
            iso = self.block_isolation or self.values["default_transaction_isolation"]
            ro = self.block_read_only if self.block_read_only is not None else \
                self.values["default_transaction_read_only"] == "on"
            self.txn = self.db.begin(iso, ro)
            self.txn.synchronous_commit = self.values.get("synchronous_commit") != "off"
            # PostgreSQL: a transaction starts when its first statement does
            self.txn_started_at = self.stmt_started_at
            if not self.in_block:
                self.implicit_txn = True
        return self.txn

    async def _commit(self) -> None:
        if self.deferred is not None:
            try:
                deferred.before_commit(self)
            except BaseException:
                self._rollback()
                raise
            self.deferred = None
        if self.temp_on_commit and self.txn is not None:
            try:
                temp_tables.before_commit(self, self.txn)
            except BaseException:
                self._rollback()
                raise
        txn = self._detach_for_commit()
        if txn is not None:
            await txn.commit()

    def _detach_for_commit(self) -> Transaction | None:
        txn = self.txn
        self.txn = None
        self.implicit_txn = False
        self._end_txn_settings(commit=True)
        if txn is not None:
            txn.synchronous_commit = self.values.get("synchronous_commit") != "off"
        return txn

    def _rollback(self) -> None:
        txn = self.txn
        self.txn = None
        self.deferred = None
        self.implicit_txn = False
        self._end_txn_settings(commit=False)
        if txn is not None:
            txn.rollback()
        if self.temp_on_commit:
            temp_tables.after_rollback(self, txn)

    def _end_txn_settings(self, commit: bool) -> None:
        if not (self._local_settings or self._txn_settings_undo or self.cursors or
                self.portals or self.block_isolation or self.block_read_only is not None):
            return      # the common case: an implicit transaction that set nothing
        for key, old in reversed(self._local_settings):
            self._apply_value(key, old)
        self._local_settings.clear()
        if not commit:
            for key, old in reversed(self._txn_settings_undo):
                self._apply_value(key, old)
        self._txn_settings_undo.clear()
        self.block_isolation = None
        self.block_read_only = None
        for name in [n for n, c in self.cursors.items() if not c.hold]:
            del self.cursors[name]
        if self.portals:  # portals end with their transaction, as in PostgreSQL
            self.portals = {}

    async def finish_implicit(self) -> None:
        """End of a simple Query or Sync: commit the implicit transaction."""
        if self.in_block:
            return
        if self.failed:
            self.failed = False
            self._rollback()
            return
        if self.txn is not None:
            try:
                await self._commit()
            except errors.DatabaseError:
                self.failed = False
                raise

    def on_error(self) -> None:
        """A statement failed: a block becomes failed; an implicit one ends."""
        if self.in_block:
            self.failed = True
        else:
            self._rollback()

    async def terminate(self) -> None:
        self._rollback()
        self.in_block = False
        self.failed = False
        await temp_tables.cleanup(self)

    # --- cancellation ---------------------------------------------------------------------------------
    def cancel(self) -> None:
        """CancelRequest: interrupt a wait (sleep, lock) of the running statement."""
        self.cancel_requested = True
        fut = self._waiting
        if fut is not None and not fut.done():
            fut.cancel()

    async def _interruptible(self, awaitable: Any, timeout_ms: int) -> None:
        loop = asyncio.get_running_loop()
        fut = asyncio.ensure_future(awaitable) if not isinstance(awaitable, asyncio.Future) \
            else awaitable
        self._waiting = fut
        timer = None
        timed_out = []
        if timeout_ms > 0:
            def expire() -> None:
                timed_out.append(True)
                fut.cancel()
            timer = loop.call_later(timeout_ms / 1000, expire)
        try:
            if self.cancel_requested:
                fut.cancel()
            await fut
        except asyncio.CancelledError:
            if timed_out:
                raise errors.QueryCanceled("canceling statement due to statement timeout"
                                           ) from None
            raise errors.QueryCanceled("canceling statement due to user request") from None
        finally:
            self._waiting = None
            if timer is not None:
                timer.cancel()

    # --- executing statements ---------------------------------------------------------------------------
    def parse(self, sql: str, normalize_literals: bool = False) -> list[st.Statement]:
        return self.engine.parse(sql, normalize_literals)

    def _check_not_failed(self, stmt: st.Statement) -> None:
        if not self.failed:
            return
        u = stmt.utility
        if isinstance(u, (st.Rollback, st.RollbackTo, st.Commit)):
            return
        raise errors.InFailedSqlTransaction(
            "current transaction is aborted, commands ignored until end of transaction block")

    async def execute(self, stmt: st.Statement, params: list[Any] | None = None,
                      prepared: PreparedStatement | None = None, stream: int = 0) -> Result:
        """Run one statement (simple or extended protocol). stream > 0 (the
        server's own calls): a query result may stream (see _collect).
        self.started tells the server whether an error came from running the
        statement (PostgreSQL's portal existed) or before (parse analysis)."""
        self.cancel_requested = False
        self.started = False
        self.stmt_started_at = dt.datetime.now(UTC)
        self._check_not_failed(stmt)
        if stmt.utility is not None:
            from aiondb.sql.utility import run_utility
            self.started = True
            return await run_utility(self, stmt.utility, stmt)
        ast = stmt.ast
        if isinstance(ast, QUERY) or isinstance(ast, DML):
            entry = prepared.entry if prepared is not None else None
            if stmt.params is not None:
                entry = self.plan(stmt, None, None, stmt.param_types)
                self.started = True
                return await self.run_plan(entry, self._literal_params(stmt, entry), stream)
            entry = self.plan(stmt, entry, prepared)
            if len(entry.param_types) > len(params or ()):
                # e.g. "SELECT $1" as a simple query: no values were sent
                raise errors.UndefinedParameter(
                    f"there is no parameter ${len(params or ()) + 1}")
            self.started = True
            return await self.run_plan(entry, params or [], stream)
        from aiondb.sql import ddl
        self.started = True
        try:
            return await self.in_transaction(lambda txn: ddl.execute_ddl(self, txn, ast))
        except errors.DatabaseError as exc:  # CREATE VIEW / TABLE AS: an unknown name, a bad literal
            errpos.statement_position(exc, ast, stmt.offset, stmt.text)
            raise

    def plan(self, stmt: st.Statement, entry: PlanEntry | None,
             prepared: PreparedStatement | None = None,
             param_types: list[T.SqlType] | None = None) -> PlanEntry:
        catalog = self.current_catalog()
        if entry is not None and entry.catalog_version == catalog.version:
            return entry
        ptypes = list(param_types if param_types is not None else
                      (prepared.param_types if prepared is not None else []))
        key = (stmt.plan_key or id(stmt), catalog.version, self.db.oid,
               self.values["search_path"],
               self.values["timezone"], tuple(t.oid for t in ptypes))
        cached = self.plan_cache.get(key)
        if cached is not None:
            if prepared is not None:
                prepared.entry = cached
                prepared.param_types = cached.param_types
            return cached
        binder = StatementBinder(catalog, self, ptypes)
        ast = stmt.ast
        try:
            plan, kind, tag = _bind_statement(binder, ast)
        except errors.DatabaseError as exc:
            # an unknown name, or a literal that is no value of its type
            if not isinstance(exc, errpos.LOCATED) and getattr(exc, "ast_node", None) is None:
                raise
            if stmt.params is not None and getattr(exc, "ast_node", None) is not None:
                # a literal-normalized template: its offsets are not the text's,
                # so bind the statement as written to report the position
                self.plan(st._parse_one(stmt.text, stmt.offset), None, None, param_types)
            if stmt.params is None:
                errpos.statement_position(exc, ast, stmt.offset, stmt.text)
            raise
        plan = optimize(plan, catalog)
        for i, t in enumerate(binder.params):
            if t.oid == T.UNKNOWN.oid:
                binder.params[i] = T.TEXT
        op = build(plan)
        from aiondb.sql.plan import LockRows, walk_plan
        read_only = kind == "query" and not binder.volatile and not any(
            isinstance(n, LockRows) for n in walk_plan(plan))
        entry = PlanEntry(kind, plan, op, plan.columns, binder.params, tag, catalog.version,
                          binder.volatile, read_only)
        if len(self.plan_cache) > 512:
            self.plan_cache.clear()
        self.plan_cache[key] = entry
        if prepared is not None:
            prepared.entry = entry
            prepared.param_types = entry.param_types
        return entry

    def _literal_params(self, stmt: st.Statement, entry: PlanEntry) -> list[Any]:
        """Values of a normalized statement's literals, as the plan's types:
        string literals (unknown) take the type binding gave their parameter."""
        assert stmt.params is not None
        out = list(stmt.params)
        for i, (v, declared) in enumerate(zip(stmt.params, stmt.param_types or (),
                                              strict=False)):
            if declared.oid == T.UNKNOWN.oid and i < len(entry.param_types):
                t = entry.param_types[i]
                if t.oid not in (T.TEXT.oid, T.UNKNOWN.oid, T.NAME.oid) or t.typmod != -1:
                    try:
                        out[i] = self.text_to_value(t, v)
                    except errors.DatabaseError as exc:
                        # as PostgreSQL: a literal that is no value of its type
                        # is pointed at (LINE 1: ... ^)
                        if exc.position is None:
                            where: list[int] = []
                            normalize(stmt.text, where)
                            if i < len(where):
                                exc.position = stmt.error_position(where[i])
                        raise
        return out

    def text_to_value(self, t: T.SqlType, text: str) -> Any:
        """Text of a parameter → value: reg* names resolve against the catalog."""
        if t.oid in _REG_OIDS:
            return self.resolve_reg(t, text, None)
        return parse_text(t, text, self.tz, self.stmt_started_at)

    def current_catalog(self) -> Catalog:
        if self.txn is not None and self.txn.ddl:
            return self.txn.catalog
        return self.db.catalog

    def make_context(self, txn: Transaction | None, params: list[Any],
                     catalog: Catalog) -> ExecContext:
        now = self.txn_started_at or self.stmt_started_at
        ctx = ExecContext(txn, self, params, catalog, self.tz, self.stmt_started_at, now)
        ctx.rules_for = self.rules_for(catalog)
        return ctx

    async def in_transaction(self, fn: Callable[[Transaction], Any],
                             retry: bool = True) -> Any:
        """Run fn(txn) as one statement: rolled back to its start on error;
        on a lock conflict, wait for the holder and run it again."""
        txn = self._ensure_txn()
        self.sleeps_done = 0
        timeout = int(self.values.get("statement_timeout", "0") or 0)
        lock_timeout = int(self.values.get("lock_timeout", "0") or 0)
        started = time.monotonic()
        while True:
            mark = txn.mark()
            try:
                txn.begin_statement()
                return fn(txn)
            except LockWait as w:
                txn.rollback_to_mark(mark)
                if not retry:
                    raise errors.LockNotAvailable("could not obtain lock") from None
                remaining = 0
                if timeout:
                    remaining = max(1, timeout - int((time.monotonic() - started) * 1000))
                if lock_timeout and (not remaining or lock_timeout < remaining):
                    try:
                        await self._interruptible(txn.wait_for(w.holder), lock_timeout)
                    except errors.QueryCanceled:
                        if self.cancel_requested:
                            raise
                        raise errors.LockNotAvailable(
                            "canceling statement due to lock timeout") from None
                else:
                    await self._interruptible(txn.wait_for(w.holder), remaining)
            except SleepRequest as s:
                txn.rollback_to_mark(mark)
                remaining = 0
                if timeout:
                    remaining = max(1, timeout - int((time.monotonic() - started) * 1000))
                await self._interruptible(asyncio.sleep(max(s.seconds, 0)), remaining)
                self.sleeps_done += 1
            except BaseException:
                txn.rollback_to_mark(mark)
                raise

    async def run_plan(self, entry: PlanEntry, params: list[Any], stream: int = 0) -> Result:
        if entry.read_only and self.txn is None and not self.in_block:
            res = self._run_autocommit_read(entry, params, stream)
            if res is not None:
                return res
        catalog = self.current_catalog()
        return await self.in_transaction(
            lambda txn: self._execute_plan(txn, entry, params, catalog, stream))

    def _execute_plan(self, txn: Transaction, entry: PlanEntry, params: list[Any],
                      catalog: Catalog, stream: int = 0) -> Result:
        ctx = self.make_context(txn, params, catalog)
        if entry.kind == "query":
            if stream:
                return collect(entry, entry.op.rows(ctx), stream, txn)
            rows = list(entry.op.rows(ctx))
            return Result(f"SELECT {len(rows)}", entry.columns, rows)
        rows = list(entry.op.rows(ctx))
        count = ctx.cache.get("rowcount", 0)
        tag = f"INSERT 0 {count}" if entry.tag == "INSERT" else f"{entry.tag} {count}"
        return Result(tag, entry.columns if entry.columns else None, rows)

    def _run_now(self, entry: PlanEntry, params: list[Any], stream: int = 0) -> Result | None:
        """Run a planned statement in the current (or a new implicit)
        transaction without awaiting; None when it meets a lock or a sleep,
        after rolling the attempt back (the caller then takes the waiting path,
        which runs it again)."""
        if not self.in_block and self.txn is None:
            self.implicit_txn = True
        txn = self._ensure_txn()
        self.sleeps_done = 0
        mark = txn.mark()
        try:
            txn.begin_statement()
            return self._execute_plan(txn, entry, params, self.current_catalog(), stream)
        except (LockWait, SleepRequest):
            txn.rollback_to_mark(mark)
            return None
        except BaseException:
            txn.rollback_to_mark(mark)
            raise

    def _run_autocommit_read(self, entry: PlanEntry, params: list[Any],
                             stream: int = 0) -> Result | None:
        """A read-only statement outside a block: no Transaction to create,
        commit or release. None means: take the general path (a table lock
        to wait for, or the catalog changed)."""
        db = self.db
        catalog = db.catalog
        if catalog.version != entry.catalog_version:
            return None
        reader = db.reader
        reader.catalog = catalog
        now = self.stmt_started_at
        ctx = ExecContext(reader, self, params, catalog, self.tz, now, now)
        try:
            if stream:
                return collect(entry, entry.op.rows(ctx), stream, reader)
            rows = list(entry.op.rows(ctx))
        except LockWait:
            return None
        return Result(f"SELECT {len(rows)}", entry.columns, rows)


def _bind_statement(binder: StatementBinder, ast: exp.Expr) -> tuple[Plan, str, str]:
    """The bound plan of a DML statement or query, its kind and command tag."""
    from aiondb.sql.scope import Scope
    if isinstance(ast, exp.Insert):
        return binder.bind_insert(ast), "dml", "INSERT"
    if isinstance(ast, exp.Update):
        return binder.bind_update(ast), "dml", "UPDATE"
    if isinstance(ast, exp.Delete):
        return binder.bind_delete(ast), "dml", "DELETE"
    return binder.bind_query_node(ast, Scope()), "query", "SELECT"


