"""The decoder's fast lane: `Bind, [Describe,] Execute, Sync` groups as
pgbench and psycopg send them, however the bytes are cut into packets.

The decoder parses a packet in place when nothing is left over from the
last one and gathers the bytes of a message that spans packets: both ways
must give the same groups, and the same messages to the general path."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from aiondb.wire import codec
from aiondb.wire import messages as m
from tests.wire import rawclient as w


def _group(stmt: str, formats: tuple[int, ...], params: tuple[bytes | None, ...],
           result_formats: tuple[int, ...], describe: bool) -> bytes:
    out = w.bind("", stmt, params, formats, result_formats)
    if describe:
        out += w.describe("P", "")
    return out + w.execute("") + w.frame(b"S")


values = st.one_of(st.none(), st.binary(max_size=40))
groups = st.lists(
    st.tuples(st.sampled_from(["", "P0_1", "s"]),
              st.sampled_from([(), (0,), (1,), (0, 1, 0)]),
              st.lists(values, min_size=3, max_size=3).map(tuple),
              st.sampled_from([(), (0,), (1,)]),
              st.booleans()),
    min_size=1, max_size=6)


def _drain(d: codec.FrontendDecoder, out: list) -> None:
    while True:
        g = d.prepared_group()
        if g is None:
            return
        d.consume_group(g[-1])
        out.append(g[:-1])


@settings(max_examples=300)
@given(groups, st.data())
def test_groups_cut_anywhere_decode_alike(gs: list, data: st.DataObject) -> None:
    wire = b"".join(_group(*g) for g in gs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    d = codec.FrontendDecoder()
    d.startup = False
    got: list = []
    last = 0
    for c in [*cuts, len(wire)]:
        chunk = wire[last:c]
        # uvloop hands over bytes; a bytearray packet is gathered, never kept
        d.feed(bytearray(chunk) if data.draw(st.booleans()) else chunk)
        last = c
        _drain(d, got)
    assert got == gs         # (statement, formats, values, result formats, describe)
    assert d.buffered == 0
    assert all(type(v) is bytes for g in got for v in g[2] if v is not None)


def test_a_bytearray_packet_is_copied_not_kept() -> None:
    wire = bytearray(_group("s", (), (b"12", None, b""), (), False))
    d = codec.FrontendDecoder()
    d.startup = False
    d.feed(wire)
    wire[:] = b"\x00" * len(wire)      # the caller reuses its buffer
    assert d.prepared_group()[:-1] == ("s", (), (b"12", None, b""), (), False)


def test_a_group_then_other_messages_take_the_general_path() -> None:
    first = _group("s", (), (b"1", b"2", b"3"), (), True)
    query = w.query("SELECT 1")
    d = codec.FrontendDecoder()
    d.startup = False
    d.feed(first + query[:3])
    got: list = []
    _drain(d, got)
    assert got == [("s", (), (b"1", b"2", b"3"), (), True)]
    assert d.prepared_group() is None and d.next_message() is None   # Q incomplete
    d.feed(query[3:] + first)
    assert d.next_message() == m.Query("SELECT 1")
    _drain(d, got)
    assert len(got) == 2 and d.buffered == 0


def test_malformed_binds_are_left_to_the_checked_parser() -> None:
    good = _group("s", (), (b"1", b"2", b"3"), (), False)
    # as many formats as values unless one or none; a value length past the
    # message end, a negative length other than -1, a result format of 2: not
    # a group (the checked parser reports it), even after a good one
    d = codec.FrontendDecoder()
    d.startup = False
    d.feed(good)
    assert d.prepared_group() is not None
    for bad in (_group("s", (0, 1), (b"1", b"2", b"3"), (), False),   # 2 formats, 3 values
                good.replace(struct.pack("!i", 1) + b"1", struct.pack("!i", 99) + b"1", 1),
                good.replace(struct.pack("!i", 1) + b"1", struct.pack("!i", -2) + b"1", 1),
                _group("s", (), (b"1",), (2,), False)):
        d.consume_group(d.buffered)
        d.feed(bad)
        assert d.prepared_group() is None
