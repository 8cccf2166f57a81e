"""In-process micro-benchmark of the prepared single-row INSERT path.

Feeds the bytes pgbench -M prepared sends per transaction for
`INSERT INTO bench_commit (id, client, v) VALUES ($1, $2, $3)` (Bind,
Describe portal, Execute, Sync) into a ClientProtocol with a fake
transport: the figure is the server's own CPU per autocommit INSERT with no
network. With --durable the tenant is in a temporary data directory
(encrypted WAL) with synchronous_commit off, so the WAL record is built,
sealed and written but the fsync wait is left out; --no-fsync also makes
fdatasync a no-op, leaving only the Python work of the commit path.

    python benchmarks/micro_insert.py [--durable [--sync] [--no-fsync]] [--clients N] [--profile [--profile-out FILE]]
        [--asyncio]
        [--flush inline|process|thread] [--inserts N] [--rounds R]

Under `valgrind --tool=callgrind` (small --inserts and --rounds) the
instruction count is a repeatable figure for A/B comparisons on a busy machine.

--clients N drives N connections, one INSERT each per loop turn, as N
pgbench clients do: concurrent commits share a WAL flush.

--sync keeps synchronous_commit on (each commit waits for its flush; with
--no-fsync that wait is only the event loop's turn).

The event loop is uvloop's, as in the server, unless --asyncio (or uvloop
is not installed).

--flush MODE is the WAL flush mode (default inline: in process mode the
fdatasync runs in the sync process, which --no-fsync cannot reach, and this
loop would spin while it waits, counting the wait as CPU).
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from micro_pointselect import FakeTransport, msg, query, startup  # noqa: E402

from aiondb.config import Settings  # noqa: E402
from aiondb.server import ClientProtocol, Server  # noqa: E402


async def main(profile: bool, durable: bool, sync: bool = False, clients: int = 1,
               flush: str = "inline", n: int = 20000, rounds: int = 5) -> None:
    tmp = tempfile.mkdtemp(prefix="aiondb-micro-")
    if durable:
        settings = Settings(port=0, data_dir=os.path.join(tmp, "data"),
                            master_key="ab" * 32, synchronous_commit=sync,
                            wal_flush=flush)
    else:
        settings = Settings(port=0, ephemeral=True)
    server = Server(settings)
    await server.start()
    protos, trs = [], []
    for _ in range(clients):
        proto = ClientProtocol(server)
        tr = FakeTransport()
        proto.connection_made(tr)
        proto.data_received(startup("aion", "postgres"))
        protos.append(proto)
        trs.append(tr)
    await asyncio.sleep(0.05)
    proto, tr = protos[0], trs[0]
    proto.data_received(query(
        "CREATE TABLE bench_commit (id bigint PRIMARY KEY, client int, v text)"))
    await asyncio.sleep(0.05)
    sql = b"INSERT INTO bench_commit (id, client, v) VALUES ($1, $2, $3);"
    for pr in protos:
        pr.data_received(msg(b"P", b"P0_1\0" + sql + b"\0" + struct.pack("!h", 0)) +
                         msg(b"S", b""))
    await asyncio.sleep(0.05)
    payload = b"a short text payload of forty bytes...."

    def txn(i: int) -> bytes:
        params = [str(i).encode(), b"3", payload]
        body = b"\0P0_1\0" + struct.pack("!h", 0) + struct.pack("!h", len(params))
        for p in params:
            body += struct.pack("!i", len(p)) + p
        body += struct.pack("!hh", 1, 0)    # one result format (text) for all, as libpq sends
        return (msg(b"B", body) + msg(b"D", b"P\0") + msg(b"E", b"\0" + struct.pack("!i", 0))
                + msg(b"S", b""))

    rounds = 1 if profile else rounds
    batches = [[txn(r * n + i) for i in range(n)] for r in range(rounds + 1)]
    for t in batches[0][:min(2000, n)]:     # warm up
        proto.data_received(t)
        await asyncio.sleep(0)
    prof = cProfile.Profile() if profile else None
    best = float("inf")
    for r in range(rounds):
        txns = batches[r + 1]
        if prof:
            prof.enable()
        t0 = time.process_time()
        for i in range(0, n, clients):
            for pr, t in zip(protos, txns[i:i + clients], strict=False):
                pr.data_received(t)
            await asyncio.sleep(0)      # let a commit that waits for the WAL go on
            while any(pr.busy for pr in protos):
                await asyncio.sleep(0)
        best = min(best, time.process_time() - t0)
        if prof:
            prof.disable()
    if prof:
        if "--profile-out" in sys.argv:
            prof.dump_stats(sys.argv[sys.argv.index("--profile-out") + 1])
        pstats.Stats(prof).sort_stats("tottime").print_stats(35)
    kind = (f"durable (synchronous_commit {'on' if sync else 'off'})" if durable
            else "ephemeral")
    print(f"{kind}, {clients} client(s): {n} inserts: {best / n * 1e6:.1f} us CPU/insert (best of rounds), "
          f"{n / best:.0f} inserts/s of server CPU, {sum(t.writes for t in trs)} writes")


if __name__ == "__main__":
    if "--no-fsync" in sys.argv:
        os.fdatasync = lambda fd: None  # type: ignore[assignment]
    n_clients = int(sys.argv[sys.argv.index("--clients") + 1]) if "--clients" in sys.argv else 1
    mode = sys.argv[sys.argv.index("--flush") + 1] if "--flush" in sys.argv else "inline"
    n_ins = int(sys.argv[sys.argv.index("--inserts") + 1]) if "--inserts" in sys.argv else 20000
    n_rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    if "--asyncio" not in sys.argv:
        try:
            import uvloop  # the server's loop (cli.py), unless told otherwise
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
    asyncio.run(main("--profile" in sys.argv, "--durable" in sys.argv, "--sync" in sys.argv,
                     n_clients, mode, n_ins, n_rounds))
