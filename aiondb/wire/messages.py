"""Frontend (client → server) messages of PostgreSQL protocol 3.0 as values.

Frozen, slotted dataclasses: the codec produces them and tests compare them.
Backend messages are written by the encoder functions in codec.py instead,
because they sit on the per-row hot path.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiondb import errors

PROTOCOL_3_0 = 196608
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102


@dataclass(frozen=True, slots=True)
class StartupMessage:
    protocol: int
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class SSLRequest:
    pass


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True, slots=True)
class CancelRequest:
    process_id: int
    secret_key: int


@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Parse:
    name: str
    sql: str
    param_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # 'S' statement or 'P' portal
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int  # 0 = no limit


@dataclass(frozen=True, slots=True)
class Close:
    kind: str  # 'S' or 'P'
    name: str


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


@dataclass(frozen=True, slots=True)
class PasswordMessage:
    """'p': password, SASLInitialResponse or SASLResponse; meaning depends on state."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CopyData:
    data: bytes


@dataclass(frozen=True, slots=True)
class CopyDone:
    pass


@dataclass(frozen=True, slots=True)
class CopyFail:
    message: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    function_oid: int


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A whole, well-framed message whose text is not valid UTF-8. Framing is
    intact, so as in PostgreSQL this is an ordinary ERROR, not the end of the
    connection. kind: the message type byte ('Q', 'P', ...)."""

    kind: str
    error: errors.DatabaseError


FrontendMessage = (
    StartupMessage | SSLRequest | GSSENCRequest | CancelRequest | Query | Parse | Bind
    | Describe | Execute | Close | Sync | Flush | Terminate | PasswordMessage | CopyData
    | CopyDone | CopyFail | FunctionCall | Undecodable
)

# Shared instances for the argument-less messages (they are immutable).
SYNC = Sync()
FLUSH = Flush()
TERMINATE = Terminate()
COPY_DONE = CopyDone()
