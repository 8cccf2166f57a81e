"""The hand parser's COPY statement: COPY table [(columns)] | (query)
FROM | TO file | STDIN | STDOUT | PROGRAM [WITH] (options) [WHERE ...]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb.sql.stmt_nodes import CopyStmt

if TYPE_CHECKING:
    from aiondb.sql.stmt_utility import _Utility


def _copy_options(u: _Utility) -> dict[str, Any]:
    opts: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if name in opts:
            raise errors.SyntaxError("conflicting or redundant options")
        opts[name] = value

    def columns() -> tuple[str, ...]:
        cols = [u.ident()]
        while u.op(","):
            cols.append(u.ident())
        return tuple(cols)

    u.word("with")
    if u.op("("):
        while True:
            name = u.ident()
            tok = u.peek()
            if tok is not None and tok.kind == "op" and tok.text == "*":
                u.i += 1
                put(name, "*")
            elif tok is not None and tok.kind == "op" and tok.text == "(":
                u.i += 1
                put(name, columns())
                if not u.op(")"):
                    raise u.error()
            elif tok is not None and tok.kind in ("word", "qident", "string", "number"):
                u.i += 1
                put(name, tok.value if tok.kind != "number" else tok.text)
            else:
                put(name, True)
            if u.op(")"):
                break
            if not u.op(","):
                raise u.error()
        return opts
    # pre-9.0 syntax: COPY t FROM STDIN WITH CSV HEADER DELIMITER ',' NULL ''
    while not u.at_end() and not (u.peek() is not None and u.peek().text.lower() == "where"):
        w = u.expect("csv", "binary", "header", "delimiter", "null", "quote", "escape",
                     "force", "freeze", "encoding", "oids")
        if w in ("csv", "binary"):
            put("format", w)
        elif w in ("header", "freeze"):
            put(w, True)
        elif w in ("delimiter", "null", "quote", "escape", "encoding"):
            u.word("as")
            put(w, u.string())
        elif w == "force":
            if u.word("quote"):
                put("force_quote", "*" if u.op("*") else columns())
            else:
                u.expect("not")
                u.expect("null")
                put("force_not_null", columns())
        else:
            raise errors.FeatureNotSupported("COPY WITH OIDS is not supported")
    return opts


def _parse_copy(text: str, offset: int, u: _Utility) -> CopyStmt:
    query = None
    table = None
    columns = None
    if u.op("("):
        # COPY (query) TO ...: up to the matching parenthesis
        start_tok = u.peek()
        inner = u.run_until(")")
        if not inner.strip():
            raise u.error()              # COPY () TO: as PostgreSQL, at the ")"
        u.op(")")
        assert start_tok is not None
        from aiondb.sql.stmt_utility import parse_one
        query = parse_one(inner, offset + start_tok.pos)
    else:
        name = [u.ident()]
        while u.op("."):
            name.append(u.ident())
        table = tuple(name)
        if u.op("("):
            cols = [u.ident()]
            while u.op(","):
                cols.append(u.ident())
            if not u.op(")"):
                raise u.error()
            columns = tuple(cols)
    direction = u.expect("from", "to")
    if u.word("stdin"):
        target = "stdin"
    elif u.word("stdout"):
        target = "stdout"
    elif u.word("program"):
        raise errors.FeatureNotSupported("COPY ... PROGRAM is not supported")
    else:
        target = u.string()
    opts = _copy_options(u)
    where = None
    if u.word("where"):
        if direction == "to":
            raise errors.SyntaxError("WHERE clause not allowed with COPY TO")
        tok = u.peek()
        if tok is None:
            raise u.error()
        where = text[tok.pos:].strip().rstrip(";")
        u.i = len(u.toks)
    u.end()
    if query is not None and direction == "from":
        raise errors.SyntaxError("COPY (query) FROM is not valid; use COPY table FROM")
    return CopyStmt(table, columns, query, direction, target, opts, where)
