"""Sans-IO codec for PostgreSQL protocol 3.0: bytes in → messages out, and
backend message encoders (values in → bytes out; they are in
codec_backend.py and re-exported here). No sockets here.

Every malformed input raises errors.ProtocolViolation (08P01) naming what is
wrong; the caller sends it and closes the connection.
"""

from __future__ import annotations

import struct

from aiondb import errors
from aiondb.wire import messages as m
from aiondb.wire.bind_values import Splitter, bind_values, splitter
from aiondb.wire.codec_backend import (  # noqa: F401 - re-exported: codec is the module callers use
    BIND_COMPLETE,
    CLOSE_COMPLETE,
    COPY_DONE,
    EMPTY_QUERY,
    NO_DATA,
    PARSE_COMPLETE,
    PORTAL_SUSPENDED,
    READY_FAILED,
    READY_IDLE,
    READY_IN_TXN,
    SSL_NO,
    auth_cleartext,
    auth_ok,
    auth_sasl,
    auth_sasl_continue,
    auth_sasl_final,
    backend_key_data,
    command_complete,
    copy_data,
    copy_in_response,
    copy_out_response,
    data_row,
    data_row_writer,
    error_response,
    negotiate_protocol_version,
    notice_response,
    parameter_description,
    parameter_status,
    ready_for_query,
    row_description,
)

_I32 = struct.Struct("!i")
_I16 = struct.Struct("!h")
_HDR = struct.Struct("!ci")
_UNPACK_I32 = _I32.unpack_from
_UNPACK_I16 = _I16.unpack_from

# A startup packet is small; anything bigger is an attack or garbage.
MAX_STARTUP_PACKET = 10_000


class _Reader:
    """Cursor over one message body with bounds-checked field readers."""

    __slots__ = ("buf", "pos", "end", "kind")

    def __init__(self, buf: bytes, kind: str) -> None:
        self.buf = buf
        self.pos = 0
        self.end = len(buf)
        self.kind = kind

    def _need(self, n: int) -> None:
        if self.pos + n > self.end:
            raise errors.ProtocolViolation(f"invalid {self.kind} message: truncated")

    def int32(self) -> int:
        self._need(4)
        v = _UNPACK_I32(self.buf, self.pos)[0]
        self.pos += 4
        return v

    def int16(self) -> int:
        self._need(2)
        v = _UNPACK_I16(self.buf, self.pos)[0]
        self.pos += 2
        return v

    def byte(self) -> str:
        self._need(1)
        v = chr(self.buf[self.pos])
        self.pos += 1
        return v

    def cstring(self) -> str:
        buf = self.buf
        idx = buf.find(b"\0", self.pos, self.end)
        if idx < 0:
            raise errors.ProtocolViolation(
                f"invalid {self.kind} message: string is not null-terminated")
        raw = buf[self.pos:idx]
        self.pos = idx + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.CharacterNotInRepertoire(
                "invalid byte sequence for encoding \"UTF8\"") from None

    def raw(self, n: int) -> bytes:
        if n < 0:
            raise errors.ProtocolViolation(f"invalid {self.kind} message: negative length")
        self._need(n)
        v = self.buf[self.pos:self.pos + n]
        self.pos += n
        return v

    def rest(self) -> bytes:
        v = self.buf[self.pos:self.end]
        self.pos = self.end
        return v

    def done(self) -> None:
        if self.pos != self.end:
            raise errors.ProtocolViolation(
                f"invalid {self.kind} message: {self.end - self.pos} unexpected trailing bytes")


def _count(r: _Reader, what: str) -> int:
    n = r.int16()
    if n < 0:
        raise errors.ProtocolViolation(f"invalid {r.kind} message: negative {what} count")
    return n


def _parse_parse(r: _Reader) -> m.Parse:
    name = r.cstring()
    sql = r.cstring()
    n = _count(r, "parameter type")
    oids = tuple(r.int32() & 0xFFFFFFFF for _ in range(n))
    r.done()
    return m.Parse(name, sql, oids)


def _parse_bind(r: _Reader) -> m.Bind:
    portal = r.cstring()
    stmt = r.cstring()
    nf = _count(r, "parameter format")
    formats = tuple(r.int16() for _ in range(nf))
    np_ = _count(r, "parameter")
    params: list[bytes | None] = []
    for _ in range(np_):
        ln = r.int32()
        if ln == -1:
            params.append(None)
        elif ln < -1:
            raise errors.ProtocolViolation("invalid Bind message: negative parameter length")
        else:
            params.append(r.raw(ln))
    nr = _count(r, "result format")
    rformats = tuple(r.int16() for _ in range(nr))
    r.done()
    for f in formats + rformats:
        if f not in (0, 1):
            raise errors.ProtocolViolation(f"unsupported format code: {f}")
    return m.Bind(portal, stmt, formats, tuple(params), rformats)


def _parse_describe(r: _Reader) -> m.Describe:
    kind = r.byte()
    name = r.cstring()
    r.done()
    if kind not in ("S", "P"):
        raise errors.ProtocolViolation(f"invalid DESCRIBE message subtype {ord(kind)}")
    return m.Describe(kind, name)


def _parse_close(r: _Reader) -> m.Close:
    kind = r.byte()
    name = r.cstring()
    r.done()
    if kind not in ("S", "P"):
        raise errors.ProtocolViolation(f"invalid CLOSE message subtype {ord(kind)}")
    return m.Close(kind, name)


def _parse_execute(r: _Reader) -> m.Execute:
    portal = r.cstring()
    max_rows = r.int32()
    r.done()
    return m.Execute(portal, max(max_rows, 0))


def _parse_query(r: _Reader) -> m.Query:
    sql = r.cstring()
    r.done()
    return m.Query(sql)


def _empty(msg: object):
    def parse(r: _Reader) -> object:
        r.done()
        return msg
    return parse


def _parse_copy_fail(r: _Reader) -> m.CopyFail:
    end = r.buf.find(b"\0", r.pos, r.end)
    if end < 0:
        raise errors.ProtocolViolation("invalid CopyFail message: string is not "
                                       "null-terminated")
    # Only an error text for the client: never worth refusing for its encoding.
    text = r.buf[r.pos:end].decode("utf-8", "replace")
    r.pos = end + 1
    r.done()
    return m.CopyFail(text)


def _parse_function_call(r: _Reader) -> m.FunctionCall:
    return m.FunctionCall(r.int32())


_PARSERS = {
    ord("Q"): ("Query", _parse_query),
    ord("P"): ("Parse", _parse_parse),
    ord("B"): ("Bind", _parse_bind),
    ord("D"): ("Describe", _parse_describe),
    ord("E"): ("Execute", _parse_execute),
    ord("C"): ("Close", _parse_close),
    ord("S"): ("Sync", _empty(m.SYNC)),
    ord("H"): ("Flush", _empty(m.FLUSH)),
    ord("X"): ("Terminate", _empty(m.TERMINATE)),
    ord("p"): ("Password", lambda r: m.PasswordMessage(r.rest())),
    ord("d"): ("CopyData", lambda r: m.CopyData(r.rest())),
    ord("c"): ("CopyDone", _empty(m.COPY_DONE)),
    ord("f"): ("CopyFail", _parse_copy_fail),
    ord("F"): ("FunctionCall", _parse_function_call),
}


# Fast paths for the per-transaction messages of prepared statements. Each
# parses in place and returns None to defer anything unusual (bad lengths,
# odd encodings, format codes) to the checked _Reader parsers above.
_STRUCT_H = struct.Struct("!H").unpack_from
# a fast-lane group's fixed tail: Execute "" with no row limit, then Sync;
# or a Describe of the unnamed portal, then those
_EXECUTE_SYNC = b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00S\x00\x00\x00\x04"
_DESCRIBE_EXECUTE_SYNC = b"D\x00\x00\x00\x06P\x00" + _EXECUTE_SYNC


def _fast_empty(msg: object) -> object:
    def parse(buf: bytes | bytearray, start: int, end: int) -> object:
        return msg if start == end else None
    return parse


def _fast_execute(buf: bytes | bytearray, start: int, end: int) -> m.Execute | None:
    z = buf.find(0, start, end)
    if z < 0 or end - z != 5:
        return None
    portal = buf[start:z].decode("ascii") if z > start else ""
    max_rows = _UNPACK_I32(buf, z + 1)[0]
    return m.Execute(portal, max_rows if max_rows > 0 else 0)


def _fast_describe(buf: bytes | bytearray, start: int, end: int) -> m.Describe | None:
    if end - start < 2 or buf[end - 1] != 0 or buf.find(0, start + 1, end) != end - 1:
        return None
    kind = chr(buf[start])
    if kind not in ("S", "P"):
        return None
    name = buf[start + 1:end - 1].decode("ascii") if end - start > 2 else ""
    return m.Describe(kind, name)


def _fast_bind(buf: bytes | bytearray, start: int, end: int) -> m.Bind | None:
    z1 = buf.find(0, start, end)
    portal = buf[start:z1].decode("ascii") if z1 > start else ""
    z2 = buf.find(0, z1 + 1, end)
    stmt = buf[z1 + 1:z2].decode("ascii") if z2 > z1 + 1 else ""
    p = z2 + 1
    nf = _STRUCT_H(buf, p)[0]
    formats = struct.unpack_from(f"!{nf}h", buf, p + 2) if nf else ()
    tail = bind_values(buf, p + 2 + 2 * nf, end)
    if tail is None or z1 < 0 or z2 < 0 or nf > 1 and nf != len(tail[0]):
        return None
    for f in formats:
        if f not in (0, 1):
            return None
    return m.Bind(portal, stmt, formats, tail[0], tail[1])


_FAST = {
    ord("S"): _fast_empty(m.SYNC), ord("H"): _fast_empty(m.FLUSH),
    ord("E"): _fast_execute, ord("D"): _fast_describe, ord("B"): _fast_bind,
}


def parse_startup_packet(body: bytes) -> m.FrontendMessage:
    """Decode a startup-phase packet body (after its length word)."""
    r = _Reader(body, "startup packet")
    code = r.int32()
    if code == m.SSL_REQUEST_CODE:
        r.done()
        return m.SSLRequest()
    if code == m.GSSENC_REQUEST_CODE:
        r.done()
        return m.GSSENCRequest()
    if code == m.CANCEL_REQUEST_CODE:
        pid = r.int32()
        key = r.int32()
        r.done()
        return m.CancelRequest(pid, key)
    major = code >> 16
    if major != 3:
        raise errors.FeatureNotSupported(
            f"unsupported frontend protocol {major}.{code & 0xFFFF}: "
            "server supports 3.0 to 3.0")
    params: dict[str, str] = {}
    while True:
        key = r.cstring()
        if key == "":
            break
        params[key] = r.cstring()
    r.done()
    return m.StartupMessage(code, params)


class FrontendDecoder:
    """Accumulates bytes and yields complete frontend messages.

    `startup=True` until the startup packet (which has no type byte) is read.
    """

    __slots__ = ("_buf", "_pos", "startup", "max_message_size", "_bind_head", "_bind_info")

    def __init__(self, max_message_size: int = 64 * 1024 * 1024) -> None:
        # the bytes received and not yet consumed from _pos on: a bytearray
        # while a message is gathered, else the last packet itself (bytes)
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self.startup = True
        self.max_message_size = max_message_size
        # the last fast-lane Bind's bytes up to its first value (portal,
        # statement, formats, parameter count): a client repeating a statement
        # sends the same head every time, so it is parsed once; (statement,
        # formats, the head's length, the values' splitter)
        self._bind_head = b"\xff"     # (no Bind starts so: the first is parsed)
        self._bind_info: tuple[str, tuple[int, ...], int, Splitter] = (
            "", (), 1, splitter(0))

    def feed(self, data: bytes) -> None:
        buf = self._buf
        if self._pos == len(buf) and type(data) is bytes:
            # all consumed (the usual case: a client's packet holds whole
            # messages): parse the packet in place, no copy into a buffer;
            # its values are then sliced out as bytes
            self._buf = data
            self._pos = 0
            return
        if type(buf) is not bytearray:
            # a message continues in this packet: gather its bytes
            buf = self._buf = bytearray(buf[self._pos:])
            self._pos = 0
        buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def next_message(self) -> m.FrontendMessage | None:
        """The next complete message, or None if more bytes are needed."""
        if self.startup:
            return self._startup_message()
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < 5:
            return None
        kind = buf[pos]
        length = _UNPACK_I32(buf, pos + 1)[0]
        fast = _FAST.get(kind)
        if fast is not None and 4 <= length <= self.max_message_size:
            if avail < length + 1:
                return None
            try:
                msg = fast(buf, pos + 5, pos + 1 + length)
            except (struct.error, UnicodeDecodeError, ValueError):
                msg = None  # the checked parser reports the problem
            if msg is not None:
                self._consume(length + 1)
                return msg
        return self._checked_message(kind, length, avail)

    def prepared_group(self) -> tuple[str, tuple[int, ...], tuple[bytes | None, ...],
                                      tuple[int, ...], bool, int] | None:
        """A complete `Bind, [Describe portal,] Execute, Sync` group for the
        unnamed portal at the head of the buffer, as clients send one run of a
        prepared statement: (statement, parameter formats, parameters, result
        formats, has_describe, bytes). None when the buffer holds anything
        else, or a malformed Bind (the checked parser then reports it);
        nothing is consumed (consume_group does)."""
        buf = self._buf
        pos = self._pos
        n = len(buf)
        if n - pos < 27 or buf[pos] != 66 or buf[pos + 5] != 0 or self.startup:
            return None
        length = _UNPACK_I32(buf, pos + 1)[0]
        end = pos + 1 + length                              # the Bind's end
        if length < 4 or length > self.max_message_size or end + 15 > n:
            return None
        # (a slice compared costs less than startswith with offsets)
        if buf[end] == 68:                                  # Describe portal ""
            if buf[end:end + 22] != _DESCRIBE_EXECUTE_SYNC:
                return None
            describe = True
            size = end + 22 - pos
        elif buf[end:end + 15] == _EXECUTE_SYNC:
            describe = False
            size = end + 15 - pos
        else:
            return None
        try:
            # the Bind, of the unnamed portal ("" at pos + 5); a client
            # repeating a statement sends the same head (statement, formats,
            # parameter count) every time: parsed once
            start = pos + 5
            stmt, formats, q, split = self._bind_info
            q += start
            if q > end or buf[start:q] != self._bind_head:
                z2 = buf.find(0, start + 1, end)
                if z2 < 0:
                    return None
                stmt = buf[start + 1:z2].decode("ascii") if z2 > start + 1 else ""
                q = z2 + 1
                nf = _STRUCT_H(buf, q)[0]
                formats = struct.unpack_from(f"!{nf}h", buf, q + 2) if nf else ()
                q += 2 + 2 * nf
                np_ = _STRUCT_H(buf, q)[0]
                q += 2
                if q > end or any(f not in (0, 1) for f in formats) or nf > 1 and nf != np_:
                    return None
                split = splitter(np_)
                self._bind_head = bytes(buf[start:q])
                self._bind_info = (stmt, formats, q - start, split)
            # (values sliced from a gathered bytearray are copied to bytes there)
            tail = split(buf, q, end) if type(buf) is bytes else bind_values(buf, q - 2, end)
        except (struct.error, UnicodeDecodeError, ValueError):
            return None
        if tail is None:
            return None
        return stmt, formats, tail[0], tail[1], describe, size

    def take_copy_data(self) -> bytes:
        """The payloads of the complete CopyData messages at the head of the
        buffer, joined (clients send one per row: per-message dispatch would
        cost more than the row). Stops at any other message."""
        buf = self._buf
        pos = self._pos
        n = len(buf)
        parts = []
        limit = self.max_message_size
        while pos + 5 <= n and buf[pos] == 100:            # 'd'
            length = _UNPACK_I32(buf, pos + 1)[0]
            if length < 4 or length > limit or pos + 1 + length > n:
                break       # incomplete, or bad: the checked parser reports it
            parts.append(buf[pos + 5:pos + 1 + length])
            pos += 1 + length
        if not parts:
            return b""
        self._consume(pos - self._pos)
        return b"".join(parts)

    def _startup_message(self) -> m.FrontendMessage | None:
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < 4:
            return None
        length = _UNPACK_I32(buf, pos)[0]
        if length < 8 or length > MAX_STARTUP_PACKET:
            raise errors.ProtocolViolation(f"invalid length of startup packet: {length}")
        if avail < length:
            return None
        body = bytes(buf[pos + 4:pos + length])
        self._consume(length)
        return parse_startup_packet(body)

    def _checked_message(self, kind: int, length: int, avail: int) -> m.FrontendMessage | None:
        entry = _PARSERS.get(kind)
        if entry is None:
            raise errors.ProtocolViolation(
                f"invalid frontend message type {kind}" +
                (f" ('{chr(kind)}')" if 32 < kind < 127 else ""))
        if length < 4:
            raise errors.ProtocolViolation(f"invalid message length {length} for {entry[0]}")
        if length > self.max_message_size:
            raise errors.ProgramLimitExceeded(
                f"{entry[0]} message of {length} bytes exceeds the limit of "
                f"{self.max_message_size} bytes (max_message_size)")
        if avail < length + 1:
            return None
        pos = self._pos
        body = bytes(self._buf[pos + 5:pos + 1 + length])
        self._consume(length + 1)
        try:
            return entry[1](_Reader(body, entry[0]))
        except errors.CharacterNotInRepertoire as exc:
            return m.Undecodable(chr(kind), exc)

    def _consume(self, n: int) -> None:
        self._pos += n
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            self._buf = bytearray(self._buf[self._pos:])
            self._pos = 0

    consume_group = _consume     # the fast lane's group, once handled (no extra frame)
