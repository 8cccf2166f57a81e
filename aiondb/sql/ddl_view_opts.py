"""CREATE VIEW ... WITH (security_barrier, security_invoker, check_option=...)
and ... WITH [CASCADED | LOCAL] CHECK OPTION.

sqlglot reads neither clause, so the hand parser blanks them out of the
statement (keeping every other character where it was, so error positions
still point into the text the client sent), lets sqlglot parse the rest,
and wraps the result. The options are recorded on the view (pg_class.
reloptions, information_schema.views.check_option, psql's "Options:").
Views are not updatable in AionDB, so no row can ever be written through
one and a check option has nothing to reject; PostgreSQL's rule that the
view must be automatically updatable is still applied."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb.sql.lexer import Token
from aiondb.storage.catalog import ViewDef

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.sql.stmt_nodes import Statement
    from aiondb.storage.txn import Transaction

_BOOL_OPTIONS = ("security_barrier", "security_invoker")
_TRUE = ("true", "on", "yes", "1", "t", "y")
_FALSE = ("false", "off", "no", "0", "f", "n")


@dataclass(frozen=True)
class CreateViewWith:
    statement: Statement                      # the CREATE VIEW without the clauses
    options: tuple[tuple[str, str], ...]


def _word(tok: Token | None, *words: str) -> bool:
    return tok is not None and tok.kind == "word" and (not words or tok.value in words)


def _op(tok: Token | None, text: str) -> bool:
    return tok is not None and tok.kind == "op" and tok.text == text


def parse_create_view(text: str, offset: int, toks: list[Token]) -> CreateViewWith | None:
    """A CREATE VIEW using either clause, or None (sqlglot parses it as is)."""
    i = 1
    if _word(toks[i] if i < len(toks) else None, "or"):
        i += 2                                            # OR REPLACE
    while i < len(toks) and _word(toks[i], "temp", "temporary", "recursive"):
        i += 1
    if not (i < len(toks) and _word(toks[i], "view")):
        return None
    i += 2                                                # VIEW name
    while i + 1 < len(toks) and _op(toks[i], "."):
        i += 2
    if i < len(toks) and _op(toks[i], "("):               # column names
        while i < len(toks) and not _op(toks[i], ")"):
            i += 1
        i += 1
    spans: list[tuple[int, int]] = []
    options: list[tuple[str, str]] = []
    if i + 1 < len(toks) and _word(toks[i], "with") and _op(toks[i + 1], "("):
        start = toks[i].pos
        i += 2
        while True:
            if i >= len(toks) or toks[i].kind not in ("word", "qident"):
                raise _syntax(text, toks, i)
            name = toks[i].value
            i += 1
            value = "true"
            if i < len(toks) and _op(toks[i], "="):
                if i + 1 >= len(toks) or toks[i + 1].kind not in ("word", "qident", "string",
                                                                  "number"):
                    raise _syntax(text, toks, i + 1)
                value = toks[i + 1].value
                i += 2
            options.append((name, value))
            if i < len(toks) and _op(toks[i], ","):
                i += 1
                continue
            if i < len(toks) and _op(toks[i], ")"):
                spans.append((start, toks[i].pos + 1))
                break
            raise _syntax(text, toks, i)
    tail = [t.value if t.kind == "word" else t.text for t in toks[-4:]]
    check = None
    if tail[-2:] == ["check", "option"] and len(toks) > 3:
        if tail[-3] == "with":
            check, cut = "cascaded", toks[-3].pos
        elif tail[-3] in ("cascaded", "local") and tail[-4] == "with":
            check, cut = tail[-3], toks[-4].pos
        if check is not None:
            spans.append((cut, len(text)))
            options = [o for o in options if o[0] != "check_option"] + [("check_option", check)]
    if not spans:
        return None
    _validate(options)
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    from aiondb.sql.stmt_utility import parse_one
    # offset 0: _parse_one adds this statement's offset to errors raised here
    inner = parse_one("".join(chars).rstrip(), 0)
    if not isinstance(inner.ast, exp.Create):
        raise errors.SyntaxError("syntax error at or near \"WITH\"")
    return CreateViewWith(inner, tuple(options))


def _syntax(text: str, toks: list[Token], i: int) -> errors.DatabaseError:
    if i >= len(toks):
        return errors.SyntaxError("syntax error at end of input", position=len(text) + 1)
    return errors.SyntaxError(f'syntax error at or near "{toks[i].text}"',
                              position=toks[i].pos + 1)


def _validate(options: list[tuple[str, str]]) -> None:
    for name, value in options:
        if name in _BOOL_OPTIONS:
            if value.lower() not in _TRUE + _FALSE:
                raise errors.InvalidParameterValue(
                    f'invalid value for boolean option "{name}": {value}')
        elif name == "check_option":
            if value not in ("local", "cascaded"):
                raise errors.InvalidParameterValue(
                    f'invalid value for enum option "check_option": {value}',
                    detail='Valid values are "local" and "cascaded".')
        else:
            raise errors.InvalidParameterValue(f'unrecognized parameter "{name}"')


# PostgreSQL's reasons a view is not automatically updatable (view_query_is_auto_updatable)
def _not_updatable(query: exp.Expr) -> str | None:
    single = "Views that do not select from a single table or view are not automatically " \
        "updatable."
    if isinstance(query, exp.SetOperation):
        return "Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable."
    if not isinstance(query, exp.Select):
        return single
    checks = (("distinct", "DISTINCT"), ("group", "GROUP BY"), ("having", "HAVING"),
              ("with", "WITH"), ("limit", "LIMIT or OFFSET"), ("offset", "LIMIT or OFFSET"))
    for key, what in checks:
        if query.args.get(key) or query.args.get(key + "_"):
            return f"Views containing {what} are not automatically updatable."
    from aiondb.sql import functions
    nodes = [n for e in query.expressions for n in e.walk()]
    if any(isinstance(n, exp.Anonymous) and n.name.lower() in functions.AGGREGATES and
           not isinstance(n.parent, exp.Window) for n in nodes):
        return "Views that return aggregate functions are not automatically updatable."
    if any(isinstance(n, exp.Window) for n in nodes):
        return "Views that return window functions are not automatically updatable."
    src = query.args.get("from") or query.args.get("from_")
    if src is None or query.args.get("joins") or not isinstance(src.this, exp.Table):
        return single
    return None


def create_view_with(session: Session, txn: Transaction, node: CreateViewWith) -> Result:
    from aiondb.sql.ddl_objects import create_view
    ast = node.statement.ast
    assert isinstance(ast, exp.Create)
    if any(k == "check_option" for k, _ in node.options):
        reason = _not_updatable(ast.args.get("expression"))
        if reason is not None:
            raise errors.FeatureNotSupported(
                "WITH CHECK OPTION is supported only on automatically updatable views",
                hint=reason)
    result = create_view(session, txn, ast)
    cat = txn.begin_ddl()
    target = ast.this
    table = target.this if isinstance(target, exp.Schema) else target
    view = _created(session, cat, table)
    cat.replace_relation(replace(view, options=node.options))
    return result


def _created(session: Session, cat: Any, table: exp.Table) -> ViewDef:
    rel, _ = session.resolve_relation(cat, table.db or None, table.name)
    assert isinstance(rel, ViewDef)
    return rel
