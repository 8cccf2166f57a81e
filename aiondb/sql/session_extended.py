"""The extended query protocol's side of a session (Parse, Bind, Describe,
Execute, Close, Sync), including fast_execute, the fast lane's one-call
Bind + Execute, and the express INSERT. Session (session.py) inherits it."""

from __future__ import annotations

from itertools import islice
from time import time as _time
from typing import Any

from sqlglot import exp

from aiondb import errors
from aiondb import types as T
from aiondb.sql import plan as P
from aiondb.sql import statements as st
from aiondb.sql.express import insert_row, plan_express_insert
from aiondb.sql.plan import OutCol
from aiondb.sql.prepared import (
    ParamsDecoder,
    PlanEntry,
    Portal,
    PreparedStatement,
    params_decoder,
    text_param_decoder,
)
from aiondb.sql.results import INSERTED_ONE, STREAM_BATCH, Result, rows_then, settle
from aiondb.storage import single_commit

DML = (exp.Insert, exp.Update, exp.Delete)
QUERY = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery)


class ExtendedProtocolMixin:
    """Session methods for the extended query protocol; the attributes and
    the planning and execution methods they use are Session's."""

    prepared: dict[str, PreparedStatement]
    portals: dict[str, Portal]
    failed: bool
    in_block: bool
    txn: Any
    db: Any
    values: dict[str, str]

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
        if stmt is not None and stmt.ast is not None and (isinstance(stmt.ast, QUERY) or
                                                          isinstance(stmt.ast, DML)):
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
            decode = entry.text_decoders
            if decode is None:
                decode = entry.text_decoders = params_decoder(
                    [text_param_decoder(t, self) for t in ptypes])
            params = decode(values)
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
        self._stmt_t = _time()
        self._stmt_dt = None
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
            decode = self._format_decoders(entry, formats)
            if decode is None:
                return None
        else:
            decode = entry.text_decoders
            if decode is None:
                decode = entry.text_decoders = params_decoder(
                    [text_param_decoder(t, self) for t in entry.param_types])
        try:
            params = decode(values)
        except errors.DatabaseError:
            return None
        if self.portals and "" in self.portals:
            del self.portals[""]     # Bind replaces the unnamed portal
        self.current_query = ps.sql
        self.cancel_requested = False
        self._stmt_t = _time()
        self._stmt_dt = None
        if txn is None and not self.in_block:
            if entry.read_only:
                res = self._run_autocommit_read(entry, params, STREAM_BATCH)
            elif entry.kind == "dml" and self._express(entry, params):
                return INSERTED_ONE
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
        values = self.values
        if ex is False or values["default_transaction_isolation"] not in (
                "read committed", "read uncommitted") or \
                values["default_transaction_read_only"] == "on":
            return False
        row = ex.row(params)
        if row is None:
            return False
        self.sleeps_done = 0
        if not self.temp_on_commit and self.deferred is None:
            # the statement is the whole transaction: insert and commit in one
            # step, without making it the session's (nothing else runs in it)
            txn = self.db.begin()
            txn.synchronous_commit = values.get("synchronous_commit") != "off"
            done = single_commit.start(txn, ex.table, row)
            if done is not False:
                self.express_commit = done      # sync_start hands it over
                return True
            txn.rollback()                      # empty: nothing to undo
        self.implicit_txn = True
        return insert_row(ex, self._ensure_txn(), row)

    def _format_decoders(self, entry: PlanEntry, formats: tuple[int, ...]
                         ) -> ParamsDecoder | None:
        """The parameters' decoder for Bind's format codes (one for all, or one
        per parameter); None for a count the general path must reject."""
        cache = entry.format_decoders
        if cache is None:
            cache = entry.format_decoders = {}
        decode = cache.get(formats)
        if decode is None:
            ptypes = entry.param_types
            if len(formats) not in (1, len(ptypes)):
                return None
            from aiondb.sql.binaryio import binary_decoder
            decs = []
            for i, t in enumerate(ptypes):
                t = t if t.oid != T.UNKNOWN.oid else T.TEXT
                fmt = formats[0] if len(formats) == 1 else formats[i]
                decs.append(binary_decoder(t) if fmt == 1 else text_param_decoder(t, self))
            decode = cache[formats] = params_decoder(decs)
        return decode

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
        PendingCommit: wait until its flush is done, then sync_finish(it).
        Raises the commit's error."""
        done = self.express_commit
        if done is not None:        # committed, or committing, by _express
            self.express_commit = None
            if self.portals:
                self.portals = {}
            return done
        if self.in_block or self.failed or self.deferred is not None or self.temp_on_commit:
            return False
        if self.portals:
            self.portals = {}
        txn = self._detach_for_commit()
        if txn is None:
            return True
        pending = txn.commit_start()
        return True if pending is None else single_commit.TxnCommit(txn, pending)

    @staticmethod
    def sync_finish(pending: single_commit.PendingCommit) -> None:
        pending.finish()

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
                    p.more = rows_then(before[1], exc)
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
        if isinstance(stmt.ast, QUERY):
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

