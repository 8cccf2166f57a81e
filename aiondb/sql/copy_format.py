"""COPY's options and its three data formats (text, CSV, binary), shared by
COPY FROM (copy_in) and COPY TO (copy): option checking with PostgreSQL's
messages, field escaping, per-column converters."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.textio import parse_text

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
BINARY_HEADER = BINARY_SIGNATURE + struct.pack("!ii", 0, 0)
BINARY_TRAILER = struct.pack("!h", -1)

_TEXT_ESCAPES = {ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9,
                 ord("v"): 11}
_HEX = b"0123456789abcdefABCDEF"

# PostgreSQL encoding names (normalized: upper case, no '_' or '-') → Python codecs
_ENCODINGS = {"UTF8": "utf-8", "UNICODE": "utf-8", "SQLASCII": "utf-8",
              "LATIN1": "iso8859-1", "LATIN2": "iso8859-2", "LATIN3": "iso8859-3",
              "LATIN4": "iso8859-4", "LATIN5": "iso8859-9", "LATIN6": "iso8859-10",
              "LATIN7": "iso8859-13", "LATIN8": "iso8859-14", "LATIN9": "iso8859-15",
              "LATIN10": "iso8859-16", "ISO88595": "iso8859-5", "ISO88596": "iso8859-6",
              "ISO88597": "iso8859-7", "ISO88598": "iso8859-8", "WIN866": "cp866",
              "WIN874": "cp874", "WIN1250": "cp1250", "WIN1251": "cp1251",
              "WIN1252": "cp1252", "WIN1253": "cp1253", "WIN1254": "cp1254",
              "WIN1255": "cp1255", "WIN1256": "cp1256", "WIN1257": "cp1257",
              "WIN1258": "cp1258", "KOI8R": "koi8-r", "KOI8U": "koi8-u",
              "EUCJP": "euc-jp", "EUCKR": "euc-kr", "EUCCN": "gb2312", "SJIS": "shift-jis",
              "GBK": "gbk", "GB18030": "gb18030", "BIG5": "big5", "UHC": "cp949"}
_ENCODING_LABELS = {"UTF8": "UTF8", "UNICODE": "UTF8", "SQLASCII": "SQL_ASCII"}


@dataclass
class CopyOptions:
    fmt: str = "text"
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool | str = False        # True, False or "match"
    quote: str = '"'
    escape: str = '"'
    force_quote: Any = None           # None, "*" or a tuple of column names
    force_not_null: Any = None
    force_null: Any = None
    encoding: str = "UTF8"
    python_encoding: str = "utf-8"


def _bool_option(name: str, value: Any) -> bool:
    if value is True:
        return True
    text = str(value).lower()
    if text in ("true", "on", "1", "yes", "t", "y"):
        return True
    if text in ("false", "off", "0", "no", "f", "n"):
        return False
    raise errors.SyntaxError(f"{name} requires a Boolean value")


def _string_option(name: str, value: Any) -> str:
    if value is True or isinstance(value, tuple):
        raise errors.InvalidParameterValue(f"{name} requires a parameter")
    return str(value)


def _list_option(name: str, value: Any, star: bool) -> Any:
    if isinstance(value, tuple) or (star and value == "*"):
        return value
    raise errors.InvalidParameterValue(
        f'argument to option "{name}" must be a list of column names')


def parse_options(raw: dict[str, Any], direction: str) -> CopyOptions:
    """The statement's options checked as PostgreSQL 15's ProcessCopyOptions does."""
    o = CopyOptions()
    given: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "format":
            fmt = _string_option(key, value).lower()
            if fmt not in ("text", "csv", "binary"):
                raise errors.InvalidParameterValue(f'COPY format "{fmt}" not recognized')
            o.fmt = fmt
        elif key == "freeze":
            _bool_option(key, value)
        elif key in ("delimiter", "null", "quote", "escape"):
            given[key] = _string_option(key, value)
        elif key == "header":
            if str(value).lower() == "match":
                o.header = "match"
            else:
                try:
                    o.header = _bool_option(key, value)
                except errors.DatabaseError:
                    raise errors.SyntaxError(
                        'header requires a Boolean value or "match"') from None
        elif key == "force_quote":
            o.force_quote = _list_option(key, value, star=True)
        elif key in ("force_not_null", "force_null"):
            setattr(o, key, _list_option(key, value, star=False))
        elif key == "encoding":
            name = _string_option(key, value)
            norm = name.upper().replace("_", "").replace("-", "")
            if norm not in _ENCODINGS:
                raise errors.InvalidParameterValue(
                    'argument to option "encoding" must be a valid encoding name')
            o.python_encoding = _ENCODINGS[norm]
            o.encoding = _ENCODING_LABELS.get(norm, name.upper())
        else:
            raise errors.SyntaxError(f'option "{key}" not recognized')
    csv = o.fmt == "csv"
    if o.fmt == "binary":
        if "delimiter" in given:
            raise errors.SyntaxError("cannot specify DELIMITER in BINARY mode")
        if "null" in given:
            raise errors.SyntaxError("cannot specify NULL in BINARY mode")
        if o.header:
            raise errors.FeatureNotSupported("cannot specify HEADER in BINARY mode")
    o.delimiter = given.get("delimiter", "," if csv else "\t")
    o.null = given.get("null", "" if csv else "\\N")
    if len(o.delimiter.encode()) != 1:
        raise errors.FeatureNotSupported("COPY delimiter must be a single one-byte character")
    if o.delimiter in "\r\n":
        raise errors.InvalidParameterValue("COPY delimiter cannot be newline or carriage return")
    if "\r" in o.null or "\n" in o.null:
        raise errors.InvalidParameterValue(
            "COPY null representation cannot use newline or carriage return")
    if not csv and o.delimiter in "\\.abcdefghijklmnopqrstuvwxyz0123456789":
        raise errors.InvalidParameterValue(f'COPY delimiter cannot be "{o.delimiter}"')
    for key, what in (("quote", "quote"), ("escape", "escape")):
        if key in given:
            if not csv:
                raise errors.FeatureNotSupported(f"COPY {what} available only in CSV mode")
            if len(given[key].encode()) != 1:
                raise errors.FeatureNotSupported(
                    f"COPY {what} must be a single one-byte character")
    o.quote = given.get("quote", '"')
    o.escape = given.get("escape", o.quote)
    if csv and o.delimiter == o.quote:
        raise errors.InvalidParameterValue("COPY delimiter and quote must be different")
    for attr, what, allowed in (("force_quote", "force quote", "to"),
                                ("force_not_null", "force not null", "from"),
                                ("force_null", "force null", "from")):
        if getattr(o, attr) is None:
            continue
        if not csv:
            raise errors.FeatureNotSupported(f"COPY {what} available only in CSV mode")
        if direction != allowed:
            raise errors.FeatureNotSupported(
                f"COPY {what} only available using COPY {allowed.upper()}")
    if o.fmt != "binary" and o.delimiter in o.null:
        raise errors.FeatureNotSupported(
            "COPY delimiter must not appear in the NULL specification")
    if csv and o.quote in o.null:
        raise errors.FeatureNotSupported(
            "CSV quote character must not appear in the NULL specification")
    if o.header == "match" and direction == "to":
        raise errors.FeatureNotSupported('cannot use "match" with HEADER in COPY TO')
    return o


def clip(text: str, limit: int = 100) -> str:
    """A data value for an error context, cut as PostgreSQL does (100 bytes)."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore") + "..."


def unescape_text(f: str) -> str:
    """Undo text-format escapes. Octal and hex escapes give bytes (so \\303\\251
    is é in UTF-8), which is why this works on the encoded field."""
    raw = f.encode()
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c != 92 or i + 1 >= n:          # not a backslash
            out.append(c)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[nxt])
            i += 2
        elif 48 <= nxt <= 55:               # \ooo
            j = i + 1
            while j < n and j < i + 4 and 48 <= raw[j] <= 55:
                j += 1
            out.append(int(raw[i + 1:j], 8) & 0xFF)
            i = j
        elif nxt == ord("x") and i + 2 < n and raw[i + 2] in _HEX:
            j = i + 2
            while j < n and j < i + 4 and raw[j] in _HEX:
                j += 1
            out.append(int(raw[i + 2:j], 16))
            i = j
        else:
            out.append(nxt)
            i += 2
    if 0 in out:
        raise errors.CharacterNotInRepertoire('invalid byte sequence for encoding "UTF8": 0x00')
    try:
        return out.decode()
    except UnicodeDecodeError as exc:
        raise errors.CharacterNotInRepertoire(
            f'invalid byte sequence for encoding "UTF8": 0x{out[exc.start]:02x}') from None


_ESCAPE_OUT = str.maketrans({"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                             "\t": "\\t", "\v": "\\v"})


def escape_text(s: str, delim: str) -> str:
    s = s.translate(_ESCAPE_OUT)
    return s.replace(delim, "\\" + delim) if delim in s else s


def text_line(texts: list[str | None], o: CopyOptions) -> str:
    null, delim = o.null, o.delimiter
    return delim.join(null if t is None else escape_text(t, delim) for t in texts) + "\n"


def csv_line(texts: list[str | None], o: CopyOptions, force: list[bool]) -> str:
    parts = []
    specials = (o.delimiter, o.quote, "\n", "\r")
    single = len(texts) == 1
    for t, forced in zip(texts, force, strict=True):
        if t is None:
            parts.append(o.null)
        elif forced or t == o.null or any(ch in t for ch in specials) or \
                (single and t == "\\."):
            if o.escape != o.quote and o.escape in t:
                t = t.replace(o.escape, o.escape + o.escape)
            parts.append(o.quote + t.replace(o.quote, o.escape + o.quote) + o.quote)
        else:
            parts.append(t)
    return o.delimiter.join(parts) + "\n"


def encode_output(text: str, o: CopyOptions) -> bytes:
    try:
        return text.encode(o.python_encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start].encode().hex()
        raise errors.UntranslatableCharacter(
            f'character with byte sequence 0x{bad} in encoding "UTF8" has no equivalent in '
            f'encoding "{o.encoding}"') from None


def field_converter(t: T.SqlType, tz: Any, binary: bool = False) -> Any:
    """One field → value, specialized per column type (COPY converts every
    field of every row; the generic parse_text dispatch costs more than the
    conversion itself for integers and char(n))."""
    if binary:
        from aiondb.sql.binaryio import decode_binary
        if t.oid in (T.TIME.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid) and t.typmod >= 0:
            from aiondb.sql.textio import round_fraction
            return lambda b: round_fraction(decode_binary(t, b), t.typmod)
        return lambda b: decode_binary(t, b)
    if t.oid in (T.INT2.oid, T.INT4.oid, T.INT8.oid):
        hi = T.INT_RANGES[t.oid][1]
        from aiondb.sql.textio_parse import parse_int

        def conv_int(v: str) -> int:
            if v.isascii() and v.isdigit():     # plain ASCII digits: int() is exact
                x = int(v)
                if x <= hi:
                    return x
            return parse_int(t, v)
        return conv_int
    if t.oid in (T.TEXT.oid, T.NAME.oid) or (t.oid == T.VARCHAR.oid and t.typmod == -1):
        return str
    if t.oid == T.BPCHAR.oid and t.typmod >= 4:
        n = t.typmod - 4
        from aiondb.sql.casts import apply_char_typmod
        return lambda v: v.ljust(n) if len(v) <= n else apply_char_typmod(t, v, False)
    return lambda v: parse_text(t, v, tz)
