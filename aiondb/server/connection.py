"""ClientProtocol: one client connection. Feeds received bytes to the wire
state machine and runs the per-connection loop that dispatches its events
to the handlers (startup.py, simple_query.py, extended.py; output.py
encodes and writes)."""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb.server.extended import ExtendedQueryMixin
from aiondb.server.output import READ_PAUSE_THRESHOLD, SHUTDOWN, log
from aiondb.server.simple_query import SimpleQueryMixin
from aiondb.server.startup import StartupMixin
from aiondb.sql import statements as st
from aiondb.sql.copy import CopyIn
from aiondb.sql.session import Session
from aiondb.storage.single_commit import SingleInsertCommit
from aiondb.wire import codec
from aiondb.wire import messages as m
from aiondb.wire.connection import Authenticated, CancelReceived, ServerConnection, State

if TYPE_CHECKING:
    from aiondb.server.listener import Server


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


class _NextTurn:
    """`await _NEXT_TURN`: continue in a later callback of the loop."""

    __slots__ = ()

    def __await__(self) -> Any:
        yield None


_NEXT_TURN = _NextTurn()


class ClientProtocol(StartupMixin, SimpleQueryMixin, ExtendedQueryMixin, asyncio.Protocol):
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
        # the rest of a synchronous handler's work that must await (streaming)
        self._continuation: Coroutine | None = None
        self._commit_wait: Any = None  # the fast lane's commit waiting for its flush
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
        session = self.session
        conn = self.conn
        if session is not None:
            session.running = True     # pg_stat_activity's "active"
        if session is None or conn.state is not State.READY or conn.skip_until_sync or \
                self.copy_in is not None or self.closed:
            _Runner(self._process(), self._processing_done, self.server.loop).step()
            return
        # The fast lane's commonest runs need no coroutine: a group answered at
        # once, or a one-row commit that the WAL's completion finishes
        try:
            synced = self._fast_group()
        except BaseException as exc:  # noqa: BLE001 - as _Runner reports it
            self._processing_done(exc)
            return
        if synced is True and not self._write_paused and not conn.decoder.buffered:
            self._processing_done(None)
            return
        if synced is False and self._continuation is None:
            wait = self._commit_wait
            if type(wait) is SingleInsertCommit and not wait.done:
                self._commit_wait = None
                wait.add_done_callback(self._fast_commit_done)
                return
        _Runner(self._process(synced), self._processing_done, self.server.loop).step()

    def _fast_commit_done(self, wait: SingleInsertCommit) -> None:
        """_start's one-row commit, once its flush is done (called by the WAL's
        completion): answer, and go on in a later turn if more has arrived."""
        s = self.session
        if wait.error is None and s is not None and not (
                s.notices or s.changed_reported or s.failed or s.in_block):
            # committed with nothing to report: what _commit_flushed would send
            self.out.append(codec.READY_IDLE)
            self.flush()
        else:
            try:
                self._commit_flushed(wait)
            except BaseException as exc:  # noqa: BLE001 - as _Runner reports it
                self._processing_done(exc)
                return
        if self._write_paused or self.conn.decoder.buffered:
            self.server.loop.call_soon(self._continue_processing)
            return
        self._processing_done(None)

    def _continue_processing(self) -> None:
        _Runner(self._process(True), self._processing_done, self.server.loop).step()

    def _processing_done(self, exc: BaseException | None) -> None:
        self.busy = False
        if self.session is not None:
            self.session.running = False
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
        if self.session is not None and self.session.terminate_requested:
            self._fatal(SHUTDOWN)      # pg_terminate_backend during the statement
            self._end_session()
            return
        # _process returns only once no complete message is buffered (data that
        # arrived during an await was consumed by its loop), so nothing to restart
        if self._read_paused and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()

    async def _process(self, group: bool | None = None) -> None:
        """Handle buffered messages until none is complete. group: the outcome
        of the fast-lane group _start already ran (see _fast_group)."""
        conn = self.conn
        while not self.closed:
            synced = group
            group = None
            if synced is not None:
                pass        # the group _start ran
            elif conn.state is State.COPY_IN and self.copy_in is not None:
                data = conn.decoder.take_copy_data()
                if data:
                    self.copy_in.feed(data)
                    continue
            elif conn.state is State.READY and self.session is not None and \
                    not conn.skip_until_sync and self.copy_in is None:
                synced = self._fast_group()
            if synced is not None:
                if not synced:
                    cont = self._continuation
                    wait = self._commit_wait
                    if cont is not None:
                        self._continuation = None
                        await cont
                    elif wait is not None:
                        # the commit waits for its WAL flush, no coroutine chain
                        # (a one-row commit is resumed by the WAL's completion
                        # itself: see SingleInsertCommit)
                        self._commit_wait = None
                        try:
                            await wait
                        except Exception:  # noqa: BLE001 - sync_finish raises it
                            pass
                        self._commit_flushed(wait)
                        if conn.decoder.buffered:
                            await _NEXT_TURN   # not inside the WAL's completion
                    else:
                        await self._on_sync(m.SYNC)
                if self._write_paused:
                    self.flush()
                    await self.drain()
                if not conn.decoder.buffered:
                    break          # the common case: nothing more has arrived
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
                cont = self._continuation
                if cont is not None:
                    self._continuation = None
                    await cont
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
    def _end_session(self) -> None:
        session = self.session
        if session is None:
            return
        self.session = None
        self.server.engine.sessions.pop(self.pid, None)
        self.server.cancel_keys.pop(self.pid, None)
        session._rollback()

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

