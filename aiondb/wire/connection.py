"""The server side of one protocol connection as a sans-IO state machine.

Bytes go in with `receive_data`; `next_event` returns what the application
must act on; bytes the connection itself produces (SSL refusal, auth
challenges) are collected in `outbox`. All state transitions are in the
TRANSITIONS table; a message the table does not allow in the current state
is a protocol error naming both, and any protocol error ends the connection.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from aiondb import errors
from aiondb.wire import codec
from aiondb.wire import messages as m
from aiondb.wire.scram import MECHANISM, ScramExchange, ScramVerifier


class State(Enum):
    STARTUP = "startup"
    AUTH_SASL_INITIAL = "awaiting SASLInitialResponse"
    AUTH_SASL_FINAL = "awaiting SASLResponse"
    AUTH_PASSWORD = "awaiting password"
    STARTING = "authenticated, starting session"
    READY = "ready"
    COPY_IN = "copy in"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Authentication succeeded; the application opens the session (or fails
    it with `reject`) and then calls `session_started`."""

    user: str
    database: str
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class CancelReceived:
    process_id: int
    secret_key: int


class Authenticator:
    """Who may log in and how. `verifier(user)` is None for unknown users."""

    def __init__(self, method: str, users: dict[str, ScramVerifier] | None = None) -> None:
        self.method = method  # 'trust' | 'scram-sha-256'
        self.users = users or {}

    def verifier(self, user: str) -> ScramVerifier | None:
        return self.users.get(user)


_ANY_STARTUP = (m.StartupMessage, m.SSLRequest, m.GSSENCRequest, m.CancelRequest)
_QUERY_MSGS = (m.Query, m.Parse, m.Bind, m.Describe, m.Execute, m.Close, m.Sync, m.Flush,
               m.FunctionCall)

# state → message types allowed there. Anything else is a protocol violation.
TRANSITIONS: dict[State, tuple[type, ...]] = {
    State.STARTUP: _ANY_STARTUP,
    State.AUTH_SASL_INITIAL: (m.PasswordMessage, m.Terminate),
    State.AUTH_SASL_FINAL: (m.PasswordMessage, m.Terminate),
    State.AUTH_PASSWORD: (m.PasswordMessage, m.Terminate),
    State.STARTING: (),
    # Copy messages outside COPY are ignored, as PostgreSQL does.
    State.READY: _QUERY_MSGS + (m.Terminate, m.CopyData, m.CopyDone, m.CopyFail,
                                m.Undecodable),
    # Flush and Sync are ignored during COPY IN, as PostgreSQL does.
    State.COPY_IN: (m.CopyData, m.CopyDone, m.CopyFail, m.Flush, m.Sync, m.Terminate),
    State.CLOSED: (),
}


_READY_PASSTHROUGH = frozenset((m.Query, m.Parse, m.Bind, m.Describe, m.Execute, m.Close,
                                m.Sync, m.Flush, m.FunctionCall))


def split_options(text: str) -> dict[str, str]:
    """Settings from the startup packet's `options` (libpq's PGOPTIONS), read
    as PostgreSQL does: words split on whitespace (a backslash escapes the
    next character), each setting given as `-c name=value` or `--name=value`."""
    words: list[str] = []
    word: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            word.append(next(chars, ""))
        elif ch.isspace():
            if word:
                words.append("".join(word))
                word = []
        else:
            word.append(ch)
    if word:
        words.append("".join(word))
    out: dict[str, str] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w == "-c" and i + 1 < len(words):
            i += 1
            setting = words[i]
        elif w.startswith("-c") and len(w) > 2:
            setting = w[2:]
        elif w.startswith("--") and len(w) > 2:
            setting = w[2:]
        else:
            raise errors.SyntaxError(
                f"invalid command-line argument for server process: {w}",
                hint="Only -c name=value and --name=value are accepted in options.")
        name, eq, value = setting.partition("=")
        if not eq or not name:
            raise errors.SyntaxError(f"-c {setting} requires a value" if not eq else
                                     f"invalid command-line argument: {setting}")
        out[name.replace("-", "_")] = value
        i += 1
    return out


class ServerConnection:
    """Protocol state for one client. Raises errors.DatabaseError subclasses
    for bad input; after one, `state` is CLOSED and the caller should send
    `codec.error_response(err, 'FATAL')` and close the socket."""

    def __init__(self, authenticator: Authenticator,
                 max_message_size: int = 64 * 1024 * 1024) -> None:
        self.decoder = codec.FrontendDecoder(max_message_size)
        # receive_data(bytes): the decoder's feed itself (no pass-through frame
        # on every packet)
        self.receive_data = self.decoder.feed
        self.auth = authenticator
        self.state = State.STARTUP
        self.outbox: list[bytes] = []
        self.user = ""
        self.database = ""
        self.params: dict[str, str] = {}
        self.skip_until_sync = False
        self._scram: ScramExchange | None = None

    # --- input ---------------------------------------------------------------
    def next_event(self) -> object | None:
        """Next message for the application, or None when more bytes are needed."""
        if self.state is State.READY and not self.skip_until_sync:
            # hot path: query traffic in the READY state passes straight through
            try:
                msg = self.decoder.next_message()
            except errors.DatabaseError:
                self.state = State.CLOSED
                raise
            if msg is None or type(msg) in _READY_PASSTHROUGH:
                return msg
            return self._slow_event(msg)
        return self._slow_event(None)

    def _slow_event(self, pending: object | None) -> object | None:
        while True:
            if self.state in (State.CLOSED, State.STARTING):
                return None
            if pending is not None:
                msg, pending = pending, None
            else:
                try:
                    msg = self.decoder.next_message()
                except errors.DatabaseError:
                    self.state = State.CLOSED
                    raise
            if msg is None:
                return None
            allowed = TRANSITIONS[self.state]
            if not isinstance(msg, allowed):
                err = errors.ProtocolViolation(
                    f"unexpected {type(msg).__name__} message in state '{self.state.value}'")
                self.state = State.CLOSED
                raise err
            handler = self._HANDLERS.get((self.state, type(msg)))
            if handler is not None:
                event = handler(self, msg)
                if event is None:
                    continue
                return event
            if self.state is State.READY:
                if isinstance(msg, (m.CopyData, m.CopyDone, m.CopyFail)):
                    continue
                if self.skip_until_sync:
                    if isinstance(msg, m.Sync):
                        self.skip_until_sync = False
                        return msg
                    if isinstance(msg, m.Terminate):
                        self.state = State.CLOSED
                        return msg
                    continue
            elif self.state is State.COPY_IN and isinstance(msg, (m.Flush, m.Sync)):
                continue
            if isinstance(msg, m.Terminate):
                self.state = State.CLOSED
            return msg

    # --- startup & authentication -----------------------------------------------
    def _on_ssl(self, msg: object) -> None:
        self.outbox.append(codec.SSL_NO)
        return None

    def _on_cancel(self, msg: m.CancelRequest) -> CancelReceived:
        self.state = State.CLOSED
        return CancelReceived(msg.process_id, msg.secret_key)

    def _on_startup(self, msg: m.StartupMessage) -> Authenticated | None:
        self.decoder.startup = False
        params = dict(msg.params)
        user = params.pop("user", "")
        if not user:
            self.state = State.CLOSED
            raise errors.InvalidAuthorizationSpecification(
                "no PostgreSQL user name specified in startup packet")
        self.user = user
        self.database = params.pop("database", "") or user
        # Like PostgreSQL: a newer 3.x minor or `_pq_.` protocol options get a
        # NegotiateProtocolVersion naming what we speak, and the session goes on.
        options = [k for k in params if k.startswith("_pq_.")]
        for k in options:
            del params[k]
        if msg.protocol & 0xFFFF or options:
            self.outbox.append(codec.negotiate_protocol_version(m.PROTOCOL_3_0, options))
        if "options" in params:
            # PGOPTIONS settings; the packet's own parameters win, as in PostgreSQL
            try:
                params = {**split_options(params.pop("options")), **params}
            except errors.DatabaseError as exc:
                raise self._fail(exc) from None
        self.params = params
        if self.auth.method == "trust":
            return self._authenticated()
        self._scram = ScramExchange(user, self.auth.verifier(user))
        self.outbox.append(codec.auth_sasl([MECHANISM]))
        self.state = State.AUTH_SASL_INITIAL
        return None

    def _on_sasl_initial(self, msg: m.PasswordMessage) -> None:
        data = msg.data
        end = data.find(b"\0")
        if end < 0 or len(data) < end + 5:
            raise self._fail(errors.ProtocolViolation("malformed SASLInitialResponse"))
        mech = data[:end].decode("ascii", "replace")
        if mech != MECHANISM:
            raise self._fail(errors.ProtocolViolation(
                f"client selected an invalid SASL authentication mechanism {mech!r}"))
        (length,) = struct.unpack_from("!i", data, end + 1)
        payload = data[end + 5:]
        if length != len(payload):
            raise self._fail(errors.ProtocolViolation("malformed SASLInitialResponse length"))
        assert self._scram is not None
        try:
            reply = self._scram.client_first(payload)
        except errors.DatabaseError as exc:
            raise self._fail(exc) from None
        self.outbox.append(codec.auth_sasl_continue(reply))
        self.state = State.AUTH_SASL_FINAL
        return None

    def _on_sasl_final(self, msg: m.PasswordMessage) -> Authenticated:
        assert self._scram is not None
        try:
            reply = self._scram.client_final(msg.data)
        except errors.DatabaseError as exc:
            raise self._fail(exc) from None
        self.outbox.append(codec.auth_sasl_final(reply))
        return self._authenticated()

    def _authenticated(self) -> Authenticated:
        self.outbox.append(codec.auth_ok())
        self.state = State.STARTING
        self._scram = None
        return Authenticated(self.user, self.database, self.params)

    def _fail(self, exc: errors.DatabaseError) -> errors.DatabaseError:
        self.state = State.CLOSED
        return exc

    _HANDLERS: dict[tuple[State, type], Callable] = {
        (State.STARTUP, m.SSLRequest): _on_ssl,
        (State.STARTUP, m.GSSENCRequest): _on_ssl,
        (State.STARTUP, m.CancelRequest): _on_cancel,
        (State.STARTUP, m.StartupMessage): _on_startup,
        (State.AUTH_SASL_INITIAL, m.PasswordMessage): _on_sasl_initial,
        (State.AUTH_SASL_FINAL, m.PasswordMessage): _on_sasl_final,
    }

    # --- driven by the application ---------------------------------------------
    def session_started(self) -> None:
        """The application accepted the session; normal query traffic follows."""
        self.state = State.READY

    def reject(self) -> None:
        self.state = State.CLOSED

    def start_copy_in(self) -> None:
        self.state = State.COPY_IN

    def end_copy_in(self) -> None:
        if self.state is State.COPY_IN:
            self.state = State.READY

    def error_in_extended_query(self) -> None:
        """After an error in extended query mode, discard messages until Sync."""
        self.skip_until_sync = True

    def take_output(self) -> bytes:
        out = b"".join(self.outbox)
        self.outbox.clear()
        return out
