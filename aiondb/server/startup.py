"""Connection startup after authentication, cancel requests and Terminate."""

from __future__ import annotations

import secrets

from aiondb import errors
from aiondb.server.output import SHUTDOWN, OutputMixin
from aiondb.sql.session import Session
from aiondb.wire import codec
from aiondb.wire import messages as m
from aiondb.wire.connection import Authenticated, CancelReceived


class StartupMixin(OutputMixin):
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
        session.terminator = self._terminate_by_admin
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

    def _terminate_by_admin(self) -> None:
        """pg_terminate_backend: end the session with 57P01, as PostgreSQL
        does. A statement waiting (for a lock, a sleep) is interrupted and the
        error replaced; an idle session goes at once."""
        session = self.session
        if session is None or self.closed:
            return
        session.terminate_requested = True
        if self.busy:
            session.cancel()     # _error / _processing_done turn it into the FATAL
            return
        self._fatal(SHUTDOWN)
        self._end_session()

    async def _on_terminate(self, ev: m.Terminate) -> None:
        self.flush()
        self.close()
        self._end_session()
