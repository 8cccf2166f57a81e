"""`aiondb doctor` and `aiondb upgrade`.

doctor --data-dir D (read-only; never writes, not even a torn-tail repair):
checks the format manifest, the master key against its fingerprint, the
cluster file, every tenant's manifest, key envelope, checkpoints (every
chunk, checksum and seal) and WAL (every record's CRC, seal and chain from
its newest valid checkpoint on), and says whether an upgrade is possible.
Exit status 0 when healthy, 1 when problems were found, 2 on bad usage.

upgrade --data-dir D: runs the registered step functions, one format
version at a time, in place. Each step leaves the directory at the next
version and writes the FORMAT manifest last (atomically), so a step cut
short by a crash is simply run again.

Format versions:
  0  the layout before the FORMAT manifest: the encryption mode and key
     fingerprint lived in the cluster file and tenants had no manifest.
  1  current (see datadir.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aiondb import errors
from aiondb.recovery import crypto
from aiondb.recovery.checkpoint import CheckpointReader, list_checkpoints
from aiondb.recovery.datadir import (
    CLUSTER_FILE,
    FORMAT_FILE,
    FORMAT_NAME,
    FORMAT_VERSION,
    TENANTS,
    UNENCRYPTED,
    DataDir,
    now_iso,
)
from aiondb.recovery.fs import FileSystem, OsFS, os_error_message
from aiondb.recovery.walformat import WalCorruption, WalScanner, format_lsn, list_segments

Out = Callable[[str], None]


class _Report:
    def __init__(self, out: Out) -> None:
        self.out = out
        self.problems = 0

    def ok(self, msg: str) -> None:
        self.out(f"  ok       {msg}")

    def note(self, msg: str) -> None:
        self.out(f"  note     {msg}")

    def problem(self, msg: str) -> None:
        self.problems += 1
        self.out(f"  PROBLEM  {msg}")


def run_doctor(settings: Any, out: Out = print, fs: FileSystem | None = None) -> int:
    """Check a data directory and print findings. Returns the exit status."""
    root = getattr(settings, "data_dir", None)
    if not root:
        out("aiondb doctor: --data-dir is required")
        return 2
    try:
        return _doctor(settings, root, fs or OsFS(), out)
    except OSError as exc:
        out(f"  PROBLEM  cannot read the data directory: {os_error_message(exc)}")
        return 1


def _doctor(settings: Any, root: str, fs: FileSystem, out: Out) -> int:
    dd = DataDir(fs, root)
    r = _Report(out)
    out(f"aiondb doctor: {root}")
    if not fs.isdir(root) or not dd.exists():
        r.problem(f"{root} is not an AionDB data directory (no {FORMAT_FILE} or "
                  f"{CLUSTER_FILE} file)")
        return 1
    try:
        version = dd.format_version()
    except (errors.DatabaseError, ValueError) as exc:
        r.problem(f"format manifest: {exc}")
        return 1
    if version == FORMAT_VERSION:
        r.ok(f"storage format version {version} (current); no upgrade needed")
    elif version < FORMAT_VERSION:
        r.problem(f"storage format version {version} is older than this aiondb's "
                  f"{FORMAT_VERSION}; upgrade possible: yes (run `aiondb upgrade --data-dir "
                  f"{root}` after a backup)")
    else:
        r.problem(f"storage format version {version} is newer than this aiondb's "
                  f"{FORMAT_VERSION}; upgrade possible: no (use a newer aiondb)")
        return 1
    if dd.in_use():
        r.note("a server is running on this directory; the WAL tail may be mid-write")
    try:
        master = crypto.load_master_key(settings.master_key, settings.master_key_file)
    except errors.DatabaseError as exc:
        r.problem(str(exc))
        return 1
    mode, expected = _mode_and_fingerprint(dd, version)
    if mode == UNENCRYPTED:
        r.note("storage is NOT encrypted at rest")
        master = None
    elif master is None:
        r.problem(f"encrypted with master key fingerprint {expected}, but no master key is "
                  f"configured: keys, checkpoints and WAL contents cannot be checked")
        return 1
    elif crypto.fingerprint(master) != expected:
        r.problem(f"wrong master key: the directory expects fingerprint {expected}, the "
                  f"configured key has {crypto.fingerprint(master)}")
        return 1
    else:
        r.ok(f"master key matches fingerprint {expected} (AES-256-GCM)")
    try:
        cluster = dd.load_cluster(master)
        r.ok(f"cluster file: {len(cluster['tenants'])} tenant(s)")
    except errors.DatabaseError as exc:
        r.problem(f"cluster file: {exc}")
        return 1
    temps = dd.find_temp_files()
    if temps:
        r.note(f"{len(temps)} leftover temporary file(s), removed at the next start: "
               + ", ".join(temps[:5]))
    known = set()
    for name, entry in sorted(cluster["tenants"].items()):
        known.add(str(entry["oid"]))
        _check_tenant(dd, name, entry, master, version, r)
    tdir = dd.path(TENANTS)
    if fs.isdir(tdir):
        for d in fs.listdir(tdir):
            if d not in known and not d.endswith(".tmp"):
                r.note(f"{os.path.join(tdir, d)} belongs to no tenant (left by an "
                       f"interrupted DROP DATABASE?); it can be removed")
    out(f"{r.problems} problem(s) found" if r.problems else "no problems found")
    return 1 if r.problems else 0


def _mode_and_fingerprint(dd: DataDir, version: int) -> tuple[str, str]:
    src = dd.read_format() if version >= 1 else dd.read_json(dd.path(CLUSTER_FILE))
    assert src is not None
    return src.get("encryption", ""), src.get("key_fingerprint", "?")


def _check_tenant(dd: DataDir, name: str, entry: dict[str, Any], master: bytes | None,
                  version: int, r: _Report) -> None:
    fs = dd.fs
    oid = int(entry["oid"])
    paths = dd.tenant_paths(oid)
    r.out(f'tenant "{name}" (oid {oid}, {paths.root})')
    if not fs.isdir(paths.root):
        r.problem("tenant directory is missing")
        return
    if fs.exists(paths.quarantined):
        r.problem("quarantined: " + fs.read_file(paths.quarantined).decode(errors="replace"))
    if version >= 1:
        try:
            m = dd.read_json(paths.manifest)
            if m.get("tenant") != name or m.get("oid") != oid:
                r.problem(f"manifest names tenant {m.get('tenant')!r} oid {m.get('oid')}")
        except errors.DatabaseError as exc:
            r.problem(f"manifest: {exc}")
    try:
        sealer = dd.sealer_for(entry, master)
        if master is not None:
            r.ok(f"data key {entry['key_id']} unwraps")
    except (errors.DatabaseError, KeyError, ValueError) as exc:
        r.problem(f"data key: {exc}")
        return
    start = prev = 0
    for lsn, path in list_checkpoints(fs, paths.checkpoints):
        try:
            reader = CheckpointReader(fs, path, oid, sealer)
            reader.verify()
        except errors.DatabaseError as exc:
            r.problem(f"checkpoint at LSN {format_lsn(lsn)}: {exc}")
            continue
        r.ok(f"checkpoint at LSN {format_lsn(lsn)}: {len(reader.file_names())} file(s) verified")
        if not start:
            start, prev = lsn, reader.prev_lsn
    segs = list_segments(fs, paths.wal) if fs.isdir(paths.wal) else []
    scanner = WalScanner(fs, paths.wal, oid, sealer, start, prev, repair=False)
    try:
        for _ in scanner.records():
            pass
    except WalCorruption as exc:
        r.problem(f"WAL: {exc}")
        return
    res = scanner.result
    r.ok(f"WAL: {len(segs)} segment(s); {res.records} record(s) from LSN {format_lsn(start)} "
         f"to {format_lsn(res.end_lsn)} verified")
    if res.tail is not None:
        r.note(f"WAL: torn tail at {os.path.basename(res.tail.segment)} offset "
               f"{res.tail.offset}: {res.tail.records} unacknowledged record(s), "
               f"{res.tail.bytes} bytes; cut off at the next start")


# --- upgrade ---------------------------------------------------------------------------------
def _v0_to_v1(dd: DataDir, master: bytes | None) -> None:
    """Version 0 → 1: the encryption mode and key fingerprint move from the
    cluster file into the new FORMAT manifest, and each tenant gets a
    manifest naming it and its newest checkpoint. FORMAT is the commit
    point; the cluster file's old keys are dropped after it (harmless if a
    crash leaves them)."""
    cluster = dd.load_cluster(master)
    for name, entry in cluster["tenants"].items():
        oid = int(entry["oid"])
        paths = dd.tenant_paths(oid)
        ckpts = list_checkpoints(dd.fs, paths.checkpoints)
        dd.write_json(paths.manifest, {"tenant": name, "oid": oid, "key_id": entry["key_id"],
                                       "format_version": 1, "created": entry.get("created"),
                                       "checkpoint_lsn": ckpts[0][0] if ckpts else None})
    fmt = {"format": FORMAT_NAME, "version": 1, "created": now_iso(), "upgraded_from": 0,
           "encryption": cluster.get("encryption",
                                     crypto.ALGORITHM if master else UNENCRYPTED)}
    if cluster.get("key_fingerprint"):
        fmt["key_fingerprint"] = cluster["key_fingerprint"]
    dd.write_json(dd.path(FORMAT_FILE), fmt)  # the commit point
    cluster.pop("encryption", None)
    cluster.pop("key_fingerprint", None)
    cluster["format_version"] = 1
    dd.save_cluster(cluster, master)


# version → function upgrading a directory from that version to the next
UPGRADE_STEPS: dict[int, Callable[[DataDir, bytes | None], None]] = {0: _v0_to_v1}


def run_upgrade(settings: Any, out: Out = print, fs: FileSystem | None = None) -> int:
    """Upgrade a data directory in place. Returns the exit status."""
    root = getattr(settings, "data_dir", None)
    if not root:
        out("aiondb upgrade: --data-dir is required")
        return 2
    dd = DataDir(fs or OsFS(), root)
    try:
        if not dd.exists():
            out(f"aiondb upgrade: {root} is not an AionDB data directory")
            return 1
        version = dd.format_version()
        if version == FORMAT_VERSION:
            out(f"{root} is already at storage format version {version}; nothing to do")
            return 0
        if version > FORMAT_VERSION:
            out(f"{root} has storage format version {version}, newer than this aiondb's "
                f"{FORMAT_VERSION}; cannot downgrade")
            return 1
        master = crypto.load_master_key(settings.master_key, settings.master_key_file)
        mode, expected = _mode_and_fingerprint(dd, version)
        if mode == UNENCRYPTED:
            master = None
        elif master is None or crypto.fingerprint(master) != expected:
            out(f"aiondb upgrade: the directory is encrypted with master key fingerprint "
                f"{expected}; configure that key (AIONDB_MASTER_KEY or master_key_file). "
                f"Nothing was changed")
            return 1
        dd.lock()
        try:
            while version < FORMAT_VERSION:
                step = UPGRADE_STEPS.get(version)
                if step is None:
                    out(f"aiondb upgrade: no upgrade path from format version {version}")
                    return 1
                step(dd, master)
                new = dd.format_version()
                out(f"upgraded {root} from storage format version {version} to {new}")
                version = new
        finally:
            dd.unlock()
    except (errors.DatabaseError, OSError) as exc:
        try:
            left = f"at format version {dd.format_version()}"
        except (errors.DatabaseError, OSError):
            left = "as it was or at a later version"
        out(f"aiondb upgrade failed: {exc}; the directory is left {left} and the upgrade "
            f"can be run again")
        return 1
    return 0
