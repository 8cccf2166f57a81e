"""How a session resolves names for the binder: relations through
search_path, temporary schemas and the system views, the schema new objects
go into, views' definitions, reg* casts, and each table's per-row rules
(cached per catalog version). Session (session.py) inherits it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiondb import errors
from aiondb import types as T
from aiondb.sql import temp_tables
from aiondb.sql.bind_dml import StatementBinder
from aiondb.sql.plan import Plan
from aiondb.storage.catalog import (
    INFORMATION_SCHEMA_OID,
    PG_CATALOG_OID,
    Catalog,
    Relation,
    ViewDef,
)

if TYPE_CHECKING:
    from aiondb.sql.exec_base import ExecContext


class NameResolutionMixin:
    """Session methods the binder calls to resolve names."""

    engine: Any
    _rules: dict[tuple[int, int], Any]
    search_path: Callable[[], list[str]]     # session_settings.SettingsMixin's

    def resolve_relation(self, catalog: Catalog, schema: str | None,
                         name: str) -> tuple[Relation | None, Any]:
        from aiondb.sql import pg_catalog
        if schema in (None, "pg_catalog"):
            view = pg_catalog.VIEWS.get(name)
            if view is not None:
                return None, view
        if schema == "information_schema":
            view = pg_catalog.INFO_VIEWS.get(name)
            if view is not None:
                return None, view
        if schema == "pg_temp":
            schema = temp_tables.schema_name(self)
        elif schema is None:
            temp = temp_tables.own_schema_oid(self, catalog)
            rel = catalog.lookup(temp, name) if temp is not None else None
            if rel is not None:
                return rel, None
        if schema is not None:
            sdef = catalog.schema(schema)
            if sdef is None:
                if schema.startswith(temp_tables.PREFIX):
                    raise errors.UndefinedTable(f'relation "pg_temp.{name}" does not exist')
                if schema in ("pg_catalog", "information_schema"):
                    raise errors.UndefinedTable(f'relation "{schema}.{name}" does not exist')
                raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')
            rel = catalog.lookup(sdef.oid, name)
            if rel is None:
                raise errors.UndefinedTable(f'relation "{schema}.{name}" does not exist')
            return rel, None
        for sname in self.search_path():
            sdef = catalog.schema(sname)
            if sdef is None:
                continue
            rel = catalog.lookup(sdef.oid, name)
            if rel is not None:
                return rel, None
        raise errors.UndefinedTable(f'relation "{name}" does not exist')

    def creation_schema(self, catalog: Catalog, schema: str | None) -> int:
        if schema is not None:
            if schema == "pg_catalog":
                return PG_CATALOG_OID
            if schema == "information_schema":
                return INFORMATION_SCHEMA_OID
            if schema == "pg_temp":
                schema = temp_tables.schema_name(self)
            sdef = catalog.schema(schema)
            if sdef is None:
                raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')
            return sdef.oid
        for sname in self.search_path():
            sdef = catalog.schema(sname)
            if sdef is not None:
                return sdef.oid
        raise errors.InvalidSchemaName("no schema has been selected to create in")

    def bind_view(self, catalog: Catalog, view: ViewDef, binder: Any) -> Plan:
        from aiondb.sql.scope import Scope
        parsed = self.engine.parse(view.sql)
        if len(parsed) != 1 or parsed[0].ast is None:
            raise errors.DataCorrupted(f'view "{view.name}" has an invalid definition')
        sub = StatementBinder(catalog, self, [])
        plan = sub.bind_query_node(parsed[0].ast, Scope())
        if view.columns:
            for c, vc in zip(plan.columns, view.columns, strict=False):
                c.name = vc.name
        return plan

    def resolve_reg(self, t: T.SqlType, v: Any, ctx: ExecContext) -> Any:
        from aiondb.sql.fn_system import resolve_reg
        return resolve_reg(self, t, v, ctx)

    def rules_for(self, catalog: Catalog) -> Callable[[int], Any]:
        def get(oid: int) -> Any:
            key = (catalog.version, oid)
            r = self._rules.get(key)
            if r is None:
                if len(self._rules) > 256:
                    self._rules.clear()
                r = StatementBinder(catalog, self, []).table_rules(catalog.table(oid))
                self._rules[key] = r
            return r
        return get
