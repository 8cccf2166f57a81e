"""Data-directory layout and metadata.

    D/FORMAT                 format manifest (JSON): storage format version,
                             encryption mode, master key fingerprint
    D/cluster                tenants (oid, directory, key id, wrapped data
                             key), next oid, bootstrap role; authenticated
                             with a key derived from the master key
                             (unencrypted mode: CRC-32C)
    D/LOCK                   flock'ed by the running server
    D/tenants/<oid>/manifest tenant name, oid, key id, latest checkpoint
    D/tenants/<oid>/wal/     WAL segments (walformat.py)
    D/tenants/<oid>/checkpoints/ckpt-<LSN>/   (checkpoint.py)
    D/tenants/<oid>/quarantine/  damaged files moved aside; with
    D/tenants/<oid>/QUARANTINED  the reason, the tenant refuses to start

Every metadata write is write-temp + fsync + rename + fsync-dir. Opening
checks the format version and the key before writing anything.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from aiondb import errors
from aiondb.recovery import crypto
from aiondb.recovery.crypto import MasterKeyError, PlainSealer, Sealer
from aiondb.recovery.fs import TEMP_SUFFIX, FileSystem
from aiondb.recovery.walformat import crc32c

FORMAT_VERSION = 1
FORMAT_NAME = "aiondb-data-directory"
FORMAT_FILE = "FORMAT"
CLUSTER_FILE = "cluster"
LOCK_FILE = "LOCK"
TENANTS = "tenants"
FIRST_TENANT_OID = 16384
UNENCRYPTED = "none"


class DataDirError(errors.ConfigFileError):
    """The data directory cannot be used with these settings (mode, version)."""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class TenantPaths:
    root: str
    wal: str
    checkpoints: str
    manifest: str
    quarantine: str
    quarantined: str


def _canonical(d: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in d.items() if k != "checksum"}, sort_keys=True,
                      indent=1).encode()


class DataDir:
    def __init__(self, fs: FileSystem, root: str) -> None:
        self.fs = fs
        self.root = root
        self._lock: object | None = None

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def tenant_paths(self, oid: int) -> TenantPaths:
        r = self.path(TENANTS, str(oid))
        return TenantPaths(r, os.path.join(r, "wal"), os.path.join(r, "checkpoints"),
                           os.path.join(r, "manifest"), os.path.join(r, "quarantine"),
                           os.path.join(r, "QUARANTINED"))

    # --- state --------------------------------------------------------------------------
    def exists(self) -> bool:
        """Initialized (any generation of the layout). A cluster file without
        FORMAT and without tenants is an initialization cut short: not yet."""
        if self.fs.exists(self.path(FORMAT_FILE)):
            return True
        if not self.fs.exists(self.path(CLUSTER_FILE)):
            return False
        c = self.read_json(self.path(CLUSTER_FILE))
        return int(c.get("format_version", 0)) < FORMAT_VERSION or bool(c.get("tenants"))

    def read_json(self, path: str) -> dict[str, Any]:
        try:
            raw = self.fs.read_file(path)
        except FileNotFoundError:
            raise DataDirError(f"{path} is missing") from None
        try:
            d = json.loads(raw)
        except ValueError:
            raise errors.DataCorrupted(f"{path} is damaged (not valid JSON)") from None
        if not isinstance(d, dict):
            raise errors.DataCorrupted(f"{path} is damaged (not a JSON object)")
        return d

    def read_format(self) -> dict[str, Any] | None:
        if not self.fs.exists(self.path(FORMAT_FILE)):
            return None
        return self.read_json(self.path(FORMAT_FILE))

    def format_version(self) -> int:
        """The storage format version on disk. Version 0 is the layout before
        the FORMAT manifest existed (see doctor.py's upgrade steps)."""
        fmt = self.read_format()
        if fmt is None:
            return 0
        if fmt.get("format") != FORMAT_NAME:
            raise DataDirError(f"{self.path(FORMAT_FILE)} does not describe an AionDB data "
                               f"directory")
        return int(fmt.get("version", -1))

    # --- access checks (read-only) -------------------------------------------------------
    def check_access(self, master: bytes | None, allow_unencrypted: bool) -> str:
        """Validate version, mode and key against the directory; writes nothing.
        Returns the encryption mode."""
        version = self.format_version()
        if version < FORMAT_VERSION:
            raise DataDirError(
                f"data directory {self.root} has storage format version {version}; this "
                f"server uses version {FORMAT_VERSION}. Run `aiondb upgrade --data-dir "
                f"{self.root}` (after a backup) to upgrade it in place")
        if version > FORMAT_VERSION:
            raise DataDirError(
                f"data directory {self.root} has storage format version {version}, newer "
                f"than this server's {FORMAT_VERSION}; use a newer aiondb")
        fmt = self.read_format() or {}
        mode = fmt.get("encryption", "")
        if mode == UNENCRYPTED:
            if master is not None:
                raise DataDirError(
                    f"data directory {self.root} is not encrypted, but a master key is "
                    f"configured; remove the key to use it as it is (unencrypted), or dump "
                    f"and restore it into a new encrypted data directory")
            if not allow_unencrypted:
                raise DataDirError(
                    f"data directory {self.root} is not encrypted at rest; set "
                    f"AIONDB_ALLOW_UNENCRYPTED_STORAGE=true to use it")
            return mode
        if mode != crypto.ALGORITHM:
            raise DataDirError(f"data directory {self.root} names an unknown encryption "
                               f"mode {mode!r}")
        expected = fmt.get("key_fingerprint", "?")
        if master is None:
            raise MasterKeyError(
                f"data directory {self.root} is encrypted with the master key whose "
                f"fingerprint is {expected}; no master key is configured (set "
                f"AIONDB_MASTER_KEY or master_key_file). Nothing was written")
        got = crypto.fingerprint(master)
        if got != expected:
            raise MasterKeyError(
                f"wrong master key for data directory {self.root}: it is encrypted with "
                f"the master key whose fingerprint is {expected}, but the configured key's "
                f"fingerprint is {got}. Nothing was written")
        return mode

    # --- creation ------------------------------------------------------------------------
    def check_create(self, master: bytes | None, allow_unencrypted: bool) -> None:
        """Refuse to create an unencrypted directory unless allowed, and to
        initialize a directory that holds something else."""
        if self.fs.isdir(self.root):
            ours = {LOCK_FILE, TENANTS, CLUSTER_FILE, CLUSTER_FILE + TEMP_SUFFIX,
                    FORMAT_FILE + TEMP_SUFFIX, "lost+found"}
            foreign = [n for n in self.fs.listdir(self.root) if n not in ours]
            if foreign:
                raise DataDirError(
                    f"{self.root} is not empty and is not an AionDB data directory (it "
                    f"holds {', '.join(sorted(foreign)[:3])}); use an empty or new directory")
        if master is None and not allow_unencrypted:
            raise MasterKeyError(
                "durable storage is encrypted at rest and needs a master key: set "
                "AIONDB_MASTER_KEY (64 hex characters or base64 of 32 bytes) or "
                "master_key_file, or set AIONDB_ALLOW_UNENCRYPTED_STORAGE=true to store "
                "data unencrypted")

    def create(self, master: bytes | None, allow_unencrypted: bool, bootstrap_role: str) -> str:
        """Initialize an empty directory; returns the encryption mode."""
        self.check_create(master, allow_unencrypted)
        mode = crypto.ALGORITHM if master is not None else UNENCRYPTED
        self.fs.makedirs(self.path(TENANTS))
        parent = os.path.dirname(os.path.abspath(self.root))
        if self.fs.isdir(parent):
            self.fs.fsync_dir(parent)  # the data directory's own name
        self.save_cluster({"format_version": FORMAT_VERSION, "created": now_iso(),
                           "next_oid": FIRST_TENANT_OID, "bootstrap_role": bootstrap_role,
                           "tenants": {}}, master)
        fmt = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "encryption": mode,
               "created": now_iso()}
        if master is not None:
            fmt["key_fingerprint"] = crypto.fingerprint(master)
        self.write_json(self.path(FORMAT_FILE), fmt)  # last: marks the directory complete
        return mode

    def write_json(self, path: str, d: dict[str, Any]) -> None:
        self.fs.write_atomic(path, json.dumps(d, sort_keys=True, indent=1).encode() + b"\n")

    # --- cluster file ---------------------------------------------------------------------
    def load_cluster(self, master: bytes | None) -> dict[str, Any]:
        path = self.path(CLUSTER_FILE)
        d = self.read_json(path)
        got = d.get("checksum", "")
        body = _canonical(d)
        if master is not None:
            ok = got == "hmac-sha256:" + crypto.mac(master, body)
        else:
            ok = got == f"crc32c:{crc32c(body):08x}"
        if not ok:
            raise errors.DataCorrupted(f"{path} is damaged or was altered (checksum mismatch)")
        return d

    def save_cluster(self, cluster: dict[str, Any], master: bytes | None) -> None:
        body = _canonical(cluster)
        cluster["checksum"] = ("hmac-sha256:" + crypto.mac(master, body) if master is not None
                               else f"crc32c:{crc32c(body):08x}")
        self.write_json(self.path(CLUSTER_FILE), cluster)

    # --- tenants --------------------------------------------------------------------------
    def add_tenant(self, cluster: dict[str, Any], name: str, master: bytes | None) -> dict:
        """Create the tenant's directory and key and record it in the cluster
        file (the commit point)."""
        oid = int(cluster["next_oid"])
        paths = self.tenant_paths(oid)
        self.fs.rmtree(paths.root)  # leftover of a creation interrupted before its commit
        for d in (paths.wal, paths.checkpoints):
            self.fs.makedirs(d)
        entry: dict[str, Any] = {"oid": oid, "dir": os.path.join(TENANTS, str(oid)),
                                 "key_id": 1, "created": now_iso()}
        if master is not None:
            entry["wrapped_key"] = crypto.wrap_key(master, crypto.new_data_key(), oid, 1)
        self.write_json(paths.manifest, {"tenant": name, "oid": oid, "key_id": 1,
                                         "format_version": FORMAT_VERSION,
                                         "created": entry["created"], "checkpoint_lsn": None})
        self.fs.fsync_dir(self.path(TENANTS))
        cluster["tenants"][name] = entry
        cluster["next_oid"] = oid + 1
        self.save_cluster(cluster, master)
        return entry

    def remove_tenant(self, cluster: dict[str, Any], name: str, master: bytes | None) -> None:
        entry = cluster["tenants"].pop(name)
        self.save_cluster(cluster, master)
        root = self.tenant_paths(int(entry["oid"])).root
        gone = root + ".dropped" + TEMP_SUFFIX
        if self.fs.exists(root):
            self.fs.rename(root, gone)
            self.fs.fsync_dir(self.path(TENANTS))
            self.fs.rmtree(gone)

    def sealer_for(self, entry: dict[str, Any], master: bytes | None) -> Sealer | PlainSealer:
        if master is None:
            return PlainSealer()
        return Sealer(crypto.unwrap_key(master, entry["wrapped_key"], int(entry["oid"]),
                                        int(entry["key_id"])))

    def update_tenant_manifest(self, oid: int, **changes: Any) -> None:
        p = self.tenant_paths(oid).manifest
        m = self.read_json(p) if self.fs.exists(p) else {}
        m.update(changes)
        self.write_json(p, m)

    # --- housekeeping ------------------------------------------------------------------------
    def find_temp_files(self) -> list[str]:
        """Leftovers of interrupted writes (`*.tmp`), to sweep before starting."""
        found: list[str] = []
        self._walk_temp(self.root, found, depth=0)
        return found

    def _walk_temp(self, d: str, found: list[str], depth: int) -> None:
        if depth > 4 or not self.fs.isdir(d):
            return
        for name in self.fs.listdir(d):
            p = os.path.join(d, name)
            if name.endswith(TEMP_SUFFIX):
                found.append(p)
            elif self.fs.isdir(p) and name != "quarantine":
                self._walk_temp(p, found, depth + 1)

    def sweep(self) -> list[str]:
        removed = self.find_temp_files()
        for p in removed:
            if self.fs.isdir(p):
                self.fs.rmtree(p)
            else:
                self.fs.remove(p)
        for d in {os.path.dirname(p) for p in removed}:
            self.fs.fsync_dir(d)
        return removed

    def lock(self) -> None:
        try:
            self._lock = self.fs.lock(self.path(LOCK_FILE))
        except BlockingIOError:
            raise DataDirError(f"data directory {self.root} is in use by another aiondb "
                               f"process (it holds {self.path(LOCK_FILE)})") from None

    def in_use(self) -> bool:
        return self.fs.is_locked(self.path(LOCK_FILE))

    def unlock(self) -> None:
        if self._lock is not None:
            self.fs.unlock(self._lock)
            self._lock = None
