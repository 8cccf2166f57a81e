"""The asyncio server: accepts connections, owns the tenant registry, and
drives each connection's protocol state machine (wire/) and session (sql/).

Speed: asyncio.Protocol (not streams); output is buffered and written once
per Sync / Flush / end of a simple Query; a statement that never waits runs
to completion inside data_received without creating a task. Only lock waits,
sleeps and commit fsyncs suspend, through a small trampoline (_Runner).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import socket
from collections import deque
from collections.abc import Coroutine
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.config import Settings
from aiondb.sql import statements as st
from aiondb.sql.binaryio import binary_encoder
from aiondb.sql.copy import CopyIn, CopyOut
from aiondb.sql.plan import OutCol
from aiondb.sql.session import Engine, Result, Session
from aiondb.sql.textio import output_encoder
from aiondb.storage.registry import TenantRegistry
from aiondb.wire import codec
from aiondb.wire import messages as m
from aiondb.wire.connection import (
    Authenticated,
    Authenticator,
    CancelReceived,
    ServerConnection,
    State,
)
from aiondb.wire.scram import ScramVerifier

log = logging.getLogger("aiondb.server")

SHUTDOWN = errors.AdminShutdown("terminating connection due to administrator command")
FLUSH_THRESHOLD = 256 * 1024
READ_PAUSE_THRESHOLD = 16 * 1024 * 1024


# Per (column list, formats[, time zone]) caches: a prepared statement's column
# list is one object for its lifetime, so its RowDescription bytes and row
# encoders are computed once, not per execution. The key keeps the list alive
# so its id cannot be reused while cached.
_ROWDESC_CACHE: dict[tuple, tuple[list[OutCol], bytes]] = {}
_ENCODER_CACHE: dict[tuple, tuple[list[OutCol], list]] = {}
_CACHE_LIMIT = 2048


def _row_description(columns: list[OutCol], formats: tuple[int, ...] | list[int]) -> bytes:
    key = (id(columns), tuple(formats))
    hit = _ROWDESC_CACHE.get(key)
    if hit is not None and hit[0] is columns:
        return hit[1]
    fields = [(c.name, c.table_oid, c.attnum, c.type.oid, T.type_size(c.type), c.type.typmod)
              for c in columns]
    data = codec.row_description(fields, formats)
    if len(_ROWDESC_CACHE) >= _CACHE_LIMIT:
        _ROWDESC_CACHE.clear()
    _ROWDESC_CACHE[key] = (columns, data)
    return data


def _row_encoders(columns: list[OutCol], fmts: list[int], tz: Any) -> list:
    key = (id(columns), tuple(fmts), tz)
    hit = _ENCODER_CACHE.get(key)
    if hit is not None and hit[0] is columns:
        return hit[1]
    encs = [binary_encoder(c.type) if f == 1 else output_encoder(c.type, tz)
            for c, f in zip(columns, fmts, strict=True)]
    if len(_ENCODER_CACHE) >= _CACHE_LIMIT:
        _ENCODER_CACHE.clear()
    _ENCODER_CACHE[key] = (columns, encs)
    return encs


def as_db_error(exc: Exception) -> errors.DatabaseError:
    """Anything that is not a DatabaseError is our bug: log it, report XX000,
    keep the session."""
    if isinstance(exc, errors.DatabaseError):
        return exc
    if isinstance(exc, RecursionError):
        # a statement nested too deeply for the recursive parser/binder: the
        # client's limit, as PostgreSQL's 54001, not our bug
        return errors.StatementTooComplex("stack depth limit exceeded",
                                          hint="The statement is nested too deeply.")
    log.exception("internal error", exc_info=exc)
    return errors.InternalError(f"internal error: {type(exc).__name__}: {exc}")


def _formats(ncols: int, requested: tuple[int, ...]) -> list[int]:
    if not requested:
        return [0] * ncols
    if len(requested) == 1:
        return [requested[0]] * ncols
    if len(requested) != ncols:
        raise errors.ProtocolViolation(
            f"bind message has {len(requested)} result formats but query has {ncols} columns")
    return list(requested)


class _Runner:
    """Drives a coroutine without an asyncio Task: runs synchronously until
    it awaits a future, then resumes from that future's done callback."""

    __slots__ = ("coro", "on_done", "loop")

    def __init__(self, coro: Coroutine, on_done: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.coro = coro
        self.on_done = on_done
        self.loop = loop

    def step(self, _fut: Any = None) -> None:
        try:
            yielded = self.coro.send(None)
        except StopIteration:
            self.on_done(None)
            return
        except BaseException as exc:  # noqa: BLE001 - reported to the connection
            self.on_done(exc)
            return
        if yielded is None:  # bare yield (asyncio.sleep(0))
            self.loop.call_soon(self.step)
            return
        yielded._asyncio_future_blocking = False
        yielded.add_done_callback(self.step)


class ClientProtocol(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.conn = ServerConnection(server.authenticator, server.settings.max_message_size)
        self.session: Session | None = None
        self.out: list[bytes] = []
        self.out_size = 0
        self.busy = False
        self.closed = False
        self.pid = 0
        self.secret = 0
        self.copy_in: CopyIn | None = None
        self.pending: deque[st.Statement] = deque()
        self._write_paused = False
        self._drain_waiter: asyncio.Future | None = None
        self._read_paused = False
        self.reported: dict[str, str] = {}  # ParameterStatus values the client has

    # --- asyncio callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)
        session = self.session
        if session is not None:
            session.cancel()
            if not self.busy:
                self._end_session()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        if self.busy:
            if self.conn.decoder.buffered > READ_PAUSE_THRESHOLD and not self._read_paused:
                assert self.transport is not None
                self.transport.pause_reading()
                self._read_paused = True
            return
        self._start()

    # --- processing -----------------------------------------------------------------------------------
    def _start(self) -> None:
        self.busy = True
        _Runner(self._process(), self._processing_done, self.server.loop).step()

    def _processing_done(self, exc: BaseException | None) -> None:
        self.busy = False
        if exc is not None:
            if isinstance(exc, errors.SessionTerminated):
                self._fatal(exc.error)
            else:
                log.exception("internal error in connection handler", exc_info=exc)
                self._fatal(errors.InternalError(f"internal error: {type(exc).__name__}"))
            return
        if self.closed:
            self._end_session()
            return
        # _process returns only once no complete message is buffered (data that
        # arrived during an await was consumed by its loop), so nothing to restart
        if self._read_paused and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()

    async def _process(self) -> None:
        conn = self.conn
        while not self.closed:
            if conn.state is State.COPY_IN and self.copy_in is not None:
                data = conn.decoder.take_copy_data()
                if data:
                    self.copy_in.feed(data)
                    continue
            elif conn.state is State.READY and self.session is not None and \
                    not conn.skip_until_sync and self.copy_in is None:
                synced = self._fast_group()
                if synced is not None:
                    if not synced:
                        await self._on_sync(m.SYNC)
                    if self._write_paused:
                        self.flush()
                        await self.drain()
                    continue
            try:
                ev = conn.next_event()
            except errors.DatabaseError as exc:
                self._send_outbox()
                self._fatal(exc)
                return
            self._send_outbox()
            if ev is None:
                break
            sync_handler = _SYNC_HANDLERS.get(type(ev))
            if sync_handler is not None:
                sync_handler(self, ev)  # no coroutine for messages that never wait
            elif type(ev) is m.Execute and self._execute_now(ev):
                pass
            elif type(ev) is m.Sync and self.session is not None and \
                    self.session.try_sync_now():
                self._after_sync()
            else:
                await self._dispatch(ev)
            if self._write_paused:
                # The client is not reading its replies: stop here until it
                # does, so output stays bounded (reading stops too, above
                # READ_PAUSE_THRESHOLD) and other connections get the loop.
                self.flush()
                await self.drain()
        self.flush()

    def _send_outbox(self) -> None:
        if self.conn.outbox:
            self.write(self.conn.take_output())

    async def _dispatch(self, ev: object) -> None:
        handler = _HANDLERS.get(type(ev))
        if handler is None:
            raise errors.ProtocolViolation(f"unexpected message {type(ev).__name__}")
        await handler(self, ev)

    # --- output ------------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self.out.append(data)
        self.out_size += len(data)
        if self.out_size > FLUSH_THRESHOLD:
            self.flush()

    def flush(self) -> None:
        if self.out and self.transport is not None and not self.closed:
            self.transport.write(b"".join(self.out))
        self.out.clear()
        self.out_size = 0

    async def drain(self) -> None:
        if self._write_paused and not self.closed:
            self._drain_waiter = self.server.loop.create_future()
            await self._drain_waiter
            self._drain_waiter = None

    def _fatal(self, err: errors.DatabaseError) -> None:
        self.write(codec.error_response(err, "FATAL"))
        self.flush()
        self.close()

    def close(self) -> None:
        self.conn.reject()
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True

    def _end_session(self) -> None:
        session = self.session
        if session is None:
            return
        self.session = None
        self.server.engine.sessions.pop(self.pid, None)
        self.server.cancel_keys.pop(self.pid, None)
        session._rollback()

    def _notices_and_status(self) -> None:
        s = self.session
        if s is None:
            return
        for severity, message, code in s.take_notices():
            self.write(codec.notice_response(
                message, severity, code or ("01000" if severity == "WARNING" else "00000")))

    def _ready(self, status: str) -> None:
        """ReadyForQuery, preceded (as in PostgreSQL) by a ParameterStatus for
        each reported setting whose value differs from what the client saw."""
        s = self.session
        if s is not None and s.changed_reported:
            seen = self.reported
            for name, value in s.take_reported_changes():
                if seen.get(name) != value:
                    seen[name] = value
                    self.write(codec.parameter_status(name, value))
        self.write(codec.ready_for_query(status))

    def _error(self, exc: errors.DatabaseError) -> None:
        if self.server.stopping and isinstance(exc, errors.QueryCanceled):
            # cancelled by shutdown: the client hears why, as from PostgreSQL
            raise errors.SessionTerminated(SHUTDOWN)
        self._notices_and_status()
        self.write(codec.error_response(exc))
        if self.session is not None:
            self.session.on_error()

    # --- startup ------------------------------------------------------------------------------------------
    async def _on_authenticated(self, ev: Authenticated) -> None:
        server = self.server
        try:
            if ev.user != server.settings.user:
                raise errors.InvalidAuthorizationSpecification(f'role "{ev.user}" does not exist')
            if len(server.engine.sessions) >= server.settings.max_connections:
                raise errors.TooManyConnections("sorry, too many clients already")
            if server.stopping:
                raise errors.CannotConnectNow("the database system is shutting down")
            db = server.registry.get(ev.database)
        except errors.DatabaseError as exc:
            self._fatal(exc)
            return
        self.pid = server.new_pid()
        self.secret = secrets.randbits(31)
        session = Session(server.engine, db, ev.user, ev.params, self.pid)
        self.session = session
        server.engine.sessions[self.pid] = session
        server.cancel_keys[self.pid] = (self.secret, self)
        self.reported = dict(session.reported_parameters())
        for name, value in self.reported.items():
            self.write(codec.parameter_status(name, value))
        session.take_reported_changes()
        self.write(codec.backend_key_data(self.pid, self.secret))
        self.write(codec.READY_IDLE)
        self.conn.session_started()
        self.flush()

    async def _on_cancel(self, ev: CancelReceived) -> None:
        entry = self.server.cancel_keys.get(ev.process_id)
        if entry is not None and entry[0] == ev.secret_key:
            target = entry[1]
            if target.session is not None:
                target.session.cancel()
        self.close()

    async def _on_terminate(self, ev: m.Terminate) -> None:
        self.flush()
        self.close()
        self._end_session()

    # --- simple query --------------------------------------------------------------------------------------
    async def _on_query(self, ev: m.Query) -> None:
        session = self.session
        assert session is not None
        if "" in session.prepared or "" in session.portals:
            # a simple Query ends the unnamed statement and portal (protocol rule)
            session.close_statement("")
            session.close_portal("")
        try:
            stmts = session.parse(ev.sql, normalize_literals=True)
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._error(as_db_error(exc))
            await self._finish_query()
            return
        if not stmts:
            self.write(codec.EMPTY_QUERY)
            await self._finish_query()
            return
        self.pending = deque(stmts)
        await self._run_pending()

    async def _run_pending(self) -> None:
        session = self.session
        assert session is not None
        while self.pending:
            stmt = self.pending.popleft()
            try:
                res = await session.execute(stmt)
            except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
                self.pending.clear()
                self._error(as_db_error(exc))
                break
            if res.copy is not None:
                if isinstance(res.copy, CopyIn):
                    self._notices_and_status()
                    self.copy_in = res.copy
                    self.write(codec.copy_in_response(res.copy.ncols, res.copy.binary))
                    self.conn.start_copy_in()
                    self.flush()
                    return  # resumes when CopyDone / CopyFail arrives
                await self._send_copy_out(res.copy, res.tag)
                continue
            await self._send_result(res, None, describe=True)
        await self._finish_query()

    async def _finish_query(self) -> None:
        session = self.session
        if session is not None:
            try:
                await session.finish_implicit()
            except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
                self._error(as_db_error(exc))
            self._notices_and_status()
            self._ready(session.status)
        self.flush()

    async def _send_result(self, res: Result, formats: tuple[int, ...] | None,
                           describe: bool) -> None:
        session = self.session
        assert session is not None
        self._notices_and_status()
        if res.empty:
            self.write(codec.EMPTY_QUERY)
            return
        if res.columns is not None:
            fmts = _formats(len(res.columns), formats or ())
            if describe:
                self.write(_row_description(res.columns, fmts))
            await self._send_rows(res.columns, fmts, res.rows)
        self.write(codec.command_complete(res.tag))

    async def _send_rows(self, columns: list[OutCol], fmts: list[int],
                         rows: list[tuple]) -> None:
        session = self.session
        assert session is not None
        encs = _row_encoders(columns, fmts, session.tz)
        data_row = codec.data_row
        write = self.write
        if len(encs) == 1:
            enc = encs[0]
            for r in rows:
                v = r[0]
                write(data_row((None if v is None else enc(v),)))
                if self._write_paused:
                    self.flush()
                    await self.drain()
            return
        for r in rows:
            write(data_row([None if v is None else e(v) for v, e in zip(r, encs, strict=True)]))
            if self._write_paused:
                self.flush()
                await self.drain()

    async def _send_copy_out(self, copy: CopyOut, tag: str) -> None:
        self.write(codec.copy_out_response(copy.ncols, copy.binary))
        for line in copy.lines:
            self.write(codec.copy_data(line))
            if self._write_paused:
                self.flush()
                await self.drain()
        self.write(codec.COPY_DONE)
        self.write(codec.command_complete(tag))

    # --- COPY FROM STDIN ---------------------------------------------------------------------------------------
    def _on_copy_data(self, ev: m.CopyData) -> None:
        if self.copy_in is not None:
            self.copy_in.feed(ev.data)

    async def _on_copy_done(self, ev: m.CopyDone) -> None:
        copy = self.copy_in
        self.copy_in = None
        self.conn.end_copy_in()
        if copy is None:
            return
        try:
            res = await copy.finish()
            self._notices_and_status()
            self.write(codec.command_complete(res.tag))
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self.pending.clear()
            self._error(as_db_error(exc))
        await self._run_pending()

    async def _on_copy_fail(self, ev: m.CopyFail) -> None:
        copy = self.copy_in
        self.copy_in = None
        self.conn.end_copy_in()
        if copy is not None:
            self.pending.clear()
            self._error(copy.fail(ev.message))
        await self._run_pending()

    # --- extended query ------------------------------------------------------------------------------------------
    def _ext_error(self, exc: errors.DatabaseError) -> None:
        self._error(exc)
        self.conn.error_in_extended_query()

    def _on_parse(self, ev: m.Parse) -> None:
        session = self.session
        assert session is not None
        try:
            if ev.name == "":
                session.close_statement("")
            session.prepare(ev.name, ev.sql, ev.param_oids)
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._ext_error(as_db_error(exc))
            return
        self.write(codec.PARSE_COMPLETE)

    def _on_bind(self, ev: m.Bind) -> None:
        session = self.session
        assert session is not None
        try:
            if ev.portal == "":
                session.close_portal("")
            session.bind(ev.portal, ev.statement, ev.param_formats, ev.params,
                         ev.result_formats)
            if len(ev.result_formats) > 1:  # one format per column: checked at Bind
                cols = session.describe_portal(ev.portal)
                if cols is not None and len(cols) != len(ev.result_formats):
                    session.close_portal(ev.portal)
                    raise errors.ProtocolViolation(
                        f"bind message has {len(ev.result_formats)} result formats but "
                        f"query has {len(cols)} columns")
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._ext_error(as_db_error(exc))
            return
        self.write(codec.BIND_COMPLETE)

    def _on_describe(self, ev: m.Describe) -> None:
        session = self.session
        assert session is not None
        try:
            if ev.kind == "S":
                ptypes, cols = session.describe_statement(ev.name)
                self.write(codec.parameter_description([t.oid for t in ptypes]))
                self.write(_row_description(cols, [0] * len(cols)) if cols is not None
                           else codec.NO_DATA)
            else:
                portal = session.portals.get(ev.name)
                cols = session.describe_portal(ev.name)
                if cols is None:
                    self.write(codec.NO_DATA)
                else:
                    fmts = _formats(len(cols), portal.result_formats if portal else ())
                    self.write(_row_description(cols, fmts))
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._ext_error(as_db_error(exc))

    def _fast_group(self) -> bool | None:
        """One run of a prepared statement, `Bind, [Describe,] Execute, Sync`
        on the unnamed portal, handled without message objects or a portal:
        the shape pgbench -M prepared and psycopg send for every execution.
        None: not such a group, or the session wants the general path (which
        then handles the same bytes). True: done, Sync included; False: the
        Sync must wait (a commit's WAL flush)."""
        dec = self.conn.decoder
        group = dec.prepared_group()
        if group is None:
            return None
        bind, describe, size = group
        if len(bind.result_formats) > 1:
            return None        # per-column result formats are checked at Bind
        session = self.session
        assert session is not None
        try:
            res = session.fast_execute(bind.statement, bind.param_formats, bind.params,
                                       bind.result_formats)
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            dec.consume_group(size)
            self.write(codec.BIND_COMPLETE)
            if describe:
                entry = session.prepared[bind.statement].entry
                assert entry is not None
                cols = entry.columns if entry.kind == "query" or entry.columns else None
                self.write(codec.NO_DATA if cols is None else _row_description(
                    cols, _formats(len(cols), bind.result_formats)))
            self._error(as_db_error(exc))
        else:
            if res is None:
                return None
            dec.consume_group(size)
            write = self.write
            write(codec.BIND_COMPLETE)
            cols = res.columns
            if cols is None:
                if describe:
                    write(codec.NO_DATA)
                self._notices_and_status()
            else:
                fmts = _formats(len(cols), bind.result_formats)
                if describe:
                    write(_row_description(cols, fmts))
                self._notices_and_status()
                encs = _row_encoders(cols, fmts, session.tz)
                data_row = codec.data_row
                for r in res.rows:
                    write(data_row([None if v is None else e(v)
                                    for v, e in zip(r, encs, strict=True)]))
            write(codec.command_complete(res.tag))
        if session.try_sync_now():
            self._after_sync()
            return True
        return False

    def _execute_now(self, ev: m.Execute) -> bool:
        """Execute a plain read without awaiting anything; False when the
        general path is needed."""
        session = self.session
        if session is None or ev.max_rows:
            return False
        try:
            res = session.try_execute_portal_now(ev.portal)
            if res is None:
                return False
            portal = session.portals[ev.portal]
            self._notices_and_status()
            write = self.write
            if res.columns is not None:
                fmts = _formats(len(res.columns), portal.result_formats)
                encs = _row_encoders(res.columns, fmts, session.tz)
                data_row = codec.data_row
                for r in res.rows:
                    write(data_row([None if v is None else e(v)
                                    for v, e in zip(r, encs, strict=True)]))
            write(codec.command_complete(res.tag))
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._ext_error(as_db_error(exc))
        return True

    async def _on_execute(self, ev: m.Execute) -> None:
        session = self.session
        assert session is not None
        try:
            portal = session.portals.get(ev.portal)
            if portal is None:
                raise errors.InvalidCursorName(f'portal "{ev.portal}" does not exist')
            res, suspended = await session.execute_portal(ev.portal, ev.max_rows)
            if res.copy is not None:
                raise errors.FeatureNotSupported(
                    "COPY is only supported in the simple query protocol")
            self._notices_and_status()
            if res.empty:
                self.write(codec.EMPTY_QUERY)
                return
            if res.columns is not None:
                fmts = _formats(len(res.columns), portal.result_formats)
                await self._send_rows(res.columns, fmts, res.rows)
            if suspended:
                self.write(codec.PORTAL_SUSPENDED)
            else:
                self.write(codec.command_complete(res.tag))
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._ext_error(as_db_error(exc))

    def _on_close(self, ev: m.Close) -> None:
        session = self.session
        assert session is not None
        if ev.kind == "S":
            session.close_statement(ev.name)
        else:
            session.close_portal(ev.name)
        self.write(codec.CLOSE_COMPLETE)

    async def _on_sync(self, ev: m.Sync) -> None:
        session = self.session
        assert session is not None
        try:
            await session.sync()
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._error(as_db_error(exc))
        self._after_sync()

    def _after_sync(self) -> None:
        session = self.session
        assert session is not None
        self._notices_and_status()
        self._ready(session.status)
        self.flush()

    def _on_flush(self, ev: m.Flush) -> None:
        self.flush()

    async def _on_undecodable(self, ev: m.Undecodable) -> None:
        if ev.kind == "Q":
            self._error(ev.error)
            await self._finish_query()
        else:
            self._ext_error(ev.error)

    def _on_function_call(self, ev: m.FunctionCall) -> None:
        self._ext_error(errors.FeatureNotSupported("the fastpath function call protocol is "
                                                   "not supported"))


_SYNC_HANDLERS: dict[type, Any] = {
    m.Parse: ClientProtocol._on_parse,
    m.Bind: ClientProtocol._on_bind,
    m.Describe: ClientProtocol._on_describe,
    m.Close: ClientProtocol._on_close,
    m.Flush: ClientProtocol._on_flush,
    m.CopyData: ClientProtocol._on_copy_data,
    m.FunctionCall: ClientProtocol._on_function_call,
}

_HANDLERS: dict[type, Any] = {
    Authenticated: ClientProtocol._on_authenticated,
    CancelReceived: ClientProtocol._on_cancel,
    m.Terminate: ClientProtocol._on_terminate,
    m.Query: ClientProtocol._on_query,
    m.Execute: ClientProtocol._on_execute,
    m.Sync: ClientProtocol._on_sync,
    m.CopyDone: ClientProtocol._on_copy_done,
    m.CopyFail: ClientProtocol._on_copy_fail,
    m.Undecodable: ClientProtocol._on_undecodable,
}


class Server:
    def __init__(self, settings: Settings, registry: TenantRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else make_registry(settings)
        self.engine = Engine(self.registry, settings)
        users: dict[str, ScramVerifier] = {}
        if settings.password:
            users[settings.user] = ScramVerifier.from_password(settings.password)
        self.authenticator = Authenticator(settings.effective_auth, users)
        self.connections: set[ClientProtocol] = set()
        self.cancel_keys: dict[int, tuple[int, ClientProtocol]] = {}
        self._pid = 1000
        self.loop: asyncio.AbstractEventLoop = asyncio.get_event_loop()
        self.listener: asyncio.base_events.Server | None = None
        self.stopping = False
        self.port = settings.port
        self._stopped = asyncio.Event()

    def new_pid(self) -> int:
        self._pid += 1
        return self._pid

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        from aiondb.recovery import crc_extension_warning
        warning = crc_extension_warning()
        if warning:
            log.warning("%s", warning)
        # the registry logs its own open/recovery lines (aiondb.recovery logger)
        await self.registry.open(None)
        self.listener = await self.loop.create_server(
            lambda: ClientProtocol(self), self.settings.host, self.settings.port,
            reuse_address=True, backlog=512)
        sock = self.listener.sockets[0]
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, cancel waits of running statements, tell idle
        sessions and close them, then close the registry."""
        if self.stopping:
            return
        self.stopping = True
        if self.listener is not None:
            self.listener.close()
        for c in list(self.connections):
            if c.session is not None:
                c.session.cancel()
        for _ in range(50):
            if not any(c.busy for c in self.connections):
                break
            await asyncio.sleep(0.02)
        for c in list(self.connections):
            if not c.closed:
                c._fatal(SHUTDOWN)
            c._end_session()
        await self.registry.close()
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()


def make_registry(settings: Settings) -> TenantRegistry:
    if settings.backend == "memory":
        return TenantRegistry()
    from aiondb.storage.durable import DurableRegistry  # type: ignore[import-not-found]
    return DurableRegistry(settings)


async def run_server(settings: Settings, ready: Any = None) -> None:
    server = Server(settings)
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.stop()))
        except (NotImplementedError, RuntimeError):
            pass
    if ready is not None:
        ready(server)
    await server.wait_stopped()
