"""Record codec: values, rows, keys and commit payloads round-trip exactly."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiondb import errors
from aiondb.storage import payloads, records
from aiondb.storage.database import ChangeSet, Database
from aiondb.values import JSON_NULL, Interval

tzs = st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                       dt.timezone(dt.timedelta(hours=-8))])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**63, 2**63 - 1),
    st.floats(allow_nan=True), st.decimals(allow_nan=True), st.text(), st.binary(),
    st.dates(), st.times(timezones=tzs), st.datetimes(timezones=tzs),
    st.builds(Interval, st.integers(), st.integers(), st.integers()),
    st.uuids(), st.just(JSON_NULL),
    st.lists(st.floats(allow_nan=False), min_size=1, max_size=8).map(tuple),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=5), inner, max_size=4),
                            st.lists(inner, max_size=3).map(tuple)),
    max_leaves=12)


def same(a: object, b: object) -> bool:
    """Equality that also checks types and treats NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                     math.copysign(1, b))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, Interval):
        return (a.months, a.days, a.micros) == (b.months, b.days, b.micros)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (dt.datetime, dt.time)):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


@given(values)
@settings(max_examples=400)
def test_value_round_trip(v: object) -> None:
    assert same(records.loads(records.dumps(v)), v)


@given(st.lists(values, max_size=8).map(tuple))
def test_row_round_trip(row: tuple) -> None:
    out = bytearray()
    records.encode_row(row, out)
    back, pos = records.decode_row(bytes(out), 0)
    assert pos == len(out)
    assert same(back, row)


def test_encoding_is_stable() -> None:
    # bytes written to disk must keep their meaning: pin a few encodings
    assert records.dumps(None) == b"\x00"
    assert records.dumps(1) == b"\x03" + (1).to_bytes(8, "little")
    assert records.dumps("ab") == b"\x08\x02ab"
    assert records.dumps(Decimal("1.50")) == b"\x06\x04\x001.50"
    assert records.dumps(dt.date(2000, 1, 1)) == b"\x0a" + (730120).to_bytes(4, "little")
    assert records.dumps((1.0,)) == b"\x16\x01\x00\x00\x00" + b"\x00" * 6 + b"\xf0\x3f"
    u = uuid.UUID(int=1)
    assert records.dumps(u) == b"\x11" + u.bytes


def test_bool_and_int_are_distinct() -> None:
    assert records.loads(records.dumps(True)) is True
    assert type(records.loads(records.dumps(1))) is int


def test_unknown_type_is_an_error() -> None:
    with pytest.raises(errors.InternalError):
        records.dumps(object())


def test_malformed_input_is_data_corrupted() -> None:
    with pytest.raises(errors.DataCorrupted):
        records.loads(b"\xfe")
    with pytest.raises(errors.DataCorrupted):
        records.loads(records.dumps("hello")[:-1])
    with pytest.raises(errors.DataCorrupted):
        records.loads(records.dumps(1) + b"\x00")


def test_commit_payload_round_trip() -> None:
    from helpers_recovery import create_table

    db = Database("t", 1)
    txn = db.begin()
    t = create_table(txn, "a")
    txn.insert(t, (1, "x"))
    txn.insert(t, (2, None))
    payload = payloads.encode_commit(ChangeSet.from_transaction(txn))
    db2 = Database("t", 1)
    cs = payloads.decode_commit(payload, db2)
    assert cs.catalog is not None and cs.catalog.table(t.oid).name == "a"
    assert cs.tables[t.oid][1] == "new"
    assert cs.writes[t.oid] == {1: (1, "x"), 2: (2, None)}
    db2.apply_changes(cs)
    assert db2.tables[t.oid].rows == {1: (1, "x"), 2: (2, None)}
    with pytest.raises(errors.DataCorrupted):
        payloads.decode_commit(payload[:-3], Database("t", 1))


@settings(max_examples=60, deadline=None)
@given(oid=st.integers(1, 2**32 - 1),
       writes=st.dictionaries(st.one_of(st.integers(-2**63, 2**63 - 1), st.text(max_size=8)),
                              st.one_of(st.none(), st.tuples(st.integers(-5, 5),
                                                             st.one_of(st.none(), st.text()))),
                              min_size=1, max_size=4))
def test_one_table_commit_payload_has_the_documented_layout(oid: int, writes: dict) -> None:
    """encode_commit's shortcut for one table of row writes gives the bytes
    of the general layout: format, flags, 0 tables, 1 table of writes, its
    (key, 0 | 1 row) pairs, 0 sequences."""
    expected = bytearray((payloads.COMMIT_FORMAT, 0))
    expected += (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    expected += oid.to_bytes(4, "little") + len(writes).to_bytes(4, "little")
    for key, row in writes.items():
        records.encode_value(key, expected)
        if row is None:
            expected.append(0)
        else:
            expected.append(1)
            records.encode_row(row, expected)
    expected += (0).to_bytes(4, "little")
    assert payloads.encode_commit(ChangeSet(writes={oid: writes})) == bytes(expected)


shape_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                         st.text(max_size=300), st.decimals(allow_nan=False), st.dates())
shape_keys = st.one_of(st.integers(), st.text(max_size=300), st.none(),
                       st.tuples(st.integers(), st.text(max_size=4)))


@given(st.lists(st.tuples(shape_keys, st.one_of(st.none(), st.lists(shape_values, max_size=6)
                                                .map(tuple))), max_size=12),
       st.booleans())
@settings(max_examples=300)
def test_shape_encoders_give_the_generic_encoders_bytes(pairs: list, flagged: bool) -> None:
    """rowshapes.encode_pairs (functions generated per row shape) writes
    exactly what encode_value(key) [+ flag] + encode_row(row) writes, also
    for values off its fixed path (ints beyond 64 bits, strings of 256+
    bytes, other types) and for shapes seen before with such values."""
    from aiondb.storage.rowshapes import encode_pairs

    if not flagged:
        pairs = [(k, r) for k, r in pairs if r is not None]   # deletions only in writes
    # the same shapes again with values off the fixed path
    pairs = pairs + [(k, None if r is None else tuple(
        2**70 if type(v) is int else "é" * 200 if type(v) is str else v for v in r))
        for k, r in pairs]
    expected = bytearray(b"head")
    for key, row in pairs:
        records.encode_value(key, expected)
        if row is None:
            expected.append(0)
            continue
        if flagged:
            expected.append(1)
        records.encode_row(row, expected)
    out = bytearray(b"head")
    encode_pairs(pairs, out, flagged)
    assert bytes(out) == bytes(expected)


@given(st.lists(st.tuples(st.sampled_from([1, 2, 2**32 - 1]), shape_keys,
                          st.lists(shape_values, max_size=6).map(tuple)), max_size=12))
@settings(max_examples=300)
def test_single_write_payload_is_the_commit_payload(writes: list) -> None:
    """payloads.encode_single_write (one function generated per table and
    row shape, the table's last one tried first) gives encode_commit's bytes
    for the one-row change set, also for values off the fixed path and for
    rows of several tables and shapes in turn."""
    writes = writes + [(oid, k, tuple(
        2**70 if type(v) is int else "é" * 200 if type(v) is str else v for v in r))
        for oid, k, r in writes]
    for oid, key, row in writes:
        want = payloads.encode_commit(ChangeSet(writes={oid: {key: row}}))
        assert bytes(payloads.encode_single_write(oid, key, row)) == bytes(want)


@given(st.lists(st.tuples(shape_keys, st.one_of(st.none(), st.lists(shape_values, max_size=6)
                                                .map(tuple))), max_size=12),
       st.booleans(), st.integers(0, 3))
@settings(max_examples=300)
def test_shape_decoders_give_the_generic_decoders_pairs(pairs: list, flagged: bool,
                                                        repeat: int) -> None:
    """rowshapes.decode_pairs reads back what the generic encoders wrote,
    including rows of a shape seen before whose values are off the fixed
    path (its tag checks send those to the generic decoder), and stops
    where the generic decoder would."""
    from aiondb.storage.rowshapes import decode_pairs

    if not flagged:
        pairs = [(k, r) for k, r in pairs if r is not None]
    pairs = pairs * (repeat + 1) + [(k, None if r is None else tuple(
        2**70 if type(v) is int else "é" * 200 if type(v) is str else
        (not v) if type(v) is bool else v for v in r)) for k, r in pairs]
    buf = bytearray(b"xy")
    expected: dict = {}
    for key, row in pairs:
        records.encode_value(key, buf)
        if flagged:
            buf.append(0 if row is None else 1)
        if row is not None:
            records.encode_row(row, buf)
        expected[key] = row
    buf += b"tail"
    got: dict = {}
    pos = decode_pairs(bytes(buf), 2, len(pairs), got, flagged)
    assert pos == len(buf) - 4
    assert got.keys() == expected.keys()
    assert all(same(got[k], expected[k]) for k in expected)


def test_a_cut_checkpoint_chunk_is_reported_as_corrupt() -> None:
    """The shape decoders meet a chunk cut inside a row as the generic
    decoder does: a DataCorrupted error, never rows made up of what is left."""
    rows = {i: (i, i * 2, f"name {i}", None) for i in range(50)}
    (chunk,) = payloads.encode_items(rows.items())
    into: dict = {}
    assert payloads.decode_items(chunk, into) == 50 and into == rows
    for cut in (1, 5, 13, len(chunk) // 2, len(chunk) - 1):
        with pytest.raises(errors.DataCorrupted):
            payloads.decode_items(chunk[:cut], {})


@given(st.dictionaries(st.integers(0, 300), st.text(max_size=3), max_size=200),
       st.dictionaries(st.integers(0, 300), st.one_of(st.none(), st.text(max_size=3)),
                       min_size=0, max_size=200) | st.dictionaries(
           st.integers(0, 300), st.one_of(st.none(), st.text(max_size=3)), min_size=64,
           max_size=200),
       st.booleans())
@settings(max_examples=100)
def test_applying_a_commit_at_once_equals_row_by_row(before: dict, writes: dict,
                                                     keep: bool) -> None:
    """TableData.apply_many (one dict update for a big commit to a table
    without secondary indexes) leaves the rows, and the versions kept for
    snapshots, as applying each write does."""
    from aiondb import types as T
    from aiondb.storage.catalog import PUBLIC_OID, ColumnDef, TableDef
    from aiondb.storage.table import TableData

    tdef = TableDef(16400, "t", PUBLIC_OID, (ColumnDef("id", T.INT8, 1),
                                            ColumnDef("v", T.TEXT, 2)), pk=(1,), next_attnum=3)
    w = {k: None if v is None else (k, v) for k, v in writes.items()}
    one, many = TableData(tdef), TableData(tdef)
    for td in (one, many):
        td.load((k, (k, v)) for k, v in before.items())
    for key, row in w.items():
        one.apply(key, row, 7, keep)
    many.apply_many(w, 7, keep)
    assert many.rows == one.rows
    assert many.versions == one.versions
