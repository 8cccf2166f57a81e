"""(key, row) encoders specialised by the Python types of the values.

A big commit (a million rows from COPY), a table rewrite and a checkpoint
image encode rows by the million, and the generic encoder dispatches on
every value's type. Rows of one table mostly share a *shape* (the types of
the key and of each value), so per shape one function is generated that
packs the whole row with one struct call per string, and produces exactly
the bytes records.encode_value / encode_row would (the format does not
change; tests compare the two on random rows). A value the shape's function
cannot take on its fixed path (an int beyond 64 bits, a string of 256 or
more bytes) makes it write nothing and return False: the caller then uses
the generic encoder for that row.

Shapes with other types (numeric, dates, JSON, arrays ...) are not
specialised: the generic encoder handles them as before.

The functions are generated from a fixed vocabulary (struct codes and
argument positions; never data), the technique collections.namedtuple uses.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

from aiondb.storage import records as R
from aiondb.storage.records import encode_row, encode_value

Encoder = Callable[[Any, tuple, bytearray], bool]

_MAX_SHAPES = 512            # beyond this many shapes, new ones use the generic path
_cache: dict[tuple[bool, tuple[type, ...]], Encoder | None] = {}


def encode_pairs(items: Iterable[tuple[Any, tuple | None]], out: bytearray,
                 flagged: bool) -> None:
    """Append each (key, row) as encode_value(key) [+ 1 if flagged] +
    encode_row(row); a None row (a deletion, only when flagged) as
    encode_value(key) + 0."""
    cache = _cache
    enc: Encoder | None = None
    for key, row in items:
        if row is None:
            encode_value(key, out)
            out.append(0)
            continue
        # the last row's encoder checks the shape itself (cheaper than
        # building the shape tuple for every row)
        if enc is not None and enc(key, row, out):
            continue
        shape = (type(key), *map(type, row))
        got = cache.get((flagged, shape), False)
        if got is False:
            got = _make(shape, flagged)
            if len(cache) < _MAX_SHAPES:
                cache[(flagged, shape)] = got
        enc = got       # type: ignore[assignment]
        if enc is None or not enc(key, row, out):
            encode_value(key, out)
            if flagged:
                out.append(1)
            encode_row(row, out)


def _make(shape: tuple[type, ...], flagged: bool) -> Encoder | None:
    """Generate the encoder for one shape; None if a type is not handled."""
    body: list[str] = []       # statements before the packing (string encodes)
    writes: list[str] = []     # the packing, in byte order
    fmt, args = "<", []

    def close() -> None:
        nonlocal fmt, args
        if args:
            structs.append(struct.Struct(fmt))
            writes.append(f"out += S{len(structs) - 1}({', '.join(args)})")
        fmt, args = "<", []

    structs: list[struct.Struct] = []
    for i, tp in enumerate(shape):
        v = "key" if i == 0 else f"v{i}"
        if tp is int:
            fmt += "Bq"
            args += [str(R.T_INT), v]
        elif tp is str:
            body.append(f"s{i} = {v}.encode('utf-8', 'surrogatepass')")
            body.append(f"if len(s{i}) > 255: return False")
            fmt += "BB"
            args += [str(R.T_STR8), f"len(s{i})"]
            close()
            writes.append(f"out += s{i}")
        elif tp is bool:
            fmt += "B"
            args += [f"({R.T_TRUE} if {v} else {R.T_FALSE})"]
        elif tp is type(None):
            fmt += "B"
            args += [str(R.T_NONE)]
        elif tp is float:
            fmt += "Bd"
            args += [str(R.T_FLOAT), v]
        else:
            return None
        if i == 0:
            # after the key: the write flag, then the row's value count
            if flagged:
                fmt += "B"
                args.append("1")
            fmt += "H"
            args.append(str(len(shape) - 1))
    close()
    names = [f"v{i}" for i in range(1, len(shape))]
    unpack = f"    {', '.join(names)}, = row\n" if names else ""
    types = " or ".join(f"type({v}) is not K{i}" for i, v in enumerate(["key", *names]))
    src = ("def enc(key, row, out):\n"
           f"    if len(row) != {len(names)}: return False\n"
           + unpack
           + f"    if {types}: return False\n"
           + "".join(f"    {line}\n" for line in body)
           + "    mark = len(out)\n    try:\n"
           + "".join(f"        {line}\n" for line in writes)
           + "    except struct.error:\n        del out[mark:]\n        return False\n"
           + "    return True\n")
    env: dict[str, Any] = {"struct": struct}
    for i, tp in enumerate(shape):
        env[f"K{i}"] = tp
    for n, s in enumerate(structs):
        env[f"S{n}"] = s.pack
    exec(compile(src, f"<row shape {'/'.join(t.__name__ for t in shape)}>", "exec"), env)
    return env["enc"]  # type: ignore[no-any-return]
