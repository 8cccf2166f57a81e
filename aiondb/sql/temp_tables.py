"""Temporary tables (CREATE TEMP TABLE, CREATE TABLE pg_temp.x): they live
in a per-session schema pg_temp_<pid> that is searched before the
search_path for relations and that `pg_temp` names; other sessions do not
see them by name. ON COMMIT DELETE ROWS empties them at each commit,
ON COMMIT DROP drops them when their transaction commits, and everything
in the schema is dropped when the session ends (or on DISCARD TEMP / ALL).

Schemas left behind by sessions that ended without cleaning up (a crash)
are dropped the next time any session of the tenant creates its own."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiondb.storage.catalog import Catalog, TableDef

if TYPE_CHECKING:
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction

log = logging.getLogger(__name__)
PREFIX = "pg_temp_"


def schema_name(session: Session) -> str:
    return f"{PREFIX}{session.pid}"


def own_schema_oid(session: Session, catalog: Catalog) -> int | None:
    s = catalog.schema(schema_name(session))
    return s.oid if s is not None else None


def is_temp_schema(name: str) -> bool:
    return name == "pg_temp" or name.startswith(PREFIX)


def ensure_schema(session: Session, txn: Transaction, cat: Catalog) -> int:
    """The session's temporary schema (created on first use, in the DDL
    transaction `cat` belongs to)."""
    name = schema_name(session)
    s = cat.schema(name)
    if s is not None:
        return s.oid
    _drop_orphans(session, txn, cat)
    return cat.add_schema(name).oid


def _drop_orphans(session: Session, txn: Transaction, cat: Catalog) -> None:
    live = {pid for pid, s in session.engine.sessions.items() if s.db is session.db}
    live.add(session.pid)
    for name in list(cat.schemas):
        if not name.startswith(PREFIX) or not name[len(PREFIX):].isdigit():
            continue
        if int(name[len(PREFIX):]) not in live:
            _drop_schema_contents(session, txn, cat, name)
            cat.drop_schema(name)


def _drop_schema_contents(session: Session, txn: Transaction, cat: Catalog,
                          name: str) -> None:
    from aiondb.sql.ddl_objects import _drop_relation
    s = cat.schema(name)
    if s is None:
        return
    for rel in list(cat.relations.values()):
        if rel.schema_oid == s.oid and rel.oid in cat.relations and \
                not hasattr(rel, "table_oid"):      # indexes go with their tables
            _drop_relation(session, txn, cat, rel, True)


def on_commit(session: Session, oid: int, action: str) -> None:
    """Remember a temp table's ON COMMIT action ('delete' or 'drop')."""
    session.temp_on_commit[oid] = action


def before_commit(session: Session, txn: Transaction) -> None:
    """ON COMMIT DELETE ROWS / DROP for the committing transaction."""
    actions = session.temp_on_commit
    cat = txn.catalog
    for oid, action in list(actions.items()):
        rel = cat.relations.get(oid)
        if not isinstance(rel, TableDef):
            del actions[oid]
            continue
        if action == "drop":
            from aiondb.sql.ddl_objects import _drop_relation
            _drop_relation(session, txn, txn.begin_ddl(), rel, True)
            del actions[oid]
        elif oid in txn.touched:
            for key, _row in list(txn.scan_items(oid)):
                txn.delete(rel, key)


def after_rollback(session: Session, txn: Transaction | None) -> None:
    """A rolled-back CREATE TEMP TABLE takes its ON COMMIT action with it."""
    if session.temp_on_commit:
        cat = session.db.catalog
        for oid in [o for o in session.temp_on_commit if o not in cat.relations]:
            del session.temp_on_commit[oid]


def drop_all(session: Session, txn: Transaction) -> None:
    """DISCARD TEMP and session end: drop the session's temporary objects."""
    if session.db.catalog.schema(schema_name(session)) is None and (
            txn.catalog.schema(schema_name(session)) is None):
        return
    cat = txn.begin_ddl()
    _drop_schema_contents(session, txn, cat, schema_name(session))
    cat.drop_schema(schema_name(session))
    session.temp_on_commit.clear()


async def cleanup(session: Session) -> None:
    """At session end: drop the temporary schema in a transaction of its own."""
    if session.db.catalog.schema(schema_name(session)) is None:
        return
    try:
        await session.in_transaction(lambda txn: drop_all(session, txn))
        await session.finish_implicit()
    except Exception as exc:       # the session is going away: report, do not raise
        log.warning("could not drop the temporary tables of session %s: %s", session.pid, exc)
        session._rollback()

