"""Format manifest, doctor and upgrade, against fixtures kept in the repo
(see make_fixtures.py): the current format must keep opening, and version
0 must upgrade in place, also after an upgrade cut short by a crash."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil

import pytest
from helpers_recovery import OTHER_KEY, rows_of
from make_fixtures import EXPECTED, fixture_settings

from aiondb.recovery import run_doctor, run_upgrade
from aiondb.recovery.datadir import DataDirError
from aiondb.recovery.fakefs import FaultyFS, MemoryFS
from aiondb.storage.durable import DurableRegistry

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def copy(tmp_path, version: int) -> str:
    dst = str(tmp_path / f"v{version}")
    shutil.copytree(os.path.join(FIXTURES, f"format-v{version}"), dst)
    return dst


def open_and_read(path: str) -> dict:
    async def go() -> dict:
        reg = DurableRegistry(fixture_settings(path))
        await reg.open()
        out = {name: {t: rows_of(reg.get(name), t) for t in tables}
               for name, tables in EXPECTED.items()}
        await reg.close()
        return out
    return asyncio.run(go())


def doctor(path: str, **kw) -> tuple[int, str]:
    lines: list[str] = []
    s = fixture_settings(path)
    for k, v in kw.items():
        setattr(s, k, v)
    code = run_doctor(s, lines.append)
    return code, "\n".join(lines)


def tree(path: str) -> dict[str, bytes]:
    out = {}
    for d, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = fh.read()
    return out


def test_current_format_fixture_still_opens(tmp_path) -> None:
    assert open_and_read(copy(tmp_path, 1)) == EXPECTED


def test_doctor_on_a_healthy_directory(tmp_path) -> None:
    path = copy(tmp_path, 1)
    code, text = doctor(path)
    assert code == 0, text
    assert "no problems found" in text and "no upgrade needed" in text
    assert "checkpoint at LSN" in text and "verified" in text


def test_version_0_is_refused_then_upgraded_in_place(tmp_path) -> None:
    path = copy(tmp_path, 0)
    with pytest.raises(DataDirError, match="aiondb upgrade"):
        open_and_read(path)
    code, text = doctor(path)
    assert code == 1 and "upgrade possible: yes" in text
    lines: list[str] = []
    assert run_upgrade(fixture_settings(path), lines.append) == 0
    assert "from storage format version 0 to 1" in lines[-1]
    assert doctor(path)[0] == 0
    assert open_and_read(path) == EXPECTED
    lines.clear()
    assert run_upgrade(fixture_settings(path), lines.append) == 0
    assert "nothing to do" in lines[0]


def test_upgrade_with_the_wrong_key_changes_nothing(tmp_path) -> None:
    path = copy(tmp_path, 0)
    before = tree(path)
    s = fixture_settings(path)
    s.master_key = OTHER_KEY
    lines: list[str] = []
    assert run_upgrade(s, lines.append) == 1
    assert "Nothing was changed" in lines[-1]
    assert tree(path) == before


def _load_into_memory(src: str) -> MemoryFS:
    mem = MemoryFS()
    for rel, data in tree(src).items():
        p = os.path.join("/fx", rel)
        mem.makedirs(os.path.dirname(p))
        f = mem.open(p, "w")
        f.write(data)
        f.fsync()
        mem.fsync_dir(os.path.dirname(p))
    return mem


def test_upgrade_cut_short_at_any_point_can_be_run_again() -> None:
    s = fixture_settings("/fx")
    n = 0
    while True:
        mem = _load_into_memory(os.path.join(FIXTURES, "format-v0"))
        fs = FaultyFS(mem)
        fs.fail_after(n, errno.EIO)
        code = run_upgrade(s, lambda _m: None, fs=fs)
        mem.crash()
        if fs.failures == 0:
            assert code == 0
            break
        assert code == 1
        assert run_upgrade(s, lambda _m: None, fs=mem) == 0  # run it again: completes
        assert run_doctor(s, lambda _m: None, fs=mem) == 0
        n += 1
    assert n > 3


def test_doctor_finds_damage_and_writes_nothing(tmp_path) -> None:
    path = copy(tmp_path, 1)
    wal = os.path.join(path, "tenants", "16384", "wal", "0000000000000000.wal")
    with open(wal, "r+b") as fh:
        fh.seek(200)
        b = fh.read(1)
        fh.seek(200)
        fh.write(bytes([b[0] ^ 1]))
    img = os.path.join(path, "tenants", "16384", "checkpoints", "ckpt-00000000000004E5",
                       "t16384.img")
    with open(img, "r+b") as fh:
        fh.truncate(os.path.getsize(img) - 5)
    before = tree(path)
    code, text = doctor(path)
    assert code == 1
    assert "WAL corruption" in text and "t16384.img" in text
    assert tree(path) == before


def test_doctor_reports_wrong_key(tmp_path) -> None:
    path = copy(tmp_path, 1)
    code, text = doctor(path, master_key=OTHER_KEY)
    assert code == 1 and "wrong master key" in text
    code, text = doctor(path, master_key=None)
    assert code == 1 and "no master key" in text


def test_doctor_usage_errors(tmp_path) -> None:
    s = fixture_settings(str(tmp_path / "nothing"))
    assert run_doctor(s, lambda _m: None) == 1
    s.data_dir = None
    assert run_doctor(s, lambda _m: None) == 2
    assert run_upgrade(s, lambda _m: None) == 2
