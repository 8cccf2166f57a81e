"""Hand parser for the DDL forms sqlglot does not parse faithfully (it falls
back to a generic Command for most ALTER TABLE variants): ALTER TABLE /
INDEX / SEQUENCE / VIEW, DROP ..., TRUNCATE, CREATE SCHEMA, CREATE SEQUENCE.
Column definitions, constraints and expressions inside them are still
parsed by sqlglot, one fragment at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from aiondb import errors
from aiondb.sql.dialect import AionDB
from aiondb.sql.lexer import Token, TokenReader

QualName = tuple[str | None, str]   # (schema, name)


@dataclass(frozen=True)
class DropStmt:
    kind: str                  # table | index | view | sequence | schema
    names: tuple[QualName, ...]
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True)
class TruncateStmt:
    names: tuple[QualName, ...]
    restart_identity: bool = False
    cascade: bool = False


@dataclass(frozen=True)
class CreateSchema:
    name: str
    if_not_exists: bool = False


@dataclass(frozen=True)
class CreateMatView:
    name: QualName
    columns: tuple[str, ...]
    query: Any                 # the parsed statement (statements.Statement)
    if_not_exists: bool = False
    with_data: bool = True


@dataclass(frozen=True)
class RefreshMatView:
    name: QualName
    concurrently: bool = False
    with_data: bool = True


@dataclass(frozen=True)
class AlterSchema:
    name: str
    new_name: str | None = None      # RENAME TO; None for OWNER TO (accepted, no effect)


@dataclass(frozen=True)
class CreateSequence:
    name: QualName
    if_not_exists: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlterSequence:
    name: QualName
    if_exists: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlterAction:
    kind: str      # add_column drop_column alter_type set_default drop_default set_not_null
    #              drop_not_null add_constraint drop_constraint rename_column rename_constraint
    #              rename add_identity noop
    column: str | None = None
    node: Any = None           # sqlglot ColumnDef / constraint / DataType
    expr: Any = None           # sqlglot expression (DEFAULT, USING)
    new_name: str | None = None
    if_exists: bool = False
    if_not_exists: bool = False
    cascade: bool = False
    not_valid: bool = False    # ADD CONSTRAINT ... NOT VALID


@dataclass(frozen=True)
class AlterTable:
    kind: str                  # table | index | view | sequence
    name: QualName
    actions: tuple[AlterAction, ...]
    if_exists: bool = False


class _P(TokenReader):
    """Reader for the DDL statements parsed here rather than by sqlglot."""

    def qualname(self) -> QualName:
        a = self.ident()
        if self.op("."):
            return (a, self.ident())
        return (None, a)

    def number(self) -> int:
        neg = self.op("-")
        tok = self.peek()
        if tok is None or tok.kind != "number":
            raise self.error()
        self.i += 1
        return -int(tok.text) if neg else int(tok.text)

    def fragment_until_comma(self) -> str:
        """Source text up to the next top-level comma (or the end)."""
        start = self.peek()
        if start is None:
            raise self.error()
        depth = 0
        while not self.at_end():
            tok = self.peek()
            assert tok is not None
            if tok.kind == "op" and tok.text in ("(", "["):
                depth += 1
            elif tok.kind == "op" and tok.text in (")", "]"):
                depth -= 1
            elif tok.kind == "op" and tok.text == "," and depth == 0:
                break
            self.i += 1
        end = self.peek()
        return self.text[start.pos:end.pos if end is not None else len(self.text)].strip()


def parse_expr_text(text: str) -> exp.Expr:
    from aiondb.sql.statements import fold_identifiers
    try:
        node = sqlglot.parse_one(f"SELECT {text}", read=AionDB).expressions[0]
        fold_identifiers(node)
        return node
    except ParseError as exc:
        raise errors.SyntaxError(f"syntax error in expression: {text}",
                                 detail=str(exc.errors[0]["description"]) if exc.errors
                                 else None) from None


def parse_table_element(text: str) -> exp.Expr:
    """A column definition or table constraint, via a CREATE TABLE wrapper."""
    try:
        tree = sqlglot.parse_one(f"CREATE TABLE _x_ ({text})", read=AionDB)
    except ParseError:
        raise errors.SyntaxError(f'syntax error at or near "{text.split()[0]}"') from None
    from aiondb.sql.statements import fold_identifiers
    fold_identifiers(tree)
    schema = tree.this
    if not isinstance(schema, exp.Schema) or len(schema.expressions) != 1:
        raise errors.SyntaxError(f"syntax error in table element: {text}")
    return schema.expressions[0]


def _sequence_options(p: _P, alter: bool, stop: tuple[str, ...] = (),
                      identity: bool = False) -> dict[str, Any]:
    """CREATE / ALTER SEQUENCE options, up to the end or a `stop` operator;
    an identity column's also name its sequence (SEQUENCE NAME, as pg_dump
    writes them)."""
    opts: dict[str, Any] = {}
    while not p.at_end():
        nxt = p.peek()
        if stop and nxt is not None and nxt.kind == "op" and nxt.text in stop:
            break
        if identity and p.words("sequence", "name"):
            parts = [p.ident()]
            while p.op("."):
                parts.append(p.ident())
            opts["sequence_name"] = tuple(parts)
            continue
        if not _sequence_option(p, alter, opts):
            raise p.error()
    return opts


def _sequence_option(p: _P, alter: bool, opts: dict[str, Any]) -> bool:
    """One sequence option into opts; False if the next tokens are not one."""
    if p.word("as"):
        opts["type"] = p.ident()
    elif p.word("increment"):
        p.word("by")
        opts["increment"] = p.number()
    elif p.words("no", "minvalue"):
        opts["minvalue"] = None
    elif p.words("no", "maxvalue"):
        opts["maxvalue"] = None
    elif p.word("minvalue"):
        opts["minvalue"] = p.number()
    elif p.word("maxvalue"):
        opts["maxvalue"] = p.number()
    elif p.word("start"):
        p.word("with")
        opts["start"] = p.number()
    elif alter and p.word("restart"):
        if p.word("with") or (p.peek() is not None and p.peek().kind == "number"):  # type: ignore[union-attr]
            opts["restart"] = p.number()
        else:
            opts["restart"] = True
    elif p.word("cache"):
        opts["cache"] = p.number()
    elif p.words("no", "cycle"):
        opts["cycle"] = False
    elif p.word("cycle"):
        opts["cycle"] = True
    elif p.words("owned", "by"):
        if p.word("none"):
            opts["owned_by"] = None
        else:
            parts = [p.ident()]
            while p.op("."):
                parts.append(p.ident())
            opts["owned_by"] = tuple(parts)
    else:
        return False
    return True


def _alter_action(p: _P) -> AlterAction:
    if p.word("add"):
        tok = p.peek()
        if tok is not None and tok.value == "constraint" or _is_constraint_start(p):
            text = p.fragment_until_comma()
            not_valid = text.lower().endswith(" not valid")
            if not_valid:
                text = text[: -len(" not valid")]
            return AlterAction("add_constraint", node=parse_table_element(text),
                               not_valid=not_valid)
        p.word("column")
        ine = p.words("if", "not", "exists")
        text = p.fragment_until_comma()
        node = parse_table_element(text)
        if not isinstance(node, exp.ColumnDef):
            raise errors.SyntaxError(f"syntax error in ADD COLUMN: {text}")
        return AlterAction("add_column", column=node.name, node=node, if_not_exists=ine)
    if p.word("drop"):
        if p.word("constraint"):
            ie = p.words("if", "exists")
            name = p.ident()
            cascade = bool(p.word("cascade"))
            p.word("restrict")
            return AlterAction("drop_constraint", new_name=name, if_exists=ie, cascade=cascade)
        p.word("column")
        ie = p.words("if", "exists")
        col = p.ident()
        cascade = bool(p.word("cascade"))
        p.word("restrict")
        return AlterAction("drop_column", column=col, if_exists=ie, cascade=cascade)
    if p.word("alter"):
        p.word("column")
        col = p.ident()
        if p.words("set", "data", "type") or p.word("type"):
            text = p.fragment_until_comma()
            using = None
            low = text.lower()
            idx = _find_top_level_word(text, "using")
            if idx >= 0:
                using = parse_expr_text(text[idx + len("using"):].strip())
                text = text[:idx].strip()
            for suffix in (" collate \"c\"", " collate c"):
                if low.endswith(suffix):
                    text = text[: -len(suffix)]
            return AlterAction("alter_type", column=col, node=text, expr=using)
        if p.words("set", "default"):
            return AlterAction("set_default", column=col,
                               expr=parse_expr_text(p.fragment_until_comma()))
        if p.words("drop", "default"):
            return AlterAction("drop_default", column=col)
        if p.words("set", "not", "null"):
            return AlterAction("set_not_null", column=col)
        if p.words("drop", "not", "null"):
            return AlterAction("drop_not_null", column=col)
        if p.words("drop", "identity"):
            ie = p.words("if", "exists")
            return AlterAction("drop_identity", column=col, if_exists=ie)
        if p.word("add") and p.word("generated"):
            kind = "a" if p.word("always") else ("d" if p.words("by", "default") else None)
            if kind is None:
                raise p.error()
            p.expect("as")
            p.expect("identity")
            opts = {}
            if p.op("("):
                opts = _sequence_options(p, alter=False, stop=(")",), identity=True)
                if not p.op(")"):
                    raise p.error()
            return AlterAction("add_identity", column=col, new_name=kind, node=opts)
        if p.peek() is not None and p.peek().value in ("restart", "set"):  # type: ignore[union-attr]
            # identity options: SET GENERATED {ALWAYS | BY DEFAULT}, RESTART [[WITH] n],
            # SET sequence_option ...
            opts = {}
            while p.peek() is not None and p.peek().value in ("restart", "set"):  # type: ignore[union-attr]
                if p.word("restart"):
                    nxt = p.peek()
                    if p.word("with") or (nxt is not None and nxt.kind == "number"):
                        opts["restart"] = p.number()
                    else:
                        opts["restart"] = True
                    continue
                p.expect("set")
                if p.word("generated"):
                    opts["generated"] = "a" if p.word("always") else (
                        "d" if p.words("by", "default") else None)
                    if opts["generated"] is None:
                        raise p.error()
                    continue
                if p.word("statistics", "storage", "compression"):
                    p.fragment_until_comma()
                    return AlterAction("noop")
                if p.peek() is None or p.peek().value in ("as", "restart", "owned") or \
                        not _sequence_option(p, False, opts):  # type: ignore[union-attr]
                    raise p.error()
            return AlterAction("alter_identity", column=col, node=opts)
        raise p.error()
    if p.words("validate", "constraint"):
        return AlterAction("validate_constraint", new_name=p.ident())
    if p.words("owner", "to") or p.words("set", "tablespace"):
        p.ident()
        return AlterAction("noop")
    if p.word("set", "reset"):
        if p.words("logged") or p.words("unlogged") or p.words("without", "oids"):
            return AlterAction("noop")
        p.fragment_until_comma()
        return AlterAction("noop")
    if p.word("enable", "disable"):
        p.fragment_until_comma()
        return AlterAction("noop")
    raise p.error()


def _is_constraint_start(p: _P) -> bool:
    tok = p.peek()
    return tok is not None and tok.kind == "word" and tok.value in (
        "primary", "unique", "check", "foreign", "exclude")


def _find_top_level_word(text: str, word: str) -> int:
    depth = 0
    low = text.lower()
    i = 0
    in_str = False
    while i < len(text):
        c = text[i]
        if c == "'":
            in_str = not in_str
        elif not in_str:
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif depth == 0 and low.startswith(word, i) and (i == 0 or not low[i - 1].isalnum()) \
                    and (i + len(word) >= len(low) or not low[i + len(word)].isalnum()):
                return i
        i += 1
    return -1


def _with_data(p: _P) -> bool:
    """A trailing WITH [NO] DATA (default: WITH DATA)."""
    if p.word("with"):
        no = bool(p.word("no"))
        p.expect("data")
        return not no
    return True


def _create_matview(p: _P) -> CreateMatView:
    """CREATE MATERIALIZED VIEW [IF NOT EXISTS] name [(columns)] [USING method]
    [WITH (storage parameters)] [TABLESPACE name] AS query [WITH [NO] DATA]."""
    p.i = 2
    p.expect("view")
    ine = p.words("if", "not", "exists")
    name = p.qualname()
    cols: list[str] = []
    if p.op("("):
        cols.append(p.ident())
        while p.op(","):
            cols.append(p.ident())
        if not p.op(")"):
            raise p.error()
    if p.word("using"):
        method = p.ident()
        if method != "heap":
            raise errors.FeatureNotSupported(f'table access method "{method}" is not supported')
    if p.word("with"):                      # storage parameters: accepted, no effect
        if not p.op("("):
            raise p.error()
        depth = 1
        while depth:
            if p.at_end():
                raise p.error()
            if p.op("("):
                depth += 1
            elif p.op(")"):
                depth -= 1
            else:
                p.i += 1
    if p.word("tablespace"):
        p.ident()
    p.expect("as")
    start = p.peek()
    if start is None:
        raise p.error()
    # the query runs to a trailing top-level WITH [NO] DATA, if any
    end = len(p.toks)
    with_data = True
    tail = [t.value for t in p.toks[-3:]]
    if tail[-1:] == ["data"] and len(p.toks) >= 2 and p.toks[-2].value in ("with", "no"):
        if p.toks[-2].value == "no" and len(p.toks) >= 3 and p.toks[-3].value == "with":
            end, with_data = len(p.toks) - 3, False
        elif p.toks[-2].value == "with":
            end = len(p.toks) - 2
    stop = p.toks[end].pos if end < len(p.toks) else len(p.text)
    query_text = p.text[start.pos:stop]
    from aiondb.sql.statements import _parse_one
    stmt = _parse_one(query_text, start.pos)
    if stmt.ast is None or stmt.is_utility:
        raise errors.SyntaxError("syntax error at or near \"AS\"")
    return CreateMatView(name, tuple(cols), stmt, ine, with_data)


def parse_ddl(text: str, toks: list[Token]) -> Any:
    """The statement for these tokens, or None if it is not one of ours."""
    first = toks[0].value if toks and toks[0].kind == "word" else ""
    second = toks[1].value if len(toks) > 1 and toks[1].kind == "word" else ""
    p = _P(text, toks)
    if first == "drop" and second in ("table", "index", "view", "sequence", "schema"):
        p.i = 2
        if second == "index":
            p.word("concurrently")
        ie = p.words("if", "exists")
        names = [p.qualname()]
        while p.op(","):
            names.append(p.qualname())
        cascade = bool(p.word("cascade"))
        p.word("restrict")
        p.end()
        return DropStmt(second, tuple(names), ie, cascade)
    if first == "drop" and second == "materialized":
        p.i = 2
        p.expect("view")
        ie = p.words("if", "exists")
        names = [p.qualname()]
        while p.op(","):
            names.append(p.qualname())
        cascade = bool(p.word("cascade"))
        p.word("restrict")
        p.end()
        return DropStmt("materialized view", tuple(names), ie, cascade)
    if first == "create" and second == "materialized":
        return _create_matview(p)
    if first == "refresh":
        p.i = 1
        p.expect("materialized")
        p.expect("view")
        conc = bool(p.word("concurrently"))
        name = p.qualname()
        with_data = _with_data(p)
        p.end()
        return RefreshMatView(name, conc, with_data)
    if first == "truncate":
        p.i = 1
        p.word("table")
        p.word("only")
        names = [p.qualname()]
        while p.op(","):
            names.append(p.qualname())
        restart = False
        cascade = False
        while not p.at_end():
            if p.words("restart", "identity"):
                restart = True
            elif p.words("continue", "identity"):
                restart = False
            elif p.word("cascade"):
                cascade = True
            elif p.word("restrict"):
                cascade = False
            else:
                raise p.error()
        return TruncateStmt(tuple(names), restart, cascade)
    if first == "create" and second == "schema":
        p.i = 2
        ine = p.words("if", "not", "exists")
        if p.word("authorization"):
            name = p.ident()
        else:
            name = p.ident()
            if p.word("authorization"):
                p.ident()
        if not p.at_end():
            raise errors.FeatureNotSupported("CREATE SCHEMA with schema elements is not "
                                             "supported")
        return CreateSchema(name, ine)
    if first == "create" and (second == "sequence" or (
            second in ("temp", "temporary", "unlogged") and len(toks) > 2
            and toks[2].value == "sequence")):
        p.i = 2 if second == "sequence" else 3
        ine = p.words("if", "not", "exists")
        name = p.qualname()
        if second in ("temp", "temporary"):
            if name[0] is not None and name[0] != "pg_temp":
                raise errors.InvalidTableDefinition(
                    "cannot create temporary relation in non-temporary schema")
            name = ("pg_temp", name[1])
        return CreateSequence(name, ine, _sequence_options(p, alter=False))
    if first == "alter" and second == "schema":
        p.i = 2
        name = p.ident()
        if p.words("rename", "to"):
            new = p.ident()
            p.end()
            return AlterSchema(name, new)
        p.expect("owner")
        p.expect("to")
        p.ident()
        p.end()
        return AlterSchema(name)
    if first == "alter" and second == "materialized" and len(toks) > 2 and \
            toks[2].value == "view":
        # ALTER MATERIALIZED VIEW: the ALTER TABLE forms that apply (RENAME ...)
        toks = toks[:1] + toks[2:]
        second = "materialized view"
        p = _P(text, toks)
    if first == "alter" and second in ("table", "index", "view", "sequence",
                                       "materialized view"):
        p.i = 2
        ie = p.words("if", "exists")
        p.word("only")
        name = p.qualname()
        p.op("*")
        if second == "sequence" and not (p.peek() is not None and p.peek().value in  # type: ignore[union-attr]
                                         ("rename", "owner", "set")):
            return AlterSequence(name, ie, _sequence_options(p, alter=True))
        if p.word("rename"):
            if p.word("to"):
                new = p.ident()
                p.end()
                return AlterTable(second, name, (AlterAction("rename", new_name=new),), ie)
            if p.word("constraint"):
                old = p.ident()
                p.expect("to")
                new = p.ident()
                p.end()
                return AlterTable(second, name, (AlterAction("rename_constraint", column=old,
                                                             new_name=new),), ie)
            p.word("column")
            old = p.ident()
            p.expect("to")
            new = p.ident()
            p.end()
            return AlterTable(second, name, (AlterAction("rename_column", column=old,
                                                         new_name=new),), ie)
        if p.words("set", "schema"):
            new = p.ident()
            p.end()
            return AlterTable(second, name, (AlterAction("set_schema", new_name=new),), ie)
        actions = [_alter_action(p)]
        while p.op(","):
            actions.append(_alter_action(p))
        p.end()
        return AlterTable(second, name, tuple(actions), ie)
    return None
