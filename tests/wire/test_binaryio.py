"""Binary send/recv formats: hand-computed bytes, round trips, and random
bytes that must only ever raise errors.DatabaseError. The byte-for-byte
comparison with PostgreSQL's own binary output is a conformance case in
tests/test_protocol_raw.py."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiondb import errors
from aiondb import types as T
from aiondb.sql.binaryio import binary_encoder, decode_binary
from aiondb.values import Interval

UTC = dt.UTC

HAND: list[tuple[T.SqlType, Any, bytes]] = [
    (T.BOOL, True, b"\x01"),
    (T.INT2, -2, b"\xff\xfe"),
    (T.INT4, 5, b"\x00\x00\x00\x05"),
    (T.INT8, 2**40, b"\x00\x00\x01\x00\x00\x00\x00\x00"),
    (T.FLOAT4, 1.5, b"\x3f\xc0\x00\x00"),
    (T.FLOAT8, -2.0, b"\xc0\x00\x00\x00\x00\x00\x00\x00"),
    (T.TEXT, "é", b"\xc3\xa9"),
    (T.BYTEA, b"\x00\xff", b"\x00\xff"),
    # ndigits 2, weight 0, positive, dscale 2, base-10000 digits 1 and 2500
    (T.NUMERIC, Decimal("1.25"), b"\x00\x02\x00\x00\x00\x00\x00\x02\x00\x01\x09\xc4"),
    (T.NUMERIC, Decimal("-10000"), b"\x00\x01\x00\x01\x40\x00\x00\x00\x00\x01"),
    (T.NUMERIC, Decimal("NaN"), b"\x00\x00\x00\x00\xc0\x00\x00\x00"),
    (T.DATE, dt.date(2000, 1, 2), b"\x00\x00\x00\x01"),
    (T.TIMESTAMP, dt.datetime(2000, 1, 1, 0, 0, 1), b"\x00\x00\x00\x00\x00\x0f\x42\x40"),
    (T.TIMESTAMPTZ, dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
     b"\xff\xff\xff\xff\xff\xf0\xbd\xc0"),
    (T.UUID, uuid.UUID(int=1), b"\x00" * 15 + b"\x01"),
    (T.INTERVAL, Interval(1, 2, 3), b"\x00" * 7 + b"\x03\x00\x00\x00\x02\x00\x00\x00\x01"),
]


@pytest.mark.parametrize(("t", "value", "wire"), HAND,
                         ids=[f"{h[0].sql_name()}-{h[1]}" for h in HAND])
def test_hand_computed(t: T.SqlType, value: Any, wire: bytes) -> None:
    assert binary_encoder(t)(value) == wire
    back = decode_binary(t, wire)
    assert (back.is_nan() if isinstance(value, Decimal) and value.is_nan() else back == value)


def test_int4_array_bytes() -> None:
    arr = T.INT4.array_of()
    wire = (b"\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x17"      # 1 dim, has nulls, int4
            b"\x00\x00\x00\x02\x00\x00\x00\x01"                      # 2 items, lower bound 1
            b"\x00\x00\x00\x04\x00\x00\x00\x07\xff\xff\xff\xff")
    assert binary_encoder(arr)([7, None]) == wire
    assert decode_binary(arr, wire) == [7, None]


ROUND_TRIP = [
    (T.INT2, st.integers(-2**15, 2**15 - 1)),
    (T.INT4, st.integers(-2**31, 2**31 - 1)),
    (T.INT8, st.integers(-2**63, 2**63 - 1)),
    (T.FLOAT8, st.floats(allow_nan=False)),
    (T.BOOL, st.booleans()),
    (T.TEXT, st.text()),
    (T.BYTEA, st.binary()),
    (T.NUMERIC, st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d.as_tuple().exponent) < 200)),  # type: ignore[arg-type]
    (T.DATE, st.dates()),
    (T.TIMESTAMP, st.datetimes()),
    (T.TIMESTAMPTZ, st.datetimes(timezones=st.just(UTC))),
    (T.UUID, st.uuids()),
    (T.INT8.array_of(), st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)))),
    (T.TEXT.array_of(), st.lists(st.lists(st.text(), min_size=2, max_size=2), min_size=1)),
]


@pytest.mark.parametrize(("t", "values"), ROUND_TRIP, ids=[r[0].sql_name() for r in ROUND_TRIP])
def test_round_trip(t: T.SqlType, values: st.SearchStrategy) -> None:
    enc = binary_encoder(t)

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(values)
    def check(v: Any) -> None:
        back = decode_binary(t, enc(v))
        if isinstance(v, Decimal):
            assert back == v and back.as_tuple().exponent == min(v.as_tuple().exponent, 0)
        else:
            assert back == v
    check()


RECV_TYPES = [T.BOOL, T.INT2, T.INT4, T.INT8, T.OID, T.FLOAT4, T.FLOAT8, T.TEXT, T.BYTEA,
              T.NUMERIC, T.DATE, T.TIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.INTERVAL, T.UUID,
              T.JSONB, T.INT4.array_of(), T.TEXT.array_of(), T.NUMERIC.array_of()]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(t=st.sampled_from(RECV_TYPES), data=st.binary(max_size=48))
def test_random_bytes_only_raise_database_errors(t: T.SqlType, data: bytes) -> None:
    try:
        decode_binary(t, data)
    except errors.DatabaseError:
        pass


@pytest.mark.parametrize(("t", "data", "code"), [
    (T.INT4, b"\x00\x01", "08P01"),               # too short: PostgreSQL runs out of message
    (T.INT4, b"\x00\x00\x00\x00\x01", "22P03"),   # too long: a bad value
    (T.BOOL, b"", "08P01"),
    (T.UUID, b"\x00" * 17, "22P03"),
    (T.NUMERIC, b"\x00\x01", "08P01"),
    (T.INT4.array_of(), b"\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x17"
                         b"\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x05\x00\x00\x00\x01",
     None),                                        # a zero dimension: an empty array
    (T.INT4.array_of(), b"\x00\x00\x00\x07" + b"\x00" * 8, "22P03"),   # 7 dimensions
    (T.INT4.array_of(), b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x17"
                         b"\x7f\xff\xff\xff\x00\x00\x00\x01", "22P03"),  # huge, no data
])
def test_bad_binary_values(t: T.SqlType, data: bytes, code: str | None) -> None:
    if code is None:
        assert decode_binary(t, data) == []
        return
    with pytest.raises(errors.DatabaseError) as info:
        decode_binary(t, data)
    assert info.value.sqlstate == code
