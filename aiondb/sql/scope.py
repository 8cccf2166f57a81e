"""Name scopes for the binder: which columns a query level can see, where
they sit in the row, and correlation to enclosing query levels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql.expr import Col, Const, Expr, OuterRef


@dataclass
class ScopeEntry:
    """One FROM item: an alias with its columns at row[offset:offset+len]."""

    alias: str
    names: list[str]
    types: list[T.SqlType]
    offset: int
    table_oid: int = 0
    attnums: list[int] = field(default_factory=list)
    schema: str | None = None
    table: Any = None          # TableDef for base tables
    key_offset: int | None = None   # row key position when scanned with keys

    def column(self, name: str) -> int | None:
        try:
            return self.names.index(name)
        except ValueError:
            return None


class Scope:
    """A query level. `owns_frame`: the level runs with its own correlation
    frame (subqueries in expressions, LATERAL items); a derived table in FROM
    does not, and (unless LATERAL) cannot see its siblings: `sees_parent_local`
    False makes it skip the enclosing level's own FROM items."""

    def __init__(self, parent: Scope | None = None, owns_frame: bool = True,
                 sees_parent_local: bool = True) -> None:
        self.entries: list[ScopeEntry] = []
        self.parent = parent
        self.owns_frame = owns_frame
        self.sees_parent_local = sees_parent_local
        self.corr: list[Expr] = []            # correlation values, in the parent's terms
        self.using: dict[str, Expr] = {}      # merged JOIN ... USING columns
        self.width = 0
        self.aliases: dict[str, Expr] = {}    # select-list aliases (GROUP BY / ORDER BY)
        # what `SELECT *` expands to when joins merge columns (USING, NATURAL):
        # (name, expression) pairs in PostgreSQL's order; None = every entry's columns
        self.star: list[tuple[str, Expr]] | None = None

    def add(self, entry: ScopeEntry) -> None:
        for e in self.entries:
            if e.alias == entry.alias and entry.alias and e.schema == entry.schema:
                raise errors.DuplicateAlias(
                    f'table name "{entry.alias}" specified more than once')
        self.entries.append(entry)
        self.width = max(self.width, entry.offset + len(entry.names) +
                         (1 if entry.key_offset is not None else 0))

    def find_entry(self, alias: str, schema: str | None = None) -> ScopeEntry | None:
        for e in self.entries:
            if e.alias == alias and (schema is None or e.schema in (schema, None)):
                return e
        return None

    def lookup_local(self, table: str | None, name: str,
                     schema: str | None = None) -> Expr | None:
        if table is not None:
            e = self.find_entry(table, schema)
            if e is None:
                return None
            i = e.column(name)
            if i is None:
                if name == "tableoid" and e.table_oid:   # PostgreSQL's system column
                    return Const(e.table_oid, T.OID)
                raise errors.UndefinedColumn(f'column {table}.{name} does not exist')
            return Col(e.offset + i, e.types[i], name)
        if name in self.using:
            return self.using[name]
        found: Expr | None = None
        for e in self.entries:
            i = e.column(name)
            if i is not None:
                if found is not None:
                    raise errors.AmbiguousColumn(f'column reference "{name}" is ambiguous')
                found = Col(e.offset + i, e.types[i], name)
        if found is None and name == "tableoid":
            owners = [e for e in self.entries if e.table_oid]
            if len(owners) == 1:
                return Const(owners[0].table_oid, T.OID)
        return found

    def has_table(self, table: str) -> bool:
        s: Scope | None = self
        while s is not None:
            if s.find_entry(table) is not None:
                return True
            s = s.parent
        return False

    def frame_owner(self) -> Scope:
        """The level whose correlation frame this level's OuterRefs read."""
        s = self
        while not s.owns_frame and s.parent is not None:
            s = s.parent
        return s

    def resolve(self, table: str | None, name: str, schema: str | None = None) -> Expr:
        e = self.resolve_or_none(table, name, schema)
        if e is not None:
            return e
        if table is not None:
            if self.has_table(table):
                raise errors.UndefinedColumn(f"column {table}.{name} does not exist")
            raise errors.UndefinedTable(
                f'missing FROM-clause entry for table "{table}"')
        raise errors.UndefinedColumn(f'column "{name}" does not exist')

    def resolve_or_none(self, table: str | None, name: str,
                        schema: str | None = None) -> Expr | None:
        e = self.lookup_local(table, name, schema)
        if e is not None:
            return e
        return self._from_parent(table, name, schema)

    def _from_parent(self, table: str | None, name: str, schema: str | None) -> Expr | None:
        p = self.parent
        if p is None:
            return None
        if self.sees_parent_local:
            outer = p.resolve_or_none(table, name, schema)
        else:
            outer = p._from_parent(table, name, schema)
        if outer is None:
            return None
        return self.correlate(outer) if self.owns_frame else outer

    def correlate(self, outer: Expr) -> OuterRef:
        """Register an enclosing level's expression as a correlation value."""
        for i, c in enumerate(self.corr):
            if c == outer:
                return OuterRef(i, outer.type)
        self.corr.append(outer)
        return OuterRef(len(self.corr) - 1, outer.type)
