"""Bind's parameter decoding (sql/prepared.params_decoder): the generated,
unrolled decoder must give what decoding value by value gives, for every
parameter count (the generated forms and the loop beyond 64), with NULLs;
and through a real server, text and binary parameters of prepared
statements of those sizes come back as sent."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiondb import errors
from aiondb import types as T
from aiondb.sql.binaryio import binary_decoder
from aiondb.sql.prepared import params_decoder, text_param_decoder

_DECODERS = [text_param_decoder(T.INT8, None), text_param_decoder(T.TEXT, None),  # type: ignore[arg-type]
             lambda raw: raw[::-1], text_param_decoder(T.INT2, None),  # type: ignore[arg-type]
             binary_decoder(T.INT8), binary_decoder(T.INT2), binary_decoder(T.FLOAT8)]
# values the decoders' written-in fast cases must hand back to the decoder
_ODD = [b"1_0", b" 5 ", b"+3", b"99999999999999999999", b"40000", b"\xff", b"x", b"-0", b"",
        b"\xc3\xa9t\xc3\xa9"]


def _outcome(f: Any) -> Any:
    try:
        return f()
    except Exception as exc:  # noqa: BLE001 - compared by type and SQLSTATE
        return (type(exc), getattr(exc, "sqlstate", None))


@given(st.lists(st.tuples(st.integers(0, len(_DECODERS) - 1),
                          st.none() | st.integers(-10**12, 10**12).map(lambda v: str(v).encode())
                          | st.sampled_from(_ODD) | st.binary(max_size=9)),
                max_size=80))
def test_generated_decoder_equals_value_by_value(spec: list[tuple[int, bytes | None]]) -> None:
    decs = [_DECODERS[k] for k, _ in spec]
    values = tuple(v for _k, v in spec)
    expected = _outcome(lambda: [None if raw is None else dec(raw)
                                 for raw, dec in zip(values, decs, strict=True)])
    assert _outcome(lambda: params_decoder(decs)(values)) == expected


def test_decoder_errors_propagate() -> None:
    decode = params_decoder([text_param_decoder(T.INT4, None)] * 2)  # type: ignore[arg-type]
    assert decode((b"1", b"2")) == [1, 2]
    with pytest.raises(errors.InvalidTextRepresentation):
        decode((b"1", b"x"))


def test_prepared_statements_of_many_sizes_round_trip(conn: psycopg.Connection) -> None:
    for n in (1, 3, 64, 65, 100):
        cols = ", ".join(f"c{i} {'int8' if i % 2 else 'text'}" for i in range(n))
        conn.execute(f"CREATE TABLE p{n} (id serial primary key, {cols})")
        marks = ", ".join(["%s"] * n)
        names = ", ".join(f"c{i}" for i in range(n))
        rows: list[tuple[Any, ...]] = [
            tuple((i * 7 if i % 2 else f"v{i}") if (i + r) % 5 else None for i in range(n))
            for r in range(4)]
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                for row in rows:
                    cur.execute(f"INSERT INTO p{n} ({names}) VALUES ({marks})", row,
                                prepare=True)
        got = conn.execute(f"SELECT {names} FROM p{n} ORDER BY id").fetchall()
        assert got == rows + rows, n
