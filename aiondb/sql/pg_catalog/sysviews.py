"""pg_catalog's convenience and statistics views (pg_tables, pg_indexes,
pg_settings, pg_stat_activity, ...) and the catalogs that exist so queries
bind but hold no rows in AionDB (no inheritance, policies, publications...)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from aiondb.sql.pg_catalog.registry import empty, reg_value, relation, schema_name
from aiondb.storage.catalog import BOOTSTRAP_ROLE_OID, Catalog, IndexDef, MatViewDef, ViewDef

empty("pg_default_acl", "pg_shdepend", "pg_foreign_server", "pg_user_mapping",
      "pg_foreign_data_wrapper", "pg_aggregate", "pg_amop", "pg_amproc", "pg_cast",
      "pg_conversion", "pg_inherits", "pg_largeobject", "pg_opclass", "pg_operator",
      "pg_statistic", "pg_opfamily", "pg_db_role_setting", "pg_largeobject_metadata",
      "pg_foreign_table", "pg_policy", "pg_partitioned_table", "pg_statistic_ext",
      "pg_statistic_ext_data", "pg_event_trigger", "pg_enum", "pg_range",
      "pg_transform", "pg_shseclabel", "pg_seclabel", "pg_ts_dict", "pg_ts_parser",
      "pg_ts_config", "pg_ts_config_map", "pg_ts_template", "pg_replication_origin",
      "pg_subscription", "pg_subscription_rel", "pg_publication", "pg_publication_rel",
      "pg_publication_namespace", "pg_parameter_acl", "pg_auth_members", "pg_group",
      "pg_policies", "pg_rules", "pg_stats", "pg_locks", "pg_cursors",
      "pg_available_extension_versions", "pg_prepared_xacts", "pg_timezone_abbrevs",
      "pg_stat_replication", "pg_replication_slots", "pg_stat_user_functions",
      "pg_user_mappings", "pg_seclabels", "pg_publication_tables", "pg_stats_ext",
      "pg_statio_user_sequences")


@relation("pg_tables")
def _pg_tables(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.relations import has_triggers
    cat: Catalog = ctx.catalog
    for t in cat.tables():
        if isinstance(t, MatViewDef):
            continue
        yield (schema_name(cat, t.schema_oid), t.name, ctx.session.user, None,
               bool(cat.indexes_of(t.oid)), False, has_triggers(cat, t.oid), False)


@relation("pg_matviews")
def _pg_matviews(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.functions import view_definition
    cat: Catalog = ctx.catalog
    for m in cat.tables():
        if isinstance(m, MatViewDef):
            yield (schema_name(cat, m.schema_oid), m.name, ctx.session.user, None,
                   bool(cat.indexes_of(m.oid)), m.populated, view_definition(ctx, m, False))


@relation("pg_views")
def _pg_views(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.functions import view_definition
    cat: Catalog = ctx.catalog
    for v in cat.relations.values():
        if isinstance(v, ViewDef):
            yield (schema_name(cat, v.schema_oid), v.name, ctx.session.user,
                   view_definition(ctx, v, False))


@relation("pg_indexes")
def _pg_indexes(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql.pg_catalog.functions import index_definition
    cat: Catalog = ctx.catalog
    for i in cat.relations.values():
        if isinstance(i, IndexDef):
            t = cat.relations.get(i.table_oid)
            yield (schema_name(cat, i.schema_oid), t.name if t else "?", i.name, None,
                   index_definition(cat, i))


@relation("pg_sequences")
def _pg_sequences(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    for s in cat.sequences():
        state = ctx.db.seq_values.get(s.oid) if ctx.db is not None else None
        last = state[0] if state and state[1] else None
        yield (schema_name(cat, s.schema_oid), s.name, ctx.session.user,
               reg_value(s.type.oid, s.type.sql_name()), s.start, s.min_value, s.max_value,
               s.increment, s.cycle, s.cache, last)


# --- settings ----------------------------------------------------------------------------------------

# PostgreSQL leaves these out of pg_settings (GUC_NO_SHOW_ALL), and has no
# default_with_oids since version 12
_HIDDEN_SETTINGS = frozenset(("is_superuser", "session_authorization", "default_with_oids"))


def _setting_info(name: str) -> tuple[str | None, str, str, str]:
    from aiondb.sql.pg_catalog.settings_info import CATEGORIES, SETTINGS
    info = SETTINGS.get(name)
    if info is None:
        return None, "user", "string", "Customized Options"
    unit, context, vartype, cat = info.split("|")
    return unit or None, context, vartype, CATEGORIES[int(cat)]


@relation("pg_settings")
def _pg_settings(ctx: Any) -> Iterator[tuple]:
    from aiondb.sql import settings as S
    for s in sorted(S.SETTINGS.values(), key=lambda s: (s.display or s.name).lower()):
        if s.name in _HIDDEN_SETTINGS:
            continue
        v = ctx.session.values.get(s.name, s.default)
        unit, context, vartype, category = _setting_info(s.name)
        if not s.settable and context in ("user", "superuser"):
            context = "internal"
        # values fixed at startup (session_authorization...) count as defaults
        source = "default" if v == s.default or not s.settable else "session"
        yield (s.display or s.name, v, unit, category, None, None, context, vartype, source,
               None, None, None, s.default, s.default, None, None, False)


# --- activity and statistics ----------------------------------------------------------------------------

@relation("pg_stat_activity")
def _pg_stat_activity(ctx: Any) -> Iterator[tuple]:
    for s in list(ctx.session.engine.sessions.values()):
        state = "active" if s is ctx.session or s.running else (
            "idle in transaction" if s.in_block else "idle")
        yield (s.db.oid, s.db.name, s.pid, None, BOOTSTRAP_ROLE_OID, s.user,
               s.values.get("application_name", ""), "127.0.0.1", None, None,
               s.engine.started_at, s.txn_started_at if s.txn is not None else None,
               s.stmt_started_at, s.stmt_started_at, None, None, state, None, None, None,
               s.current_query, "client backend")


def _table_stats(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    for t in cat.tables():
        td = ctx.db.tables.get(t.oid) if ctx.db is not None else None
        live = len(td.rows) if td is not None else 0
        yield (t.oid, schema_name(cat, t.schema_oid), t.name, 0, 0, None, None, 0, 0, 0, 0,
               live, 0, 0, 0, None, None, None, None, 0, 0, 0, 0)


relation("pg_stat_user_tables")(_table_stats)
relation("pg_stat_all_tables")(_table_stats)
empty("pg_stat_sys_tables")


def _index_stats(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    for i in cat.relations.values():
        if isinstance(i, IndexDef):
            t = cat.relations.get(i.table_oid)
            yield (i.table_oid, i.oid, schema_name(cat, i.schema_oid), t.name if t else "?",
                   i.name, 0, 0, 0)


relation("pg_stat_user_indexes")(_index_stats)
relation("pg_stat_all_indexes")(_index_stats)


@relation("pg_statio_user_tables")
def _statio_tables(ctx: Any) -> Iterator[tuple]:
    cat: Catalog = ctx.catalog
    for t in cat.tables():
        yield (t.oid, schema_name(cat, t.schema_oid), t.name, 0, 0, 0, 0, 0, 0, 0, 0)


relation("pg_statio_all_tables")(_statio_tables)


@relation("pg_statio_user_indexes")
def _statio_indexes(ctx: Any) -> Iterator[tuple]:
    for row in _index_stats(ctx):
        yield row[:5] + (0, 0)


@relation("pg_stat_database")
def _pg_stat_database(ctx: Any) -> Iterator[dict[str, Any]]:
    reg = ctx.session.engine.registry
    for name in reg.names():
        db = reg.tenants.get(name)
        yield {"datid": db.oid if db is not None else 0, "datname": name,
               "numbackends": sum(1 for s in ctx.session.engine.sessions.values()
                                  if s.db.name == name)}


def _stores(ctx: Any) -> list[Any]:
    """The durable tenants' stores (none on an ephemeral server)."""
    return list(getattr(ctx.session.engine.registry, "stores", {}).values())


@relation("pg_stat_bgwriter")
def _pg_stat_bgwriter(ctx: Any) -> list[dict[str, Any]]:
    """Checkpoint counters of all tenants since the server started; the
    buffer columns are PostgreSQL's shared-buffer figures, which we have
    not (checkpoint bytes are counted as 8 kB pages)."""
    stats = [st.stats for st in _stores(ctx)]
    zero = {"buffers_clean": 0, "maxwritten_clean": 0, "buffers_backend": 0,
            "buffers_backend_fsync": 0, "buffers_alloc": 0}
    return [{"checkpoints_timed": sum(s.timed for s in stats),
             "checkpoints_req": sum(s.requested for s in stats),
             "checkpoint_write_time": float(sum(s.write_ms for s in stats)),
             "checkpoint_sync_time": 0.0,
             "buffers_checkpoint": sum(s.bytes for s in stats) // 8192,
             "stats_reset": ctx.session.engine.started_at, **zero}]


@relation("pg_stat_wal")
def _pg_stat_wal(ctx: Any) -> list[dict[str, Any]]:
    """WAL activity of all tenants since the server started: records and
    bytes appended, and flushes (each one write and one fdatasync)."""
    wals = [st.wal for st in _stores(ctx)]
    flushes = sum(w.flushes for w in wals)
    return [{"wal_records": sum(w.commits for w in wals), "wal_fpi": 0,
             "wal_bytes": Decimal(sum(w.appended_bytes for w in wals)),
             "wal_buffers_full": 0, "wal_write": flushes, "wal_sync": flushes,
             "wal_write_time": 0.0, "wal_sync_time": 0.0,
             "stats_reset": ctx.session.engine.started_at}]


@relation("pg_prepared_statements")
def _pg_prepared_statements(ctx: Any) -> Iterator[dict[str, Any]]:
    for name, stmt in getattr(ctx.session, "prepared", {}).items():
        yield {"name": name, "statement": getattr(stmt, "sql", None), "from_sql": False,
               "generic_plans": 0, "custom_plans": 0}


@relation("pg_timezone_names")
def _pg_timezone_names(ctx: Any) -> Iterator[tuple]:
    import zoneinfo
    for name in sorted(zoneinfo.available_timezones()):
        yield (name, None, None, False)
