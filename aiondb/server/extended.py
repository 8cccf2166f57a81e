"""The extended query protocol (Parse, Bind, Describe, Execute, Close,
Sync), including the fast lane for `Bind, [Describe,] Execute, Sync` of a
prepared statement (see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from aiondb import errors
from aiondb.server.output import OutputMixin, _formats, _row_description, _row_writer, as_db_error
from aiondb.sql.results import INSERTED_ONE, STREAM_BATCH, Result
from aiondb.wire import codec
from aiondb.wire import messages as m

_INSERTED_ONE = codec.BIND_COMPLETE + codec.command_complete(INSERTED_ONE.tag)
_INSERTED_ONE_DESCRIBED = codec.BIND_COMPLETE + codec.NO_DATA + \
    codec.command_complete(INSERTED_ONE.tag)


class ExtendedQueryMixin(OutputMixin):
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
        stmt_name, param_formats, params, result_formats, describe, size = group
        if len(result_formats) > 1:
            return None        # per-column result formats are checked at Bind
        session = self.session
        assert session is not None
        try:
            res = session.fast_execute(stmt_name, param_formats, params, result_formats)
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            dec.consume_group(size)
            self.write(codec.BIND_COMPLETE)
            if describe:
                entry = session.prepared[stmt_name].entry
                assert entry is not None
                cols = entry.columns if entry.kind == "query" or entry.columns else None
                self.write(codec.NO_DATA if cols is None else _row_description(
                    cols, _formats(len(cols), result_formats)))
            if getattr(exc, "rows_before", None) is not None:
                self._continuation = self._fast_rest(None, None, result_formats, exc)
                return False
            self._error(as_db_error(exc))
        else:
            if res is None:
                return None
            dec.consume_group(size)
            write = self.write
            if res is INSERTED_ONE and not session.notices:
                # the express INSERT's answer, the commonest: prebuilt
                write(_INSERTED_ONE_DESCRIBED if describe else _INSERTED_ONE)
                return self._fast_sync(session)
            write(codec.BIND_COMPLETE)
            cols = res.columns
            if cols is None:
                if describe:
                    write(codec.NO_DATA)
                self._notices_and_status()
            else:
                fmts = _formats(len(cols), result_formats)
                if describe:
                    write(_row_description(cols, fmts))
                self._notices_and_status()
                rows = res.rows
                if res.more is not None or len(rows) > STREAM_BATCH:
                    # a big result goes out with flow control
                    self._continuation = self._fast_rest(res, fmts, (), None)
                    return False
                write_row = _row_writer(cols, fmts, session.tz)
                for r in rows:
                    write(write_row(r))
            write(codec.command_complete(res.tag))
        return self._fast_sync(session)

    def _fast_sync(self, session: Any) -> bool:
        """The fast lane group's Sync (see _fast_group)."""
        try:
            done = session.sync_start()
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._error(as_db_error(exc))
            done = True
        if done is True:
            self._after_sync()
            return True
        if done is not False:
            self._commit_wait = done  # _process waits for its flush
        return False

    def _commit_flushed(self, pending: Any) -> None:
        """The fast lane's Sync, once the WAL flush of the commit that
        sync_start began is done: finish the commit, answer."""
        session = self.session
        assert session is not None
        try:
            session.sync_finish(pending)
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._error(as_db_error(exc))
        self._after_sync()

    async def _fast_rest(self, res: Result | None, fmts: list[int] | None,
                         formats: tuple[int, ...], exc: Exception | None) -> None:
        """The end of a fast-lane group whose rows need flow control: a big
        or streamed result, or the rows produced before an error; then the
        group's Sync."""
        if exc is None:
            assert res is not None and res.columns is not None and fmts is not None
            try:
                n = await self._send_rows(res.columns, fmts, res.rows, res.more, res.shared)
                self.write(codec.command_complete(
                    res.tag if res.more is None else f"SELECT {n}"))
            except Exception as err:  # noqa: BLE001 - converted to a SQLSTATE
                self._error(as_db_error(err))
        else:
            await self._rows_before_error(exc, formats, describe=False)
            self._error(as_db_error(exc))
        session = self.session
        assert session is not None
        if session.try_sync_now():
            self._after_sync()
        else:
            await self._on_sync(m.SYNC)

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
                if res.more is not None or len(res.rows) > STREAM_BATCH:
                    self._continuation = self._execute_rest(res, fmts, ())
                    return True
                write_row = _row_writer(res.columns, fmts, session.tz)
                for r in res.rows:
                    write(write_row(r))
            write(codec.command_complete(res.tag))
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            portal = session.portals.get(ev.portal)
            if getattr(exc, "rows_before", None) is not None and portal is not None:
                self._continuation = self._execute_rest(exc, None, portal.result_formats)
                return True
            self._ext_error(as_db_error(exc))
        return True

    async def _execute_rest(self, res: Result | Exception, fmts: list[int] | None,
                            formats: tuple[int, ...]) -> None:
        """Execute's rows with flow control (a big or streamed result), or
        the rows produced before an error and then the error."""
        try:
            if isinstance(res, Exception):
                await self._rows_before_error(res, formats, describe=False)
                raise res
            assert res.columns is not None and fmts is not None
            n = await self._send_rows(res.columns, fmts, res.rows, res.more, res.shared)
            self.write(codec.command_complete(res.tag if res.more is None else f"SELECT {n}"))
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            self._ext_error(as_db_error(exc))

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
            await self._send_result(res, portal.result_formats, False, suspended)
        except Exception as exc:  # noqa: BLE001 - converted to a SQLSTATE
            if portal is not None:
                await self._rows_before_error(exc, portal.result_formats, describe=False)
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
