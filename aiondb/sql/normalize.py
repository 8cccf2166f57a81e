"""Literal normalization for the simple query protocol.

`SELECT abalance FROM accounts WHERE aid = 42` and `... WHERE aid = 43`
differ only in a literal; parsing and planning each costs far more than
running it. normalize() turns such literals into parameters
(`... WHERE aid = $1`, values [42]) so one parsed, bound and planned
template serves every value. Literals whose position gives them meaning
beyond their value are left alone: ORDER BY / GROUP BY / DISTINCT ON
ordinals, typed literals (DATE '...', INTERVAL '...'), type modifiers
(numeric(10,2)), FETCH FIRST n.

Each literal keeps the type it would have had as a constant (integer →
int4/int8/numeric, decimal → numeric, string → unknown), so binding the
template resolves operators and output types exactly as for the literal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.lexer import Token, tokenize

_NORMALIZABLE = frozenset(("select", "insert", "update", "delete", "with", "values"))
# words after which a literal is part of a typed literal (DATE '2020-01-01')
_TYPE_PREFIX = frozenset((
    "interval", "date", "time", "timestamp", "timestamptz", "uuid", "json", "jsonb",
    "numeric", "decimal", "bool", "boolean", "int", "int2", "int4", "int8", "integer",
    "bigint", "smallint", "text", "varchar", "char", "character", "bytea", "float", "float4",
    "float8", "real", "double", "precision", "inet", "cidr", "point", "bit", "varying",
    "name", "oid", "regclass", "regtype", "vector", "collate", "escape", "zone", "first",
    "next", "uescape",
))
# a parenthesis after these words holds type modifiers, not values
_TYPE_MOD = frozenset(("numeric", "decimal", "varchar", "char", "character", "varying",
                       "vector", "timestamp", "timestamptz", "time", "interval", "float",
                       "bit", "bpchar"))
_CLAUSE_END = frozenset(("limit", "offset", "having", "window", "fetch", "for", "union",
                         "intersect", "except", "select", "from", "where", "returning",
                         "rows", "range", "groups", "on", "using", "into", "values", "set"))


def _literal_value(tok: Token, negative: bool) -> tuple[Any, T.SqlType]:
    if tok.kind == "string":
        return tok.value, T.UNKNOWN
    text = tok.text
    if text.isdigit():
        v = -int(text) if negative else int(text)
        if -2147483648 <= v <= 2147483647:
            return v, T.INT4
        if -9223372036854775808 <= v <= 9223372036854775807:
            return v, T.INT8
        return Decimal(v), T.NUMERIC
    d = Decimal(text)
    return (-d if negative else d), T.NUMERIC


# a '-' after these is a sign, not a subtraction
_SIGN_CONTEXT_WORDS = frozenset((
    "select", "where", "and", "or", "not", "when", "then", "else", "by", "values", "set",
    "returning", "limit", "offset", "in", "between", "like", "ilike", "is", "on", "having",
    "case", "array", "return", "distinct", "all", "any", "some",
))


def _is_sign(minus: Token | None, before: Token | None) -> bool:
    if minus is None or minus.kind != "op" or minus.text != "-":
        return False
    if before is None:
        return True
    if before.kind == "op":
        return before.text not in (")", "]")
    return before.kind == "word" and before.value in _SIGN_CONTEXT_WORDS


def normalize(sql: str, positions: list[int] | None = None
              ) -> tuple[str, list[Any], list[T.SqlType]] | None:
    """(template text, literal values, their types), or None when the
    statement is not worth or not safe to normalize. With positions: also
    where each literal starts in sql (an error in one points there)."""
    try:
        toks = tokenize(sql)
    except errors.DatabaseError:
        return None
    if not toks or toks[0].kind != "word" or toks[0].value not in _NORMALIZABLE:
        return None
    parts: list[str] = []
    values: list[Any] = []
    types: list[T.SqlType] = []
    last = 0
    depth = 0
    paren_owner: list[str] = []        # word before each open parenthesis
    ordinal_clause: dict[int, bool] = {}
    prev: Token | None = None
    prev2: Token | None = None
    for i, tok in enumerate(toks):
        kind = tok.kind
        if kind == "param":
            return None            # already parameterized: leave as written
        if kind == "op":
            if tok.text == "(":
                owner = prev.value if prev is not None and prev.kind == "word" else ""
                if owner == "on" and prev2 is not None and prev2.value == "distinct":
                    owner = "distinct on"
                paren_owner.append(owner)
                depth += 1
                ordinal_clause[depth] = owner == "distinct on"
            elif tok.text == ")":
                if paren_owner:
                    paren_owner.pop()
                ordinal_clause.pop(depth, None)
                depth -= 1
        elif kind == "word":
            if tok.value == "by" and prev is not None and prev.value in ("order", "group",
                                                                        "partition"):
                ordinal_clause[depth] = True
            elif tok.value in _CLAUSE_END:
                ordinal_clause[depth] = False
        elif kind in ("number", "string"):
            skip = (
                ordinal_clause.get(depth, False)
                or (prev is not None and prev.kind == "word" and prev.value in _TYPE_PREFIX)
                or (paren_owner and paren_owner[-1] in _TYPE_MOD)
                # U&'...', B'...', X'...', N'...': the prefix is part of the literal
                or (tok.kind == "string" and tok.pos > 0 and
                    (sql[tok.pos - 1].isalpha() or sql[tok.pos - 1] == "&"))
            )
            if not skip:
                nxt = toks[i + 1] if i + 1 < len(toks) else None
                # '::' and subscripts bind tighter than a sign: -32768::smallint
                binds_tighter = nxt is not None and nxt.kind == "op" and (
                    nxt.text.startswith("::") or nxt.text == "[")
                negative = tok.kind == "number" and not binds_tighter and \
                    _is_sign(prev, prev2)
                value, t = _literal_value(tok, negative)
                values.append(value)
                types.append(t)
                start = prev.pos if negative and prev is not None else tok.pos
                if positions is not None:
                    positions.append(tok.pos)
                parts.append(sql[last:start])
                parts.append(f"${len(values)}")
                last = tok.pos + len(tok.text)
        prev2, prev = prev, tok
    if not values:
        return None
    parts.append(sql[last:])
    return "".join(parts), values, types
