"""The sans-IO codec on its own: every frontend message whole, byte by byte,
followed by more bytes, and with its body padded or cut; every backend
encoder against bytes computed by hand from the protocol documentation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiondb import errors
from aiondb.wire import codec
from aiondb.wire import messages as m

# (label, wire bytes, decoded message, decoded in the startup phase?)
FRONTEND: list[tuple[str, bytes, object, bool]] = [
    ("SSLRequest", b"\x00\x00\x00\x08\x04\xd2\x16\x2f", m.SSLRequest(), True),
    ("GSSENCRequest", b"\x00\x00\x00\x08\x04\xd2\x16\x30", m.GSSENCRequest(), True),
    ("CancelRequest", b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x03\xe9\x12\x34\x56\x78",
     m.CancelRequest(1001, 0x12345678), True),
    ("StartupMessage",
     b"\x00\x00\x00\x21\x00\x03\x00\x00user\x00aion\x00database\x00acme\x00\x00",
     m.StartupMessage(196608, {"user": "aion", "database": "acme"}), True),
    ("Query", b"Q\x00\x00\x00\x0dselect 1\x00", m.Query("select 1"), False),
    ("Query non-ASCII", b"Q\x00\x00\x00\x0bs\xc3\xa9l\xc3\xa9\x00", m.Query("sélé"), False),
    ("Parse", b"P\x00\x00\x00\x17s1\x00select $1\x00\x00\x01\x00\x00\x00\x17",
     m.Parse("s1", "select $1", (23,)), False),
    ("Parse OID above 2^31", b"P\x00\x00\x00\x0d\x00x\x00\x00\x01\xff\xff\xff\xff",
     m.Parse("", "x", (4294967295,)), False),
    ("Bind",
     b"B\x00\x00\x00\x21p\x00s1\x00\x00\x01\x00\x01\x00\x02\x00\x00\x00\x04\x00\x00\x00\x05"
     b"\xff\xff\xff\xff\x00\x02\x00\x00\x00\x01",
     m.Bind("p", "s1", (1,), (b"\x00\x00\x00\x05", None), (0, 1)), False),
    ("Bind empty", b"B\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00\x00",
     m.Bind("", "", (), (), ()), False),
    ("Bind zero-length value", b"B\x00\x00\x00\x10\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00"
     b"\x00\x00", m.Bind("", "", (), (b"",), ()), False),
    ("Describe statement", b"D\x00\x00\x00\x08Ss1\x00", m.Describe("S", "s1"), False),
    ("Describe portal", b"D\x00\x00\x00\x06P\x00", m.Describe("P", ""), False),
    ("Execute", b"E\x00\x00\x00\x0ap\x00\x00\x00\x00\x0a", m.Execute("p", 10), False),
    ("Execute no limit", b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00", m.Execute("", 0), False),
    ("Execute negative limit", b"E\x00\x00\x00\x09\x00\xff\xff\xff\xff", m.Execute("", 0),
     False),
    ("Close statement", b"C\x00\x00\x00\x08Ss1\x00", m.Close("S", "s1"), False),
    ("Close portal", b"C\x00\x00\x00\x06P\x00", m.Close("P", ""), False),
    ("Sync", b"S\x00\x00\x00\x04", m.Sync(), False),
    ("Flush", b"H\x00\x00\x00\x04", m.Flush(), False),
    ("Terminate", b"X\x00\x00\x00\x04", m.Terminate(), False),
    ("PasswordMessage", b"p\x00\x00\x00\x08abcd", m.PasswordMessage(b"abcd"), False),
    ("CopyData", b"d\x00\x00\x00\x071\t2", m.CopyData(b"1\t2"), False),
    ("CopyData empty", b"d\x00\x00\x00\x04", m.CopyData(b""), False),
    ("CopyDone", b"c\x00\x00\x00\x04", m.CopyDone(), False),
    ("CopyFail", b"f\x00\x00\x00\x09oops\x00", m.CopyFail("oops"), False),
    ("FunctionCall", b"F\x00\x00\x00\x0e\x00\x00\x06\x3e\x00\x00\x00\x00\x00\x00",
     m.FunctionCall(1598), False),
]
IDS = [f[0] for f in FRONTEND]

# Messages whose body has a fixed structure: extra or missing bytes inside
# the frame are an error (PasswordMessage/CopyData carry opaque bytes, and
# FunctionCall is refused whole, so only its first field is read).
STRUCTURED = [f for f in FRONTEND if f[1][:1] not in (b"p", b"d", b"F")]
# A startup message ends at its empty key (tested on its own below).
PADDABLE = [f for f in STRUCTURED if not isinstance(f[2], m.StartupMessage)]
CUTTABLE = [f for f in STRUCTURED if len(f[1]) > (4 if f[3] else 5)]


def decoder(startup: bool, max_size: int = 1 << 20) -> codec.FrontendDecoder:
    d = codec.FrontendDecoder(max_size)
    d.startup = startup
    return d


@pytest.mark.parametrize(("label", "wire", "msg", "startup"), FRONTEND, ids=IDS)
def test_whole(label: str, wire: bytes, msg: object, startup: bool) -> None:
    d = decoder(startup)
    d.feed(wire)
    assert d.next_message() == msg
    assert d.buffered == 0
    assert d.next_message() is None


@pytest.mark.parametrize(("label", "wire", "msg", "startup"), FRONTEND, ids=IDS)
def test_byte_by_byte(label: str, wire: bytes, msg: object, startup: bool) -> None:
    d = decoder(startup)
    for i, b in enumerate(wire[:-1]):
        d.feed(bytes([b]))
        assert d.next_message() is None, f"message complete after {i + 1} bytes"
        assert d.buffered == i + 1
    d.feed(wire[-1:])
    assert d.next_message() == msg
    assert d.buffered == 0


@pytest.mark.parametrize(("label", "wire", "msg", "startup"), FRONTEND, ids=IDS)
def test_followed_by_partial_and_garbage_frames(label: str, wire: bytes, msg: object,
                                                 startup: bool) -> None:
    # The bytes after a message belong to the next one: a partial header waits...
    d = decoder(startup)
    d.feed(wire + b"Q\x00\x00")
    assert d.next_message() == msg
    assert d.next_message() is None
    assert d.buffered == 3
    # ...and a complete frame of an unknown type is a protocol violation.
    d = decoder(startup)
    d.feed(wire + (b"\x00\x00\x00\x08\x00\x00\x00\x00" if startup else b"!\x00\x00\x00\x04"))
    assert d.next_message() == msg
    with pytest.raises((errors.ProtocolViolation, errors.FeatureNotSupported)):
        d.next_message()


@pytest.mark.parametrize(("label", "wire", "msg", "startup"), PADDABLE,
                         ids=[f[0] for f in PADDABLE])
def test_trailing_bytes_inside_frame(label: str, wire: bytes, msg: object,
                                     startup: bool) -> None:
    d = decoder(startup)
    d.feed(_resize(wire, startup, b"\x07\x07"))
    with pytest.raises(errors.ProtocolViolation, match="trailing|null-terminated"):
        d.next_message()


@pytest.mark.parametrize(("label", "wire", "msg", "startup"), CUTTABLE,
                         ids=[f[0] for f in CUTTABLE])
def test_truncated_inside_frame(label: str, wire: bytes, msg: object, startup: bool) -> None:
    d = decoder(startup)
    d.feed(_resize(wire, startup, None))
    with pytest.raises((errors.ProtocolViolation, errors.FeatureNotSupported)):
        d.next_message()


def _resize(wire: bytes, startup: bool, extra: bytes | None) -> bytes:
    """The frame with `extra` appended to its body, or its last body byte cut,
    and the length word adjusted to match."""
    head = 4 if startup else 5
    body = wire[head:] + extra if extra is not None else wire[head:-1]
    length = (len(body) + 4).to_bytes(4, "big")
    return (length if startup else wire[:1] + length) + body


def test_startup_packet_trailing_bytes_and_missing_terminator() -> None:
    body = b"\x00\x03\x00\x00user\x00aion\x00\x00junk"
    d = decoder(True)
    d.feed((len(body) + 4).to_bytes(4, "big") + body)
    with pytest.raises(errors.ProtocolViolation, match="trailing"):
        d.next_message()
    body = b"\x00\x03\x00\x00user\x00aion\x00"
    d = decoder(True)
    d.feed((len(body) + 4).to_bytes(4, "big") + body)
    with pytest.raises(errors.ProtocolViolation, match="null-terminated"):
        d.next_message()


@pytest.mark.parametrize("length", [0, 3, 7, 10_001, 2**31 - 1, -1])
def test_startup_packet_bad_length(length: int) -> None:
    d = decoder(True)
    d.feed(length.to_bytes(4, "big", signed=True))
    with pytest.raises(errors.ProtocolViolation, match="invalid length of startup packet"):
        d.next_message()


def test_startup_old_protocol_refused() -> None:
    d = decoder(True)
    d.feed(b"\x00\x00\x00\x08\x00\x02\x00\x00")
    with pytest.raises(errors.FeatureNotSupported, match="unsupported frontend protocol 2.0"):
        d.next_message()


@pytest.mark.parametrize("length", [-1, 0, 3, -(2**31)])
def test_bad_message_length(length: int) -> None:
    d = decoder(False)
    d.feed(b"Q" + length.to_bytes(4, "big", signed=True))
    with pytest.raises(errors.ProtocolViolation, match=f"invalid message length {length}"):
        d.next_message()


@pytest.mark.parametrize("kind", [b"\x00", b"!", b"Z", b"q", b"\xff"])
def test_unknown_message_type(kind: bytes) -> None:
    d = decoder(False)
    d.feed(kind + b"\x00\x00\x00\x04")
    with pytest.raises(errors.ProtocolViolation, match="invalid frontend message type"):
        d.next_message()


def test_oversized_message_refused_from_its_header() -> None:
    # The limit is enforced as soon as the header is in: the decoder never
    # waits for (or buffers) a body it will refuse.
    d = decoder(False, max_size=4096)
    d.feed(b"Q\x00\x00\x10\x01")
    with pytest.raises(errors.ProgramLimitExceeded, match="exceeds the limit of 4096"):
        d.next_message()
    d = decoder(False, max_size=4096)
    d.feed(b"d\x00\x00\x10\x00" + b"x" * 4092)
    assert d.next_message() == m.CopyData(b"x" * 4092)


@pytest.mark.parametrize(("body", "match"), [
    (b"\x00\x00\xff\xff", "negative parameter format count"),
    (b"\x00\x00\x00\x00\xff\xfe", "negative parameter count"),
    (b"\x00\x00\x00\x00\x00\x01\xff\xff\xff\xfe\x00\x00", "negative parameter length"),
    (b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x09ab\x00\x00", "truncated"),
    (b"\x00\x00\x00\x01\x00\x02\x00\x00\x00\x00", "unsupported format code: 2"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff", "unsupported format code: -1"),
    (b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "trailing"),
    (b"\x00\x00", "truncated"),
    (b"p", "null-terminated"),
])
def test_malformed_bind(body: bytes, match: str) -> None:
    d = decoder(False)
    d.feed(b"B" + (len(body) + 4).to_bytes(4, "big") + body)
    with pytest.raises(errors.ProtocolViolation, match=match):
        d.next_message()


@pytest.mark.parametrize("kind", [b"D", b"C"])
def test_describe_close_bad_subtype(kind: bytes) -> None:
    d = decoder(False)
    d.feed(kind + b"\x00\x00\x00\x06X\x00")
    with pytest.raises(errors.ProtocolViolation, match="message subtype 88"):
        d.next_message()


def test_parse_negative_parameter_count() -> None:
    d = decoder(False)
    d.feed(b"P\x00\x00\x00\x09\x00x\x00\xff\xff")
    with pytest.raises(errors.ProtocolViolation, match="negative parameter type count"):
        d.next_message()


def test_invalid_utf8_in_a_string() -> None:
    # The frame is intact, so the message comes out as Undecodable (an ordinary
    # ERROR for the connection) and decoding goes on with the next message.
    d = decoder(False)
    d.feed(b"Q\x00\x00\x00\x07\xff\xfe\x00" + b"S\x00\x00\x00\x04")
    msg = d.next_message()
    assert isinstance(msg, m.Undecodable) and msg.kind == "Q"
    assert isinstance(msg.error, errors.CharacterNotInRepertoire)
    assert d.next_message() == m.Sync()
    d.feed(b"P\x00\x00\x00\x0a\xc3\x00x\x00\x00\x00")
    msg = d.next_message()
    assert isinstance(msg, m.Undecodable) and msg.kind == "P"


def test_copy_fail_text_is_never_refused() -> None:
    d = decoder(False)
    d.feed(b"f\x00\x00\x00\x08a\xffb\x00")
    assert d.next_message() == m.CopyFail("a\ufffdb")


def test_many_messages_in_one_feed_and_buffer_reuse() -> None:
    d = decoder(False)
    one = b"Q\x00\x00\x00\x0dselect 1\x00"
    d.feed(one * 20_000)  # past the compaction threshold
    for _ in range(20_000):
        assert d.next_message() == m.Query("select 1")
    assert d.next_message() is None and d.buffered == 0
    d.feed(one[:3])
    d.feed(one[3:])
    assert d.next_message() == m.Query("select 1")


# --- backend encoders ---------------------------------------------------------------------------

def test_authentication_messages() -> None:
    assert codec.auth_ok() == b"R\x00\x00\x00\x08\x00\x00\x00\x00"
    assert codec.auth_cleartext() == b"R\x00\x00\x00\x08\x00\x00\x00\x03"
    assert codec.auth_sasl(["SCRAM-SHA-256"]) == (
        b"R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00")
    assert codec.auth_sasl_continue(b"r=abc") == b"R\x00\x00\x00\x0d\x00\x00\x00\x0br=abc"
    assert codec.auth_sasl_final(b"v=xyz") == b"R\x00\x00\x00\x0d\x00\x00\x00\x0cv=xyz"


def test_session_start_messages() -> None:
    assert codec.parameter_status("TimeZone", "UTC") == b"S\x00\x00\x00\x11TimeZone\x00UTC\x00"
    assert codec.backend_key_data(1001, 0x12345678) == (
        b"K\x00\x00\x00\x0c\x00\x00\x03\xe9\x12\x34\x56\x78")
    assert codec.ready_for_query("I") == b"Z\x00\x00\x00\x05I"
    assert codec.ready_for_query("T") == b"Z\x00\x00\x00\x05T"
    assert codec.ready_for_query("E") == b"Z\x00\x00\x00\x05E"
    assert codec.SSL_NO == b"N"
    assert codec.negotiate_protocol_version(196608, ["_pq_.x"]) == (
        b"v\x00\x00\x00\x13\x00\x03\x00\x00\x00\x00\x00\x01_pq_.x\x00")


def test_bodiless_messages() -> None:
    assert codec.PARSE_COMPLETE == b"1\x00\x00\x00\x04"
    assert codec.BIND_COMPLETE == b"2\x00\x00\x00\x04"
    assert codec.CLOSE_COMPLETE == b"3\x00\x00\x00\x04"
    assert codec.NO_DATA == b"n\x00\x00\x00\x04"
    assert codec.PORTAL_SUSPENDED == b"s\x00\x00\x00\x04"
    assert codec.EMPTY_QUERY == b"I\x00\x00\x00\x04"
    assert codec.COPY_DONE == b"c\x00\x00\x00\x04"


def test_result_messages() -> None:
    assert codec.command_complete("SELECT 1") == b"C\x00\x00\x00\x0dSELECT 1\x00"
    assert codec.parameter_description([23, 25]) == (
        b"t\x00\x00\x00\x0e\x00\x02\x00\x00\x00\x17\x00\x00\x00\x19")
    assert codec.parameter_description([]) == b"t\x00\x00\x00\x06\x00\x00"
    # OIDs are unsigned on the wire
    assert codec.parameter_description([4294967295]) == (
        b"t\x00\x00\x00\x0a\x00\x01\xff\xff\xff\xff")
    assert codec.row_description([("id", 16385, 1, 23, 4, -1)], [0]) == (
        b"T\x00\x00\x00\x1b\x00\x01id\x00\x00\x00\x40\x01\x00\x01\x00\x00\x00\x17\x00\x04"
        b"\xff\xff\xff\xff\x00\x00")
    assert codec.row_description([("é", 0, 0, 25, -1, -1)], [1]) == (
        b"T\x00\x00\x00\x1b\x00\x01\xc3\xa9\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x19"
        b"\xff\xff\xff\xff\xff\xff\x00\x01")
    assert codec.data_row([b"1", None, b""]) == (
        b"D\x00\x00\x00\x13\x00\x03\x00\x00\x00\x011\xff\xff\xff\xff\x00\x00\x00\x00")
    assert codec.data_row(()) == b"D\x00\x00\x00\x06\x00\x00"


def test_error_and_notice() -> None:
    err = errors.UniqueViolation("dup", detail="d", hint="h", position=7)
    assert codec.error_response(err) == (
        b"E\x00\x00\x00\x28SERROR\x00VERROR\x00C23505\x00Mdup\x00Dd\x00Hh\x00P7\x00\x00")
    assert codec.error_response(errors.AdminShutdown("bye"), "FATAL") == (
        b"E\x00\x00\x00\x1fSFATAL\x00VFATAL\x00C57P01\x00Mbye\x00\x00")
    assert codec.error_response(errors.SyntaxError("é")) == (
        b"E\x00\x00\x00\x1eSERROR\x00VERROR\x00C42601\x00M\xc3\xa9\x00\x00")
    assert codec.notice_response("hi") == (
        b"N\x00\x00\x00\x20SNOTICE\x00VNOTICE\x00C00000\x00Mhi\x00\x00")
    assert codec.notice_response("w", "WARNING", "01000", hint="x") == (
        b"N\x00\x00\x00\x24SWARNING\x00VWARNING\x00C01000\x00Mw\x00Hx\x00\x00")


def test_copy_messages() -> None:
    assert codec.copy_in_response(2) == b"G\x00\x00\x00\x0b\x00\x00\x02\x00\x00\x00\x00"
    assert codec.copy_out_response(1, binary=True) == b"H\x00\x00\x00\x09\x01\x00\x01\x00\x01"
    assert codec.copy_data(b"ab") == b"d\x00\x00\x00\x06ab"


_ENCODERS = [lambda v: str(v).encode(), lambda v: bytearray(str(v).encode()[::-1]),
             lambda v: b""]


@given(st.lists(st.tuples(st.integers(0, 2), st.none() | st.integers()), max_size=80))
def test_data_row_writer_equals_data_row(spec: list[tuple[int, int | None]]) -> None:
    """The generated DataRow writer (unrolled up to 64 columns, a loop
    beyond) gives data_row's bytes, NULLs and empty values included."""
    encs = [_ENCODERS[k] for k, _ in spec]
    row = tuple(v for _k, v in spec)
    expected = codec.data_row([None if v is None else e(v)
                               for v, e in zip(row, encs, strict=True)])
    assert codec.data_row_writer(encs)(row) == expected


@pytest.mark.parametrize("n", [0, 1, 3, 65])
def test_data_row_writer_rejects_a_row_of_another_width(n: int) -> None:
    write_row = codec.data_row_writer([_ENCODERS[0]] * n)
    with pytest.raises(ValueError):
        write_row((1,) * (n + 1))
