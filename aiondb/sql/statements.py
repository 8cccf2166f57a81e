"""Statement front-end: split a query string, classify each statement,
parse utility statements by hand and everything else with sqlglot, and
cache the result by SQL text so no statement is parsed twice.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from aiondb import errors
from aiondb.sql.dialect import AionDB
from aiondb.sql.lexer import split_statements, tokenize
from aiondb.sql.stmt_nodes import (  # noqa: F401 - re-exported: callers use st.<Node>
    AlterDatabaseOwner,
    BackupTenant,
    Begin,
    CheckpointStmt,
    CloseCursor,
    Commit,
    CopyStmt,
    CreateDatabase,
    Deallocate,
    DeclareCursor,
    Discard,
    DropDatabase,
    ExecuteStmt,
    Explain,
    FetchStmt,
    NoOp,
    PrepareStmt,
    Release,
    ResetVar,
    RestoreTenant,
    RoleStmt,
    Rollback,
    RollbackTo,
    SavepointStmt,
    SetTransaction,
    SetVar,
    Show,
    Statement,
)
from aiondb.sql.stmt_utility import _classify

logging.getLogger("sqlglot").setLevel(logging.ERROR)


# --- sqlglot parsing ------------------------------------------------------------------------------

def _position_from_error(text: str, err: dict[str, Any]) -> int:
    line = err.get("line") or 1
    col = err.get("col") or 1
    highlight = err.get("highlight") or ""
    idx = 0
    for _ in range(line - 1):
        nl = text.find("\n", idx)
        if nl < 0:
            break
        idx = nl + 1
    return max(idx + col - len(highlight), 0)


def _parse_one(text: str, offset: int) -> Statement:
    try:
        toks = tokenize(text)
    except errors.DatabaseError as exc:
        if exc.position:
            exc.position += offset
        raise
    if not toks:
        return Statement(text, offset, None, None, "")
    try:
        util = _classify(text, offset, toks)
    except errors.DatabaseError as exc:
        if exc.position:
            exc.position += offset
        raise
    first = toks[0].value
    if util is not None:
        return Statement(text, offset, None, util, first)
    for a, b in zip(toks, toks[1:], strict=False):
        # sqlglot forgives "(a int,)" and "f(1,)"; PostgreSQL's grammar never does
        if a.kind == "op" and a.text == "," and b.kind == "op" and b.text == ")":
            raise errors.SyntaxError('syntax error at or near ")"', position=offset + b.pos + 1)
    try:
        trees = sqlglot.parse(text, read=AionDB)
    except ParseError as exc:
        words = [t.value for t in toks if t.kind == "word"]
        if any(a == "current" and b == "of" for a, b in zip(words, words[1:], strict=False)):
            raise errors.FeatureNotSupported("WHERE CURRENT OF is not supported") from None
        info = exc.errors[0] if exc.errors else {}
        local = _position_from_error(text, info)
        highlight = info.get("highlight") or ""
        near = f' at or near "{highlight}"' if highlight else " at end of input"
        raise errors.SyntaxError(f"syntax error{near}", position=offset + local + 1,
                                 detail=info.get("description")) from None
    except TokenError as exc:
        raise errors.SyntaxError(f"syntax error: {exc}", position=offset + 1) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise errors.SyntaxError("syntax error", position=offset + 1)
    ast = trees[0]
    if isinstance(ast, exp.Command):
        raise errors.SyntaxError(f'syntax error at or near "{toks[0].text}"',
                                 position=offset + 1)
    fold_identifiers(ast)
    return Statement(text, offset, ast, None, first)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_identifiers(ast: exp.Expr) -> None:
    """PostgreSQL folds unquoted identifiers to lower case (ASCII letters only);
    quoted ones keep their case."""
    for node in ast.find_all(exp.Identifier):
        if not node.quoted and isinstance(node.this, str):
            node.set("this", node.this.translate(_ASCII_LOWER))


class StatementCache:
    """query text → parsed statements, LRU-bounded. Parsed ASTs are never
    mutated after parsing, so sessions share them. Statements that differ
    only in literals share one parsed template (see normalize.py)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._map: OrderedDict[str, list[Statement]] = OrderedDict()
        self._templates: OrderedDict[str, Statement | None] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def parse(self, sql: str, normalize_literals: bool = False) -> list[Statement]:
        key = sql if not normalize_literals else "\0n" + sql
        m = self._map
        stmts = m.get(key)
        if stmts is not None:
            self.hits += 1
            m.move_to_end(key)
            return stmts
        self.misses += 1
        stmts = parse_query(sql) if not normalize_literals else self._parse_normalized(sql)
        m[key] = stmts
        if len(m) > self.capacity:
            m.popitem(last=False)
        return stmts

    def _parse_normalized(self, sql: str) -> list[Statement]:
        from aiondb.sql.normalize import normalize
        out = []
        for start, end in split_statements(sql):
            text = sql[start:end]
            norm = normalize(text)
            template = self._template(norm[0]) if norm is not None else None
            if template is None:
                stmt = _parse_one(text, start)
                if stmt.ast is None and stmt.utility is None:
                    continue
                out.append(stmt)
                continue
            assert norm is not None
            out.append(Statement(text, start, template.ast, None, template.first_word,
                                 norm[1], norm[2], id(template)))
        return out

    def _template(self, text: str) -> Statement | None:
        t = self._templates
        if text in t:
            t.move_to_end(text)
            return t[text]
        try:
            stmt: Statement | None = _parse_one(text, 0)
            if stmt is not None and (stmt.ast is None or stmt.utility is not None):
                stmt = None
        except errors.DatabaseError:
            stmt = None   # the literal-free form does not parse: use the text as written
        t[text] = stmt
        if len(t) > self.capacity:
            t.popitem(last=False)
        return stmt


def parse_query(sql: str) -> list[Statement]:
    """All statements of a query string (empty list for an empty query)."""
    out = []
    for start, end in split_statements(sql):
        text = sql[start:end]
        stmt = _parse_one(text, start)
        if stmt.ast is None and stmt.utility is None:
            continue
        out.append(stmt)
    return out
