"""A Bind message's parameter values and result formats: the part of a Bind
that a client repeating a prepared statement changes every time, parsed on
every execution (the fast lane of codec.py and its message parser).

Values are split by a function generated per parameter count, unrolled: a
loop over the count, appending to a list then making a tuple, costs about
a third more (≈ 0.4 µs for 3 values). Counts above _MAX_UNROLLED take the
loop, which is also the reference the tests compare the generated
functions with.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_U32 = struct.Struct("!i").unpack_from
_U16 = struct.Struct("!H").unpack_from
_MAX_UNROLLED = 64
_ONE_FORMAT = {b"\x00\x00": (0,), b"\x00\x01": (1,)}

Values = tuple[tuple[bytes | None, ...], tuple[int, ...]]
Splitter = Callable[[bytes, int, int], Values | None]


def bind_values(buf: bytes | bytearray, p: int, end: int) -> Values | None:
    """The parameter values and result formats of a Bind, from its parameter
    count at p to the message end; None if malformed. Values are bytes
    (None for NULL), whatever buf is."""
    if type(buf) is not bytes:
        # one copy of the rest of the message: each value is then a slice of
        # it (slicing the bytearray then copying to bytes would copy each twice)
        buf = bytes(buf[p:end])
        end -= p
        p = 0
    return splitter(_U16(buf, p)[0])(buf, p + 2, end)  # type: ignore[arg-type]


def splitter(n: int) -> Splitter:
    """The function splitting n values (from bytes, at the first value's
    length) and the result formats after them."""
    split = _SPLITTERS.get(n)
    if split is None:
        if n > _MAX_UNROLLED:
            return lambda buf, q, end: split_values_loop(buf, q, end, n)
        split = _SPLITTERS[n] = _make_splitter(n)
    return split


def split_values_loop(buf: bytes, q: int, end: int, n: int) -> Values | None:
    """n values from q on, then the result formats up to end."""
    params: list[bytes | None] = []
    for _ in range(n):
        ln = _U32(buf, q)[0]
        q += 4
        if ln >= 0:
            r = q + ln
            if r > end:
                return None
            params.append(buf[q:r])
            q = r
        elif ln == -1:
            params.append(None)
        else:
            return None
    formats = result_formats(buf, q, end)
    return None if formats is None else (tuple(params), formats)


def result_formats(buf: bytes, q: int, end: int) -> tuple[int, ...] | None:
    """The result format codes at q, ending exactly at end; None if not."""
    nr = _U16(buf, q)[0]
    if q + 2 + 2 * nr != end:
        return None
    if not nr:
        return ()
    if nr == 1:         # one format for all columns (pgbench, psql's \bind): no struct call
        return _ONE_FORMAT.get(buf[q + 2:end])
    formats = struct.unpack_from(f"!{nr}h", buf, q + 2)
    for f in formats:
        if f not in (0, 1):
            return None
    return formats


def _make_splitter(n: int) -> Splitter:
    """split_values_loop for n values, unrolled. A value running past end
    leaves q past end, which the result formats' exact end then rejects: the
    loop's check after each value is not needed for the same answer (a
    length field read past the buffer raises struct.error, which callers
    take as malformed)."""
    lines = ["def split(buf, q, end):"]
    for i in range(n):
        lines += ["    ln = U32(buf, q)[0]",
                  "    q += 4",
                  "    if ln >= 0:",
                  "        r = q + ln",
                  f"        v{i} = buf[q:r]",
                  "        q = r",
                  "    elif ln == -1:",
                  f"        v{i} = None",
                  "    else:",
                  "        return None"]
    values = "".join(f"v{i}, " for i in range(n))
    lines += ["    if q + 2 == end and not buf[q] and not buf[q + 1]:",
              f"        return ({values}), ()             # no result formats (psycopg)",
              "    if q + 4 == end and not buf[q] and buf[q + 1] == 1:",
              "        formats = ONE_FORMAT.get(buf[q + 2:end])   # one for all (pgbench)",
              f"        return None if formats is None else (({values}), formats)",
              "    formats = result_formats(buf, q, end)",
              f"    return None if formats is None else (({values}), formats)"]
    env = {"U32": _U32, "result_formats": result_formats, "ONE_FORMAT": _ONE_FORMAT}
    exec(compile("\n".join(lines) + "\n", f"<{n}-value Bind splitter>", "exec"), env)
    return env["split"]  # type: ignore[return-value]


_SPLITTERS: dict[int, Splitter] = {}
