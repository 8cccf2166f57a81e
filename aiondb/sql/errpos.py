"""Error positions for name-resolution errors (42703, 42P01, 42883, and an
unknown type in a cast: 42704).

PostgreSQL reports where in the query the unknown column, relation or
function is written. The binder does not know the query text (it may be
binding a view's or a default's stored SQL), so it only remembers the
offending AST node on the exception (`locate`); Session.plan turns that into
a position when the node belongs to the statement the client sent
(`statement_position`)."""

from __future__ import annotations

from sqlglot import exp

from aiondb import errors

LOCATED = (errors.UndefinedColumn, errors.UndefinedTable, errors.UndefinedFunction)


def _span(node: exp.Expr, key: str) -> list[int]:
    return [n.meta[key] for n in node.walk() if n.meta and key in n.meta]


def node_start(node: exp.Expr, text: str = "") -> int | None:
    """0-based offset of the node's first character in the parsed text (for
    a binary operator: of the operator, found between its operands)."""
    if isinstance(node, exp.Binary) and text:
        ends, starts = _span(node.this, "end"), _span(node.expression, "start")
        if ends and starts:
            gap = text[max(ends) + 1:min(starts)]
            stripped = gap.lstrip(" \t\r\n)")
            if stripped:
                return max(ends) + 1 + len(gap) - len(stripped)
        return None
    if isinstance(node, (exp.Neg, exp.BitwiseNot)) and text:
        # a prefix operator: where the parser saw it (dialect._parse_unary),
        # else the last character before its operand
        if node.meta and "start" in node.meta:
            return node.meta["start"]
        starts = _span(node.this, "start")
        if starts:
            before = text[:min(starts)].rstrip(" \t\r\n(")
            return len(before) - 1 if before else None
        return None
    if isinstance(node, exp.DataType):
        starts = _span(node, "start")
        return min(starts) if starts else None
    if isinstance(node, (exp.Column, exp.Table)):
        starts = [p.meta.get("start") for p in node.parts if isinstance(p, exp.Identifier)]
        starts = [s for s in starts if s is not None]
        return min(starts) if starts else None
    parent = node.parent
    if isinstance(node, exp.Anonymous) and isinstance(parent, exp.Dot) and \
            parent.expression is node:
        # schema.func(...): PostgreSQL points at the schema name
        qual = [i.meta.get("start") for i in parent.this.find_all(exp.Identifier)]
        qual = [s for s in qual if s is not None]
        if qual:
            return min(qual)
    start = node.meta.get("start") if node.meta else None
    return start


def locate(exc: errors.DatabaseError, node: exp.Expr | None) -> None:
    """Record the innermost AST node an error was raised for (once)."""
    if getattr(exc, "ast_node", False) is not False or exc.position is not None:
        return
    exc.ast_node = node  # type: ignore[attr-defined]


def statement_position(exc: errors.DatabaseError, ast: exp.Expr, offset: int,
                       text: str = "") -> bool:
    """Set exc.position from the located node if it is part of `ast`, the
    statement starting at `offset` of the query string; False if the node is
    not (stored SQL of a view or default: PostgreSQL gives no position)."""
    node = getattr(exc, "ast_node", None)
    if node is None:
        return False
    exc.ast_node = None  # type: ignore[attr-defined]
    root = node
    while root.parent is not None:
        root = root.parent
    if root is not ast:
        return False
    start = node_start(node, text)
    if start is None:
        return False
    exc.position = offset + start + 1
    return True
