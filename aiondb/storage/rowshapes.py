"""(key, row) encoders and decoders specialised by the shape of the row.

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

Shapes with other types (numeric, dates, JSON, arrays ...) get a function
that checks the shape and calls the generic encoder.

Decoding (recovery's replay, loading a checkpoint) works the same way from
the other side: the shape of the last row decoded generically gives a
function that unpacks each fixed-size run of a row with one struct call and
checks every tag it passes; a row of another shape makes it return None,
and that row is decoded generically. The tags are always checked, so a
wrong guess of the shape costs time, never correctness.

The functions are generated from a fixed vocabulary (struct codes and
argument positions; never data), the technique collections.namedtuple uses.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

from aiondb.storage import records as R
from aiondb.storage.records import decode_row, decode_value, encode_row, encode_value

Encoder = Callable[[Any, tuple, bytearray], bool]
PairBytes = Callable[[Any, tuple], "bytes | bytearray | None"]

_MAX_SHAPES = 512            # generated functions kept per cache (then it starts over)
_cache: dict[tuple[bool, tuple[type, ...]], Encoder] = {}


def _cached(cache: dict, key: tuple[bool, tuple], make: Callable[[tuple, bool], Any]) -> Any:
    """cache[key], generated on first use; a full cache is emptied, so a
    stream of ever-new shapes costs one generation each, never more."""
    got = cache.get(key)
    if got is None:
        if len(cache) >= _MAX_SHAPES:
            cache.clear()
        got = cache[key] = make(key[1], key[0])
    return got


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
        enc = _cached(cache, (flagged, shape), _make)
        if not enc(key, row, out):
            _encode_generic(key, row, out, flagged)


def _encode_generic(key: Any, row: tuple, out: bytearray, flagged: bool) -> None:
    encode_value(key, out)
    if flagged:
        out.append(1)
    encode_row(row, out)


def _make(shape: tuple[type, ...], flagged: bool) -> Encoder:
    """Generate the encoder for one shape: enc(key, row, out) appends."""
    return _generate(shape, flagged, None, b"")  # type: ignore[no-any-return]


def pair_bytes_encoder(shape: tuple[type, ...], flagged: bool, prefix: bytes,
                       suffix: bytes) -> PairBytes:
    """Generate, for one shape, enc(key, row) returning prefix + the pair's
    encoding + suffix as one bytes object, in one struct call per string
    (prefix packed with the first): a whole record payload built at once.
    None when the row does not fit the shape's fixed path (as _make's
    encoders return False); shapes with other types take the generic
    encoders, as theirs do."""
    return _generate(shape, flagged, prefix, suffix)  # type: ignore[no-any-return]


def _generate(shape: tuple[type, ...], flagged: bool, prefix: bytes | None,
              suffix: bytes) -> Encoder | PairBytes:
    """The generator behind _make (prefix None: append to out, return
    True/False) and pair_bytes_encoder (return the bytes, or None)."""
    body: list[str] = []       # statements before the packing (string encodes)
    parts: list[str] = []      # the packed parts, in byte order
    fmt, args = "<", []
    if prefix:
        fmt, args = f"<{len(prefix)}s", ["P"]

    def close() -> None:
        nonlocal fmt, args
        if args:
            structs.append(struct.Struct(fmt))
            parts.append(f"S{len(structs) - 1}({', '.join(args)})")
        fmt, args = "<", []

    structs: list[struct.Struct] = []
    generic = False
    fail = "False" if prefix is None else "None"
    for i, tp in enumerate(shape):
        v = "key" if i == 0 else f"v{i}"
        if tp is int:
            fmt += "Bq"
            args += [str(R.T_INT), v]
        elif tp is str:
            body.append(f"s{i} = {v}.encode('utf-8', 'surrogatepass')")
            body.append(f"if len(s{i}) > 255: return {fail}")
            fmt += "BB"
            args += [str(R.T_STR8), f"len(s{i})"]
            close()
            parts.append(f"s{i}")
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
            generic = True
            break
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
    generic_lines = ["encode_value(key, out)", *(["out.append(1)"] if flagged else []),
                     "encode_row(row, out)"]
    if prefix is None:
        sig = "def enc(key, row, out):\n"
        if generic:
            # a type without a fixed layout (numeric, dates, JSON ...): the generic
            # encoders, but still no shape tuple built for every row
            packing = "".join(f"    {line}\n" for line in generic_lines)
        else:
            packing = ("".join(f"    {line}\n" for line in body)
                       + "    mark = len(out)\n    try:\n"
                       + "".join(f"        out += {part}\n" for part in parts)
                       + "    except struct.error:\n        del out[mark:]\n        return False\n")
        packing += "    return True\n"
    else:
        sig = "def enc(key, row):\n"
        if generic:
            packing = ("    out = bytearray(P)\n"
                       + "".join(f"    {line}\n" for line in generic_lines)
                       + "    out += Q\n    return out\n")
        else:
            packing = ("".join(f"    {line}\n" for line in body)
                       + "    try:\n"
                       + f"        return {' + '.join([*parts, 'Q'] if suffix else parts)}\n"
                       + "    except struct.error:\n        return None\n")
    src = (sig
           + f"    if len(row) != {len(names)}: return {fail}\n"
           + unpack
           + f"    if {types}: return {fail}\n"
           + packing)
    env: dict[str, Any] = {"struct": struct, "encode_value": encode_value,
                           "encode_row": encode_row, "P": prefix, "Q": suffix}
    for i, tp in enumerate(shape):
        env[f"K{i}"] = tp
    for n, st in enumerate(structs):
        env[f"S{n}"] = st.pack
    exec(compile(src, f"<row shape {'/'.join(t.__name__ for t in shape)}>", "exec"), env)
    return env["enc"]  # type: ignore[no-any-return]


# --- decoding ---------------------------------------------------------------------------------
Decoder = Callable[[bytes, int], "tuple[Any, tuple, int] | None"]
_dcache: dict[tuple[bool, tuple[str, ...]], Decoder] = {}
_KIND = {int: "i", str: "s", bool: "b", type(None): "n", float: "f"}


def decode_pairs(buf: bytes, pos: int, count: int | None, into: dict[Any, tuple | None],
                 flagged: bool) -> int:
    """Decode `count` pairs (None: up to the end of buf) written by
    encode_pairs into `into`; returns the position after them. Errors are
    the generic decoders' (IndexError, struct.error ... for the caller to
    report as corruption)."""
    dec: Decoder | None = None
    skip = 0        # rows of a shape without a decoder: look again only now and then
    end = len(buf)
    left = count if count is not None else -1
    while left != 0 and (count is not None or pos < end):
        left -= 1
        if dec is not None:
            got = dec(buf, pos)
            if got is not None:
                into[got[0]] = got[1]
                pos = got[2]
                continue
        key, pos = decode_value(buf, pos)
        if flagged:
            if not buf[pos]:
                into[key] = None
                pos += 1
                continue
            pos += 1
        row, pos = decode_row(buf, pos)
        into[key] = row
        if skip:
            skip -= 1
            continue
        dec = _decoder_for(key, row, flagged)
        if dec is None:
            skip = 63
    return pos


def _decoder_for(key: Any, row: tuple, flagged: bool) -> Decoder | None:
    kinds = []
    for v in (key, *row):
        k = _KIND.get(type(v))
        # a string's tag depends on its UTF-8 length (up to 255: the short form)
        if k is None or (k == "s" and len(v) > 63
                         and len(v.encode("utf-8", "surrogatepass")) > 255):
            return None
        kinds.append(k)
    return _cached(_dcache, (flagged, tuple(kinds)), _make_decoder)  # type: ignore[no-any-return]


def _make_decoder(kinds: tuple[str, ...], flagged: bool) -> Decoder:
    """Generate the decoder for rows whose key and values are of `kinds`."""
    lines: list[str] = []
    structs: list[struct.Struct] = []
    fmt, names, checks = "<", [], []

    def close() -> None:
        nonlocal fmt, names, checks
        if names:
            structs.append(struct.Struct(fmt))
            n = len(structs) - 1
            lines.append("try:")
            lines.append(f"    {', '.join(names)}, = U{n}(buf, pos)")
            lines.append("except struct.error:")
            lines.append("    return None")
            if checks:
                lines.append(f"if {' or '.join(checks)}: return None")
            lines.append(f"pos += {structs[-1].size}")
        fmt, names, checks = "<", [], []

    values = []
    for i, k in enumerate(kinds):
        v = "key" if i == 0 else f"v{i}"
        if k == "i":
            fmt += "Bq"
            names += [f"t{i}", v]
            checks.append(f"t{i} != {R.T_INT}")
        elif k == "f":
            fmt += "Bd"
            names += [f"t{i}", v]
            checks.append(f"t{i} != {R.T_FLOAT}")
        elif k == "n":
            fmt += "B"
            names.append(f"t{i}")
            checks.append(f"t{i} != {R.T_NONE}")
        elif k == "b":
            fmt += "B"
            names.append(f"t{i}")
            checks.append(f"(t{i} != {R.T_TRUE} and t{i} != {R.T_FALSE})")
        else:   # "s": the tag and length close this run; then the bytes
            fmt += "BB"
            names += [f"t{i}", f"l{i}"]
            checks.append(f"t{i} != {R.T_STR8}")
            close()
            lines.append(f"{v} = buf[pos:pos + l{i}].decode('utf-8', 'surrogatepass')")
            lines.append(f"pos += l{i}")
        if i == 0:
            if flagged:
                fmt += "B"
                names.append("f")
                checks.append("f != 1")
            fmt += "H"
            names.append("n")
            checks.append(f"n != {len(kinds) - 1}")
        else:
            values.append(v if k in "ifs" else "None" if k == "n" else f"t{i} == {R.T_TRUE}")
    close()
    key = "key" if kinds[0] in "ifs" else "None" if kinds[0] == "n" else f"t0 == {R.T_TRUE}"
    src = ("def dec(buf, pos):\n" + "".join(f"    {line}\n" for line in lines)
           + f"    return {key}, ({''.join(v + ', ' for v in values)}), pos\n")
    env: dict[str, Any] = {"struct": struct}
    for n, st in enumerate(structs):
        env[f"U{n}"] = st.unpack_from
    exec(compile(src, f"<row decoder {''.join(kinds)}>", "exec"), env)
    return env["dec"]  # type: ignore[no-any-return]
