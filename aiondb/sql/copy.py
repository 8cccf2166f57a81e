"""COPY: start a COPY FROM (client stream or server file) and produce COPY TO
output in text, CSV or binary format.

Server files are read and written by the server process, as PostgreSQL does
for a superuser (every AionDB user is one); COPY TO a file needs an absolute
path, as in PostgreSQL."""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb.sql import statements as st
from aiondb.sql.copy_format import (
    BINARY_HEADER,
    BINARY_TRAILER,
    CopyOptions,
    csv_line,
    encode_output,
    parse_options,
    text_line,
)
from aiondb.sql.copy_in import CopyIn
from aiondb.sql.textio import format_text
from aiondb.storage.catalog import TableDef

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session

__all__ = ["CopyIn", "CopyOut", "start_copy"]

_READ_CHUNK = 1 << 20
_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")


@dataclass
class CopyOut:
    lines: list[bytes]
    ncols: int
    count: int
    binary: bool = False


def file_error(exc: OSError, path: str, mode: str) -> errors.DatabaseError:
    """An OSError on a COPY file as PostgreSQL reports it (errcode_for_file_access)."""
    msg = f'could not open file "{path}" for {mode}: {exc.strerror}'
    cls: type[errors.DatabaseError] = {
        errno.ENOENT: errors.UndefinedFile, errno.EISDIR: errors.WrongObjectType,
        errno.EACCES: errors.InsufficientPrivilege, errno.EPERM: errors.InsufficientPrivilege,
        errno.ENOSPC: errors.DiskFull, errno.EEXIST: errors.DuplicateFile,
    }.get(exc.errno or 0, errors.IoError)
    return cls(msg)


async def start_copy(session: Session, u: st.CopyStmt) -> Result:
    from aiondb.sql.results import Result
    opts = parse_options(u.options, u.direction)
    if u.target not in ("stdin", "stdout") and u.direction == "to" and \
            not os.path.isabs(u.target):
        raise errors.InvalidName("relative path not allowed for COPY to file")
    if u.direction == "from":
        handler = _copy_in(session, u, opts)
        if u.target == "stdin":
            session._ensure_txn()
            return Result("COPY", copy=handler)
        return await _copy_from_file(handler, u.target)
    out = await _copy_out(session, u, opts)
    if u.target == "stdout":
        return Result(f"COPY {out.count}", copy=out)
    try:
        with open(u.target, "wb") as f:
            f.writelines(out.lines)
    except OSError as exc:
        raise file_error(exc, u.target, "writing") from None
    return Result(f"COPY {out.count}")


def _copy_in(session: Session, u: st.CopyStmt, opts: CopyOptions) -> CopyIn:
    assert u.table is not None
    catalog = session.current_catalog()
    schema = u.table[0] if len(u.table) == 2 else None
    rel, _sysv = session.resolve_relation(catalog, schema, u.table[-1])
    if not isinstance(rel, TableDef):
        kind = {"v": "view", "S": "sequence", "m": "materialized view"}.get(
            getattr(rel, "kind", ""), "non-table relation")
        raise errors.WrongObjectType(f'cannot copy to {kind} "{u.table[-1]}"')
    positions = []
    for name in (u.columns or [c.name for c in rel.columns]):
        c = rel.column(name)
        if c is None:
            raise errors.UndefinedColumn(
                f'column "{name}" of relation "{rel.name}" does not exist')
        p = rel.columns.index(c)
        if p in positions:
            raise errors.DuplicateColumn(f'column "{name}" specified more than once')
        positions.append(p)
    return CopyIn(session, rel, positions, [rel.columns[p].type for p in positions], opts,
                  where=u.where)


async def _copy_from_file(handler: CopyIn, path: str) -> Result:
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_READ_CHUNK):
                handler.feed(chunk)
                if handler.error is not None:
                    break
    except OSError as exc:
        raise file_error(exc, path, "reading") from None
    return await handler.finish()


async def _copy_out(session: Session, u: st.CopyStmt, opts: CopyOptions) -> CopyOut:
    if u.query is not None:
        res = await session.execute(u.query)
        if res.columns is None:
            raise errors.FeatureNotSupported("COPY query must have a RETURNING clause")
    else:
        assert u.table is not None
        catalog = session.current_catalog()
        schema = u.table[0] if len(u.table) == 2 else None
        rel, _sysv = session.resolve_relation(catalog, schema, u.table[-1])
        if getattr(rel, "kind", "r") == "v":
            raise errors.WrongObjectType(
                f'cannot copy from view "{u.table[-1]}"',
                hint="Try the COPY (SELECT ...) TO variant.")
        names = list(u.columns) if u.columns else None
        if names and len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise errors.DuplicateColumn(f'column "{dup}" specified more than once')
        cols = ", ".join(f'"{c}"' for c in names) if names else "*"
        name = ".".join('"' + p.replace('"', '""') + '"' for p in u.table)
        res = await session.execute(session.parse(f"SELECT {cols} FROM {name}")[0])
    columns, rows = res.columns or [], res.rows
    if opts.fmt == "binary":
        return _binary_out(columns, rows)
    tz = session.tz
    names = [c.name for c in columns]
    force = [False] * len(columns)
    if opts.force_quote == "*":
        force = [True] * len(columns)
    elif opts.force_quote:
        table = _table_of(session, u)
        for c in opts.force_quote:
            if c not in names:
                if table is not None and table.column(c) is not None:
                    raise errors.InvalidColumnReference(
                        f'FORCE_QUOTE column "{c}" not referenced by COPY')
                where = f' of relation "{table.name}"' if table is not None else ""
                raise errors.UndefinedColumn(f'column "{c}"{where} does not exist')
        force = [n in opts.force_quote for n in names]
    if opts.fmt == "csv":
        def line(texts: list[str | None]) -> str:
            return csv_line(texts, opts, force)
    else:
        def line(texts: list[str | None]) -> str:
            return text_line(texts, opts)
    lines = []
    if opts.header:
        lines.append(encode_output(line(list(names)) if opts.fmt == "csv" else
                                   text_line(list(names), opts), opts))
    formatters = [c.type for c in columns]
    for r in rows:
        texts = [None if v is None else format_text(t, v, tz)
                 for v, t in zip(r, formatters, strict=True)]
        lines.append(encode_output(line(texts), opts))
    return CopyOut(lines, len(columns), len(rows))


def _table_of(session: Session, u: st.CopyStmt) -> Any:
    if u.table is None:
        return None
    schema = u.table[0] if len(u.table) == 2 else None
    rel, _sysv = session.resolve_relation(session.current_catalog(), schema, u.table[-1])
    return rel


def _binary_out(columns: list[Any], rows: list[tuple]) -> CopyOut:
    from aiondb.sql.binaryio import binary_encoder
    encoders = [binary_encoder(c.type) for c in columns]
    count = _I16.pack(len(columns))
    lines = [BINARY_HEADER]
    for r in rows:
        parts = [count]
        for v, enc in zip(r, encoders, strict=True):
            if v is None:
                parts.append(b"\xff\xff\xff\xff")
            else:
                b = enc(v)
                parts.append(_I32.pack(len(b)))
                parts.append(b)
        lines.append(b"".join(parts))
    lines.append(BINARY_TRAILER)
    # the header travels with the first row, as PostgreSQL sends it (psycopg
    # expects the signature at the start of a row message)
    lines[:2] = [lines[0] + lines[1]]
    return CopyOut(lines, len(columns), len(rows), binary=True)
