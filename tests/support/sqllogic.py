"""Data-driven SQL tests: script files of statements with their expected
results, run over the real wire protocol.

File format (tests/sql/*.slt):

    # a comment
    statement ok
    CREATE TABLE t (id int PRIMARY KEY, v text)

    statement error 23505
    INSERT INTO t VALUES (1, 'a'), (1, 'b')

    statement error 42703 @8   (@N: the error's position field; @none: absent)
    SELECT nosuch FROM t

    query                    (modifiers: sort, colnames, on <conn>)
    SELECT id, v FROM t ORDER BY id
    ----
    1|a
    NULL|

    statement ok               (COPY FROM STDIN: the data follows `<<<`)
    COPY t FROM STDIN
    <<<
    3\tc
    \\.

    query                      (COPY TO STDOUT: one expected row per line)
    COPY t TO STDOUT (FORMAT csv)
    ----
    1,a

A record's SQL runs until a blank line, `----` or `<<<`; expected rows until a
blank line; COPY data until a line `\\.` (not sent). Values are PostgreSQL's text
output joined by `|`; NULL is `NULL`, a newline inside a value is written `\\n`, and a row that is one
empty string is written `(empty)`. `on c2` runs the record on a second connection (for concurrency
cases). `skipif aiondb` / `skipif postgres` lines before a record skip it
on one server; each must say why (`skipif postgres  # reason`).

Expected output can be regenerated with AIONDB_REGEN=1 (from AionDB) or
AIONDB_REGEN=pg (from PostgreSQL) and reviewed as a diff.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.pq import DiagnosticField, ExecStatus

ROW_SEP = "|"


@dataclass
class Record:
    kind: str                        # statement | query
    sql: str
    line: int
    expect_error: str | None = None  # SQLSTATE, for statement error
    error_text: str | None = None
    error_pos: str | None = None     # '@8' / '@none': the expected position field
    expected: list[str] = field(default_factory=list)
    sort: bool = False
    colnames: bool = False
    conn: str = "default"
    skip: set[str] = field(default_factory=set)
    header: list[str] = field(default_factory=list)   # comment/skip lines before it
    copy_data: list[str] | None = None                # lines sent to COPY FROM STDIN


@dataclass
class Outcome:
    record: Record
    ok: bool
    actual: list[str]
    message: str = ""
    position: str = "@none"          # the error's position field, as '@N' or '@none'


def parse_file(path: Path) -> tuple[list[Record], list[str]]:
    lines = path.read_text().splitlines()
    records: list[Record] = []
    header: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            header.append(line)
            i += 1
            continue
        if stripped.startswith("skipif "):
            header.append(line)
            i += 1
            continue
        words = stripped.split("#")[0].split()
        kind = words[0]
        if kind not in ("statement", "query"):
            raise ValueError(f"{path}:{i + 1}: expected 'statement' or 'query', got {line!r}")
        rec = Record(kind, "", i + 1, header=header)
        skips = {h.strip().split()[1] for h in header if h.strip().startswith("skipif ")}
        rec.skip = skips
        header = []
        rest = words[1:]
        j = 0
        while j < len(rest):
            w = rest[j]
            if kind == "statement" and w == "ok":
                pass
            elif kind == "statement" and w == "error":
                rec.expect_error = rest[j + 1] if j + 1 < len(rest) else "any"
                j += 1
                tail = stripped.split(rec.expect_error, 1)[1].split("#")[0].strip()
                # `statement error <state> [text] [on <conn>]`
                on = re.search(r"(?:^|\s)on (\w+)$", tail)
                if on is not None:
                    rec.conn = on.group(1)
                    tail = tail[:on.start()].strip()
                at = re.search(r"(?:^|\s)(@(?:\d+|none))$", tail)
                if at is not None:
                    rec.error_pos = at.group(1)
                    tail = tail[:at.start()].strip()
                rec.error_text = tail or None
                break
            elif w == "sort":
                rec.sort = True
            elif w == "colnames":
                rec.colnames = True
            elif w == "on":
                rec.conn = rest[j + 1]
                j += 1
            j += 1
        i += 1
        sql_lines = []
        while i < n and lines[i].strip() and lines[i].strip() not in ("----", "<<<"):
            sql_lines.append(lines[i])
            i += 1
        rec.sql = "\n".join(sql_lines)
        if i < n and lines[i].strip() == "<<<":
            i += 1
            rec.copy_data = []
            while i < n and lines[i] != "\\.":
                rec.copy_data.append(lines[i])
                i += 1
            i += 1
        if kind == "query":
            if i < n and lines[i].strip() == "----":
                i += 1
                while i < n and lines[i] != "":
                    rec.expected.append(lines[i])
                    i += 1
        records.append(rec)
    return records, header


def _format_result(res: Any, rec: Record) -> list[str]:
    rows = []
    for r in range(res.ntuples):
        vals = []
        for c in range(res.nfields):
            v = res.get_value(r, c)
            vals.append("NULL" if v is None else
                        v.decode("utf-8", "replace").replace("\n", "\\n"))
        # a blank line would end the record: an all-empty row is written (empty)
        rows.append(ROW_SEP.join(vals) or "(empty)")
    if rec.sort:
        rows.sort()
    if rec.colnames:
        names = [res.fname(c).decode() for c in range(res.nfields)]
        rows.insert(0, ROW_SEP.join(names))
    return rows


class Runner:
    """Runs records against one server (AionDB or PostgreSQL) in one database."""

    def __init__(self, dsn_for: Any, server_name: str) -> None:
        self.dsn_for = dsn_for          # fn(conn_name) → dsn
        self.server = server_name
        self.conns: dict[str, psycopg.Connection] = {}

    def conn(self, name: str) -> psycopg.Connection:
        c = self.conns.get(name)
        if c is None or c.closed:
            c = psycopg.connect(self.dsn_for(name), autocommit=True)
            self.conns[name] = c
        return c

    def close(self) -> None:
        for c in self.conns.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass

    def run(self, rec: Record) -> Outcome:
        pg = self.conn(rec.conn).pgconn
        res = pg.exec_(rec.sql.encode())
        copied: list[str] | None = None
        if res.status == ExecStatus.COPY_IN:
            data = "".join(line + "\n" for line in rec.copy_data or [])
            pg.put_copy_data(data.encode())
            pg.put_copy_end()
            res = _last_result(pg)
        elif res.status == ExecStatus.COPY_OUT:
            chunks = []
            while True:
                nbytes, data = pg.get_copy_data(0)
                if nbytes < 0:
                    break
                chunks.append(bytes(data))
            text = b"".join(chunks).decode("utf-8", "replace")
            copied = [line or "(empty)" for line in text.split("\n")[:-1]]
            res = _last_result(pg)
        # drain notices; they are not part of the expected output
        status = res.status
        if status == ExecStatus.FATAL_ERROR:
            state = (res.error_field(DiagnosticField.SQLSTATE) or b"").decode()
            msg = (res.error_field(DiagnosticField.MESSAGE_PRIMARY) or b"").decode()
            pos = res.error_field(DiagnosticField.STATEMENT_POSITION)
            at = f"@{pos.decode()}" if pos else "@none"
            if rec.kind == "statement" and rec.expect_error is not None:
                ok = rec.expect_error in ("any", state) and (
                    rec.error_text is None or rec.error_text in msg) and (
                    rec.error_pos is None or rec.error_pos == at)
                want = "".join(" " + w for w in (rec.error_text, rec.error_pos) if w)
                return Outcome(rec, ok, [f"error {state}: {msg}"],
                               "" if ok else f"expected error {rec.expect_error}{want}, "
                               f"got {state}: {msg} {at}", at)
            return Outcome(rec, False, [f"error {state}: {msg}"],
                           f"unexpected error {state}: {msg}")
        if rec.kind == "statement":
            if rec.expect_error is not None:
                return Outcome(rec, False, [], f"expected error {rec.expect_error}, got success")
            return Outcome(rec, True, [])
        actual = copied if copied is not None else _format_result(res, rec)
        ok = actual == rec.expected
        return Outcome(rec, ok, actual, "" if ok else "result differs")


def _last_result(pg: Any) -> Any:
    """The final result after a COPY (its command status or its error)."""
    last = None
    while (r := pg.get_result()) is not None:
        last = r
    return last


def run_file(path: Path, runner: Runner) -> list[Outcome]:
    records, _ = parse_file(path)
    out = []
    for rec in records:
        if runner.server in rec.skip:
            continue
        out.append(runner.run(rec))
    return out


def run_script(path: Path, server: str, admin_dsn: str,
               dsn_for_db: Callable[[str], str]) -> list[Outcome]:
    """Run one script in a fresh database of `server` ('aiondb' or 'postgres'),
    dropped afterwards so a reference cluster stays clean."""
    name = f"s_{path.stem}_{uuid.uuid4().hex[:6]}".lower().replace("-", "_")
    with psycopg.connect(admin_dsn, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    runner = Runner(lambda _c: dsn_for_db(name), server)
    try:
        return run_file(path, runner)
    finally:
        runner.close()
        try:
            with psycopg.connect(admin_dsn, autocommit=True) as c:
                c.execute(f"DROP DATABASE IF EXISTS {name}")
        except psycopg.Error:
            pass  # best effort: the reference cluster is thrown away at the end anyway


def failure_report(path: Path, outcomes: list[Outcome]) -> str:
    lines = []
    for o in outcomes:
        if o.ok:
            continue
        lines.append(f"{path.name}:{o.record.line}: {o.message}\n  SQL: {o.record.sql}")
        if o.record.kind == "query":
            lines.append("  expected:\n    " + "\n    ".join(o.record.expected))
            lines.append("  actual:\n    " + "\n    ".join(o.actual))
    return "\n".join(lines)


def _directive(rec: Record, oc: Outcome | None) -> tuple[str, list[str] | None]:
    """The record's first line after regeneration, and its rows (queries)."""
    on = ["on", rec.conn] if rec.conn != "default" else []
    failed = oc is not None and oc.actual[:1] and oc.actual[0].startswith("error ") and \
        (rec.kind == "statement" or not oc.ok)
    if oc is None:            # skipped on this server: keep the record as written
        if rec.kind == "statement":
            words = ["statement", "error", rec.expect_error] if rec.expect_error else \
                ["statement", "ok"]
            if rec.expect_error and rec.error_text:
                words.append(rec.error_text)
            if rec.expect_error and rec.error_pos:
                words.append(rec.error_pos)
            return " ".join(words + on), None
        failed = False
    elif failed:
        state = oc.actual[0].split()[1].rstrip(":")
        words = ["statement", "error", state]
        if rec.error_text and rec.error_text in oc.actual[0]:
            words.append(rec.error_text)
        if rec.error_pos:
            words.append(oc.position)
        return " ".join(words + on), None
    if rec.kind == "statement":
        return " ".join(["statement", "ok"] + on), None
    mods = (["sort"] if rec.sort else []) + (["colnames"] if rec.colnames else []) + on
    rows = oc.actual if oc is not None else rec.expected
    return " ".join(["query"] + mods), rows


def render(records: list[Record], outcomes: dict[int, Outcome], trailer: list[str]) -> str:
    """The script with expected results replaced by actual ones (regeneration).
    A query that failed becomes `statement error <state>`; records skipped on
    the regenerating server are kept as written."""
    out: list[str] = []
    for rec in records:
        out += rec.header
        line, rows = _directive(rec, outcomes.get(rec.line))
        out.append(line)
        out.append(rec.sql)
        if rec.copy_data is not None:
            out += ["<<<", *rec.copy_data, "\\."]
        if rows is not None:
            out.append("----")
            out += rows
        out.append("")
    out += trailer
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def regen_mode() -> str | None:
    v = os.environ.get("AIONDB_REGEN")
    return v or None
