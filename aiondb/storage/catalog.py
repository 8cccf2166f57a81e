"""Catalog of one tenant: schemas, tables, views, indexes, constraints, sequences.

Definitions are frozen values; a change replaces a definition (dataclasses.
replace). A transaction doing DDL works on its own copy (`Catalog.copy`) and
COMMIT swaps it in, so DDL is transactional and readers never see half of it.
`to_dict`/`from_dict` give the form written to the WAL and checkpoints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aiondb import errors
from aiondb import types as T

FIRST_USER_OID = 16384
PG_CATALOG_OID = 11
PUBLIC_OID = 2200
INFORMATION_SCHEMA_OID = 13000
BOOTSTRAP_ROLE_OID = 10


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: T.SqlType
    attnum: int
    not_null: bool = False
    default: str | None = None   # SQL expression text, bound by the sql layer
    identity: str = ""           # '' | 'a' (ALWAYS) | 'd' (BY DEFAULT)
    generated: str = ""          # '' | 's' (GENERATED ALWAYS AS (...) STORED)
    sequence_oid: int = 0        # identity / serial sequence


@dataclass(frozen=True)
class IndexDef:
    oid: int
    name: str
    schema_oid: int
    table_oid: int
    attnums: tuple[int, ...]
    unique: bool = False
    primary: bool = False
    method: str = "btree"
    opclass: str = ""            # e.g. vector_l2_ops
    options: tuple[tuple[str, str], ...] = ()
    descending: tuple[bool, ...] = ()
    # expression keys: attnums holds 0 for each, and exprs their SQL text in
    # order (PostgreSQL's indkey / indexprs); predicate: a partial index's WHERE
    exprs: tuple[str, ...] = ()
    predicate: str | None = None

    kind = "i"


@dataclass(frozen=True)
class ConstraintDef:
    oid: int
    name: str
    kind: str                    # 'p' primary, 'u' unique, 'c' check, 'f' foreign key
    table_oid: int
    attnums: tuple[int, ...] = ()
    expr: str | None = None      # CHECK expression text
    index_oid: int = 0           # backing index for p/u
    ref_table_oid: int = 0       # foreign key target
    ref_attnums: tuple[int, ...] = ()
    on_delete: str = "a"         # a no action, r restrict, c cascade, n set null, d default
    on_update: str = "a"
    deferrable: bool = False
    initially_deferred: bool = False
    # ADD ... NOT VALID: existing rows were not checked (VALIDATE CONSTRAINT does)
    validated: bool = True


@dataclass(frozen=True)
class TableDef:
    oid: int
    name: str
    schema_oid: int
    columns: tuple[ColumnDef, ...]
    pk: tuple[int, ...] = ()     # attnums of the primary key, () if none
    engine: str = "heap"         # heap | kv | graph | timeseries ...
    options: tuple[tuple[str, str], ...] = ()
    next_attnum: int = 0

    kind = "r"

    def column(self, name: str) -> ColumnDef | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def position(self, attnum: int) -> int:
        for i, c in enumerate(self.columns):
            if c.attnum == attnum:
                return i
        raise KeyError(attnum)

    def positions(self, attnums: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.position(a) for a in attnums)

    @property
    def pk_positions(self) -> tuple[int, ...]:
        return self.positions(self.pk)


@dataclass(frozen=True)
class MatViewDef(TableDef):
    """A materialized view: a table whose rows are its query's, as of the last
    REFRESH (none at all while not populated)."""

    sql: str = ""
    populated: bool = True
    depends: tuple[int, ...] = ()    # relations the query reads

    kind = "m"


@dataclass(frozen=True)
class ViewDef:
    oid: int
    name: str
    schema_oid: int
    sql: str
    columns: tuple[ColumnDef, ...] = ()
    depends: tuple[int, ...] = ()    # relations the view reads
    options: tuple[tuple[str, str], ...] = ()   # WITH (security_barrier, check_option)

    kind = "v"


@dataclass(frozen=True)
class SequenceDef:
    oid: int
    name: str
    schema_oid: int
    type: T.SqlType = T.INT8
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    cycle: bool = False
    cache: int = 1
    owned_by: tuple[int, int] = (0, 0)   # (table oid, attnum)

    kind = "S"


@dataclass(frozen=True)
class SchemaDef:
    oid: int
    name: str
    owner: int = BOOTSTRAP_ROLE_OID


Relation = TableDef | ViewDef | IndexDef | SequenceDef


@dataclass
class Catalog:
    """All definitions of one tenant. Mutated only through the methods below,
    on a copy owned by a DDL transaction."""

    version: int = 0
    next_oid: int = FIRST_USER_OID
    schemas: dict[str, SchemaDef] = field(default_factory=dict)
    relations: dict[int, Relation] = field(default_factory=dict)
    names: dict[tuple[int, str], int] = field(default_factory=dict)
    constraints: dict[int, ConstraintDef] = field(default_factory=dict)
    # COMMENT ON: (object oid, column attnum or 0) -> text. OIDs are unique
    # across schemas, relations and constraints, so the oid names the object
    comments: dict[tuple[int, int], str] = field(default_factory=dict)
    # derived lookups (indexes of a table, ...), cleared by every change; the
    # per-row write path asks for them, and a scan of all relations each time
    # would grow with the schema
    _memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def bootstrap(cls) -> Catalog:
        cat = cls()
        cat.schemas["public"] = SchemaDef(PUBLIC_OID, "public")
        return cat

    def copy(self) -> Catalog:
        return Catalog(self.version, self.next_oid, dict(self.schemas), dict(self.relations),
                       dict(self.names), dict(self.constraints), dict(self.comments))

    def allocate_oid(self) -> int:
        oid = self.next_oid
        self.next_oid += 1
        return oid

    # --- lookups -------------------------------------------------------------------
    def schema(self, name: str) -> SchemaDef | None:
        return self.schemas.get(name)

    def schema_by_oid(self, oid: int) -> SchemaDef | None:
        for s in self.schemas.values():
            if s.oid == oid:
                return s
        return None

    def lookup(self, schema_oid: int, name: str) -> Relation | None:
        oid = self.names.get((schema_oid, name))
        return None if oid is None else self.relations[oid]

    def table(self, oid: int) -> TableDef:
        rel = self.relations[oid]
        assert isinstance(rel, TableDef)
        return rel

    def _memoized(self, key: Any, make: Any) -> Any:
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = make()
        return list(v)

    def unique_secondary_indexes(self, table_oid: int) -> tuple[IndexDef, ...]:
        """Unique indexes other than the primary key (checked on every write)."""
        key = ("unique2", table_oid)
        v = self._memo.get(key)
        if v is None:
            v = self._memo[key] = tuple(i for i in self.indexes_of(table_oid)
                                        if i.unique and not i.primary)
        return v

    def tables(self) -> list[TableDef]:
        return self._memoized("tables", lambda: [
            r for r in self.relations.values() if isinstance(r, TableDef)])

    def _grouped(self, key: str, make: Any) -> dict[int, list[Any]]:
        """One pass over the catalog grouping objects by table: asking for
        every table's indexes (a DDL commit does) stays linear in the schema."""
        groups = self._memo.get(key)
        if groups is None:
            groups = self._memo[key] = {}
            for table_oid, obj in make():
                groups.setdefault(table_oid, []).append(obj)
        return groups

    def indexes_of(self, table_oid: int) -> list[IndexDef]:
        groups = self._grouped("idx_by_table", lambda: (
            (r.table_oid, r) for r in self.relations.values() if isinstance(r, IndexDef)))
        return list(groups.get(table_oid, ()))

    def constraints_of(self, table_oid: int) -> list[ConstraintDef]:
        groups = self._grouped("con_by_table", lambda: (
            (c.table_oid, c) for c in self.constraints.values()))
        return list(groups.get(table_oid, ()))

    def referencing(self, table_oid: int) -> list[ConstraintDef]:
        """Foreign keys that point at this table."""
        groups = self._grouped("ref_by_table", lambda: (
            (c.ref_table_oid, c) for c in self.constraints.values() if c.kind == "f"))
        return list(groups.get(table_oid, ()))

    def sequences(self) -> list[SequenceDef]:
        return self._memoized("seqs", lambda: [
            r for r in self.relations.values() if isinstance(r, SequenceDef)])

    # --- changes -----------------------------------------------------------------
    def add_schema(self, name: str) -> SchemaDef:
        self._memo.clear()
        if name in self.schemas:
            raise errors.DuplicateSchema(f'schema "{name}" already exists')
        s = SchemaDef(self.allocate_oid(), name)
        self.schemas[name] = s
        return s

    def rename_schema(self, name: str, new_name: str) -> None:
        self._memo.clear()
        s = self.schemas.pop(name)
        self.schemas[new_name] = replace(s, name=new_name)

    def drop_schema(self, name: str) -> None:
        self._memo.clear()
        self._drop_comments(self.schemas.pop(name).oid)

    def add_relation(self, rel: Relation) -> None:
        self._memo.clear()
        key = (rel.schema_oid, rel.name)
        if key in self.names:
            raise errors.DuplicateTable(f'relation "{rel.name}" already exists')
        self.relations[rel.oid] = rel
        self.names[key] = rel.oid

    def replace_relation(self, rel: Relation) -> None:
        self._memo.clear()
        old = self.relations[rel.oid]
        if (old.schema_oid, old.name) != (rel.schema_oid, rel.name):
            key = (rel.schema_oid, rel.name)
            if key in self.names:
                raise errors.DuplicateTable(f'relation "{rel.name}" already exists')
            del self.names[(old.schema_oid, old.name)]
            self.names[key] = rel.oid
        self.relations[rel.oid] = rel
        cols = getattr(rel, "columns", None)
        if cols is not None and self.comments:
            # a dropped column's comment goes with it
            live = {c.attnum for c in cols}
            for key in [k for k in self.comments if k[0] == rel.oid and k[1] and
                        k[1] not in live]:
                del self.comments[key]

    def drop_relation(self, oid: int) -> None:
        self._memo.clear()
        rel = self.relations.pop(oid)
        del self.names[(rel.schema_oid, rel.name)]
        self._drop_comments(oid)
        for con in [c for c in self.constraints.values() if c.table_oid == oid]:
            del self.constraints[con.oid]
            self._drop_comments(con.oid)

    def add_constraint(self, con: ConstraintDef) -> None:
        self._memo.clear()
        for other in self.constraints.values():
            if other.table_oid == con.table_oid and other.name == con.name:
                raise errors.DuplicateObject(
                    f'constraint "{con.name}" for relation '
                    f'"{self.relations[con.table_oid].name}" already exists')
        self.constraints[con.oid] = con

    def drop_constraint(self, oid: int) -> None:
        self._memo.clear()
        del self.constraints[oid]
        self._drop_comments(oid)

    def set_comment(self, oid: int, subid: int, text: str | None) -> None:
        """COMMENT ON ... IS text; None (or '') removes the comment."""
        if text:
            self.comments[(oid, subid)] = text
        else:
            self.comments.pop((oid, subid), None)

    def _drop_comments(self, oid: int) -> None:
        if self.comments:
            for key in [k for k in self.comments if k[0] == oid]:
                del self.comments[key]

    def replace_constraint(self, con: ConstraintDef) -> None:
        self._memo.clear()
        self.constraints[con.oid] = con

    # --- serialization (WAL and checkpoint form) ---------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "next_oid": self.next_oid,
            "schemas": [asdict(s) for s in self.schemas.values()],
            "relations": [_rel_to_dict(r) for r in self.relations.values()],
            "constraints": [asdict(c) for c in self.constraints.values()],
            "comments": [[oid, sub, text] for (oid, sub), text in self.comments.items()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Catalog:
        cat = cls(version=d["version"], next_oid=d["next_oid"])
        for s in d["schemas"]:
            cat.schemas[s["name"]] = SchemaDef(**s)
        for r in d["relations"]:
            rel = _rel_from_dict(r)
            cat.relations[rel.oid] = rel
            cat.names[(rel.schema_oid, rel.name)] = rel.oid
        for c in d["constraints"]:
            c = dict(c)
            for k in ("attnums", "ref_attnums"):
                c[k] = tuple(c[k])
            cat.constraints[c["oid"]] = ConstraintDef(**c)
        for oid, sub, text in d.get("comments", ()):   # absent before COMMENT ON existed
            cat.comments[(oid, sub)] = text
        return cat


def _type_to_list(t: T.SqlType) -> list[int]:
    return [t.oid, t.typmod]


def _type_from_list(v: list[int]) -> T.SqlType:
    base = T.BY_OID.get(v[0])
    if base is None:
        raise errors.DataCorrupted(f"catalog names unknown type OID {v[0]}")
    return base if v[1] == -1 else base.with_typmod(v[1])


def _col_to_dict(c: ColumnDef) -> dict[str, Any]:
    d = asdict(c)
    d["type"] = _type_to_list(c.type)
    return d


def _col_from_dict(d: dict[str, Any]) -> ColumnDef:
    d = dict(d)
    d["type"] = _type_from_list(d["type"])
    return ColumnDef(**d)


def _rel_to_dict(r: Relation) -> dict[str, Any]:
    if isinstance(r, TableDef):
        d = asdict(r)
        d["columns"] = [_col_to_dict(c) for c in r.columns]
        d["kind"] = r.kind      # 'r', or 'm' for a materialized view
    elif isinstance(r, ViewDef):
        d = asdict(r)
        d["columns"] = [_col_to_dict(c) for c in r.columns]
        d["kind"] = "v"
    elif isinstance(r, SequenceDef):
        d = asdict(r)
        d["type"] = _type_to_list(r.type)
        d["kind"] = "S"
    else:
        d = asdict(r)
        d["kind"] = "i"
    return d


def _tuples(d: dict[str, Any], *keys: str) -> None:
    for k in keys:
        if k in d:
            d[k] = tuple(tuple(x) if isinstance(x, list) else x for x in d[k])


def _rel_from_dict(d: dict[str, Any]) -> Relation:
    d = dict(d)
    kind = d.pop("kind")
    if kind in ("r", "m"):
        d["columns"] = tuple(_col_from_dict(c) for c in d["columns"])
        _tuples(d, "pk", "options")
        if kind == "m":
            d["depends"] = tuple(d.get("depends", ()))
            return MatViewDef(**d)
        return TableDef(**d)
    if kind == "v":
        d["columns"] = tuple(_col_from_dict(c) for c in d["columns"])
        d["depends"] = tuple(d.get("depends", ()))
        _tuples(d, "options")
        return ViewDef(**d)
    if kind == "S":
        d["type"] = _type_from_list(d["type"])
        d["owned_by"] = tuple(d["owned_by"])
        return SequenceDef(**d)
    _tuples(d, "attnums", "options", "descending", "exprs")
    return IndexDef(**d)


__all__ = ["Catalog", "ColumnDef", "ConstraintDef", "IndexDef", "MatViewDef", "SchemaDef",
           "SequenceDef",
           "TableDef", "ViewDef", "Relation", "replace"]
