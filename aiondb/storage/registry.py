"""Tenant registry: the one object the server asks for tenants.

`MemoryRegistry` keeps everything in memory (--ephemeral). The durable
registry (storage/durable.py) adds the WAL, checkpoints and recovery behind
the same interface.
"""

from __future__ import annotations

from collections.abc import Callable

from aiondb import errors
from aiondb.storage.database import Database

Progress = Callable[[str], None]

DEFAULT_TENANT = "postgres"


class TenantRegistry:
    """Interface (and in-memory implementation) of the tenant registry."""

    description = "ephemeral (in memory; nothing is written to disk)"

    def __init__(self) -> None:
        self.tenants: dict[str, Database] = {}
        self.unavailable: dict[str, str] = {}  # tenant → why it cannot be opened
        self._next_oid = 16384

    async def open(self, progress: Progress | None = None) -> None:
        """Load or create the tenants (durable: recovery runs here)."""
        if DEFAULT_TENANT not in self.tenants:
            self._add(DEFAULT_TENANT)

    async def close(self) -> None:
        """Stop background work and release files."""

    def _add(self, name: str) -> Database:
        db = Database(name, self._next_oid)
        self._next_oid += 1
        self.tenants[name] = db
        return db

    def get(self, name: str) -> Database:
        db = self.tenants.get(name)
        if db is not None:
            return db
        why = self.unavailable.get(name)
        if why is not None:
            raise errors.CannotConnectNow(f'database "{name}" is unavailable: {why}')
        raise errors.InvalidCatalogName(f'database "{name}" does not exist')

    def names(self) -> list[str]:
        return sorted(self.tenants)

    async def create(self, name: str) -> Database:
        if name in self.tenants or name in self.unavailable:
            raise errors.DuplicateDatabase(f'database "{name}" already exists')
        return self._add(name)

    async def drop(self, name: str) -> None:
        if name not in self.tenants:
            raise errors.InvalidCatalogName(f'database "{name}" does not exist')
        del self.tenants[name]

    async def checkpoint(self, name: str | None = None, progress: Progress | None = None) -> None:
        """CHECKPOINT: nothing to do in memory."""
