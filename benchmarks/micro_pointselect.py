"""In-process micro-benchmark of the prepared point-SELECT path.

Feeds the exact bytes pgbench -S -M prepared sends per transaction
(Bind, Describe portal, Execute, Sync) into a ClientProtocol with a fake
transport, so the figure is the server's own CPU per transaction with no
network. Run: python benchmarks/micro_pointselect.py [--profile]
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import struct
import sys
import time

from aiondb.config import Settings
from aiondb.server import ClientProtocol, Server


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.bytes += len(data)
        self.writes += 1

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def close(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False


def msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def startup(user: str, db: str) -> bytes:
    body = struct.pack("!i", 196608) + f"user\0{user}\0database\0{db}\0\0".encode()
    return struct.pack("!i", len(body) + 4) + body


def query(sql: str) -> bytes:
    return msg(b"Q", sql.encode() + b"\0")


async def main(profile: bool) -> None:
    settings = Settings(port=0)
    server = Server(settings)
    await server.start()
    proto = ClientProtocol(server)
    tr = FakeTransport()
    proto.connection_made(tr)
    proto.data_received(startup("aion", "postgres"))
    proto.data_received(query(
        "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, "
        "filler char(84))"))
    rows = ", ".join(f"({i}, 1, 0, '')" for i in range(1, 10001))
    proto.data_received(query(f"INSERT INTO pgbench_accounts VALUES {rows}"))
    sql = b"SELECT abalance FROM pgbench_accounts WHERE aid = $1;"
    proto.data_received(msg(b"P", b"P0_1\0" + sql + b"\0" + struct.pack("!h", 0)) +
                        msg(b"S", b""))
    txns = []
    for i in range(20000):
        aid = str(1 + (i * 7919) % 10000).encode()
        bind = msg(b"B", b"\0P0_1\0" + struct.pack("!h", 0) + struct.pack("!h", 1) +
                   struct.pack("!i", len(aid)) + aid + struct.pack("!hh", 1, 0))
        txns.append(bind + msg(b"D", b"P\0") + msg(b"E", b"\0" + struct.pack("!i", 0)) +
                    msg(b"S", b""))
    # warm up
    for t in txns[:2000]:
        proto.data_received(t)
    n = len(txns)
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    best = float("inf")
    # CPU time of this process, best of several rounds: the figure should not
    # depend on what else the machine is doing
    for _ in range(1 if profile else 5):
        t0 = time.process_time()
        for t in txns:
            proto.data_received(t)
        best = min(best, time.process_time() - t0)
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    print(f"{n} transactions: {best / n * 1e6:.1f} us CPU/txn (best of rounds), "
          f"{n / best:.0f} txn/s of server CPU, {tr.writes} writes")


if __name__ == "__main__":
    asyncio.run(main("--profile" in sys.argv))
