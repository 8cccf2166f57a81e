"""A client session: settings, transaction state, prepared statements and
portals, and statement execution. The server (top layer) drives it; this
module never touches sockets.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import deferred, errpos, temp_tables
from aiondb.sql import plan as P
from aiondb.sql import settings as S
from aiondb.sql import statements as st
from aiondb.sql.bind_dml import StatementBinder
from aiondb.sql.executor import ExecContext, Operator, build
from aiondb.sql.express import plan_express_insert, run_express_insert
from aiondb.sql.plan import OutCol, Plan
from aiondb.sql.planner import optimize
from aiondb.sql.textio import UTC, get_timezone, parse_text
from aiondb.storage.catalog import (
    INFORMATION_SCHEMA_OID,
    PG_CATALOG_OID,
    Catalog,
    Relation,
    ViewDef,
)
from aiondb.storage.database import Database
from aiondb.storage.txn import LockWait, Transaction

log = logging.getLogger("aiondb.session")

_DML = (exp.Insert, exp.Update, exp.Delete)
_REG_OIDS = frozenset((T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid, T.REGNAMESPACE.oid,
                       T.REGROLE.oid))
_QUERY = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery)

# A streamed query first produces this many rows; a result that ends within
# them is returned whole (the fast path of point queries).
STREAM_BATCH = 1000
# Plan nodes that read table or catalog state: a generator over them must
# not be suspended across an event-loop turn (it could see, or break on,
# commits made meanwhile), so the server settles (materializes) the rest of
# such a result before it waits for the client.
_SHARED_READS = (P.Scan, P.KeyLookup, P.KeyRange, P.SystemScan, P.LockRows, P.Insert,
                 P.Update)
_ROW_SOURCES = _SHARED_READS + (P.FunctionScan, P.ProjectSet, P.CteScan, P.WorkTableScan)


class SleepRequest(Exception):
    """pg_sleep: the session awaits, then re-runs the statement (see fn_system)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass
class PlanEntry:
    kind: str                 # query | dml
    plan: Plan
    op: Operator
    columns: list[OutCol]
    param_types: list[T.SqlType]
    tag: str                  # SELECT | INSERT | UPDATE | DELETE
    catalog_version: int
    volatile: bool = False
    # a plain read (no volatile functions, no row locks): outside a transaction
    # block it runs on the tenant's shared autocommit reader
    read_only: bool = False
    text_decoders: list[Callable[[bytes], Any]] | None = None
    # parameter format codes (Bind) → decoders, when any parameter is binary
    format_decoders: dict[tuple[int, ...], list[Callable[[bytes], Any]]] | None = None
    # server-side caches (RowDescription bytes, row encoders) keyed by formats
    wire_cache: dict = field(default_factory=dict)
    # rows may be produced lazily across event-loop turns (see _stream_info)
    lazy_safe: bool | None = None
    read_oids: frozenset[int] = frozenset()     # tables the plan reads
    # express.ExpressInsert of a plain INSERT ... VALUES; False: not one
    express: Any = None


@dataclass
class Result:
    """What one statement produced. columns None: no row description."""

    tag: str
    columns: list[OutCol] | None = None
    rows: list[tuple] = field(default_factory=list)
    copy: Any = None          # CopyIn / CopyOut handler for COPY statements
    empty: bool = False       # empty query string
    # streaming: rows still to come after `rows` (tag is then "SELECT" and the
    # server counts); errors raised by it belong to the statement
    more: Iterator[tuple] | None = None
    # `more` reads shared state: settle() it before any event-loop turn
    shared: bool = False


# the outcome of every express INSERT (read only by the fast lane)
_INSERTED_ONE = Result("INSERT 0 1")


@dataclass
class PreparedStatement:
    name: str
    sql: str
    statement: st.Statement | None     # None for an empty query
    param_types: list[T.SqlType]
    declared: list[int]                # OIDs the client declared at Parse
    entry: PlanEntry | None = None


@dataclass
class Portal:
    name: str
    prepared: PreparedStatement
    params: list[Any]
    result_formats: tuple[int, ...]
    rows: list[tuple] | None = None
    pos: int = 0
    result: Result | None = None
    done: bool = False
    more: Iterator[tuple] | None = None    # the executor's remaining rows


@dataclass
class Cursor:
    name: str
    columns: list[OutCol]
    rows: list[tuple]
    pos: int = 0
    hold: bool = False


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.CharacterNotInRepertoire('invalid byte sequence for encoding "UTF8"'
                                              ) from None


def text_param_decoder(t: T.SqlType, session: Session) -> Callable[[bytes], Any]:
    """Text-format parameter bytes → value of type t."""
    if t.oid in (T.INT2.oid, T.INT4.oid, T.INT8.oid):
        lo, hi, _ = T.INT_RANGES[t.oid]
        from aiondb.sql.textio import parse_int

        def dec_int(raw: bytes) -> int:
            try:
                v = int(raw)
            except ValueError:
                return parse_int(t, _utf8(raw))
            if lo <= v <= hi and b"_" not in raw:
                return v
            return parse_int(t, _utf8(raw))
        return dec_int
    if t.oid in (T.TEXT.oid, T.NAME.oid, T.UNKNOWN.oid) or (
            t.oid == T.VARCHAR.oid and t.typmod == -1):
        return _utf8
    t = t if t.oid != T.UNKNOWN.oid else T.TEXT
    return lambda raw: session.text_to_value(t, _utf8(raw))


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


class Session:
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
        self.stmt_started_at = dt.datetime.now(UTC)
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

    def reported_parameters(self) -> list[tuple[str, str]]:
        return [(s.display or s.name, self.values[s.name]) for s in S.REPORTED]

    def take_reported_changes(self) -> list[tuple[str, str]]:
        out = self.changed_reported
        self.changed_reported = []
        return out

    def take_notices(self) -> list[tuple[str, str, str | None, str | None]]:
        out = self.notices
        self.notices = []
        return out

    def notice(self, message: str, severity: str = "NOTICE", code: str | None = None,
               detail: str | None = None) -> None:
        """code: the SQLSTATE PostgreSQL gives this notice (e.g. 25P01 for "there
        is no transaction in progress"); None means 00000, or 01000 for a WARNING."""
        self.notices.append((severity, message, code, detail))

    def statement_time(self) -> dt.datetime:
        return self.stmt_started_at

    def const_context(self) -> ExecContext:
        now = self.stmt_started_at
        ctx = ExecContext(None, self, [], self.db.catalog, self.tz, now, now)
        return ctx

    # --- settings -----------------------------------------------------------------------------------
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
        if self.txn is not None and self.txn.snapshot is not None:
            raise errors.ActiveSqlTransaction(
                "SET TRANSACTION ISOLATION LEVEL must be called before any query")
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

    # --- name resolution used by the binder -----------------------------------------------------------
    def resolve_relation(self, catalog: Catalog, schema: str | None,
                         name: str) -> tuple[Relation | None, Any]:
        from aiondb.sql import pg_catalog
        if schema in (None, "pg_catalog"):
            view = pg_catalog.VIEWS.get(name)
            if view is not None:
                return None, view
        if schema == "information_schema":
            view = pg_catalog.INFO_VIEWS.get(name)
            if view is not None:
                return None, view
        if schema == "pg_temp":
            schema = temp_tables.schema_name(self)
        elif schema is None:
            temp = temp_tables.own_schema_oid(self, catalog)
            rel = catalog.lookup(temp, name) if temp is not None else None
            if rel is not None:
                return rel, None
        if schema is not None:
            sdef = catalog.schema(schema)
            if sdef is None:
                if schema.startswith(temp_tables.PREFIX):
                    raise errors.UndefinedTable(f'relation "pg_temp.{name}" does not exist')
                if schema in ("pg_catalog", "information_schema"):
                    raise errors.UndefinedTable(f'relation "{schema}.{name}" does not exist')
                raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')
            rel = catalog.lookup(sdef.oid, name)
            if rel is None:
                raise errors.UndefinedTable(f'relation "{schema}.{name}" does not exist')
            return rel, None
        for sname in self.search_path():
            sdef = catalog.schema(sname)
            if sdef is None:
                continue
            rel = catalog.lookup(sdef.oid, name)
            if rel is not None:
                return rel, None
        raise errors.UndefinedTable(f'relation "{name}" does not exist')

    def creation_schema(self, catalog: Catalog, schema: str | None) -> int:
        if schema is not None:
            if schema == "pg_catalog":
                return PG_CATALOG_OID
            if schema == "information_schema":
                return INFORMATION_SCHEMA_OID
            if schema == "pg_temp":
                schema = temp_tables.schema_name(self)
            sdef = catalog.schema(schema)
            if sdef is None:
                raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')
            return sdef.oid
        for sname in self.search_path():
            sdef = catalog.schema(sname)
            if sdef is not None:
                return sdef.oid
        raise errors.InvalidSchemaName("no schema has been selected to create in")

    def bind_view(self, catalog: Catalog, view: ViewDef, binder: Any) -> Plan:
        from aiondb.sql.scope import Scope
        parsed = self.engine.parse(view.sql)
        if len(parsed) != 1 or parsed[0].ast is None:
            raise errors.DataCorrupted(f'view "{view.name}" has an invalid definition')
        sub = StatementBinder(catalog, self, [])
        plan = sub.bind_query_node(parsed[0].ast, Scope())
        if view.columns:
            for c, vc in zip(plan.columns, view.columns, strict=False):
                c.name = vc.name
        return plan

    def resolve_reg(self, t: T.SqlType, v: Any, ctx: ExecContext) -> Any:
        from aiondb.sql.fn_system import resolve_reg
        return resolve_reg(self, t, v, ctx)

    def rules_for(self, catalog: Catalog) -> Callable[[int], Any]:
        def get(oid: int) -> Any:
            key = (catalog.version, oid)
            r = self._rules.get(key)
            if r is None:
                if len(self._rules) > 256:
                    self._rules.clear()
                r = StatementBinder(catalog, self, []).table_rules(catalog.table(oid))
                self._rules[key] = r
            return r
        return get

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
        if isinstance(ast, _QUERY) or isinstance(ast, _DML):
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
        except errpos.LOCATED as exc:     # CREATE VIEW / TABLE AS naming an unknown column
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
        except errpos.LOCATED as exc:
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
                    out[i] = self.text_to_value(t, v)
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
                return _collect(entry, entry.op.rows(ctx), stream, txn)
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
                return _collect(entry, entry.op.rows(ctx), stream, reader)
            rows = list(entry.op.rows(ctx))
        except LockWait:
            return None
        return Result(f"SELECT {len(rows)}", entry.columns, rows)

    # --- extended protocol -----------------------------------------------------------------------------
    def prepare(self, name: str, sql: str, param_oids: tuple[int, ...]) -> PreparedStatement:
        # PostgreSQL's order of checks: syntax, failed transaction, analysis,
        # and only then a duplicate name
        stmts = self.parse(sql)
        if len(stmts) > 1:
            raise errors.SyntaxError("cannot insert multiple commands into a prepared "
                                     "statement")
        if stmts:
            self._check_not_failed(stmts[0])
        ptypes = []
        for oid in param_oids:
            if oid == 0:
                ptypes.append(T.UNKNOWN)
                continue
            t = T.BY_OID.get(oid)
            if t is None:
                raise errors.UndefinedObject(f"type with OID {oid} does not exist")
            ptypes.append(t)
        stmt = stmts[0] if stmts else None
        ps = PreparedStatement(name, sql, stmt, ptypes, list(param_oids))
        if stmt is not None and stmt.ast is not None and (isinstance(stmt.ast, _QUERY) or
                                                          isinstance(stmt.ast, _DML)):
            self.plan(stmt, None, ps, ptypes)
        elif stmt is not None and stmt.utility is not None and isinstance(
                stmt.utility, st.Show):
            ps.param_types = []
        if name and name in self.prepared:
            raise errors.DuplicatePreparedStatement(
                f'prepared statement "{name}" already exists')
        self.prepared[name] = ps
        return ps

    def describe_statement(self, name: str) -> tuple[list[T.SqlType], list[OutCol] | None]:
        ps = self._get_prepared(name)
        if ps.entry is not None:
            if self.failed and (ps.entry.kind == "query" or ps.entry.columns):
                self._no_description()
            self._revalidate(ps)
            return ps.param_types, ps.entry.columns if ps.entry.kind == "query" or \
                ps.entry.columns else None
        cols = self._utility_columns(ps)
        if self.failed and cols is not None:
            self._no_description()
        return ps.param_types, cols

    def _no_description(self) -> None:
        # as PostgreSQL: no row description in an aborted transaction
        raise errors.InFailedSqlTransaction(
            "current transaction is aborted, commands ignored until end of transaction block")

    def _utility_columns(self, ps: PreparedStatement) -> list[OutCol] | None:
        if ps.statement is not None and isinstance(ps.statement.utility, st.Show):
            name = ps.statement.utility.name
            return [OutCol(self.show(name)[0], T.TEXT)] if name != "all" \
                else [OutCol("name", T.TEXT), OutCol("setting", T.TEXT),
                      OutCol("description", T.TEXT)]
        return None

    def _revalidate(self, ps: PreparedStatement) -> None:
        if ps.entry is not None and ps.statement is not None:
            self.plan(ps.statement, ps.entry, ps, ps.param_types)

    def _get_prepared(self, name: str) -> PreparedStatement:
        ps = self.prepared.get(name)
        if ps is None:
            raise errors.InvalidSqlStatementName(
                f'prepared statement "{name}" does not exist' if name else
                "unnamed prepared statement does not exist")
        return ps

    def bind(self, portal: str, stmt_name: str, formats: tuple[int, ...],
             values: tuple[bytes | None, ...], result_formats: tuple[int, ...]) -> Portal:
        # checks in PostgreSQL's order (exec_bind_message)
        ps = self._get_prepared(stmt_name)
        if len(formats) not in (0, 1, len(values)):
            raise errors.ProtocolViolation(
                f"bind message has {len(formats)} parameter formats but {len(values)} "
                "parameters")
        if len(values) != len(ps.param_types):
            raise errors.ProtocolViolation(
                f"bind message supplies {len(values)} parameters, but prepared statement "
                f'"{stmt_name}" requires {len(ps.param_types)}')
        if ps.statement is not None:
            self._check_not_failed(ps.statement)
        if portal and portal in self.portals:
            raise errors.DuplicateCursor(f'portal "{portal}" already exists')
        self._revalidate(ps)
        ptypes = ps.param_types
        entry = ps.entry
        if entry is not None and not any(formats) and entry.param_types is ptypes:
            decs = entry.text_decoders
            if decs is None:
                decs = entry.text_decoders = [text_param_decoder(t, self) for t in ptypes]
            params = [None if raw is None else dec(raw)
                      for raw, dec in zip(values, decs, strict=True)]
        else:
            params = self._decode_params(ptypes, formats, values)
        p = Portal(portal, ps, params, result_formats)
        self.portals[portal] = p
        return p

    def _decode_params(self, ptypes: list[T.SqlType], formats: tuple[int, ...],
                       values: tuple[bytes | None, ...]) -> list[Any]:
        from aiondb.sql.binaryio import decode_binary
        params = []
        for i, raw in enumerate(values):
            if raw is None:
                params.append(None)
                continue
            fmt = formats[0] if len(formats) == 1 else (formats[i] if formats else 0)
            t = ptypes[i] if ptypes[i].oid != T.UNKNOWN.oid else T.TEXT
            if fmt == 1:
                params.append(decode_binary(t, raw))
            else:
                params.append(text_param_decoder(t, self)(raw))
        return params

    def describe_portal(self, name: str) -> list[OutCol] | None:
        p = self._get_portal(name)
        ps = p.prepared
        if ps.entry is not None:
            cols = ps.entry.columns if ps.entry.kind == "query" or ps.entry.columns else None
        else:
            cols = self._utility_columns(ps)
        if self.failed and cols is not None:
            self._no_description()
        return cols

    def _get_portal(self, name: str) -> Portal:
        p = self.portals.get(name)
        if p is None:
            raise errors.InvalidCursorName(f'portal "{name}" does not exist')
        return p

    def try_execute_portal_now(self, name: str) -> Result | None:
        """Synchronous fast path: a fresh portal of a planned statement, fetched
        whole, that needs no wait. None: use execute_portal (which may wait)."""
        p = self.portals.get(name)
        if p is None or p.result is not None or self.failed:
            return None
        entry = p.prepared.entry
        if entry is None or entry.catalog_version != self.current_catalog().version or \
                len(entry.param_types) > len(p.params):
            return None
        self.cancel_requested = False
        self.stmt_started_at = dt.datetime.now(UTC)
        if entry.read_only and self.txn is None and not self.in_block:
            res = self._run_autocommit_read(entry, p.params, STREAM_BATCH)
        else:
            res = self._run_now(entry, p.params, STREAM_BATCH)
        if res is not None:
            p.result = res
            p.pos = len(res.rows)
            p.done = True
        return res

    def fast_execute(self, stmt_name: str, formats: tuple[int, ...],
                     values: tuple[bytes | None, ...],
                     result_formats: tuple[int, ...]) -> Result | None:
        """Bind and run the unnamed portal of a planned prepared statement in
        one call (the wire layer's fast lane for `Bind, Describe, Execute,
        Sync`). None, with nothing done, when anything is unusual: then the
        messages take the general path, which also reports Bind's errors.
        Errors of the execution itself propagate, as from Execute."""
        ps = self.prepared.get(stmt_name)
        if ps is None or self.failed:
            return None
        entry = ps.entry
        txn = self.txn
        catalog = txn.catalog if txn is not None and txn.ddl else self.db.catalog
        if entry is None or entry.param_types is not ps.param_types or \
                entry.catalog_version != catalog.version or \
                len(values) != len(entry.param_types):
            return None
        if formats and any(formats):      # psycopg sends numbers in binary
            decs = self._format_decoders(entry, formats)
            if decs is None:
                return None
        else:
            decs = entry.text_decoders
            if decs is None:
                decs = entry.text_decoders = [text_param_decoder(t, self)
                                              for t in entry.param_types]
        try:
            params = [None if raw is None else dec(raw)
                      for raw, dec in zip(values, decs, strict=True)]
        except errors.DatabaseError:
            return None
        if self.portals and "" in self.portals:
            del self.portals[""]     # Bind replaces the unnamed portal
        self.current_query = ps.sql
        self.cancel_requested = False
        self.stmt_started_at = dt.datetime.now(UTC)
        if self.txn is None and not self.in_block:
            if entry.read_only:
                res = self._run_autocommit_read(entry, params, STREAM_BATCH)
            elif entry.kind == "dml" and self._express(entry, params):
                return _INSERTED_ONE
            else:
                res = self._run_now(entry, params, STREAM_BATCH)
        else:
            res = self._run_now(entry, params, STREAM_BATCH)
        if res is not None and self.in_block:
            # in a block the executed portal lives on until the transaction ends
            self.portals[""] = Portal("", ps, params, result_formats, res.rows, len(res.rows),
                                      res, True)
        return res

    def _express(self, entry: PlanEntry, params: list[Any]) -> bool:
        """Run a plain INSERT ... VALUES in a new implicit transaction without
        the executor (sql/express.py); False when it takes the general path."""
        ex = entry.express
        if ex is None:
            plan = entry.plan
            ex = entry.express = isinstance(plan, P.Insert) and plan_express_insert(
                plan, self.rules_for(self.db.catalog)(plan.table.oid)) or False
        if ex is False or self.values["default_transaction_isolation"] not in (
                "read committed", "read uncommitted") or \
                self.values["default_transaction_read_only"] == "on":
            return False
        self.implicit_txn = True
        self.sleeps_done = 0
        return run_express_insert(ex, self._ensure_txn(), params)

    def _format_decoders(self, entry: PlanEntry, formats: tuple[int, ...]
                         ) -> list[Callable[[bytes], Any]] | None:
        """Parameter decoders for Bind's format codes (one for all, or one per
        parameter); None for a count the general path must reject."""
        cache = entry.format_decoders
        if cache is None:
            cache = entry.format_decoders = {}
        decs = cache.get(formats)
        if decs is None:
            ptypes = entry.param_types
            if len(formats) not in (1, len(ptypes)):
                return None
            from aiondb.sql.binaryio import binary_decoder
            decs = []
            for i, t in enumerate(ptypes):
                t = t if t.oid != T.UNKNOWN.oid else T.TEXT
                fmt = formats[0] if len(formats) == 1 else formats[i]
                decs.append(binary_decoder(t) if fmt == 1 else text_param_decoder(t, self))
            cache[formats] = decs
        return decs

    def try_sync_now(self) -> bool:
        """Sync when no transaction is open: nothing to commit or wait for."""
        if self.txn is not None or self.in_block or self.failed:
            return False
        if self.portals:
            self.portals = {}
        return True

    def sync_start(self) -> Any:
        """Sync without a coroutine when committing the implicit transaction
        needs nothing but its WAL flush (no deferred constraints, no ON COMMIT
        actions): the fast lane's Sync. True: done. False: use sync(). Else a
        pending commit: wait until pending[1][1] (its flush) is done, then
        sync_finish(pending). Raises the commit's error."""
        if self.in_block or self.failed or self.deferred is not None or self.temp_on_commit:
            return False
        if self.portals:
            self.portals = {}
        txn = self._detach_for_commit()
        if txn is None:
            return True
        pending = txn.commit_start()
        return True if pending is None else (txn, pending)

    @staticmethod
    def sync_finish(pending: tuple[Transaction, Any]) -> None:
        txn, flush = pending
        txn.commit_finish(flush)

    async def execute_portal(self, name: str, max_rows: int) -> tuple[Result, bool]:
        """Run (or continue) a portal. Returns (result, suspended)."""
        p = self._get_portal(name)
        self.current_query = p.prepared.sql
        self.cancel_requested = False   # a cancel that came while idle is for nothing
        if self.failed and p.prepared.statement is not None:
            self._check_not_failed(p.prepared.statement)    # 25P02, as PostgreSQL
        if p.result is None:
            ps = p.prepared
            if ps.statement is None:
                p.result = Result("", empty=True)
            else:
                if not self.in_block and self.txn is None:
                    self.implicit_txn = True
                # a row limit: produce only what this Execute sends, so that a
                # run-time error comes at the Execute that reaches it
                try:
                    p.result = await self.execute(ps.statement, p.params, ps,
                                                  max_rows if max_rows > 0 else STREAM_BATCH)
                except errors.DatabaseError as exc:
                    before = getattr(exc, "rows_before", None)
                    if max_rows <= 0 or before is None or len(before[1]) <= max_rows:
                        raise
                    # more rows than this Execute may send: the error waits
                    # for the Execute that reaches it, as in PostgreSQL
                    del exc.rows_before
                    p.result = Result("SELECT", before[0], [])
                    p.more = _rows_then(before[1], exc)
                else:
                    p.more = p.result.more
                    if p.more is not None and p.result.shared and max_rows > 0:
                        # other messages run before the next Execute
                        p.more = settle(p.more)
                        p.result.shared = False
                    p.result.more = None
            p.rows = p.result.rows
        elif p.done and p.result.columns is None and not p.result.empty:
            # As PostgreSQL: a portal whose statement returns no rows runs
            # once; it does not run again (nor report success twice).
            raise errors.ObjectNotInPrerequisiteState(f'portal "{name}" cannot be run')
        res = p.result
        rows = p.rows or []
        if p.more is not None:
            if max_rows <= 0:       # the server streams the rest
                more, p.more = p.more, None
                chunk = rows[p.pos:] if p.pos else rows
                p.pos = len(rows)
                p.done = True
                return Result("SELECT", res.columns, chunk, more=more, shared=res.shared), False
            if len(rows) - p.pos < max_rows:
                # the executor's next rows; its state stays in the portal
                rows = p.rows = rows[p.pos:]
                p.pos = 0
                try:
                    rows.extend(islice(p.more, max_rows - len(rows)))
                except errors.DatabaseError as exc:
                    p.more = None
                    exc.rows_before = (res.columns, rows)     # type: ignore[attr-defined]
                    raise
                if len(rows) < max_rows:
                    p.more = None
        # As PostgreSQL: a fetch that fills its row limit suspends (even on the
        # last row), and the closing tag counts the rows of this Execute only.
        if max_rows > 0 and res.columns is not None and len(rows) - p.pos >= max_rows:
            chunk = rows[p.pos:p.pos + max_rows]
            p.pos += max_rows
            return Result(res.tag, res.columns, chunk), True
        chunk = rows[p.pos:] if p.pos else rows
        p.pos = len(rows)
        p.done = True
        tag = res.tag
        if tag == "SELECT":         # a streamed result: counted per Execute
            tag = f"SELECT {len(chunk)}"
        elif len(chunk) != len(res.rows) and tag[-1:].isdigit():
            tag = f"{tag.rsplit(' ', 1)[0]} {len(chunk)}"
        return Result(tag, res.columns, chunk, res.copy, res.empty), False

    def keep_failed_portal(self, stmt: st.Statement) -> None:
        """A simple query's statement failed while running inside a block: as
        in PostgreSQL its unnamed portal stays (failed) until the block ends,
        so Execute of "" says 25P02, not 34000."""
        ps = PreparedStatement("", "", stmt, [], [])
        if isinstance(stmt.ast, _QUERY):
            try:        # its row description (a plan cache hit: it just ran)
                ps.entry = self.plan(stmt, None, None, stmt.param_types
                                     if stmt.params is not None else None)
            except errors.DatabaseError:
                pass
        self.portals[""] = Portal("", ps, [], ())

    def close_statement(self, name: str) -> None:
        self.prepared.pop(name, None)

    def close_portal(self, name: str) -> None:
        self.portals.pop(name, None)

    async def sync(self) -> None:
        """Sync: end the implicit transaction (and with it its portals; in a
        block they live until the block ends, the unnamed one too)."""
        if not self.in_block:
            self.portals = {}
        await self.finish_implicit()


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


def _collect(entry: PlanEntry, it: Iterable[tuple], batch: int, txn: Transaction) -> Result:
    """A query's rows for the server. A run-time error carries the rows
    produced before it (exc.rows_before: PostgreSQL sends them ahead of the
    error). Only `batch` rows are produced here; the rest come from
    Result.more while the server sends."""
    rows: list[tuple] = []
    try:
        if entry.read_only:
            if entry.lazy_safe is None:
                _stream_info(entry)
            it = iter(it)
            rows.extend(islice(it, batch))
            if len(rows) == batch:
                if entry.lazy_safe:
                    return Result("SELECT", entry.columns, rows, more=it)
                locks = txn.db.exclusive_locks
                if not any(locks.get(oid) not in (None, txn) for oid in entry.read_oids):
                    # no table it reads can make it wait (LockWait) once rows are out
                    return Result("SELECT", entry.columns, rows, more=it, shared=True)
                rows.extend(it)
        else:
            rows.extend(it)
    except errors.DatabaseError as exc:
        if rows or _plan_has(entry.plan, _ROW_SOURCES if isinstance(entry.plan, P.Values)
                             else _ROW_SOURCES + (P.Values,), set()):
            exc.rows_before = (entry.columns, rows)     # type: ignore[attr-defined]
        else:
            # PostgreSQL folds a FROM-less query's constants (and a VALUES
            # statement's) while planning:
            # the error comes before its RowDescription and its portal
            exc.while_planning = True     # type: ignore[attr-defined]
        raise
    return Result(f"SELECT {len(rows)}", entry.columns, rows)


def settle(more: Iterator[tuple]) -> Iterator[tuple]:
    """The rest of a shared result, produced now so that it no longer depends
    on shared state; a run-time error comes after the rows before it."""
    rest: list[tuple] = []
    try:
        rest.extend(more)
    except errors.DatabaseError as exc:
        return _rows_then(rest, exc)
    return iter(rest)


def _rows_then(rows: list[tuple], exc: Exception) -> Iterator[tuple]:
    yield from rows
    raise exc


def _stream_info(entry: PlanEntry) -> None:
    found: list[Any] = []
    _plan_has(entry.plan, _SHARED_READS, set(), found)
    entry.read_oids = frozenset(n.table.oid for n in found
                                if isinstance(n, (P.Scan, P.KeyLookup, P.KeyRange)))
    entry.lazy_safe = not found


def _plan_has(obj: Any, types: tuple[type, ...], seen: set[int],
              found: list[Any] | None = None) -> bool:
    """Does a plan hold a node of one of these types, as an input or in a
    subquery of its expressions? With found: collect them all."""
    if isinstance(obj, types):
        if found is None:
            return True
        found.append(obj)
    if isinstance(obj, (list, tuple)):
        return any([_plan_has(o, types, seen, found) for o in obj]) if found is not None \
            else any(_plan_has(o, types, seen) for o in obj)
    if type(obj).__module__ in ("aiondb.sql.plan", "aiondb.sql.expr") and id(obj) not in seen:
        seen.add(id(obj))
        names = getattr(obj, "__dict__", None) or {
            n: getattr(obj, n, None) for c in type(obj).__mro__
            for n in getattr(c, "__slots__", ())}
        if found is not None:
            for v in names.values():
                _plan_has(v, types, seen, found)
            return bool(found)
        return any(_plan_has(v, types, seen) for v in names.values())
    return False
