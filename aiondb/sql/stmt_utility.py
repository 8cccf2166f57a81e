"""The hand parser for utility statements: given a statement's tokens, return
its stmt_nodes record, or None when sqlglot should parse it. EXPLAIN,
PREPARE and DECLARE parse their inner statement through statements.parse_one."""

from __future__ import annotations

from typing import Any

from aiondb import errors
from aiondb.sql.lexer import Token, TokenReader
from aiondb.sql.stmt_copy import _parse_copy
from aiondb.sql.stmt_nodes import (
    AlterDatabaseOwner,
    BackupTenant,
    Begin,
    CheckpointStmt,
    CloseCursor,
    Commit,
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
)


def parse_one(text: str, offset: int) -> Any:
    # statements imports this module; the inner statement's parse is deferred
    from aiondb.sql.statements import _parse_one
    return _parse_one(text, offset)


# --- the parser for utility statements -------------------------------------------------------

class _Utility(TokenReader):
    """Recursive-descent reader over lexer tokens of one utility statement."""

    def string(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "string":
            raise self.error()
        self.i += 1
        return tok.value

    def rest_text(self) -> str:
        tok = self.peek()
        return "" if tok is None else self.text[tok.pos:]

    def value_text(self) -> str:
        """A SET value: word, string, number, possibly signed, or a list."""
        parts = []
        while True:
            tok = self.peek()
            if tok is None:
                raise self.error()
            if tok.kind == "op" and tok.text in ("-", "+"):
                nxt = self.peek(1)
                if nxt is None or nxt.kind != "number":
                    raise self.error(tok)
                self.i += 2
                parts.append(tok.text + nxt.text)
            elif tok.kind in ("word", "qident", "string", "number"):
                self.i += 1
                parts.append(tok.value if tok.kind != "number" else tok.text)
            else:
                raise self.error(tok)
            if not self.op(","):
                break
        return ", ".join(parts)


_ISOLATION = {("read", "committed"): "read committed", ("repeatable", "read"): "repeatable read",
              ("serializable",): "serializable", ("read", "uncommitted"): "read uncommitted"}


def _txn_modes(u: _Utility) -> tuple[str | None, bool | None]:
    isolation = None
    read_only = None
    while not u.at_end():
        if u.words("isolation", "level"):
            for key, name in _ISOLATION.items():
                if u.words(*key):
                    isolation = name
                    break
            else:
                raise u.error()
        elif u.words("read", "only"):
            read_only = True
        elif u.words("read", "write"):
            read_only = False
        elif u.words("not", "deferrable") or u.words("deferrable"):
            pass
        else:
            raise u.error()
        u.op(",")
    return isolation, read_only


def _parse_set(u: _Utility) -> Any:
    local = False
    if u.word("local"):
        local = True
    else:
        u.word("session")
    if u.words("characteristics", "as", "transaction"):
        iso, ro = _txn_modes(u)
        return SetTransaction(iso, ro, session=True)
    if u.word("transaction"):
        if u.words("snapshot"):
            sid = u.string()
            u.end()
            return SetTransaction(None, None, snapshot=sid)
        iso, ro = _txn_modes(u)
        return SetTransaction(iso, ro)
    if u.words("time", "zone"):
        if u.word("local") or u.word("default"):
            return SetVar("timezone", None, local)
        if u.word("interval"):
            raise errors.FeatureNotSupported("SET TIME ZONE INTERVAL is not supported")
        value = u.value_text()
        u.end()
        return SetVar("timezone", value, local)
    if u.words("names"):
        value = u.value_text() if not u.at_end() else None
        return SetVar("client_encoding", value, local)
    if u.words("session", "authorization") or u.words("role"):
        value = u.value_text()
        return SetVar("role", value, local)
    name = u.ident()
    while u.op("."):
        name += "." + u.ident()
    if not (u.word("to") or u.op("=")):
        raise u.error()
    if u.word("default"):
        u.end()
        return SetVar(name, None, local)
    value = u.value_text()
    u.end()
    return SetVar(name, value, local)


def _parse_backup_restore(u: _Utility, kind: str) -> Any:
    u.expect("tenant", "database")
    tenant = u.ident()
    u.expect("to" if kind == "backup" else "from")
    path = u.string()
    options: dict[str, Any] = {}
    dry_run = False
    while not u.at_end():
        if kind == "restore" and u.words("dry", "run"):
            dry_run = True
        elif u.word("with"):
            if u.op("("):
                while not u.op(")"):
                    name = u.ident()
                    tok = u.peek()
                    if tok is not None and tok.kind in ("string", "number", "word") \
                            and tok.value not in (",",):
                        u.i += 1
                        options[name] = tok.value if tok.kind != "number" else tok.text
                    else:
                        options[name] = True
                    u.op(",")
        elif kind == "backup" and u.word("incremental"):
            options["incremental"] = True
            if u.word("from"):
                options["base"] = u.string()
        elif kind == "restore" and u.word("as"):
            u.word("tenant")
            options["as"] = u.ident()
        elif kind == "restore" and u.word("until"):
            w = u.expect("time", "lsn", "latest")
            options["until"] = (w, None if w == "latest" else u.string())
        else:
            raise u.error()
    if kind == "backup":
        return BackupTenant(tenant, path, options)
    return RestoreTenant(tenant, path, dry_run, options)


def _parse_fetch(u: _Utility, move: bool) -> FetchStmt:
    count: int | None = 1
    direction = "forward"
    tok = u.peek()
    if tok is not None and tok.kind == "number":
        count = int(tok.text)
        u.i += 1
    elif u.word("all"):
        count = None
    elif u.word("next"):
        count = 1
    elif u.word("forward"):
        tok = u.peek()
        if tok is not None and tok.kind == "number":
            count = int(tok.text)
            u.i += 1
        elif u.word("all"):
            count = None
    elif u.word("prior", "backward", "first", "last", "absolute", "relative"):
        raise errors.FeatureNotSupported("cursor can only scan forward",
                                         hint="Declare it with SCROLL option to enable "
                                              "backward scan (not supported).")
    u.word("from") or u.word("in")
    name = u.ident()
    u.end()
    return FetchStmt(name, count, move, direction)


# Words a PostgreSQL statement can start with (gram.y's stmt rule), plus
# AionDB's BACKUP / RESTORE TENANT.
_LEADING_KEYWORDS = frozenset("""abort alter analyse analyze backup begin call checkpoint close
cluster comment commit copy create deallocate declare delete discard do drop end execute
explain fetch grant import insert listen load lock merge move notify prepare reassign refresh
reindex release reset restore revoke rollback savepoint security select set show start table
truncate unlisten update vacuum values with""".split())


def _classify(text: str, offset: int, toks: list[Token]) -> Any:
    """The utility statement for these tokens, or None if sqlglot parses it."""
    u = _Utility(text, toks)
    head = toks[0]
    if not (head.kind == "word" and head.value in _LEADING_KEYWORDS) and \
            not (head.kind == "op" and head.text == "("):
        # PostgreSQL's grammar fails on a statement's first token when no
        # statement starts with it, so the error points there, not further on
        raise u.error(head)
    first = toks[0].value if toks[0].kind == "word" else ""
    second = toks[1].value if len(toks) > 1 and toks[1].kind == "word" else ""
    if first in ("begin", "start"):
        u.i = 1
        if first == "start":
            u.expect("transaction")
        else:
            u.word("work", "transaction")
        iso, ro = _txn_modes(u)
        return Begin(iso, ro)
    if first in ("commit", "end", "rollback", "abort"):
        u.i = 1
        if first == "rollback" and (u.word("to")):
            u.word("savepoint")
            name = u.ident()
            u.end()
            return RollbackTo(name)
        if first in ("commit", "end") and u.word("prepared"):
            raise errors.FeatureNotSupported("prepared transactions are not supported")
        if first == "rollback" and u.word("prepared"):
            raise errors.FeatureNotSupported("prepared transactions are not supported")
        u.word("work", "transaction")
        chain = False
        if u.word("and"):
            chain = u.word("no") is None
            u.expect("chain")
        u.end()
        return Commit(chain) if first in ("commit", "end") else Rollback(chain)
    if first == "set" and second == "constraints":
        from aiondb.sql.deferred import parse_set_constraints
        u.i = 2
        return parse_set_constraints(u)
    if first == "savepoint":
        u.i = 1
        name = u.ident()
        u.end()
        return SavepointStmt(name)
    if first == "release":
        u.i = 1
        u.word("savepoint")
        name = u.ident()
        u.end()
        return Release(name)
    if first == "set":
        u.i = 1
        return _parse_set(u)
    if first == "reset":
        u.i = 1
        if u.word("all"):
            u.end()
            return ResetVar("all")
        if u.words("time", "zone"):
            return ResetVar("timezone")
        name = u.ident()
        while u.op("."):
            name += "." + u.ident()
        u.end()
        return ResetVar(name)
    if first == "show":
        u.i = 1
        if u.words("time", "zone"):
            u.end()
            return Show("timezone")
        if u.words("transaction", "isolation", "level"):
            u.end()
            return Show("transaction_isolation")
        if u.word("all"):
            u.end()
            return Show("all")
        name = u.ident()
        while u.op("."):
            name += "." + u.ident()
        u.end()
        return Show(name)
    if first == "checkpoint":
        u.i = 1
        u.end()
        return CheckpointStmt()
    if first == "discard":
        u.i = 1
        what = u.expect("all", "plans", "sequences", "temp", "temporary")
        u.end()
        return Discard("temp" if what == "temporary" else what)
    if first == "deallocate":
        u.i = 1
        u.word("prepare")
        if u.word("all"):
            u.end()
            return Deallocate(None)
        name = u.ident()
        u.end()
        return Deallocate(name)
    if first == "create" and second == "database":
        u.i = 2
        ine = u.words("if", "not", "exists")
        name = u.ident()
        # ignore WITH OWNER/ENCODING/TEMPLATE/LOCALE... options, as a convenience
        return CreateDatabase(name, ine)
    if first in ("create", "alter") and second in ("role", "user"):
        u.i = 2
        name = u.ident()
        opts: list[str] = []
        while not u.at_end():
            tok = u.peek()
            u.i += 1
            if tok is None or tok.text == ";":
                continue
            if opts and opts[-1] == "-" and tok.kind == "number":
                opts[-1] += tok.text            # CONNECTION LIMIT -1
            else:
                opts.append(tok.text)
        return RoleStmt(first.upper(), second.upper(), name, tuple(opts))
    if first == "alter" and second == "database" and len(toks) >= 4 and \
            toks[3].value == "owner":
        u.i = 2
        name = u.ident()
        u.i = 4
        if u.word("to") is None:
            raise u.error()
        owner = u.ident()
        u.end()
        return AlterDatabaseOwner(name, owner)
    if first == "drop" and second == "database":
        u.i = 2
        ie = u.words("if", "exists")
        name = u.ident()
        force = False
        with_kw = u.word("with") is not None
        if u.op("("):
            while True:
                if u.word("force") is None:       # PostgreSQL's only option
                    raise u.error()
                force = True
                if u.op(")"):
                    break
                if not u.op(","):
                    raise u.error()
        elif with_kw:
            raise u.error()
        u.end()
        return DropDatabase(name, ie, force)
    if first in ("backup", "restore") and second in ("tenant", "database"):
        u.i = 1
        return _parse_backup_restore(u, first)
    if first in ("vacuum", "analyze", "analyse"):
        return NoOp("VACUUM" if first == "vacuum" else "ANALYZE")
    if first in ("reindex", "cluster"):
        # indexes are rebuilt in memory at start and kept in key order: nothing to do
        return NoOp(first.upper())
    if first == "explain":
        u.i = 1
        analyze = verbose = False
        costs = True
        if u.op("("):
            while True:
                opt = u.ident()
                val = True
                tok = u.peek()
                if tok is not None and tok.kind in ("word", "number", "string") \
                        and tok.value in ("true", "false", "on", "off", "1", "0"):
                    val = tok.value in ("true", "on", "1")
                    u.i += 1
                if opt == "format":
                    fmt = u.ident()
                    if fmt != "text":
                        raise errors.FeatureNotSupported(
                            f"EXPLAIN (FORMAT {fmt.upper()}) is not supported")
                elif opt == "analyze":
                    analyze = val
                elif opt == "verbose":
                    verbose = val
                elif opt == "costs":
                    costs = val
                if u.op(")"):
                    break
                if not u.op(","):
                    raise u.error()
        else:
            while True:
                if u.word("analyze", "analyse"):
                    analyze = True
                elif u.word("verbose"):
                    verbose = True
                else:
                    break
        tok = u.peek()
        if tok is None:
            raise u.error()
        inner = parse_one(text[tok.pos:], offset + tok.pos)
        return Explain(analyze, verbose, costs, inner)
    if first == "copy":
        u.i = 1
        return _parse_copy(text, offset, u)
    if first == "prepare":
        u.i = 1
        if u.word("transaction"):
            raise errors.FeatureNotSupported("prepared transactions are not supported")
        name = u.ident()
        types: list[str] = []
        if u.op("("):
            while True:
                types.append(u.run_until(")", ",").strip())
                if u.op(")"):
                    break
                u.op(",")
        u.expect("as")
        tok = u.peek()
        if tok is None:
            raise u.error()
        inner = parse_one(text[tok.pos:], offset + tok.pos)
        return PrepareStmt(name, tuple(types), inner)
    if first == "execute":
        u.i = 1
        name = u.ident()
        return ExecuteStmt(name, u.rest_text())
    if first == "declare":
        u.i = 1
        name = u.ident()
        while u.word("binary", "insensitive", "asensitive", "no", "scroll"):
            pass
        u.expect("cursor")
        hold = False
        if u.word("with"):
            u.expect("hold")
            hold = True
        elif u.word("without"):
            u.expect("hold")
        u.expect("for")
        tok = u.peek()
        if tok is None:
            raise u.error()
        inner = parse_one(text[tok.pos:], offset + tok.pos)
        return DeclareCursor(name, inner, hold)
    if first in ("fetch", "move"):
        u.i = 1
        return _parse_fetch(u, first == "move")
    if first == "close":
        u.i = 1
        if u.word("all"):
            return CloseCursor(None)
        return CloseCursor(u.ident())
    if first in ("import", "security", "load", "reassign"):
        what = {"import": "IMPORT FOREIGN SCHEMA", "security": "SECURITY LABEL",
                "load": "LOAD", "reassign": "REASSIGN OWNED"}[first]
        raise errors.FeatureNotSupported(f"{what} is not supported")
    if first in ("listen", "unlisten", "notify"):
        raise errors.FeatureNotSupported(f"{first.upper()} is not supported")
    if first in ("grant", "revoke"):
        return NoOp(first.upper())
    if first == "comment" and second == "on":
        from aiondb.sql.ddl_comment import parse_comment
        return parse_comment(text, toks)
    if first == "lock":
        return NoOp("LOCK TABLE")
    if first in ("do",) or (first == "create" and second in ("function", "procedure",
                                                              "trigger", "extension",
                                                              "type", "domain", "rule",
                                                              "aggregate", "operator",
                                                              "policy",
                                                              "publication", "subscription",
                                                              "tablespace", "server")):
        if first == "create" and second == "extension":
            return NoOp("CREATE EXTENSION")
        what = "DO" if first == "do" else f"CREATE {second.upper()}"
        raise errors.FeatureNotSupported(f"{what} is not supported")
    if first == "create" and second == "or" and len(toks) > 3 and toks[3].value in (
            "function", "procedure", "trigger", "rule"):
        raise errors.FeatureNotSupported(f"CREATE {toks[3].value.upper()} is not supported")
    if first == "alter" and second in ("system", "database", "extension"):
        raise errors.FeatureNotSupported(f"ALTER {second.upper()} is not supported")
    if first == "call":
        raise errors.FeatureNotSupported("CALL is not supported (no stored procedures)")
    if first == "create":
        from aiondb.sql.ddl_view_opts import parse_create_view
        view = parse_create_view(text, offset, toks)
        if view is not None:
            return view
    from aiondb.sql.ddl_parse import parse_ddl
    return parse_ddl(text, toks)
