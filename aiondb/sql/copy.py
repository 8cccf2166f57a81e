"""COPY ... FROM STDIN / TO STDOUT in text and CSV formats.

COPY FROM buffers the parsed rows while the client streams CopyData, then
inserts them as one statement when CopyDone arrives (so a lock conflict can
wait and retry like any other statement)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import statements as st
from aiondb.sql.textio import format_text, parse_text
from aiondb.storage.catalog import TableDef

if TYPE_CHECKING:
    from aiondb.sql.session import Result, Session

_TEXT_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


@dataclass
class CopyOptions:
    fmt: str = "text"
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool = False
    quote: str = '"'
    escape: str = '"'


def _options(raw: dict[str, Any]) -> CopyOptions:
    o = CopyOptions()
    fmt = str(raw.get("format", "text")).lower()
    if fmt not in ("text", "csv"):
        raise errors.FeatureNotSupported(f'COPY format "{fmt}" is not supported')
    o.fmt = fmt
    if fmt == "csv":
        o.delimiter = ","
        o.null = ""
    if "delimiter" in raw:
        o.delimiter = str(raw["delimiter"])
        if len(o.delimiter) != 1:
            raise errors.FeatureNotSupported("COPY delimiter must be a single one-byte "
                                             "character")
    if "null" in raw:
        o.null = str(raw["null"])
    if "header" in raw:
        h = raw["header"]
        o.header = h is True or str(h).lower() in ("true", "on", "1", "match")
    if "quote" in raw:
        o.quote = str(raw["quote"])
    if "escape" in raw:
        o.escape = str(raw["escape"])
    for key in raw:
        if key not in ("format", "delimiter", "null", "header", "quote", "escape", "freeze",
                       "encoding"):
            raise errors.SyntaxError(f'option "{key}" not recognized')
    return o


@dataclass
class CopyIn:
    session: Session
    table: TableDef
    positions: list[int]
    types: list[T.SqlType]
    options: CopyOptions
    rows: list[list[Any]] = field(default_factory=list)
    buffer: str = ""
    pending: bytes = b""
    line_no: int = 0
    error: errors.DatabaseError | None = None
    header_skipped: bool = False
    done: bool = False
    converters: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.converters = [field_converter(t, self.session.tz) for t in self.types]

    @property
    def ncols(self) -> int:
        return len(self.positions)

    def feed(self, data: bytes) -> None:
        """A CopyData message. Errors are kept until CopyDone, as PostgreSQL
        keeps reading the client's data before reporting."""
        if self.error is not None or self.done:
            return
        try:
            chunk = self.pending + data
            try:
                text = chunk.decode("utf-8")
                self.pending = b""
            except UnicodeDecodeError as exc:
                if exc.start >= len(chunk) - 3:
                    text = chunk[:exc.start].decode("utf-8")
                    self.pending = chunk[exc.start:]
                else:
                    raise errors.CharacterNotInRepertoire(
                        'invalid byte sequence for encoding "UTF8"') from None
            self.buffer += text
            self._consume(final=False)
        except errors.DatabaseError as exc:
            self.error = exc

    def _consume(self, final: bool) -> None:
        if self.options.fmt == "csv":
            self._consume_csv(final)
            return
        buf = self.buffer
        start = 0
        while True:
            nl = buf.find("\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            start = nl + 1
            if line.endswith("\r"):
                line = line[:-1]
            if self._text_line(line):
                self.done = True
                break
        rest = buf[start:]
        if final and rest and not self.done:
            self._text_line(rest)
            rest = ""
        self.buffer = rest

    def _text_line(self, line: str) -> bool:
        self.line_no += 1
        if line == "\\.":
            return True
        if self.options.header and not self.header_skipped:
            self.header_skipped = True
            return False
        fields = line.split(self.options.delimiter)
        values = []
        for f in fields:
            if f == self.options.null:
                values.append(None)
            else:
                values.append(_unescape(f) if "\\" in f else f)
        self._row(values)
        return False

    def _consume_csv(self, final: bool) -> None:
        o = self.options
        records, consumed = parse_csv(self.buffer, o.delimiter, o.quote, o.escape, final)
        self.buffer = self.buffer[consumed:]
        for rec in records:
            self.line_no += 1
            if len(rec) == 1 and rec[0] == ("\\.", False):
                self.done = True
                return
            if o.header and not self.header_skipped:
                self.header_skipped = True
                continue
            # unquoted values equal to the NULL string are NULL; quoted ones never are
            self._row([None if not quoted and v == o.null else v for v, quoted in rec])

    def _row(self, values: list[Any]) -> None:
        if len(values) != self.ncols:
            which = "extra data after last expected column" if len(values) > self.ncols else \
                f'missing data for column "{self.table.columns[self.positions[len(values)]].name}"'
            raise errors.BadCopyFileFormat(which, detail=f"COPY {self.table.name}, line "
                                                         f"{self.line_no}")
        try:
            self.rows.append([None if v is None else conv(v)
                              for v, conv in zip(values, self.converters, strict=True)])
        except errors.DatabaseError as exc:
            # find the offending column for the message
            for v, conv, pos in zip(values, self.converters, self.positions, strict=True):
                try:
                    if v is not None:
                        conv(v)
                except errors.DatabaseError:
                    exc.detail = (f"COPY {self.table.name}, line {self.line_no}, column "
                                  f"{self.table.columns[pos].name}: \"{v[:100]}\"")
                    break
            raise

    async def finish(self) -> Result:
        from aiondb.sql.session import Result
        if self.error is None:
            try:
                self._consume(final=True)
            except errors.DatabaseError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error
        session = self.session
        table = self.table
        rows = self.rows
        positions = self.positions

        def insert_all(txn: Any) -> int:
            from aiondb.sql.bind_dml import StatementBinder
            from aiondb.sql.dml import check_fks_out, check_row
            from aiondb.sql.expr import compile_expr
            cat = session.current_catalog()
            tdef = cat.table(table.oid)
            binder = StatementBinder(cat, session, [])
            ctx = session.make_context(txn, [], cat)
            rules = ctx.rules_for(tdef.oid)  # type: ignore[misc]
            missing = [(i, compile_expr(binder.column_default(tdef, c)))
                       for i, c in enumerate(tdef.columns) if i not in positions]
            n = len(tdef.columns)
            for vals in rows:
                row = [None] * n
                for p, v in zip(positions, vals, strict=True):
                    row[p] = v
                for i, fn in missing:
                    row[i] = fn((), ctx)
                tup = tuple(row)
                check_row(rules, tup, ctx)
                if rules.fks_out:
                    check_fks_out(rules, tup, ctx)
                txn.insert(tdef, tup)
            return len(rows)
        count = await session.in_transaction(insert_all)
        return Result(f"COPY {count}")

    def fail(self, message: str) -> errors.DatabaseError:
        return errors.QueryCanceled(f"COPY from stdin failed: {message}")


def parse_csv(buf: str, delim: str, quote: str, escape: str,
              final: bool) -> tuple[list[list[tuple[str, bool]]], int]:
    """Complete CSV records in buf as (value, was_quoted) fields, and how many
    characters they used. A record still open at the end waits for more data
    unless final."""
    records: list[list[tuple[str, bool]]] = []
    fields: list[tuple[str, bool]] = []
    cur: list[str] = []
    quoted = False
    in_quotes = False
    consumed = 0
    i = 0
    n = len(buf)
    while i < n:
        c = buf[i]
        if in_quotes:
            if c == escape and i + 1 < n and buf[i + 1] == quote:
                cur.append(quote)
                i += 2
                continue
            if c == quote:
                in_quotes = False
            else:
                cur.append(c)
            i += 1
            continue
        if c == quote:
            in_quotes = True
            quoted = True
        elif c == delim:
            fields.append(("".join(cur), quoted))
            cur, quoted = [], False
        elif c == "\n":
            text = "".join(cur)
            if text.endswith("\r") and not quoted:
                text = text[:-1]
            fields.append((text, quoted))
            records.append(fields)
            fields, cur, quoted = [], [], False
            consumed = i + 1
        else:
            cur.append(c)
        i += 1
    if final and (cur or fields or quoted):
        if in_quotes:
            raise errors.BadCopyFileFormat("unterminated CSV quoted field")
        fields.append(("".join(cur).rstrip("\r") if not quoted else "".join(cur), quoted))
        records.append(fields)
        consumed = n
    return records, consumed


def field_converter(t: T.SqlType, tz: Any) -> Any:
    """Text field → value, specialized per column type (COPY converts every
    field of every row; the generic parse_text dispatch costs more than the
    conversion itself for integers and char(n))."""
    if t.oid in (T.INT2.oid, T.INT4.oid, T.INT8.oid):
        lo, hi, _ = T.INT_RANGES[t.oid]
        from aiondb.sql.textio import parse_int

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
        return lambda v: v + " " * (n - len(v)) if len(v) < n else (
            v if len(v) == n else apply_char_typmod(t, v, False))
    return lambda v: parse_text(t, v, tz)


def _unescape(f: str) -> str:
    out = []
    i = 0
    n = len(f)
    while i < n:
        c = f[i]
        if c == "\\" and i + 1 < n:
            nxt = f[i + 1]
            if nxt in _TEXT_ESCAPES:
                out.append(_TEXT_ESCAPES[nxt])
                i += 2
                continue
            if nxt.isdigit():
                j = i + 1
                while j < n and j < i + 4 and f[j] in "01234567":
                    j += 1
                out.append(chr(int(f[i + 1:j], 8)))
                i = j
                continue
            if nxt == "x" and i + 2 < n:
                j = i + 2
                while j < n and j < i + 4 and f[j] in "0123456789abcdefABCDEF":
                    j += 1
                out.append(chr(int(f[i + 2:j], 16)))
                i = j
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _escape_text(s: str, delim: str) -> str:
    return (s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
            .replace("\t", "\\t").replace(delim, "\\" + delim))


@dataclass
class CopyOut:
    lines: list[bytes]
    ncols: int
    count: int


async def start_copy(session: Session, u: st.CopyStmt) -> Result:
    from aiondb.sql.session import Result
    if u.target not in ("stdin", "stdout"):
        raise errors.FeatureNotSupported(
            "COPY to or from a server file is not supported; use STDIN/STDOUT "
            "(psql's \\copy)")
    opts = _options(u.options)
    catalog = session.current_catalog()
    if u.direction == "from":
        assert u.table is not None
        schema = u.table[0] if len(u.table) == 2 else None
        rel, sysv = session.resolve_relation(catalog, schema, u.table[-1])
        if not isinstance(rel, TableDef):
            raise errors.WrongObjectType(f'cannot copy to non-table relation "{u.table[-1]}"')
        positions = []
        for name in (u.columns or [c.name for c in rel.columns]):
            c = rel.column(name)
            if c is None:
                raise errors.UndefinedColumn(
                    f'column "{name}" of relation "{rel.name}" does not exist')
            positions.append(rel.columns.index(c))
        handler = CopyIn(session, rel, positions, [rel.columns[p].type for p in positions],
                         opts)
        session._ensure_txn()
        return Result("COPY", copy=handler)
    if u.query is not None:
        res = await session.execute(u.query)
        if res.columns is None:
            raise errors.FeatureNotSupported("COPY query must have a RETURNING clause" if
                                             not res.columns else "COPY query has no columns")
        columns, rows = res.columns, res.rows
    else:
        assert u.table is not None
        cols = ", ".join(f'"{c}"' for c in u.columns) if u.columns else "*"
        name = ".".join(f'"{p}"' for p in u.table)
        res = await session.execute(session.parse(f"SELECT {cols} FROM {name}")[0])
        columns, rows = res.columns or [], res.rows
    tz = session.tz
    lines = []
    if opts.header:
        lines.append(_format_line([c.name for c in columns], opts))
    for r in rows:
        texts = [None if v is None else format_text(c.type, v, tz)
                 for v, c in zip(r, columns, strict=True)]
        lines.append(_format_line(texts, opts))
    return Result(f"COPY {len(rows)}", copy=CopyOut(lines, len(columns), len(rows)))


def _format_line(texts: list[str | None], o: CopyOptions) -> bytes:
    if o.fmt == "csv":
        parts = []
        for t in texts:
            if t is None:
                parts.append(o.null)
            elif t == "" or any(ch in t for ch in (o.delimiter, o.quote, "\n", "\r")) or \
                    t == o.null:
                parts.append(o.quote + t.replace(o.quote, o.escape + o.quote) + o.quote)
            else:
                parts.append(t)
        return (o.delimiter.join(parts) + "\n").encode()
    return (o.delimiter.join(o.null if t is None else _escape_text(t, o.delimiter)
                             for t in texts) + "\n").encode()
