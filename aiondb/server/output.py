"""Output of a connection: buffered writes and flow control, and the
encoding of results (RowDescription, DataRow), notices and errors."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import statements as st
from aiondb.sql.binaryio import binary_encoder
from aiondb.sql.copy import CopyIn
from aiondb.sql.plan import OutCol
from aiondb.sql.results import STREAM_BATCH, Result, settle
from aiondb.sql.session import Session
from aiondb.sql.textio import output_encoder
from aiondb.wire import codec
from aiondb.wire.connection import ServerConnection

if TYPE_CHECKING:
    from aiondb.server.listener import Server

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


def _row_writer(columns: list[OutCol], fmts: list[int], tz: Any) -> Callable[[tuple], bytes]:
    """row → its DataRow message, for these columns in these formats
    (codec.data_row_writer over the columns' encoders), cached."""
    key = (id(columns), tuple(fmts), tz)
    hit = _ENCODER_CACHE.get(key)
    if hit is not None and hit[0] is columns:
        return hit[1]
    writer = codec.data_row_writer(
        [binary_encoder(c.type) if f == 1 else output_encoder(c.type, tz)
         for c, f in zip(columns, fmts, strict=True)])
    if len(_ENCODER_CACHE) >= _CACHE_LIMIT:
        _ENCODER_CACHE.clear()
    _ENCODER_CACHE[key] = (columns, writer)
    return writer


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



class OutputMixin:
    """Write buffering and result encoding, shared by the protocol handlers
    (the attributes are ClientProtocol's)."""

    server: Server
    transport: asyncio.Transport | None
    conn: ServerConnection
    session: Session | None
    out: list[bytes]
    out_size: int
    closed: bool
    copy_in: CopyIn | None
    pending: deque[st.Statement]
    reported: dict[str, str]
    _write_paused: bool
    _drain_waiter: asyncio.Future | None
    _continuation: Coroutine | None
    _commit_wait: Any

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

    def _notices_and_status(self) -> None:
        s = self.session
        if s is None or not s.notices:
            return
        for severity, message, code, detail in s.take_notices():
            self.write(codec.notice_response(
                message, severity, code or ("01000" if severity == "WARNING" else "00000"),
                detail))

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
        if isinstance(exc, errors.QueryCanceled):
            # cancelled by shutdown or pg_terminate_backend: the client hears
            # why, as from PostgreSQL
            if self.server.stopping:
                raise errors.SessionTerminated(SHUTDOWN)
            if self.session is not None and self.session.terminate_requested:
                raise errors.SessionTerminated(SHUTDOWN)
        self._notices_and_status()
        self.write(codec.error_response(exc))
        if self.session is not None:
            self.session.on_error()
    async def _send_result(self, res: Result, formats: tuple[int, ...] | None,
                           describe: bool, suspended: bool = False,
                           before_complete: Callable[[], Awaitable[None]] | None = None
                           ) -> None:
        """A statement's reply: notices, [RowDescription,] rows, then
        CommandComplete (PortalSuspended for a portal with rows left).
        before_complete runs after the rows, before CommandComplete: the
        simple protocol's implicit commit, whose error then takes the place
        of CommandComplete."""
        session = self.session
        assert session is not None
        self._notices_and_status()
        if res.empty:
            self.write(codec.EMPTY_QUERY)
            return
        tag = res.tag
        if res.columns is not None:
            fmts = _formats(len(res.columns), formats or ())
            if describe:
                self.write(_row_description(res.columns, fmts))
            n = await self._send_rows(res.columns, fmts, res.rows, res.more, res.shared)
            if res.more is not None:
                tag = f"SELECT {n}"
        if before_complete is not None:
            await before_complete()
            self._notices_and_status()
        self.write(codec.PORTAL_SUSPENDED if suspended else codec.command_complete(tag))

    async def _send_rows(self, columns: list[OutCol], fmts: list[int], rows: list[tuple],
                         more: Iterator[tuple] | None = None, shared: bool = False) -> int:
        """DataRows for rows, then for what `more` (a streamed result) yields,
        pulled STREAM_BATCH rows at a time as the client reads: the server
        holds about one batch and the transport's buffer, not the result.
        shared: `more` reads tables, so it is settled (produced in full) before
        the first wait for the client, and other connections do not run
        between batches. Returns the number of rows sent; an error of `more`
        propagates after the rows produced before it, as PostgreSQL does."""
        session = self.session
        assert session is not None
        write_row = _row_writer(columns, fmts, session.tz)
        write = self.write
        sent = 0
        while True:
            for r in rows:
                write(write_row(r))
                if self._write_paused:
                    if shared and more is not None:
                        more, shared = settle(more), False
                    await self._wait_writable()
            sent += len(rows)
            if more is None or self.closed:
                return sent
            transport = self.transport
            if transport is None or transport.is_closing():
                return sent     # the client is gone: stop producing
            if not shared:
                # between batches, let other connections run (nothing they do
                # can change these rows); a cancel request that arrived
                # meanwhile ends the statement
                await asyncio.sleep(0)
                if session.cancel_requested:
                    raise errors.QueryCanceled("canceling statement due to user request")
            rows = []
            try:
                rows.extend(islice(more, STREAM_BATCH))
            except Exception:
                more = None   # send what came before the error, then raise it
                await self._send_rows(columns, fmts, rows)
                raise
            if not rows:
                return sent

    async def _wait_writable(self) -> None:
        """Flush and wait until the client has read enough. A cancel request
        (or shutdown) interrupts the wait like any other of the statement."""
        self.flush()
        session = self.session
        if not self._write_paused or self.closed or session is None:
            return
        if session.cancel_requested:
            raise errors.QueryCanceled("canceling statement due to user request")
        fut = self._drain_waiter = self.server.loop.create_future()
        session._waiting = fut
        try:
            await fut
        except asyncio.CancelledError:
            raise errors.QueryCanceled("canceling statement due to user request") from None
        finally:
            self._drain_waiter = None
            session._waiting = None

    async def _rows_before_error(self, exc: Exception, formats: tuple[int, ...] | None,
                                 describe: bool) -> None:
        """A query failed while producing rows: PostgreSQL has sent its
        RowDescription (simple protocol) and the rows before the error."""
        before = getattr(exc, "rows_before", None)
        if before is None or self.session is None:
            return
        columns, rows = before
        try:
            fmts = _formats(len(columns), formats or ())
            if describe:
                self.write(_row_description(columns, fmts))
            await self._send_rows(columns, fmts, rows)
        except errors.DatabaseError:
            pass      # e.g. cancelled while sending: the statement's error follows
