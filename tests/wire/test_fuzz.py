"""Property tests that throw random and mutated frames at the codec, the
connection state machine and a live server.

Properties: decoding raises nothing but errors.DatabaseError subclasses and
keeps its byte accounting; the hot-path parsers agree with the checked ones;
a live server answers with well-formed frames, never an internal error, and
still serves a fresh connection afterwards.

Inputs that ever broke a property live in tests/wire/corpus/ and are replayed
on every run (test_corpus_*). A failing property run writes its (shrunk)
input there as found-<test>.bin: keep it, with a name saying what it broke.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiondb import errors
from aiondb.wire import codec
from aiondb.wire import messages as m
from aiondb.wire.connection import Authenticator, ServerConnection, State
from tests.support.servers import AionServer, start_aiondb
from tests.wire import rawclient as w

CORPUS = Path(__file__).parent / "corpus"
FAST = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
LIVE = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=5000, deadline=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


def keep_failure(name: str, data: bytes) -> None:
    """Hypothesis runs the shrunk failing input last, so the file ends up
    holding the minimal example. Callers catch Exception, not BaseException:
    hypothesis ends runs internally with a BaseException."""
    (CORPUS / f"found-{name}.bin").write_bytes(data)


# --- strategies -----------------------------------------------------------------------------------

SQL = st.sampled_from([
    "select 1", "select $1::int4", "select $1, $2", "begin", "commit", "rollback",
    "create table if not exists fz (id int primary key, v text)",
    "insert into fz values ($1, $2)", "select * from fz where id = $1", "select 1/0",
    "select", "", ";", "show timezone", "set application_name = 'fz'",
    "select * from generate_series(1, 20)", "copy fz from stdin", "copy fz to stdout",
])
NAME = st.sampled_from(["", "s", "p", "x" * 70])
VALUE = st.one_of(st.none(), st.binary(max_size=12), st.sampled_from(
    [b"1", b"\x00\x00\x00\x07", b"\x00\x01", b"abc", b"\xff\xfe"]))
FORMAT = st.sampled_from([0, 1, 2, -1])


@st.composite
def valid_frame(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from("QPBDECSHdcfF"))
    if kind == "Q":
        return w.query(draw(SQL))
    if kind == "P":
        oids = draw(st.lists(st.sampled_from([0, 16, 17, 20, 21, 23, 25, 1007, 1114, 1700, 2950,
                                                  999999]), max_size=3))
        return w.parse(draw(NAME), draw(SQL), tuple(oids))
    if kind == "B":
        params = tuple(draw(st.lists(VALUE, max_size=3)))
        return w.bind(draw(NAME), draw(NAME), params,
                      tuple(draw(st.lists(FORMAT, max_size=3))),
                      tuple(draw(st.lists(FORMAT, max_size=3))))
    if kind in "DC":
        body = draw(st.sampled_from("SP")).encode() + w.cstr(draw(NAME))
        return w.frame(b"D" if kind == "D" else b"C", body)
    if kind == "E":
        return w.execute(draw(NAME), draw(st.integers(-2, 3)))
    if kind == "d":
        return w.frame(b"d", draw(st.binary(max_size=20)))
    if kind == "f":
        return w.frame(b"f", w.cstr("fz"))
    if kind == "F":
        return w.frame(b"F", draw(st.binary(min_size=4, max_size=12)))
    return w.frame(kind.encode())


@st.composite
def mutated(draw: st.DrawFn, frames: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(b"".join(draw(st.lists(frames, min_size=1, max_size=6))))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "length"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, ord("Q"), ord("S")]))
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 4))]
        elif op == "truncate":
            del data[i:]
        else:  # overwrite four bytes with an interesting length
            n = draw(st.sampled_from([0, 3, 4, 5, 2**31 - 1, -1, 65536, 1 << 24]))
            data[i:i + 4] = struct.pack("!i", n)
    return bytes(data)


STREAM = st.one_of(st.binary(max_size=200), mutated(valid_frame()))
CHUNKS = st.lists(st.integers(1, 64), max_size=20)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos = [], 0
    for n in sizes:
        out.append(data[pos:pos + n])
        pos += n
    out.append(data[pos:])
    return out


# --- the codec ----------------------------------------------------------------------------------

def decode_all(data: bytes, sizes: list[int], startup: bool) -> None:
    """Feed `data` in chunks; check what the decoder returns and accounts for."""
    d = codec.FrontendDecoder(max_message_size=1 << 16)
    d.startup = startup
    fed = 0
    consumed = 0
    for chunk in chunked(data, sizes):
        d.feed(chunk)
        fed += len(chunk)
        while True:
            before = d.buffered
            try:
                msg = d.next_message()
            except errors.DatabaseError:
                return  # the connection ends here; nothing else is promised
            if msg is None:
                assert d.buffered == before, "a None result must not consume bytes"
                break
            assert isinstance(msg, m.FrontendMessage)
            assert d.buffered < before, "a message must consume bytes"
            consumed += before - d.buffered
            assert consumed + d.buffered == fed
            if isinstance(msg, m.StartupMessage):
                d.startup = False


def check_codec(data: bytes, sizes: list[int], name: str) -> None:
    try:
        decode_all(data, sizes, startup=False)
        decode_all(data, sizes, startup=True)
    except Exception:
        keep_failure(name, data)
        raise


@FAST
@given(data=STREAM, sizes=CHUNKS)
def test_codec_random_and_mutated_streams(data: bytes, sizes: list[int]) -> None:
    check_codec(data, sizes, "codec")


@FAST
@given(frames=st.lists(valid_frame(), min_size=1, max_size=8), sizes=CHUNKS)
def test_codec_valid_frames_any_chunking(frames: list[bytes], sizes: list[int]) -> None:
    # Whatever the chunking, the messages come out the same as frame by frame.
    def decode(chunks: list[bytes]) -> list[object]:
        d = codec.FrontendDecoder()
        d.startup = False
        out: list[object] = []
        for c in chunks:
            d.feed(c)
            while True:
                try:
                    msg = d.next_message()
                except errors.DatabaseError as exc:
                    out.append(type(exc))
                    return out
                if msg is None:
                    break
                out.append(msg)
        return out
    assert decode(chunked(b"".join(frames), sizes)) == decode(frames)


@FAST
@given(kind=st.sampled_from(sorted(codec._PARSERS)),
       body=st.one_of(st.binary(max_size=40), mutated(valid_frame()).map(lambda b: b[5:])))
def test_decoder_agrees_with_checked_parsers(kind: int, body: bytes) -> None:
    """Any shortcut in FrontendDecoder must decode exactly what the checked
    per-message parser decodes, and refuse what it refuses."""
    def outcome(fn: object) -> object:
        try:
            msg = fn()  # type: ignore[operator]
        except errors.DatabaseError as exc:
            return type(exc)
        # the decoder hands bad text on as a message, the parser raises it
        return type(msg.error) if isinstance(msg, m.Undecodable) else msg
    name, parser = codec._PARSERS[kind]

    def via_decoder() -> object:
        d = codec.FrontendDecoder()
        d.startup = False
        d.feed(bytes([kind]) + struct.pack("!i", len(body) + 4) + body)
        return d.next_message()
    try:
        assert outcome(via_decoder) == outcome(lambda: parser(codec._Reader(body, name)))
    except Exception:
        keep_failure("parsers", bytes([kind]) + struct.pack("!i", len(body) + 4) + body)
        raise


@FAST
@given(data=STREAM, sizes=CHUNKS)
def test_connection_state_machine(data: bytes, sizes: list[int]) -> None:
    conn = ServerConnection(Authenticator("trust"), max_message_size=1 << 16)
    conn.receive_data(w.startup_packet({"user": "aion"}))
    conn.next_event()
    conn.session_started()
    try:
        for chunk in chunked(data, sizes):
            conn.receive_data(chunk)
            while True:
                try:
                    ev = conn.next_event()
                except errors.DatabaseError:
                    assert conn.state is State.CLOSED
                    assert conn.next_event() is None
                    return
                if ev is None:
                    break
                if isinstance(ev, m.Terminate):
                    assert conn.state is State.CLOSED
                # A simple stand-in for the application's side of the protocol.
                if isinstance(ev, m.Execute):
                    conn.error_in_extended_query()
                if isinstance(ev, m.Query) and ev.sql.startswith("copy fz from"):
                    conn.start_copy_in()
                if isinstance(ev, (m.CopyDone, m.CopyFail)):
                    conn.end_copy_in()
    except Exception:
        keep_failure("connection", data)
        raise


CORPUS_FILES = sorted(CORPUS.glob("*.bin"))


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_codec(path: Path) -> None:
    data = path.read_bytes()
    for sizes in ([], [1] * len(data)):
        decode_all(data, sizes, startup=False)
        decode_all(data, sizes, startup=True)


# --- a live server ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_server() -> AionServer:
    srv = start_aiondb("--ephemeral", "--max-message-size", "64kB")
    yield srv
    srv.stop()


def send_stream(srv: AionServer, data: bytes, startup: bool) -> list[w.Msg]:
    """Send `data` (after a proper startup if asked), half-close, and read
    every reply until the server closes the connection."""
    with w.RawClient(srv.host, srv.port, timeout=30) as c:
        if startup:
            c.startup(database="postgres")
        c.send(data)
        c.sock.shutdown(socket.SHUT_WR)
        return c.read_to_end()


def check_server(srv: AionServer, data: bytes, startup: bool, name: str) -> None:
    log_start = len(srv.log_text())
    try:
        replies = send_stream(srv, data, startup)
        for msg in replies:
            if msg.kind == "E":
                assert msg.fields().get("C") != "XX000", msg.fields()
        assert srv.proc.poll() is None, "the server exited"
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            assert conn.execute("select 42").fetchone() == (42,)
        assert "Traceback" not in srv.log_text()[log_start:]
    except Exception:
        keep_failure(name, (b"" if startup else b"startup:") + data)
        raise


@LIVE
@given(data=STREAM)
def test_live_server_random_and_mutated_frames(fuzz_server: AionServer, data: bytes) -> None:
    check_server(fuzz_server, data, True, "live")


@LIVE
@given(data=st.one_of(st.binary(max_size=60), mutated(st.just(
    w.startup_packet({"user": "aion", "database": "postgres"})))))
def test_live_server_random_startup(fuzz_server: AionServer, data: bytes) -> None:
    check_server(fuzz_server, data, False, "live-startup")


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_live(fuzz_server: AionServer, path: Path) -> None:
    data = path.read_bytes()
    startup = not data.startswith(b"startup:")
    check_server(fuzz_server, data if startup else data[len(b"startup:"):], startup,
                 "corpus-replay")


@pytest.mark.slow
@SLOW
@given(data=STREAM, sizes=CHUNKS)
def test_codec_long(data: bytes, sizes: list[int]) -> None:
    check_codec(data, sizes, "codec-long")


@pytest.mark.slow
@SLOW
@given(data=STREAM)
def test_live_server_long(fuzz_server: AionServer, data: bytes) -> None:
    check_server(fuzz_server, data, True, "live-long")
