"""A Bind's values, split by the generated per-count functions, equal the
loop's split for any bytes: well-formed, truncated, overlong, with a bad
length or a bad result format, with other messages after the Bind's end."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from aiondb.wire import bind_values as bv


def _section(values: list[bytes | None], formats: list[int]) -> bytes:
    out = struct.pack("!H", len(values))
    for v in values:
        out += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    out += struct.pack("!H", len(formats)) + b"".join(struct.pack("!h", f) for f in formats)
    return out


def _outcome(f, *args):
    try:
        return f(*args)
    except struct.error:       # callers treat it as malformed, as None
        return None


@settings(max_examples=400)
@given(st.lists(st.one_of(st.none(), st.binary(max_size=12)), max_size=70),
       st.lists(st.sampled_from([0, 1, 2, -1]), max_size=4),
       st.binary(max_size=6), st.binary(max_size=20), st.data())
def test_generated_split_equals_the_loop(values, formats, head, after, data) -> None:
    section = bytearray(_section(values, formats))
    how = data.draw(st.sampled_from(["as is", "cut", "extend", "bad length"]))
    if how == "cut" and len(section) > 2:
        del section[data.draw(st.integers(2, len(section) - 1)):]
    elif how == "extend":
        section += b"\x00\x01"
    elif how == "bad length" and values:
        at = 2   # the first value's length: past the end, or negative but not -1
        section[at:at + 4] = struct.pack("!i", data.draw(st.sampled_from([-2, 10**6])))
    buf = head + bytes(section) + after
    p, end = len(head), len(head) + len(section)
    n = struct.unpack_from("!H", buf, p)[0]
    want = _outcome(bv.split_values_loop, buf, p + 2, end, n)
    assert _outcome(bv.bind_values, buf, p, end) == want
    assert _outcome(bv.bind_values, bytearray(buf), p, end) == want
    if how == "as is" and all(f in (0, 1) for f in formats):
        assert want == (tuple(values), tuple(formats))
    elif how != "as is" and (values or how != "bad length"):
        assert want is None


def test_counts_past_the_unrolled_limit_take_the_loop() -> None:
    values = [b"%d" % i for i in range(bv._MAX_UNROLLED + 3)] + [None]
    buf = _section(values, [1])
    assert bv.bind_values(buf, 0, len(buf)) == (tuple(values), (1,))
    assert len(values) not in bv._SPLITTERS
