"""The utility statements AionDB parses by hand (transaction control, SET/SHOW,
COPY, EXPLAIN, PREPARE/EXECUTE, cursors, tenant databases ...): plain records
the session and utility executor dispatch on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp


@dataclass(frozen=True)
class Begin:
    isolation: str | None = None
    read_only: bool | None = None


@dataclass(frozen=True)
class Commit:
    chain: bool = False


@dataclass(frozen=True)
class Rollback:
    chain: bool = False


@dataclass(frozen=True)
class SavepointStmt:
    name: str


@dataclass(frozen=True)
class RollbackTo:
    name: str


@dataclass(frozen=True)
class Release:
    name: str


@dataclass(frozen=True)
class SetVar:
    name: str
    value: str | None      # None = DEFAULT
    local: bool = False


@dataclass(frozen=True)
class SetTransaction:
    isolation: str | None
    read_only: bool | None
    session: bool = False  # SET SESSION CHARACTERISTICS AS TRANSACTION
    snapshot: str | None = None     # SET TRANSACTION SNAPSHOT 'id'


@dataclass(frozen=True)
class ResetVar:
    name: str  # 'all' for RESET ALL


@dataclass(frozen=True)
class Show:
    name: str


@dataclass(frozen=True)
class CheckpointStmt:
    pass


@dataclass(frozen=True)
class Discard:
    what: str  # all, plans, sequences, temp


@dataclass(frozen=True)
class Deallocate:
    name: str | None  # None = ALL


@dataclass(frozen=True)
class CreateDatabase:
    name: str
    if_not_exists: bool = False


@dataclass(frozen=True)
class RoleStmt:
    """CREATE / ALTER ROLE (or USER): AionDB has one role, so only what
    leaves it as it is is accepted (what pg_dumpall writes for it)."""
    verb: str                   # "CREATE" | "ALTER"
    kind: str                   # "ROLE" | "USER"
    name: str
    options: tuple[str, ...]    # the tokens after the name, as written


@dataclass(frozen=True)
class AlterDatabaseOwner:
    name: str
    owner: str


@dataclass(frozen=True)
class DropDatabase:
    name: str
    if_exists: bool = False
    force: bool = False       # WITH (FORCE): end the other sessions first


@dataclass(frozen=True)
class BackupTenant:
    tenant: str
    path: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestoreTenant:
    tenant: str
    path: str
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NoOp:
    tag: str


@dataclass(frozen=True)
class Explain:
    analyze: bool
    verbose: bool
    costs: bool
    statement: Statement


@dataclass(frozen=True)
class CopyStmt:
    table: tuple[str, ...] | None        # (schema, name) or (name,)
    columns: tuple[str, ...] | None
    query: Statement | None              # COPY (query) TO STDOUT
    direction: str                       # 'from' | 'to'
    target: str                          # 'stdin' | 'stdout' | a file path
    options: dict[str, Any] = field(default_factory=dict)
    where: str | None = None             # COPY FROM ... WHERE condition (SQL text)


@dataclass(frozen=True)
class PrepareStmt:
    name: str
    param_types: tuple[str, ...]
    statement: Statement


@dataclass(frozen=True)
class ExecuteStmt:
    name: str
    args_sql: str  # "(1, 'a')" parsed as a VALUES row by the session


@dataclass(frozen=True)
class DeclareCursor:
    name: str
    statement: Statement
    hold: bool = False


@dataclass(frozen=True)
class FetchStmt:
    name: str
    count: int | None     # None = ALL
    move: bool = False
    direction: str = "forward"


@dataclass(frozen=True)
class CloseCursor:
    name: str | None  # None = ALL


@dataclass
class Statement:
    """One statement of a query string."""

    text: str                   # this statement's text
    offset: int                 # where it starts in the query string (0-based)
    ast: exp.Expr | None = None
    utility: Any = None
    first_word: str = ""
    # literal normalization (normalize.py): the template's literal values and
    # their types, and the identity plans are cached under (shared by all texts
    # with the same template)
    params: list[Any] | None = None
    param_types: list[Any] | None = None
    plan_key: int = 0

    @property
    def is_utility(self) -> bool:
        return self.utility is not None

    def error_position(self, local: int) -> int:
        return self.offset + local + 1
