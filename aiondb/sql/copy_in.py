"""COPY ... FROM: the text, CSV and binary input formats.

The client streams CopyData; each complete line (or binary tuple) is split
into fields and converted to column values as it arrives, so a bad value is
reported with PostgreSQL's context ("COPY t, line 3, column id: "x"") while
the client is still sending. The rows are inserted as one statement when
CopyDone arrives (so a lock conflict can wait and retry like any other
statement)."""

from __future__ import annotations

import codecs
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.copy_format import (
    BINARY_SIGNATURE,
    CopyOptions,
    clip,
    field_converter,
    unescape_text,
)
from aiondb.sql.prepared import params_decoder
from aiondb.storage.catalog import TableDef

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")


@dataclass
class CopyIn:
    session: Session
    table: TableDef
    positions: list[int]
    types: list[T.SqlType]
    options: CopyOptions
    where: str | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)   # input line of each row
    buffer: str = ""
    raw: bytes = b""            # binary format: bytes not yet parsed
    line_no: int = 0
    error: errors.DatabaseError | None = None
    header_done: bool = False
    done: bool = False
    converters: list[Any] = field(default_factory=list)
    convert: Any = None         # a row's values → their columns' values (all converters)
    decoder: Any = None
    eol: str | None = None      # the line ending, from the first line

    def __post_init__(self) -> None:
        o = self.options
        self.converters = [field_converter(t, self.session.tz, o.fmt == "binary")
                           for t in self.types]
        # one generated function per COPY, NULLs kept (see params_decoder)
        self.convert = params_decoder(self.converters)
        self.header_done = not o.header and o.fmt != "binary"
        if o.fmt != "binary":
            self.decoder = codecs.getincrementaldecoder(o.python_encoding)("strict")
        names = [self.table.columns[p].name for p in self.positions]
        self.force_not_null = _flags(o.force_not_null, names, "FORCE_NOT_NULL")
        self.force_null = _flags(o.force_null, names, "FORCE_NULL")

    @property
    def ncols(self) -> int:
        return len(self.positions)

    @property
    def binary(self) -> bool:
        return self.options.fmt == "binary"

    # --- input -------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """A CopyData message. Errors are kept until CopyDone, as PostgreSQL
        keeps reading the client's data before reporting."""
        if self.error is not None:
            return
        try:
            if self.done:
                if self.binary and data:
                    raise errors.BadCopyFileFormat("received copy data after EOF marker")
                return
            if self.binary:
                self.raw += data
                self._consume_binary(final=False)
                return
            try:
                self.buffer += self.decoder.decode(data)
            except UnicodeDecodeError as exc:
                raise self._encoding_error(exc) from None
            self._consume(final=False)
        except errors.DatabaseError as exc:
            self.error = exc

    def _encoding_error(self, exc: UnicodeDecodeError) -> errors.DatabaseError:
        bad = exc.object[exc.start:exc.start + 1].hex()
        return errors.CharacterNotInRepertoire(
            f'invalid byte sequence for encoding "{self.options.encoding}": 0x{bad}',
            context=f"COPY {self.table.name}, line {self.line_no + 1}")

    def _consume(self, final: bool) -> None:
        if self.options.fmt == "csv":
            self._consume_csv(final)
        else:
            self._consume_text(final)

    def _line_context(self, line: str) -> str:
        return f'COPY {self.table.name}, line {self.line_no}: "{clip(line)}"'

    # --- line ends -------------------------------------------------------------------
    # PostgreSQL takes the line ending (LF, CRLF or CR) from the first line and
    # rejects a different one later, rather than guess where rows end.
    def _newline_error(self, char: str) -> errors.DatabaseError:
        csv = self.options.fmt == "csv"
        if char == "\r":
            msg = "unquoted carriage return found in data" if csv else \
                "literal carriage return found in data"
            hint = "Use quoted CSV field to represent carriage return." if csv else \
                'Use "\\r" to represent carriage return.'
        else:
            msg = "unquoted newline found in data" if csv else "literal newline found in data"
            hint = "Use quoted CSV field to represent newline." if csv else \
                'Use "\\n" to represent newline.'
        return errors.BadCopyFileFormat(msg, hint=hint,
                                        context=f"COPY {self.table.name}, line {self.line_no + 1}")

    def _check_line(self, line: str) -> str:
        """A line cut at the line ending's last character: drop the rest of the
        ending and reject stray CR/LF characters (unescaped, in text format)."""
        eol = self.eol
        if eol == "\r\n":
            if not line.endswith("\r"):
                raise self._newline_error("\n")
            line = line[:-1]
        stray = "\n" if eol == "\r" else "\r"
        if stray in line and (self.options.fmt == "csv" or _unescaped(line, stray)):
            raise self._newline_error(stray)
        return line

    # --- text format ---------------------------------------------------------------
    def _consume_text(self, final: bool) -> None:
        buf = self.buffer
        start = 0
        bulk_tried = False
        while not self.done:
            if not bulk_tried and self.eol == "\n" and self.header_done:
                # once the line ending is known: if the rest has no escapes and
                # no carriage returns (the common case), split it in one step;
                # nothing in it can end the data either
                bulk_tried = True
                last = buf.rfind("\n", start)
                if last >= start and buf.find("\\", start) < 0 and buf.find("\r", start) < 0:
                    self._plain_lines(buf[start:last].split("\n"))
                    start = last + 1
                    continue
            if self.eol is None:
                self.eol = _detect_eol(buf, start, final, escaped=True)
                if self.eol is None:
                    break
            stop = "\r" if self.eol == "\r" else "\n"
            nl = buf.find(stop, start)
            while nl > start and buf[nl - 1] == "\\":
                # a line end after an odd number of backslashes is data
                k = nl - 1
                while k >= start and buf[k] == "\\":
                    k -= 1
                if (nl - 1 - k) % 2 == 0:
                    break
                nl = buf.find(stop, nl + 1)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            self._text_line(self._check_line(line))
        rest = buf[start:]
        if final and rest and not self.done:
            if self.eol is not None and (self.eol == "\r\n" and rest.endswith("\r")):
                rest = rest[:-1]
            stray = "\n" if self.eol == "\r" else "\r"
            if stray in rest and _unescaped(rest, stray):
                raise self._newline_error(stray)
            self._text_line(rest)
            rest = ""
        self.buffer = "" if self.done else rest

    def _plain_lines(self, lines: list[str]) -> None:
        o = self.options
        delim, null = o.delimiter, o.null
        mapped = "\\" not in null     # the default \N cannot occur in these lines
        row = self._row
        for line in lines:
            self.line_no += 1
            values: list[str | None] = line.split(delim)   # type: ignore[assignment]
            if mapped:
                values = [None if f == null else f for f in values]
            row(values, line)

    def _text_line(self, line: str) -> None:
        self.line_no += 1
        if line == "\\.":
            self.done = True
            return
        o = self.options
        if "\\" in line:
            raw = _split_escaped(line, o.delimiter)
            values = [None if f == o.null else (unescape_text(f) if "\\" in f else f)
                      for f in raw]
        else:
            values = [None if f == o.null else f for f in line.split(o.delimiter)]
        if not self.header_done:
            self._header(values, line)
            return
        self._row(values, line)

    # --- CSV format ----------------------------------------------------------------
    def _consume_csv(self, final: bool) -> None:
        o = self.options
        buf = self.buffer
        start = 0
        n = len(buf)
        while start < n and not self.done:
            nl = buf.find("\n", start)
            if self.eol in ("\n", "\r\n") and nl >= 0 and o.quote not in buf[start:nl]:
                line = self._check_line(buf[start:nl])   # the common case: no quotes
                start = nl + 1
                self._csv_record([(f, False) for f in line.split(o.delimiter)], line)
                continue
            try:
                record, used, eol = _parse_csv_record(buf, start, o, self.eol, final)
            except _StrayNewline as exc:
                raise self._newline_error(exc.char) from None
            except errors.DatabaseError as exc:
                exc.context = f'COPY {self.table.name}, line {self.line_no + 1}: ' \
                              f'"{clip(buf[start:])}"'
                raise
            if record is None:      # a quoted field still open: wait for more data
                break
            self.eol = self.eol or eol
            text = buf[start:start + used]
            for ending in ("\r\n", "\n", "\r"):
                if text.endswith(ending):
                    text = text[:-len(ending)]
                    break
            self._csv_record(record, text)
            start += used
        self.buffer = "" if self.done else buf[start:]

    def _csv_record(self, record: list[tuple[str, bool]], line: str) -> None:
        self.line_no += line.count(self.eol[-1] if self.eol else "\n") + 1
        o = self.options
        if len(record) == 1 and record[0] == ("\\.", False):
            self.done = True
            return
        values: list[str | None] = []
        for i, (v, quoted) in enumerate(record):
            if v == o.null and i < len(self.force_null) and (
                    (not quoted and not self.force_not_null[i]) or (quoted and self.force_null[i])):
                values.append(None)
            else:
                values.append(v)
        if not self.header_done:
            self._header(values, line)
            return
        self._row(values, line)

    def _header(self, values: list[str | None], line: str) -> None:
        self.header_done = True
        if self.options.header != "match":
            return
        names = [self.table.columns[p].name for p in self.positions]
        if len(values) != len(names):
            raise errors.BadCopyFileFormat(
                f"wrong number of fields in header line: got {len(values)}, expected "
                f"{len(names)}", context=self._line_context(line))
        for i, (got, want) in enumerate(zip(values, names, strict=True), 1):
            if got is None:
                raise errors.BadCopyFileFormat(
                    f'column name mismatch in header line field {i}: got null value '
                    f'("{self.options.null}"), expected "{want}"',
                    context=self._line_context(line))
            if got != want:
                raise errors.BadCopyFileFormat(
                    f'column name mismatch in header line field {i}: got "{got}", expected '
                    f'"{want}"', context=self._line_context(line))

    # --- binary format -------------------------------------------------------------
    def _consume_binary(self, final: bool) -> None:
        raw = self.raw
        pos = 0
        if not self.header_done:
            if len(raw) < 19:
                if final:
                    raise errors.BadCopyFileFormat("invalid COPY file header (missing flags)"
                                                   if raw.startswith(BINARY_SIGNATURE) else
                                                   "COPY file signature not recognized")
                return
            if not raw.startswith(BINARY_SIGNATURE):
                raise errors.BadCopyFileFormat("COPY file signature not recognized")
            flags = _I32.unpack_from(raw, 11)[0]
            if flags & (1 << 16):
                raise errors.BadCopyFileFormat("invalid COPY file header (WITH OIDS)")
            if flags & 0xFFFF0000 & ~(1 << 16):
                raise errors.BadCopyFileFormat(
                    "unrecognized critical flags in COPY file header")
            ext = _I32.unpack_from(raw, 15)[0]
            if ext < 0:
                raise errors.BadCopyFileFormat("invalid COPY file header (missing length)")
            if len(raw) < 19 + ext:
                if final:
                    raise errors.BadCopyFileFormat("invalid COPY file header (wrong length)")
                return
            pos = 19 + ext
            self.header_done = True
        n = len(raw)
        while pos + 2 <= n:
            count = _I16.unpack_from(raw, pos)[0]
            if count == -1:
                self.done = True
                if pos + 2 < n:
                    raise errors.BadCopyFileFormat("received copy data after EOF marker")
                pos += 2
                break
            fields = self._binary_fields(raw, pos + 2, count)
            if fields is None:
                break
            values, pos = fields
            self.line_no += 1
            if count != self.ncols:
                raise errors.BadCopyFileFormat(
                    f"row field count is {count}, expected {self.ncols}",
                    context=f"COPY {self.table.name}, line {self.line_no}")
            self._binary_row(values)
        self.raw = raw[pos:]
        if final and self.raw and not self.done:
            raise errors.BadCopyFileFormat(
                "unexpected EOF in COPY data",
                context=f"COPY {self.table.name}, line {self.line_no + 1}")

    @staticmethod
    def _binary_fields(raw: bytes, pos: int, count: int) -> tuple[list[Any], int] | None:
        """The count fields starting at pos, or None when the tuple is incomplete."""
        n = len(raw)
        values: list[bytes | None] = []
        for _ in range(max(count, 0)):
            if pos + 4 > n:
                return None
            size = _I32.unpack_from(raw, pos)[0]
            pos += 4
            if size == -1:
                values.append(None)
                continue
            if size < 0:
                raise errors.BadCopyFileFormat("invalid field size")
            if pos + size > n:
                return None
            values.append(raw[pos:pos + size])
            pos += size
        return values, pos

    def _binary_row(self, values: list[bytes | None]) -> None:
        out = []
        for v, conv, pos in zip(values, self.converters, self.positions, strict=True):
            if v is None:
                out.append(None)
                continue
            try:
                out.append(conv(v))
            except errors.DatabaseError as exc:
                exc.context = (f"COPY {self.table.name}, line {self.line_no}, column "
                               f"{self.table.columns[pos].name}")
                raise
        self.rows.append(tuple(out))
        self.row_lines.append(self.line_no)

    # --- rows ----------------------------------------------------------------------
    def _row(self, values: list[str | None], line: str) -> None:
        if len(values) == len(self.positions):
            try:
                # a tuple of plain values, which the garbage collector stops
                # tracking: a million pending rows as lists made every GC pass slow
                self.rows.append(tuple(self.convert(values)))
                self.row_lines.append(self.line_no)
                return
            except errors.DatabaseError:
                pass    # redo column by column below to name the offending one
        if len(values) > self.ncols:
            raise errors.BadCopyFileFormat("extra data after last expected column",
                                           context=self._line_context(line))
        # PostgreSQL converts left to right and reports the first problem
        for i, (conv, pos) in enumerate(zip(self.converters, self.positions, strict=True)):
            name = self.table.columns[pos].name
            if i >= len(values):
                raise errors.BadCopyFileFormat(f'missing data for column "{name}"',
                                               context=self._line_context(line))
            v = values[i]
            if v is None:
                continue
            try:
                conv(v)
            except errors.DatabaseError as exc:
                exc.context = f'COPY {self.table.name}, line {self.line_no}, column {name}: ' \
                              f'"{clip(v)}"'
                raise

    # --- end -----------------------------------------------------------------------
    def finish_input(self) -> None:
        """CopyDone: parse what is left; raise the first error seen."""
        if self.error is None and not self.done:
            try:
                if self.binary:
                    self._consume_binary(final=True)
                else:
                    try:
                        self.buffer += self.decoder.decode(b"", final=True)
                    except UnicodeDecodeError as exc:
                        raise self._encoding_error(exc) from None
                    self._consume(final=True)
            except errors.DatabaseError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error

    async def finish(self) -> Result:
        from aiondb.sql.results import Result
        self.finish_input()
        count = await self.session.in_transaction(self.insert_all)
        return Result(f"COPY {count}")

    def insert_all(self, txn: Any) -> int:
        from aiondb.sql.bind_dml import StatementBinder, parse_expression
        from aiondb.sql.dml import check_fks_out, check_row, with_generated
        from aiondb.sql.expr_compile import compile_expr
        from aiondb.sql.scope import Scope
        session = self.session
        cat = session.current_catalog()
        tdef = cat.table(self.table.oid)
        binder = StatementBinder(cat, session, [])
        ctx = session.make_context(txn, [], cat)
        rules = ctx.rules_for(tdef.oid)  # type: ignore[misc]
        positions = self.positions
        missing = [(i, compile_expr(binder.column_default(tdef, c)))
                   for i, c in enumerate(tdef.columns) if i not in positions]
        keep = None
        if self.where is not None:
            scope = Scope()
            scope.add(binder.table_scope(tdef, tdef.name))
            keep = compile_expr(binder.to_bool(
                binder.expr(parse_expression(self.where), scope), "WHERE"))
        n = len(tdef.columns)
        count = 0
        inserted: list[tuple[int, tuple]] = []
        r = -1
        # every column given, in table order: the parsed row is the row
        whole = positions == list(range(n))
        try:
            rows = self.rows
            for r in range(len(rows)):
                if whole:
                    tup = rows[r]
                else:
                    row = [None] * n
                    for p, v in zip(positions, rows[r], strict=True):
                        row[p] = v
                    for i, fn in missing:
                        row[i] = fn((), ctx)
                    tup = tuple(row)
                if rules.generated:
                    tup = with_generated(rules, tup, ctx)
                if keep is not None and keep(tup, ctx) is not True:
                    continue
                check_row(rules, tup, ctx)
                txn.insert(tdef, tup)
                if rules.fks_out:
                    inserted.append((r, tup))
                count += 1
            # foreign keys are checked once all rows are in, as PostgreSQL's
            # after-row triggers do: a row may reference a later one
            for item in inserted:
                r = item[0]     # for the error context
                check_fks_out(rules, item[1], ctx)
        except errors.DatabaseError as exc:
            if exc.context is None and r >= 0:
                exc.context = f"COPY {tdef.name}, line {self.row_lines[r]}"
            raise
        return count

    def fail(self, message: str) -> errors.DatabaseError:
        return errors.QueryCanceled(f"COPY from stdin failed: {message}")


def _flags(spec: Any, names: list[str], option: str) -> list[bool]:
    """Per copied column: is it named by a FORCE_NULL / FORCE_NOT_NULL list."""
    if spec is None:
        return [False] * len(names)
    if spec == "*":
        return [True] * len(names)
    for c in spec:
        if c not in names:
            raise errors.InvalidColumnReference(
                f'{option} column "{c}" not referenced by COPY')
    return [n in spec for n in names]


def _split_escaped(line: str, delim: str) -> list[str]:
    """Split a text-format line on delimiters not escaped by a backslash;
    fields keep their escapes (NULL is matched before unescaping)."""
    fields = []
    start = 0
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c == delim:
            fields.append(line[start:i])
            start = i + 1
        i += 1
    fields.append(line[start:])
    return fields


class _StrayNewline(Exception):
    def __init__(self, char: str) -> None:
        self.char = char


def _unescaped(line: str, char: str) -> bool:
    """Does char occur in line without a backslash escaping it?"""
    i = line.find(char)
    while i >= 0:
        k = i - 1
        while k >= 0 and line[k] == "\\":
            k -= 1
        if (i - 1 - k) % 2 == 0:
            return True
        i = line.find(char, i + 1)
    return False


def _detect_eol(buf: str, start: int, final: bool, escaped: bool) -> str | None:
    """The line ending of the first line in buf[start:], None if not known yet."""
    i = start
    n = len(buf)
    while i < n:
        c = buf[i]
        if escaped and c == "\\":
            i += 2
            continue
        if c == "\n":
            return "\n"
        if c == "\r":
            if i + 1 < n:
                return "\r\n" if buf[i + 1] == "\n" else "\r"
            return "\r" if final else None
        i += 1
    return None


def _parse_csv_record(buf: str, start: int, o: CopyOptions, eol: str | None,
                      final: bool) -> tuple[list[tuple[str, bool]] | None, int, str | None]:
    """One CSV record from buf[start:] as (value, was_quoted) fields, the
    characters it used (through its line ending) and that line ending; None
    when a quoted field is still open at the end of the data seen so far."""
    delim, quote, escape = o.delimiter, o.quote, o.escape
    fields: list[tuple[str, bool]] = []
    cur: list[str] = []
    quoted = False
    in_quotes = False
    i = start
    n = len(buf)
    while i < n:
        c = buf[i]
        if in_quotes:
            if c == escape and i + 1 < n and buf[i + 1] in (quote, escape) and \
                    (escape != quote or buf[i + 1] == quote):
                cur.append(buf[i + 1])
                i += 2
                continue
            if c == escape and i + 1 >= n and not final:
                return None, 0, None    # cannot tell yet what the escape applies to
            if c == quote:
                in_quotes = False
            else:
                cur.append(c)
        elif c == quote:
            in_quotes = True
            quoted = True
        elif c == delim:
            fields.append(("".join(cur), quoted))
            cur, quoted = [], False
        elif c in "\r\n":
            if c == "\r" and i + 1 >= n and not final and eol != "\r":
                return None, 0, None    # CR or CRLF: the next message tells
            this = "\r\n" if c == "\r" and i + 1 < n and buf[i + 1] == "\n" else c
            if eol is not None and this != eol:
                if eol == "\r\n" and c == "\r":
                    raise _StrayNewline("\r")
                if eol == "\r\n" or this == "\n":
                    raise _StrayNewline("\n")
                raise _StrayNewline("\r")
            fields.append(("".join(cur), quoted))
            return fields, i + len(this) - start, this
        else:
            cur.append(c)
        i += 1
    if not final:
        return None, 0, None
    if in_quotes:
        raise errors.BadCopyFileFormat("unterminated CSV quoted field")
    fields.append(("".join(cur), quoted))
    return fields, n - start, eol
