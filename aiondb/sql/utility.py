"""Utility statements: transaction control, SET/SHOW/RESET, CHECKPOINT,
DISCARD/DEALLOCATE, CREATE/DROP DATABASE, cursors, SQL PREPARE/EXECUTE,
EXPLAIN and COPY."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import ddl_parse as D
from aiondb.sql import errpos, temp_tables
from aiondb.sql import settings as S
from aiondb.sql import statements as st
from aiondb.sql.ddl_comment import CommentStmt
from aiondb.sql.ddl_view_opts import CreateViewWith
from aiondb.sql.deferred import SetConstraints, set_constraints
from aiondb.sql.plan import OutCol

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session


def _result(tag: str, columns: list[OutCol] | None = None, rows: list | None = None) -> Result:
    from aiondb.sql.results import Result
    return Result(tag, columns, rows or [])


def _no_block(session: Session, what: str) -> None:
    if session.in_block:
        raise errors.ActiveSqlTransaction(f"{what} cannot run inside a transaction block")


async def run_utility(session: Session, u: Any, stmt: st.Statement) -> Result:
    handler = _HANDLERS.get(type(u))
    if handler is None:
        raise errors.FeatureNotSupported(f"statement {type(u).__name__} is not supported")
    return await handler(session, u, stmt)


# --- transaction control --------------------------------------------------------------------------

async def _begin(session: Session, u: st.Begin, stmt: st.Statement) -> Result:
    if session.in_block:
        # as PostgreSQL: a warning, and the modes still apply (psycopg sends
        # its own BEGIN before an application's BEGIN ISOLATION LEVEL ...)
        session.notice("there is already a transaction in progress", "WARNING", "25001")
    session.in_block = True
    session.implicit_txn = False
    if u.isolation is not None:
        session._set_txn_isolation(u.isolation)
    if u.read_only is not None:
        session.block_read_only = u.read_only
        if session.txn is not None:
            session.txn.read_only = u.read_only
    return _result("BEGIN")


async def _commit(session: Session, u: st.Commit, stmt: st.Statement) -> Result:
    if not session.in_block:
        if session.txn is None or not session.implicit_txn:
            session.notice("there is no transaction in progress", "WARNING", "25P01")
        if session.txn is None:
            session._end_txn_settings(commit=True)    # the implicit one ends: portals too
        await session.finish_implicit()
        return _result("COMMIT")
    session.in_block = False
    if session.failed:
        session.failed = False
        session._rollback()
        tag = "ROLLBACK"
    else:
        iso, ro = (session.txn.isolation, session.txn.read_only) if session.txn else (None, None)
        await session._commit()
        tag = "COMMIT"
        if u.chain:
            await _begin(session, st.Begin(iso, ro), stmt)
    return _result(tag)


async def _rollback(session: Session, u: st.Rollback, stmt: st.Statement) -> Result:
    if not session.in_block:
        if session.txn is None or not session.implicit_txn:
            session.notice("there is no transaction in progress", "WARNING", "25P01")
        session._rollback()
        return _result("ROLLBACK")
    iso, ro = (session.txn.isolation, session.txn.read_only) if session.txn else (None, None)
    session.in_block = False
    session.failed = False
    session._rollback()
    if u.chain:
        await _begin(session, st.Begin(iso, ro), stmt)
    return _result("ROLLBACK")


async def _savepoint(session: Session, u: st.SavepointStmt, stmt: st.Statement) -> Result:
    if not session.in_block:
        raise errors.NoActiveSqlTransaction("SAVEPOINT can only be used in transaction blocks")
    session._ensure_txn().savepoint(u.name)
    return _result("SAVEPOINT")


async def _rollback_to(session: Session, u: st.RollbackTo, stmt: st.Statement) -> Result:
    if not session.in_block:
        raise errors.NoActiveSqlTransaction(
            "ROLLBACK TO SAVEPOINT can only be used in transaction blocks")
    txn = session._ensure_txn()
    txn.rollback_to_savepoint(u.name)
    session.failed = False
    return _result("ROLLBACK")


async def _release(session: Session, u: st.Release, stmt: st.Statement) -> Result:
    if not session.in_block:
        raise errors.NoActiveSqlTransaction(
            "RELEASE SAVEPOINT can only be used in transaction blocks")
    session._ensure_txn().release_savepoint(u.name)
    return _result("RELEASE")


# --- settings ------------------------------------------------------------------------------------------

async def _set(session: Session, u: st.SetVar, stmt: st.Statement) -> Result:
    value = u.value
    if value is not None and u.name.lower() == "search_path":
        value = ", ".join(_quote_schema(p.strip()) for p in value.split(","))
    session.set_value(u.name, value, u.local)
    return _result("SET")


def _quote_schema(p: str) -> str:
    if p.startswith('"') or p == "$user" or p.lower() == p:
        return p if p != "$user" else '"$user"'
    return f'"{p}"'


async def _set_transaction(session: Session, u: st.SetTransaction,
                           stmt: st.Statement) -> Result:
    if u.session:
        if u.isolation is not None:
            session.set_value("default_transaction_isolation", u.isolation)
        if u.read_only is not None:
            session.set_value("default_transaction_read_only", "on" if u.read_only else "off")
        return _result("SET")
    if u.snapshot is not None:
        _import_snapshot(session, u.snapshot)
        return _result("SET")
    if not session.in_block:
        session.notice("SET TRANSACTION can only be used in transaction blocks", "WARNING",
                       "25P01")
        return _result("SET")
    if u.isolation is not None:
        session._set_txn_isolation(u.isolation)
    if u.read_only is not None:
        session.block_read_only = u.read_only
        if session.txn is not None:
            session.txn.read_only = u.read_only
    return _result("SET")


def _import_snapshot(session: Session, sid: str) -> None:
    """SET TRANSACTION SNAPSHOT: see what the exporting transaction sees
    (pg_export_snapshot; pg_dump -j's workers), checked as PostgreSQL does."""
    if not session.in_block:     # as PostgreSQL: a warning, then the implicit one's checks
        session.notice("SET TRANSACTION can only be used in transaction blocks", "WARNING",
                       "25P01")
    iso = session.block_isolation or session.values["default_transaction_isolation"]
    if iso not in ("repeatable read", "serializable"):
        raise errors.FeatureNotSupported(
            "a snapshot-importing transaction must have isolation level SERIALIZABLE or "
            "REPEATABLE READ")
    txn = session._ensure_txn()
    if txn.snapshot is not None or txn.queried:
        raise errors.ActiveSqlTransaction("SET TRANSACTION SNAPSHOT must be called before any "
                                          "query")
    exported = session.db.exported_snapshot(sid)
    if exported is None:
        reg = session.engine.registry
        for name in reg.names():
            if name != session.db.name and reg.get(name).exported_snapshot(sid) is not None:
                raise errors.FeatureNotSupported(
                    "cannot import a snapshot from a different database")
        raise errors.InvalidParameterValue(f'invalid snapshot identifier: "{sid}"')
    seq, exporter_iso = exported
    if iso == "serializable" and exporter_iso != "serializable":
        raise errors.FeatureNotSupported("a serializable transaction cannot import a snapshot "
                                         "from a non-serializable transaction")
    txn.use_snapshot(seq)


async def _reset(session: Session, u: st.ResetVar, stmt: st.Statement) -> Result:
    if u.name == "all":
        for s in S.SETTINGS.values():
            if s.settable and s.name not in ("transaction_isolation", "transaction_read_only"):
                session.set_value(s.name, None)
    else:
        session.set_value(u.name, None)
    return _result("RESET")


async def _show(session: Session, u: st.Show, stmt: st.Statement) -> Result:
    if u.name == "all":
        rows = [(s.display or s.name, session.values[s.name], "")
                for s in sorted(S.SETTINGS.values(), key=lambda s: s.name)]
        return _result("SHOW", [OutCol("name", T.TEXT), OutCol("setting", T.TEXT),
                                OutCol("description", T.TEXT)], rows)
    name, value = session.show(u.name)
    return _result("SHOW", [OutCol(name, T.TEXT)], [(value,)])


# --- server-level -------------------------------------------------------------------------------------

async def _checkpoint(session: Session, u: st.CheckpointStmt, stmt: st.Statement) -> Result:
    await session.engine.registry.checkpoint(session.db.name, session.notice)
    return _result("CHECKPOINT")


async def _discard(session: Session, u: st.Discard, stmt: st.Statement) -> Result:
    if u.what == "all":
        _no_block(session, "DISCARD ALL")
        session.prepared.clear()
        session.portals.clear()
        session.cursors.clear()
        session.plan_cache.clear()
        for s in S.SETTINGS.values():
            if s.settable and s.name not in ("transaction_isolation", "transaction_read_only"):
                session.set_value(s.name, None)
        await session.in_transaction(lambda txn: temp_tables.drop_all(session, txn))
        return _result("DISCARD ALL")
    if u.what == "plans":
        session.plan_cache.clear()
        for ps in session.prepared.values():
            ps.entry = None
    elif u.what == "temp":
        await session.in_transaction(lambda txn: temp_tables.drop_all(session, txn))
    elif u.what == "sequences":
        session.sequence_values.clear()
        session.last_sequence_value = None
    return _result(f"DISCARD {u.what.upper()}")


async def _deallocate(session: Session, u: st.Deallocate, stmt: st.Statement) -> Result:
    if u.name is None:
        session.prepared = {k: v for k, v in session.prepared.items() if k == ""}
        return _result("DEALLOCATE ALL")
    if u.name not in session.prepared:
        raise errors.InvalidSqlStatementName(f'prepared statement "{u.name}" does not exist')
    del session.prepared[u.name]
    return _result("DEALLOCATE")


async def _create_database(session: Session, u: st.CreateDatabase, stmt: st.Statement) -> Result:
    _no_block(session, "CREATE DATABASE")
    if u.if_not_exists and u.name in session.engine.registry.names():
        session.notice(f'database "{u.name}" already exists, skipping', code="42P04")
        return _result("CREATE DATABASE")
    await session.engine.registry.create(u.name)
    return _result("CREATE DATABASE")


async def _alter_database_owner(session: Session, u: st.AlterDatabaseOwner,
                                stmt: st.Statement) -> Result:
    """OWNER TO the one role there is (what pg_dump -C and pg_dumpall write):
    nothing to change."""
    if u.name not in session.engine.registry.names():
        raise errors.InvalidCatalogName(f'database "{u.name}" does not exist')
    if u.owner != session.user and u.owner not in ("current_user", "current_role",
                                                   "session_user"):
        raise errors.UndefinedObject(f'role "{u.owner}" does not exist')
    return _result("ALTER DATABASE")


# what the one role has (pg_roles): ALTER ROLE may restate it, as pg_dumpall does
_ROLE_HAS = {"with", "superuser", "inherit", "createrole", "createdb", "login", "replication",
             "bypassrls"}
_SELF = ("current_user", "current_role", "session_user")


async def _role(session: Session, u: st.RoleStmt, stmt: st.Statement) -> Result:
    """AionDB has one role, the server's user. CREATE ROLE of that name
    fails as in PostgreSQL (it exists); ALTER ROLE that leaves it as it is
    (pg_dumpall's `ALTER ROLE aion WITH SUPERUSER ... LOGIN ...`) succeeds;
    anything else would need a second role or a changed one."""
    me = session.user
    name = me if u.verb == "ALTER" and u.name in _SELF else u.name
    if u.verb == "CREATE":
        if name == me:
            raise errors.DuplicateObject(f'role "{name}" already exists')
        raise errors.FeatureNotSupported(
            f"CREATE {u.kind} is not supported: AionDB has one role, \"{me}\"")
    if name != me:
        raise errors.UndefinedObject(f'role "{name}" does not exist')
    opts = list(u.options)
    low = [o.lower() for o in opts]
    for i in range(len(low) - 2):
        if low[i:i + 3] == ["connection", "limit", "-1"]:      # no limit: as it is
            del opts[i:i + 3], low[i:i + 3]
            break
    if not set(low) <= _ROLE_HAS:
        asked = " ".join(o for o, w in zip(opts, low, strict=True) if w not in _ROLE_HAS)
        raise errors.FeatureNotSupported(
            f"ALTER {u.kind} ... {asked} is not supported: AionDB has one role, \"{me}\", "
            "with every attribute")
    return _result("ALTER ROLE")


async def _drop_database(session: Session, u: st.DropDatabase, stmt: st.Statement) -> Result:
    _no_block(session, "DROP DATABASE")
    reg = session.engine.registry
    if u.name not in reg.names():
        if u.if_exists:
            session.notice(f'database "{u.name}" does not exist, skipping')
            return _result("DROP DATABASE")
        raise errors.InvalidCatalogName(f'database "{u.name}" does not exist')
    if u.name == session.db.name:
        raise errors.ObjectInUse("cannot drop the currently open database")
    def others() -> list[Session]:
        return [s for s in session.engine.sessions.values() if s.db.name == u.name]

    if u.force:
        for s in others():      # as pg_terminate_backend on each
            if s.terminator is not None:
                s.terminator()
    # as PostgreSQL: sessions get up to 5 s to leave before this is an error
    for _ in range(250):
        if not others():
            break
        await asyncio.sleep(0.02)
    left = len(others())
    if left:
        raise errors.ObjectInUse(
            f'database "{u.name}" is being accessed by other users',
            detail="There is 1 other session using the database." if left == 1 else
                   f"There are {left} other sessions using the database.")
    await reg.drop(u.name)
    return _result("DROP DATABASE")


async def _backup(session: Session, u: Any, stmt: st.Statement) -> Result:
    raise errors.FeatureNotSupported("BACKUP TENANT is not implemented yet")


async def _set_constraints(session: Session, u: SetConstraints, stmt: st.Statement) -> Result:
    set_constraints(session, u)
    return _result("SET CONSTRAINTS")


async def _noop(session: Session, u: st.NoOp, stmt: st.Statement) -> Result:
    if u.tag in ("VACUUM",):
        _no_block(session, "VACUUM")
    if u.tag == "LOCK TABLE" and not session.in_block:
        # every statement takes the locks it needs; LOCK only means something in a block
        raise errors.NoActiveSqlTransaction("LOCK TABLE can only be used in transaction blocks")
    return _result(u.tag)


# --- cursors and SQL-level prepared statements ---------------------------------------------------------

async def _declare(session: Session, u: st.DeclareCursor, stmt: st.Statement) -> Result:
    from aiondb.sql.prepared import Cursor
    if not session.in_block and not u.hold:
        raise errors.NoActiveSqlTransaction("DECLARE CURSOR can only be used in transaction "
                                            "blocks")
    if u.name in session.cursors:
        raise errors.DuplicateCursor(f'cursor "{u.name}" already exists')
    res = await session.execute(u.statement)
    if res.columns is None:
        raise errors.InvalidCursorDefinition("cursor query must be a SELECT")
    session.cursors[u.name] = Cursor(u.name, res.columns, res.rows, 0, u.hold)
    return _result("DECLARE CURSOR")


async def _fetch(session: Session, u: st.FetchStmt, stmt: st.Statement) -> Result:
    cur = session.cursors.get(u.name)
    if cur is None:
        raise errors.InvalidCursorName(f'cursor "{u.name}" does not exist')
    end = len(cur.rows) if u.count is None else min(len(cur.rows), cur.pos + u.count)
    rows = cur.rows[cur.pos:end]
    cur.pos = end
    if u.move:
        return _result(f"MOVE {len(rows)}")
    return _result(f"FETCH {len(rows)}", cur.columns, rows)


async def _close_cursor(session: Session, u: st.CloseCursor, stmt: st.Statement) -> Result:
    if u.name is None:
        session.cursors.clear()
    elif session.cursors.pop(u.name, None) is None:
        raise errors.InvalidCursorName(f'cursor "{u.name}" does not exist')
    return _result("CLOSE CURSOR")


async def _prepare_sql(session: Session, u: st.PrepareStmt, stmt: st.Statement) -> Result:
    from aiondb.sql.binder import type_from_name
    if u.name in session.prepared:
        raise errors.DuplicatePreparedStatement(f'prepared statement "{u.name}" already exists')
    oids = tuple(type_from_name(t).oid for t in u.param_types)
    try:
        session.prepare(u.name, u.statement.text, oids)
    except errors.DatabaseError as exc:
        # an unknown name or a bad literal, positioned in the inner text alone
        # (its syntax was checked with the whole statement)
        if exc.position is not None:
            exc.position += u.statement.offset
        raise
    return _result("PREPARE")


async def _execute_sql(session: Session, u: st.ExecuteStmt, stmt: st.Statement) -> Result:
    ps = session.prepared.get(u.name)
    if ps is None:
        raise errors.InvalidSqlStatementName(f'prepared statement "{u.name}" does not exist')
    params: list[Any] = []
    args_sql = u.args_sql.strip()
    if args_sql:
        values = session.parse(f"SELECT {args_sql[1:-1] if args_sql.startswith('(') else args_sql}")
        res = await session.execute(values[0])
        row = res.rows[0] if res.rows else ()
        from aiondb.sql.casts import cast_function
        ctx = session.const_context()
        for v, c, t in zip(row, res.columns or [], ps.param_types, strict=False):
            target = t if t.oid != T.UNKNOWN.oid else c.type
            params.append(None if v is None else cast_function(c.type, target, False)(v, ctx))
    if len(params) != len(ps.param_types):
        raise errors.SyntaxError(f"wrong number of parameters for prepared statement "
                                 f'"{u.name}"',
                                 detail=f"Expected {len(ps.param_types)} parameters but got "
                                        f"{len(params)}.")
    assert ps.statement is not None
    return await session.execute(ps.statement, params, ps)


# --- EXPLAIN ------------------------------------------------------------------------------------------

async def _explain(session: Session, u: st.Explain, stmt: st.Statement) -> Result:
    from aiondb.sql.explain import explain_lines
    inner = u.statement
    if inner.ast is None:
        raise errors.FeatureNotSupported("EXPLAIN of a utility statement is not supported")
    entry = session.plan(inner, None)
    lines = explain_lines(entry.plan)
    if u.analyze:
        started = time.perf_counter()
        res = await session.run_plan(entry, [])
        ms = (time.perf_counter() - started) * 1000
        lines.append(f"Actual rows: {len(res.rows) if entry.kind == 'query' else res.tag}")
        lines.append(f"Execution Time: {ms:.3f} ms")
    return _result("EXPLAIN", [OutCol("QUERY PLAN", T.TEXT)], [(line,) for line in lines])


async def _ddl(session: Session, u: Any, stmt: st.Statement) -> Result:
    from aiondb.sql import ddl
    try:
        return await session.in_transaction(lambda txn: ddl.execute_ddl(session, txn, u))
    except errors.DatabaseError as exc:
        # the query of CREATE MATERIALIZED VIEW / CREATE VIEW ... WITH (...),
        # parsed on its own at an offset within this statement
        inner = getattr(u, "statement", None) or getattr(u, "query", None)
        if isinstance(inner, st.Statement) and inner.ast is not None:
            errpos.statement_position(exc, inner.ast, stmt.offset + inner.offset, inner.text)
        raise


async def _copy(session: Session, u: st.CopyStmt, stmt: st.Statement) -> Result:
    from aiondb.sql.copy import start_copy
    return await start_copy(session, u)


_HANDLERS: dict[type, Any] = {
    st.Begin: _begin, st.Commit: _commit, st.Rollback: _rollback,
    st.SavepointStmt: _savepoint, st.RollbackTo: _rollback_to, st.Release: _release,
    st.SetVar: _set, st.SetTransaction: _set_transaction, st.ResetVar: _reset,
    st.Show: _show, st.CheckpointStmt: _checkpoint, st.Discard: _discard,
    st.Deallocate: _deallocate, st.CreateDatabase: _create_database,
    st.AlterDatabaseOwner: _alter_database_owner, st.RoleStmt: _role,
    st.DropDatabase: _drop_database, st.BackupTenant: _backup, st.RestoreTenant: _backup,
    st.NoOp: _noop, st.DeclareCursor: _declare, st.FetchStmt: _fetch,
    st.CloseCursor: _close_cursor, st.PrepareStmt: _prepare_sql, st.ExecuteStmt: _execute_sql,
    st.Explain: _explain, st.CopyStmt: _copy, SetConstraints: _set_constraints,
}
for _cls in (D.DropStmt, D.TruncateStmt, D.CreateSchema, D.AlterSchema, D.CreateSequence,
             D.AlterSequence, D.AlterTable, D.CreateMatView, D.RefreshMatView, CommentStmt,
             CreateViewWith):
    _HANDLERS[_cls] = _ddl
