"""pg_catalog and information_schema: system relations computed from the
tenant's catalog when a query scans them, with PostgreSQL 15's column lists
and types (clients, psql above all, read catalog rows by position), and the
catalog functions that print definitions the way PostgreSQL does.

Modules: layout (column lists), registry (VIEWS / INFO_VIEWS / SYSTEM_OIDS),
relations, pg_type, shared, sysviews, info_schema (the relations), functions
(pg_get_*def and friends), exprtree / analyze / deparse / viewdef (printing
stored SQL text as PostgreSQL's ruleutils.c prints analysed expressions)."""

from __future__ import annotations

from aiondb.sql.pg_catalog import (  # noqa: F401  (each module registers its relations)
    functions,
    info_schema,
    pg_type,
    relations,
    shared,
    sysviews,
)
from aiondb.sql.pg_catalog.registry import INFO_VIEWS, SYSTEM_OIDS, VIEWS, SystemView

__all__ = ["INFO_VIEWS", "SYSTEM_OIDS", "VIEWS", "SystemView"]
