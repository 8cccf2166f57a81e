"""The simple query protocol (Query) and the COPY sub-protocol it starts."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

from aiondb.server.output import OutputMixin, as_db_error
from aiondb.sql import statements as st
from aiondb.sql.copy import CopyIn, CopyOut
from aiondb.sql.results import STREAM_BATCH
from aiondb.wire import codec
from aiondb.wire import messages as m


class SimpleQueryMixin(OutputMixin):
    async def _on_query(self, ev: m.Query) -> None:
        session = self.session
        assert session is not None
        session.current_query = ev.sql
        # A simple Query ends the unnamed statement. The unnamed portal ends
        # when a statement of the query runs (PostgreSQL replaces it with the
        # statement's own); outside a block it would not outlive the query.
        session.close_statement("")
        if not session.in_block:
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
                res = await session.execute(stmt, stream=STREAM_BATCH)
            except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
                self.pending.clear()
                await self._rows_before_error(exc, None, describe=True)
                self._statement_failed(stmt, exc)
                break
            if session.started:
                session.close_portal("")
            if res.copy is not None:
                if isinstance(res.copy, CopyIn):
                    self._notices_and_status()
                    self.copy_in = res.copy
                    self.write(codec.copy_in_response(res.copy.ncols, res.copy.binary))
                    self.conn.start_copy_in()
                    self.flush()
                    return  # resumes when CopyDone / CopyFail arrives
                try:
                    await self._send_copy_out(res.copy, res.tag, self._commit_if_last())
                except Exception as exc:  # noqa: BLE001 - the implicit commit failed
                    self.pending.clear()
                    self._statement_failed(stmt, exc)
                    break
                continue
            try:
                await self._send_result(res, None, describe=True,
                                        before_complete=self._commit_if_last())
            except Exception as exc:  # noqa: BLE001 - raised by a streamed result
                self.pending.clear()
                self._statement_failed(stmt, exc)
                break
        await self._finish_query()

    def _commit_if_last(self) -> Callable[[], Awaitable[None]] | None:
        """For the query's last statement outside a block: the implicit
        commit, to run before its CommandComplete. As in PostgreSQL, an
        error at commit (a deferred constraint, a WAL write that failed)
        then comes instead of CommandComplete, never after it."""
        session = self.session
        if self.pending or session is None or session.in_block:
            return None
        return session.finish_implicit

    def _statement_failed(self, stmt: st.Statement, exc: Exception) -> None:
        session = self.session
        assert session is not None
        started = session.started and not getattr(exc, "while_planning", False)
        self._error(as_db_error(exc))
        if started and session.in_block:
            session.keep_failed_portal(stmt)

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

    async def _send_copy_out(self, copy: CopyOut, tag: str,
                             before_complete: Callable[[], Awaitable[None]] | None) -> None:
        self.write(codec.copy_out_response(copy.ncols, copy.binary))
        for line in copy.lines:
            self.write(codec.copy_data(line))
            if self._write_paused:
                self.flush()
                await self.drain()
        self.write(codec.COPY_DONE)
        if before_complete is not None:
            await before_complete()
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
            commit = self._commit_if_last()
            if commit is not None:
                await commit()
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
