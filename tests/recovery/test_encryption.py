"""Encryption at rest: keys, fingerprints, modes, and that nothing is written
when the key is wrong or missing."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from helpers_recovery import (
    DATA,
    KEY,
    OTHER_KEY,
    create_table,
    insert_rows,
    open_registry,
    reopen,
)

from aiondb import errors
from aiondb.recovery import crypto
from aiondb.recovery.crypto import MasterKeyError
from aiondb.recovery.datadir import DataDirError
from aiondb.recovery.fakefs import MemoryFS


def contents(fs: MemoryFS) -> dict[str, bytes]:
    return {p: bytes(i.data) for p, i in fs.files.items()}


async def populated(fs: MemoryFS, **kw) -> None:
    reg = await open_registry(fs, **kw)
    db = reg.get("postgres")
    txn = db.begin()
    create_table(txn, "secrets")
    await txn.commit()
    await insert_rows(db, "secrets", [(1, "TOP-SECRET-VALUE-1234")])
    await reg.checkpoint()
    await insert_rows(db, "secrets", [(2, "TOP-SECRET-VALUE-5678")])
    await reg.close()


def test_parse_master_key_forms() -> None:
    raw = bytes(range(32))
    assert crypto.parse_master_key(raw.hex(), "x") == raw
    assert crypto.parse_master_key(base64.b64encode(raw).decode(), "x") == raw
    assert crypto.parse_master_key(base64.urlsafe_b64encode(raw).decode() + "\n", "x") == raw
    for bad in ("", "abc", "zz" * 32, base64.b64encode(b"short").decode()):
        with pytest.raises(MasterKeyError, match="malformed"):
            crypto.parse_master_key(bad, "x")


def test_key_file(tmp_path) -> None:
    p = tmp_path / "key"
    p.write_text(KEY + "\n")
    assert crypto.load_master_key(None, str(p)) == bytes.fromhex(KEY)
    with pytest.raises(MasterKeyError, match="cannot read"):
        crypto.load_master_key(None, str(tmp_path / "missing"))
    assert crypto.load_master_key(None, None) is None


def test_fingerprint_names_the_key_without_revealing_it() -> None:
    a, b = bytes.fromhex(KEY), bytes.fromhex(OTHER_KEY)
    assert crypto.fingerprint(a) == crypto.fingerprint(a) != crypto.fingerprint(b)
    assert crypto.fingerprint(a) not in KEY


def test_nothing_is_stored_in_plaintext() -> None:
    fs = MemoryFS()
    asyncio.run(populated(fs))
    for path, data in contents(fs).items():
        assert b"TOP-SECRET-VALUE" not in data, path
        assert b"secrets" not in data, path  # table names are sealed too


def test_unencrypted_mode_stores_plaintext_when_allowed() -> None:
    fs = MemoryFS()
    asyncio.run(populated(fs, master_key=None, allow_unencrypted_storage=True))
    assert any(b"TOP-SECRET-VALUE" in d for d in contents(fs).values())


def test_new_directory_without_key_is_refused_and_nothing_written() -> None:
    fs = MemoryFS()
    with pytest.raises(MasterKeyError, match="needs a master key"):
        asyncio.run(open_registry(fs, master_key=None))
    assert not fs.exists(DATA) and fs.files == {}


@pytest.mark.parametrize("key,match", [(OTHER_KEY, "wrong master key"), (None, "no master key")])
def test_wrong_or_missing_key_is_refused_naming_the_fingerprint(key, match) -> None:
    fs = MemoryFS()
    asyncio.run(populated(fs))
    before = contents(fs)
    with pytest.raises(MasterKeyError, match=match) as ei:
        asyncio.run(open_registry(fs, master_key=key))
    assert crypto.fingerprint(bytes.fromhex(KEY)) in str(ei.value)
    assert "Nothing was written" in str(ei.value)
    assert contents(fs) == before


def test_mode_mismatch_is_refused() -> None:
    fs = MemoryFS()
    asyncio.run(populated(fs, master_key=None, allow_unencrypted_storage=True))
    with pytest.raises(DataDirError, match="AIONDB_ALLOW_UNENCRYPTED_STORAGE"):
        asyncio.run(open_registry(fs, master_key=None))
    with pytest.raises(DataDirError, match="not encrypted, but a master key"):
        asyncio.run(open_registry(fs, allow_unencrypted_storage=True))


def test_tampered_cluster_file_is_detected() -> None:
    fs = MemoryFS()
    asyncio.run(populated(fs))
    c = json.loads(fs.read_file(f"{DATA}/cluster"))
    c["next_oid"] += 1
    fs.write_atomic(f"{DATA}/cluster", json.dumps(c).encode())
    with pytest.raises(errors.DataCorrupted, match="altered"):
        asyncio.run(open_registry(fs))


def test_swapped_tenant_key_envelopes_do_not_open() -> None:
    fs = MemoryFS()

    async def two() -> None:
        reg = await open_registry(fs)
        await reg.create("acme")
        await reg.close()

    asyncio.run(two())
    master = bytes.fromhex(KEY)
    c = json.loads(fs.read_file(f"{DATA}/cluster"))
    t = c["tenants"]
    t["acme"]["wrapped_key"], t["postgres"]["wrapped_key"] = (t["postgres"]["wrapped_key"],
                                                             t["acme"]["wrapped_key"])
    from aiondb.recovery.datadir import DataDir
    DataDir(fs, DATA).save_cluster(c, master)  # even with a valid MAC (insider)
    msgs: list[str] = []
    reg = reopen(fs, progress=msgs.append)
    assert "acme" in reg.unavailable and "does not open" in reg.unavailable["acme"]


def test_description_says_which_mode() -> None:
    fs = MemoryFS()
    reg = asyncio.run(open_registry(fs))
    assert "encrypted at rest" in reg.description
    assert crypto.fingerprint(bytes.fromhex(KEY)) in reg.description
    fs2 = MemoryFS()
    reg2 = asyncio.run(open_registry(fs2, master_key=None, allow_unencrypted_storage=True))
    assert "NOT encrypted" in reg2.description


def test_failed_open_releases_the_directory() -> None:
    fs = MemoryFS()
    asyncio.run(populated(fs))
    c = json.loads(fs.read_file(f"{DATA}/cluster"))
    c["next_oid"] += 1
    fs.write_atomic(f"{DATA}/cluster", json.dumps(c).encode())
    for _ in range(2):  # the second attempt fails the same way, not with "in use"
        with pytest.raises(errors.DataCorrupted, match="altered"):
            asyncio.run(open_registry(fs))


def test_a_foreign_non_empty_directory_is_not_initialized() -> None:
    fs = MemoryFS()
    fs.makedirs(DATA)
    fs.open(f"{DATA}/precious.txt", "w").write(b"mine")
    with pytest.raises(DataDirError, match="not empty"):
        asyncio.run(open_registry(fs))
    assert fs.listdir(DATA) == ["precious.txt"]
