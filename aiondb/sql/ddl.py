"""DDL execution. Runs inside a transaction (DDL is transactional): changes
go to the transaction's private catalog copy; tables whose rows must change
are rebuilt privately and swapped in at COMMIT."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from aiondb import errors
from aiondb.sql import ddl_parse as D
from aiondb.sql.ddl_alter import alter
from aiondb.sql.ddl_comment import CommentStmt, comment
from aiondb.sql.ddl_common import _sql
from aiondb.sql.ddl_matview import create_matview, refresh_matview
from aiondb.sql.ddl_objects import (
    alter_schema,
    alter_sequence,
    create_index,
    create_schema,
    create_sequence,
    create_view,
    drop,
    truncate,
)
from aiondb.sql.ddl_table import create_table
from aiondb.sql.ddl_view_opts import CreateViewWith, create_view_with

if TYPE_CHECKING:
    from aiondb.sql.results import Result
    from aiondb.sql.session import Session
    from aiondb.storage.txn import Transaction


def execute_ddl(session: Session, txn: Transaction, node: Any) -> Result:
    handler = _HANDLERS.get(type(node))
    if handler is None:
        if isinstance(node, exp.Create):
            kind = (node.args.get("kind") or "").upper()
            handler = {"TABLE": create_table, "INDEX": create_index, "VIEW": create_view}.get(
                kind)
            if handler is None:
                raise errors.FeatureNotSupported(f"CREATE {kind} is not supported")
        elif isinstance(node, exp.Drop):
            raise errors.FeatureNotSupported(f"DROP {node.args.get('kind')} is not supported")
        else:
            raise errors.FeatureNotSupported(
                f"statement {type(node).__name__} is not supported: {_sql(node)[:60]}")
    return handler(session, txn, node)


_HANDLERS: dict[type, Any] = {
    D.DropStmt: drop, D.TruncateStmt: truncate, D.CreateSchema: create_schema,
    D.AlterSchema: alter_schema, D.CreateSequence: create_sequence,
    D.AlterSequence: alter_sequence, D.AlterTable: alter,
    D.CreateMatView: create_matview, D.RefreshMatView: refresh_matview,
    CommentStmt: comment, CreateViewWith: create_view_with,
}
