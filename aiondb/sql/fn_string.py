"""String functions and operators."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.functions import ANY, ANYNONARRAY, func, op, srf
from aiondb.sql.textio import format_text, guess_type

TEXT = T.TEXT


def _text_of(v: Any) -> str:
    return v if isinstance(v, str) else format_text(guess_type(v), v)


op("||", TEXT, TEXT, TEXT)(lambda a, b: a + b)
op("||", TEXT, ANYNONARRAY, TEXT)(lambda a, b: a + _text_of(b))
op("||", ANYNONARRAY, TEXT, TEXT)(lambda a, b: _text_of(a) + b)
op("||", T.BYTEA, T.BYTEA, T.BYTEA)(lambda a, b: a + b)
op("^@", TEXT, TEXT, T.BOOL)(lambda a, b: a.startswith(b))

func(("length", "char_length", "character_length"), (TEXT,), T.INT4)(len)
func("length", (T.BPCHAR,), T.INT4)(lambda s: len(s.rstrip(" ")))
func("length", (T.BYTEA,), T.INT4)(len)
func("octet_length", (TEXT,), T.INT4)(lambda s: len(s.encode()))
func("octet_length", (T.BPCHAR,), T.INT4)(lambda s: len(s.encode()))   # counts the padding
func("octet_length", (T.BYTEA,), T.INT4)(len)
func("bit_length", (TEXT,), T.INT4)(lambda s: 8 * len(s.encode()))
# Case mapping follows the C ctype AionDB reports (lc_ctype = C), as PostgreSQL
# does in such a cluster: only ASCII letters change case.
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_upper(s: str) -> str:
    return s.translate(_UPPER)


def ascii_lower(s: str) -> str:
    return s.translate(_LOWER)


func("lower", (TEXT,), TEXT)(ascii_lower)
func("upper", (TEXT,), TEXT)(ascii_upper)
func("initcap", (TEXT,), TEXT)(
    lambda s: re.sub(r"[A-Za-z0-9]+", lambda m: ascii_upper(m.group(0)[0]) +
                     ascii_lower(m.group(0)[1:]), s))
func("md5", (TEXT,), TEXT)(lambda s: hashlib.md5(s.encode()).hexdigest())
func("md5", (T.BYTEA,), TEXT)(lambda b: hashlib.md5(b).hexdigest())
func("sha256", (T.BYTEA,), T.BYTEA)(lambda b: hashlib.sha256(b).digest())
func("reverse", (TEXT,), TEXT)(lambda s: s[::-1])
func("ascii", (TEXT,), T.INT4)(lambda s: ord(s[0]) if s else 0)
func("strpos", (TEXT, TEXT), T.INT4)(lambda s, sub: s.find(sub) + 1)
func("starts_with", (TEXT, TEXT), T.BOOL)(lambda s, p: s.startswith(p))
func("to_hex", (T.INT8,), TEXT)(lambda n: format(n & 0xFFFFFFFFFFFFFFFF if n < 0 else n, "x"))
func("to_hex", (T.INT4,), TEXT)(lambda n: format(n & 0xFFFFFFFF if n < 0 else n, "x"))


def _get_byte(b: bytes, n: int) -> int:
    if not 0 <= n < len(b):
        raise errors.ArraySubscriptError(f"index {n} out of valid range, 0..{len(b) - 1}")
    return b[n]


def _set_byte(b: bytes, n: int, v: int) -> bytes:
    _get_byte(b, n)
    return b[:n] + bytes([v & 0xFF]) + b[n + 1:]


func("get_byte", (T.BYTEA, T.INT4), T.INT4)(_get_byte)
func("set_byte", (T.BYTEA, T.INT4, T.INT4), T.BYTEA)(_set_byte)
func("quote_ident", (TEXT,), TEXT)(
    lambda s: s if re.fullmatch(r"[a-z_][a-z0-9_$]*", s) else '"' + s.replace('"', '""') + '"')


@func("chr", (T.INT4,), TEXT)
def _chr(n: int) -> str:
    if n == 0:
        raise errors.ProgramLimitExceeded("null character not permitted")
    if n < 0 or n > 0x10FFFF:
        raise errors.ProgramLimitExceeded("requested character too large for encoding: " +
                                          str(n))
    return chr(n)


@func("quote_literal", (ANY,), TEXT)
def _quote_literal(v: Any) -> str:
    s = _text_of(v)
    if "\\" in s:
        return "E'" + s.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + s.replace("'", "''") + "'"


@func("quote_nullable", (ANY,), TEXT, strict=False)
def _quote_nullable(v: Any) -> str:
    return "NULL" if v is None else _quote_literal(v)


@func("substring", (TEXT, T.INT4), TEXT)
def substring(s: str, start: int, count: int | None = None) -> str:
    if count is not None and count < 0:
        raise errors.SubstringError("negative substring length not allowed")
    begin = start - 1
    end = None if count is None else begin + count
    if begin < 0:
        begin = 0
    if end is not None and end < 0:
        return ""
    return s[begin:end]


func(("substring", "substr"), (TEXT, T.INT4, T.INT4), TEXT)(substring)
func("substr", (TEXT, T.INT4), TEXT)(substring)
func("substring", (T.BYTEA, T.INT4, T.INT4), T.BYTEA)(substring)


@func("substring", (TEXT, TEXT), TEXT)
def _substring_regex(s: str, pattern: str) -> str | None:
    from aiondb.sql.fn_core import posix_regex
    m = posix_regex(pattern).search(s)
    if m is None:
        return None
    return m.group(1) if m.groups() else m.group(0)


@func("left", (TEXT, T.INT4), TEXT)
def _left(s: str, n: int) -> str:
    return s[:n] if n >= 0 else s[:max(len(s) + n, 0)]


@func("right", (TEXT, T.INT4), TEXT)
def _right(s: str, n: int) -> str:
    if n >= 0:
        return s[len(s) - n:] if n else ""
    return s[-n:]


func("btrim", (TEXT,), TEXT)(lambda s: s.strip(" "))
func("btrim", (TEXT, TEXT), TEXT)(lambda s, c: s.strip(c))
func("ltrim", (TEXT,), TEXT)(lambda s: s.lstrip(" "))
func("ltrim", (TEXT, TEXT), TEXT)(lambda s, c: s.lstrip(c))
func("rtrim", (TEXT,), TEXT)(lambda s: s.rstrip(" "))
func("rtrim", (TEXT, TEXT), TEXT)(lambda s, c: s.rstrip(c))
func("btrim", (T.BYTEA, T.BYTEA), T.BYTEA)(lambda s, c: s.strip(c))


@func("lpad", (TEXT, T.INT4, TEXT), TEXT)
def _lpad(s: str, n: int, fill: str = " ") -> str:
    if n <= len(s):
        return s[:max(n, 0)]
    if not fill:
        return s
    pad = (fill * ((n - len(s)) // len(fill) + 1))[:n - len(s)]
    return pad + s


@func("rpad", (TEXT, T.INT4, TEXT), TEXT)
def _rpad(s: str, n: int, fill: str = " ") -> str:
    if n <= len(s):
        return s[:max(n, 0)]
    if not fill:
        return s
    pad = (fill * ((n - len(s)) // len(fill) + 1))[:n - len(s)]
    return s + pad


func("lpad", (TEXT, T.INT4), TEXT)(_lpad)
func("rpad", (TEXT, T.INT4), TEXT)(_rpad)


@func("repeat", (TEXT, T.INT4), TEXT)
def _repeat(s: str, n: int) -> str:
    if n > 0 and len(s) * n > 1024 * 1024 * 1024:
        raise errors.ProgramLimitExceeded("requested length too large")
    return s * max(n, 0)


func("replace", (TEXT, TEXT, TEXT), TEXT)(lambda s, a, b: s.replace(a, b) if a else s)
func("translate", (TEXT, TEXT, TEXT), TEXT)(
    lambda s, a, b: s.translate({ord(c): (b[i] if i < len(b) else None)
                                 for i, c in reversed(list(enumerate(a)))}))


@func("split_part", (TEXT, TEXT, T.INT4), TEXT)
def _split_part(s: str, delim: str, n: int) -> str:
    if n == 0:
        raise errors.InvalidParameterValue("field position must not be zero")
    parts = s.split(delim) if delim else [s]
    if n < 0:
        n = len(parts) + n + 1
        if n <= 0:
            return ""
    return parts[n - 1] if n <= len(parts) else ""


@func("concat", (ANY,), TEXT, strict=False, variadic=ANY)
def _concat(*vals: Any) -> str:
    return "".join(_text_of(v) for v in vals if v is not None)


@func("concat_ws", (TEXT, ANY), TEXT, strict=False, variadic=ANY)
def _concat_ws(sep: str | None, *vals: Any) -> str | None:
    if sep is None:
        return None
    return sep.join(_text_of(v) for v in vals if v is not None)


@func("overlay", (TEXT, TEXT, T.INT4, T.INT4), TEXT)
def _overlay(s: str, repl: str, start: int, count: int | None = None) -> str:
    if count is None:
        count = len(repl)
    return s[:start - 1] + repl + s[start - 1 + count:]


func("overlay", (TEXT, TEXT, T.INT4), TEXT)(_overlay)


@func("format", (TEXT,), TEXT, strict=False, variadic=ANY)
def _format(fmt: str | None, *args: Any) -> str | None:
    if fmt is None:
        return None
    out = []
    i = 0
    argi = 0
    n = len(fmt)
    while i < n:
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            raise errors.InvalidParameterValue("unterminated format() type specifier")
        if fmt[i] == "%":
            out.append("%")
            i += 1
            continue
        m = re.match(r"(\d+\$)?(-)?(\d+|\*)?([sIL])", fmt[i:])
        if m is None:
            raise errors.InvalidParameterValue(
                f'unrecognized format() type specifier "{fmt[i]}"',
                hint='For a single "%" use "%%".')
        if m.group(1):
            argi = int(m.group(1)[:-1]) - 1
        width = m.group(3)
        if width == "*":
            width = str(args[argi])
            argi += 1
        if argi >= len(args):
            raise errors.InvalidParameterValue("too few arguments for format()")
        v = args[argi]
        argi += 1
        kind = m.group(4)
        if kind == "s":
            text = "" if v is None else _text_of(v)
        elif kind == "I":
            if v is None:
                raise errors.NullValueNotAllowed("null values cannot be formatted as an SQL "
                                                 "identifier")
            text = _text_of(v)
            if not re.fullmatch(r"[a-z_][a-z0-9_$]*", text):
                text = '"' + text.replace('"', '""') + '"'
        else:
            text = "NULL" if v is None else _quote_literal(v)
        if width:
            w = int(width)
            text = text.ljust(w) if m.group(2) else text.rjust(w)
        out.append(text)
        i += m.end()
    return "".join(out)


@func("regexp_replace", (TEXT, TEXT, TEXT), TEXT)
def _regexp_replace(s: str, pattern: str, repl: str, flags: str = "") -> str:
    from aiondb.sql.fn_core import posix_regex
    rflags = re.IGNORECASE if "i" in flags else 0
    rx = posix_regex(pattern, rflags)
    py_repl = re.sub(r"\\(\d)", r"\\g<\1>", repl.replace("\\&", "\\g<0>"))
    return rx.sub(py_repl, s, count=0 if "g" in flags else 1)


func("regexp_replace", (TEXT, TEXT, TEXT, TEXT), TEXT)(_regexp_replace)


@func("regexp_match", (TEXT, TEXT), TEXT.array_of())
def _regexp_match(s: str, pattern: str, flags: str = "") -> list | None:
    from aiondb.sql.fn_core import posix_regex
    m = posix_regex(pattern, re.IGNORECASE if "i" in flags else 0).search(s)
    if m is None:
        return None
    return list(m.groups()) if m.groups() else [m.group(0)]


func("regexp_match", (TEXT, TEXT, TEXT), TEXT.array_of())(_regexp_match)


def _regexp_matches(ctx: Any, s: str, pattern: str, flags: str = "") -> list[tuple]:
    """Rows of captured groups (the whole match without groups); 'g' for all."""
    from aiondb.sql.fn_core import posix_regex
    rx = posix_regex(pattern, re.IGNORECASE if "i" in flags else 0)
    found = rx.finditer(s) if "g" in flags else [m for m in [rx.search(s)] if m]
    return [(list(m.groups()) if m.groups() else [m.group(0)],) for m in found]


srf("regexp_matches", (TEXT, TEXT), lambda ts: [("regexp_matches", TEXT.array_of())])(
    _regexp_matches)
srf("regexp_matches", (TEXT, TEXT, TEXT), lambda ts: [("regexp_matches", TEXT.array_of())])(
    _regexp_matches)


def _regexp_split(s: str, pattern: str, flags: str = "") -> list[str]:
    from aiondb.sql.fn_core import posix_regex
    rx = posix_regex(pattern, re.IGNORECASE if "i" in flags else 0)
    out, pos = [], 0
    for m in rx.finditer(s):
        if m.end() == m.start():
            # an empty match splits between characters, never at either end
            if m.start() == 0 or m.start() >= len(s):
                continue
        out.append(s[pos:m.start()])
        pos = m.end()
    out.append(s[pos:])
    return out


func("regexp_split_to_array", (TEXT, TEXT), TEXT.array_of())(_regexp_split)
func("regexp_split_to_array", (TEXT, TEXT, TEXT), TEXT.array_of())(_regexp_split)
srf("regexp_split_to_table", (TEXT, TEXT), lambda ts: [("regexp_split_to_table", TEXT)])(
    lambda ctx, s, p: [(x,) for x in _regexp_split(s, p)])
srf("regexp_split_to_table", (TEXT, TEXT, TEXT), lambda ts: [("regexp_split_to_table", TEXT)])(
    lambda ctx, s, p, f: [(x,) for x in _regexp_split(s, p, f)])


@func("encode", (T.BYTEA, TEXT), TEXT)
def _encode(b: bytes, fmt: str) -> str:
    import base64
    f = fmt.lower()
    if f == "hex":
        return b.hex()
    if f == "base64":
        return base64.encodebytes(b).decode().rstrip("\n")
    if f == "escape":
        # PostgreSQL escapes only NUL, backslash and bytes >= 0x80
        return "".join("\\\\" if x == 92 else chr(x) if 0 < x < 128 else f"\\{x:03o}"
                       for x in b)
    raise errors.InvalidParameterValue(f'unrecognized encoding: "{fmt}"')


@func("decode", (TEXT, TEXT), T.BYTEA)
def _decode(s: str, fmt: str) -> bytes:
    import base64
    f = fmt.lower()
    try:
        if f == "hex":
            return bytes.fromhex(s)
        if f == "base64":
            return base64.b64decode(s)
    except ValueError:
        raise errors.InvalidParameterValue(f"invalid {f} data") from None
    if f == "escape":
        from aiondb.sql.textio_parse import parse_bytea
        return parse_bytea(s)
    raise errors.InvalidParameterValue(f'unrecognized encoding: "{fmt}"')


func("convert_from", (T.BYTEA, TEXT), TEXT)(lambda b, enc: b.decode("utf-8", "replace"))
func("convert_to", (TEXT, TEXT), T.BYTEA)(lambda s, enc: s.encode("utf-8"))
