"""ServerConnection, the sans-IO protocol state machine: every transition of
the TRANSITIONS table, and every message it does not allow in each state."""

from __future__ import annotations

import struct

import pytest

from aiondb import errors
from aiondb.wire import codec
from aiondb.wire import messages as m
from aiondb.wire.connection import (
    TRANSITIONS,
    Authenticated,
    Authenticator,
    CancelReceived,
    ServerConnection,
    State,
)
from aiondb.wire.scram import ScramVerifier
from tests.wire import rawclient as w

SSL_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
GSSENC_REQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x30"

# One wire example of every typed frontend message.
TYPED: dict[type, bytes] = {
    m.Query: w.query("select 1"),
    m.Parse: w.parse("", "select 1"),
    m.Bind: w.bind("", ""),
    m.Describe: w.describe("S", ""),
    m.Execute: w.execute(""),
    m.Close: w.close("P", ""),
    m.Sync: w.SYNC,
    m.Flush: w.FLUSH,
    m.Terminate: w.TERMINATE,
    m.PasswordMessage: w.frame(b"p", b"secret\0"),
    m.CopyData: w.frame(b"d", b"1\n"),
    m.CopyDone: w.frame(b"c"),
    m.CopyFail: w.frame(b"f", b"no\0"),
    m.FunctionCall: w.frame(b"F", b"\x00\x00\x06\x3e\x00\x00\x00\x00\x00\x00"),
}


def trust() -> ServerConnection:
    return ServerConnection(Authenticator("trust"))


def scram(password: str = "pencil") -> ServerConnection:
    users = {"aion": ScramVerifier.from_password(password)}
    return ServerConnection(Authenticator("scram-sha-256", users))


def startup(conn: ServerConnection, **params: str) -> object:
    conn.receive_data(w.startup_packet(params or {"user": "aion", "database": "acme"}))
    return conn.next_event()


def ready() -> ServerConnection:
    conn = trust()
    assert isinstance(startup(conn), Authenticated)
    conn.session_started()
    conn.take_output()
    return conn


def feed(conn: ServerConnection, data: bytes) -> list[object]:
    conn.receive_data(data)
    out = []
    while (ev := conn.next_event()) is not None:
        out.append(ev)
    return out


# --- startup ------------------------------------------------------------------------------------

def test_ssl_and_gssenc_requests_are_refused_then_startup_proceeds() -> None:
    conn = trust()
    conn.receive_data(SSL_REQUEST)
    assert conn.next_event() is None
    assert conn.take_output() == b"N"
    conn.receive_data(GSSENC_REQUEST)
    assert conn.next_event() is None
    assert conn.take_output() == b"N"
    assert conn.state is State.STARTUP
    ev = startup(conn, user="aion", database="acme", application_name="x")
    assert ev == Authenticated("aion", "acme", {"application_name": "x"})
    assert conn.take_output() == codec.auth_ok()
    assert conn.state is State.STARTING


def test_database_defaults_to_user_name() -> None:
    ev = startup(trust(), user="bob")
    assert isinstance(ev, Authenticated) and ev.database == "bob"


def test_starting_waits_for_the_application() -> None:
    conn = trust()
    conn.receive_data(w.startup_packet({"user": "aion"}) + w.query("select 1"))
    assert isinstance(conn.next_event(), Authenticated)
    # Until the application accepts the session, nothing more is decoded.
    assert conn.next_event() is None
    assert conn.decoder.buffered == len(w.query("select 1"))
    conn.session_started()
    assert conn.state is State.READY
    assert conn.next_event() == m.Query("select 1")


def test_application_can_reject_the_session() -> None:
    conn = trust()
    conn.receive_data(w.startup_packet({"user": "aion"}) + w.query("select 1"))
    assert isinstance(conn.next_event(), Authenticated)
    conn.reject()
    assert conn.state is State.CLOSED
    assert conn.next_event() is None


def test_cancel_request_ends_the_connection() -> None:
    conn = trust()
    conn.receive_data(struct.pack("!iiii", 16, 80877102, 1001, 42) + w.query("x"))
    assert conn.next_event() == CancelReceived(1001, 42)
    assert conn.state is State.CLOSED
    assert conn.next_event() is None


def test_startup_without_user_is_rejected() -> None:
    conn = trust()
    with pytest.raises(errors.InvalidAuthorizationSpecification):
        startup(conn, database="acme")
    assert conn.state is State.CLOSED


def test_newer_minor_version_and_protocol_options_are_negotiated_down() -> None:
    conn = trust()
    conn.receive_data(w.startup_packet({"user": "aion", "_pq_.compression": "on",
                                        "application_name": "x"}, protocol=0x30002))
    ev = conn.next_event()
    assert ev == Authenticated("aion", "aion", {"application_name": "x"})
    assert conn.take_output() == (codec.negotiate_protocol_version(196608, ["_pq_.compression"])
                                  + codec.auth_ok())


def test_options_become_settings_and_packet_parameters_win() -> None:
    ev = startup(trust(), user="aion", options="-c search_path=a,b --statement-timeout=5 "
                 "-capplication_name=opt -c TimeZone=x\\ y", application_name="packet")
    assert isinstance(ev, Authenticated)
    assert ev.params == {"search_path": "a,b", "statement_timeout": "5",
                         "application_name": "packet", "TimeZone": "x y"}


@pytest.mark.parametrize("options", ["-x", "-c", "-c nonsense", "--=1", "plain"])
def test_bad_options_refuse_the_connection(options: str) -> None:
    conn = trust()
    with pytest.raises(errors.SyntaxError):
        startup(conn, user="aion", options=options)
    assert conn.state is State.CLOSED


# --- SCRAM ----------------------------------------------------------------------------------------

sasl_initial = w.sasl_initial_response
client_final = w.scram_client_final


def scram_login(conn: ServerConnection, password: str, user: str = "aion") -> object:
    assert startup(conn, user=user, database="acme") is None
    assert conn.take_output() == codec.auth_sasl(["SCRAM-SHA-256"])
    assert conn.state is State.AUTH_SASL_INITIAL
    bare = "n=,r=clientnonce"
    conn.receive_data(sasl_initial(b"n,," + bare.encode()))
    assert conn.next_event() is None
    out = conn.take_output()
    assert out[:1] == b"R" and out[5:9] == b"\x00\x00\x00\x0b"
    assert conn.state is State.AUTH_SASL_FINAL
    server_first = out[9:].decode()
    conn.receive_data(w.frame(b"p", client_final(password, bare, server_first).encode()))
    return conn.next_event()


def test_scram_success() -> None:
    conn = scram()
    ev = scram_login(conn, "pencil")
    assert ev == Authenticated("aion", "acme", {})
    out = conn.take_output()
    assert out.startswith(b"R") and out[5:9] == b"\x00\x00\x00\x0c"   # SASLFinal
    assert out.endswith(codec.auth_ok())
    assert conn.state is State.STARTING


@pytest.mark.parametrize(("password", "user"), [("wrong", "aion"), ("pencil", "mallory")])
def test_scram_failure_closes(password: str, user: str) -> None:
    conn = scram()
    with pytest.raises(errors.InvalidPassword):
        scram_login(conn, password, user)
    assert conn.state is State.CLOSED
    assert conn.take_output() == b""   # no AuthenticationOk
    assert conn.next_event() is None


@pytest.mark.parametrize("message", [
    sasl_initial(b"n,,n=,r=x", b"SCRAM-SHA-1"),
    w.frame(b"p", b"SCRAM-SHA-256"),                       # no terminator / length
    w.frame(b"p", b"SCRAM-SHA-256\0\x00\x00\x00\x0an,,n=,r=x"),   # says 10, has 9
    sasl_initial(b"garbage"),
])
def test_malformed_sasl_initial_response(message: bytes) -> None:
    conn = scram()
    startup(conn, user="aion")
    conn.receive_data(message)
    with pytest.raises(errors.DatabaseError):
        conn.next_event()
    assert conn.state is State.CLOSED


def test_terminate_during_authentication() -> None:
    conn = scram()
    startup(conn, user="aion")
    assert feed(conn, w.TERMINATE) == [m.Terminate()]
    assert conn.state is State.CLOSED


# --- query traffic ----------------------------------------------------------------------------

def test_ready_passes_query_messages_through() -> None:
    conn = ready()
    msgs = [m.Query, m.Parse, m.Bind, m.Describe, m.Execute, m.Close, m.Sync, m.Flush,
            m.FunctionCall]
    events = feed(conn, b"".join(TYPED[t] for t in msgs))
    assert [type(e) for e in events] == msgs
    assert conn.state is State.READY


def test_copy_messages_outside_copy_are_ignored() -> None:
    conn = ready()
    events = feed(conn, TYPED[m.CopyData] + TYPED[m.CopyDone] + TYPED[m.CopyFail] + w.SYNC)
    assert events == [m.Sync()]


def test_after_an_extended_query_error_messages_are_skipped_until_sync() -> None:
    conn = ready()
    conn.error_in_extended_query()
    skipped = b"".join(TYPED[t] for t in (m.Bind, m.Describe, m.Execute, m.Query, m.Flush,
                                          m.Close, m.Parse))
    assert feed(conn, skipped + w.SYNC + w.query("select 2")) == [m.Sync(), m.Query("select 2")]
    assert not conn.skip_until_sync


def test_terminate_while_skipping() -> None:
    conn = ready()
    conn.error_in_extended_query()
    assert feed(conn, w.execute("") + w.TERMINATE + w.SYNC) == [m.Terminate()]
    assert conn.state is State.CLOSED


def test_copy_in_state() -> None:
    conn = ready()
    conn.start_copy_in()
    events = feed(conn, TYPED[m.CopyData] + w.FLUSH + w.SYNC + TYPED[m.CopyDone])
    assert events == [m.CopyData(b"1\n"), m.CopyDone()]
    conn.end_copy_in()
    assert conn.state is State.READY
    conn.start_copy_in()
    assert feed(conn, TYPED[m.CopyFail]) == [m.CopyFail("no")]


def test_terminate_closes() -> None:
    conn = ready()
    assert feed(conn, w.TERMINATE + w.query("select 1")) == [m.Terminate()]
    assert conn.state is State.CLOSED


def ready_in_copy() -> ServerConnection:
    conn = ready()
    conn.start_copy_in()
    return conn


def sasl_initial_state() -> ServerConnection:
    conn = scram()
    startup(conn, user="aion")
    return conn


def sasl_final_state() -> ServerConnection:
    conn = sasl_initial_state()
    conn.receive_data(sasl_initial(b"n,,n=,r=abc"))
    assert conn.next_event() is None
    return conn


STATE_FACTORIES = {
    State.AUTH_SASL_INITIAL: sasl_initial_state,
    State.AUTH_SASL_FINAL: sasl_final_state,
    State.READY: ready,
    State.COPY_IN: ready_in_copy,
}
ILLEGAL = [(state, t) for state, make in STATE_FACTORIES.items() for t in TYPED
           if not issubclass(t, TRANSITIONS[state])]


@pytest.mark.parametrize(("state", "msg_type"), ILLEGAL,
                         ids=[f"{s.name}-{t.__name__}" for s, t in ILLEGAL])
def test_illegal_message_in_state(state: State, msg_type: type) -> None:
    conn = STATE_FACTORIES[state]()
    assert conn.state is state
    conn.receive_data(TYPED[msg_type] + w.SYNC)
    with pytest.raises(errors.ProtocolViolation) as info:
        conn.next_event()
    assert msg_type.__name__ in info.value.message
    assert state.value in info.value.message
    assert conn.state is State.CLOSED
    assert conn.next_event() is None


def test_every_state_reached_in_tests_has_a_transition_entry() -> None:
    assert set(TRANSITIONS) == set(State)
    # Every state that accepts input has at least one illegal message tested.
    assert {s for s, _ in ILLEGAL} == set(STATE_FACTORIES)


def test_startup_phase_bytes_after_startup_are_a_violation() -> None:
    conn = ready()
    conn.receive_data(SSL_REQUEST)
    with pytest.raises(errors.ProtocolViolation, match="invalid frontend message type 0"):
        conn.next_event()
    assert conn.state is State.CLOSED


def test_decoder_errors_close_the_connection() -> None:
    conn = ready()
    conn.receive_data(b"Q\x00\x00\x00\x02" + w.query("select 1"))
    with pytest.raises(errors.ProtocolViolation):
        conn.next_event()
    assert conn.state is State.CLOSED
    assert conn.next_event() is None


def test_oversized_message_closes() -> None:
    conn = ServerConnection(Authenticator("trust"), max_message_size=1024)
    startup(conn, user="aion")
    conn.session_started()
    conn.receive_data(b"Q\x00\x00\x04\x01")
    with pytest.raises(errors.ProgramLimitExceeded):
        conn.next_event()
    assert conn.state is State.CLOSED
