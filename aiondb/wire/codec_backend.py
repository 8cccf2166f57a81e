"""Backend message encoders of the PostgreSQL protocol 3.0 codec: values in
→ bytes out (authentication, ParameterStatus, ReadyForQuery, RowDescription,
DataRow, errors and notices, COPY). Each returns the complete framed
message. No sockets here.

Split from codec.py, which re-exports these names: callers use
`codec.data_row` and the like.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from aiondb import errors

_I32 = struct.Struct("!i")
_I16 = struct.Struct("!h")
_I32_PAIR = struct.Struct("!ii")
_PACK_I32 = _I32.pack
_PACK_I16 = _I16.pack


def _frame(kind: bytes, body: bytes) -> bytes:
    return kind + _PACK_I32(len(body) + 4) + body


def auth_ok() -> bytes:
    return b"R\x00\x00\x00\x08\x00\x00\x00\x00"


def auth_cleartext() -> bytes:
    return b"R\x00\x00\x00\x08\x00\x00\x00\x03"


def auth_sasl(mechanisms: list[str]) -> bytes:
    body = _PACK_I32(10) + b"".join(mm.encode() + b"\0" for mm in mechanisms) + b"\0"
    return _frame(b"R", body)


def auth_sasl_continue(data: bytes) -> bytes:
    return _frame(b"R", _PACK_I32(11) + data)


def auth_sasl_final(data: bytes) -> bytes:
    return _frame(b"R", _PACK_I32(12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return _frame(b"S", name.encode() + b"\0" + value.encode() + b"\0")


def backend_key_data(pid: int, secret: int) -> bytes:
    return _frame(b"K", _I32_PAIR.pack(pid, secret))


READY_IDLE = b"Z\x00\x00\x00\x05I"
READY_IN_TXN = b"Z\x00\x00\x00\x05T"
READY_FAILED = b"Z\x00\x00\x00\x05E"
_READY = {"I": READY_IDLE, "T": READY_IN_TXN, "E": READY_FAILED}


def ready_for_query(status: str) -> bytes:
    return _READY[status]


PARSE_COMPLETE = b"1\x00\x00\x00\x04"
BIND_COMPLETE = b"2\x00\x00\x00\x04"
CLOSE_COMPLETE = b"3\x00\x00\x00\x04"
NO_DATA = b"n\x00\x00\x00\x04"
PORTAL_SUSPENDED = b"s\x00\x00\x00\x04"
EMPTY_QUERY = b"I\x00\x00\x00\x04"
COPY_DONE = b"c\x00\x00\x00\x04"
SSL_NO = b"N"


def command_complete(tag: str) -> bytes:
    return _frame(b"C", tag.encode() + b"\0")


def parameter_description(oids: list[int] | tuple[int, ...]) -> bytes:
    return _frame(b"t", _PACK_I16(len(oids)) + b"".join(_PACK_I32(o if o < 2**31 else o - 2**32)
                                                         for o in oids))


_FIELD = struct.Struct("!ihihih")


def row_description(
    fields: list[tuple[str, int, int, int, int, int]], formats: list[int] | tuple[int, ...]
) -> bytes:
    """fields: (name, table_oid, column_attnum, type_oid, type_size, type_modifier)."""
    parts = [_PACK_I16(len(fields))]
    for (name, table_oid, attnum, type_oid, size, typmod), fmt in zip(fields, formats,
                                                                      strict=True):
        parts.append(name.encode() + b"\0")
        parts.append(_FIELD.pack(table_oid, attnum, type_oid, size, typmod, fmt))
    return _frame(b"T", b"".join(parts))


def data_row_writer(encoders: Sequence[Callable[[Any], bytes]]
                    ) -> Callable[[Sequence[Any]], bytes]:
    """A function from a row of values to its DataRow message, value i
    encoded by encoders[i] (None is NULL): data_row of the encoded values,
    generated per column list with the columns unrolled. A comprehension
    over zip(row, encoders, strict=True) costs a frame and a keyword call
    per row. A row of another width raises ValueError, as the strict zip did."""
    n = len(encoders)
    if n == 0 or n > 64:
        def write_row(row: Sequence[Any]) -> bytes:
            if len(row) != n:
                raise ValueError(f"a row of {len(row)} values for {n} columns")
            return data_row([None if v is None else e(v)
                             for v, e in zip(row, encoders)])  # noqa: B905 - checked
        return write_row
    lines = ["def write_row(row):", "    " + "".join(f"v{i}, " for i in range(n)) + "= row"]
    parts = ["HEAD"]
    for i in range(n):
        lines += [f"    if v{i} is None:",
                  f"        l{i} = NULL",
                  f"        b{i} = EMPTY",
                  "    else:",
                  f"        b{i} = e{i}(v{i})",
                  f"        l{i} = I32(len(b{i}))"]
        parts += [f"l{i}", f"b{i}"]
    lines += [f"    body = JOIN(({', '.join(parts)}))",
              "    return D + I32(len(body) + 4) + body"]
    env: dict[str, Any] = {"HEAD": _PACK_I16(n), "NULL": b"\xff\xff\xff\xff", "EMPTY": b"",
                           "I32": _PACK_I32, "JOIN": b"".join, "D": b"D"}
    for i, e in enumerate(encoders):
        env[f"e{i}"] = e
    exec(compile("\n".join(lines) + "\n", f"<{n}-column DataRow writer>", "exec"), env)
    return env["write_row"]  # type: ignore[no-any-return]


def data_row(values: list[bytes | None] | tuple[bytes | None, ...]) -> bytes:
    """Encode a DataRow from already-encoded column values (None = NULL)."""
    parts = [_PACK_I16(len(values))]
    append = parts.append
    for v in values:
        if v is None:
            append(b"\xff\xff\xff\xff")
        else:
            append(_PACK_I32(len(v)))
            append(v)
    body = b"".join(parts)
    return b"D" + _PACK_I32(len(body) + 4) + body


def _error_fields(
    severity: str, code: str, message: str, detail: str | None, hint: str | None,
    position: int | None,
) -> bytes:
    parts = [b"S", severity.encode(), b"\0", b"V", severity.encode(), b"\0",
             b"C", code.encode(), b"\0", b"M", message.encode("utf-8", "replace"), b"\0"]
    if detail:
        parts += [b"D", detail.encode("utf-8", "replace"), b"\0"]
    if hint:
        parts += [b"H", hint.encode("utf-8", "replace"), b"\0"]
    if position:
        parts += [b"P", str(position).encode(), b"\0"]
    parts.append(b"\0")
    return b"".join(parts)


_OBJECT_FIELDS = (("context", b"W"), ("schema", b"s"), ("table", b"t"), ("column", b"c"),
                  ("constraint", b"n"))


def error_response(err: errors.DatabaseError, severity: str | None = None) -> bytes:
    sev = severity or err.severity
    body = _error_fields(sev, err.sqlstate, err.message, err.detail, err.hint, err.position)
    extra = [code + value.encode("utf-8", "replace") + b"\0"
             for attr, code in _OBJECT_FIELDS if (value := getattr(err, attr, None))]
    if extra:
        body = body[:-1] + b"".join(extra) + b"\0"
    return _frame(b"E", body)


def notice_response(message: str, severity: str = "NOTICE", code: str = "00000",
                    detail: str | None = None, hint: str | None = None) -> bytes:
    return _frame(b"N", _error_fields(severity, code, message, detail, hint, None))


def copy_in_response(ncols: int, binary: bool = False) -> bytes:
    fmt = 1 if binary else 0
    return _frame(b"G", bytes([fmt]) + _PACK_I16(ncols) + _PACK_I16(fmt) * ncols)


def copy_out_response(ncols: int, binary: bool = False) -> bytes:
    fmt = 1 if binary else 0
    return _frame(b"H", bytes([fmt]) + _PACK_I16(ncols) + _PACK_I16(fmt) * ncols)


def copy_data(data: bytes) -> bytes:
    return b"d" + _PACK_I32(len(data) + 4) + data


def negotiate_protocol_version(newest: int, unknown_options: list[str]) -> bytes:
    """`newest`: the full version code we speak (PostgreSQL 15 sends 3.0 as 196608)."""
    body = _PACK_I32(newest) + _PACK_I32(len(unknown_options)) + b"".join(
        o.encode() + b"\0" for o in unknown_options)
    return _frame(b"v", body)
