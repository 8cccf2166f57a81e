"""A minimal PostgreSQL protocol client over a plain socket, for tests that
must send what no well-behaved driver would: bad lengths, unknown message
types, truncated frames, oversized messages.

The frame builders here are written independently of aiondb.wire.codec so
that codec tests do not check the codec against itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import struct
from dataclasses import dataclass, field


def frame(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def startup_packet(params: dict[str, str], protocol: int = 196608) -> bytes:
    body = struct.pack("!i", protocol) + b"".join(cstr(k) + cstr(v) for k, v in params.items())
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def query(sql: str) -> bytes:
    return frame(b"Q", cstr(sql))


def parse(name: str, sql: str, oids: tuple[int, ...] = ()) -> bytes:
    body = cstr(name) + cstr(sql) + struct.pack("!h", len(oids))
    body += b"".join(struct.pack("!I", o) for o in oids)
    return frame(b"P", body)


def bind(portal: str, stmt: str, params: tuple[bytes | None, ...] = (),
         formats: tuple[int, ...] = (), result_formats: tuple[int, ...] = ()) -> bytes:
    body = cstr(portal) + cstr(stmt) + struct.pack("!h", len(formats))
    body += b"".join(struct.pack("!h", f) for f in formats)
    body += struct.pack("!h", len(params))
    for p in params:
        body += struct.pack("!i", -1) if p is None else struct.pack("!i", len(p)) + p
    body += struct.pack("!h", len(result_formats))
    body += b"".join(struct.pack("!h", f) for f in result_formats)
    return frame(b"B", body)


def describe(kind: str, name: str) -> bytes:
    return frame(b"D", kind.encode() + cstr(name))


def execute(portal: str, max_rows: int = 0) -> bytes:
    return frame(b"E", cstr(portal) + struct.pack("!i", max_rows))


def close(kind: str, name: str) -> bytes:
    return frame(b"C", kind.encode() + cstr(name))


def sasl_initial_response(data: bytes, mechanism: bytes = b"SCRAM-SHA-256") -> bytes:
    return frame(b"p", mechanism + b"\0" + struct.pack("!i", len(data)) + data)


def scram_client_final(password: str, client_first_bare: str, server_first: str) -> str:
    """A SCRAM-SHA-256 client's final message (RFC 5802), computed here
    independently of aiondb.wire.scram."""
    attrs = dict(part.split("=", 1) for part in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(stored_key, auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    return f"{without_proof},p={base64.b64encode(proof).decode()}"


SYNC = frame(b"S")
FLUSH = frame(b"H")
TERMINATE = frame(b"X")


@dataclass
class Msg:
    kind: str
    body: bytes

    def fields(self) -> dict[str, str]:
        """ErrorResponse / NoticeResponse fields by their one-letter code."""
        out: dict[str, str] = {}
        for part in self.body.split(b"\0"):
            if part:
                out[chr(part[0])] = part[1:].decode()
        return out

    def text(self) -> str:
        return self.body.rstrip(b"\0").decode()


@dataclass
class RawClient:
    host: str
    port: int
    timeout: float = 10.0
    sock: socket.socket = field(init=False)
    _buf: bytearray = field(init=False, default_factory=bytearray)

    def __post_init__(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return False
        self._buf += chunk
        return True

    def read_byte(self) -> bytes:
        """One unframed byte (the answer to SSLRequest / GSSENCRequest)."""
        while not self._buf:
            if not self._fill():
                return b""
        b = bytes(self._buf[:1])
        del self._buf[:1]
        return b

    def read(self) -> Msg | None:
        """The next backend message, or None at end of stream."""
        while True:
            if len(self._buf) >= 5:
                (length,) = struct.unpack_from("!i", self._buf, 1)
                assert length >= 4, f"server sent a bad length {length}"
                if len(self._buf) >= length + 1:
                    msg = Msg(chr(self._buf[0]), bytes(self._buf[5:length + 1]))
                    del self._buf[:length + 1]
                    return msg
            if not self._fill():
                assert not self._buf, f"connection closed inside a message: {bytes(self._buf)!r}"
                return None

    def read_until(self, kind: str = "Z") -> list[Msg]:
        """Messages up to and including the first of `kind`; fails at EOF."""
        out = []
        while True:
            msg = self.read()
            assert msg is not None, f"connection closed before {kind!r}; got {out}"
            out.append(msg)
            if msg.kind == kind:
                return out

    def read_to_end(self) -> list[Msg]:
        """Everything until the server closes the connection."""
        out = []
        while (msg := self.read()) is not None:
            out.append(msg)
        return out

    def startup(self, user: str = "aion", database: str = "postgres",
                **params: str) -> list[Msg]:
        self.send(startup_packet({"user": user, "database": database, **params}))
        return self.read_until("Z")

    def scram_startup(self, password: str, user: str = "aion",
                      database: str = "postgres") -> list[Msg]:
        """Startup with SCRAM-SHA-256; everything the server sent after the
        client's final message, up to ReadyForQuery or the connection's end."""
        self.send(startup_packet({"user": user, "database": database}))
        msg = self.read()
        assert msg is not None and msg.kind == "R" and msg.body[:4] == b"\0\0\0\x0a", msg
        bare = "n=,r=rawclientnonce"
        self.send(sasl_initial_response(b"n,," + bare.encode()))
        msg = self.read()
        assert msg is not None and msg.kind == "R" and msg.body[:4] == b"\0\0\0\x0b", msg
        self.send(frame(b"p", scram_client_final(password, bare, msg.body[4:].decode()
                                                 ).encode()))
        out = []
        while (msg := self.read()) is not None:
            out.append(msg)
            if msg.kind == "Z":
                break
        return out

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kinds(msgs: list[Msg]) -> str:
    return "".join(m.kind for m in msgs)
